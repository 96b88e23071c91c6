//! A partner's capacity: it states per category whether it takes referrals (open, a waiting list of
//! some weeks, or closed for now) and its office hours; the directory carries it; a referral to a
//! category it closed needs the Fachstelle's explicit confirmation, over the API and on the case page.

use crate::browser;
use crate::common;
use crate::process;

use browser::Browser;
use common::*;

fn entry(category: ReferralCategory, state: CapacityState, weeks: u32) -> CategoryCapacity {
    CategoryCapacity { category: category as i32, state: state as i32, waitlist_weeks: weeks }
}

async fn set(
    hub: &TestHub,
    org: &str,
    capacities: Vec<CategoryCapacity>,
    hours: Option<&str>,
) -> Result<Organisation, Status> {
    directory(hub, org)
        .await
        .set_capacity(SetCapacityRequest {
            idempotency_key: idem(),
            capacities,
            office_hours: hours.map(str::to_owned),
        })
        .await
        .map(|r| r.into_inner().organisation.expect("organisation"))
}

/// An organisation as the Fachstelle reads it in the directory.
async fn listed(hub: &TestHub, org: &str) -> Organisation {
    directory(hub, orgs::FACHSTELLE)
        .await
        .get_organisation(GetOrganisationRequest { organisation_id: org.to_owned() })
        .await
        .expect("GetOrganisation")
        .into_inner()
        .organisation
        .expect("organisation")
}

#[tokio::test]
async fn a_partner_states_its_capacity_the_directory_shows_it_and_a_closed_category_needs_confirmation() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let data = [DataCategory::Identity, DataCategory::Arrears];
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &data).await;

    // The debt counselling office is full this month.
    let closed = vec![entry(ReferralCategory::DebtCounselling, CapacityState::Closed, 0)];
    let org = set(&hub, orgs::SCHULDNERBERATUNG, closed, Some("Di, Do 09:00-12:00")).await.expect("SetCapacity");
    assert_eq!(org.office_hours, "Di, Do 09:00-12:00");
    assert!(org.capacity_updated_at.is_some());
    // Everyone reads it in the directory.
    let seen = listed(&hub, orgs::SCHULDNERBERATUNG).await;
    assert_eq!(seen.capacities, vec![entry(ReferralCategory::DebtCounselling, CapacityState::Closed, 0)]);

    // A referral there is refused with the reason, and goes with the confirmation.
    let req = referral_request(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data);
    assert_status(
        try_create_referral(&hub, req.clone()).await,
        Code::FailedPrecondition,
        &["no referrals of category DEBT_COUNSELLING", "confirm_closed_capacity"],
    );
    let sent = try_create_referral(&hub, CreateReferralRequest { confirm_closed_capacity: true, ..req }).await;
    assert!(sent.is_ok(), "{sent:?}");

    // A waiting list does not stop a referral; open again stores nothing.
    let waitlist = vec![entry(ReferralCategory::DebtCounselling, CapacityState::Waitlist, 6)];
    let org = set(&hub, orgs::SCHULDNERBERATUNG, waitlist, None).await.expect("SetCapacity");
    assert_eq!(org.office_hours, "Di, Do 09:00-12:00", "unset office hours are kept");
    assert_eq!(org.capacities[0].waitlist_weeks, 6);
    let req = referral_request(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data);
    assert!(try_create_referral(&hub, req).await.is_ok());
    let org = set(&hub, orgs::SCHULDNERBERATUNG, vec![], None).await.expect("SetCapacity");
    assert!(org.capacities.is_empty());
}

#[tokio::test]
async fn bad_capacity_is_refused_at_its_field_and_changes_nothing() {
    let hub = start().await;
    let before = set(
        &hub,
        orgs::SCHULDNERBERATUNG,
        vec![entry(ReferralCategory::DebtCounselling, CapacityState::Waitlist, 4)],
        None,
    )
    .await
    .expect("SetCapacity");
    for (capacities, field) in [
        (vec![entry(ReferralCategory::DebtCounselling, CapacityState::Waitlist, 0)], "capacities[0].waitlist_weeks"),
        (vec![entry(ReferralCategory::DebtCounselling, CapacityState::Waitlist, 53)], "capacities[0].waitlist_weeks"),
        (vec![entry(ReferralCategory::DebtCounselling, CapacityState::Unspecified, 0)], "capacities[0].state"),
        (vec![entry(ReferralCategory::Ksd, CapacityState::Closed, 0)], "capacities[0].category"),
        (
            vec![
                entry(ReferralCategory::DebtCounselling, CapacityState::Closed, 0),
                entry(ReferralCategory::DebtCounselling, CapacityState::Open, 0),
            ],
            "capacities[1].category",
        ),
    ] {
        assert_status(set(&hub, orgs::SCHULDNERBERATUNG, capacities, None).await, Code::InvalidArgument, &[field]);
    }
    let long_hours = "x".repeat(201);
    assert_status(
        set(&hub, orgs::SCHULDNERBERATUNG, vec![], Some(&long_hours)).await,
        Code::InvalidArgument,
        &["office_hours"],
    );
    let after = listed(&hub, orgs::SCHULDNERBERATUNG).await;
    assert_eq!(after.capacities, before.capacities, "a refused change stores nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_shows_capacity_and_refers_to_a_closed_partner_only_when_confirmed() {
    const PASSWORD: &str = "Synthetisch-Passwort-2026";
    let hub = start().await;
    hub.add_staff(orgs::FACHSTELLE, "j.weber", "Jana Weber (synthetisch)", PASSWORD).await.expect("staff");
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[DataCategory::Identity]).await;
    let closed = vec![entry(ReferralCategory::DebtCounselling, CapacityState::Closed, 0)];
    set(&hub, orgs::SCHULDNERBERATUNG, closed, None).await.expect("SetCapacity");
    let waitlist = vec![entry(ReferralCategory::SocialPedagogicalSupport, CapacityState::Waitlist, 6)];
    set(&hub, orgs::TRAEGER, waitlist, None).await.expect("SetCapacity");

    let b = Browser::start(&format!("https://localhost:{}", hub.dashboard_addr().port())).await;
    b.sign_in("j.weber", PASSWORD).await;
    b.goto(&format!("/faelle/{}", case.id)).await;
    let shown = b.text("form#ueberweisen #aufnahme").await;
    assert!(shown.contains("nimmt derzeit keine Vermittlungen an") && shown.contains("Schuldnerberatung"), "{shown}");
    assert!(shown.contains("Warteliste, etwa 6 Wochen"), "{shown}");

    // Sent without the confirmation: refused above the form, the input kept.
    b.select("form#ueberweisen select[name=\"empfaenger\"]", orgs::SCHULDNERBERATUNG).await;
    b.select("form#ueberweisen select[name=\"kategorie\"]", "DEBT_COUNSELLING").await;
    b.check("form#ueberweisen input[name=\"daten\"][value=\"IDENTITY\"]").await;
    b.fill("form#ueberweisen [name=\"nachricht\"]", "Bitte um Termin (synthetisch)").await;
    b.click_and_wait("form#ueberweisen button[type=\"submit\"]").await;
    let refused = b.text(".fehlerliste").await;
    assert!(refused.contains("nimmt derzeit keine Vermittlungen „Schuldnerberatung“ an"), "{refused}");
    assert_eq!(b.text("form#ueberweisen [name=\"nachricht\"]").await, "Bitte um Termin (synthetisch)", "input kept");
    b.check_page("fall-aufnahmestopp").await;
    assert!(case_referrals(&hub, &case.id).await.is_empty(), "nothing was sent");

    // Confirmed: sent.
    b.check("form#ueberweisen input[name=\"trotz_aufnahmestopp\"]").await;
    b.click_and_wait("form#ueberweisen button[type=\"submit\"]").await;
    assert!(b.path().await.ends_with("?erledigt=ueberweisen"), "{}", b.text("main").await);
    assert_eq!(case_referrals(&hub, &case.id).await.len(), 1);

    // The partner page shows every partner's own statement.
    b.goto("/partner").await;
    let row = format!("tr.partner-zeile[data-partner=\"{}\"] td.aufnahme", orgs::SCHULDNERBERATUNG);
    assert_eq!(b.text(&row).await, "Schuldnerberatung: nimmt derzeit keine Vermittlungen an");
    b.check_page("partner-aufnahme").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_states_its_capacity_with_hubctl() {
    use hub::domain::ids::OrgId;
    use hub::pki::{self, PkiDir};
    let hub = start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = pki::load_ca(&PkiDir::in_data_dir(hub.data_dir())).expect("CA");
    let pair = pki::org_cert(&ca, &OrgId::parse(orgs::SCHULDNERBERATUNG).expect("org id")).expect("certificate");
    let file = |name: &str| dir.path().join(name);
    std::fs::write(file("ca.pem"), hub.ca_pem()).expect("write CA");
    std::fs::write(file("org.pem"), pair.cert).expect("write cert");
    std::fs::write(file("org.key"), pair.key).expect("write key");
    let mut command = std::process::Command::new(process::hubctl_binary());
    command
        .arg("--hub")
        .arg(format!("https://127.0.0.1:{}", hub.addr().port()))
        .args(["--tls-name", "localhost", "--ca"])
        .arg(file("ca.pem"))
        .arg("--cert")
        .arg(file("org.pem"))
        .arg("--key")
        .arg(file("org.key"))
        .args(["--json", "capacity", "--waitlist", "debt-counselling=6", "--office-hours", "Mi 14-16 Uhr"])
        .env_remove("HUBCTL_HUB")
        .env_remove("HUBCTL_CA")
        .env_remove("HUBCTL_CERT")
        .env_remove("HUBCTL_KEY")
        .env_remove("HUBCTL_TLS_NAME");
    let output = tokio::task::spawn_blocking(move || command.output().expect("hubctl runs")).await.expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(shown["capacity"], serde_json::json!(["DEBT_COUNSELLING waitlist 6w"]), "{stdout}");
    assert_eq!(shown["office_hours"], "Mi 14-16 Uhr");
    let stored = hub.store().org_by_id(&OrgId::parse(orgs::SCHULDNERBERATUNG).expect("id")).await.expect("read");
    let stored = stored.expect("registered");
    assert_eq!(
        stored.capacity_for(hub::domain::vocab::ReferralCategory::DebtCounselling),
        hub::domain::org::Capacity::Waitlist { weeks: 6 }
    );
}
