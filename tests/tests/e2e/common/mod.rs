//! Shared helpers of the end-to-end tests: clients over mutual-TLS gRPC, the synthetic Frau K.
//! case, consents, referrals, moves, status assertions and the event stream read with a timeout.
//! Every helper talks to a real `TestHub` over the network; nothing reaches into the server.
#![allow(dead_code, unused_imports)]

use std::fmt::Debug;
use std::time::Duration;

pub use hub_proto::v1::case_service_client::CaseServiceClient;
pub use hub_proto::v1::consent_service_client::ConsentServiceClient;
pub use hub_proto::v1::directory_service_client::DirectoryServiceClient;
pub use hub_proto::v1::event_service_client::EventServiceClient;
pub use hub_proto::v1::referral_service_client::ReferralServiceClient;
pub use hub_proto::v1::*;
pub use hub_testkit::{TestHub, frau_k_details, idem, orgs, with_staff};
pub use tonic::transport::Channel;
pub use tonic::{Code, Status, Streaming};

/// How long a test waits for the next event before it fails (never a sleep: the wait ends as soon
/// as the event arrives).
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Synthetic income note (category INCOME_BENEFITS); never shown to a housing company.
pub const INCOME_NOTE: &str = "SYNTH-INCOME: Buergergeld beantragt, Teilzeitstelle im Oktober verloren";
/// Synthetic health note (category HEALTH, Art. 9 GDPR).
pub const HEALTH_NOTE: &str = "SYNTH-HEALTH: Erschoepfungszustand nach Arbeitsplatzverlust";
/// Synthetic counselling note (category COUNSELLING_NOTES).
pub const COUNSELLING_NOTE: &str = "SYNTH-COUNSEL: weitere Verbindlichkeiten ca. 4.200 EUR";
/// Synthetic phone number (category CONTACT).
pub const PHONE: &str = "+49 511 0000000";

/// Starts a fresh hub (own data dir, database, PKI, manual clock at 2026-01-09T09:00:00Z).
pub async fn start() -> TestHub {
    TestHub::start().await.expect("the test hub starts")
}

/// An mTLS channel as `org`, made once per hub and organisation and then cloned (a channel is a
/// cheap handle; reusing it spares a TLS handshake per call).
pub async fn chan(hub: &TestHub, org: &str) -> Channel {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};
    static CHANNELS: OnceLock<Mutex<HashMap<(PathBuf, String), Channel>>> = OnceLock::new();
    let key = (hub.data_dir().to_path_buf(), org.to_owned());
    let cache = CHANNELS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(ch) = cache.lock().expect("channel cache").get(&key) {
        return ch.clone();
    }
    let ch = hub.channel(org).await.unwrap_or_else(|e| panic!("mTLS channel as {org}: {e:#}"));
    cache.lock().expect("channel cache").insert(key, ch.clone());
    ch
}

/// ReferralService as `org`.
pub async fn referrals(hub: &TestHub, org: &str) -> ReferralServiceClient<Channel> {
    ReferralServiceClient::new(chan(hub, org).await)
}

/// CaseService as `org`.
pub async fn cases(hub: &TestHub, org: &str) -> CaseServiceClient<Channel> {
    CaseServiceClient::new(chan(hub, org).await)
}

/// ConsentService as `org`.
pub async fn consents(hub: &TestHub, org: &str) -> ConsentServiceClient<Channel> {
    ConsentServiceClient::new(chan(hub, org).await)
}

/// DirectoryService as `org`.
pub async fn directory(hub: &TestHub, org: &str) -> DirectoryServiceClient<Channel> {
    DirectoryServiceClient::new(chan(hub, org).await)
}

/// DirectoryService as the hub operator.
pub async fn operator_directory(hub: &TestHub) -> DirectoryServiceClient<Channel> {
    DirectoryServiceClient::new(hub.operator_channel().await.expect("operator channel"))
}

/// EventService as `org`.
pub async fn events(hub: &TestHub, org: &str) -> EventServiceClient<Channel> {
    EventServiceClient::new(chan(hub, org).await)
}

/// Frau K.'s details with known synthetic notes, so tests can look for them verbatim.
pub fn details() -> CaseDetails {
    let mut d = frau_k_details();
    d.income_benefits_note = INCOME_NOTE.to_owned();
    d.health_note = HEALTH_NOTE.to_owned();
    d.counselling_note = COUNSELLING_NOTE.to_owned();
    let contact = d.contact.get_or_insert_with(Contact::default);
    contact.phone = PHONE.to_owned();
    d
}

/// Opens a case with the given details as the Fachstelle.
pub async fn open_case_with(hub: &TestHub, details: CaseDetails) -> Case {
    cases(hub, orgs::FACHSTELLE)
        .await
        .open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(details), initial_stage: None })
        .await
        .expect("OpenCase")
        .into_inner()
        .case
        .expect("OpenCaseResponse.case")
}

/// Opens the Frau K. case as the Fachstelle.
pub async fn open_case(hub: &TestHub) -> Case {
    open_case_with(hub, details()).await
}

/// Ids of the persons of a case, as assigned by the hub.
pub fn person_ids(case: &Case) -> Vec<String> {
    let ids: Vec<String> =
        case.details.as_ref().expect("case details").persons.iter().map(|p| p.person_id.clone()).collect();
    assert!(!ids.is_empty() && ids.iter().all(|i| !i.is_empty()), "the hub assigns person ids: {ids:?}");
    ids
}

/// A complete, valid RecordConsent request (written form, Wohnungssicherung, art9 set when HEALTH
/// is covered, secrecy release given) valid until `valid_until`.
pub fn consent_request(
    case: &Case,
    recipients: &[&str],
    categories: &[DataCategory],
    valid_until: &str,
) -> RecordConsentRequest {
    RecordConsentRequest {
        idempotency_key: idem(),
        case_id: case.id.clone(),
        person_ids: person_ids(case)[..1].to_vec(),
        recipient_organisation_ids: recipients.iter().map(|s| (*s).to_owned()).collect(),
        categories: categories.iter().map(|c| *c as i32).collect(),
        purpose: ConsentPurpose::Wohnungssicherung as i32,
        form: ConsentForm::Written as i32,
        evidence_reference: "EW-2026-0001 (synthetisch)".to_owned(),
        valid_until: valid_until.to_owned(),
        art9_explicit: categories.contains(&DataCategory::Health),
        secrecy_release: true,
        replaces_consent_id: String::new(),
    }
}

/// Records a consent valid for 170 days and returns it.
pub async fn record_consent(hub: &TestHub, case: &Case, recipients: &[&str], categories: &[DataCategory]) -> Consent {
    let req = consent_request(case, recipients, categories, &hub.date_in_days(170));
    consents(hub, orgs::FACHSTELLE)
        .await
        .record_consent(req)
        .await
        .expect("RecordConsent")
        .into_inner()
        .consent
        .expect("RecordConsentResponse.consent")
}

/// The consents of a case, as the Fachstelle lists them.
pub async fn list_consents(hub: &TestHub, case_id: &str) -> Vec<Consent> {
    consents(hub, orgs::FACHSTELLE)
        .await
        .list_consents(ListConsentsRequest { case_id: case_id.to_owned() })
        .await
        .expect("ListConsents")
        .into_inner()
        .consents
}

/// Every referral of a case, as the Fachstelle lists them.
pub async fn case_referrals(hub: &TestHub, case_id: &str) -> Vec<ReferralSummary> {
    referrals(hub, orgs::FACHSTELLE)
        .await
        .list_referrals(ListReferralsRequest {
            mailbox: Mailbox::All as i32,
            case_id: case_id.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ListReferrals ALL")
        .into_inner()
        .referrals
}

/// A valid CreateReferral request, reply by in 14 days.
pub fn referral_request(
    hub: &TestHub,
    case_id: &str,
    recipient: &str,
    category: ReferralCategory,
    data: &[DataCategory],
) -> CreateReferralRequest {
    CreateReferralRequest {
        idempotency_key: idem(),
        case_id: case_id.to_owned(),
        recipient_organisation_id: recipient.to_owned(),
        category: category as i32,
        data_categories: data.iter().map(|c| *c as i32).collect(),
        message: "Bitte um Pruefung (synthetischer Testfall)".to_owned(),
        reply_by: hub.date_in_days(14),
        confirm_duplicate: true,
        confirm_closed_capacity: false,
    }
}

/// CreateReferral as the Fachstelle, returning the status on failure.
pub async fn try_create_referral(hub: &TestHub, req: CreateReferralRequest) -> Result<Referral, Status> {
    referrals(hub, orgs::FACHSTELLE)
        .await
        .create_referral(req)
        .await
        .map(|r| r.into_inner().referral.expect("CreateReferralResponse.referral"))
}

/// CreateReferral as the Fachstelle; panics on failure.
pub async fn create_referral(
    hub: &TestHub,
    case_id: &str,
    recipient: &str,
    category: ReferralCategory,
    data: &[DataCategory],
) -> Referral {
    try_create_referral(hub, referral_request(hub, case_id, recipient, category, data))
        .await
        .unwrap_or_else(|s| panic!("CreateReferral to {recipient}: {s:?}"))
}

/// A move request carrying exactly what the move requires (reason code for decline, fail and
/// cancel; reason text for reopen; an outcome for complete).
pub fn move_request(referral_id: &str, mv: ReferralMove) -> TransitionReferralRequest {
    let mut req = TransitionReferralRequest {
        idempotency_key: idem(),
        referral_id: referral_id.to_owned(),
        r#move: mv as i32,
        reason_code: ReasonCode::Unspecified as i32,
        reason_text: String::new(),
        outcome: None,
    };
    match mv {
        ReferralMove::Decline => {
            req.reason_code = ReasonCode::NotResponsible as i32;
            req.reason_text = "nicht zustaendig".to_owned();
        }
        ReferralMove::Fail => {
            req.reason_code = ReasonCode::HouseholdUnreachable as i32;
            req.reason_text = "Haushalt nicht erreichbar".to_owned();
        }
        ReferralMove::Cancel => {
            req.reason_code = ReasonCode::Duplicate as i32;
            req.reason_text = "doppelt angelegt".to_owned();
        }
        ReferralMove::Reopen => req.reason_text = "neue Unterlagen eingegangen".to_owned(),
        ReferralMove::Complete => {
            req.outcome = Some(CompletionOutcome {
                result: CompletionResult::ServiceProvided as i32,
                amount_cents: None,
                effective_date: String::new(),
                summary: "erledigt".to_owned(),
            });
        }
        _ => {}
    }
    req
}

/// Sends a move request as `org`.
pub async fn send_move(hub: &TestHub, org: &str, req: TransitionReferralRequest) -> Result<Referral, Status> {
    referrals(hub, org)
        .await
        .transition_referral(req)
        .await
        .map(|r| r.into_inner().referral.expect("TransitionReferralResponse.referral"))
}

/// Makes `mv` as `org` with the fields it requires.
pub async fn try_move(hub: &TestHub, org: &str, referral_id: &str, mv: ReferralMove) -> Result<Referral, Status> {
    send_move(hub, org, move_request(referral_id, mv)).await
}

/// Makes `mv` as `org`; panics on failure.
pub async fn do_move(hub: &TestHub, org: &str, referral_id: &str, mv: ReferralMove) -> Referral {
    try_move(hub, org, referral_id, mv)
        .await
        .unwrap_or_else(|s| panic!("{} by {org} on {referral_id}: {s:?}", move_name(mv)))
}

/// GetReferral as `org`.
pub async fn get_referral(hub: &TestHub, org: &str, referral_id: &str) -> Result<Referral, Status> {
    referrals(hub, org)
        .await
        .get_referral(GetReferralRequest { referral_id: referral_id.to_owned() })
        .await
        .map(|r| r.into_inner().referral.expect("GetReferralResponse.referral"))
}

/// GetReferral as `org`; panics on failure.
pub async fn referral(hub: &TestHub, org: &str, referral_id: &str) -> Referral {
    get_referral(hub, org, referral_id).await.unwrap_or_else(|s| panic!("GetReferral as {org}: {s:?}"))
}

/// The recipient's case view of a referral (an absent view reads as empty).
pub fn view(r: &Referral) -> CaseView {
    r.case_view.clone().unwrap_or_default()
}

/// Asserts that `res` failed with `code` and that the message contains every needle.
#[track_caller]
pub fn assert_status<T: Debug>(res: Result<T, Status>, code: Code, needles: &[&str]) -> Status {
    match res {
        Ok(v) => panic!("expected {code:?} containing {needles:?}, got success: {v:?}"),
        Err(s) => {
            assert_eq!(s.code(), code, "status code (message: {:?})", s.message());
            for n in needles {
                assert!(s.message().contains(n), "message {:?} should contain {n:?}", s.message());
            }
            s
        }
    }
}

/// The state of a referral.
pub fn state_of(r: &Referral) -> ReferralState {
    ReferralState::try_from(r.state).unwrap_or(ReferralState::Unspecified)
}

/// Short name of a state as the hub prints it, e.g. `REQUESTED`.
pub fn state_name(s: ReferralState) -> &'static str {
    s.as_str_name().trim_start_matches("REFERRAL_STATE_")
}

/// Short name of a move, e.g. `ACKNOWLEDGE`.
pub fn move_name(m: ReferralMove) -> &'static str {
    m.as_str_name().trim_start_matches("REFERRAL_MOVE_")
}

/// Short name of a data category, e.g. `ARREARS`.
pub fn category_name(c: DataCategory) -> &'static str {
    c.as_str_name().trim_start_matches("DATA_CATEGORY_")
}

/// Data categories of a repeated enum field.
pub fn categories(raw: &[i32]) -> Vec<DataCategory> {
    raw.iter().map(|c| DataCategory::try_from(*c).unwrap_or(DataCategory::Unspecified)).collect()
}

/// Moves of a repeated enum field.
pub fn moves(raw: &[i32]) -> Vec<ReferralMove> {
    raw.iter().map(|m| ReferralMove::try_from(*m).unwrap_or(ReferralMove::Unspecified)).collect()
}

/// The moves that lead from REQUESTED into `state`, with the side that makes each.
pub fn path_to(state: ReferralState) -> Vec<(Side, ReferralMove)> {
    use ReferralMove as M;
    use Side::{Recipient as R, Sender as S};
    match state {
        ReferralState::Requested => vec![],
        ReferralState::Received => vec![(R, M::Acknowledge)],
        ReferralState::Accepted => vec![(R, M::Acknowledge), (R, M::Accept)],
        ReferralState::Declined => vec![(R, M::Acknowledge), (R, M::Decline)],
        ReferralState::InProgress => vec![(R, M::Acknowledge), (R, M::Accept), (R, M::Start)],
        ReferralState::OnHold => vec![(R, M::Acknowledge), (R, M::Accept), (R, M::Start), (R, M::Hold)],
        ReferralState::Completed => vec![(R, M::Acknowledge), (R, M::Accept), (R, M::Start), (R, M::Complete)],
        ReferralState::Failed => vec![(R, M::Acknowledge), (R, M::Accept), (R, M::Start), (R, M::Fail)],
        ReferralState::Cancelled => vec![(S, M::Cancel)],
        ReferralState::Unspecified => panic!("no path to UNSPECIFIED"),
    }
}

/// Side of a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The Fachstelle that sent it.
    Sender,
    /// The partner it is addressed to.
    Recipient,
}

/// Drives `referral_id` (sent by the Fachstelle to `recipient`) from REQUESTED into `state`.
pub async fn drive_to(hub: &TestHub, referral_id: &str, recipient: &str, state: ReferralState) -> Referral {
    let mut last = referral(hub, orgs::FACHSTELLE, referral_id).await;
    for (side, mv) in path_to(state) {
        let org = if side == Side::Sender { orgs::FACHSTELLE } else { recipient };
        last = do_move(hub, org, referral_id, mv).await;
    }
    assert_eq!(state_of(&last), state, "driving {referral_id} into {}", state_name(state));
    last
}

/// Subscribes to `org`'s events after `after`.
pub async fn subscribe(hub: &TestHub, org: &str, after: u64) -> Streaming<SubscribeResponse> {
    events(hub, org)
        .await
        .subscribe(SubscribeRequest { after_cursor: after })
        .await
        .unwrap_or_else(|s| panic!("Subscribe as {org}: {s:?}"))
        .into_inner()
}

/// The next event of a stream; fails the test if none arrives within [`EVENT_TIMEOUT`].
pub async fn next_event(stream: &mut Streaming<SubscribeResponse>) -> Event {
    match tokio::time::timeout(EVENT_TIMEOUT, stream.message()).await {
        Err(_) => panic!("no event within {EVENT_TIMEOUT:?}"),
        Ok(Err(s)) => panic!("event stream failed: {s:?}"),
        Ok(Ok(None)) => panic!("event stream ended"),
        Ok(Ok(Some(m))) => m.event.expect("SubscribeResponse.event"),
    }
}

/// Reads events until one matches `stop` (included); fails on timeout.
pub async fn events_until(stream: &mut Streaming<SubscribeResponse>, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        let e = next_event(stream).await;
        let done = stop(&e);
        out.push(e);
        if done {
            return out;
        }
    }
}

/// The kind of an event.
pub fn kind_of(e: &Event) -> EventKind {
    EventKind::try_from(e.kind).unwrap_or(EventKind::Unspecified)
}

/// Matches the event of `kind` about `referral_id`.
pub fn is_event(e: &Event, kind: EventKind, referral_id: &str) -> bool {
    kind_of(e) == kind && e.referral_id == referral_id
}

/// Asserts cursors strictly increase.
#[track_caller]
pub fn assert_increasing(events: &[Event]) {
    for w in events.windows(2) {
        assert!(w[0].cursor < w[1].cursor, "cursors must strictly increase: {} then {}", w[0].cursor, w[1].cursor);
    }
}

/// Seconds and nanos of a timestamp, for ordering.
pub fn ts(t: &Option<prost_types::Timestamp>) -> (i64, i32) {
    let t = t.as_ref().expect("timestamp set");
    (t.seconds, t.nanos)
}

/// The UTC calendar day of a timestamp, "YYYY-MM-DD".
pub fn day_of(t: &Option<prost_types::Timestamp>) -> String {
    let days = ts(t).0.div_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), after H. Hinnant.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A random referral id that does not exist.
pub fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An early arrears notice without the tenant's consent: pseudonymous (reference, district, rent,
/// ledger, stage), no identifying data.
pub fn pseudonymous_notice(reference: &str) -> ArrearsNotice {
    ArrearsNotice {
        tenancy_reference: reference.into(),
        stadtbezirk: Stadtbezirk::Nord as i32,
        rent: Some(RentComponents {
            base_rent_cents: 50_000,
            service_charge_advance_cents: 10_000,
            heating_advance_cents: 5_000,
        }),
        ledger: vec![
            LedgerEntry { due_date: "2025-11-04".into(), amount_due_cents: 65_000, amount_paid_cents: 0 },
            LedgerEntry { due_date: "2025-12-03".into(), amount_due_cents: 65_000, amount_paid_cents: 10_000 },
        ],
        stage: ThreatStage::Mahnung as i32,
        stage_date: "2025-12-10".into(),
        ..Default::default()
    }
}

/// An early arrears notice with the tenant's consent, name and address (enough to open a case from).
pub fn consented_notice(reference: &str) -> ArrearsNotice {
    ArrearsNotice {
        tenant_consented: true,
        consent_evidence: "Antwortabschnitt 2025-12-10 (synthetisch)".into(),
        tenant: Some(TenantContact {
            family_name: "Beispiel".into(),
            given_name: "Berta".into(),
            street: "Testallee".into(),
            house_number: "1".into(),
            postal_code: "30159".into(),
            city: "Hannover".into(),
            ..Default::default()
        }),
        ..pseudonymous_notice(reference)
    }
}

/// A court notice (MiZi) of an eviction lawsuit against the demo housing company's tenant, served on `served`.
pub fn court_notice(file: &str, served: &str) -> CourtNotice {
    CourtNotice {
        court_file_number: file.into(),
        claim_received_date: "2026-01-05".into(),
        claim_served_date: served.into(),
        tenants: vec![TenantContact {
            family_name: "Muster".into(),
            given_name: "Max".into(),
            street: "Probeweg".into(),
            house_number: "2".into(),
            postal_code: "30453".into(),
            city: "Hannover".into(),
            ..Default::default()
        }],
        landlord_name: "Wohnbau Nord eG (Demo)".into(),
        landlord_organisation_id: orgs::WOHNBAU.into(),
        monthly_rent_cents: 70_000,
        arrears_claimed_cents: 140_000,
        stadtbezirk: Stadtbezirk::Ricklingen as i32,
        tenancy_reference: format!("REF-{file}"),
        ..Default::default()
    }
}

/// Closes `case_id` (help refused, open items confirmed) and erases it, as the Fachstelle.
pub async fn close_and_erase(hub: &TestHub, case_id: &str) {
    let mut cs = cases(hub, orgs::FACHSTELLE).await;
    cs.close_case(CloseCaseRequest {
        idempotency_key: idem(),
        case_id: case_id.to_owned(),
        outcome: CaseOutcome::HilfeAbgelehnt as i32,
        rescue_means: RescueMeans::Unspecified as i32,
        note: String::new(),
        confirm_open_items: true,
    })
    .await
    .expect("CloseCase");
    cs.erase_case(EraseCaseRequest { idempotency_key: idem(), case_id: case_id.to_owned() }).await.expect("EraseCase");
}
