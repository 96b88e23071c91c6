//! The authorisation matrix: every RPC of the API × every kind of caller × own / foreign /
//! non-existent object, against one hub, with the expected outcome written down once.
//!
//! * **RPCs** come from the API's descriptor (`hub_proto::FILE_DESCRIPTOR_SET`): an RPC without a
//!   row in [`TABLE`] fails the test, and so does a row naming an RPC the API no longer has.
//! * **Callers**: the seven organisations of the standard network (one per organisation kind), the
//!   operator, a client without certificate and a deactivated organisation.
//! * **Objects**: for RPCs that name an object, the caller's own (one it is party to), a foreign one
//!   (an existing object of someone else: another Fachstelle's case, a referral between two other
//!   organisations, ...) and a random id. Cells where "own" means nothing (the operator has no
//!   referrals, a client without certificate owns nothing) are not run.
//! * **Expected outcome**: [`expected`] maps (rule of the RPC, caller, object) to one outcome. A cell
//!   fails when the code differs, when an `OK` answer carries another organisation's objects (a
//!   leak), or when a foreign object answers with another message than a random id although both are
//!   refused with the same code (an oracle for existence).
//!
//! Every request is otherwise valid (the helpers of `common`), so an `INVALID_ARGUMENT` never hides
//! the authorisation decision. Cells that change something on success work on fresh fixtures.

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use DataCategory as D;
use common::*;
use hub_proto::v1::delivery_service_client::DeliveryServiceClient;
use hub_proto::v1::notice_service_client::NoticeServiceClient;

/// A second Fachstelle (a neighbouring municipality): owner of the "foreign" cases, consents,
/// referrals and deliveries as the Fachstelle sees them.
const F2: &str = "fachstelle-langenhagen";
/// A second housing company: owner of the "foreign" notice as the housing company sees it.
const W2: &str = "wohnbau-sued";
/// An email partner, so that mail deliveries exist (the outbox is written even with email off).
const MAIL: &str = "mieterhilfe-mail";
/// The organisation that is deactivated after its referral was created.
const DEACT: &str = "matrix-deaktiviert";
/// Directory targets of the operator's writes.
const TARGET: &str = "matrix-ziel";
/// Deactivated by the operator's DeactivateOrganisation cell.
const TARGET_OFF: &str = "matrix-ziel-aus";
/// Deactivated in the setup, reactivated by the operator's ReactivateOrganisation cell.
const TARGET_ON: &str = "matrix-ziel-an";

/// The floor of checked cells: the matrix must not silently shrink.
const MIN_CELLS: usize = 600;

// ---------------------------------------------------------------------------------------------
// Who calls, about what, and what must happen
// ---------------------------------------------------------------------------------------------

/// A caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    /// An active organisation of the standard network.
    Org(&'static str),
    /// The hub operator's certificate.
    Operator,
    /// TLS without a client certificate.
    NoCert,
    /// A registered organisation that was deactivated (its certificate is still valid).
    Deactivated,
}

const CALLERS: [Who; 10] = [
    Who::Org(orgs::FACHSTELLE),
    Who::Org(orgs::JOBCENTER),
    Who::Org(orgs::SOZIALAMT),
    Who::Org(orgs::SCHULDNERBERATUNG),
    Who::Org(orgs::WOHNBAU),
    Who::Org(orgs::TRAEGER),
    Who::Org(orgs::FRAUENBERATUNG),
    Who::Operator,
    Who::NoCert,
    Who::Deactivated,
];

impl Who {
    fn is(self, org: &str) -> bool {
        matches!(self, Who::Org(o) if o == org)
    }

    /// The organisation id the certificate names, if any.
    fn org(self) -> Option<&'static str> {
        match self {
            Who::Org(o) => Some(o),
            Who::Deactivated => Some(DEACT),
            Who::Operator | Who::NoCert => None,
        }
    }

    /// The side an organisation takes in its own referrals: the Fachstelle sends, partners receive.
    fn side(self) -> Side {
        if self.is(orgs::FACHSTELLE) { Side::Sender } else { Side::Recipient }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Org(o) => f.write_str(o),
            Who::Operator => f.write_str("operator"),
            Who::NoCert => f.write_str("no-certificate"),
            Who::Deactivated => write!(f, "deactivated({DEACT})"),
        }
    }
}

/// The object a call names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Obj {
    /// The RPC names no object (or this row calls it without a filter).
    Call,
    /// An object the caller is party to.
    Own,
    /// An existing object of someone else.
    Foreign,
    /// A random id.
    Missing,
}

impl fmt::Display for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Obj::Call => "-",
            Obj::Own => "own",
            Obj::Foreign => "foreign",
            Obj::Missing => "missing",
        })
    }
}

/// The outcome a cell must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    Ok,
    Denied,
    NotFound,
    Unauthenticated,
    FailedPrecondition,
}

impl Expected {
    fn code(self) -> Code {
        match self {
            Expected::Ok => Code::Ok,
            Expected::Denied => Code::PermissionDenied,
            Expected::NotFound => Code::NotFound,
            Expected::Unauthenticated => Code::Unauthenticated,
            Expected::FailedPrecondition => Code::FailedPrecondition,
        }
    }
}

/// Who may call an RPC, as the README ("The rules the hub enforces") and the protos say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// Directory writes: the operator only.
    OperatorOnly,
    /// Directory reads: every authenticated, active identity.
    Everyone,
    /// Cases, consents and creating referrals: the Fachstelle, on its own cases; another
    /// Fachstelle's case or consent reads as missing.
    FachstelleOwn,
    /// Reading a referral and its notes: sender and recipient; anybody else's reads as missing.
    Party,
    /// A move of one side: the other side's attempt on its own referral is FAILED_PRECONDITION
    /// naming the moves it has; anybody else's referral reads as missing.
    PartyMove(Side),
    /// A change only the sender may make (ChangeReplyBy): the recipient is refused on its own referral;
    /// anybody else's referral reads as missing.
    SenderOnly,
    /// ListReferrals INBOX / OUTBOX: every organisation, listing only its own referrals.
    OwnMailbox,
    /// WithdrawArrearsNotice: a housing company, its own notices only (another's reference reads as
    /// missing).
    OwnNotice,
    /// ConfirmDataRequest: the organisation a request is addressed to; anybody else's request reads as
    /// missing, and the operator is refused.
    Addressee,
    /// SetCapacity: every organisation, for its own directory entry only; the operator is refused.
    OwnEntry,
    /// Fachstelle only, no object (ListReferrals ALL, RecordCourtNotice, ListOpenNotices).
    FachstelleOnly,
    /// TakeUpNotice (Fachstelle).
    TakeUp,
    /// Arrears notices in and their status out: housing companies, their own notices only.
    HousingCompany,
    /// The event stream: every organisation, its own events only.
    Subscriber,
    /// ListDeliveries: the Fachstelle (deliveries of its cases) and the operator (all).
    DeliveryList,
    /// RequeueDelivery: as ListDeliveries.
    DeliveryRequeue,
}

/// The expected outcome of every cell, written down once.
fn expected(rule: Rule, who: Who, obj: Obj) -> Expected {
    use Expected::*;
    match who {
        Who::NoCert => return Unauthenticated,
        Who::Deactivated => return Denied,
        Who::Org(_) | Who::Operator => {}
    }
    let operator = who == Who::Operator;
    let fachstelle = who.is(orgs::FACHSTELLE);
    // Someone else's object and a random id look alike.
    let hidden = matches!(obj, Obj::Foreign | Obj::Missing);
    match (rule, obj) {
        (Rule::OperatorOnly, _) if !operator => Denied,
        (Rule::OperatorOnly | Rule::Everyone, Obj::Missing) => NotFound,
        (Rule::OperatorOnly | Rule::Everyone, _) => Ok,
        (Rule::FachstelleOwn, _) if !fachstelle => Denied,
        (Rule::FachstelleOwn, _) if hidden => NotFound,
        (Rule::FachstelleOwn, _) => Ok,
        (Rule::Party | Rule::PartyMove(_) | Rule::SenderOnly, _) if operator => Denied,
        (Rule::Party | Rule::PartyMove(_) | Rule::SenderOnly, _) if hidden => NotFound,
        (Rule::SenderOnly, _) if who.side() == Side::Sender => Ok,
        (Rule::SenderOnly, _) => Denied,
        (Rule::Party, _) => Ok,
        (Rule::PartyMove(side), _) if who.side() == side => Ok,
        (Rule::PartyMove(_), _) => FailedPrecondition,
        (Rule::OwnNotice, _) if !who.is(orgs::WOHNBAU) => Denied,
        (Rule::OwnNotice, Obj::Own) => Ok,
        (Rule::OwnNotice, _) => NotFound,
        (Rule::Addressee, _) if operator => Denied,
        (Rule::Addressee, _) if hidden => NotFound,
        (Rule::Addressee, _) => Ok,
        (Rule::OwnMailbox | Rule::Subscriber | Rule::OwnEntry, _) if operator => Denied,
        (Rule::OwnMailbox | Rule::Subscriber | Rule::OwnEntry, _) => Ok,
        (Rule::FachstelleOnly, _) if fachstelle => Ok,
        (Rule::FachstelleOnly, _) => Denied,
        (Rule::TakeUp, _) if !fachstelle => Denied,
        // Debatable, chosen: a notice reaches every Fachstelle (each gets NOTICE_RECEIVED with its
        // id), so one already taken up by another Fachstelle is no secret: FAILED_PRECONDITION
        // "already taken up", not NOT_FOUND.
        (Rule::TakeUp, Obj::Foreign) => FailedPrecondition,
        (Rule::TakeUp, Obj::Missing) => NotFound,
        (Rule::TakeUp, _) => Ok,
        // With a filter naming another company's tenancy reference: OK, listing nothing (a leak check).
        (Rule::HousingCompany, _) if who.is(orgs::WOHNBAU) => Ok,
        (Rule::HousingCompany, _) => Denied,
        // With a filter naming another Fachstelle's referral: OK, listing nothing (a leak check).
        (Rule::DeliveryList, _) if operator || fachstelle => Ok,
        (Rule::DeliveryList, _) => Denied,
        (Rule::DeliveryRequeue, _) if !(operator || fachstelle) => Denied,
        (Rule::DeliveryRequeue, Obj::Missing) => NotFound,
        (Rule::DeliveryRequeue, Obj::Foreign) if fachstelle => NotFound,
        // The deliveries here are PENDING (this hub sends no mail), so a permitted re-queue ends at
        // the state check, FAILED_PRECONDITION "only a failed (DEAD) delivery ...", which the hub
        // makes only after authorisation and ownership.
        (Rule::DeliveryRequeue, _) => FailedPrecondition,
    }
}

/// One row of the matrix: an RPC (with a variant where one RPC needs several rows), its rule and
/// the objects it is called with.
struct Row {
    service: &'static str,
    method: &'static str,
    variant: &'static str,
    rule: Rule,
    objects: &'static [Obj],
}

impl Row {
    fn label(&self) -> String {
        if self.variant.is_empty() {
            format!("{}/{}", self.service, self.method)
        } else {
            format!("{}/{}({})", self.service, self.method, self.variant)
        }
    }
}

const CALL: &[Obj] = &[Obj::Call];
const OBJ3: &[Obj] = &[Obj::Own, Obj::Foreign, Obj::Missing];
const CALL_OBJ3: &[Obj] = &[Obj::Call, Obj::Own, Obj::Foreign, Obj::Missing];

const fn row(service: &'static str, method: &'static str, rule: Rule, objects: &'static [Obj]) -> Row {
    Row { service, method, variant: "", rule, objects }
}

const fn variant(
    service: &'static str,
    method: &'static str,
    v: &'static str,
    rule: Rule,
    objects: &'static [Obj],
) -> Row {
    Row { service, method, variant: v, rule, objects }
}

/// The expectation table: every RPC of the API, with its rule.
const TABLE: &[Row] = &[
    row("DirectoryService", "RegisterOrganisation", Rule::OperatorOnly, CALL),
    row("DirectoryService", "UpdateOrganisation", Rule::OperatorOnly, OBJ3),
    row("DirectoryService", "DeactivateOrganisation", Rule::OperatorOnly, OBJ3),
    row("DirectoryService", "ReactivateOrganisation", Rule::OperatorOnly, OBJ3),
    row("DirectoryService", "GetOrganisation", Rule::Everyone, OBJ3),
    row("DirectoryService", "ListOrganisations", Rule::Everyone, CALL),
    row("DirectoryService", "SetCapacity", Rule::OwnEntry, CALL),
    row("CaseService", "OpenCase", Rule::FachstelleOwn, CALL),
    row("CaseService", "UpdateCase", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "RecordThreatStage", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "CloseCase", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "RestrictProcessing", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "LiftRestriction", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "EraseCase", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "GetCase", Rule::FachstelleOwn, OBJ3),
    row("CaseService", "ListCases", Rule::FachstelleOwn, CALL),
    row("ConsentService", "RecordConsent", Rule::FachstelleOwn, OBJ3),
    row("ConsentService", "RevokeConsent", Rule::FachstelleOwn, OBJ3),
    row("ConsentService", "ListConsents", Rule::FachstelleOwn, OBJ3),
    row("ReferralService", "CreateReferral", Rule::FachstelleOwn, OBJ3),
    row("ReferralService", "GetReferral", Rule::Party, OBJ3),
    variant("ReferralService", "ListReferrals", "INBOX", Rule::OwnMailbox, CALL),
    variant("ReferralService", "ListReferrals", "OUTBOX", Rule::OwnMailbox, CALL),
    // Debatable, chosen: ALL lists the referrals of the caller's own cases, like ListCases and
    // ListDeliveries; another Fachstelle's referrals (case id, partner, category such as
    // DEBT_COUNSELLING) are its business, and GetCase/GetReferral answer NOT_FOUND for them.
    variant("ReferralService", "ListReferrals", "ALL", Rule::FachstelleOnly, CALL),
    variant("ReferralService", "TransitionReferral", "ACKNOWLEDGE", Rule::PartyMove(Side::Recipient), OBJ3),
    variant("ReferralService", "TransitionReferral", "CANCEL", Rule::PartyMove(Side::Sender), OBJ3),
    row("ReferralService", "AddNote", Rule::Party, OBJ3),
    row("ReferralService", "ListNotes", Rule::Party, OBJ3),
    row("ReferralService", "ChangeReplyBy", Rule::SenderOnly, OBJ3),
    row("ReferralService", "ListDataRequests", Rule::OwnMailbox, CALL),
    row("ReferralService", "ConfirmDataRequest", Rule::Addressee, OBJ3),
    row("NoticeService", "SubmitArrearsNotice", Rule::HousingCompany, CALL),
    row("NoticeService", "StreamArrearsNotices", Rule::HousingCompany, CALL),
    row("NoticeService", "ListNoticeStatuses", Rule::HousingCompany, CALL_OBJ3),
    row("NoticeService", "WithdrawArrearsNotice", Rule::OwnNotice, OBJ3),
    row("NoticeService", "RecordCourtNotice", Rule::FachstelleOnly, CALL),
    row("NoticeService", "ListOpenNotices", Rule::FachstelleOnly, CALL),
    row("NoticeService", "TakeUpNotice", Rule::TakeUp, OBJ3),
    row("EventService", "Subscribe", Rule::Subscriber, CALL),
    row("DeliveryService", "ListDeliveries", Rule::DeliveryList, CALL_OBJ3),
    row("DeliveryService", "RequeueDelivery", Rule::DeliveryRequeue, OBJ3),
];

// ---------------------------------------------------------------------------------------------
// The API's RPCs, from its descriptor
// ---------------------------------------------------------------------------------------------

/// A minimal protobuf wire reader. prost's `Message` trait (and so `FileDescriptorSet::decode`) is
/// not reachable from this crate: prost is no dependency of it, only prost-types. The descriptor is
/// read field by field into `prost_types` descriptor messages instead, as far as services go
/// (field numbers of google/protobuf/descriptor.proto).
mod descriptor {
    use prost_types::{FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto};

    enum Value<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
        Fixed,
    }

    fn varint(buf: &[u8], pos: &mut usize) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = buf[*pos];
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return v;
            }
        }
        panic!("descriptor: varint too long");
    }

    fn fields(buf: &[u8]) -> Vec<(u64, Value<'_>)> {
        let mut pos = 0;
        let mut out = Vec::new();
        while pos < buf.len() {
            let key = varint(buf, &mut pos);
            let value = match key & 7 {
                0 => Value::Varint(varint(buf, &mut pos)),
                1 => {
                    pos += 8;
                    Value::Fixed
                }
                2 => {
                    let len = usize::try_from(varint(buf, &mut pos)).expect("length");
                    let v = &buf[pos..pos + len];
                    pos += len;
                    Value::Bytes(v)
                }
                5 => {
                    pos += 4;
                    Value::Fixed
                }
                w => panic!("descriptor: unexpected wire type {w}"),
            };
            out.push((key >> 3, value));
        }
        out
    }

    fn text(v: &Value<'_>) -> Option<String> {
        match v {
            Value::Bytes(b) => Some(String::from_utf8(b.to_vec()).expect("UTF-8 name")),
            _ => None,
        }
    }

    fn method(buf: &[u8]) -> MethodDescriptorProto {
        let mut m = MethodDescriptorProto::default();
        for (n, v) in fields(buf) {
            match (n, &v) {
                (1, _) => m.name = text(&v),
                (2, _) => m.input_type = text(&v),
                (3, _) => m.output_type = text(&v),
                (5, Value::Varint(x)) => m.client_streaming = Some(*x != 0),
                (6, Value::Varint(x)) => m.server_streaming = Some(*x != 0),
                _ => {}
            }
        }
        m
    }

    fn service(buf: &[u8]) -> ServiceDescriptorProto {
        let mut s = ServiceDescriptorProto::default();
        for (n, v) in fields(buf) {
            match (n, v) {
                (1, v) => s.name = text(&v),
                (2, Value::Bytes(b)) => s.method.push(method(b)),
                _ => {}
            }
        }
        s
    }

    fn file(buf: &[u8]) -> FileDescriptorProto {
        let mut f = FileDescriptorProto::default();
        for (n, v) in fields(buf) {
            match (n, v) {
                (1, v) => f.name = text(&v),
                (2, v) => f.package = text(&v),
                (6, Value::Bytes(b)) => f.service.push(service(b)),
                _ => {}
            }
        }
        f
    }

    /// The services and methods of an encoded `FileDescriptorSet`.
    pub fn decode(buf: &[u8]) -> FileDescriptorSet {
        let mut set = FileDescriptorSet::default();
        for (n, v) in fields(buf) {
            if let (1, Value::Bytes(b)) = (n, v) {
                set.file.push(file(b));
            }
        }
        set
    }
}

/// (service, method) of every RPC of the hub's API.
fn api_rpcs() -> Vec<(String, String)> {
    let set = descriptor::decode(hub_proto::FILE_DESCRIPTOR_SET);
    let mut out = Vec::new();
    for f in &set.file {
        for s in &f.service {
            for m in &s.method {
                out.push((s.name().to_owned(), m.name().to_owned()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

type Got = Result<Vec<String>, Status>;

struct Fx {
    hub: TestHub,
    chans: HashMap<Who, Channel>,
    operator: Channel,
    /// The Fachstelle's case with a referral to every partner (and to the deactivated and the email org).
    case_main: Case,
    /// A case of the Fachstelle without referrals: foreign to every partner.
    case_other: Case,
    /// The second Fachstelle's case.
    case_f2: Case,
    /// Names every partner, the deactivated and the email org.
    consent_main: String,
    consent_other: String,
    consent_f2: String,
    /// Referrals of `case_main` by recipient.
    ref_main: HashMap<&'static str, String>,
    /// The second Fachstelle's referrals to the debt counselling and to the email org.
    ref_f2: String,
    ref_f2_mail: String,
    /// Requests to erase (Art. 19 GDPR) of an erased case, by recipient (the job centre and the debt
    /// counselling).
    data_requests: HashMap<&'static str, String>,
    /// Mail deliveries about `ref_main[MAIL]` and `ref_f2_mail`.
    delivery_main: String,
    delivery_f2: String,
    /// An open notice of the housing company, its reference.
    notice_open: String,
    notice_open_ref: String,
    /// A notice the second Fachstelle took up.
    notice_f2_taken: String,
    /// The second housing company's notice and reference.
    notice_w2: String,
    notice_w2_ref: String,
    /// Owner of every case the test knows.
    case_owner: HashMap<String, String>,
    /// (sender, recipient) of every referral the test knows.
    parties: HashMap<String, (String, String)>,
    /// Reporter of every notice the test knows.
    reporter: HashMap<String, String>,
}

fn short() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

fn spec(id: &str, kind: OrganisationKind, cats: &[ReferralCategory], email: Option<&str>) -> OrganisationSpec {
    OrganisationSpec {
        id: id.to_owned(),
        name: format!("{id} (synthetisch)"),
        kind: kind as i32,
        accepted_categories: cats.iter().map(|c| *c as i32).collect(),
        channel: (if email.is_some() { hub_proto::v1::Channel::Email } else { hub_proto::v1::Channel::Grpc }) as i32,
        channel_address: email.unwrap_or_default().to_owned(),
        office_hours: "Mo-Fr 09:00-12:00".to_owned(),
    }
}

fn spec_of(o: &Organisation) -> OrganisationSpec {
    OrganisationSpec {
        id: o.id.clone(),
        name: o.name.clone(),
        kind: o.kind,
        accepted_categories: o.accepted_categories.clone(),
        channel: o.channel,
        channel_address: o.channel_address.clone(),
        office_hours: o.office_hours.clone(),
    }
}

/// The category each recipient accepts.
fn category_for(recipient: &str) -> ReferralCategory {
    match recipient {
        orgs::JOBCENTER => ReferralCategory::RentDebtTakeoverSgb2,
        orgs::SOZIALAMT => ReferralCategory::RentDebtTakeoverSgb12,
        orgs::SCHULDNERBERATUNG => ReferralCategory::DebtCounselling,
        orgs::WOHNBAU => ReferralCategory::LandlordAgreement,
        orgs::FRAUENBERATUNG => ReferralCategory::WomensCounselling,
        _ => ReferralCategory::SocialPedagogicalSupport,
    }
}

const PARTNERS: [&str; 8] = [
    orgs::JOBCENTER,
    orgs::SOZIALAMT,
    orgs::SCHULDNERBERATUNG,
    orgs::WOHNBAU,
    orgs::TRAEGER,
    orgs::FRAUENBERATUNG,
    DEACT,
    MAIL,
];

fn stage_entry() -> ThreatStageEntry {
    ThreatStageEntry {
        stage: ThreatStage::Mahnung as i32,
        date: "2026-01-02".into(),
        source: "Mahnschreiben (synthetisch)".into(),
        ..Default::default()
    }
}

impl Fx {
    async fn setup() -> Fx {
        let hub = start().await;
        let operator = hub.operator_channel().await.expect("operator channel");
        let mut dir = DirectoryServiceClient::new(operator.clone());
        use OrganisationKind as K;
        use ReferralCategory as C;
        for s in [
            spec(F2, K::Fachstelle, &[C::SocialPedagogicalSupport], None),
            spec(W2, K::HousingCompany, &[C::LandlordAgreement], None),
            spec(MAIL, K::SocialWorkProvider, &[C::SocialPedagogicalSupport], Some("team@mieterhilfe.example")),
            spec(DEACT, K::SocialWorkProvider, &[C::SocialPedagogicalSupport], None),
            spec(TARGET, K::SocialWorkProvider, &[C::SocialPedagogicalSupport], None),
            spec(TARGET_OFF, K::SocialWorkProvider, &[C::SocialPedagogicalSupport], None),
            spec(TARGET_ON, K::SocialWorkProvider, &[C::SocialPedagogicalSupport], None),
        ] {
            dir.register_organisation(RegisterOrganisationRequest { idempotency_key: idem(), organisation: Some(s) })
                .await
                .expect("operator registers a matrix organisation");
        }

        // The Fachstelle's case with a referral to every partner.
        let case_main = open_case(&hub).await;
        let consent_main = record_consent(&hub, &case_main, &PARTNERS, &[D::Identity]).await.id;
        let mut ref_main = HashMap::new();
        let mut parties = HashMap::new();
        for p in PARTNERS {
            let r = create_referral(&hub, &case_main.id, p, category_for(p), &[D::Identity]).await;
            parties.insert(r.id.clone(), (orgs::FACHSTELLE.to_owned(), p.to_owned()));
            ref_main.insert(p, r.id);
        }
        let mut fs_refs = referrals(&hub, orgs::FACHSTELLE).await;
        for p in [orgs::JOBCENTER, orgs::SCHULDNERBERATUNG] {
            fs_refs
                .add_note(AddNoteRequest {
                    idempotency_key: idem(),
                    referral_id: ref_main[p].clone(),
                    text: "Unterlagen folgen (synthetisch)".into(),
                })
                .await
                .expect("AddNote by the sender");
        }
        let case_other = open_case(&hub).await;
        let consent_other = record_consent(&hub, &case_other, &[MAIL], &[D::Identity]).await.id;

        // The second Fachstelle's case, consent, referrals and note.
        let f2 = chan(&hub, F2).await;
        let case_f2 = CaseServiceClient::new(f2.clone())
            .open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(details()), initial_stage: None })
            .await
            .expect("OpenCase by the second Fachstelle")
            .into_inner()
            .case
            .expect("case");
        let consent_f2 = ConsentServiceClient::new(f2.clone())
            .record_consent(consent_request(
                &case_f2,
                &[orgs::SCHULDNERBERATUNG, MAIL],
                &[D::Identity],
                &hub.date_in_days(170),
            ))
            .await
            .expect("RecordConsent by the second Fachstelle")
            .into_inner()
            .consent
            .expect("consent")
            .id;
        let mut f2_refs = ReferralServiceClient::new(f2.clone());
        let mut f2_referral = async |to: &str| {
            let r = f2_refs
                .create_referral(referral_request(&hub, &case_f2.id, to, category_for(to), &[D::Identity]))
                .await
                .expect("CreateReferral by the second Fachstelle")
                .into_inner()
                .referral
                .expect("referral");
            r.id
        };
        let ref_f2 = f2_referral(orgs::SCHULDNERBERATUNG).await;
        let ref_f2_mail = f2_referral(MAIL).await;
        parties.insert(ref_f2.clone(), (F2.to_owned(), orgs::SCHULDNERBERATUNG.to_owned()));
        parties.insert(ref_f2_mail.clone(), (F2.to_owned(), MAIL.to_owned()));
        ReferralServiceClient::new(f2.clone())
            .add_note(AddNoteRequest {
                idempotency_key: idem(),
                referral_id: ref_f2.clone(),
                text: "Notiz der anderen Fachstelle (synthetisch)".into(),
            })
            .await
            .expect("AddNote by the second Fachstelle");

        // The mails to the email partner.
        let mut deliveries = DeliveryServiceClient::new(operator.clone());
        let mut delivery_about = async |referral_id: &str| {
            let list = deliveries
                .list_deliveries(ListDeliveriesRequest { referral_id: referral_id.to_owned(), ..Default::default() })
                .await
                .expect("ListDeliveries by the operator")
                .into_inner()
                .deliveries;
            list.first().unwrap_or_else(|| panic!("a mail about referral {referral_id} to {MAIL}")).id.clone()
        };
        let delivery_main = delivery_about(&ref_main[MAIL]).await;
        let delivery_f2 = delivery_about(&ref_f2_mail).await;

        // Notices: one open of the housing company, one of the second housing company, one taken
        // up by the second Fachstelle.
        let mut case_owner = HashMap::new();
        let mut reporter = HashMap::new();
        let notice_open_ref = format!("MX-OFFEN-{}", short());
        let notice_open = submit_notice(&hub, orgs::WOHNBAU, consented_notice(&notice_open_ref)).await;
        reporter.insert(notice_open.clone(), orgs::WOHNBAU.to_owned());
        let notice_w2_ref = format!("MX-FREMD-{}", short());
        let notice_w2 = submit_notice(&hub, W2, consented_notice(&notice_w2_ref)).await;
        reporter.insert(notice_w2.clone(), W2.to_owned());
        let notice_f2_taken = submit_notice(&hub, orgs::WOHNBAU, consented_notice(&format!("MX-F2-{}", short()))).await;
        reporter.insert(notice_f2_taken.clone(), orgs::WOHNBAU.to_owned());
        let taken = NoticeServiceClient::new(f2.clone())
            .take_up_notice(TakeUpNoticeRequest {
                idempotency_key: idem(),
                notice_id: notice_f2_taken.clone(),
                details: None,
                ..Default::default()
            })
            .await
            .expect("TakeUpNotice by the second Fachstelle")
            .into_inner()
            .case
            .expect("case");
        case_owner.insert(taken.id, F2.to_owned());

        // A case referred to the job centre and the debt counselling, then erased: each is asked to erase
        // what it received. The referrals go with the case, so no listing above sees them.
        let case_dr = open_case(&hub).await;
        let erased_to = [orgs::JOBCENTER, orgs::SCHULDNERBERATUNG];
        record_consent(&hub, &case_dr, &erased_to, &[D::Identity]).await;
        for p in erased_to {
            create_referral(&hub, &case_dr.id, p, category_for(p), &[D::Identity]).await;
        }
        close_and_erase(&hub, &case_dr.id).await;
        let mut data_requests = HashMap::new();
        for p in erased_to {
            let listed = ReferralServiceClient::new(chan(&hub, p).await)
                .list_data_requests(ListDataRequestsRequest::default())
                .await
                .expect("ListDataRequests by a recipient")
                .into_inner()
                .data_requests;
            let [r] = listed.as_slice() else { panic!("one request to erase for {p}: {listed:?}") };
            data_requests.insert(p, r.id.clone());
        }

        // Deactivations last: the deactivated organisation keeps its referral.
        for id in [DEACT, TARGET_ON] {
            dir.deactivate_organisation(DeactivateOrganisationRequest {
                idempotency_key: idem(),
                organisation_id: id.to_owned(),
            })
            .await
            .expect("operator deactivates");
        }

        case_owner.insert(case_main.id.clone(), orgs::FACHSTELLE.to_owned());
        case_owner.insert(case_other.id.clone(), orgs::FACHSTELLE.to_owned());
        case_owner.insert(case_f2.id.clone(), F2.to_owned());

        let mut chans = HashMap::new();
        for who in CALLERS {
            let ch = match who {
                Who::Org(o) => chan(&hub, o).await,
                Who::Operator => operator.clone(),
                Who::NoCert => hub.channel_without_cert().await.expect("TLS without a client certificate"),
                Who::Deactivated => chan(&hub, DEACT).await,
            };
            chans.insert(who, ch);
        }
        Fx {
            hub,
            chans,
            operator,
            case_main,
            case_other,
            case_f2,
            consent_main,
            consent_other,
            consent_f2,
            ref_main,
            ref_f2,
            ref_f2_mail,
            data_requests,
            delivery_main,
            delivery_f2,
            notice_open,
            notice_open_ref,
            notice_f2_taken,
            notice_w2,
            notice_w2_ref,
            case_owner,
            parties,
            reporter,
        }
    }

    fn chan(&self, who: Who) -> Channel {
        self.chans[&who].clone()
    }

    /// An organisation id: the caller's own, a foreign `target`, or an unregistered one.
    fn org_for(who: Who, obj: Obj, target: &str) -> Option<String> {
        match obj {
            Obj::Own => who.org().map(str::to_owned),
            Obj::Foreign => Some(target.to_owned()),
            Obj::Missing => Some(format!("unbekannt-{}", short())),
            Obj::Call => None,
        }
    }

    /// A case: one the caller is party to (the Fachstelle owns it, partners have a referral in
    /// it), another Fachstelle's (for the Fachstelle) or one without them (for the rest), or one
    /// with a random id (and otherwise valid details).
    fn case_for(&self, who: Who, obj: Obj) -> Option<Case> {
        match obj {
            Obj::Own => who.org().map(|_| self.case_main.clone()),
            Obj::Foreign if who.is(orgs::FACHSTELLE) => Some(self.case_f2.clone()),
            Obj::Foreign => Some(self.case_other.clone()),
            Obj::Missing => Some(Case { id: random_id(), ..self.case_main.clone() }),
            Obj::Call => None,
        }
    }

    /// A consent: of the caller's case (Fachstelle) or naming the caller (partners), another
    /// Fachstelle's (for the Fachstelle) or one not naming them, or a random id.
    fn consent_for(&self, who: Who, obj: Obj) -> Option<String> {
        match obj {
            Obj::Own => who.org().map(|_| self.consent_main.clone()),
            Obj::Foreign if who.is(orgs::FACHSTELLE) => Some(self.consent_f2.clone()),
            Obj::Foreign => Some(self.consent_other.clone()),
            Obj::Missing => Some(random_id()),
            Obj::Call => None,
        }
    }

    /// A referral: one the caller sent or received, one between two others, or a random id.
    fn referral_for(&self, who: Who, obj: Obj) -> Option<String> {
        match (obj, who) {
            (Obj::Own, Who::Org(orgs::FACHSTELLE)) => Some(self.ref_main[orgs::JOBCENTER].clone()),
            (Obj::Own, Who::Org(o)) => Some(self.ref_main[o].clone()),
            (Obj::Own, Who::Deactivated) => Some(self.ref_main[DEACT].clone()),
            (Obj::Own | Obj::Call, _) => None,
            (Obj::Foreign, Who::Org(orgs::FACHSTELLE)) => Some(self.ref_f2.clone()),
            (Obj::Foreign, Who::Org(orgs::SCHULDNERBERATUNG)) => Some(self.ref_main[orgs::JOBCENTER].clone()),
            (Obj::Foreign, _) => Some(self.ref_main[orgs::SCHULDNERBERATUNG].clone()),
            (Obj::Missing, _) => Some(random_id()),
        }
    }

    /// A request to erase: the caller's own, another recipient's, or a random id.
    fn data_request_for(&self, who: Who, obj: Obj) -> Option<String> {
        match obj {
            Obj::Own => who.org().and_then(|o| self.data_requests.get(o)).cloned(),
            Obj::Foreign if who.is(orgs::JOBCENTER) => Some(self.data_requests[orgs::SCHULDNERBERATUNG].clone()),
            Obj::Foreign => Some(self.data_requests[orgs::JOBCENTER].clone()),
            Obj::Missing => Some(random_id()),
            Obj::Call => None,
        }
    }

    /// A notice: the housing company's own (open), one of another company or taken up by another
    /// Fachstelle, or a random id. The Fachstelle's own is made fresh by the caller.
    fn notice_for(&self, who: Who, obj: Obj) -> Option<String> {
        match obj {
            Obj::Own if who.is(orgs::WOHNBAU) => Some(self.notice_open.clone()),
            Obj::Own | Obj::Call => None,
            Obj::Foreign if who.is(orgs::FACHSTELLE) => Some(self.notice_f2_taken.clone()),
            Obj::Foreign if who.is(orgs::WOHNBAU) => Some(self.notice_w2.clone()),
            Obj::Foreign => Some(self.notice_open.clone()),
            Obj::Missing => Some(random_id()),
        }
    }

    /// A delivery: of the Fachstelle's case, of another Fachstelle's (or, for everyone else, the
    /// Fachstelle's), or a random id.
    fn delivery_for(&self, who: Who, obj: Obj) -> Option<String> {
        match obj {
            Obj::Own if who.is(orgs::FACHSTELLE) => Some(self.delivery_main.clone()),
            Obj::Own | Obj::Call => None,
            Obj::Foreign if who.is(orgs::FACHSTELLE) => Some(self.delivery_f2.clone()),
            Obj::Foreign => Some(self.delivery_main.clone()),
            Obj::Missing => Some(random_id()),
        }
    }

    /// The referral a delivery listing is filtered by (`Call`: no filter).
    fn delivery_filter(&self, who: Who, obj: Obj) -> Option<String> {
        match obj {
            Obj::Call => Some(String::new()),
            Obj::Own if who.is(orgs::FACHSTELLE) => Some(self.ref_main[MAIL].clone()),
            Obj::Own => None,
            Obj::Foreign if who.is(orgs::FACHSTELLE) => Some(self.ref_f2_mail.clone()),
            Obj::Foreign => Some(self.ref_main[MAIL].clone()),
            Obj::Missing => Some(random_id()),
        }
    }

    /// The tenancy references a notice status listing is filtered by (`Call`: no filter).
    fn notice_filter(&self, who: Who, obj: Obj) -> Option<Vec<String>> {
        match obj {
            Obj::Call => Some(vec![]),
            Obj::Own if who.is(orgs::WOHNBAU) => Some(vec![self.notice_open_ref.clone()]),
            Obj::Own => None,
            Obj::Foreign => Some(vec![self.notice_w2_ref.clone()]),
            Obj::Missing => Some(vec![format!("MX-NIRGENDS-{}", short())]),
        }
    }

    /// A fresh referral from the Fachstelle to `recipient` on the main case.
    async fn fresh_referral(&mut self, recipient: &str) -> String {
        let r =
            create_referral(&self.hub, &self.case_main.id, recipient, category_for(recipient), &[D::Identity]).await;
        self.parties.insert(r.id.clone(), (orgs::FACHSTELLE.to_owned(), recipient.to_owned()));
        r.id
    }

    // ---- leak checks: what an OK answer must not contain ----

    fn foreign_case(&self, who: Who, case_id: &str) -> Option<String> {
        let me = who.org().unwrap_or_default();
        match self.case_owner.get(case_id) {
            Some(owner) if owner != me => Some(format!("case {case_id} of {owner}")),
            _ => None,
        }
    }

    fn foreign_referral(&self, who: Who, referral_id: &str) -> Option<String> {
        let me = who.org().unwrap_or_default();
        match self.parties.get(referral_id) {
            Some((s, r)) if s != me && r != me => Some(format!("referral {referral_id} from {s} to {r}")),
            _ => None,
        }
    }
}

async fn submit_notice(hub: &TestHub, org: &str, n: ArrearsNotice) -> String {
    NoticeServiceClient::new(chan(hub, org).await)
        .submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(n) })
        .await
        .unwrap_or_else(|s| panic!("SubmitArrearsNotice by {org}: {s:?}"))
        .into_inner()
        .result
        .expect("result")
        .notice_id
}

/// The caller's event backlog (until the stream is quiet for a moment).
async fn event_backlog(ch: Channel) -> Result<Vec<Event>, Status> {
    let mut stream = EventServiceClient::new(ch).subscribe(SubscribeRequest { after_cursor: 0 }).await?.into_inner();
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
            Err(_) | Ok(Ok(None)) => return Ok(out),
            Ok(Err(s)) => return Err(s),
            Ok(Ok(Some(m))) => out.extend(m.event),
        }
        if out.len() >= 10_000 {
            return Ok(out);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One cell
// ---------------------------------------------------------------------------------------------

/// Makes the call of one cell; `None` when the cell does not exist (no such object for this caller).
/// `Ok` carries what the answer leaked (empty: nothing).
#[allow(clippy::too_many_lines)]
async fn call(fx: &mut Fx, row: &Row, who: Who, obj: Obj) -> Option<Got> {
    let ch = fx.chan(who);
    let me = who.org().unwrap_or_default().to_owned();
    let got: Got = match (row.method, row.variant) {
        // ---- DirectoryService ----
        ("RegisterOrganisation", _) => {
            let s = spec(
                &format!("matrix-neu-{}", short()),
                OrganisationKind::SocialWorkProvider,
                &[ReferralCategory::SocialPedagogicalSupport],
                None,
            );
            DirectoryServiceClient::new(ch)
                .register_organisation(RegisterOrganisationRequest { idempotency_key: idem(), organisation: Some(s) })
                .await
                .map(none)
        }
        ("UpdateOrganisation", _) => {
            let id = Fx::org_for(who, obj, TARGET)?;
            let s = if obj == Obj::Missing {
                spec(&id, OrganisationKind::SocialWorkProvider, &[ReferralCategory::SocialPedagogicalSupport], None)
            } else {
                let o = DirectoryServiceClient::new(fx.operator.clone())
                    .get_organisation(GetOrganisationRequest { organisation_id: id.clone() })
                    .await
                    .expect("GetOrganisation by the operator")
                    .into_inner()
                    .organisation
                    .expect("organisation");
                spec_of(&o)
            };
            DirectoryServiceClient::new(ch)
                .update_organisation(UpdateOrganisationRequest { idempotency_key: idem(), organisation: Some(s) })
                .await
                .map(none)
        }
        ("DeactivateOrganisation", _) => {
            let id = Fx::org_for(who, obj, TARGET_OFF)?;
            DirectoryServiceClient::new(ch)
                .deactivate_organisation(DeactivateOrganisationRequest { idempotency_key: idem(), organisation_id: id })
                .await
                .map(none)
        }
        ("ReactivateOrganisation", _) => {
            let id = Fx::org_for(who, obj, TARGET_ON)?;
            DirectoryServiceClient::new(ch)
                .reactivate_organisation(ReactivateOrganisationRequest { idempotency_key: idem(), organisation_id: id })
                .await
                .map(none)
        }
        ("GetOrganisation", _) => {
            let id = Fx::org_for(who, obj, TARGET)?;
            DirectoryServiceClient::new(ch)
                .get_organisation(GetOrganisationRequest { organisation_id: id.clone() })
                .await
                .map(|r| {
                    let got = r.into_inner().organisation.map(|o| o.id).unwrap_or_default();
                    if got == id { vec![] } else { vec![format!("asked for {id}, got {got}")] }
                })
        }
        ("ListOrganisations", _) => DirectoryServiceClient::new(ch)
            .list_organisations(ListOrganisationsRequest { kind: 0, include_inactive: true })
            .await
            .map(none),
        // Nothing stated (every category open): the call changes only the caller's own entry, and
        // the answer must be that entry.
        ("SetCapacity", _) => DirectoryServiceClient::new(ch)
            .set_capacity(SetCapacityRequest { idempotency_key: idem(), capacities: vec![], office_hours: None })
            .await
            .map(|r| {
                let got = r.into_inner().organisation.map(|o| o.id).unwrap_or_default();
                if got == me { vec![] } else { vec![format!("changed {got}, not the caller's own entry")] }
            }),

        // ---- CaseService ----
        ("OpenCase", _) => {
            let r = CaseServiceClient::new(ch)
                .open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(details()), initial_stage: None })
                .await;
            r.map(|r| {
                let c = r.into_inner().case.expect("case");
                fx.case_owner.insert(c.id.clone(), c.owner_organisation_id.clone());
                owner_leak(&c, &me)
            })
        }
        ("UpdateCase", _) => {
            let c = fx.case_for(who, obj)?;
            CaseServiceClient::new(ch)
                .update_case(UpdateCaseRequest { idempotency_key: idem(), case_id: c.id.clone(), details: c.details })
                .await
                .map(|r| owner_leak(&r.into_inner().case.expect("case"), &me))
        }
        ("RecordThreatStage", _) => {
            let c = fx.case_for(who, obj)?;
            CaseServiceClient::new(ch)
                .record_threat_stage(RecordThreatStageRequest {
                    idempotency_key: idem(),
                    case_id: c.id,
                    entry: Some(stage_entry()),
                })
                .await
                .map(|r| owner_leak(&r.into_inner().case.expect("case"), &me))
        }
        ("CloseCase", _) => {
            let case_id = if obj == Obj::Own && who.is(orgs::FACHSTELLE) {
                // Closing is final: a fresh case.
                let c = open_case(&fx.hub).await;
                fx.case_owner.insert(c.id.clone(), orgs::FACHSTELLE.to_owned());
                c.id
            } else {
                fx.case_for(who, obj)?.id
            };
            CaseServiceClient::new(ch)
                .close_case(CloseCaseRequest {
                    idempotency_key: idem(),
                    case_id,
                    outcome: CaseOutcome::KeinKontakt as i32,
                    rescue_means: 0,
                    note: String::new(),
                    confirm_open_items: true,
                })
                .await
                .map(|r| owner_leak(&r.into_inner().case.expect("case"), &me))
        }
        ("RestrictProcessing" | "LiftRestriction", _) => {
            let lift = row.method == "LiftRestriction";
            let case_id = if obj == Obj::Own && who.is(orgs::FACHSTELLE) {
                // A fresh case, restricted first when the cell lifts, so other cells keep theirs.
                let c = open_case(&fx.hub).await;
                fx.case_owner.insert(c.id.clone(), orgs::FACHSTELLE.to_owned());
                if lift {
                    CaseServiceClient::new(ch.clone())
                        .restrict_processing(RestrictProcessingRequest {
                            idempotency_key: idem(),
                            case_id: c.id.clone(),
                            reason: "Richtigkeit bestritten (synthetisch)".into(),
                        })
                        .await
                        .expect("restrict before lifting");
                }
                c.id
            } else {
                fx.case_for(who, obj)?.id
            };
            let mut cases = CaseServiceClient::new(ch);
            let answer = if lift {
                cases
                    .lift_restriction(LiftRestrictionRequest { idempotency_key: idem(), case_id })
                    .await
                    .map(|r| r.into_inner().case)
            } else {
                cases
                    .restrict_processing(RestrictProcessingRequest {
                        idempotency_key: idem(),
                        case_id,
                        reason: "Richtigkeit bestritten (synthetisch)".into(),
                    })
                    .await
                    .map(|r| r.into_inner().case)
            };
            answer.map(|c| owner_leak(&c.expect("case"), &me))
        }
        ("EraseCase", _) => {
            let case_id = if obj == Obj::Own && who.is(orgs::FACHSTELLE) {
                // Erasure is final and needs a closed case: a fresh one.
                let c = open_case(&fx.hub).await;
                fx.case_owner.insert(c.id.clone(), orgs::FACHSTELLE.to_owned());
                CaseServiceClient::new(ch.clone())
                    .close_case(CloseCaseRequest {
                        idempotency_key: idem(),
                        case_id: c.id.clone(),
                        outcome: CaseOutcome::KeinKontakt as i32,
                        rescue_means: 0,
                        note: String::new(),
                        confirm_open_items: true,
                    })
                    .await
                    .expect("close before erasing");
                c.id
            } else {
                fx.case_for(who, obj)?.id
            };
            CaseServiceClient::new(ch)
                .erase_case(EraseCaseRequest { idempotency_key: idem(), case_id })
                .await
                // The response holds ids and legal bases only: nothing to leak.
                .map(|_| Vec::new())
        }
        ("GetCase", _) => {
            let c = fx.case_for(who, obj)?;
            CaseServiceClient::new(ch)
                .get_case(GetCaseRequest { case_id: c.id.clone() })
                .await
                .map(|r| owner_leak(&r.into_inner().case.expect("case"), &me))
        }
        ("ListCases", _) => CaseServiceClient::new(ch).list_cases(ListCasesRequest::default()).await.map(|r| {
            r.into_inner()
                .cases
                .iter()
                .filter_map(|c| fx.foreign_case(who, &c.id))
                .map(|l| format!("lists {l}"))
                .collect()
        }),

        // ---- ConsentService ----
        ("RecordConsent", _) => {
            let c = fx.case_for(who, obj)?;
            let req = consent_request(&c, &[orgs::JOBCENTER], &[D::Identity], &fx.hub.date_in_days(30));
            ConsentServiceClient::new(ch).record_consent(req).await.map(|r| {
                let k = r.into_inner().consent.expect("consent");
                fx.foreign_case(who, &k.case_id).map(|l| format!("consent recorded on {l}")).into_iter().collect()
            })
        }
        ("RevokeConsent", _) => {
            let consent_id = if obj == Obj::Own && who.is(orgs::FACHSTELLE) {
                // Revoking is final: a fresh consent no referral relies on.
                record_consent(&fx.hub, &fx.case_other, &[MAIL], &[D::Contact]).await.id
            } else {
                fx.consent_for(who, obj)?
            };
            ConsentServiceClient::new(ch)
                .revoke_consent(RevokeConsentRequest { idempotency_key: idem(), consent_id, note: String::new() })
                .await
                .map(|r| {
                    let k = r.into_inner().consent.expect("consent");
                    fx.foreign_case(who, &k.case_id).map(|l| format!("consent revoked on {l}")).into_iter().collect()
                })
        }
        ("ListConsents", _) => {
            let c = fx.case_for(who, obj)?;
            ConsentServiceClient::new(ch).list_consents(ListConsentsRequest { case_id: c.id.clone() }).await.map(|r| {
                r.into_inner()
                    .consents
                    .iter()
                    .filter(|k| k.case_id != c.id)
                    .map(|k| format!("consent {} of case {}", k.id, k.case_id))
                    .collect()
            })
        }

        // ---- ReferralService ----
        ("CreateReferral", _) => {
            let c = fx.case_for(who, obj)?;
            let req = referral_request(&fx.hub, &c.id, orgs::JOBCENTER, category_for(orgs::JOBCENTER), &[D::Identity]);
            ReferralServiceClient::new(ch).create_referral(req).await.map(|r| {
                let r = r.into_inner().referral.expect("referral");
                fx.parties
                    .insert(r.id.clone(), (r.sender_organisation_id.clone(), r.recipient_organisation_id.clone()));
                fx.foreign_case(who, &r.case_id).map(|l| format!("referral created on {l}")).into_iter().collect()
            })
        }
        ("GetReferral", _) => {
            let id = fx.referral_for(who, obj)?;
            ReferralServiceClient::new(ch)
                .get_referral(GetReferralRequest { referral_id: id.clone() })
                .await
                .map(|r| referral_leak(&r.into_inner().referral.expect("referral"), &id, &me))
        }
        ("ListReferrals", mailbox) => {
            let mb = match mailbox {
                "INBOX" => Mailbox::Inbox,
                "OUTBOX" => Mailbox::Outbox,
                _ => Mailbox::All,
            };
            ReferralServiceClient::new(ch)
                .list_referrals(ListReferralsRequest { mailbox: mb as i32, page_size: 500, ..Default::default() })
                .await
                .map(|r| {
                    let mut leaks = Vec::new();
                    for s in &r.into_inner().referrals {
                        let mine = match mb {
                            Mailbox::Inbox => s.recipient_organisation_id == me,
                            Mailbox::Outbox => s.sender_organisation_id == me,
                            _ => true,
                        };
                        if !mine {
                            leaks.push(format!("{mailbox} lists referral {} not addressed that way to {me}", s.id));
                        }
                        if let Some(l) = fx.foreign_referral(who, &s.id) {
                            leaks.push(format!("lists {l}"));
                        } else if !fx.parties.contains_key(&s.id)
                            && let Some(l) = fx.foreign_case(who, &s.case_id)
                        {
                            leaks.push(format!(
                                "lists referral {} ({} -> {}) of {l}",
                                s.id, s.sender_organisation_id, s.recipient_organisation_id
                            ));
                        }
                    }
                    leaks
                })
        }
        ("TransitionReferral", mv) => {
            let mv = if mv == "ACKNOWLEDGE" { ReferralMove::Acknowledge } else { ReferralMove::Cancel };
            // A move that may succeed works on a fresh referral (moves change state for good).
            let id = match (obj, who) {
                (Obj::Own, Who::Org(orgs::FACHSTELLE)) if mv == ReferralMove::Cancel => {
                    fx.fresh_referral(orgs::JOBCENTER).await
                }
                (Obj::Own, Who::Org(o)) if mv == ReferralMove::Acknowledge && o != orgs::FACHSTELLE => {
                    fx.fresh_referral(o).await
                }
                _ => fx.referral_for(who, obj)?,
            };
            ReferralServiceClient::new(ch)
                .transition_referral(move_request(&id, mv))
                .await
                .map(|r| referral_leak(&r.into_inner().referral.expect("referral"), &id, &me))
        }
        ("AddNote", _) => {
            let id = fx.referral_for(who, obj)?;
            ReferralServiceClient::new(ch)
                .add_note(AddNoteRequest {
                    idempotency_key: idem(),
                    referral_id: id.clone(),
                    text: "Matrix-Notiz (synthetisch)".into(),
                })
                .await
                .map(|r| {
                    let n = r.into_inner().note.expect("note");
                    if n.referral_id == id { vec![] } else { vec![format!("note on referral {}", n.referral_id)] }
                })
        }
        ("ChangeReplyBy", _) => {
            let id = fx.referral_for(who, obj)?;
            ReferralServiceClient::new(ch)
                .change_reply_by(ChangeReplyByRequest {
                    idempotency_key: idem(),
                    referral_id: id.clone(),
                    reply_by: fx.hub.date_in_days(20),
                    message: "Matrix (synthetisch)".into(),
                })
                .await
                .map(|r| referral_leak(&r.into_inner().referral.expect("referral"), &id, &me))
        }
        ("ListDataRequests", _) => ReferralServiceClient::new(ch)
            .list_data_requests(ListDataRequestsRequest { include_confirmed: true })
            .await
            .map(|r| {
                r.into_inner()
                    .data_requests
                    .iter()
                    .filter(|d| d.recipient_organisation_id != me)
                    .map(|d| format!("request {} to {}", d.id, d.recipient_organisation_id))
                    .collect()
            }),
        ("ConfirmDataRequest", _) => {
            let id = fx.data_request_for(who, obj)?;
            ReferralServiceClient::new(ch)
                .confirm_data_request(ConfirmDataRequestRequest { data_request_id: id.clone() })
                .await
                .map(|r| {
                    let d = r.into_inner().data_request.expect("data request");
                    if d.id == id && d.recipient_organisation_id == me {
                        vec![]
                    } else {
                        vec![format!("confirmed request {} to {}", d.id, d.recipient_organisation_id)]
                    }
                })
        }
        ("ListNotes", _) => {
            let id = fx.referral_for(who, obj)?;
            ReferralServiceClient::new(ch).list_notes(ListNotesRequest { referral_id: id.clone() }).await.map(|r| {
                r.into_inner()
                    .notes
                    .iter()
                    .filter(|n| n.referral_id != id)
                    .map(|n| format!("note {} of referral {}", n.id, n.referral_id))
                    .collect()
            })
        }

        // ---- NoticeService ----
        ("SubmitArrearsNotice", _) => NoticeServiceClient::new(ch)
            .submit_arrears_notice(SubmitArrearsNoticeRequest {
                idempotency_key: idem(),
                notice: Some(pseudonymous_notice(&format!("MX-{}", short()))),
            })
            .await
            .map(|r| {
                let id = r.into_inner().result.expect("result").notice_id;
                fx.reporter.insert(id, me.clone());
                vec![]
            }),
        ("StreamArrearsNotices", _) => {
            let records = vec![StreamArrearsNoticesRequest {
                record_ref: "1".into(),
                notice: Some(pseudonymous_notice(&format!("MX-{}", short()))),
            }];
            NoticeServiceClient::new(ch).stream_arrears_notices(tokio_stream::iter(records)).await.map(|r| {
                let r = r.into_inner();
                for x in &r.results {
                    fx.reporter.insert(x.notice_id.clone(), me.clone());
                }
                let rejected = r.summary.map_or(0, |s| s.rejected);
                // Not a leak, but the request was meant to be valid.
                if rejected == 0 { vec![] } else { vec![format!("fixture invalid: {:?}", r.results)] }
            })
        }
        ("WithdrawArrearsNotice", _) => {
            // A withdrawal changes the notice for good: the company's own is a fresh one.
            let reference = match obj {
                Obj::Own if who.is(orgs::WOHNBAU) => {
                    let r = format!("MX-BEGLICHEN-{}", short());
                    submit_notice(&fx.hub, orgs::WOHNBAU, consented_notice(&r)).await;
                    r
                }
                // Everyone else is refused before any look-up.
                Obj::Own | Obj::Call => fx.notice_open_ref.clone(),
                Obj::Foreign if who.is(orgs::WOHNBAU) => fx.notice_w2_ref.clone(),
                Obj::Foreign => fx.notice_open_ref.clone(),
                Obj::Missing => format!("MX-NIRGENDS-{}", short()),
            };
            NoticeServiceClient::new(ch)
                .withdraw_arrears_notice(WithdrawArrearsNoticeRequest {
                    idempotency_key: idem(),
                    tenancy_reference: reference,
                })
                .await
                .map(|_| vec![])
        }
        ("ListNoticeStatuses", _) => {
            let refs = fx.notice_filter(who, obj)?;
            NoticeServiceClient::new(ch)
                .list_notice_statuses(ListNoticeStatusesRequest { tenancy_references: refs })
                .await
                .map(|r| {
                    let statuses = r.into_inner().statuses;
                    let mut leaks: Vec<String> = statuses
                        .iter()
                        .filter_map(|s| match fx.reporter.get(&s.notice_id) {
                            Some(rep) if *rep != me => {
                                Some(format!("status of notice {} ({}) of {rep}", s.notice_id, s.tenancy_reference))
                            }
                            _ => None,
                        })
                        .collect();
                    if obj == Obj::Own && !statuses.iter().any(|s| s.notice_id == fx.notice_open) {
                        leaks.push("the caller's own notice is missing from the answer".into());
                    }
                    leaks
                })
        }
        ("RecordCourtNotice", _) => NoticeServiceClient::new(ch)
            .record_court_notice(RecordCourtNoticeRequest {
                idempotency_key: idem(),
                notice: Some(court_notice(&format!("7 C {}/26", short()), "2026-01-07")),
            })
            .await
            .map(none),
        ("ListOpenNotices", _) => {
            NoticeServiceClient::new(ch).list_open_notices(ListOpenNoticesRequest { limit: 0 }).await.map(none)
        }
        ("TakeUpNotice", _) => {
            let id = if obj == Obj::Own && who.is(orgs::FACHSTELLE) {
                // Taking up is final: a fresh notice.
                let id = submit_notice(&fx.hub, orgs::WOHNBAU, consented_notice(&format!("MX-NEU-{}", short()))).await;
                fx.reporter.insert(id.clone(), orgs::WOHNBAU.to_owned());
                id
            } else {
                fx.notice_for(who, obj)?
            };
            NoticeServiceClient::new(ch)
                .take_up_notice(TakeUpNoticeRequest {
                    idempotency_key: idem(),
                    notice_id: id,
                    details: None,
                    ..Default::default()
                })
                .await
                .map(|r| {
                    let c = r.into_inner().case.expect("case");
                    let leak = fx.foreign_case(who, &c.id);
                    fx.case_owner.entry(c.id.clone()).or_insert_with(|| c.owner_organisation_id.clone());
                    leak.map(|l| format!("linked to {l}")).into_iter().collect()
                })
        }

        // ---- EventService ----
        ("Subscribe", _) => event_backlog(ch).await.map(|events| {
            let mut leaks = BTreeSet::new();
            for e in &events {
                if !e.referral_id.is_empty() {
                    if let Some(l) = fx.foreign_referral(who, &e.referral_id) {
                        leaks.insert(format!("event {} about {l}", event_kind(e)));
                    }
                } else if who.is(orgs::FACHSTELLE)
                    && let Some(l) = fx.foreign_case(who, &e.case_id)
                {
                    leaks.insert(format!("event {} about {l}", event_kind(e)));
                }
            }
            leaks.into_iter().collect()
        }),

        // ---- DeliveryService ----
        ("ListDeliveries", _) => {
            let referral_id = fx.delivery_filter(who, obj)?;
            DeliveryServiceClient::new(ch)
                .list_deliveries(ListDeliveriesRequest { referral_id, ..Default::default() })
                .await
                .map(|r| {
                    if who == Who::Operator {
                        return vec![];
                    }
                    r.into_inner()
                        .deliveries
                        .iter()
                        .filter_map(|d| fx.foreign_case(who, &d.case_id).map(|l| format!("delivery {} of {l}", d.id)))
                        .collect()
                })
        }
        ("RequeueDelivery", _) => {
            let id = fx.delivery_for(who, obj)?;
            DeliveryServiceClient::new(ch)
                .requeue_delivery(RequeueDeliveryRequest { delivery_id: id, idempotency_key: idem() })
                .await
                .map(none)
        }
        _ => Err(Status::internal(format!("the matrix has no call for {}", row.label()))),
    };
    Some(got)
}

/// An OK answer without anything to check.
fn none<T>(_: T) -> Vec<String> {
    Vec::new()
}

fn event_kind(e: &Event) -> &'static str {
    EventKind::try_from(e.kind).map_or("?", |k| k.as_str_name())
}

/// A case in an OK answer must be the caller's.
fn owner_leak(c: &Case, me: &str) -> Vec<String> {
    if c.owner_organisation_id == me { vec![] } else { vec![format!("case {} of {}", c.id, c.owner_organisation_id)] }
}

/// A referral in an OK answer must be the one asked for, and the caller must be party to it.
fn referral_leak(r: &Referral, asked: &str, me: &str) -> Vec<String> {
    let mut leaks = Vec::new();
    if r.id != asked {
        leaks.push(format!("asked for referral {asked}, got {}", r.id));
    }
    if r.sender_organisation_id != me && r.recipient_organisation_id != me {
        leaks.push(format!(
            "referral {} from {} to {} shown to {me}",
            r.id, r.sender_organisation_id, r.recipient_organisation_id
        ));
    }
    leaks
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

struct Mismatch {
    rpc: String,
    who: Who,
    obj: String,
    expected: String,
    got: String,
}

fn describe(got: &Got) -> String {
    match got {
        Ok(leaks) if leaks.is_empty() => "OK".to_owned(),
        Ok(leaks) => format!("OK with LEAK: {}", leaks.join("; ")),
        Err(s) => format!("{:?}: {}", s.code(), s.message()),
    }
}

#[tokio::test]
async fn authorisation_matrix_every_rpc_every_caller_own_foreign_missing() {
    let started = std::time::Instant::now();

    // The API's RPCs against the table, both ways.
    let api = api_rpcs();
    assert!(api.len() >= 30, "the descriptor lists the API's RPCs: {api:?}");
    let mut gaps = Vec::new();
    for (service, method) in &api {
        if !TABLE.iter().any(|r| r.service == service.as_str() && r.method == method.as_str()) {
            gaps.push(format!("{service}/{method} has no row in the authorisation matrix"));
        }
    }
    for r in TABLE {
        if !api.iter().any(|(s, m)| s.as_str() == r.service && m.as_str() == r.method) {
            gaps.push(format!("{} is in the matrix but not in the API", r.label()));
        }
    }
    assert!(gaps.is_empty(), "the matrix must cover exactly the API:\n{}", gaps.join("\n"));

    let mut fx = Fx::setup().await;
    let setup_took = started.elapsed();
    let mut cells = 0usize;
    // AUTHZ_MATRIX_PRINT=1 prints every cell (with --nocapture).
    let print_cells = std::env::var_os("AUTHZ_MATRIX_PRINT").is_some();
    let mut mismatches: Vec<Mismatch> = Vec::new();
    // Rows in the order of the API, each with every caller and object.
    let rows: Vec<&Row> = api
        .iter()
        .flat_map(|(s, m)| TABLE.iter().filter(move |r| r.service == s.as_str() && r.method == m.as_str()))
        .collect();
    for row in &rows {
        for who in CALLERS {
            let mut foreign: Option<(Expected, Got)> = None;
            for &obj in row.objects {
                let want = expected(row.rule, who, obj);
                let Some(got) = call(&mut fx, row, who, obj).await else { continue };
                cells += 1;
                if print_cells {
                    println!("{} | {who} | {obj} | expected {want:?} | got {}", row.label(), describe(&got));
                }
                let ok = match (&got, want) {
                    (Ok(leaks), Expected::Ok) => leaks.is_empty(),
                    (Err(s), w) => s.code() == w.code(),
                    (Ok(_), _) => false,
                };
                if !ok {
                    mismatches.push(Mismatch {
                        rpc: row.label(),
                        who,
                        obj: obj.to_string(),
                        expected: format!("{want:?}"),
                        got: describe(&got),
                    });
                }
                // Someone else's object must not be told apart from a random id.
                match obj {
                    Obj::Foreign => foreign = Some((want, got)),
                    Obj::Missing => {
                        if let Some((fwant, Err(f))) = &foreign
                            && let Err(m) = &got
                            && *fwant == want
                            && want != Expected::Ok
                            && f.code() == m.code()
                            && f.message() != m.message()
                        {
                            mismatches.push(Mismatch {
                                rpc: row.label(),
                                who,
                                obj: "foreign vs missing".into(),
                                expected: "the same answer".into(),
                                got: format!("{:?} {:?} vs {:?}", f.code(), f.message(), m.message()),
                            });
                        }
                    }
                    Obj::Call | Obj::Own => {}
                }
            }
        }
    }

    let took = started.elapsed();
    println!(
        "authorisation matrix ({}): {cells} cells checked = {} RPCs ({} rows) x {} callers x own/foreign/missing; \
         {} mismatches; setup {setup_took:.1?}, total {took:.1?}",
        fx.hub.backend(),
        api.len(),
        rows.len(),
        CALLERS.len(),
        mismatches.len(),
    );
    assert!(cells > MIN_CELLS, "the matrix shrank: {cells} cells, more than {MIN_CELLS} expected");
    if !mismatches.is_empty() {
        let lines: Vec<String> = mismatches
            .iter()
            .map(|m| format!("  {} | {} | {} | expected {} | got {}", m.rpc, m.who, m.obj, m.expected, m.got))
            .collect();
        panic!(
            "{} of {cells} authorisation cells failed (rpc | caller | object | expected | got):\n{}",
            mismatches.len(),
            lines.join("\n")
        );
    }
}
