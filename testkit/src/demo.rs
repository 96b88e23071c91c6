//! `hub-demo`: the Frau K. case of DOMAIN.md played through a fresh in-process hub by real gRPC
//! clients over mutual TLS, one per organisation, with the hub's clock set to the story's dates.
//! Every handoff is printed as it happens; any unexpected answer ends the demo with an error.

use anyhow::{Context, anyhow, ensure};
use hub_proto::v1 as pb;
use pb::case_service_client::CaseServiceClient;
use pb::consent_service_client::ConsentServiceClient;
use pb::event_service_client::EventServiceClient;
use pb::notice_service_client::NoticeServiceClient;
use pb::referral_service_client::ReferralServiceClient;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::{TestHub, frau_k_details, idem, orgs, with_staff};
use hub::domain::time::{Day, Instant};
use hub::domain::vocab::DataCategory;

/// 2025-12-22T09:00:00Z: the housing company's early notice reaches the hub.
pub const STORY_START_MS: i64 = 1_766_394_000_000;

fn day(s: &str) -> anyhow::Result<Day> {
    Day::parse(s).map_err(|e| anyhow!("{e}"))
}

fn euro(cents: i64) -> String {
    format!("{},{:02} EUR", cents / 100, cents % 100)
}

fn state(v: i32) -> &'static str {
    pb::ReferralState::try_from(v).map(|s| s.as_str_name()).unwrap_or("?").trim_start_matches("REFERRAL_STATE_")
}

fn cat(v: i32) -> &'static str {
    pb::DataCategory::try_from(v).map(|s| s.as_str_name()).unwrap_or("?").trim_start_matches("DATA_CATEGORY_")
}

/// Whether a data category is a special category of personal data (Art. 9 GDPR).
fn special(v: i32) -> bool {
    DataCategory::parse(cat(v)).is_some_and(DataCategory::is_special)
}

/// The categories other than the special ones, comma-separated.
fn ordinary(cats: &[i32]) -> String {
    cats.iter().filter(|c| !special(**c)).map(|c| cat(*c)).collect::<Vec<_>>().join(", ")
}

/// The special categories (Art. 9 GDPR) among `cats`, comma-separated, or "none".
fn specials(cats: &[i32]) -> String {
    let special: Vec<&str> = cats.iter().filter(|c| special(**c)).map(|c| cat(*c)).collect();
    if special.is_empty() { "none".to_owned() } else { special.join(", ") }
}

/// A consent's special categories (Art. 9 GDPR), shown on a line of their own, with whether the
/// separate explicit consent they need was given.
fn art9_line(cats: &[i32], explicit: bool) -> String {
    format!(
        "special categories (Art. 9 GDPR): {}; explicit Art. 9 consent: {}",
        specials(cats),
        if explicit { "given" } else { "not given" }
    )
}

fn when(ts: Option<&prost_types::Timestamp>) -> String {
    ts.map(|t| {
        let d = Instant::from_millis(t.seconds * 1000).day();
        format!("{d} {:02}:{:02}", (t.seconds % 86_400) / 3600, (t.seconds % 3600) / 60)
    })
    .unwrap_or_default()
}

struct Org {
    id: &'static str,
    referrals: ReferralServiceClient<Channel>,
}

impl Org {
    async fn new(th: &TestHub, id: &'static str) -> anyhow::Result<Self> {
        Ok(Self { id, referrals: ReferralServiceClient::new(th.channel(id).await?) })
    }

    async fn mv(
        &mut self,
        referral: &str,
        mv: pb::ReferralMove,
        outcome: Option<pb::CompletionOutcome>,
    ) -> anyhow::Result<pb::Referral> {
        let req = pb::TransitionReferralRequest {
            idempotency_key: idem(),
            referral_id: referral.to_owned(),
            r#move: mv as i32,
            reason_code: 0,
            reason_text: String::new(),
            outcome,
        };
        let r = self
            .referrals
            .transition_referral(with_staff(req, "Demo-Sachbearbeitung"))
            .await
            .map_err(|s| anyhow!("{} {:?}: {}", self.id, s.code(), s.message()))?
            .into_inner()
            .referral
            .context("empty response")?;
        let last = r.history.last().context("no history")?;
        println!(
            "    {}  {:<24} {:<12} -> {:<11} ({})",
            when(last.at.as_ref()),
            self.id,
            pb::ReferralMove::try_from(last.r#move)
                .map(|m| m.as_str_name())
                .unwrap_or("?")
                .trim_start_matches("REFERRAL_MOVE_"),
            state(r.state),
            r.category_name()
        );
        Ok(r)
    }

    async fn note(&mut self, referral: &str, text: &str) -> anyhow::Result<()> {
        self.referrals
            .add_note(pb::AddNoteRequest {
                idempotency_key: idem(),
                referral_id: referral.to_owned(),
                text: text.to_owned(),
            })
            .await
            .map_err(|s| anyhow!("{} {:?}: {}", self.id, s.code(), s.message()))?;
        println!("    {:<16}  {:<24} note: \"{text}\"", "", self.id);
        Ok(())
    }
}

trait CategoryName {
    fn category_name(&self) -> &'static str;
}

impl CategoryName for pb::Referral {
    fn category_name(&self) -> &'static str {
        pb::ReferralCategory::try_from(self.category)
            .map(|c| c.as_str_name())
            .unwrap_or("?")
            .trim_start_matches("REFERRAL_CATEGORY_")
    }
}

/// The demo's caseworker account (`hub-demo --serve`): a throwaway hub on localhost only.
pub const DEMO_USER: &str = "demo.fachstelle";
/// Its password.
pub const DEMO_PASSWORD: &str = "demo-fachstelle-2026";

/// What the demo leaves behind, for a look in the dashboard or a test.
#[derive(Debug, Clone)]
pub struct DemoCase {
    /// The Frau K. case.
    pub case_id: String,
    /// Its referrals, in the order they were made.
    pub referral_ids: Vec<String>,
}

/// Frau K.'s early notice as the housing company sends it (with her consent slip).
fn frau_k_notice() -> pb::ArrearsNotice {
    pb::ArrearsNotice {
        tenancy_reference: "WN-4711-03".into(),
        stadtbezirk: pb::Stadtbezirk::LindenLimmer as i32,
        rent: Some(pb::RentComponents {
            base_rent_cents: 58_000,
            service_charge_advance_cents: 12_000,
            heating_advance_cents: 8_000,
        }),
        ledger: vec![
            pb::LedgerEntry { due_date: "2025-11-04".into(), amount_due_cents: 78_000, amount_paid_cents: 0 },
            pb::LedgerEntry { due_date: "2025-12-03".into(), amount_due_cents: 78_000, amount_paid_cents: 0 },
        ],
        stage: pb::ThreatStage::Mahnung as i32,
        stage_date: "2025-12-08".into(),
        tenant_consented: true,
        consent_evidence: "Antwortabschnitt Mahnung 08.12.2025".into(),
        tenant: Some(pb::TenantContact {
            family_name: "Kaiser".into(),
            given_name: "Katrin".into(),
            street: "Musterweg".into(),
            house_number: "7".into(),
            postal_code: "30449".into(),
            city: "Hannover".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Runs the demo; with `serve`, keeps the hub and its dashboard running until Ctrl-C.
pub async fn run(serve: bool, listen: crate::Listen) -> anyhow::Result<()> {
    println!("Wohnungserhalt Hub demo: the Frau K. case (synthetic data), played over mutual-TLS gRPC.\n");
    let th = TestHub::start_at_on(Instant::from_millis(STORY_START_MS), listen).await?;
    println!("hub started on {} with a fresh SQLite database in {}", th.addr(), th.data_dir().display());
    let demo = play(&th).await?;
    if serve {
        println!("\nFor the dashboard: two more households, still open, and a new notice (synthetic data)");
        open_cases(&th).await?;
        th.add_staff(orgs::FACHSTELLE, DEMO_USER, "Demo-Sachbearbeitung (Fachstelle)", DEMO_PASSWORD).await?;
        println!("\nThe dashboard of the Fachstelle: https://localhost:{}/", th.dashboard_addr().port());
        println!("  sign in as {DEMO_USER} with password {DEMO_PASSWORD}");
        println!("  the Frau K. case: https://localhost:{}/faelle/{}", th.dashboard_addr().port(), demo.case_id);
        println!("  (the certificate is the demo hub's own: accept the browser's warning)");
        println!("  the hub's clock stands on 7 Apr 2026. Stop with Ctrl-C.");
        let _ = tokio::signal::ctrl_c().await;
    }
    th.shutdown().await;
    Ok(())
}

/// After the story: an open case with a Schonfrist running and an overdue referral, an open
/// Schutzsperre case, and a notice waiting for triage, so that the dashboard's "Heute" page has
/// something to show. Leaves the clock on 7 Apr 2026.
pub async fn open_cases(th: &TestHub) -> anyhow::Result<()> {
    use pb::DataCategory as D;
    let fs = th.channel(orgs::FACHSTELLE).await?;
    let mut cases = CaseServiceClient::new(fs.clone());
    let mut consents = ConsentServiceClient::new(fs.clone());
    let mut referrals = ReferralServiceClient::new(fs);
    let stage = |stage: pb::ThreatStage, date: &str, source: &str| pb::ThreatStageEntry {
        stage: stage as i32,
        date: date.into(),
        source: source.into(),
        ..Default::default()
    };
    let household = |family: &str, given: &str, gender: pb::Gender, street: &str, reference: &str| {
        let mut d = frau_k_details();
        d.persons.truncate(1);
        d.persons[0].family_name = family.into();
        d.persons[0].given_name = given.into();
        d.persons[0].gender = gender as i32;
        d.persons[0].birth_year = 1971;
        if let Some(a) = d.address.as_mut() {
            a.street = street.into();
        }
        if let Some(t) = d.tenancy.as_mut() {
            t.tenancy_reference = reference.into();
        }
        d.household_type = pb::HouseholdType::Single as i32;
        d.contact = Some(pb::Contact::default());
        d.income_benefits_note = String::new();
        d.counselling_note = String::new();
        d
    };

    th.advance_to(day("2026-03-31")?);
    let mut lehmann = household("Lehmann", "Lars", pb::Gender::Male, "Beispielstraße", "WN-5120-11");
    lehmann.arrears_cents = 234_000;
    let case = cases
        .open_case(pb::OpenCaseRequest {
            idempotency_key: idem(),
            details: Some(lehmann),
            initial_stage: Some(stage(pb::ThreatStage::KuendigungFristlos, "2026-02-05", "Kündigungsschreiben")),
        })
        .await?
        .into_inner()
        .case
        .context("no case")?;
    cases
        .record_threat_stage(pb::RecordThreatStageRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            entry: Some(stage(pb::ThreatStage::Rechtshaengig, "2026-02-16", "Zustellung der Räumungsklage")),
        })
        .await?;
    let person = case.details.as_ref().and_then(|d| d.persons.first()).map(|p| p.person_id.clone());
    consents
        .record_consent(pb::RecordConsentRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            person_ids: person.into_iter().collect(),
            recipient_organisation_ids: vec![orgs::JOBCENTER.into()],
            categories: vec![D::Identity as i32, D::Tenancy as i32, D::Arrears as i32],
            purpose: pb::ConsentPurpose::Wohnungssicherung as i32,
            form: pb::ConsentForm::Written as i32,
            evidence_reference: "EW-2026-0077".into(),
            valid_until: "2026-09-30".into(),
            art9_explicit: false,
            secrecy_release: false,
            replaces_consent_id: String::new(),
        })
        .await?;
    referrals
        .create_referral(pb::CreateReferralRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            recipient_organisation_id: orgs::JOBCENTER.into(),
            category: pb::ReferralCategory::RentDebtTakeoverSgb2 as i32,
            data_categories: vec![D::Identity as i32, D::Tenancy as i32, D::Arrears as i32],
            message: "Schonfrist läuft bis Mitte April: bitte vorrangig entscheiden.".into(),
            reply_by: "2026-04-02".into(),
            confirm_duplicate: false,
            confirm_closed_capacity: false,
        })
        .await?;
    println!(
        "    case {} (Herr L.): eviction suit served 16 Feb, Schonfrist running; referred to {}",
        case.id,
        orgs::JOBCENTER
    );

    let mut schulz = household("Schulz", "Sabine", pb::Gender::Female, "Gartenweg", "WN-6001-02");
    schulz.schutzsperre = true;
    schulz.route_in = pb::RouteIn::SelfReferral as i32;
    let protected = cases
        .open_case(pb::OpenCaseRequest {
            idempotency_key: idem(),
            details: Some(schulz),
            initial_stage: Some(stage(pb::ThreatStage::Mahnung, "2026-03-20", "Vorsprache")),
        })
        .await?
        .into_inner()
        .case
        .context("no case")?;
    println!("    case {} (Frau S.): Schutzsperre, the address never leaves the hub", protected.id);

    NoticeServiceClient::new(th.channel(orgs::WOHNBAU).await?)
        .submit_arrears_notice(pb::SubmitArrearsNoticeRequest {
            idempotency_key: idem(),
            notice: Some(pb::ArrearsNotice {
                tenancy_reference: "WN-7310-05".into(),
                stadtbezirk: pb::Stadtbezirk::AhlemBadenstedtDavenstedt as i32,
                ledger: ["2026-03-03", "2026-04-03"]
                    .map(|due| pb::LedgerEntry { due_date: due.into(), amount_due_cents: 78_000, amount_paid_cents: 0 })
                    .to_vec(),
                stage_date: "2026-03-30".into(),
                consent_evidence: "Antwortabschnitt Mahnung 30.03.2026".into(),
                tenant: Some(pb::TenantContact {
                    family_name: "Neumann".into(),
                    given_name: "Nina".into(),
                    street: "Probeallee".into(),
                    house_number: "3".into(),
                    postal_code: "30453".into(),
                    city: "Hannover".into(),
                    ..Default::default()
                }),
                ..frau_k_notice()
            }),
        })
        .await?;
    println!("    a new early notice from {} waits for triage (Frau N.)", orgs::WOHNBAU);
    th.advance_to(day("2026-04-07")?);
    println!("07 Apr 2026  the Jobcenter has not answered by 2 Apr: the referral is overdue");
    Ok(())
}

/// Plays the Frau K. story on a hub started at the story's first day (as [`run`] does), printing
/// every handoff; any unexpected answer is an error.
pub async fn play(th: &TestHub) -> anyhow::Result<DemoCase> {
    println!(
        "registered partner network: {}, {}, {}, {}, {}, {}, {}\n",
        orgs::FACHSTELLE,
        orgs::JOBCENTER,
        orgs::SOZIALAMT,
        orgs::SCHULDNERBERATUNG,
        orgs::WOHNBAU,
        orgs::TRAEGER,
        orgs::FRAUENBERATUNG
    );

    let fs_channel = th.channel(orgs::FACHSTELLE).await?;
    let mut cases = CaseServiceClient::new(fs_channel.clone());
    let mut consents = ConsentServiceClient::new(fs_channel.clone());
    let mut fs = Org::new(th, orgs::FACHSTELLE).await?;
    let mut jc = Org::new(th, orgs::JOBCENTER).await?;
    let mut wb = Org::new(th, orgs::WOHNBAU).await?;
    let mut sb = Org::new(th, orgs::SCHULDNERBERATUNG).await?;
    let mut events = EventServiceClient::new(fs_channel.clone())
        .subscribe(pb::SubscribeRequest { after_cursor: 0 })
        .await?
        .into_inner();

    println!(
        "22 Dec 2025  early notice from {} (with the tenant's consent slip): the Fachstelle opens a case",
        orgs::WOHNBAU
    );
    let stage = |stage: pb::ThreatStage, date: &str, source: &str| pb::ThreatStageEntry {
        stage: stage as i32,
        date: date.into(),
        end_date: String::new(),
        source: source.into(),
        recorded_by_organisation_id: String::new(),
    };
    let mut notices_wb = NoticeServiceClient::new(th.channel(orgs::WOHNBAU).await?);
    let mut notices_fs = NoticeServiceClient::new(fs_channel.clone());
    let submitted = notices_wb
        .submit_arrears_notice(pb::SubmitArrearsNoticeRequest {
            idempotency_key: idem(),
            notice: Some(frau_k_notice()),
        })
        .await?
        .into_inner()
        .result
        .context("no result")?;
    println!(
        "    {} submits notice {} (2 months unpaid, 1560,00 EUR, stage MAHNUNG, with consent)",
        orgs::WOHNBAU,
        submitted.notice_id
    );
    let open = notices_fs.list_open_notices(pb::ListOpenNoticesRequest { limit: 10 }).await?.into_inner().notices;
    for n in &open {
        let d = n.deadlines.iter().map(|d| format!("{} {}", d.kind, d.date)).collect::<Vec<_>>().join(", ");
        println!(
            "    triage: {} from {} ({}), deadlines: {}",
            n.reference,
            n.reported_by,
            n.tenant_name,
            if d.is_empty() { "none yet".into() } else { d }
        );
    }
    let case = notices_fs
        .take_up_notice(with_staff(
            pb::TakeUpNoticeRequest {
                idempotency_key: idem(),
                notice_id: submitted.notice_id.clone(),
                details: Some(frau_k_details()),
                ..Default::default()
            },
            "Demo-Fachkraft",
        ))
        .await?
        .into_inner()
        .case
        .context("no case")?;
    cases
        .record_threat_stage(pb::RecordThreatStageRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            entry: Some(stage(pb::ThreatStage::Rueckstand, "2025-12-04", "Kontoauszug Wohnbau Nord eG")),
        })
        .await?;
    let main_tenant =
        case.details.as_ref().and_then(|d| d.persons.first()).map(|p| p.person_id.clone()).context("no person")?;
    println!(
        "    the Fachstelle takes the notice up: case {} (3 persons, arrears {}; stages MAHNUNG from the notice, RUECKSTAND since 4 Dec)\n",
        case.id,
        euro(156_000)
    );

    th.advance_to(day("2025-12-23")?);
    println!("23 Dec 2025  the Fachstelle reaches Frau K. and records her written consent");
    let consent = |recipients: &[&str], cats: &[pb::DataCategory], evidence: &str| pb::RecordConsentRequest {
        idempotency_key: idem(),
        case_id: case.id.clone(),
        person_ids: vec![main_tenant.clone()],
        recipient_organisation_ids: recipients.iter().map(|s| (*s).to_owned()).collect(),
        categories: cats.iter().map(|c| *c as i32).collect(),
        purpose: pb::ConsentPurpose::Wohnungssicherung as i32,
        form: pb::ConsentForm::Written as i32,
        evidence_reference: evidence.into(),
        valid_until: "2026-06-30".into(),
        art9_explicit: false,
        secrecy_release: false,
        replaces_consent_id: String::new(),
    };
    use pb::DataCategory as D;
    let c1 = consents
        .record_consent(consent(
            &[orgs::JOBCENTER, orgs::WOHNBAU],
            &[D::Identity, D::Tenancy, D::Arrears, D::Outcome],
            "EW-2025-0412",
        ))
        .await?
        .into_inner()
        .consent
        .context("no consent")?;
    let mut c2req = consent(
        &[orgs::SCHULDNERBERATUNG],
        &[D::Identity, D::Contact, D::Arrears, D::IncomeBenefits, D::CounsellingNotes],
        "EW-2025-0413",
    );
    c2req.secrecy_release = true;
    let c2 = consents.record_consent(c2req).await?.into_inner().consent.context("no consent")?;
    println!(
        "    consent {}: {} and {} may receive {} until {}",
        c1.id,
        orgs::JOBCENTER,
        orgs::WOHNBAU,
        ordinary(&c1.categories),
        c1.valid_until
    );
    println!("        {}", art9_line(&c1.categories, c1.art9_explicit));
    println!(
        "    consent {}: {} may receive {} (with secrecy release)",
        c2.id,
        orgs::SCHULDNERBERATUNG,
        ordinary(&c2.categories)
    );
    println!("        {}", art9_line(&c2.categories, c2.art9_explicit));
    // Health data is a special category (Art. 9 GDPR): without the separate explicit consent the hub
    // refuses to record a consent that covers it.
    match consents.record_consent(consent(&[orgs::SCHULDNERBERATUNG], &[D::Health], "EW-2025-0414")).await {
        Err(s) if s.code() == tonic::Code::InvalidArgument => {
            println!("    the hub refuses a consent to HEALTH without the explicit Art. 9 consent: {}\n", s.message());
        }
        other => return Err(anyhow!("expected a refusal, got {other:?}")),
    }

    th.advance_to(day("2026-01-09")?);
    println!("09 Jan 2026  Bürgergeld applied for; the Fachstelle refers");
    let refer = |to: &str, category: pb::ReferralCategory, cats: &[pb::DataCategory], message: &str, reply_by: &str| {
        pb::CreateReferralRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            recipient_organisation_id: to.into(),
            category: category as i32,
            data_categories: cats.iter().map(|c| *c as i32).collect(),
            message: message.into(),
            reply_by: reply_by.into(),
            confirm_duplicate: false,
            confirm_closed_capacity: false,
        }
    };
    let denied = fs
        .referrals
        .create_referral(refer(
            orgs::WOHNBAU,
            pb::ReferralCategory::LandlordAgreement,
            &[D::Identity, D::IncomeBenefits],
            "",
            "2026-01-16",
        ))
        .await;
    match denied {
        Err(s) if s.code() == tonic::Code::FailedPrecondition => {
            println!("    the hub refuses to send INCOME_BENEFITS to the housing company: {}", s.message());
        }
        other => return Err(anyhow!("expected a refusal, got {other:?}")),
    }
    let to_jc = fs
        .referrals
        .create_referral(refer(
            orgs::JOBCENTER,
            pb::ReferralCategory::RentDebtTakeoverSgb2,
            &[D::Identity, D::Tenancy, D::Arrears, D::IncomeBenefits],
            "Bitte Übernahme der Mietschulden (1.560 EUR, Nov./Dez.) nach §22 Abs. 8 SGB II prüfen; Bürgergeld ab 01.01. beantragt.",
            "2026-01-23",
        ))
        .await?
        .into_inner()
        .referral
        .context("no referral")?;
    let bases: Vec<String> = to_jc
        .disclosures
        .iter()
        .filter(|d| !special(d.category))
        .map(|d| format!("{}:{}", cat(d.category), if d.statute.is_empty() { "consent" } else { "§69 SGB X" }))
        .collect();
    let disclosed: Vec<i32> = to_jc.disclosures.iter().map(|d| d.category).collect();
    println!(
        "    {}  {:<24} CREATE       -> REQUESTED   (RENT_DEBT_TAKEOVER_SGB2 to {}; bases {}; special categories (Art. 9 GDPR): {})",
        when(to_jc.created_at.as_ref()),
        fs.id,
        orgs::JOBCENTER,
        bases.join(", "),
        specials(&disclosed)
    );
    let to_wb = fs
        .referrals
        .create_referral(refer(
            orgs::WOHNBAU,
            pb::ReferralCategory::LandlordAgreement,
            &[D::Identity, D::Tenancy, D::Arrears, D::Outcome],
            "Bitte Kündigung/Klage zurückstellen; Übernahme durch das Jobcenter wird geprüft.",
            "2026-01-16",
        ))
        .await?
        .into_inner()
        .referral
        .context("no referral")?;
    println!(
        "    {}  {:<24} CREATE       -> REQUESTED   (LANDLORD_AGREEMENT to {})",
        when(to_wb.created_at.as_ref()),
        fs.id,
        orgs::WOHNBAU
    );
    use pb::ReferralMove as M;
    wb.mv(&to_wb.id, M::Acknowledge, None).await?;
    wb.mv(&to_wb.id, M::Accept, None).await?;
    wb.mv(&to_wb.id, M::Start, None).await?;
    wb.note(&to_wb.id, "Kündigung bis 06.02.2026 zurückgestellt.").await?;
    jc.mv(&to_jc.id, M::Acknowledge, None).await?;
    jc.mv(&to_jc.id, M::Accept, None).await?;
    jc.mv(&to_jc.id, M::Start, None).await?;
    println!();

    th.advance_to(day("2026-01-28")?);
    println!("28 Jan 2026  the Jobcenter approves a loan, paid to the landlord");
    jc.mv(
        &to_jc.id,
        M::Complete,
        Some(pb::CompletionOutcome {
            result: pb::CompletionResult::ApprovedLoan as i32,
            amount_cents: Some(156_000),
            effective_date: "2026-01-28".into(),
            summary: "Darlehen nach §22 Abs. 8 SGB II bewilligt; Tilgung 5 % des Regelbedarfs monatlich.".into(),
        }),
    )
    .await?;
    let seen = wb
        .referrals
        .get_referral(pb::GetReferralRequest { referral_id: to_wb.id.clone() })
        .await?
        .into_inner()
        .referral
        .context("no referral")?;
    let view = seen.case_view.context("the recipient sees a case view")?;
    ensure!(view.income_benefits_note.is_empty() && view.counselling_note.is_empty() && view.health_note.is_empty());
    let o = view.outcomes.first().context("the landlord learns the takeover outcome")?;
    println!(
        "    what {} may read: {} (special categories, Art. 9 GDPR: {}); outcome: {} {} {} paid {}",
        orgs::WOHNBAU,
        ordinary(&view.readable_categories),
        specials(&view.readable_categories),
        o.topic,
        pb::CompletionResult::try_from(o.result)
            .map(|r| r.as_str_name())
            .unwrap_or("?")
            .trim_start_matches("COMPLETION_RESULT_"),
        euro(o.amount_cents.unwrap_or(0)),
        o.effective_date
    );
    println!(
        "    (no benefit status, no income note, no counselling note: the hub never discloses those to a landlord)\n"
    );

    th.advance_to(day("2026-02-03")?);
    println!("03 Feb 2026  the landlord confirms the arrears are cleared; debt counselling takes over the other debts");
    wb.mv(
        &to_wb.id,
        M::Complete,
        Some(pb::CompletionOutcome {
            result: pb::CompletionResult::AgreementReached as i32,
            amount_cents: None,
            effective_date: "2026-02-03".into(),
            summary: "Rückstand ausgeglichen; Mietverhältnis wird fortgesetzt.".into(),
        }),
    )
    .await?;
    let to_sb = fs
        .referrals
        .create_referral(refer(
            orgs::SCHULDNERBERATUNG,
            pb::ReferralCategory::DebtCounselling,
            &[D::Identity, D::Contact, D::Arrears, D::IncomeBenefits, D::CounsellingNotes],
            "Bitte Schuldnerberatung für weitere Verbindlichkeiten (ca. 4.200 EUR).",
            "2026-02-17",
        ))
        .await?
        .into_inner()
        .referral
        .context("no referral")?;
    println!(
        "    {}  {:<24} CREATE       -> REQUESTED   (DEBT_COUNSELLING to {})",
        when(to_sb.created_at.as_ref()),
        fs.id,
        orgs::SCHULDNERBERATUNG
    );
    sb.mv(&to_sb.id, M::Acknowledge, None).await?;
    sb.mv(&to_sb.id, M::Accept, None).await?;
    sb.mv(&to_sb.id, M::Start, None).await?;
    th.advance_to(day("2026-03-20")?);
    sb.mv(
        &to_sb.id,
        M::Complete,
        Some(pb::CompletionOutcome {
            result: pb::CompletionResult::ServiceProvided as i32,
            amount_cents: None,
            effective_date: "2026-03-20".into(),
            summary: "Ratenzahlungsplan mit den Gläubigern vereinbart.".into(),
        }),
    )
    .await?;
    println!();

    th.advance_to(day("2026-03-31")?);
    println!(
        "31 Mar 2026  the Fachstelle closes the case: WOHNUNG_ERHALTEN by SGB II loan, reached before any termination"
    );
    cases
        .close_case(pb::CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            outcome: pb::CaseOutcome::WohnungErhalten as i32,
            rescue_means: pb::RescueMeans::Sgb2Loan as i32,
            note: "Mietverhältnis gesichert.".into(),
            confirm_open_items: true,
        })
        .await?;

    println!("\nThe Fachstelle's view of every handoff:");
    let all = fs
        .referrals
        .list_referrals(pb::ListReferralsRequest {
            mailbox: pb::Mailbox::All as i32,
            case_id: case.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    for s in &all.referrals {
        let r = fs
            .referrals
            .get_referral(pb::GetReferralRequest { referral_id: s.id.clone() })
            .await?
            .into_inner()
            .referral
            .context("no referral")?;
        println!("  {} to {} ({}):", r.category_name(), r.recipient_organisation_id, state(r.state));
        for t in &r.history {
            println!("      {}  {:<24} -> {}", when(t.at.as_ref()), t.actor_organisation_id, state(t.to_state));
        }
    }
    let mut n = 0;
    while let Ok(Some(e)) = tokio::time::timeout(std::time::Duration::from_millis(500), events.next()).await {
        e?;
        n += 1;
    }
    let status = notices_wb.list_notice_statuses(pb::ListNoticeStatusesRequest::default()).await?.into_inner().statuses;
    for st in &status {
        println!(
            "\n{} asks about its notice {}: {}",
            orgs::WOHNBAU,
            st.tenancy_reference,
            pb::NoticeProgress::try_from(st.progress)
                .map(|p| p.as_str_name())
                .unwrap_or("?")
                .trim_start_matches("NOTICE_PROGRESS_")
        );
    }
    println!("\nThe Fachstelle's event stream delivered {n} events in commit order. Demo finished.");
    Ok(DemoCase { case_id: case.id.clone(), referral_ids: all.referrals.iter().map(|r| r.id.clone()).collect() })
}
