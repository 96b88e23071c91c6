//! `hub report access`: the access report of Art. 15 GDPR for one person of a case. It states who
//! the controller is and on which bases it processes, everything the hub holds about the person and
//! their household, every disclosure (each referral with its categories, legal bases and handoffs)
//! and every read by a partner recorded in the audit trail, then retention and the person's rights.
//!
//! The report is built from one read snapshot of the store into [`AccessReport`], which serialises to
//! JSON (English keys, stored vocabulary names, RFC 3339 times) and renders to a German HTML document
//! in which every value is escaped. Generating a report is itself an access to personal data, so
//! [`generate`] appends an audit record (`operator`, [`ACTION`], [`LEGAL_BASIS`]) before it returns.
//!
//! Only the person's own data and the household's data (address, tenancy, notes, stages) are
//! included. Other household members appear by id, role and birth year only, so the data protection
//! officer can pick whom to report on without one member's report naming another (Art. 15(4) GDPR).
//! Phone and email are the main tenant's and appear only in the main tenant's report.
//!
//! Special categories of personal data (Art. 9 GDPR, [`DataCategory::is_special`]: health data) are
//! never listed among the other categories: consents, disclosures and partner reads name them in a
//! field (JSON) or a section and column (HTML) of their own, headed
//! [`crate::labels::SPECIAL_CATEGORIES`], with whether the separate explicit consent was given.

use std::collections::HashMap;
use std::fmt::Display;

use serde::{Serialize, Serializer};

use crate::audit::export::rfc3339;
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::basis::{Disclosure, LegalBasis};
use crate::domain::case::{Case, Person};
use crate::domain::consent::Consent;
use crate::domain::ids::{Actor, CaseId, Cents, OrgId, PersonId};
use crate::domain::notice::{Notice, NoticeData};
use crate::domain::org::Organisation;
use crate::domain::referral::{Move, Referral, ReferralState};
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{
    CaseOutcome, CaseStatus, CompletionResult, ConsentForm, ConsentStatus, DataCategory, Gender, HouseholdType,
    PersonRole, ReasonCode, ReferralCategory, RescueMeans, RouteIn, Stadtbezirk, ThreatStage,
};
pub use crate::reports::Format;
use crate::store::{AuditEntry, AuditQuery, AuditRecord, Store, StoreError, Tx};

mod render;

/// The audit action of a generated report, as stored.
pub const ACTION: &str = crate::domain::audit::AuditAction::AccessReport.as_str();
/// The legal basis recorded with it.
pub const LEGAL_BASIS: &str = "Art. 15 GDPR";
/// The actor recorded with it: the operator (data protection officer) who ran the command.
pub const ACTOR: &str = "operator";

/// The formats of the access report.
pub const FORMATS: &[Format] = &[Format::Html, Format::Json];

/// Reads `--format`: one of [`FORMATS`].
pub fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse_among(s, FORMATS, "a report")
}

/// The error for a format the report is not made in, worded as `--format` refuses it.
fn refused(format: Format) -> ReportError {
    ReportError::Format(Format::refusal(format.as_str(), FORMATS, "a report"))
}

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The case does not exist.
    #[error("no case {0} in this database")]
    CaseNotFound(CaseId),
    /// The case has no such person.
    #[error("case {case} has no person {person}; its persons are: {known}")]
    PersonNotFound {
        /// The case.
        case: CaseId,
        /// The person asked for.
        person: PersonId,
        /// The case's persons (id and role).
        known: String,
    },
    /// The report is not made in this format.
    #[error("{0}")]
    Format(String),
    /// Reading the database or writing the audit record failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Everything the report says, in the order it says it.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    /// When the report was made.
    #[serde(serialize_with = "ser_instant")]
    pub generated_at: Instant,
    /// The case.
    pub case_id: String,
    /// The controller: the Fachstelle that owns the case.
    pub controller: OrgRef,
    /// Purposes and legal bases, in general terms.
    pub purposes_and_legal_bases: Vec<BasisNote>,
    /// The categories that are special categories of personal data (Art. 9 GDPR). Wherever the report
    /// lists categories, these are kept apart from the others (`special_categories`,
    /// `special_category_disclosures`) together with whether the explicit consent was given.
    #[serde(serialize_with = "ser_display_all")]
    pub special_categories: Vec<DataCategory>,
    /// The person the report is about.
    pub subject: Subject,
    /// The household's members by id, role and birth year (to choose `--person`).
    pub household_members: Vec<Member>,
    /// The household's data.
    pub household: Household,
    /// Consents the person gave.
    pub consents: Vec<ConsentItem>,
    /// Notices about the tenancy taken up into the case.
    pub notices: Vec<NoticeItem>,
    /// Every referral of the case: the disclosures.
    pub referrals: Vec<ReferralItem>,
    /// Every read of the case's data by a partner, from the audit trail.
    pub partner_reads: Vec<ReadItem>,
    /// What recipients were asked to erase, restrict or rectify (Art. 19 GDPR), and whether they
    /// confirmed it.
    pub recipient_requests: Vec<RecipientRequestItem>,
    /// How long the data is kept, in general terms.
    pub retention: &'static str,
    /// The person's further rights.
    pub rights: &'static str,
}

pub use super::OrgRef;

/// One purpose or legal basis.
#[derive(Debug, Clone, Serialize)]
pub struct BasisNote {
    /// The citation.
    pub basis: &'static str,
    /// What it covers.
    pub applies_to: &'static str,
}

/// The person the report is about.
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    /// Id within the case.
    pub person_id: String,
    /// Role in the household.
    #[serde(serialize_with = "ser_display")]
    pub role: PersonRole,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Gender.
    #[serde(serialize_with = "ser_display")]
    pub gender: Gender,
    /// Year of birth.
    pub birth_year: Option<i32>,
}

/// A household member, without names.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Id within the case.
    pub person_id: String,
    /// Role.
    #[serde(serialize_with = "ser_display")]
    pub role: PersonRole,
    /// Year of birth.
    pub birth_year: Option<i32>,
    /// The report is about this member.
    pub is_subject: bool,
}

/// The household's data held in the case.
#[derive(Debug, Clone, Serialize)]
pub struct Household {
    /// Street and number.
    pub address_street: String,
    /// Postal code and city.
    pub address_city: String,
    /// Phone (only in the main tenant's report).
    pub phone: Option<String>,
    /// Email (only in the main tenant's report).
    pub email: Option<String>,
    /// Protection block: the address never leaves the hub.
    pub schutzsperre: bool,
    /// District.
    #[serde(serialize_with = "ser_display")]
    pub stadtbezirk: Stadtbezirk,
    /// Household type.
    #[serde(serialize_with = "ser_display")]
    pub household_type: HouseholdType,
    /// How the case reached the Fachstelle (source of the data).
    #[serde(serialize_with = "ser_display")]
    pub route_in: RouteIn,
    /// Case opened.
    #[serde(serialize_with = "ser_instant")]
    pub case_opened_at: Instant,
    /// Open or closed.
    #[serde(serialize_with = "ser_display")]
    pub case_status: CaseStatus,
    /// Closure, once closed.
    pub closure: Option<ClosureItem>,
    /// Restriction of processing (Art. 18 GDPR), while in force.
    pub restriction: Option<crate::domain::case::Restriction>,
    /// Landlord.
    pub landlord: Option<OrgRef>,
    /// Landlord's tenancy reference.
    pub tenancy_reference: String,
    /// Start of the tenancy.
    pub tenancy_start: Option<Day>,
    /// Base rent.
    pub base_rent_cents: Cents,
    /// Service-charge advance.
    pub service_charge_advance_cents: Cents,
    /// Heating advance.
    pub heating_advance_cents: Cents,
    /// Arrears.
    pub arrears_cents: Cents,
    /// Threat stages, oldest first.
    pub stages: Vec<StageItem>,
    /// Income and benefits note.
    pub income_benefits_note: String,
    /// Counselling note.
    pub counselling_note: String,
    /// Health note (Art. 9 GDPR).
    pub health_note: String,
}

/// How the case ended.
#[derive(Debug, Clone, Serialize)]
pub struct ClosureItem {
    /// Outcome.
    #[serde(serialize_with = "ser_display")]
    pub outcome: CaseOutcome,
    /// Rescue means.
    #[serde(serialize_with = "ser_display_opt")]
    pub rescue_means: Option<RescueMeans>,
    /// Note.
    pub note: String,
    /// When.
    #[serde(serialize_with = "ser_instant")]
    pub at: Instant,
}

/// One threat stage entry.
#[derive(Debug, Clone, Serialize)]
pub struct StageItem {
    /// Stage.
    #[serde(serialize_with = "ser_display")]
    pub stage: ThreatStage,
    /// Date reached.
    pub date: Day,
    /// End date.
    pub end_date: Option<Day>,
    /// Source of the information.
    pub source: String,
    /// Recording organisation.
    pub recorded_by: OrgRef,
}

/// A consent the person gave.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentItem {
    /// Id (the basis `consent:<id>` refers to it).
    pub consent_id: String,
    /// Recipients.
    pub recipients: Vec<OrgRef>,
    /// Categories covered, without the special categories (those are in `special_categories`).
    #[serde(serialize_with = "ser_display_all")]
    pub categories: Vec<DataCategory>,
    /// Special categories (Art. 9 GDPR) covered; they need `art9_explicit`.
    #[serde(serialize_with = "ser_display_all")]
    pub special_categories: Vec<DataCategory>,
    /// Purpose (the hub records consents for this purpose only).
    pub purpose: &'static str,
    /// Form.
    #[serde(serialize_with = "ser_display")]
    pub form: ConsentForm,
    /// Evidence reference.
    pub evidence: String,
    /// Separate explicit consent for special categories such as health data (Art. 9(2)(a) GDPR).
    pub art9_explicit: bool,
    /// Release from professional secrecy.
    pub secrecy_release: bool,
    /// Recorded.
    #[serde(serialize_with = "ser_instant")]
    pub recorded_at: Instant,
    /// Last valid day.
    pub valid_until: Day,
    /// Status on the report's day.
    #[serde(serialize_with = "ser_display")]
    pub status: ConsentStatus,
    /// When it was revoked, if it was.
    #[serde(serialize_with = "ser_instant_opt")]
    pub revoked_at: Option<Instant>,
}

/// A notice about the tenancy.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeItem {
    /// Id.
    pub notice_id: String,
    /// `ARREARS` (housing company) or `COURT` (MiZi).
    pub kind: &'static str,
    /// The reporting housing company, or the Fachstelle that recorded a court notice.
    pub reporter: Option<OrgRef>,
    /// First received.
    #[serde(serialize_with = "ser_instant")]
    pub received_at: Instant,
    /// Stage reported.
    #[serde(serialize_with = "ser_display")]
    pub stage: ThreatStage,
    /// Arrears reported.
    pub arrears_cents: Cents,
    /// Court file number of a court notice.
    pub court_file_number: Option<String>,
}

/// A referral: one disclosure to one recipient.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralItem {
    /// Id.
    pub referral_id: String,
    /// Sender.
    pub sender: OrgRef,
    /// Recipient.
    pub recipient: OrgRef,
    /// What was asked.
    #[serde(serialize_with = "ser_display")]
    pub category: ReferralCategory,
    /// When it was created (the disclosure).
    #[serde(serialize_with = "ser_instant")]
    pub created_at: Instant,
    /// Reply-by day.
    pub reply_by: Day,
    /// Current state.
    #[serde(serialize_with = "ser_display")]
    pub state: ReferralState,
    /// Message to the recipient.
    pub message: String,
    /// Whether the person's own identity (IDENTITY) went to the recipient: it did only under a statute or
    /// a consent the person gave themselves; `None` when IDENTITY was not disclosed at all.
    pub subject_identity_disclosed: Option<bool>,
    /// Each disclosed category with its legal bases, without the special categories.
    pub disclosures: Vec<DisclosureItem>,
    /// Each disclosed special category (Art. 9 GDPR) with its legal bases and whether they carry the
    /// separate explicit consent.
    pub special_category_disclosures: Vec<SpecialDisclosureItem>,
    /// Every handoff, oldest first.
    pub history: Vec<HandoffItem>,
    /// The recipient's result.
    pub completion: Option<CompletionItem>,
    /// The notes between sender and recipient.
    pub notes: Vec<NoteItem>,
}

/// One disclosed category.
#[derive(Debug, Clone, Serialize)]
pub struct DisclosureItem {
    /// Category.
    #[serde(serialize_with = "ser_display")]
    pub category: DataCategory,
    /// Legal bases, consent first.
    pub bases: Vec<BasisItem>,
}

/// One disclosed special category (Art. 9 GDPR).
#[derive(Debug, Clone, Serialize)]
pub struct SpecialDisclosureItem {
    /// Category.
    #[serde(serialize_with = "ser_display")]
    pub category: DataCategory,
    /// Legal bases, consent first.
    pub bases: Vec<BasisItem>,
    /// Whether a consent among the bases carries the separate explicit consent (Art. 9(2)(a) GDPR).
    pub art9_explicit: bool,
}

/// One legal basis of a disclosure.
#[derive(Debug, Clone, Serialize)]
pub struct BasisItem {
    /// `consent` or `statute`.
    pub kind: &'static str,
    /// The consent id or the statute's citation.
    pub reference: String,
}

/// One handoff of a referral.
#[derive(Debug, Clone, Serialize)]
pub struct HandoffItem {
    /// When.
    #[serde(serialize_with = "ser_instant")]
    pub at: Instant,
    /// State before (none for the creation).
    #[serde(serialize_with = "ser_display_opt")]
    pub from: Option<ReferralState>,
    /// State after.
    #[serde(serialize_with = "ser_display")]
    pub to: ReferralState,
    /// The move (none for the creation).
    #[serde(rename = "move", serialize_with = "ser_display_opt")]
    pub mv: Option<Move>,
    /// Who: an organisation, `operator` or `hub`.
    pub by: OrgRef,
    /// Coded reason.
    #[serde(serialize_with = "ser_display_opt")]
    pub reason_code: Option<ReasonCode>,
    /// Reason text.
    pub reason_text: Option<String>,
}

/// The recipient's result.
#[derive(Debug, Clone, Serialize)]
pub struct CompletionItem {
    /// Result.
    #[serde(serialize_with = "ser_display")]
    pub result: CompletionResult,
    /// Amount.
    pub amount_cents: Option<Cents>,
    /// Payment or effective date.
    pub effective_date: Option<Day>,
    /// Summary.
    pub summary: String,
}

/// A note on a referral.
#[derive(Debug, Clone, Serialize)]
pub struct NoteItem {
    /// Written.
    #[serde(serialize_with = "ser_instant")]
    pub at: Instant,
    /// Author.
    pub author: OrgRef,
    /// Text.
    pub text: String,
}

/// A request to a recipient (Art. 19 GDPR) and its confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientRequestItem {
    /// The organisation asked.
    pub recipient: OrgRef,
    /// The referral the data came with.
    pub referral_id: String,
    /// Why (`CONSENT_REVOKED`, `CASE_ERASED`, ...).
    pub cause: String,
    /// What was asked (`ERASE`, `RESTRICT`, `RECTIFY`).
    pub ask: String,
    /// The categories concerned (empty: all received with the referral).
    #[serde(serialize_with = "ser_display_all")]
    pub categories: Vec<DataCategory>,
    /// When the recipient was told.
    #[serde(serialize_with = "ser_instant")]
    pub requested_at: Instant,
    /// Due day of the confirmation.
    pub due: String,
    /// When the recipient confirmed, if it did.
    #[serde(serialize_with = "ser_instant_opt")]
    pub confirmed_at: Option<Instant>,
}

/// A read by a partner, from the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct ReadItem {
    /// When.
    #[serde(serialize_with = "ser_instant")]
    pub at: Instant,
    /// The reading organisation.
    pub org: OrgRef,
    /// The audit action, e.g. `referral.read`.
    pub action: String,
    /// The referral read through.
    pub referral_id: Option<String>,
    /// The legal basis as recorded (`CATEGORY=consent:<id>|statute:<citation>; ...`).
    pub legal_basis: String,
    /// The categories of case data read (empty when no case data was read), without the special
    /// categories.
    #[serde(serialize_with = "ser_display_all")]
    pub categories: Vec<DataCategory>,
    /// The special categories (Art. 9 GDPR) read.
    #[serde(serialize_with = "ser_display_all")]
    pub special_categories: Vec<DataCategory>,
    /// The audit detail as recorded.
    pub detail: String,
}

fn ser_instant<S: Serializer>(at: &Instant, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*at))
}

fn ser_instant_opt<S: Serializer>(at: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&rfc3339(*at)),
        None => s.serialize_none(),
    }
}

fn ser_display<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn ser_display_opt<T: Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

fn ser_display_all<T: Display, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(ToString::to_string))
}

const PURPOSE: &str = "WOHNUNGSSICHERUNG";

const BASES: [BasisNote; 5] = [
    BasisNote {
        basis: "§35 SGB I",
        applies_to: "social secrecy: all data the hub holds about the household is social data",
    },
    BasisNote {
        basis: "§§67-85a SGB X",
        applies_to: "processing and transfer of social data for the purpose of preserving the tenancy \
                     (Wohnungssicherung)",
    },
    BasisNote {
        basis: "§69(1) Nr.1 SGB X",
        applies_to: "transfers between social benefit bodies (Fachstelle, Jobcenter, social services) for their \
                     statutory tasks",
    },
    BasisNote {
        basis: "Art. 6(1)(a) GDPR, §67b SGB X",
        applies_to: "consent: every transfer to a private recipient (landlord, debt counselling, social-work provider)",
    },
    BasisNote {
        basis: "Art. 9(2)(a) GDPR",
        applies_to: "a separate explicit consent for special categories of personal data: health data (HEALTH)",
    },
];

const RETENTION: &str = "Kept while the case is worked on. After the case is closed and the retention period has \
    passed the data is erased (Art. 17 GDPR, §84 SGB X); only what a later decision legally needs stays (the date a \
    Schonfrist cure under §569(3) Nr.2 BGB was used, for two years), plus anonymous statistics. A consent runs until \
    case closure, at most 12 months.";

const RIGHTS: &str = "Rectification (Art. 16 GDPR), erasure (Art. 17 GDPR) unless a legal duty to keep the data \
    applies, restriction of processing (Art. 18 GDPR), objection on grounds of the person's particular situation \
    (Art. 21 GDPR), revocation of a consent at any time with effect for the future (Art. 7(3) GDPR; every earlier \
    recipient is told), and a complaint to a supervisory authority (Art. 77 GDPR), in Lower Saxony the \
    Landesbeauftragte für den Datenschutz Niedersachsen.";

/// Builds the report for `person` of `case_id` (the main tenant when `None`) from one transaction's
/// view of the store; `now` dates the report and decides whether a consent has expired.
pub async fn build(
    tx: &mut dyn Tx,
    case_id: &CaseId,
    person: Option<&PersonId>,
    now: Instant,
) -> Result<AccessReport, ReportError> {
    let case = tx.case(case_id).await?.ok_or_else(|| ReportError::CaseNotFound(case_id.clone()))?;
    let subject = pick_person(&case, person)?;
    let orgs: HashMap<OrgId, Organisation> = tx.orgs().await?.into_iter().map(|o| (o.id.clone(), o)).collect();
    let org_ref = |id: &OrgId| OrgRef {
        id: id.to_string(),
        name: orgs.get(id).map_or_else(|| id.to_string(), |o| o.name.clone()),
    };
    let actor_ref = |a: &Actor| match a {
        Actor::Org { org, .. } => org_ref(org),
        Actor::Operator { .. } => OrgRef { id: "operator".into(), name: "operator".into() },
        Actor::Hub => OrgRef { id: "hub".into(), name: "hub".into() },
    };
    let today = now.day();

    let case_consents = tx.consents_of_case(case_id).await?;
    let consents = case_consents
        .iter()
        .filter(|c| c.persons.contains(&subject.id))
        .map(|c| ConsentItem {
            consent_id: c.id.to_string(),
            recipients: c.recipients.iter().map(&org_ref).collect(),
            categories: c.categories.iter().copied().filter(|c| !c.is_special()).collect(),
            special_categories: c.categories.iter().copied().filter(|c| c.is_special()).collect(),
            purpose: PURPOSE,
            form: c.form,
            evidence: c.evidence.clone(),
            art9_explicit: c.art9_explicit,
            secrecy_release: c.secrecy_release,
            recorded_at: c.recorded_at,
            valid_until: c.valid_until,
            status: c.effective_status(today),
            revoked_at: c.ended_at.filter(|_| c.status == ConsentStatus::Revoked),
        })
        .collect();

    let mut notices = Vec::new();
    for id in &case.notice_ids {
        if let Some(n) = tx.notice(id).await? {
            notices.push(notice_item(&n, &org_ref));
        }
    }

    let mut referrals = Vec::new();
    for r in tx.referrals_of_case(case_id).await? {
        let notes = tx
            .notes(&r.id)
            .await?
            .into_iter()
            .map(|n| NoteItem { at: n.created_at, author: actor_ref(&n.author), text: n.text })
            .collect();
        referrals.push(referral_item(&r, &subject.id, notes, &case_consents, &org_ref, &actor_ref));
    }

    let mut partner_reads = Vec::new();
    let mut q = AuditQuery { case_id: Some(case_id.clone()), limit: crate::audit::PAGE, ..AuditQuery::default() };
    loop {
        let page = tx.audit_records(&q).await?;
        for r in &page {
            if is_partner_read(r, &case.owner) {
                let org = OrgId::parse(&r.actor)
                    .map_or_else(|_| OrgRef { id: r.actor.clone(), name: r.actor.clone() }, |id| org_ref(&id));
                let (special_categories, categories) =
                    r.detail().categories_shown().iter().copied().partition(|c: &DataCategory| c.is_special());
                partner_reads.push(ReadItem {
                    at: r.at,
                    org,
                    action: r.action.clone(),
                    referral_id: r.referral_id.clone(),
                    legal_basis: r.legal_basis.clone(),
                    categories,
                    special_categories,
                    detail: r.detail.clone(),
                });
            }
            q.after_seq = r.seq;
        }
        if page.len() < crate::audit::PAGE as usize {
            break;
        }
    }

    let d = &case.details;
    let is_main = subject.role == PersonRole::MainTenant;
    let recipient_requests = tx
        .data_requests(&crate::store::DataRequestQuery {
            case_id: Some(case.id.clone()),
            owner: Some(case.owner.clone()),
            ..crate::store::DataRequestQuery::default()
        })
        .await?
        .into_iter()
        .map(|r| RecipientRequestItem {
            recipient: org_ref(&r.recipient),
            referral_id: r.referral_id.to_string(),
            cause: r.cause.as_str().to_owned(),
            ask: r.ask().as_str().to_owned(),
            categories: r.categories.clone(),
            requested_at: r.requested_at,
            due: r.due.to_string(),
            confirmed_at: r.confirmation.as_ref().map(|c| c.at),
        })
        .collect();

    Ok(AccessReport {
        generated_at: now,
        case_id: case.id.to_string(),
        controller: org_ref(&case.owner),
        purposes_and_legal_bases: BASES.to_vec(),
        special_categories: DataCategory::ALL.iter().copied().filter(|c| c.is_special()).collect(),
        subject: Subject {
            person_id: subject.id.to_string(),
            role: subject.role,
            given_name: subject.given_name.clone(),
            family_name: subject.family_name.clone(),
            gender: subject.gender,
            birth_year: subject.birth_year,
        },
        household_members: d
            .persons
            .iter()
            .map(|p| Member {
                person_id: p.id.to_string(),
                role: p.role,
                birth_year: p.birth_year,
                is_subject: p.id == subject.id,
            })
            .collect(),
        household: Household {
            address_street: format!("{} {}", d.address.street, d.address.house_number).trim().to_owned(),
            address_city: format!("{} {}", d.address.postal_code, d.address.city).trim().to_owned(),
            phone: Some(d.contact.phone.clone()).filter(|p| is_main && !p.is_empty()),
            email: Some(d.contact.email.clone()).filter(|e| is_main && !e.is_empty()),
            schutzsperre: d.schutzsperre,
            stadtbezirk: d.stadtbezirk,
            household_type: d.household_type,
            route_in: d.route_in,
            case_opened_at: case.opened_at,
            case_status: case.status(),
            closure: case.closure.as_ref().map(|c| ClosureItem {
                outcome: c.outcome,
                rescue_means: c.rescue_means,
                note: c.note.clone(),
                at: c.at,
            }),
            restriction: case.restriction.clone(),
            landlord: d.tenancy.landlord.as_ref().map(&org_ref),
            tenancy_reference: d.tenancy.reference.clone(),
            tenancy_start: d.tenancy.start,
            base_rent_cents: d.tenancy.rent.base,
            service_charge_advance_cents: d.tenancy.rent.service_charge_advance,
            heating_advance_cents: d.tenancy.rent.heating_advance,
            arrears_cents: d.arrears,
            stages: case
                .stages
                .iter()
                .map(|s| StageItem {
                    stage: s.stage,
                    date: s.date,
                    end_date: s.end_date,
                    source: s.source.clone(),
                    recorded_by: org_ref(&s.recorded_by),
                })
                .collect(),
            income_benefits_note: d.income_benefits_note.clone(),
            counselling_note: d.counselling_note.clone(),
            health_note: d.health_note.clone(),
        },
        consents,
        notices,
        referrals,
        partner_reads,
        recipient_requests,
        retention: RETENTION,
        rights: RIGHTS,
    })
}

/// The person asked for, or the main tenant.
fn pick_person<'c>(case: &'c Case, person: Option<&PersonId>) -> Result<&'c Person, ReportError> {
    let persons = &case.details.persons;
    let found = match person {
        Some(id) => case.details.person(id),
        None => persons.iter().find(|p| p.role == PersonRole::MainTenant).or_else(|| persons.first()),
    };
    found.ok_or_else(|| ReportError::PersonNotFound {
        case: case.id.clone(),
        person: person.cloned().unwrap_or_else(PersonId::new),
        known: persons.iter().map(|p| format!("{} ({})", p.id, p.role)).collect::<Vec<_>>().join(", "),
    })
}

/// A read of case data by an organisation other than the controller.
fn is_partner_read(r: &AuditRecord, owner: &OrgId) -> bool {
    r.action().is_some_and(AuditAction::is_read)
        && r.actor != owner.as_str()
        && r.actor != "hub"
        && r.actor != "operator"
}

fn notice_item(n: &Notice, org_ref: &impl Fn(&OrgId) -> OrgRef) -> NoticeItem {
    let (kind, court_file_number) = match &n.data {
        NoticeData::Arrears(_) => ("ARREARS", None),
        NoticeData::Court(c) => ("COURT", Some(c.court_file_number.clone())),
    };
    NoticeItem {
        notice_id: n.id.to_string(),
        kind,
        reporter: n.reporter.as_ref().or(n.recorded_by.as_ref()).map(org_ref),
        received_at: n.received_at,
        stage: n.stage(),
        arrears_cents: n.arrears(),
        court_file_number,
    }
}

fn referral_item(
    r: &Referral,
    subject: &PersonId,
    notes: Vec<NoteItem>,
    consents: &[Consent],
    org_ref: &impl Fn(&OrgId) -> OrgRef,
    actor_ref: &impl Fn(&Actor) -> OrgRef,
) -> ReferralItem {
    let bases = |d: &Disclosure| -> Vec<BasisItem> {
        d.bases
            .iter()
            .map(|b| match b {
                LegalBasis::Consent(id) => BasisItem { kind: "consent", reference: id.to_string() },
                LegalBasis::Statute(s) => BasisItem { kind: "statute", reference: s.citation().to_owned() },
            })
            .collect()
    };
    let explicit = |d: &Disclosure| {
        d.bases
            .iter()
            .any(|b| matches!(b, LegalBasis::Consent(id) if consents.iter().any(|c| &c.id == id && c.art9_explicit)))
    };
    ReferralItem {
        referral_id: r.id.to_string(),
        sender: org_ref(&r.sender),
        recipient: org_ref(&r.recipient),
        category: r.category,
        created_at: r.created_at,
        reply_by: r.reply_by,
        state: r.state,
        message: r.message.clone(),
        subject_identity_disclosed: r
            .disclosures
            .iter()
            .find(|d| d.category == DataCategory::Identity)
            .map(|d| d.covered_when_made(consents, subject)),
        disclosures: r
            .disclosures
            .iter()
            .filter(|d| !d.category.is_special())
            .map(|d| DisclosureItem { category: d.category, bases: bases(d) })
            .collect(),
        special_category_disclosures: r
            .disclosures
            .iter()
            .filter(|d| d.category.is_special())
            .map(|d| SpecialDisclosureItem { category: d.category, bases: bases(d), art9_explicit: explicit(d) })
            .collect(),
        history: r
            .history
            .iter()
            .map(|t| HandoffItem {
                at: t.at,
                from: t.from,
                to: t.to,
                mv: t.mv,
                by: actor_ref(&t.actor),
                reason_code: t.reason.as_ref().and_then(|x| x.code),
                reason_text: t.reason.as_ref().map(|x| x.text.clone()).filter(|x| !x.is_empty()),
            })
            .collect(),
        completion: r.completion.as_ref().map(|c| CompletionItem {
            result: c.result,
            amount_cents: c.amount,
            effective_date: c.effective_date,
            summary: c.summary.clone(),
        }),
        notes,
    }
}

/// Builds the report from one read snapshot, then records the access in the audit trail (a write
/// transaction of its own, so the report's reads never wait for the hub's writers). Nothing is
/// recorded when the report cannot be built.
pub async fn generate(
    store: &dyn Store,
    case_id: &CaseId,
    person: Option<&PersonId>,
    format: Format,
    now: Instant,
) -> Result<AccessReport, ReportError> {
    if !FORMATS.contains(&format) {
        return Err(refused(format));
    }
    let report = {
        let mut tx = store.begin_read().await?;
        build(tx.as_mut(), case_id, person, now).await?
    };
    let mut tx = store.begin().await?;
    tx.append_audit(&AuditEntry {
        at: now,
        actor: ACTOR.to_owned(),
        staff: None,
        action: AuditAction::AccessReport,
        case_id: Some(case_id.clone()),
        referral_id: None,
        legal_basis: LEGAL_BASIS.to_owned(),
        detail: AuditDetail::words(format!(
            "access report ({format}) for person {}: case data, consents, notices, referrals, partner reads",
            report.subject.person_id
        )),
    })
    .await?;
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(parse_format("HTML"), Ok(Format::Html));
        assert_eq!(parse_format("json"), Ok(Format::Json));
        assert_eq!(parse_format("csv"), Err("'csv' is not a report format (html or json)".to_owned()));
        assert!(parse_format("pdf").is_err());
    }
}
