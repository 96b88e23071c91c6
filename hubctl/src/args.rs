//! Command-line arguments.
//!
//! Connection options are global and each can come from the environment, so partner IT can set
//! them once per machine and scripts only name the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hub_proto::v1::{
    CompletionResult, DataCategory, OrganisationKind, ReasonCode, ReferralCategory, ReferralState, Stadtbezirk,
};
use time::Date;

use crate::{german, input, names};

/// Client of the Wohnungserhalt Hub, for partner IT and the Fachstelle.
///
/// Speaks gRPC over mutual TLS with the organisation's certificate.
#[derive(Debug, Parser)]
#[command(name = "hubctl", version, propagate_version = true)]
pub struct Cli {
    /// Hub address.
    #[arg(long, global = true, env = "HUBCTL_HUB", default_value = "https://localhost:50051", value_name = "URL")]
    pub hub: String,

    /// PEM file with the hub's CA certificate.
    #[arg(long, global = true, env = "HUBCTL_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// PEM file with the organisation's client certificate.
    #[arg(long, global = true, env = "HUBCTL_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// PEM file with the private key of the client certificate.
    #[arg(long, global = true, env = "HUBCTL_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Name to check the server certificate against, if not the host of --hub.
    #[arg(long, global = true, env = "HUBCTL_TLS_NAME", value_name = "NAME")]
    pub tls_name: Option<String>,

    /// Staff member acting, sent as `x-staff-member` (recorded by the hub, not verified).
    #[arg(long, global = true, env = "HUBCTL_STAFF", value_name = "NAME", value_parser = input::staff_member)]
    pub staff: Option<String>,

    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the partner directory.
    Orgs(OrgsArgs),
    /// State what this organisation can take on per category (replaces what it said before; a
    /// category not named is open), and optionally its office hours.
    Capacity(CapacityArgs),
    /// List referrals addressed to this organisation.
    Inbox(MailboxFilter),
    /// List referrals this organisation sent.
    Outbox(MailboxFilter),
    /// List referrals this organisation sent or received (with --all, Fachstelle: every referral of its cases).
    List(ListArgs),
    /// Show one referral with its history, allowed moves, case data and notes.
    Show(ReferralArg),
    /// Acknowledge receipt (REQUESTED -> RECEIVED).
    Ack(SimpleMove),
    /// Accept the referral (RECEIVED -> ACCEPTED).
    Accept(SimpleMove),
    /// Decline the referral (RECEIVED -> DECLINED).
    Decline(ReasonMove),
    /// Start working on it (ACCEPTED or ON_HOLD -> IN_PROGRESS).
    Start(SimpleMove),
    /// Pause it (IN_PROGRESS -> ON_HOLD).
    Hold(HoldArgs),
    /// Complete it with an outcome (IN_PROGRESS or ON_HOLD -> COMPLETED).
    Complete(CompleteArgs),
    /// Report that it could not be done (IN_PROGRESS or ON_HOLD -> FAILED).
    Fail(ReasonMove),
    /// Withdraw it (sender; any open state -> CANCELLED).
    Cancel(ReasonMove),
    /// Reopen a closed referral (sender; -> REQUESTED).
    Reopen(ReopenArgs),
    /// Add a note to a referral's thread.
    Note(NoteArgs),
    /// List the notes of a referral.
    Notes(ReferralArg),
    /// Print this organisation's events as they happen, until Ctrl-C.
    Watch(WatchArgs),
    /// Refer a case to a partner (Fachstelle).
    Refer(ReferArgs),
    /// Early arrears notices (housing companies).
    #[command(subcommand)]
    Arrears(ArrearsCommand),
    /// This housing company's notices.
    #[command(subcommand)]
    Notices(NoticesCommand),
    /// List notices not yet taken up, most urgent first (Fachstelle).
    Triage(TriageArgs),
    /// Take a notice up: open a case, or link it to the open case of the same tenancy (Fachstelle).
    TakeUp(TakeUpArgs),
    /// Court notices of eviction lawsuits, MiZi (Fachstelle).
    #[command(subcommand)]
    Court(CourtCommand),
    /// Compute a tenancy's legal deadlines locally (no hub, no certificates needed).
    Deadlines(DeadlinesArgs),
    /// Make this organisation's private key and a certificate signing request, here, on this machine
    /// (no hub needed): send the request (.csr) to the hub's operator, keep the key; the operator
    /// answers with the certificate (`hub pki sign`).
    Keygen(KeygenArgs),
    /// List mails to email partners, newest first (Fachstelle: its cases; operator: all).
    Deliveries(DeliveriesArgs),
    /// Re-queue a failed (DEAD) mail after fixing the partner's address (Fachstelle, operator).
    Requeue(RequeueArgs),
    /// Erase a closed case at the household's request (Art. 17 GDPR; Fachstelle): its data key is
    /// destroyed and its rows removed; prints what is kept and on which legal basis.
    Erase(EraseArgs),
}

/// Options of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The organisation's id in the hub's directory (e.g. schuldnerberatung-nord).
    #[arg(long, value_name = "ORG_ID")]
    pub org: String,

    /// Folder for `<ORG_ID>.key` (readable by the owner only) and `<ORG_ID>.csr`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,

    /// Replace an existing key (the old certificate stops matching it).
    #[arg(long)]
    pub force: bool,
}

/// Options of `erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The case (must be closed).
    #[arg(value_name = "CASE_ID")]
    pub case_id: String,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `deliveries`.
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Only this state: pending, sent or dead.
    #[arg(long, value_name = "STATUS", value_parser = crate::names::parse::<hub_proto::v1::DeliveryStatus>)]
    pub status: Option<hub_proto::v1::DeliveryStatus>,
    /// Only mails to this organisation.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// Only mails about this referral.
    #[arg(long, value_name = "REFERRAL_ID")]
    pub referral: Option<String>,
    /// At most this many (1-1000, default 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
}

/// Options of `requeue`.
#[derive(Debug, Args)]
pub struct RequeueArgs {
    /// The delivery (see `deliveries --status dead`).
    #[arg(value_name = "DELIVERY_ID")]
    pub id: String,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// `arrears` subcommands.
#[derive(Debug, Subcommand)]
pub enum ArrearsCommand {
    /// Import an ERP export (`;`-separated CSV, German headers) as early arrears notices.
    Import(ImportArgs),
}

/// `notices` subcommands.
#[derive(Debug, Subcommand)]
pub enum NoticesCommand {
    /// Show the progress of this organisation's notices.
    Status(NoticeStatusArgs),
}

/// `court` subcommands.
#[derive(Debug, Subcommand)]
pub enum CourtCommand {
    /// Record one court notice.
    Record(Box<CourtRecordArgs>),
    /// Import court notices from a `;`-separated CSV file, one notice per row.
    Import(ImportArgs),
}

/// Options of the CSV imports.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,

    /// Only read and check the file; send nothing (no connection, no certificates needed).
    #[arg(long)]
    pub dry_run: bool,

    /// The file's character encoding. `auto` reads UTF-8 (with or without byte order mark) and
    /// falls back to Windows-1252, the default of older ERP exports, saying so on stderr.
    #[arg(long, value_enum, default_value_t = FileEncoding::Auto)]
    pub encoding: FileEncoding,

    /// A column-mapping profile (TOML) for an export with its own header names and values
    /// (`arrears import` only; see the README). It is checked before any row is read.
    #[arg(long, value_name = "PROFILE.toml")]
    pub profile: Option<PathBuf>,
}

/// A CSV file's character encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileEncoding {
    /// UTF-8 when the file is valid UTF-8, otherwise Windows-1252.
    Auto,
    /// UTF-8 only: any other byte is an error naming its line.
    #[value(name = "utf-8")]
    Utf8,
    /// Windows-1252 ("ANSI").
    #[value(name = "windows-1252")]
    Windows1252,
}

impl From<FileEncoding> for erp_import::csv::FileEncoding {
    fn from(e: FileEncoding) -> Self {
        match e {
            FileEncoding::Auto => Self::Auto,
            FileEncoding::Utf8 => Self::Utf8,
            FileEncoding::Windows1252 => Self::Windows1252,
        }
    }
}

/// Options of `notices status`.
#[derive(Debug, Args)]
pub struct NoticeStatusArgs {
    /// Only these tenancy references (default: all of this organisation's notices).
    #[arg(value_name = "REF")]
    pub references: Vec<String>,
}

/// Options of `triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// At most this many notices (1-1000; the hub's default is 200).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub limit: Option<i32>,
}

/// Options of `take-up`.
#[derive(Debug, Args)]
pub struct TakeUpArgs {
    /// The notice.
    #[arg(value_name = "NOTICE_ID")]
    pub id: String,

    /// Take it up into this open case (default: the open case of the same tenancy, or a new one).
    #[arg(long = "case", value_name = "CASE_ID", conflicts_with = "new_case")]
    pub case: Option<String>,

    /// Open a new case even when an open case of the same tenancy exists.
    #[arg(long)]
    pub new_case: bool,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `court record`. Dates are TT.MM.JJJJ or YYYY-MM-DD, amounts German (1.560,00).
#[derive(Debug, Args)]
pub struct CourtRecordArgs {
    /// Court file number.
    #[arg(long, value_name = "AZ")]
    pub aktenzeichen: String,

    /// Date the claim reached the court.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub eingang: Date,

    /// Date the claim was served on the tenant, if the notice says.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub zustellung: Option<Date>,

    /// Tenant's family name.
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// Tenant's given name.
    #[arg(long, value_name = "NAME")]
    pub vorname: String,

    /// Street.
    #[arg(long, value_name = "TEXT")]
    pub strasse: Option<String>,

    /// House number.
    #[arg(long, value_name = "TEXT")]
    pub hausnummer: Option<String>,

    /// Postal code.
    #[arg(long, value_name = "PLZ")]
    pub plz: Option<String>,

    /// City.
    #[arg(long, value_name = "TEXT")]
    pub ort: Option<String>,

    /// Monthly rent in euro, e.g. 780,00.
    #[arg(long, value_name = "EURO", value_parser = german::amount_cents)]
    pub monatsmiete: i64,

    /// Arrears claimed in euro, e.g. 1.560,00.
    #[arg(long, value_name = "EURO", value_parser = german::amount_cents)]
    pub rueckstand: i64,

    /// Use compensation claimed (Nutzungsentschädigung) in euro.
    #[arg(long, value_name = "EURO", value_parser = german::amount_cents)]
    pub nutzungsentschaedigung: Option<i64>,

    /// Hearing date, if set.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub termin: Option<Date>,

    /// Stadtbezirk, e.g. Linden-Limmer.
    #[arg(long, value_name = "NAME", value_parser = german::stadtbezirk)]
    pub stadtbezirk: Option<Stadtbezirk>,

    /// Landlord (claimant) as named in the notice.
    #[arg(long, value_name = "NAME")]
    pub vermieter: Option<String>,

    /// The landlord's organisation id, if it takes part in the hub.
    #[arg(long, value_name = "ORG")]
    pub vermieter_org: Option<String>,

    /// The landlord's tenancy reference, if known.
    #[arg(long, value_name = "REF")]
    pub mietverhaeltnis_ref: Option<String>,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `deadlines`. Dates are TT.MM.JJJJ or YYYY-MM-DD, amounts German (780,00).
#[derive(Debug, Args)]
pub struct DeadlinesArgs {
    /// Monthly rent (base rent plus service-charge and heating advances) in euro.
    #[arg(long, value_name = "EURO", value_parser = german::amount_cents)]
    pub rent: Option<i64>,

    /// A rent account line, repeatable: DUE=AMOUNT_DUE/PAID, e.g. 04.11.2025=780,00/0
    /// (`/PAID` may be left out when nothing was paid).
    #[arg(long, value_name = "DUE=AMOUNT/PAID", value_parser = crate::deadlines_cmd::ledger_entry)]
    pub ledger: Vec<deadlines::LedgerEntry>,

    /// Day the flat was handed over.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub tenancy_start: Option<Date>,

    /// Day the landlord's ordinary notice was received.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub notice_received: Option<Date>,

    /// Day the termination without notice was received.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub termination: Option<Date>,

    /// Day the eviction claim was served (Rechtshängigkeit).
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub claim_served: Option<Date>,

    /// The service date is an estimate, not confirmed by the court (deadlines become provisional).
    #[arg(long, requires = "claim_served")]
    pub claim_served_unconfirmed: bool,

    /// Day the eviction claim reached the court (used when the service date is unknown).
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub claim_filed: Option<Date>,

    /// Day an earlier termination was voided by a cure (Schonfrist used before).
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub earlier_cure: Option<Date>,

    /// Last day of the Räumungsfrist granted by the court.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub raeumungsfrist_end: Option<Date>,

    /// Eviction day set by the bailiff.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub eviction_date: Option<Date>,

    /// Day the eviction date was served on the tenant.
    #[arg(long, value_name = "DATE", value_parser = german::date_option)]
    pub eviction_announced: Option<Date>,
}

/// Options of `orgs`.
#[derive(Debug, Args)]
pub struct OrgsArgs {
    /// Only organisations of this kind.
    #[arg(long, value_name = "KIND", value_parser = names::parse::<OrganisationKind>)]
    pub kind: Option<OrganisationKind>,

    /// Include deactivated organisations.
    #[arg(long)]
    pub inactive: bool,
}

/// Options of `capacity`.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// A category that takes no referrals for now (repeatable).
    #[arg(long, value_name = "CATEGORY", value_parser = names::parse::<ReferralCategory>)]
    pub closed: Vec<ReferralCategory>,

    /// A category with a waiting list of about WEEKS weeks, 1-52 (repeatable).
    #[arg(long, value_name = "CATEGORY=WEEKS", value_parser = waitlist)]
    pub waitlist: Vec<(ReferralCategory, u32)>,

    /// New office hours (at most 200 characters); without it they stay as they are.
    #[arg(long, value_name = "TEXT")]
    pub office_hours: Option<String>,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// `CATEGORY=WEEKS`, e.g. `DEBT_COUNSELLING=6`.
fn waitlist(input: &str) -> Result<(ReferralCategory, u32), String> {
    let (category, weeks) =
        input.split_once('=').ok_or_else(|| format!("'{input}': expected CATEGORY=WEEKS, e.g. DEBT_COUNSELLING=6"))?;
    let weeks = weeks.trim().parse().map_err(|_| format!("'{weeks}' is not a number of weeks"))?;
    Ok((names::parse::<ReferralCategory>(category.trim())?, weeks))
}

/// Filters shared by `inbox`, `outbox` and `list`.
#[derive(Debug, Args)]
pub struct MailboxFilter {
    /// Only referrals in this state (repeatable, or comma-separated).
    #[arg(long = "state", value_name = "STATE", value_delimiter = ',',
          value_parser = names::parse::<ReferralState>)]
    pub states: Vec<ReferralState>,

    /// Only referrals past their reply-by date without a decision.
    #[arg(long)]
    pub overdue: bool,

    /// Only referrals with this partner organisation.
    #[arg(long, value_name = "ORG")]
    pub partner: Option<String>,

    /// Only referrals of this case.
    #[arg(long = "case", value_name = "ID")]
    pub case_id: Option<String>,
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Every referral in the hub, not only this organisation's (Fachstelle only).
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub filter: MailboxFilter,
}

/// A referral id.
#[derive(Debug, Args)]
pub struct ReferralArg {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,
}

/// Options of every mutating command.
#[derive(Debug, Args)]
pub struct Mutation {
    /// Idempotency key to send instead of a fresh one; reuse it to retry a request safely.
    #[arg(long, value_name = "KEY", value_parser = input::idempotency_key)]
    pub idempotency_key: Option<String>,
}

/// A move that takes no details.
#[derive(Debug, Args)]
pub struct SimpleMove {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// A move that needs a reason code (decline, fail, cancel).
#[derive(Debug, Args)]
pub struct ReasonMove {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,

    /// Reason code, e.g. not-responsible, no-capacity, other.
    #[arg(long, value_name = "CODE", value_parser = names::parse::<ReasonCode>)]
    pub reason: ReasonCode,

    /// Explanation (required with --reason other).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `hold`.
#[derive(Debug, Args)]
pub struct HoldArgs {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,

    /// Why it is paused, e.g. what documents are missing.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `complete`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,

    /// The result, e.g. approved-loan, approved-grant, agreement-reached, service-provided, rejected.
    #[arg(long, value_name = "RESULT", value_parser = names::parse::<CompletionResult>)]
    pub result: CompletionResult,

    /// Amount approved or agreed, in euro: 1560,00 or 1560.00.
    #[arg(long, value_name = "EURO", value_parser = input::amount_cents)]
    pub amount: Option<i64>,

    /// Date of payment or effect.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = input::date)]
    pub date: Option<String>,

    /// Summary for the sender.
    #[arg(long, value_name = "TEXT")]
    pub summary: Option<String>,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `reopen`.
#[derive(Debug, Args)]
pub struct ReopenArgs {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,

    /// Why it is reopened (required).
    #[arg(long, value_name = "TEXT")]
    pub text: String,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `note`.
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The referral.
    #[arg(value_name = "REFERRAL_ID")]
    pub id: String,

    /// The note (1-4000 characters).
    #[arg(value_name = "TEXT")]
    pub text: String,

    #[command(flatten)]
    pub mutation: Mutation,
}

/// Options of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Start after this cursor (0: from the beginning of this organisation's events).
    #[arg(long, value_name = "CURSOR", default_value_t = 0)]
    pub after: u64,
}

/// Options of `refer`.
#[derive(Debug, Args)]
pub struct ReferArgs {
    /// The case to refer.
    #[arg(long = "case", value_name = "ID")]
    pub case_id: String,

    /// The recipient organisation.
    #[arg(long, value_name = "ORG")]
    pub to: String,

    /// What is asked, e.g. rent-debt-takeover-sgb2, debt-counselling, landlord-agreement.
    #[arg(long, value_name = "CATEGORY", value_parser = names::parse::<ReferralCategory>)]
    pub category: ReferralCategory,

    /// Data categories to disclose, comma-separated, e.g. identity,contact,tenancy,arrears.
    #[arg(long, value_name = "CATEGORIES", required = true, value_delimiter = ',',
          value_parser = names::parse::<DataCategory>)]
    pub data: Vec<DataCategory>,

    /// Reply-by date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = input::date)]
    pub reply_by: String,

    /// Message to the recipient.
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,

    /// Send even though an open referral of this category to this recipient exists.
    #[arg(long)]
    pub confirm_duplicate: bool,

    /// Send even though the recipient takes no referrals of this category for now (its capacity).
    #[arg(long)]
    pub confirm_closed_capacity: bool,

    #[command(flatten)]
    pub mutation: Mutation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_complete_with_german_amount() {
        let cli = Cli::try_parse_from([
            "hubctl",
            "complete",
            "r-1",
            "--result",
            "APPROVED_LOAN",
            "--amount",
            "1560,00",
            "--date",
            "2026-01-20",
        ]);
        let Ok(Cli { command: Command::Complete(args), .. }) = cli else {
            panic!("complete must parse: {cli:?}");
        };
        assert_eq!(args.result, CompletionResult::ApprovedLoan);
        assert_eq!(args.amount, Some(156_000));
    }

    #[test]
    fn unknown_reason_is_a_usage_error() {
        let Err(error) = Cli::try_parse_from(["hubctl", "decline", "r-1", "--reason", "meh"]) else {
            panic!("an unknown reason must not parse");
        };
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("not-responsible"), "{error}");
    }

    #[test]
    fn data_categories_are_comma_separated() {
        let cli = Cli::try_parse_from([
            "hubctl",
            "refer",
            "--case",
            "c-1",
            "--to",
            "jobcenter-hannover",
            "--category",
            "rent-debt-takeover-sgb2",
            "--data",
            "identity,tenancy,ARREARS",
            "--reply-by",
            "2026-01-16",
        ]);
        let Ok(Cli { command: Command::Refer(args), .. }) = cli else {
            panic!("refer must parse: {cli:?}");
        };
        assert_eq!(args.data, [DataCategory::Identity, DataCategory::Tenancy, DataCategory::Arrears]);
    }
}
