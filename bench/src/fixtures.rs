//! Synthetic requests (no real names): a case, a consent, referrals, arrears notices.

use hub_proto::v1 as pb;
use tonic::transport::Channel;

/// Organisations of the hub's demo network used by the benchmark.
pub const FACHSTELLE: &str = "fachstelle-hannover";
/// Housing company (submits arrears notices).
pub const WOHNBAU: &str = "wohnbau-nord";
/// Made an email partner, so every referral to it writes an outbox job.
pub const MAIL_PARTNER: &str = "schuldnerberatung-nord";

/// A fresh idempotency key.
pub fn idem() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A day `days` from today, ISO.
pub fn day_from_today(days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn details() -> pb::CaseDetails {
    let person = |role: pb::PersonRole, given: &str, year: i32| pb::Person {
        person_id: String::new(),
        role: role as i32,
        given_name: given.to_owned(),
        family_name: "Beispiel".to_owned(),
        gender: pb::Gender::Female as i32,
        birth_year: year,
    };
    pb::CaseDetails {
        persons: vec![
            person(pb::PersonRole::MainTenant, "Testperson", 1985),
            person(pb::PersonRole::Child, "Kind", 2015),
        ],
        address: Some(pb::Address {
            street: "Benchmarkweg".into(),
            house_number: "1".into(),
            postal_code: "30449".into(),
            city: "Hannover".into(),
        }),
        contact: Some(pb::Contact { phone: "0511 000000".into(), email: "bench@example.org".into() }),
        stadtbezirk: pb::Stadtbezirk::LindenLimmer as i32,
        tenancy: Some(pb::Tenancy {
            landlord_organisation_id: WOHNBAU.into(),
            tenancy_reference: "BENCH-0001".into(),
            start_date: "2017-04-01".into(),
            rent: Some(pb::RentComponents {
                base_rent_cents: 58_000,
                service_charge_advance_cents: 12_000,
                heating_advance_cents: 8_000,
            }),
        }),
        arrears_cents: 156_000,
        route_in: pb::RouteIn::HousingCompanyNotice as i32,
        schutzsperre: false,
        household_type: pb::HouseholdType::SingleParent as i32,
        income_benefits_note: "Synthetische Testdaten.".into(),
        health_note: String::new(),
        counselling_note: "Synthetische Testdaten.".into(),
    }
}

/// Opens a case as the Fachstelle and records a consent for the mail partner; returns the case id.
pub async fn case_with_consent(ch: Channel) -> anyhow::Result<String> {
    let case = pb::case_service_client::CaseServiceClient::new(ch.clone())
        .open_case(pb::OpenCaseRequest { idempotency_key: idem(), details: Some(details()), initial_stage: None })
        .await?
        .into_inner()
        .case
        .ok_or_else(|| anyhow::anyhow!("no case"))?;
    let tenant = case.details.as_ref().and_then(|d| d.persons.first()).map(|p| p.person_id.clone()).unwrap_or_default();
    pb::consent_service_client::ConsentServiceClient::new(ch)
        .record_consent(pb::RecordConsentRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            person_ids: vec![tenant],
            recipient_organisation_ids: vec![MAIL_PARTNER.into()],
            categories: vec![pb::DataCategory::Identity as i32, pb::DataCategory::Arrears as i32],
            purpose: pb::ConsentPurpose::Wohnungssicherung as i32,
            form: pb::ConsentForm::Written as i32,
            evidence_reference: "BENCH-EW-1".into(),
            valid_until: day_from_today(180),
            art9_explicit: false,
            secrecy_release: true,
            replaces_consent_id: String::new(),
        })
        .await?;
    Ok(case.id)
}

/// A referral to the mail partner: consent check, audit, two events and an outbox job.
pub fn referral(case_id: &str) -> pb::CreateReferralRequest {
    pb::CreateReferralRequest {
        idempotency_key: idem(),
        case_id: case_id.to_owned(),
        recipient_organisation_id: MAIL_PARTNER.into(),
        category: pb::ReferralCategory::DebtCounselling as i32,
        data_categories: vec![pb::DataCategory::Identity as i32, pb::DataCategory::Arrears as i32],
        message: "Bitte um Terminvergabe (Benchmark, synthetisch).".into(),
        reply_by: String::new(),
        confirm_duplicate: true,
        confirm_closed_capacity: false,
    }
}

/// One pseudonymous arrears notice (no tenant data, no consent).
pub fn notice(run: &str, i: u64) -> pb::StreamArrearsNoticesRequest {
    pb::StreamArrearsNoticesRequest {
        record_ref: String::new(),
        notice: Some(pb::ArrearsNotice {
            tenancy_reference: format!("{run}-{i:07}"),
            stadtbezirk: pb::Stadtbezirk::LindenLimmer as i32,
            rent: Some(pb::RentComponents {
                base_rent_cents: 58_000,
                service_charge_advance_cents: 12_000,
                heating_advance_cents: 8_000,
            }),
            arrears_total_cents: 156_000,
            oldest_unpaid_month: "2025-11".into(),
            stage: pb::ThreatStage::Mahnung as i32,
            stage_date: "2025-12-08".into(),
            ..Default::default()
        }),
    }
}

/// Streams `n` notices (tenancy references `run-i`) in one StreamArrearsNotices call; returns the
/// number accepted.
pub async fn stream_notices(ch: Channel, run: &str, n: u64) -> anyhow::Result<u64> {
    let reqs: Vec<_> = (0..n).map(|i| notice(run, i)).collect();
    let resp = pb::notice_service_client::NoticeServiceClient::new(ch)
        .max_decoding_message_size(1 << 30)
        .stream_arrears_notices(tokio_stream::iter(reqs))
        .await?
        .into_inner();
    let s = resp.summary.unwrap_or_default();
    if s.rejected > 0 {
        let first = resp.results.iter().find(|r| !r.violations.is_empty());
        anyhow::bail!("{} notices rejected, e.g. {:?}", s.rejected, first.map(|r| &r.violations));
    }
    Ok(u64::try_from(s.accepted + s.updated + s.unchanged)?)
}
