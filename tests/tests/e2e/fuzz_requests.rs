//! Fuzzing of the gRPC request validation: mutated protobuf bytes, decoded with prost as
//! tonic would decode them, handed to the hub's service implementation (`hub::grpc::services::Api`)
//! in-process, with the caller identity in the request extensions exactly where the mTLS interceptor
//! (`hub::grpc::identity::identify`) puts it.
//!
//! An input is `[rpc][flags][protobuf message]`: `rpc` indexes [`RPCS`] (every unary RPC of the
//! hub's services, and Subscribe), `flags` picks the caller (bits 0-1: the Fachstelle, a partner
//! (the Jobcenter), the housing company, the operator), whether the decoded idempotency key is
//! kept (bit 2; otherwise a fresh one is set, so a mutation is not answered from the idempotency
//! table but validated), and whether no staff member is named (bit 3).
//!
//! Properties: no input panics, and no input gets `INTERNAL` or `UNKNOWN`: every bad request is
//! answered with a client error (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION,
//! ALREADY_EXISTS, ...).
//!
//! The hub's state moves with the run (referrals change state, organisations are registered). The
//! objects the seeds stand on are protected so the other RPCs keep reaching their deeper checks: a
//! CloseCase of the main case, a RevokeConsent of its consent, and a Deactivate/UpdateOrganisation of
//! a calling organisation are redirected to spare objects made for that purpose.
//!
//! Not covered: StreamArrearsNotices (a client stream cannot be built in-process; its items go
//! through the same conversion as SubmitArrearsNotice).
//!
//! Inputs: an entry of `tests/fuzz/corpus/requests/` (regenerate with `HUB_FUZZ_UPDATE_CORPUS=1`) or a
//! seed with the ids of live objects made at run time, and a list of steps. A step rarely changes the RPC
//! or the flags, and mutates the message: mostly with a [`WireOp`] that understands the protobuf wire
//! format (a field's value replaced, a field duplicated, dropped, swapped or added, in a nested message
//! too, the lengths kept consistent so the result usually decodes), else with a byte mutation. 1,500
//! cases (`PROPTEST_CASES`), fixed seed (`PROPTEST_RNG_SEED`); see `tests/fuzz/mutations.rs` and
//! `scripts/fuzz.sh`.

use crate::common;
use crate::mutations;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use hub::domain::certificate::Serial;
use hub::domain::ids::{OrgId, StaffMember};
use hub::grpc::identity::Identity;
use hub::grpc::services::Api;
use hub::service::Principal;
use hub_proto::v1 as pb;
use hub_testkit::{TestHub, frau_k_details, orgs};
use mutations::{ByteOp, Bytes, Step};
use pb::case_service_server::CaseService as _;
use pb::consent_service_server::ConsentService as _;
use pb::delivery_service_server::DeliveryService as _;
use pb::directory_service_server::DirectoryService as _;
use pb::event_service_server::EventService as _;
use pb::notice_service_server::NoticeService as _;
use pb::referral_service_server::ReferralService as _;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use prost::Message;
use tonic::{Code, Request, Response, Status};

/// The RPCs, by the selector byte of an input. Append only: the committed corpus names them by index.
const RPCS: &[&str] = &[
    "RegisterOrganisation",
    "UpdateOrganisation",
    "DeactivateOrganisation",
    "ReactivateOrganisation",
    "GetOrganisation",
    "ListOrganisations",
    "OpenCase",
    "UpdateCase",
    "RecordThreatStage",
    "CloseCase",
    "GetCase",
    "ListCases",
    "RecordConsent",
    "RevokeConsent",
    "ListConsents",
    "CreateReferral",
    "GetReferral",
    "ListReferrals",
    "TransitionReferral",
    "AddNote",
    "ListNotes",
    "SubmitArrearsNotice",
    "ListNoticeStatuses",
    "RecordCourtNotice",
    "ListOpenNotices",
    "TakeUpNotice",
    "Subscribe",
    "ListDeliveries",
    "RequeueDelivery",
    "RestrictProcessing",
    "LiftRestriction",
    "EraseCase",
    "ChangeReplyBy",
];

fn rpc_index(name: &str) -> u8 {
    RPCS.iter().position(|r| *r == name).expect("an RPC of the table") as u8
}

/// The callers, by flags bits 0-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Fachstelle,
    Partner,
    Landlord,
    Operator,
}

impl Who {
    fn from_flags(flags: u8) -> Self {
        match flags & 3 {
            0 => Who::Fachstelle,
            1 => Who::Partner,
            2 => Who::Landlord,
            _ => Who::Operator,
        }
    }

    fn flags(self) -> u8 {
        match self {
            Who::Fachstelle => 0,
            Who::Partner => 1,
            Who::Landlord => 2,
            Who::Operator => 3,
        }
    }

    fn principal(self) -> Principal {
        let org = |id: &str| Principal::Org(OrgId::parse(id).expect("a standard organisation id"));
        match self {
            Who::Fachstelle => org(orgs::FACHSTELLE),
            Who::Partner => org(orgs::JOBCENTER),
            Who::Landlord => org(orgs::WOHNBAU),
            Who::Operator => Principal::Operator,
        }
    }
}

/// The organisations that call; never deactivated or rewritten by a fuzzed request.
const CALLERS: &[&str] = &[orgs::FACHSTELLE, orgs::JOBCENTER, orgs::WOHNBAU];
/// Registered at set-up to absorb Deactivate/UpdateOrganisation of a calling organisation.
const SPARE_ORG: &str = "fuzz-spare-partner";
/// An email partner, so the outbox has a delivery.
const EMAIL_ORG: &str = "fuzz-email-partner";

/// The ids the seed requests refer to.
#[derive(Debug, Clone)]
struct Ids {
    case: String,
    spare_case: String,
    person: String,
    consent: String,
    spare_consent: String,
    referral: String,
    email_referral: String,
    notice: String,
    delivery: String,
    today: String,
    reply_by: String,
    valid_until: String,
}

impl Ids {
    /// Fixed ids of no live object: the committed seeds (near-valid requests).
    fn fixed() -> Self {
        let id = |n: u32| format!("{n:08x}-0000-4000-8000-00000000{n:04x}");
        Ids {
            case: id(1),
            spare_case: id(2),
            person: id(3),
            consent: id(4),
            spare_consent: id(5),
            referral: id(6),
            email_referral: id(7),
            notice: id(8),
            delivery: id(9),
            today: "2026-01-09".into(),
            reply_by: "2026-01-23".into(),
            valid_until: "2026-06-28".into(),
        }
    }
}

fn idem(n: u32) -> String {
    format!("fuzz-seed-{n:04}")
}

fn stage_entry() -> pb::ThreatStageEntry {
    pb::ThreatStageEntry {
        stage: pb::ThreatStage::Mahnung as i32,
        date: "2026-01-02".into(),
        source: "Mahnschreiben (synthetisch)".into(),
        ..Default::default()
    }
}

fn email_spec() -> pb::OrganisationSpec {
    pb::OrganisationSpec {
        id: EMAIL_ORG.into(),
        name: "Beratung per E-Mail (synthetisch)".into(),
        kind: pb::OrganisationKind::SocialWorkProvider as i32,
        accepted_categories: vec![pb::ReferralCategory::SocialPedagogicalSupport as i32],
        channel: pb::Channel::Email as i32,
        channel_address: "team@fuzz.example.org".into(),
        office_hours: "Mo-Fr 09:00-12:00".into(),
    }
}

fn spare_spec() -> pb::OrganisationSpec {
    pb::OrganisationSpec {
        id: SPARE_ORG.into(),
        name: "Ersatzpartner (synthetisch)".into(),
        kind: pb::OrganisationKind::DebtCounselling as i32,
        accepted_categories: vec![pb::ReferralCategory::DebtCounselling as i32],
        channel: pb::Channel::Grpc as i32,
        channel_address: String::new(),
        office_hours: "Di 09:00-12:00".into(),
    }
}

fn arrears_notice(reference: &str) -> pb::ArrearsNotice {
    pb::ArrearsNotice {
        tenancy_reference: reference.into(),
        stadtbezirk: pb::Stadtbezirk::Nord as i32,
        rent: Some(pb::RentComponents {
            base_rent_cents: 50_000,
            service_charge_advance_cents: 10_000,
            heating_advance_cents: 5_000,
        }),
        ledger: vec![pb::LedgerEntry { due_date: "2025-11-04".into(), amount_due_cents: 65_000, amount_paid_cents: 0 }],
        stage: pb::ThreatStage::Mahnung as i32,
        stage_date: "2025-12-10".into(),
        tenant_consented: true,
        consent_evidence: "Antwortabschnitt 2025-12-10 (synthetisch)".into(),
        tenant: Some(pb::TenantContact {
            family_name: "Beispiel".into(),
            given_name: "Berta".into(),
            street: "Testallee".into(),
            house_number: "1".into(),
            postal_code: "30159".into(),
            city: "Hannover".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn consent_request(ids: &Ids, recipients: &[&str], n: u32) -> pb::RecordConsentRequest {
    use pb::DataCategory as D;
    pb::RecordConsentRequest {
        idempotency_key: idem(n),
        case_id: ids.case.clone(),
        person_ids: vec![ids.person.clone()],
        recipient_organisation_ids: recipients.iter().map(|s| (*s).to_owned()).collect(),
        categories: [D::Identity, D::Contact, D::Tenancy, D::Arrears, D::Health].iter().map(|c| *c as i32).collect(),
        purpose: pb::ConsentPurpose::Wohnungssicherung as i32,
        form: pb::ConsentForm::Written as i32,
        evidence_reference: "EW-2026-0001 (synthetisch)".into(),
        valid_until: ids.valid_until.clone(),
        art9_explicit: true,
        secrecy_release: true,
        replaces_consent_id: String::new(),
    }
}

/// One valid request per RPC, by its natural caller, as `(rpc, flags, message bytes)`.
fn seeds_of(ids: &Ids) -> Vec<(u8, u8, Vec<u8>)> {
    use pb::DataCategory as D;
    let mut out: Vec<(u8, u8, Vec<u8>)> = Vec::new();
    let mut add = |rpc: &str, who: Who, bytes: Vec<u8>| out.push((rpc_index(rpc), who.flags(), bytes));
    let mut registered = spare_spec();
    registered.id = "fuzz-new-partner".into();
    add(
        "RegisterOrganisation",
        Who::Operator,
        pb::RegisterOrganisationRequest { idempotency_key: idem(1), organisation: Some(registered) }.encode_to_vec(),
    );
    let mut updated = spare_spec();
    updated.office_hours = "Mo-Do 08:00-12:00; Fr nach Vereinbarung".into();
    add(
        "UpdateOrganisation",
        Who::Operator,
        pb::UpdateOrganisationRequest { idempotency_key: idem(2), organisation: Some(updated) }.encode_to_vec(),
    );
    add(
        "DeactivateOrganisation",
        Who::Operator,
        pb::DeactivateOrganisationRequest { idempotency_key: idem(3), organisation_id: SPARE_ORG.into() }
            .encode_to_vec(),
    );
    add(
        "ReactivateOrganisation",
        Who::Operator,
        pb::ReactivateOrganisationRequest { idempotency_key: idem(4), organisation_id: SPARE_ORG.into() }
            .encode_to_vec(),
    );
    add(
        "GetOrganisation",
        Who::Partner,
        pb::GetOrganisationRequest { organisation_id: orgs::SCHULDNERBERATUNG.into() }.encode_to_vec(),
    );
    add(
        "ListOrganisations",
        Who::Partner,
        pb::ListOrganisationsRequest { kind: pb::OrganisationKind::Jobcenter as i32, include_inactive: true }
            .encode_to_vec(),
    );
    add(
        "OpenCase",
        Who::Fachstelle,
        pb::OpenCaseRequest {
            idempotency_key: idem(5),
            details: Some(frau_k_details()),
            initial_stage: Some(stage_entry()),
        }
        .encode_to_vec(),
    );
    let mut details = frau_k_details();
    details.persons[0].person_id = ids.person.clone();
    details.counselling_note = "SYNTH: Termin vereinbart".into();
    add(
        "UpdateCase",
        Who::Fachstelle,
        pb::UpdateCaseRequest { idempotency_key: idem(6), case_id: ids.case.clone(), details: Some(details) }
            .encode_to_vec(),
    );
    add(
        "RecordThreatStage",
        Who::Fachstelle,
        pb::RecordThreatStageRequest {
            idempotency_key: idem(7),
            case_id: ids.case.clone(),
            entry: Some(stage_entry()),
        }
        .encode_to_vec(),
    );
    add(
        "CloseCase",
        Who::Fachstelle,
        pb::CloseCaseRequest {
            idempotency_key: idem(8),
            case_id: ids.spare_case.clone(),
            outcome: pb::CaseOutcome::WohnungErhalten as i32,
            rescue_means: pb::RescueMeans::Sgb2Loan as i32,
            note: "SYNTH: Rückstand ausgeglichen".into(),
            confirm_open_items: true,
        }
        .encode_to_vec(),
    );
    add("GetCase", Who::Fachstelle, pb::GetCaseRequest { case_id: ids.case.clone() }.encode_to_vec());
    add("ListCases", Who::Fachstelle, pb::ListCasesRequest { status: pb::CaseStatus::Open as i32 }.encode_to_vec());
    add("RecordConsent", Who::Fachstelle, consent_request(ids, &[orgs::SCHULDNERBERATUNG], 9).encode_to_vec());
    add(
        "RevokeConsent",
        Who::Fachstelle,
        pb::RevokeConsentRequest {
            idempotency_key: idem(10),
            consent_id: ids.spare_consent.clone(),
            note: "Widerruf telefonisch (synthetisch)".into(),
        }
        .encode_to_vec(),
    );
    add("ListConsents", Who::Fachstelle, pb::ListConsentsRequest { case_id: ids.case.clone() }.encode_to_vec());
    add(
        "CreateReferral",
        Who::Fachstelle,
        pb::CreateReferralRequest {
            idempotency_key: idem(11),
            case_id: ids.case.clone(),
            recipient_organisation_id: orgs::JOBCENTER.into(),
            category: pb::ReferralCategory::RentDebtTakeoverSgb2 as i32,
            data_categories: vec![D::Identity as i32, D::Arrears as i32, D::Tenancy as i32],
            message: "Bitte Darlehen nach §22 Abs. 8 SGB II prüfen (synthetisch).".into(),
            reply_by: ids.reply_by.clone(),
            confirm_duplicate: false,
            confirm_closed_capacity: false,
        }
        .encode_to_vec(),
    );
    add("GetReferral", Who::Partner, pb::GetReferralRequest { referral_id: ids.referral.clone() }.encode_to_vec());
    add(
        "ListReferrals",
        Who::Fachstelle,
        pb::ListReferralsRequest {
            mailbox: pb::Mailbox::Outbox as i32,
            states: vec![pb::ReferralState::Requested as i32],
            partner_organisation_id: orgs::JOBCENTER.into(),
            overdue_only: false,
            min_age_days: 0,
            case_id: ids.case.clone(),
            page_size: 50,
            page_token: String::new(),
        }
        .encode_to_vec(),
    );
    add(
        "TransitionReferral",
        Who::Partner,
        pb::TransitionReferralRequest {
            idempotency_key: idem(12),
            referral_id: ids.referral.clone(),
            r#move: pb::ReferralMove::Acknowledge as i32,
            ..Default::default()
        }
        .encode_to_vec(),
    );
    add(
        "TransitionReferral",
        Who::Partner,
        pb::TransitionReferralRequest {
            idempotency_key: idem(13),
            referral_id: ids.referral.clone(),
            r#move: pb::ReferralMove::Complete as i32,
            reason_code: 0,
            reason_text: String::new(),
            outcome: Some(pb::CompletionOutcome {
                result: pb::CompletionResult::ApprovedLoan as i32,
                amount_cents: Some(156_000),
                effective_date: "2026-01-28".into(),
                summary: "Darlehen bewilligt (synthetisch)".into(),
            }),
        }
        .encode_to_vec(),
    );
    add(
        "TransitionReferral",
        Who::Partner,
        pb::TransitionReferralRequest {
            idempotency_key: idem(14),
            referral_id: ids.referral.clone(),
            r#move: pb::ReferralMove::Decline as i32,
            reason_code: pb::ReasonCode::NotResponsible as i32,
            reason_text: "Zuständig ist das Sozialamt (synthetisch)".into(),
            outcome: None,
        }
        .encode_to_vec(),
    );
    add(
        "AddNote",
        Who::Partner,
        pb::AddNoteRequest {
            idempotency_key: idem(15),
            referral_id: ids.referral.clone(),
            text: "Unterlagen angefordert (synthetisch)".into(),
        }
        .encode_to_vec(),
    );
    add("ListNotes", Who::Fachstelle, pb::ListNotesRequest { referral_id: ids.referral.clone() }.encode_to_vec());
    add(
        "SubmitArrearsNotice",
        Who::Landlord,
        pb::SubmitArrearsNoticeRequest { idempotency_key: idem(16), notice: Some(arrears_notice("WN-FUZZ-1")) }
            .encode_to_vec(),
    );
    add(
        "ListNoticeStatuses",
        Who::Landlord,
        pb::ListNoticeStatusesRequest { tenancy_references: vec!["WN-FUZZ-1".into(), "WN-4711-03".into()] }
            .encode_to_vec(),
    );
    add(
        "RecordCourtNotice",
        Who::Fachstelle,
        pb::RecordCourtNoticeRequest {
            idempotency_key: idem(17),
            notice: Some(common::court_notice("514 C 77/26", "2026-01-07")),
        }
        .encode_to_vec(),
    );
    add("ListOpenNotices", Who::Fachstelle, pb::ListOpenNoticesRequest { limit: 20 }.encode_to_vec());
    add(
        "TakeUpNotice",
        Who::Fachstelle,
        pb::TakeUpNoticeRequest {
            idempotency_key: idem(18),
            notice_id: ids.notice.clone(),
            details: None,
            ..Default::default()
        }
        .encode_to_vec(),
    );
    add("Subscribe", Who::Partner, pb::SubscribeRequest { after_cursor: 0 }.encode_to_vec());
    add(
        "ListDeliveries",
        Who::Fachstelle,
        pb::ListDeliveriesRequest {
            status: pb::DeliveryStatus::Pending as i32,
            organisation_id: EMAIL_ORG.into(),
            referral_id: ids.email_referral.clone(),
            page_size: 10,
        }
        .encode_to_vec(),
    );
    add(
        "RequeueDelivery",
        Who::Fachstelle,
        pb::RequeueDeliveryRequest { delivery_id: ids.delivery.clone(), idempotency_key: idem(19) }.encode_to_vec(),
    );
    add(
        "RestrictProcessing",
        Who::Fachstelle,
        pb::RestrictProcessingRequest {
            idempotency_key: idem(40),
            case_id: ids.spare_case.clone(),
            reason: "SYNTH: Richtigkeit bestritten".into(),
        }
        .encode_to_vec(),
    );
    add(
        "LiftRestriction",
        Who::Fachstelle,
        pb::LiftRestrictionRequest { idempotency_key: idem(41), case_id: ids.spare_case.clone() }.encode_to_vec(),
    );
    add(
        "EraseCase",
        Who::Fachstelle,
        pb::EraseCaseRequest { idempotency_key: idem(42), case_id: ids.spare_case.clone() }.encode_to_vec(),
    );
    add(
        "ChangeReplyBy",
        Who::Fachstelle,
        pb::ChangeReplyByRequest {
            idempotency_key: idem(43),
            referral_id: ids.referral.clone(),
            reply_by: "2026-02-20".into(),
            message: "Bitte bis dahin (synthetisch)".into(),
        }
        .encode_to_vec(),
    );
    out
}

fn input(rpc: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![rpc, flags];
    v.extend_from_slice(body);
    v
}

/// How one call is made: who calls, with which key, and the objects that are protected.
struct Call<'a> {
    api: &'a Api,
    who: Who,
    keep_key: bool,
    staff: bool,
    counter: &'a Cell<u64>,
    ids: &'a Ids,
    /// The referral that TransitionReferral and AddNote of the seed referral go to: replaced by a
    /// fresh one when it reaches a final state, so the moves keep being checked against live states.
    current: &'a RefCell<String>,
}

impl Call<'_> {
    fn request<M>(&self, msg: M) -> Request<M> {
        let mut req = Request::new(msg);
        let staff = self.staff.then(|| StaffMember::parse("Sachbearbeitung Fuzz").expect("a staff name"));
        // A serial no certificate has: never revoked.
        let serial = Serial::parse("f022").expect("a serial");
        req.extensions_mut().insert(Identity { principal: self.who.principal(), serial, staff });
        req
    }

    /// A fresh idempotency key, unless the flags keep the decoded one.
    fn key(&self, key: &mut String) {
        if !self.keep_key {
            self.counter.set(self.counter.get() + 1);
            *key = format!("fuzz-{:012}", self.counter.get());
        }
    }

    /// Runs one RPC on the decoded message; a decode error when prost refuses the bytes (tonic
    /// refuses the request before the hub sees anything).
    async fn run<M, R, F, Fut>(
        &self,
        body: &[u8],
        prepare: impl FnOnce(&Self, &mut M),
        call: F,
    ) -> Result<Result<(), Status>, prost::DecodeError>
    where
        M: Message + Default,
        F: FnOnce(Request<M>) -> Fut,
        Fut: Future<Output = Result<Response<R>, Status>>,
    {
        let mut msg = M::decode(body)?;
        prepare(self, &mut msg);
        Ok(call(self.request(msg)).await.map(|_| ()))
    }

    /// The seed referral's id becomes the current referral's.
    fn redirect(&self, referral_id: &mut String) {
        if Self::same_id(referral_id, &self.ids.referral) {
            *referral_id = self.current.borrow().clone();
        }
    }

    /// After a move: when the current referral has no move left, a fresh one replaces it.
    async fn renew_referral_if_final(&self) {
        let partner = Call { who: Who::Partner, keep_key: false, ..*self };
        let id = self.current.borrow().clone();
        let view = self.api.get_referral(partner.request(pb::GetReferralRequest { referral_id: id })).await;
        let done = view.map(|r| r.into_inner().referral.is_none_or(|r| r.allowed_moves.is_empty())).unwrap_or(true);
        if !done {
            return;
        }
        let fs = Call { who: Who::Fachstelle, keep_key: false, ..*self };
        let mut req = referral_request(self.ids, orgs::JOBCENTER, pb::ReferralCategory::RentDebtTakeoverSgb2);
        fs.key(&mut req.idempotency_key);
        if let Ok(r) = self.api.create_referral(fs.request(req)).await
            && let Some(r) = r.into_inner().referral
        {
            *self.current.borrow_mut() = r.id;
        }
    }

    fn same_id(a: &str, b: &str) -> bool {
        let parse = |s: &str| uuid::Uuid::parse_str(s.trim()).ok();
        a.trim() == b || (parse(a).is_some() && parse(a) == parse(b))
    }

    async fn dispatch(&self, rpc: u8, body: &[u8]) -> Result<Result<(), Status>, prost::DecodeError> {
        let api = self.api;
        let ids = self.ids;
        match RPCS.get(usize::from(rpc)).copied().unwrap_or("") {
            "RegisterOrganisation" => {
                self.run(
                    body,
                    |c, m: &mut pb::RegisterOrganisationRequest| c.key(&mut m.idempotency_key),
                    |r| api.register_organisation(r),
                )
                .await
            }
            "UpdateOrganisation" => {
                self.run(
                    body,
                    |c, m: &mut pb::UpdateOrganisationRequest| {
                        c.key(&mut m.idempotency_key);
                        if let Some(o) = &mut m.organisation
                            && CALLERS.contains(&o.id.trim())
                        {
                            o.id = SPARE_ORG.into();
                        }
                    },
                    |r| api.update_organisation(r),
                )
                .await
            }
            "DeactivateOrganisation" => {
                self.run(
                    body,
                    |c, m: &mut pb::DeactivateOrganisationRequest| {
                        c.key(&mut m.idempotency_key);
                        if CALLERS.contains(&m.organisation_id.trim()) {
                            m.organisation_id = SPARE_ORG.into();
                        }
                    },
                    |r| api.deactivate_organisation(r),
                )
                .await
            }
            "ReactivateOrganisation" => {
                self.run(
                    body,
                    |c, m: &mut pb::ReactivateOrganisationRequest| c.key(&mut m.idempotency_key),
                    |r| api.reactivate_organisation(r),
                )
                .await
            }
            "GetOrganisation" => {
                self.run(body, |_, _: &mut pb::GetOrganisationRequest| {}, |r| api.get_organisation(r)).await
            }
            "ListOrganisations" => {
                self.run(body, |_, _: &mut pb::ListOrganisationsRequest| {}, |r| api.list_organisations(r)).await
            }
            "OpenCase" => {
                self.run(body, |c, m: &mut pb::OpenCaseRequest| c.key(&mut m.idempotency_key), |r| api.open_case(r))
                    .await
            }
            "UpdateCase" => {
                self.run(body, |c, m: &mut pb::UpdateCaseRequest| c.key(&mut m.idempotency_key), |r| api.update_case(r))
                    .await
            }
            "RecordThreatStage" => {
                self.run(
                    body,
                    |c, m: &mut pb::RecordThreatStageRequest| c.key(&mut m.idempotency_key),
                    |r| api.record_threat_stage(r),
                )
                .await
            }
            "CloseCase" => {
                self.run(
                    body,
                    |c, m: &mut pb::CloseCaseRequest| {
                        c.key(&mut m.idempotency_key);
                        if Self::same_id(&m.case_id, &ids.case) {
                            m.case_id = ids.spare_case.clone();
                        }
                    },
                    |r| api.close_case(r),
                )
                .await
            }
            // The main case stays unrestricted, so the other RPCs keep disclosing; a spare case takes these.
            "RestrictProcessing" => {
                self.run(
                    body,
                    |c, m: &mut pb::RestrictProcessingRequest| {
                        c.key(&mut m.idempotency_key);
                        if Self::same_id(&m.case_id, &ids.case) {
                            m.case_id = ids.spare_case.clone();
                        }
                    },
                    |r| api.restrict_processing(r),
                )
                .await
            }
            "LiftRestriction" => {
                self.run(
                    body,
                    |c, m: &mut pb::LiftRestrictionRequest| {
                        c.key(&mut m.idempotency_key);
                        if Self::same_id(&m.case_id, &ids.case) {
                            m.case_id = ids.spare_case.clone();
                        }
                    },
                    |r| api.lift_restriction(r),
                )
                .await
            }
            // Erasure is final: never of the main case.
            "EraseCase" => {
                self.run(
                    body,
                    |c, m: &mut pb::EraseCaseRequest| {
                        c.key(&mut m.idempotency_key);
                        if Self::same_id(&m.case_id, &ids.case) {
                            m.case_id = ids.spare_case.clone();
                        }
                    },
                    |r| api.erase_case(r),
                )
                .await
            }
            "GetCase" => self.run(body, |_, _: &mut pb::GetCaseRequest| {}, |r| api.get_case(r)).await,
            "ListCases" => self.run(body, |_, _: &mut pb::ListCasesRequest| {}, |r| api.list_cases(r)).await,
            "RecordConsent" => {
                self.run(
                    body,
                    |c, m: &mut pb::RecordConsentRequest| c.key(&mut m.idempotency_key),
                    |r| api.record_consent(r),
                )
                .await
            }
            "RevokeConsent" => {
                self.run(
                    body,
                    |c, m: &mut pb::RevokeConsentRequest| {
                        c.key(&mut m.idempotency_key);
                        if Self::same_id(&m.consent_id, &ids.consent) {
                            m.consent_id = ids.spare_consent.clone();
                        }
                    },
                    |r| api.revoke_consent(r),
                )
                .await
            }
            "ListConsents" => self.run(body, |_, _: &mut pb::ListConsentsRequest| {}, |r| api.list_consents(r)).await,
            "CreateReferral" => {
                self.run(
                    body,
                    |c, m: &mut pb::CreateReferralRequest| c.key(&mut m.idempotency_key),
                    |r| api.create_referral(r),
                )
                .await
            }
            "GetReferral" => self.run(body, |_, _: &mut pb::GetReferralRequest| {}, |r| api.get_referral(r)).await,
            "ListReferrals" => {
                self.run(body, |_, _: &mut pb::ListReferralsRequest| {}, |r| api.list_referrals(r)).await
            }
            "TransitionReferral" => {
                self.run(
                    body,
                    |c, m: &mut pb::TransitionReferralRequest| {
                        c.key(&mut m.idempotency_key);
                        c.redirect(&mut m.referral_id);
                    },
                    |r| api.transition_referral(r),
                )
                .await
            }
            "AddNote" => {
                self.run(
                    body,
                    |c, m: &mut pb::AddNoteRequest| {
                        c.key(&mut m.idempotency_key);
                        c.redirect(&mut m.referral_id);
                    },
                    |r| api.add_note(r),
                )
                .await
            }
            "ListNotes" => self.run(body, |_, _: &mut pb::ListNotesRequest| {}, |r| api.list_notes(r)).await,
            "ChangeReplyBy" => {
                self.run(
                    body,
                    |c, m: &mut pb::ChangeReplyByRequest| {
                        c.key(&mut m.idempotency_key);
                        c.redirect(&mut m.referral_id);
                    },
                    |r| api.change_reply_by(r),
                )
                .await
            }
            "SubmitArrearsNotice" => {
                self.run(
                    body,
                    |c, m: &mut pb::SubmitArrearsNoticeRequest| c.key(&mut m.idempotency_key),
                    |r| api.submit_arrears_notice(r),
                )
                .await
            }
            "ListNoticeStatuses" => {
                self.run(body, |_, _: &mut pb::ListNoticeStatusesRequest| {}, |r| api.list_notice_statuses(r)).await
            }
            "RecordCourtNotice" => {
                self.run(
                    body,
                    |c, m: &mut pb::RecordCourtNoticeRequest| c.key(&mut m.idempotency_key),
                    |r| api.record_court_notice(r),
                )
                .await
            }
            "ListOpenNotices" => {
                self.run(body, |_, _: &mut pb::ListOpenNoticesRequest| {}, |r| api.list_open_notices(r)).await
            }
            "TakeUpNotice" => {
                self.run(
                    body,
                    |c, m: &mut pb::TakeUpNoticeRequest| c.key(&mut m.idempotency_key),
                    |r| api.take_up_notice(r),
                )
                .await
            }
            // The stream itself is dropped: what is fuzzed is the validation of the request.
            "Subscribe" => self.run(body, |_, _: &mut pb::SubscribeRequest| {}, |r| api.subscribe(r)).await,
            "ListDeliveries" => {
                self.run(body, |_, _: &mut pb::ListDeliveriesRequest| {}, |r| api.list_deliveries(r)).await
            }
            "RequeueDelivery" => {
                self.run(
                    body,
                    |c, m: &mut pb::RequeueDeliveryRequest| c.key(&mut m.idempotency_key),
                    |r| api.requeue_delivery(r),
                )
                .await
            }
            other => unreachable!("no RPC {other}"),
        }
    }
}

/// A referral of the main case to `to`.
fn referral_request(ids: &Ids, to: &str, category: pb::ReferralCategory) -> pb::CreateReferralRequest {
    pb::CreateReferralRequest {
        idempotency_key: String::new(),
        case_id: ids.case.clone(),
        recipient_organisation_id: to.into(),
        category: category as i32,
        data_categories: vec![pb::DataCategory::Identity as i32, pb::DataCategory::Arrears as i32],
        message: "Bitte prüfen (synthetisch).".into(),
        reply_by: ids.reply_by.clone(),
        confirm_duplicate: false,
        confirm_closed_capacity: false,
    }
}

/// Makes the live objects the seeds refer to, through the same service implementation.
async fn set_up(th: &TestHub, api: &Api) -> Ids {
    let counter = Cell::new(0);
    let mut ids = Ids::fixed();
    let current = RefCell::new(String::new());
    let call =
        |who: Who| Call { api, who, keep_key: true, staff: true, counter: &counter, ids: &ids, current: &current };
    let op = call(Who::Operator);
    for spec in [spare_spec(), email_spec()] {
        api.register_organisation(op.request(pb::RegisterOrganisationRequest {
            idempotency_key: format!("setup-{}", spec.id),
            organisation: Some(spec),
        }))
        .await
        .expect("RegisterOrganisation");
    }
    let fs = call(Who::Fachstelle);
    let open = |n: u32| {
        api.open_case(fs.request(pb::OpenCaseRequest {
            idempotency_key: format!("setup-case-{n}"),
            details: Some(frau_k_details()),
            initial_stage: None,
        }))
    };
    let case = open(1).await.expect("OpenCase").into_inner().case.expect("case");
    let spare_case = open(2).await.expect("OpenCase").into_inner().case.expect("case");
    let person = case.details.as_ref().expect("details").persons[0].person_id.clone();
    let (case_id, spare_case_id) = (case.id.clone(), spare_case.id.clone());
    let mut live = Ids {
        case: case_id,
        spare_case: spare_case_id,
        person,
        today: th.today(),
        reply_by: th.date_in_days(14),
        valid_until: th.date_in_days(170),
        ..ids.clone()
    };
    let consent = |recipients: &'static [&'static str], n: u32| {
        let mut req = consent_request(&live, recipients, n);
        req.idempotency_key = format!("setup-consent-{n}");
        api.record_consent(fs.request(req))
    };
    let main =
        consent(&[orgs::JOBCENTER, orgs::SCHULDNERBERATUNG, EMAIL_ORG], 1).await.expect("RecordConsent").into_inner();
    let spare = consent(&[orgs::SOZIALAMT], 2).await.expect("RecordConsent").into_inner();
    live.consent = main.consent.expect("consent").id;
    live.spare_consent = spare.consent.expect("consent").id;
    let refer = |to: &str, category: pb::ReferralCategory, n: u32| {
        let mut req = referral_request(&live, to, category);
        req.idempotency_key = format!("setup-referral-{n}");
        api.create_referral(fs.request(req))
    };
    let referral = refer(orgs::JOBCENTER, pb::ReferralCategory::RentDebtTakeoverSgb2, 1).await.expect("CreateReferral");
    let email_referral =
        refer(EMAIL_ORG, pb::ReferralCategory::SocialPedagogicalSupport, 2).await.expect("CreateReferral (email)");
    live.referral = referral.into_inner().referral.expect("referral").id;
    live.email_referral = email_referral.into_inner().referral.expect("referral").id;
    let notice = api
        .submit_arrears_notice(call(Who::Landlord).request(pb::SubmitArrearsNoticeRequest {
            idempotency_key: "setup-notice".into(),
            notice: Some(arrears_notice("WN-FUZZ-SETUP")),
        }))
        .await
        .expect("SubmitArrearsNotice")
        .into_inner();
    live.notice = notice.result.expect("result").notice_id;
    let deliveries = api
        .list_deliveries(fs.request(pb::ListDeliveriesRequest { page_size: 10, ..Default::default() }))
        .await
        .expect("ListDeliveries")
        .into_inner()
        .deliveries;
    if let Some(d) = deliveries.first() {
        live.delivery = d.id.clone();
    }
    ids = live;
    ids
}

fn dictionary(ids: &Ids) -> Vec<Vec<u8>> {
    let mut words: Vec<String> = vec![
        ids.case.clone(),
        ids.spare_case.clone(),
        ids.person.clone(),
        ids.consent.clone(),
        ids.spare_consent.clone(),
        ids.referral.clone(),
        ids.email_referral.clone(),
        ids.notice.clone(),
        ids.delivery.clone(),
        ids.today.clone(),
        ids.reply_by.clone(),
        ids.valid_until.clone(),
        ids.case.to_uppercase(),
        format!(" {}", ids.referral),
        format!("{{{}}}", ids.case),
        ids.referral.replace('-', ""),
        SPARE_ORG.into(),
        EMAIL_ORG.into(),
        "operator".into(),
        "hub".into(),
        "1900-01-01".into(),
        "2026-02-29".into(),
        "2026-01-08".into(),
        "9999-12-31".into(),
        "+10000-01-01".into(),
        "team@example.org".into(),
        "not an address".into(),
        "WN-4711-03".into(),
    ];
    words.extend(CALLERS.iter().map(|s| (*s).to_owned()));
    words.extend([orgs::SOZIALAMT, orgs::SCHULDNERBERATUNG, orgs::TRAEGER, orgs::FRAUENBERATUNG].map(str::to_owned));
    words.into_iter().map(String::into_bytes).collect()
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire-format mutations
// ---------------------------------------------------------------------------------------------

/// A field of a protobuf message as it is on the wire.
#[derive(Debug, Clone)]
enum Wire {
    Varint(u64),
    Fixed64([u8; 8]),
    Len(Vec<u8>),
    Fixed32([u8; 4]),
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn parse_fields(buf: &[u8]) -> Option<Vec<(u64, Wire)>> {
    let mut pos = 0;
    let mut fields = Vec::new();
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let number = key >> 3;
        if number == 0 {
            return None;
        }
        let wire = match key & 7 {
            0 => Wire::Varint(read_varint(buf, &mut pos)?),
            1 => {
                let b: [u8; 8] = buf.get(pos..pos.checked_add(8)?)?.try_into().ok()?;
                pos += 8;
                Wire::Fixed64(b)
            }
            2 => {
                let n = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                let data = buf.get(pos..pos.checked_add(n)?)?.to_vec();
                pos += n;
                Wire::Len(data)
            }
            5 => {
                let b: [u8; 4] = buf.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
                pos += 4;
                Wire::Fixed32(b)
            }
            _ => return None,
        };
        fields.push((number, wire));
    }
    Some(fields)
}

fn encode_fields(fields: &[(u64, Wire)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (number, wire) in fields {
        let kind = match wire {
            Wire::Varint(_) => 0,
            Wire::Fixed64(_) => 1,
            Wire::Len(_) => 2,
            Wire::Fixed32(_) => 5,
        };
        write_varint(&mut out, number << 3 | kind);
        match wire {
            Wire::Varint(v) => write_varint(&mut out, *v),
            Wire::Fixed64(b) => out.extend_from_slice(b),
            Wire::Len(d) => {
                write_varint(&mut out, d.len() as u64);
                out.extend_from_slice(d);
            }
            Wire::Fixed32(b) => out.extend_from_slice(b),
        }
    }
    out
}

/// Varints worth trying in integer, enum and bool fields.
const INTERESTING_VARINTS: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    20,
    99,
    100,
    127,
    128,
    255,
    1000,
    1001,
    65_535,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
    u64::MAX - 1,
];

/// Lengths of the interesting strings.
const STRING_LENGTHS: &[usize] =
    &[0, 1, 2, 3, 4, 5, 8, 63, 64, 65, 100, 101, 128, 129, 200, 201, 256, 1000, 1001, 4097, 70_000];

/// A string worth trying in a string field (besides the dictionary).
#[derive(Debug, Clone)]
enum OddString {
    Empty,
    Repeat {
        unit: &'static str,
        n: usize,
    },
    /// A NUL, then `n` (at most 100) letters.
    Nul {
        n: usize,
    },
    /// A builtin token that is valid UTF-8 (the invalid ones would only test prost's string check).
    Token(&'static str),
}

impl OddString {
    fn bytes(&self) -> Vec<u8> {
        match self {
            OddString::Empty => Vec::new(),
            OddString::Repeat { unit, n } => {
                // Line breaks and long characters are cut shorter, as their lengths grow fast.
                let n = match *unit {
                    "\n" => (*n).min(300),
                    "𝄞" => (*n).min(2000),
                    _ => *n,
                };
                unit.repeat(n).into_bytes()
            }
            OddString::Nul { n } => format!("\u{0}{}", "x".repeat((*n).min(100))).into_bytes(),
            OddString::Token(t) => t.as_bytes().to_vec(),
        }
    }
}

fn odd_string() -> impl Strategy<Value = OddString> {
    let tokens: Vec<&'static str> =
        mutations::BUILTIN_TOKENS.iter().filter_map(|t| std::str::from_utf8(t).ok()).chain(["\\xff"]).collect();
    prop_oneof![
        1 => Just(OddString::Empty),
        4 => (select(&["a", "ä", " ", "\n", "𝄞"][..]), select(STRING_LENGTHS))
            .prop_map(|(unit, n)| OddString::Repeat { unit, n }),
        1 => select(STRING_LENGTHS).prop_map(|n| OddString::Nul { n }),
        2 => select(tokens).prop_map(OddString::Token),
    ]
}

/// A new value of a string or bytes field: a dictionary word, an odd string, or a byte mutation of it.
#[derive(Debug, Clone)]
enum LenValue {
    Word(Bytes),
    Odd(OddString),
    Mutated(ByteOp),
}

impl LenValue {
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            LenValue::Word(w) => *data = w.0.clone(),
            LenValue::Odd(s) => *data = s.bytes(),
            LenValue::Mutated(op) => op.apply(data, &[], 0, 1 << 20),
        }
    }
}

/// A new varint value.
#[derive(Debug, Clone)]
enum VarintValue {
    Interesting(u64),
    Small(u64),
    /// The old value plus -2..=2.
    Nudge(i8),
}

/// What a [`WireOp`] does to the field it lands on (or, for `Add`, next to it).
#[derive(Debug, Clone)]
enum WireAction {
    /// A new value; which part applies depends on the field's wire type.
    Value {
        varint: VarintValue,
        len: LenValue,
        byte: Index,
        bit: u8,
    },
    Duplicate {
        to: Index,
    },
    Remove,
    Swap {
        with: Index,
    },
    /// A field of a known (1-16; a clash of wire types is refused by the decoder) or unknown number.
    Add {
        number: u64,
        at: Index,
        wire: NewWire,
    },
}

/// The wire value of an added field.
#[derive(Debug, Clone)]
enum NewWire {
    Varint(u64),
    Len(LenValue),
    Fixed64(u64),
    Fixed32(u32),
}

/// One mutation that understands the protobuf wire format: `path` picks nested messages to descend
/// into (as deep as they go, at most four levels; about half of the mutations stay at the top), then
/// `action` happens to the field `field` of that message. An empty message gets a field. The lengths
/// stay consistent.
#[derive(Debug, Clone)]
struct WireOp {
    path: Vec<Index>,
    field: Index,
    action: WireAction,
}

fn wire_op(dict: &Rc<[Vec<u8>]>) -> BoxedStrategy<WireOp> {
    let words: Vec<Vec<u8>> = dict.to_vec();
    let word = move || select(words.clone()).prop_map(|w| LenValue::Word(Bytes(w)));
    // Boxed arms keep the value trees small: unoptimised, moving large ones around cost a third of the time.
    let len_value = prop_oneof![
        2 => word().boxed(),
        1 => mutations::byte_op(dict).prop_map(LenValue::Mutated).boxed(),
        1 => odd_string().prop_map(LenValue::Odd).boxed(),
    ];
    let varint = prop_oneof![
        select(INTERESTING_VARINTS).prop_map(VarintValue::Interesting).boxed(),
        (0u64..24).prop_map(VarintValue::Small).boxed(),
        (-2i8..=2).prop_map(VarintValue::Nudge).boxed(),
    ];
    let new_wire = prop_oneof![
        select(INTERESTING_VARINTS).prop_map(NewWire::Varint).boxed(),
        prop_oneof![word().boxed(), odd_string().prop_map(LenValue::Odd).boxed()].prop_map(NewWire::Len).boxed(),
        any::<u64>().prop_map(NewWire::Fixed64).boxed(),
        any::<u32>().prop_map(NewWire::Fixed32).boxed(),
    ];
    let action = prop_oneof![
        6 => (varint, len_value, any::<Index>(), 0u8..8)
            .prop_map(|(varint, len, byte, bit)| WireAction::Value { varint, len, byte, bit })
            .boxed(),
        1 => any::<Index>().prop_map(|to| WireAction::Duplicate { to }).boxed(),
        1 => Just(WireAction::Remove).boxed(),
        1 => any::<Index>().prop_map(|with| WireAction::Swap { with }).boxed(),
        1 => (prop_oneof![1u64..=16, 17u64..17 + (1 << 20)], any::<Index>(), new_wire)
            .prop_map(|(number, at, wire)| WireAction::Add { number, at, wire })
            .boxed(),
    ];
    let path = prop_oneof![
        8 => Just(Vec::new()).boxed(),
        4 => prop::collection::vec(any::<Index>(), 1).boxed(),
        2 => prop::collection::vec(any::<Index>(), 2).boxed(),
        1 => prop::collection::vec(any::<Index>(), 3..=4).boxed(),
    ];
    (path, any::<Index>(), action).prop_map(|(path, field, action)| WireOp { path, field, action }).boxed()
}

impl WireOp {
    /// The mutated message, or `None` when `buf` is not a protobuf message.
    fn apply(&self, buf: &[u8]) -> Option<Vec<u8>> {
        self.apply_at(buf, &self.path)
    }

    fn apply_at(&self, buf: &[u8], path: &[Index]) -> Option<Vec<u8>> {
        let mut fields = parse_fields(buf)?;
        if let Some((first, rest)) = path.split_first()
            && !fields.is_empty()
        {
            let i = first.index(fields.len());
            if let Wire::Len(data) = &mut fields[i].1
                && parse_fields(data).is_some_and(|f| !f.is_empty())
                && let Some(inner) = self.apply_at(data, rest)
            {
                *data = inner;
                return Some(encode_fields(&fields));
            }
        }
        if fields.is_empty() {
            // Nothing to change: a field is added (field 1-16 unless the action adds another).
            let field = match &self.action {
                WireAction::Add { number, wire, .. } => (*number, new_wire(wire)),
                WireAction::Value { varint: VarintValue::Interesting(v) | VarintValue::Small(v), .. } => {
                    (1 + self.field.index(16) as u64, Wire::Varint(*v))
                }
                WireAction::Value { len, .. } => {
                    let mut data = Vec::new();
                    len.apply(&mut data);
                    (1 + self.field.index(16) as u64, Wire::Len(data))
                }
                _ => (1 + self.field.index(16) as u64, Wire::Varint(1)),
            };
            return Some(encode_fields(&[field]));
        }
        let i = self.field.index(fields.len());
        match &self.action {
            WireAction::Value { varint, len, byte, bit } => match &mut fields[i].1 {
                Wire::Varint(v) => {
                    *v = match varint {
                        VarintValue::Interesting(n) | VarintValue::Small(n) => *n,
                        VarintValue::Nudge(d) => v.wrapping_add_signed(i64::from(*d)),
                    };
                }
                Wire::Len(data) => len.apply(data),
                Wire::Fixed64(b) => b[byte.index(8)] ^= 1 << bit,
                Wire::Fixed32(b) => b[byte.index(4)] ^= 1 << bit,
            },
            WireAction::Duplicate { to } => {
                let f = fields[i].clone();
                fields.insert(to.index(fields.len() + 1), f);
            }
            WireAction::Remove => {
                fields.remove(i);
            }
            WireAction::Swap { with } => {
                let j = with.index(fields.len());
                fields.swap(i, j);
            }
            WireAction::Add { number, at, wire } => {
                fields.insert(at.index(fields.len() + 1), (*number, new_wire(wire)));
            }
        }
        Some(encode_fields(&fields))
    }
}

fn new_wire(wire: &NewWire) -> Wire {
    match wire {
        NewWire::Varint(v) => Wire::Varint(*v),
        NewWire::Len(value) => {
            let mut data = Vec::new();
            value.apply(&mut data);
            Wire::Len(data)
        }
        NewWire::Fixed64(v) => Wire::Fixed64(v.to_le_bytes()),
        NewWire::Fixed32(v) => Wire::Fixed32(v.to_le_bytes()),
    }
}

/// A mutation of the message bytes.
#[derive(Debug, Clone)]
enum BodyOp {
    Wire(WireOp),
    Bytes(ByteOp),
}

/// A step of a request: rarely a new RPC (the same bytes as another request type) or new caller flags,
/// always a mutation of the message.
#[derive(Debug, Clone)]
struct RequestStep {
    rpc: Option<u8>,
    flags: Option<u8>,
    body: BodyOp,
}

impl Step for RequestStep {
    fn apply(&self, buf: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        if buf.len() < 2 {
            return;
        }
        if let Some(rpc) = self.rpc {
            buf[0] = rpc;
        }
        if let Some(flags) = self.flags {
            buf[1] = flags;
        }
        match &self.body {
            BodyOp::Wire(op) => {
                if let Some(body) = op.apply(&buf[2..]) {
                    buf.truncate(2);
                    buf.extend_from_slice(&body);
                }
            }
            BodyOp::Bytes(op) => {
                let mut body = buf.split_off(2);
                op.apply(&mut body, corpus, 2, 64 * 1024);
                buf.extend_from_slice(&body);
            }
        }
    }
}

fn request_step(dict: &Rc<[Vec<u8>]>) -> BoxedStrategy<RequestStep> {
    let rpc = prop_oneof![97 => Just(None), 3 => (0..RPCS.len() as u8).prop_map(Some)];
    let flags = prop_oneof![93 => Just(None), 7 => (0u8..16).prop_map(Some)];
    let body = prop_oneof![
        92 => wire_op(dict).prop_map(BodyOp::Wire).boxed(),
        8 => mutations::byte_op(dict).prop_map(BodyOp::Bytes).boxed(),
    ];
    (rpc, flags, body).prop_map(|(rpc, flags, body)| RequestStep { rpc, flags, body }).boxed()
}

#[test]
fn fuzz_requests() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let th = rt.block_on(TestHub::start()).expect("the test hub starts");
    let api = Api::new(th.hub().clone());
    let ids = rt.block_on(set_up(&th, &api));
    let counter = Cell::new(0u64);
    let current = RefCell::new(ids.referral.clone());

    let mut seeds = mutations::load_corpus("requests");
    for (rpc, flags, body) in seeds_of(&ids) {
        seeds.push((format!("live {}", RPCS[usize::from(rpc)]), input(rpc, flags, &body)));
    }
    let dict: Rc<[Vec<u8>]> = dictionary(&ids).into();
    let strategy = mutations::cases(&seeds, request_step(&dict));
    let per_rpc = RefCell::new(vec![0u64; RPCS.len()]);
    mutations::run("requests", 1_500, &seeds, strategy, |input| {
        let (Some(&rpc), Some(&flags)) = (input.first(), input.get(1)) else {
            return Ok(());
        };
        let rpc = rpc % RPCS.len() as u8;
        let call = Call {
            api: &api,
            who: Who::from_flags(flags),
            keep_key: flags & 4 != 0,
            staff: flags & 8 == 0,
            counter: &counter,
            ids: &ids,
            current: &current,
        };
        let name = RPCS[usize::from(rpc)];
        per_rpc.borrow_mut()[usize::from(rpc)] += 1;
        let result = rt.block_on(call.dispatch(rpc, &input[2..]));
        if name == "TransitionReferral" && matches!(result, Ok(Ok(()))) {
            rt.block_on(call.renew_referral_if_final());
        }
        match result {
            // Not decodable (tonic refuses it before the hub sees anything), accepted, or a client error.
            Ok(Err(status)) if matches!(status.code(), Code::Internal | Code::Unknown) => Err(format!(
                "{name} as {:?} answered {:?}: {} (request: {:?})",
                call.who,
                status.code(),
                status.message(),
                String::from_utf8_lossy(&input[2..])
            )),
            _ => Ok(()),
        }
    });
    let calls: Vec<String> = RPCS.iter().zip(per_rpc.borrow().iter()).map(|(r, n)| format!("{r} {n}")).collect();
    println!("fuzz requests: executions per RPC: {}", calls.join(", "));
    drop(api);
    rt.block_on(th.shutdown());
}

/// Writes the committed seed files (fixed ids of no live object: near-valid requests) when
/// `HUB_FUZZ_UPDATE_CORPUS=1`; otherwise checks that they are current.
#[test]
fn committed_request_corpus_is_current() {
    let files: Vec<(String, Vec<u8>)> = seeds_of(&Ids::fixed())
        .into_iter()
        .enumerate()
        .map(|(i, (rpc, flags, body))| (format!("{i:02}-{}.bin", RPCS[usize::from(rpc)]), input(rpc, flags, &body)))
        .collect();
    let dir = mutations::corpus_dir("requests");
    if std::env::var("HUB_FUZZ_UPDATE_CORPUS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).expect("write corpus file");
        }
        return;
    }
    for (name, bytes) in &files {
        let path = dir.join(name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&committed, bytes, "{} is stale; regenerate with HUB_FUZZ_UPDATE_CORPUS=1", path.display());
    }
}
