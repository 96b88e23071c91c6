//! Triage of new notices in a real browser (headless Chromium over WebDriver): from "Heute" a caseworker
//! opens each new notice, sees what was reported, its deadlines and legal basis, and the cases it may belong
//! to (the same tenancy, or a name that sounds alike: "Keiser" for "Kaiser"); takes it up into the suggested
//! case, or declines the suggestion and opens a new case; both are audited. All data is synthetic.

mod browser;
mod common;

use browser::Browser;
use common::*;
use hub::domain::audit::{AuditAction, AuditDetail};
use hub::domain::ids::CaseId;
use hub::domain::notice::NoticeId;
use hub_proto::v1::notice_service_client::NoticeServiceClient;

const PASSWORD: &str = "Synthetisch-Passwort-2026";
const CASEWORKER: (&str, &str) = ("j.weber", "Jana Weber (synthetisch)");

/// Submits a consented notice for `reference` from the demo housing company, naming the tenant
/// `given family` at Musterweg 7, 30449 (Frau K.'s flat of `details()`), and returns its id.
async fn notice_for(th: &TestHub, reference: &str, given: &str, family: &str) -> String {
    let mut n = consented_notice(reference);
    let t = n.tenant.as_mut().expect("a consented notice names the tenant");
    t.given_name = given.into();
    t.family_name = family.into();
    t.street = "Musterweg".into();
    t.house_number = "7".into();
    t.postal_code = "30449".into();
    NoticeServiceClient::new(th.channel(orgs::WOHNBAU).await.expect("channel"))
        .submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(n) })
        .await
        .expect("SubmitArrearsNotice")
        .into_inner()
        .result
        .expect("result")
        .notice_id
}

/// The case a notice was taken up into.
async fn case_of_notice(th: &TestHub, id: &str) -> Option<CaseId> {
    let mut tx = th.store().begin_read().await.expect("read");
    tx.notice(&NoticeId::parse(id).expect("notice id")).await.expect("notice").expect("stored").case_id
}

/// The take-up audit record of notice `id`.
async fn take_up_audit(th: &TestHub, case: &CaseId, id: &str) -> AuditDetail {
    th.hub()
        .audit_of_case(case)
        .await
        .expect("audit")
        .into_iter()
        .find(|a| {
            a.action == AuditAction::NoticeTakeUp
                && matches!(&a.detail, AuditDetail::TakenUp { notice, .. } if notice == id)
        })
        .map(|a| a.detail)
        .unwrap_or_else(|| panic!("no notice.take_up audited for {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caseworker_triages_notices_and_takes_them_up_with_duplicate_suggestions() {
    let th = TestHub::start().await.expect("the test hub starts");
    th.add_staff(orgs::FACHSTELLE, CASEWORKER.0, CASEWORKER.1, PASSWORD).await.expect("staff");
    // Frau K.'s open case (Kaiser, Katrin; Musterweg 7).
    let kaiser = CaseId::parse(&open_case(&th).await.id).expect("case id");
    // The same household reported again under another tenancy reference, spelled "Keiser"; a household
    // nobody knows; and "Keiser" once more, which the caseworker will find is someone else.
    let same = notice_for(&th, "WN-9001-01", "Katrin", "Keiser").await;
    let stranger = notice_for(&th, "WN-9002-01", "Berta", "Beispiel").await;
    let namesake = notice_for(&th, "WN-9003-01", "Katrin", "Keiser").await;

    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_text("h1", "Heute", |t| t == "Heute").await;
    assert_eq!(b.count("section#meldungen a.sichten").await, 3, "each new notice has its triage link");

    // The returning household: the suggestion names Frau K.'s case and why.
    b.click_and_wait(&format!("a.sichten[href=\"/meldungen/{same}\"]")).await;
    b.wait_for_text("h1", "Meldung sichten", |t| t == "Meldung sichten").await;
    let row = format!("tr.vorschlag[data-case=\"{kaiser}\"]");
    let why = b.text(&row).await;
    assert!(why.contains("Name klingt gleich") && why.contains("gleiche Anschrift"), "suggestion: {why}");
    assert!(b.text("section#gemeldet").await.contains("WN-9001-01"), "the tenancy reference is shown");
    assert!(b.text("section#einwilligung").await.contains("eingewilligt"), "the legal basis is shown");
    assert!(b.count("section#fristen").await == 1, "the notice's deadlines have their section");
    let chosen = format!("form#uebernehmen input[name=\"ziel\"][value=\"fall:{kaiser}\"]:checked");
    assert_eq!(b.count(&chosen).await, 1, "the open suggestion is preselected");
    b.check_page("meldung-sichten").await;
    b.click_and_wait("form#uebernehmen button[type=\"submit\"]").await;
    assert_eq!(b.path().await, format!("/faelle/{kaiser}?erledigt=meldung"));
    assert_eq!(b.text("#erledigt").await, "Die Meldung ist diesem Fall zugeordnet.");
    assert_eq!(case_of_notice(&th, &same).await, Some(kaiser.clone()), "linked into the suggested case");
    assert_eq!(
        take_up_audit(&th, &kaiser, &same).await,
        AuditDetail::TakenUp { notice: same.clone(), linked: true, declined: vec![] }
    );

    // A household without any match: nothing suggested, a new case.
    b.goto(&format!("/meldungen/{stranger}")).await;
    assert!(b.text("section#vorschlaege").await.contains("Kein bestehender Fall passt"));
    assert_eq!(b.count("form#uebernehmen input[value=\"neu\"]:checked").await, 1);
    b.click_and_wait("form#uebernehmen button[type=\"submit\"]").await;
    let opened = case_of_notice(&th, &stranger).await.expect("a case was opened");
    assert_ne!(opened, kaiser);
    assert_eq!(b.path().await, format!("/faelle/{opened}?erledigt=meldung"));

    // The namesake: suggested, but the caseworker declines and opens a new case; the audit says so.
    b.goto(&format!("/meldungen/{namesake}")).await;
    assert_eq!(b.count(&row).await, 1, "suggested as well");
    b.check("form#uebernehmen input[name=\"ziel\"][value=\"neu\"]").await;
    b.click_and_wait("form#uebernehmen button[type=\"submit\"]").await;
    let own = case_of_notice(&th, &namesake).await.expect("a case was opened");
    assert_ne!(own, kaiser, "declined: not linked");
    assert_eq!(
        take_up_audit(&th, &own, &namesake).await,
        AuditDetail::TakenUp { notice: namesake.clone(), linked: false, declined: vec![kaiser.to_string()] }
    );

    // A notice already taken up has no triage page any more; Heute lists none.
    b.goto(&format!("/meldungen/{same}")).await;
    assert!(b.text("main").await.contains("schon einem Fall zugeordnet"), "{}", b.text("main").await);
    b.goto("/").await;
    assert_eq!(b.count("section#meldungen a.sichten").await, 0, "nothing left to triage");
    b.close().await;
}
