//! The commands: one request (or a few) each, then output.

use std::io::Write;

use std::path::Path;

use hub_proto::v1::case_service_client::CaseServiceClient;
use hub_proto::v1::delivery_service_client::DeliveryServiceClient;
use hub_proto::v1::directory_service_client::DirectoryServiceClient;
use hub_proto::v1::notice_service_client::NoticeServiceClient;
use hub_proto::v1::referral_service_client::ReferralServiceClient;
use hub_proto::v1::{
    AddNoteRequest, CapacityState, CategoryCapacity, CompletionOutcome, CreateReferralRequest, EraseCaseRequest,
    GetReferralRequest, ListDeliveriesRequest, ListNotesRequest, ListNoticeStatusesRequest, ListOpenNoticesRequest,
    ListOrganisationsRequest, ListReferralsRequest, Mailbox, OrganisationKind, ReasonCode, Referral, ReferralMove,
    ReferralSummary, RequeueDeliveryRequest, SetCapacityRequest, TakeUpNoticeRequest, TransitionReferralRequest,
};
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

use crate::args::{
    ArrearsCommand, Cli, Command, CourtCommand, ImportArgs, MailboxFilter, Mutation, NoticesCommand, ReasonMove,
};
use crate::connect::Hub;
use crate::import::{Outcome, Report, RowResult};
use crate::render::{self, Parties};
use crate::{UsageError, arrears, court, deadlines_cmd, grpc_code_name, keygen, notices, watch};

/// The largest page the hub serves; lists are fetched to the end, so fewer round trips is better.
const PAGE_SIZE: i32 = 500;

/// Runs the chosen command.
pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    // Commands that manage their own connection or need none.
    match &cli.command {
        Command::Watch(args) => return watch::run(cli, args).await,
        Command::Deadlines(args) => {
            let list = deadlines::compute(&deadlines_cmd::facts(args));
            return out.emit(|| deadlines_cmd::table(&list), || deadlines_cmd::json(&list));
        }
        Command::Keygen(args) => return keygen::run(args),
        Command::Arrears(ArrearsCommand::Import(args)) => return arrears_import(cli, args, out).await,
        Command::Court(CourtCommand::Import(args)) => return court_import(cli, args, out).await,
        _ => {}
    }
    let hub = Hub::connect(cli).await?;
    let mut referrals = ReferralServiceClient::new(hub.channel());

    match &cli.command {
        Command::Orgs(args) => {
            let mut directory = DirectoryServiceClient::new(hub.channel());
            let request = ListOrganisationsRequest {
                kind: args.kind.unwrap_or(OrganisationKind::Unspecified) as i32,
                include_inactive: args.inactive,
            };
            let organisations = directory.list_organisations(hub.request(request)).await?.into_inner().organisations;
            out.emit(
                || render::organisations_table(&organisations),
                || Value::Array(organisations.iter().map(render::organisation_json).collect()),
            )
        }
        Command::Capacity(args) => {
            let mut directory = DirectoryServiceClient::new(hub.channel());
            let key = idempotency_key(&args.mutation);
            let state = |category: &hub_proto::v1::ReferralCategory, state: CapacityState, weeks: u32| {
                CategoryCapacity { category: *category as i32, state: state as i32, waitlist_weeks: weeks }
            };
            let capacities = args
                .closed
                .iter()
                .map(|c| state(c, CapacityState::Closed, 0))
                .chain(args.waitlist.iter().map(|(c, weeks)| state(c, CapacityState::Waitlist, *weeks)))
                .collect();
            let request = SetCapacityRequest {
                idempotency_key: key.clone(),
                capacities,
                office_hours: args.office_hours.clone(),
            };
            let organisation = directory
                .set_capacity(hub.request(request))
                .await
                .inspect_err(|status| retry_hint(status, &key))?
                .into_inner()
                .organisation
                .ok_or_else(|| anyhow::anyhow!("the hub answered without the organisation"))?;
            let organisations = [organisation];
            out.emit(|| render::organisations_table(&organisations), || render::organisation_json(&organisations[0]))
        }
        Command::Inbox(filter) => {
            let list = list_referrals(&hub, &mut referrals, Mailbox::Inbox, filter).await?;
            out.summaries(&list, Parties::From)
        }
        Command::Outbox(filter) => {
            let list = list_referrals(&hub, &mut referrals, Mailbox::Outbox, filter).await?;
            out.summaries(&list, Parties::To)
        }
        Command::List(args) => {
            let list = if args.all {
                list_referrals(&hub, &mut referrals, Mailbox::All, &args.filter).await?
            } else {
                // "Everything I can see": both mailboxes, merged in creation order.
                let mut list = list_referrals(&hub, &mut referrals, Mailbox::Inbox, &args.filter).await?;
                list.extend(list_referrals(&hub, &mut referrals, Mailbox::Outbox, &args.filter).await?);
                list.sort_by(|a, b| {
                    let key = |r: &ReferralSummary| {
                        r.created_at.as_ref().map(|at| (at.seconds, at.nanos)).unwrap_or_default()
                    };
                    key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
                });
                list.dedup_by(|a, b| a.id == b.id);
                list
            };
            out.summaries(&list, Parties::Both)
        }
        Command::Show(args) => {
            // Two requests, concurrently: the referral and its thread are separate RPCs.
            let mut notes_client = referrals.clone();
            let (referral, notes) = tokio::join!(
                referrals.get_referral(hub.request(GetReferralRequest { referral_id: args.id.clone() })),
                notes_client.list_notes(hub.request(ListNotesRequest { referral_id: args.id.clone() })),
            );
            let referral = referral?.into_inner().referral.ok_or_else(missing_referral)?;
            let notes = notes?.into_inner().notes;
            out.emit(
                || render::referral_text(&referral, &notes),
                || {
                    let mut value = render::referral_json(&referral);
                    value["notes"] = Value::Array(notes.iter().map(render::note_json).collect());
                    value
                },
            )
        }
        Command::Ack(args) => {
            let request = move_request(&args.id, ReferralMove::Acknowledge);
            transition(&hub, &mut referrals, request, &args.mutation, out).await
        }
        Command::Accept(args) => {
            let request = move_request(&args.id, ReferralMove::Accept);
            transition(&hub, &mut referrals, request, &args.mutation, out).await
        }
        Command::Start(args) => {
            let request = move_request(&args.id, ReferralMove::Start);
            transition(&hub, &mut referrals, request, &args.mutation, out).await
        }
        Command::Hold(args) => {
            let request = TransitionReferralRequest {
                reason_text: args.text.clone().unwrap_or_default(),
                ..move_request(&args.id, ReferralMove::Hold)
            };
            transition(&hub, &mut referrals, request, &args.mutation, out).await
        }
        Command::Decline(args) => reason_move(&hub, &mut referrals, args, ReferralMove::Decline, out).await,
        Command::Fail(args) => reason_move(&hub, &mut referrals, args, ReferralMove::Fail, out).await,
        Command::Cancel(args) => reason_move(&hub, &mut referrals, args, ReferralMove::Cancel, out).await,
        Command::Complete(args) => {
            let request = TransitionReferralRequest {
                outcome: Some(CompletionOutcome {
                    result: args.result as i32,
                    amount_cents: args.amount,
                    effective_date: args.date.clone().unwrap_or_default(),
                    summary: args.summary.clone().unwrap_or_default(),
                }),
                ..move_request(&args.id, ReferralMove::Complete)
            };
            transition(&hub, &mut referrals, request, &args.mutation, out).await
        }
        Command::Reopen(args) => {
            let request = TransitionReferralRequest {
                reason_text: args.text.clone(),
                ..move_request(&args.id, ReferralMove::Reopen)
            };
            transition(&hub, &mut referrals, request, &args.mutation, out).await
        }
        Command::Note(args) => {
            let key = idempotency_key(&args.mutation);
            let request =
                AddNoteRequest { idempotency_key: key.clone(), referral_id: args.id.clone(), text: args.text.clone() };
            let response =
                referrals.add_note(hub.request(request)).await.inspect_err(|status| retry_hint(status, &key))?;
            let note = response.into_inner().note.unwrap_or_default();
            out.emit(|| format!("note {} added to {}\n", note.id, note.referral_id), || render::note_json(&note))
        }
        Command::Notes(args) => {
            let notes = referrals
                .list_notes(hub.request(ListNotesRequest { referral_id: args.id.clone() }))
                .await?
                .into_inner()
                .notes;
            out.emit(|| render::notes_text(&notes), || Value::Array(notes.iter().map(render::note_json).collect()))
        }
        Command::Refer(args) => {
            let key = idempotency_key(&args.mutation);
            let request = CreateReferralRequest {
                idempotency_key: key.clone(),
                case_id: args.case_id.clone(),
                recipient_organisation_id: args.to.clone(),
                category: args.category as i32,
                data_categories: args.data.iter().map(|category| *category as i32).collect(),
                message: args.message.clone().unwrap_or_default(),
                reply_by: args.reply_by.clone(),
                confirm_duplicate: args.confirm_duplicate,
                confirm_closed_capacity: args.confirm_closed_capacity,
            };
            let referral = referrals
                .create_referral(hub.request(request))
                .await
                .inspect_err(|status| retry_hint(status, &key))?
                .into_inner()
                .referral
                .ok_or_else(missing_referral)?;
            out.emit(
                || {
                    format!(
                        "created referral {} to {}: {}\n",
                        referral.id,
                        referral.recipient_organisation_id,
                        render::state_and_next(&referral)
                    )
                },
                || render::referral_json(&referral),
            )
        }
        Command::Notices(NoticesCommand::Status(args)) => {
            let request = ListNoticeStatusesRequest { tenancy_references: args.references.clone() };
            let statuses = NoticeServiceClient::new(hub.channel())
                .list_notice_statuses(hub.request(request))
                .await?
                .into_inner()
                .statuses;
            out.emit(
                || notices::statuses_table(&statuses),
                || Value::Array(statuses.iter().map(notices::status_json).collect()),
            )
        }
        Command::Deliveries(args) => {
            let request = ListDeliveriesRequest {
                status: args.status.map_or(0, |s| s as i32),
                organisation_id: args.org.clone().unwrap_or_default(),
                referral_id: args.referral.clone().unwrap_or_default(),
                page_size: args.limit.unwrap_or(0),
            };
            let deliveries = DeliveryServiceClient::new(hub.channel())
                .list_deliveries(hub.request(request))
                .await?
                .into_inner()
                .deliveries;
            out.emit(
                || render::deliveries_table(&deliveries),
                || Value::Array(deliveries.iter().map(render::delivery_json).collect()),
            )
        }
        Command::Requeue(args) => {
            let key = idempotency_key(&args.mutation);
            let request = RequeueDeliveryRequest { idempotency_key: key.clone(), delivery_id: args.id.clone() };
            let delivery = DeliveryServiceClient::new(hub.channel())
                .requeue_delivery(hub.request(request))
                .await
                .inspect_err(|status| retry_hint(status, &key))?
                .into_inner()
                .delivery
                .unwrap_or_default();
            out.emit(
                || format!("delivery {} to {} re-queued\n", delivery.id, delivery.organisation_id),
                || render::delivery_json(&delivery),
            )
        }
        Command::Erase(args) => {
            let key = idempotency_key(&args.mutation);
            let request = EraseCaseRequest { idempotency_key: key.clone(), case_id: args.case_id.clone() };
            let erased = CaseServiceClient::new(hub.channel())
                .erase_case(hub.request(request))
                .await
                .inspect_err(|status| retry_hint(status, &key))?
                .into_inner();
            out.emit(
                || {
                    let mut text = format!("case {} erased; kept:\n", erased.case_id);
                    for k in &erased.kept {
                        let until =
                            if k.keep_until.is_empty() { String::new() } else { format!(" until {}", k.keep_until) };
                        text.push_str(&format!("  - {} ({}){until}\n", k.what, k.legal_basis));
                    }
                    text
                },
                || {
                    json!({
                        "case_id": erased.case_id,
                        "kept": erased.kept.iter().map(|k| json!({
                            "what": k.what, "legal_basis": k.legal_basis, "keep_until": k.keep_until,
                        })).collect::<Vec<_>>(),
                    })
                },
            )
        }
        Command::Triage(args) => {
            let request = ListOpenNoticesRequest { limit: args.limit.unwrap_or(0) };
            let open = NoticeServiceClient::new(hub.channel())
                .list_open_notices(hub.request(request))
                .await?
                .into_inner()
                .notices;
            out.emit(
                || notices::triage_table(&open),
                || Value::Array(open.iter().map(notices::open_notice_json).collect()),
            )
        }
        Command::TakeUp(args) => {
            let key = idempotency_key(&args.mutation);
            let request = TakeUpNoticeRequest {
                idempotency_key: key.clone(),
                notice_id: args.id.clone(),
                details: None,
                case_id: args.case.clone().unwrap_or_default(),
                open_new_case: args.new_case,
            };
            let response = NoticeServiceClient::new(hub.channel())
                .take_up_notice(hub.request(request))
                .await
                .inspect_err(|status| retry_hint(status, &key))?
                .into_inner();
            let case_id = response.case.map(|case| case.id).unwrap_or_default();
            out.emit(
                || {
                    if response.linked_existing {
                        format!("notice {} linked to the open case {case_id}\n", args.id)
                    } else {
                        format!("case {case_id} opened from notice {}\n", args.id)
                    }
                },
                || json!({"notice_id": args.id, "case_id": case_id, "linked_existing": response.linked_existing}),
            )
        }
        Command::Court(CourtCommand::Record(args)) => {
            let key = idempotency_key(&args.mutation);
            let notice = court::notice_from_args(args);
            let (result, case_id) = court::record(&hub, &mut court::client(&hub), key.clone(), notice)
                .await
                .inspect_err(|status| retry_hint(status, &key))?;
            out.emit(
                || court::result_line(&result, &case_id),
                || {
                    json!({
                        "notice_id": result.notice_id,
                        "outcome": crate::names::name_of::<hub_proto::v1::NoticeOutcome>(result.outcome),
                        "case_id": if case_id.is_empty() { Value::Null } else { json!(case_id) },
                    })
                },
            )
        }
        // Returned above, before connecting.
        Command::Watch(_)
        | Command::Deadlines(_)
        | Command::Keygen(_)
        | Command::Arrears(ArrearsCommand::Import(_))
        | Command::Court(CourtCommand::Import(_)) => Ok(()),
    }
}

/// Reads a CSV file named on the command line; an unreadable file is a usage error.
fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| UsageError(format!("cannot read {}: {error}", path.display())).into())
}

/// Parses a CSV file with `parse`; a problem with the file as a whole (encoding, header) names it.
fn parse_csv<T>(args: &ImportArgs, parse: impl FnOnce(&str) -> Result<T, erp_import::msg::Msg>) -> anyhow::Result<T> {
    let path = &args.file;
    let bytes = read_file(path)?;
    let decoded = crate::csv::decode(&bytes, args.encoding.into())
        .map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))?;
    if decoded.windows_1252 && args.encoding == crate::args::FileEncoding::Auto {
        eprintln!("note: {} is not UTF-8; read as Windows-1252 (choose with --encoding)", path.display());
    }
    parse(&decoded.text).map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))
}

/// `arrears import`: parse, then (unless --dry-run) stream the valid rows; report; exit 1 on any rejection.
async fn arrears_import(cli: &Cli, args: &ImportArgs, out: Output) -> anyhow::Result<()> {
    let profile = args
        .profile
        .as_deref()
        .map(|path| {
            erp_import::profile::Profile::load(path, arrears::COLUMNS, arrears::accepts)
                .map_err(|reason| UsageError(format!("{}: {reason}", path.display())))
        })
        .transpose()?;
    let (valid, rejected) = parse_csv(args, |text| arrears::parse_mapped(text, profile.as_ref()))?;
    let report = if args.dry_run {
        dry_run_report(valid.iter().map(|row| (row.row, row.warnings.clone())), rejected)
    } else if valid.is_empty() {
        // Nothing to send: no connection, so a file of only bad rows is reported without certificates.
        Report::new(rejected)
    } else {
        let hub = Hub::connect(cli).await?;
        arrears::send(&hub, valid, rejected).await.map_err(import_interrupted)?
    };
    out.emit(|| report.text(args.dry_run), || report.json(args.dry_run))?;
    report.verdict()
}

/// `court import`: like `arrears import`, one RecordCourtNotice per row.
async fn court_import(cli: &Cli, args: &ImportArgs, out: Output) -> anyhow::Result<()> {
    if args.profile.is_some() {
        return Err(UsageError("--profile applies to arrears import only".to_owned()).into());
    }
    let (valid, rejected) = parse_csv(args, court::parse_file)?;
    let report = if args.dry_run {
        dry_run_report(valid.iter().map(|(row, _)| (*row, Vec::new())), rejected)
    } else if valid.is_empty() {
        Report::new(rejected)
    } else {
        let hub = Hub::connect(cli).await?;
        court::send(&hub, valid, rejected).await.map_err(import_interrupted)?
    };
    out.emit(|| report.text(args.dry_run), || report.json(args.dry_run))?;
    report.verdict()
}

/// An import that stopped half-way without a verdict from the hub: marked so the error report says that
/// running it again is safe.
fn import_interrupted(error: anyhow::Error) -> anyhow::Error {
    let open_ended = error.downcast_ref::<tonic::Status>().is_none_or(|s| {
        crate::connection_lost(s)
            || matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted)
    });
    if open_ended { error.context(crate::RerunSafe) } else { error }
}

/// The report of a dry run: valid rows as `valid`, the rest as rejected locally.
fn dry_run_report(
    valid: impl Iterator<Item = (usize, Vec<crate::import::Problem>)>,
    mut results: Vec<RowResult>,
) -> Report {
    results.extend(valid.map(|(row, warnings)| RowResult {
        row,
        outcome: Outcome::Valid,
        notice_id: String::new(),
        case_id: String::new(),
        problems: Vec::new(),
        warnings,
    }));
    Report::new(results)
}

/// Where output goes and in which form.
#[derive(Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    /// Prints either the text or the JSON; both are built lazily so only one is made.
    fn emit(self, text: impl FnOnce() -> String, value: impl FnOnce() -> Value) -> anyhow::Result<()> {
        let rendered = if self.json {
            let mut json = serde_json::to_string_pretty(&value())?;
            json.push('\n');
            json
        } else {
            text()
        };
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(rendered.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    fn summaries(self, list: &[ReferralSummary], parties: Parties) -> anyhow::Result<()> {
        self.emit(
            || render::summaries_table(list, parties),
            || Value::Array(list.iter().map(render::summary_json).collect()),
        )
    }
}

/// Lists one mailbox to the last page.
async fn list_referrals(
    hub: &Hub,
    client: &mut ReferralServiceClient<Channel>,
    mailbox: Mailbox,
    filter: &MailboxFilter,
) -> anyhow::Result<Vec<ReferralSummary>> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListReferralsRequest {
            mailbox: mailbox as i32,
            states: filter.states.iter().map(|state| *state as i32).collect(),
            partner_organisation_id: filter.partner.clone().unwrap_or_default(),
            overdue_only: filter.overdue,
            min_age_days: 0,
            case_id: filter.case_id.clone().unwrap_or_default(),
            page_size: PAGE_SIZE,
            page_token: page_token.clone(),
        };
        let response = client.list_referrals(hub.request(request)).await?.into_inner();
        all.extend(response.referrals);
        if response.next_page_token.is_empty() {
            return Ok(all);
        }
        // A hub that hands back the same token would otherwise keep us here forever.
        if response.next_page_token == page_token {
            return Err(tonic::Status::internal("the hub returned the same page token twice").into());
        }
        page_token = response.next_page_token;
    }
}

/// A transition request for a move, without the move's details or key.
fn move_request(id: &str, r#move: ReferralMove) -> TransitionReferralRequest {
    TransitionReferralRequest {
        idempotency_key: String::new(),
        referral_id: id.to_owned(),
        r#move: r#move as i32,
        reason_code: ReasonCode::Unspecified as i32,
        reason_text: String::new(),
        outcome: None,
    }
}

/// Makes a move that needs a reason code (decline, fail, cancel).
async fn reason_move(
    hub: &Hub,
    client: &mut ReferralServiceClient<Channel>,
    args: &ReasonMove,
    r#move: ReferralMove,
    out: Output,
) -> anyhow::Result<()> {
    let text = args.text.clone().unwrap_or_default();
    // The hub would refuse it too; saying so here names the missing option.
    if args.reason == ReasonCode::Other && text.trim().is_empty() {
        return Err(crate::UsageError("--reason other needs --text explaining the reason".to_owned()).into());
    }
    let request = TransitionReferralRequest {
        reason_code: args.reason as i32,
        reason_text: text,
        ..move_request(&args.id, r#move)
    };
    transition(hub, client, request, &args.mutation, out).await
}

/// Makes a move and prints the referral's new state.
async fn transition(
    hub: &Hub,
    client: &mut ReferralServiceClient<Channel>,
    mut request: TransitionReferralRequest,
    mutation: &Mutation,
    out: Output,
) -> anyhow::Result<()> {
    let key = idempotency_key(mutation);
    request.idempotency_key = key.clone();
    let referral: Referral = client
        .transition_referral(hub.request(request))
        .await
        .inspect_err(|status| retry_hint(status, &key))?
        .into_inner()
        .referral
        .ok_or_else(missing_referral)?;
    out.emit(|| format!("{}\n", render::moved_line(&referral)), || render::referral_json(&referral))
}

/// The key from --idempotency-key, or a fresh one: a new request must never reuse a key.
fn idempotency_key(mutation: &Mutation) -> String {
    mutation.idempotency_key.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// When a mutating call failed in a way that leaves open whether the hub applied it, say which
/// key to retry with: the same key makes the retry safe.
fn retry_hint(status: &tonic::Status, key: &str) {
    if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded | Code::Unknown | Code::Cancelled) {
        eprintln!(
            "hint: after {} the hub may or may not have applied the request; \
             retry safely with --idempotency-key {key}",
            grpc_code_name(status.code())
        );
    }
}

/// A successful response without its referral breaks the contract; say so rather than panic.
fn missing_referral() -> anyhow::Error {
    tonic::Status::internal("the hub's response carried no referral").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fresh_keys_differ_and_given_keys_are_kept() {
        let fresh = Mutation { idempotency_key: None };
        assert_ne!(idempotency_key(&fresh), idempotency_key(&fresh));
        let given = Mutation { idempotency_key: Some("retry-1".to_owned()) };
        assert_eq!(idempotency_key(&given), "retry-1");
    }

    #[test]
    fn json_for_a_moved_referral_names_states() {
        let referral = Referral {
            id: "r-1".to_owned(),
            state: hub_proto::v1::ReferralState::Received as i32,
            allowed_moves: vec![ReferralMove::Accept as i32, ReferralMove::Decline as i32],
            ..Referral::default()
        };
        let value = render::referral_json(&referral);
        assert_eq!(value["state"], json!("RECEIVED"));
        assert_eq!(value["allowed_moves"], json!(["ACCEPT", "DECLINE"]));
        assert_eq!(render::moved_line(&referral), "r-1: RECEIVED (next: accept, decline)");
    }
}
