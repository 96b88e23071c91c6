//! Proto <-> domain, in one place. Inbound conversions parse every field and name it in the error;
//! outbound conversions name every field, so a new proto field shows up here first.

use crate::domain::org::{Capacity, CategoryCapacity};
use hub_proto::v1 as pb;

use crate::domain::FieldError;
use crate::domain::case::{Address, Case, CaseDetails, Contact, Person, Rent, StageEntry, Tenancy};
use crate::domain::consent::Consent;
use crate::domain::data_request::{DataRequest, DataRequestAsk, DataRequestCause};
use crate::domain::event::Event;
use crate::domain::ids::{Cents, OrgId, PersonId};
use crate::domain::mail::{JobStatus, MailJob, MailKind};
use crate::domain::note::Note;
use crate::domain::org::{Delivery, EmailAddress, OrgSpec, Organisation};
use crate::domain::projection::CaseView;
use crate::domain::referral::{Completion, Move, Referral, ReferralState, Transition};
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{
    CaseOutcome, CaseStatus, Channel, CompletionResult, ConsentForm, ConsentStatus, DataCategory, EventKind, Gender,
    HouseholdType, OrgKind, PersonRole, ReasonCode, ReferralCategory, RescueMeans, RouteIn, Stadtbezirk, ThreatStage,
};
use crate::service::{CaseSummary, NewStage, ReferralView};

macro_rules! enum_map {
    ($to:ident, $from:ident, $dom:ty, $pb:ty, [$($v:ident),* $(,)?]) => {
        /// Domain value to its proto number.
        pub fn $to(d: $dom) -> i32 {
            match d { $(<$dom>::$v => <$pb>::$v as i32),* }
        }
        /// Proto number to the domain value; UNSPECIFIED and unknown numbers are errors.
        pub fn $from(v: i32, field: &str) -> Result<$dom, FieldError> {
            match <$pb>::try_from(v) {
                $(Ok(<$pb>::$v) => Ok(<$dom>::$v),)*
                _ => Err(FieldError::new(field, "must be set to one of the defined values")),
            }
        }
    };
}

enum_map!(
    org_kind_pb,
    org_kind,
    OrgKind,
    pb::OrganisationKind,
    [Fachstelle, Jobcenter, SocialServices, DebtCounselling, HousingCompany, SocialWorkProvider, WomensCounselling]
);
enum_map!(channel_pb, channel, Channel, pb::Channel, [Grpc, Email]);
enum_map!(
    referral_category_pb,
    referral_category,
    ReferralCategory,
    pb::ReferralCategory,
    [
        RentDebtTakeoverSgb2,
        RentDebtTakeoverSgb12,
        DirectRentPayment,
        BenefitApplication,
        DebtCounselling,
        SocialPedagogicalSupport,
        Spd,
        Ksd,
        FlatClearing,
        WomensCounselling,
        LegalAdvice,
        ReplacementHousing,
        EmergencyAccommodation,
        LandlordAgreement
    ]
);
enum_map!(
    data_category_pb,
    data_category,
    DataCategory,
    pb::DataCategory,
    [Identity, Contact, Tenancy, Arrears, IncomeBenefits, Health, CounsellingNotes, Outcome]
);
enum_map!(
    state_pb,
    state,
    ReferralState,
    pb::ReferralState,
    [Requested, Received, Accepted, Declined, InProgress, OnHold, Completed, Failed, Cancelled]
);
enum_map!(
    move_pb,
    referral_move,
    Move,
    pb::ReferralMove,
    [Acknowledge, Accept, Decline, Start, Hold, Complete, Fail, Cancel, Reopen]
);
enum_map!(
    reason_pb,
    reason,
    ReasonCode,
    pb::ReasonCode,
    [
        NotResponsible,
        NoCapacity,
        NoEntitlement,
        HouseholdUnreachable,
        HelpRefused,
        Duplicate,
        ConsentRevoked,
        ConsentExpired,
        CaseClosed,
        Other
    ]
);
enum_map!(
    result_pb,
    completion_result,
    CompletionResult,
    pb::CompletionResult,
    [ApprovedLoan, ApprovedGrant, AgreementReached, ServiceProvided, Rejected]
);
enum_map!(
    stage_pb,
    threat_stage,
    ThreatStage,
    pb::ThreatStage,
    [
        Rueckstand,
        Mahnung,
        KuendigungAngedroht,
        KuendigungFristlos,
        KuendigungOrdentlich,
        KlageEingereicht,
        Rechtshaengig,
        Urteil,
        Versaeumnisurteil,
        Vergleich,
        Raeumungsfrist,
        Raeumungstermin,
        Geraeumt
    ]
);
enum_map!(role_pb, role, PersonRole, pb::PersonRole, [MainTenant, CoTenant, Partner, Child, Other]);
enum_map!(gender_pb, gender, Gender, pb::Gender, [Female, Male, Diverse, Undisclosed]);
enum_map!(
    route_pb,
    route_in,
    RouteIn,
    pb::RouteIn,
    [
        HousingCompanyNotice,
        CourtNotice,
        SelfReferral,
        DistrictConsultation,
        Jobcenter,
        CounsellingCentre,
        Buergeramt,
        Bailiff,
        Other
    ]
);
enum_map!(
    bezirk_pb,
    stadtbezirk,
    Stadtbezirk,
    pb::Stadtbezirk,
    [
        Mitte,
        VahrenwaldList,
        BothfeldVahrenheide,
        BuchholzKleefeld,
        MisburgAnderten,
        KirchrodeBemerodeWuelferode,
        SuedstadtBult,
        DoehrenWuelfel,
        Ricklingen,
        LindenLimmer,
        AhlemBadenstedtDavenstedt,
        HerrenhausenStoecken,
        Nord
    ]
);
enum_map!(
    household_pb,
    household_type,
    HouseholdType,
    pb::HouseholdType,
    [Single, SingleParent, Couple, CoupleWithChildren, Other]
);
enum_map!(
    outcome_pb,
    case_outcome,
    CaseOutcome,
    pb::CaseOutcome,
    [
        WohnungErhalten,
        Ersatzwohnraum,
        VerlustUnterbringung,
        VerlustPrivat,
        KeinKontakt,
        KontaktAbgebrochen,
        HilfeAbgelehnt,
        VerzogenUnbekannt,
        KeinHandlungsbedarf
    ]
);
enum_map!(
    means_pb,
    rescue_means,
    RescueMeans,
    pb::RescueMeans,
    [Sgb2Loan, Sgb12Loan, Sgb12Grant, InstalmentPlan, OwnMeans, Settlement]
);
enum_map!(form_pb, consent_form, ConsentForm, pb::ConsentForm, [Written, Electronic]);
enum_map!(
    consent_status_pb,
    consent_status,
    ConsentStatus,
    pb::ConsentStatus,
    [Active, Revoked, Expired, Ended, Superseded]
);
enum_map!(
    event_kind_pb,
    event_kind,
    EventKind,
    pb::EventKind,
    [
        ReferralCreated,
        ReferralStateChanged,
        NoteAdded,
        ConsentRevoked,
        ConsentExpired,
        CaseClosed,
        CaseOpened,
        ConsentRecorded,
        ThreatStageRecorded,
        ReferralOverdue,
        ReferralEscalated,
        DeadlineApproaching,
        NoticeReceived,
        DeliveryFailed,
        ProcessingRestricted,
        RestrictionLifted,
        CaseErased,
        CaseDataRectified
    ]
);
enum_map!(
    mail_kind_pb,
    mail_kind,
    MailKind,
    pb::MailKind,
    [
        NewReferral,
        StateChanged,
        NoteAdded,
        Reminder,
        Overdue,
        ConsentEnded,
        CaseClosed,
        ActionConfirmed,
        ProcessingRestricted,
        RestrictionLifted,
        CaseErased,
        CaseDataRectified,
        DataRequest
    ]
);
enum_map!(delivery_status_pb, delivery_status, JobStatus, pb::DeliveryStatus, [Pending, Sent, Dead]);
enum_map!(case_status_pb, case_status, CaseStatus, pb::CaseStatus, [Open, Closed]);

/// An optional enum: 0 (UNSPECIFIED) is `None`.
pub fn optional<T>(
    v: i32,
    parse: impl Fn(i32, &str) -> Result<T, FieldError>,
    field: &str,
) -> Result<Option<T>, FieldError> {
    if v == 0 { Ok(None) } else { parse(v, field).map(Some) }
}

/// A list of enum values: each set, no duplicates.
pub fn enum_list<T: PartialEq>(
    vs: &[i32],
    parse: impl Fn(i32, &str) -> Result<T, FieldError>,
    field: &str,
) -> Result<Vec<T>, FieldError> {
    let mut out = Vec::with_capacity(vs.len());
    for (i, v) in vs.iter().enumerate() {
        let x = parse(*v, &format!("{field}[{i}]"))?;
        if out.contains(&x) {
            return Err(FieldError::new(format!("{field}[{i}]"), "is listed twice"));
        }
        out.push(x);
    }
    Ok(out)
}

/// A required day.
pub fn day(s: &str, field: &str) -> Result<Day, FieldError> {
    if s.is_empty() {
        return Err(FieldError::new(field, "must be set (YYYY-MM-DD)"));
    }
    Day::parse(s).map_err(|e| e.within(field))
}

/// An optional day.
pub fn day_opt(s: &str, field: &str) -> Result<Option<Day>, FieldError> {
    Day::parse_opt(s).map_err(|e| e.within(field))
}

/// Cents, naming the field.
pub fn cents(v: i64, field: &str) -> Result<Cents, FieldError> {
    Cents::parse(v).map_err(|e| e.within(field))
}

/// An organisation id, naming the field.
pub fn org_id(s: &str, field: &str) -> Result<OrgId, FieldError> {
    OrgId::parse(s).map_err(|e| e.within(field))
}

/// An erasure to its response: what was kept and why.
pub fn erasure_to_pb(e: &crate::domain::erasure::Erasure) -> pb::EraseCaseResponse {
    pb::EraseCaseResponse {
        case_id: e.case_id.to_string(),
        erased_at: ts(e.erased_at),
        kept: e
            .kept
            .iter()
            .map(|k| pb::KeptRecord {
                what: k.what.clone(),
                legal_basis: k.legal_basis.clone(),
                keep_until: k.keep_until.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
    }
}

/// A protobuf timestamp.
pub fn ts(i: Instant) -> Option<prost_types::Timestamp> {
    let ms = i.millis();
    Some(prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    })
}

// ---- directory ----

/// Organisation to proto.
pub fn org_to_pb(o: &Organisation) -> pb::Organisation {
    pb::Organisation {
        id: o.id.to_string(),
        name: o.name.clone(),
        kind: org_kind_pb(o.kind),
        accepted_categories: o.accepted.iter().map(|c| referral_category_pb(*c)).collect(),
        channel: channel_pb(o.delivery.channel()),
        channel_address: o.delivery.address().to_owned(),
        office_hours: o.office_hours.clone(),
        active: o.active,
        created_at: ts(o.created_at),
        updated_at: ts(o.updated_at),
        capacities: o.capacity.iter().map(capacity_to_pb).collect(),
        capacity_updated_at: o.capacity_updated_at.and_then(ts),
    }
}

fn capacity_to_pb(c: &CategoryCapacity) -> pb::CategoryCapacity {
    let (state, weeks) = match c.capacity {
        Capacity::Open => (pb::CapacityState::Open, 0),
        Capacity::Waitlist { weeks } => (pb::CapacityState::Waitlist, u32::from(weeks)),
        Capacity::Closed => (pb::CapacityState::Closed, 0),
    };
    pb::CategoryCapacity { category: referral_category_pb(c.category), state: state as i32, waitlist_weeks: weeks }
}

/// One category's capacity from proto; the domain checks the weeks' range and the category
/// ([`crate::domain::org::Organisation::set_capacity`]).
pub fn capacity(c: &pb::CategoryCapacity, field: &str) -> Result<CategoryCapacity, FieldError> {
    let category = referral_category(c.category, &format!("{field}.category"))?;
    let weeks = |w: u32| u8::try_from(w).unwrap_or(u8::MAX);
    let capacity = match pb::CapacityState::try_from(c.state) {
        Ok(pb::CapacityState::Open) => Capacity::Open,
        Ok(pb::CapacityState::Waitlist) => Capacity::Waitlist { weeks: weeks(c.waitlist_weeks) },
        Ok(pb::CapacityState::Closed) => Capacity::Closed,
        Ok(pb::CapacityState::Unspecified) | Err(_) => {
            return Err(FieldError::new(format!("{field}.state"), "must be set to one of the defined values"));
        }
    };
    Ok(CategoryCapacity { category, capacity })
}

/// Organisation spec from proto. `kind_required` is false on update (the kind is fixed).
pub fn org_spec(s: Option<pb::OrganisationSpec>, kind_required: bool) -> Result<OrgSpec, FieldError> {
    let s = s.ok_or_else(|| FieldError::new("organisation", "must be set"))?;
    let kind = if kind_required {
        org_kind(s.kind, "organisation.kind")?
    } else {
        org_kind(s.kind, "organisation.kind").unwrap_or(OrgKind::Fachstelle)
    };
    let delivery = match channel(s.channel, "organisation.channel")? {
        Channel::Grpc if s.channel_address.is_empty() => Delivery::Grpc,
        Channel::Grpc => {
            return Err(FieldError::new("organisation.channel_address", "must be empty for CHANNEL_GRPC"));
        }
        Channel::Email => Delivery::Email(
            EmailAddress::parse(&s.channel_address).map_err(|e| e.within("organisation.channel_address"))?,
        ),
    };
    Ok(OrgSpec {
        id: org_id(&s.id, "organisation.id")?,
        name: s.name,
        kind,
        accepted: enum_list(&s.accepted_categories, referral_category, "organisation.accepted_categories")?,
        delivery,
        office_hours: s.office_hours,
    })
}

// ---- cases ----

fn person_to_pb(p: &Person) -> pb::Person {
    pb::Person {
        person_id: p.id.to_string(),
        role: role_pb(p.role),
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        gender: gender_pb(p.gender),
        birth_year: p.birth_year.unwrap_or(0),
    }
}

fn address_to_pb(a: &Address) -> pb::Address {
    pb::Address {
        street: a.street.clone(),
        house_number: a.house_number.clone(),
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
    }
}

fn contact_to_pb(c: &Contact) -> pb::Contact {
    pb::Contact { phone: c.phone.clone(), email: c.email.clone() }
}

fn tenancy_to_pb(t: &Tenancy) -> pb::Tenancy {
    pb::Tenancy {
        landlord_organisation_id: t.landlord.as_ref().map(ToString::to_string).unwrap_or_default(),
        tenancy_reference: t.reference.clone(),
        start_date: t.start.map(|d| d.to_string()).unwrap_or_default(),
        rent: Some(pb::RentComponents {
            base_rent_cents: t.rent.base.get(),
            service_charge_advance_cents: t.rent.service_charge_advance.get(),
            heating_advance_cents: t.rent.heating_advance.get(),
        }),
    }
}

/// Stage entry to proto.
pub fn stage_to_pb(s: &StageEntry) -> pb::ThreatStageEntry {
    pb::ThreatStageEntry {
        stage: stage_pb(s.stage),
        date: s.date.to_string(),
        end_date: s.end_date.map(|d| d.to_string()).unwrap_or_default(),
        source: s.source.clone(),
        recorded_by_organisation_id: s.recorded_by.to_string(),
    }
}

/// Stage entry from proto (`recorded_by_organisation_id` is set by the hub and ignored).
pub fn new_stage(e: &pb::ThreatStageEntry, path: &str) -> Result<NewStage, FieldError> {
    Ok(NewStage {
        stage: threat_stage(e.stage, &format!("{path}.stage"))?,
        date: day(&e.date, &format!("{path}.date"))?,
        end_date: day_opt(&e.end_date, &format!("{path}.end_date"))?,
        source: e.source.clone(),
    })
}

fn person(p: &pb::Person, path: &str) -> Result<Person, FieldError> {
    Ok(Person {
        id: if p.person_id.is_empty() {
            PersonId::unassigned()
        } else {
            PersonId::parse(&p.person_id).map_err(|e| e.within(&format!("{path}.person_id")))?
        },
        role: role(p.role, &format!("{path}.role"))?,
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        gender: gender(p.gender, &format!("{path}.gender"))?,
        birth_year: (p.birth_year != 0).then_some(p.birth_year),
    })
}

/// Case details from proto, under the field path `path`: only the conversion (enums, amounts, dates, ids).
/// Their rules are the domain's ([`CaseDetails::check`]), applied by the use case.
pub fn case_details(d: Option<pb::CaseDetails>, path: &str) -> Result<CaseDetails, FieldError> {
    let d = d.ok_or_else(|| FieldError::new(path, "must be set"))?;
    let f = |name: &str| format!("{path}.{name}");
    let persons = d
        .persons
        .iter()
        .enumerate()
        .map(|(i, p)| person(p, &format!("{path}.persons[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let a = d.address.ok_or_else(|| FieldError::new(f("address"), "must be set"))?;
    let address = Address { street: a.street, house_number: a.house_number, postal_code: a.postal_code, city: a.city };
    let c = d.contact.unwrap_or_default();
    let contact = Contact { phone: c.phone, email: c.email };
    let t = d.tenancy.ok_or_else(|| FieldError::new(f("tenancy"), "must be set"))?;
    let rent = t.rent.ok_or_else(|| FieldError::new(f("tenancy.rent"), "must be set"))?;
    let tenancy = Tenancy {
        landlord: if t.landlord_organisation_id.is_empty() {
            None
        } else {
            Some(org_id(&t.landlord_organisation_id, &f("tenancy.landlord_organisation_id"))?)
        },
        reference: t.tenancy_reference,
        start: day_opt(&t.start_date, &f("tenancy.start_date"))?,
        rent: Rent {
            base: cents(rent.base_rent_cents, &f("tenancy.rent.base_rent_cents"))?,
            service_charge_advance: cents(
                rent.service_charge_advance_cents,
                &f("tenancy.rent.service_charge_advance_cents"),
            )?,
            heating_advance: cents(rent.heating_advance_cents, &f("tenancy.rent.heating_advance_cents"))?,
        },
    };
    Ok(CaseDetails {
        persons,
        address,
        contact,
        stadtbezirk: stadtbezirk(d.stadtbezirk, &f("stadtbezirk"))?,
        tenancy,
        arrears: cents(d.arrears_cents, &f("arrears_cents"))?,
        route_in: route_in(d.route_in, &f("route_in"))?,
        schutzsperre: d.schutzsperre,
        household_type: household_type(d.household_type, &f("household_type"))?,
        income_benefits_note: d.income_benefits_note,
        health_note: d.health_note,
        counselling_note: d.counselling_note,
    })
}

fn details_to_pb(d: &CaseDetails) -> pb::CaseDetails {
    pb::CaseDetails {
        persons: d.persons.iter().map(person_to_pb).collect(),
        address: Some(address_to_pb(&d.address)),
        contact: Some(contact_to_pb(&d.contact)),
        stadtbezirk: bezirk_pb(d.stadtbezirk),
        tenancy: Some(tenancy_to_pb(&d.tenancy)),
        arrears_cents: d.arrears.get(),
        route_in: route_pb(d.route_in),
        schutzsperre: d.schutzsperre,
        household_type: household_pb(d.household_type),
        income_benefits_note: d.income_benefits_note.clone(),
        health_note: d.health_note.clone(),
        counselling_note: d.counselling_note.clone(),
    }
}

/// Case to proto (for the owning Fachstelle).
pub fn case_to_pb(c: &Case) -> pb::Case {
    pb::Case {
        id: c.id.to_string(),
        details: Some(details_to_pb(&c.details)),
        status: case_status_pb(c.status()),
        stages: c.stages.iter().map(stage_to_pb).collect(),
        outcome: c.closure.as_ref().map_or(0, |x| outcome_pb(x.outcome)),
        rescue_means: c.closure.as_ref().and_then(|x| x.rescue_means).map_or(0, means_pb),
        closure_note: c.closure.as_ref().map(|x| x.note.clone()).unwrap_or_default(),
        opened_at: ts(c.opened_at),
        closed_at: c.closure.as_ref().and_then(|x| ts(x.at)),
        owner_organisation_id: c.owner.to_string(),
        deadlines: crate::domain::deadline::for_case(c).iter().map(deadline_to_pb).collect(),
        notice_ids: c.notice_ids.iter().map(ToString::to_string).collect(),
        restriction: c.restriction.as_ref().map(|r| pb::Restriction { reason: r.reason.clone(), since: ts(r.since) }),
    }
}

/// Case summary to proto (no personal data).
pub fn case_summary_to_pb(s: &CaseSummary) -> pb::CaseSummary {
    pb::CaseSummary {
        id: s.case.id.to_string(),
        status: case_status_pb(s.case.status()),
        stadtbezirk: bezirk_pb(s.case.details.stadtbezirk),
        latest_stage: s.case.latest_stage().map_or(0, stage_pb),
        opened_at: ts(s.case.opened_at),
        open_referrals: i32::try_from(s.open_referrals).unwrap_or(i32::MAX),
    }
}

// ---- consent ----

/// Consent to proto, with expiry applied as of `today`.
pub fn consent_to_pb(c: &Consent, today: Day) -> pb::Consent {
    pb::Consent {
        id: c.id.to_string(),
        case_id: c.case_id.to_string(),
        person_ids: c.persons.iter().map(ToString::to_string).collect(),
        recipient_organisation_ids: c.recipients.iter().map(ToString::to_string).collect(),
        categories: c.categories.iter().map(|x| data_category_pb(*x)).collect(),
        purpose: pb::ConsentPurpose::Wohnungssicherung as i32,
        form: form_pb(c.form),
        evidence_reference: c.evidence.clone(),
        valid_until: c.valid_until.to_string(),
        art9_explicit: c.art9_explicit,
        secrecy_release: c.secrecy_release,
        status: consent_status_pb(c.effective_status(today)),
        recorded_at: ts(c.recorded_at),
        ended_at: c.ended_at.and_then(ts),
        replaces_consent_id: c.replaces.as_ref().map(ToString::to_string).unwrap_or_default(),
    }
}

// ---- referrals ----

fn transition_to_pb(t: &Transition) -> pb::Transition {
    pb::Transition {
        from_state: t.from.map_or(0, state_pb),
        to_state: state_pb(t.to),
        r#move: t.mv.map_or(0, move_pb),
        actor_organisation_id: t.actor.id().to_owned(),
        staff_member: t.actor.staff().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        at: ts(t.at),
        reason_code: t.reason.as_ref().and_then(|r| r.code).map_or(0, reason_pb),
        reason_text: t.reason.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
    }
}

/// Completion to proto.
pub fn completion_to_pb(c: &Completion) -> pb::CompletionOutcome {
    pb::CompletionOutcome {
        result: result_pb(c.result),
        amount_cents: c.amount.map(Cents::get),
        effective_date: c.effective_date.map(|d| d.to_string()).unwrap_or_default(),
        summary: c.summary.clone(),
    }
}

/// Completion from proto.
pub fn completion(c: Option<pb::CompletionOutcome>) -> Result<Option<Completion>, FieldError> {
    let Some(c) = c else { return Ok(None) };
    Ok(Some(Completion {
        result: completion_result(c.result, "outcome.result")?,
        amount: c.amount_cents.map(|a| cents(a, "outcome.amount_cents")).transpose()?,
        effective_date: day_opt(&c.effective_date, "outcome.effective_date")?,
        summary: c.summary,
    }))
}

fn case_view_to_pb(v: &CaseView) -> pb::CaseView {
    pb::CaseView {
        persons: v.persons.iter().map(person_to_pb).collect(),
        address: v.address.as_ref().map(address_to_pb),
        contact: v.contact.as_ref().map(contact_to_pb),
        address_withheld: v.address_withheld,
        stadtbezirk: v.stadtbezirk.map_or(0, bezirk_pb),
        tenancy: v.tenancy.as_ref().map(tenancy_to_pb),
        stages: v.stages.iter().map(stage_to_pb).collect(),
        arrears_cents: v.arrears.map(Cents::get),
        income_benefits_note: v.income_benefits_note.clone(),
        health_note: v.health_note.clone(),
        counselling_note: v.counselling_note.clone(),
        outcomes: v
            .outcomes
            .iter()
            .map(|o| pb::OutcomeSummary {
                topic: o.topic.to_owned(),
                result: result_pb(o.result),
                amount_cents: o.amount.map(Cents::get),
                effective_date: o.effective_date.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        readable_categories: v.readable.iter().map(|c| data_category_pb(*c)).collect(),
        withheld_categories: v.withheld.iter().map(|c| data_category_pb(*c)).collect(),
        persons_withheld: u32::try_from(v.persons_withheld).unwrap_or(u32::MAX),
    }
}

/// Referral view to proto.
pub fn referral_to_pb(v: &ReferralView) -> pb::Referral {
    let r = &v.referral;
    let mut disclosures = Vec::new();
    for (d, in_force) in r.disclosures.iter().zip(&v.in_force) {
        for (b, ok) in d.bases.iter().zip(in_force) {
            let (kind, consent_id, statute) = match b {
                crate::domain::basis::LegalBasis::Consent(id) => {
                    (pb::LegalBasisKind::Consent, id.to_string(), String::new())
                }
                crate::domain::basis::LegalBasis::Statute(s) => {
                    (pb::LegalBasisKind::Statute, String::new(), s.citation().to_owned())
                }
            };
            disclosures.push(pb::Disclosure {
                category: data_category_pb(d.category),
                basis_kind: kind as i32,
                consent_id,
                statute,
                in_force: *ok,
            });
        }
    }
    pb::Referral {
        id: r.id.to_string(),
        case_id: r.case_id.to_string(),
        sender_organisation_id: r.sender.to_string(),
        recipient_organisation_id: r.recipient.to_string(),
        category: referral_category_pb(r.category),
        disclosures,
        message: r.message.clone(),
        reply_by: r.reply_by.to_string(),
        state: state_pb(r.state),
        overdue: v.overdue,
        outcome: r.completion.as_ref().map(completion_to_pb),
        history: r.history.iter().map(transition_to_pb).collect(),
        allowed_moves: v.allowed_moves.iter().map(|m| move_pb(*m)).collect(),
        case_view: v.case_view.as_ref().map(case_view_to_pb),
        created_at: ts(r.created_at),
        updated_at: ts(r.updated_at),
    }
}

/// Referral summary to proto.
pub fn referral_summary_to_pb(r: &Referral, overdue: bool) -> pb::ReferralSummary {
    pb::ReferralSummary {
        id: r.id.to_string(),
        case_id: r.case_id.to_string(),
        sender_organisation_id: r.sender.to_string(),
        recipient_organisation_id: r.recipient.to_string(),
        category: referral_category_pb(r.category),
        state: state_pb(r.state),
        reply_by: r.reply_by.to_string(),
        overdue,
        created_at: ts(r.created_at),
        updated_at: ts(r.updated_at),
    }
}

enum_map!(
    data_request_cause_pb,
    data_request_cause,
    DataRequestCause,
    pb::DataRequestCause,
    [ConsentRevoked, ConsentExpired, CaseErased, ProcessingRestricted, DataRectified]
);
enum_map!(data_request_ask_pb, data_request_ask, DataRequestAsk, pb::DataRequestAsk, [Erase, Restrict, Rectify]);

/// A request to a recipient (Art. 19 GDPR) to proto.
pub fn data_request_to_pb(r: &DataRequest) -> pb::DataRequest {
    pb::DataRequest {
        id: r.id.to_string(),
        owner_organisation_id: r.owner.to_string(),
        recipient_organisation_id: r.recipient.to_string(),
        case_id: r.case_id.to_string(),
        referral_id: r.referral_id.to_string(),
        referral_category: referral_category_pb(r.referral_category),
        cause: data_request_cause_pb(r.cause),
        ask: data_request_ask_pb(r.ask()),
        categories: r.categories.iter().map(|c| data_category_pb(*c)).collect(),
        requested_at: ts(r.requested_at),
        due_date: r.due.to_string(),
        confirmed: r.confirmation.is_some(),
        confirmed_at: r.confirmation.as_ref().and_then(|c| ts(c.at)),
        confirmed_by_staff_member: r
            .confirmation
            .as_ref()
            .and_then(|c| c.by.staff())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// Note to proto.
pub fn note_to_pb(n: &Note) -> pb::Note {
    let author = n.author.id().to_owned();
    let staff = n.author.staff().map(|s| s.as_str().to_owned()).unwrap_or_default();
    pb::Note {
        id: n.id.to_string(),
        referral_id: n.referral_id.to_string(),
        author_organisation_id: author,
        staff_member: staff,
        text: n.text.clone(),
        created_at: ts(n.created_at),
    }
}

/// Event to proto.
pub fn event_to_pb(e: &Event) -> pb::Event {
    pb::Event {
        cursor: e.cursor,
        kind: event_kind_pb(e.kind),
        case_id: e.case_id.to_string(),
        referral_id: e.referral_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        consent_id: e.consent_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        state: e.state.map_or(0, state_pb),
        reason_code: e.reason.map_or(0, reason_pb),
        actor_organisation_id: e.actor.clone(),
        occurred_at: ts(e.at),
        categories: e.categories.iter().map(|c| data_category_pb(*c)).collect(),
        deadline: e.deadline.as_ref().map(deadline_to_pb),
        notice_id: e.notice_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        delivery_id: e.delivery_id.clone().unwrap_or_default(),
    }
}

/// Deadline to proto (warnings in English, as the API speaks).
pub fn deadline_to_pb(d: &crate::domain::deadline::CaseDeadline) -> pb::Deadline {
    use crate::domain::deadline::DeadlineWarning;
    pb::Deadline {
        kind: d.kind.clone(),
        date: d.date.to_string(),
        source: d.source.clone(),
        provisional: d.provisional,
        warnings: d.warnings.iter().map(DeadlineWarning::en).collect(),
    }
}

/// A mail job as a delivery.
pub fn delivery_to_pb(j: &MailJob) -> pb::Delivery {
    pb::Delivery {
        id: j.id.clone(),
        organisation_id: j.org.to_string(),
        kind: mail_kind_pb(j.kind),
        case_id: j.case_id.to_string(),
        referral_id: j.referral_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        status: delivery_status_pb(j.status),
        attempts: j.attempts,
        next_attempt_at: if j.status == JobStatus::Pending { ts(j.next_attempt_at) } else { None },
        last_error: j.last_error.clone().unwrap_or_default(),
        created_at: ts(j.created_at),
        sent_at: j.sent_at.and_then(ts),
    }
}
