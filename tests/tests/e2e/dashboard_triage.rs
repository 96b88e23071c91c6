//! Triage of new notices in a real browser (headless Chromium over WebDriver): from "Heute" a caseworker
//! opens each new notice, sees what was reported, its deadlines and legal basis, and the cases it may belong
//! to (the same tenancy, or a name that sounds alike: "Keiser" for "Kaiser"); takes it up into the suggested
//! case, or declines the suggestion and opens a new case; both are audited. A consent about to end shows on
//! "Heute", and the household's revocation is recorded on the case page. An overdue referral is followed up on
//! its own page (message, data and bases, partner contact, history, notes) and withdrawn with a reason. All
//! data is synthetic.

use crate::browser;
use crate::common;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_about_to_end_shows_on_heute_is_renewed_and_its_revocation_is_recorded_on_the_case_page() {
    let th = TestHub::start().await.expect("the test hub starts");
    th.add_staff(orgs::FACHSTELLE, CASEWORKER.0, CASEWORKER.1, PASSWORD).await.expect("staff");
    let case = open_case(&th).await;
    let soon = consent_request(&case, &[orgs::TRAEGER], &[DataCategory::Identity], &th.date_in_days(10));
    let ending = consents(&th, orgs::FACHSTELLE)
        .await
        .record_consent(soon)
        .await
        .expect("RecordConsent")
        .into_inner()
        .consent
        .expect("consent");
    let later = record_consent(&th, &case, &[orgs::JOBCENTER], &[DataCategory::Identity]).await;
    // A referral to the provider that rests on the consent about to end.
    let support = create_referral(
        &th,
        &case.id,
        orgs::TRAEGER,
        ReferralCategory::SocialPedagogicalSupport,
        &[DataCategory::Identity],
    )
    .await;

    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_text("h1", "Heute", |t| t == "Heute").await;
    let row = format!("section#einwilligungen tr.einwilligung[data-consent=\"{}\"]", ending.id);
    assert!(b.text(&row).await.contains("10 Tage"), "{}", b.text("section#einwilligungen").await);
    assert_eq!(
        b.count(&format!("section#einwilligungen tr[data-consent=\"{}\"]", later.id)).await,
        0,
        "a consent valid for months is not listed"
    );
    b.check_page("heute-einwilligungen").await;

    // The case page shows the evidence and takes the household's revocation.
    b.click_and_wait(&format!("{row} a.fall-link")).await;
    assert_eq!(b.path().await, format!("/faelle/{}", case.id));
    let evidence = format!("section#einwilligungen tr[data-consent=\"{}\"] td.nachweis", ending.id);
    assert_eq!(b.text(&evidence).await, "EW-2026-0001 (synthetisch)");

    // Renewed before it ends, as a new version: the form comes filled in from the old consent; the new
    // version replaces the old one and carries the open referral on.
    b.click_and_wait(&format!("section#einwilligungen tr[data-consent=\"{}\"] a.neue-fassung", ending.id)).await;
    assert!(b.text("#einwilligung-ersetzt").await.starts_with("Neue Fassung der Einwilligung vom"));
    let ticked = format!("form#einwilligung input[name=\"empfaenger\"][value=\"{}\"]:checked", orgs::TRAEGER);
    assert_eq!(b.count(&ticked).await, 1, "the recipient is taken over");
    assert_eq!(b.count("form#einwilligung input[name=\"daten\"][value=\"IDENTITY\"]:checked").await, 1);
    assert_eq!(b.count(".fehlerliste").await, 0, "a form filled in advance is no refusal");
    b.fill("form#einwilligung [name=\"nachweis\"]", "EW-2026-0002 Verlängerung (synthetisch)").await;
    b.set_value("form#einwilligung [name=\"gueltig_bis\"]", &th.date_in_days(150)).await;
    b.check_page("fall-einwilligung-neue-fassung").await;
    b.click_and_wait("form#einwilligung button[type=\"submit\"]").await;
    assert!(b.path().await.ends_with("?erledigt=einwilligung"), "{}", b.text("main").await);
    assert_eq!(b.count("section#einwilligungen tr.einwilligung").await, 3);
    let status = |id: &str| format!("section#einwilligungen tr[data-consent=\"{id}\"] td.status");
    assert_eq!(b.text(&status(&ending.id)).await, "durch eine neue Fassung ersetzt");
    let consents = list_consents(&th, &case.id).await;
    let renewal = consents.iter().find(|c| c.replaces_consent_id == ending.id).expect("the new version names the old");
    assert_eq!(b.text(&status(&renewal.id)).await, "wirksam");
    let version = format!("section#einwilligungen tr[data-consent=\"{}\"] .fassung", renewal.id);
    assert!(b.text(&version).await.starts_with("neue Fassung der Einwilligung vom"));
    let kept = referral(&th, orgs::FACHSTELLE, &support.id).await;
    assert_ne!(state_of(&kept), ReferralState::Cancelled, "the new version carries the referral on");
    let audited = th.hub().audit_of_case(&CaseId::parse(&case.id).expect("id")).await.expect("audit");
    assert!(
        audited.iter().any(|a| a.action == AuditAction::ConsentRecord
            && matches!(&a.detail, AuditDetail::Replaces { id, replaced } if *id == renewal.id && *replaced == ending.id)),
        "the new version is audited with the one it replaces"
    );

    // The household then revokes the other consent: it ends, the new version stays in force.
    b.select("form#widerruf select[name=\"einwilligung\"]", &later.id).await;
    b.fill("form#widerruf [name=\"notiz\"]", "Telefonisch am Vormittag, Frau K. selbst (synthetisch)").await;
    b.check_page("fall-widerruf").await;
    b.click_and_wait("form#widerruf button[type=\"submit\"]").await;
    assert_eq!(b.path().await, format!("/faelle/{}?erledigt=widerruf", case.id));
    assert!(b.text("#erledigt").await.starts_with("Der Widerruf ist gespeichert"));
    assert_eq!(b.text(&status(&later.id)).await, "widerrufen");
    assert_eq!(b.text(&status(&renewal.id)).await, "wirksam", "only the chosen consent ends");
    // Only the one still in force can be revoked now; Heute no longer lists the replaced one.
    assert_eq!(b.count("form#widerruf option").await, 1);
    let audited = th.hub().audit_of_case(&CaseId::parse(&case.id).expect("id")).await.expect("audit");
    assert!(
        audited.iter().any(|a| a.action == AuditAction::ConsentRevoke
            && a.staff.as_deref() == Some(CASEWORKER.1)
            && matches!(&a.detail, AuditDetail::Object { id, note: Some(n) } if *id == later.id && n.contains("Telefonisch"))),
        "the revocation is audited with the caseworker's name and note"
    );
    b.goto("/").await;
    assert_eq!(b.count(&row).await, 0);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_referral_is_followed_up_on_its_page_with_a_note_and_withdrawn_with_a_reason() {
    let th = TestHub::start().await.expect("the test hub starts");
    th.add_staff(orgs::FACHSTELLE, CASEWORKER.0, CASEWORKER.1, PASSWORD).await.expect("staff");
    let case = open_case(&th).await;
    let r = create_referral(
        &th,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[DataCategory::Identity, DataCategory::Arrears],
    )
    .await;
    th.advance_days(15);

    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_text("h1", "Heute", |t| t == "Heute").await;
    // From Heute's overdue list to the referral's own page.
    b.click_and_wait(&format!("section#ueberfaellig tr[data-referral=\"{}\"] a.vermittlung-link", r.id)).await;
    assert_eq!(b.path().await, format!("/vermittlungen/{}", r.id));
    assert!(b.text("h1").await.starts_with("Vermittlung an Jobcenter"), "{}", b.text("h1").await);
    assert!(b.text("section#ueberblick").await.contains("überfällig"));
    assert!(b.text("section#nachricht").await.contains("Bitte um Pruefung"), "the message sent is shown");
    let data = b.text("section#daten").await;
    assert!(data.contains("Personalien") && data.contains("§ 69 Abs. 1 Nr. 1 SGB X"), "data and basis: {data}");
    assert!(b.text("section#partner").await.contains("Sprechzeiten"));
    assert!(b.text("section#verlauf").await.contains("Vermittlung gesendet"));

    // A note without text is refused at its field, nothing stored; then a real note.
    b.set_value("form#notiz textarea[name=\"text\"]", "   ").await;
    b.click_and_wait("form#notiz button[type=\"submit\"]").await;
    assert_eq!(b.text("#notiz-fehler").await, "Bitte ausfüllen.");
    b.fill("form#notiz textarea[name=\"text\"]", "Bitte um kurze Rückmeldung zum Stand (synthetisch).").await;
    b.click_and_wait("form#notiz button[type=\"submit\"]").await;
    assert_eq!(b.path().await, format!("/vermittlungen/{}?erledigt=notiz", r.id));
    assert!(b.text("section#notizen li.notiz").await.contains("Bitte um kurze Rückmeldung"));
    assert!(b.text("section#notizen li.notiz").await.contains(CASEWORKER.1), "the note names its author");

    // A reminder: a note asking for an answer, since the date has passed.
    b.click_and_wait("form#erinnern-form button[type=\"submit\"]").await;
    assert_eq!(b.path().await, format!("/vermittlungen/{}?erledigt=erinnern", r.id));
    assert!(b.text("section#notizen").await.contains("Erinnerung: Die Antwortfrist ist am"));

    // A date beyond the window (sent past the browser's own check): refused at the field, with the date and
    // the words kept.
    b.set_value("form#frist-form [name=\"datum\"]", &th.date_in_days(120)).await;
    b.fill("form#frist-form [name=\"text\"]", "Bitte dringend (synthetisch)").await;
    b.client().execute("document.getElementById('frist-form').submit(); return true;", vec![]).await.expect("submit");
    assert!(b.wait_for("#frist-fehler").await.starts_with("Höchstens 92 Tage"));
    assert_eq!(b.attr("form#frist-form [name=\"datum\"]", "value").await, Some(th.date_in_days(120)));
    assert_eq!(b.text("form#frist-form [name=\"text\"]").await, "Bitte dringend (synthetisch)");

    // A new reply-by date: no longer overdue, and the partner is told in the thread.
    b.set_value("form#frist-form [name=\"datum\"]", &th.date_in_days(7)).await;
    b.fill("form#frist-form [name=\"text\"]", "Bitte bis dahin entscheiden.").await;
    b.click_and_wait("form#frist-form button[type=\"submit\"]").await;
    assert_eq!(b.path().await, format!("/vermittlungen/{}?erledigt=frist", r.id));
    assert!(!b.text("section#ueberblick").await.contains("überfällig"));
    assert!(b.text("section#notizen").await.contains("Neue Antwortfrist"), "{}", b.text("section#notizen").await);
    let partner_view = referral(&th, orgs::JOBCENTER, &r.id).await;
    assert_eq!(partner_view.reply_by, th.date_in_days(7), "the partner sees the new date");
    b.check_page("vermittlung").await;

    // Withdrawn with a reason: the partner's view shows the cancellation.
    b.select("form#zurueckziehen-form select[name=\"code\"]", "HELP_REFUSED").await;
    b.fill("form#zurueckziehen-form textarea[name=\"grund\"]", "Haushalt hat selbst gezahlt (synthetisch).").await;
    b.click_and_wait("form#zurueckziehen-form button[type=\"submit\"]").await;
    assert_eq!(b.path().await, format!("/vermittlungen/{}?erledigt=zurueckziehen", r.id));
    assert_eq!(b.text("#status").await, "zurückgezogen");
    assert_eq!(b.count("form#zurueckziehen-form").await, 0, "a cancelled referral cannot be withdrawn again");
    let seen = referral(&th, orgs::JOBCENTER, &r.id).await;
    assert_eq!(state_of(&seen), ReferralState::Cancelled);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_court_notice_from_the_post_is_entered_its_schonfrist_shows_at_once_and_a_stage_is_recorded() {
    let th = TestHub::start().await.expect("the test hub starts");
    th.add_staff(orgs::FACHSTELLE, CASEWORKER.0, CASEWORKER.1, PASSWORD).await.expect("staff");
    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_text("h1", "Heute", |t| t == "Heute").await;
    b.click_and_wait("a#gericht-erfassen").await;
    assert_eq!(b.path().await, "/gericht/neu");
    let fill = |css: &'static str, v: String| {
        let b = &b;
        async move { b.set_value(&format!("form#gericht [name=\"{css}\"]"), &v).await }
    };
    fill("aktenzeichen", "12 C 345/26 (synthetisch)".into()).await;
    fill("eingang", th.date_in_days(-10)).await;
    fill("zustellung", th.date_in_days(-5)).await;
    fill("nachname", "Süßmann".into()).await;
    fill("vorname", "Sina".into()).await;
    fill("strasse", "Probeweg".into()).await;
    fill("hausnummer", "3".into()).await;
    fill("plz", "30453".into()).await;
    fill("ort", "Hannover".into()).await;
    fill("vermieter", "Wohnbau Nord eG".into()).await;
    fill("mietvertrag", "WN-7777-01".into()).await;
    fill("miete", "780,00".into()).await;
    fill("rueckstand", "1.560,00".into()).await;
    b.select("form#gericht select[name=\"vermieter_org\"]", orgs::WOHNBAU).await;
    b.select("form#gericht select[name=\"bezirk\"]", "LINDEN_LIMMER").await;
    // An amount that is none: refused at its field, everything entered kept, nothing stored.
    fill("nutzung", "zweihundert".into()).await;
    b.click_and_wait("form#gericht button[type=\"submit\"]").await;
    assert_eq!(b.text("#nutzung-fehler").await, "Bitte einen Betrag wie 1.560,00 angeben.");
    assert_eq!(
        b.attr("form#gericht [name=\"aktenzeichen\"]", "value").await.as_deref(),
        Some("12 C 345/26 (synthetisch)")
    );
    assert_eq!(b.attr("form#gericht [name=\"nachname\"]", "value").await.as_deref(), Some("Süßmann"));
    b.check_page("gericht-fehler").await;
    let open = th.store().begin_read().await.expect("read").open_notices().await.expect("open notices");
    assert!(open.is_empty(), "a refused form stores nothing");

    fill("nutzung", "0".into()).await;
    b.click_and_wait("form#gericht button[type=\"submit\"]").await;
    let path = b.path().await;
    assert!(path.starts_with("/meldungen/") && path.ends_with("?erledigt=gericht"), "{path}");
    assert!(b.text("#erledigt").await.starts_with("Die Mitteilung ist gespeichert"));
    let deadlines = b.text("section#fristen").await;
    assert!(deadlines.contains("Ende der Schonfrist"), "the Schonfrist appears at once: {deadlines}");
    assert!(b.text("section#gemeldet").await.contains("12 C 345/26"));
    b.check_page("gericht-sichten").await;

    // Into a new case; there the Schonfrist is among the case's deadlines, and a stage is added.
    b.click_and_wait("form#uebernehmen button[type=\"submit\"]").await;
    let path = b.path().await;
    assert!(path.starts_with("/faelle/") && path.ends_with("?erledigt=meldung"), "{path}");
    assert!(b.text("section#fristen").await.contains("Ende der Schonfrist"));
    b.select("form#stufe select[name=\"stufe\"]", "KUENDIGUNG_FRISTLOS").await;
    b.set_value("form#stufe [name=\"datum\"]", &th.date_in_days(-20)).await;
    b.set_value("form#stufe [name=\"quelle\"]", "Kündigungsschreiben, Kopie von der Mieterin (synthetisch)").await;
    b.click_and_wait("form#stufe button[type=\"submit\"]").await;
    assert!(b.path().await.ends_with("?erledigt=stufe"), "{}", b.path().await);
    assert_eq!(b.text("#erledigt").await, "Die Stufe ist eingetragen; die Fristen sind neu berechnet.");
    assert!(
        b.text("section#zeitleiste").await.contains("Fristlose Kündigung"),
        "{}",
        b.text("section#zeitleiste").await
    );
    let case = b.path().await.trim_start_matches("/faelle/").split('?').next().expect("case id").to_owned();

    // Found again by its Aktenzeichen, and by the name typed without umlauts; a search is audited.
    let link = format!("table#faelle a.fall-link[href=\"/faelle/{case}\"]");
    for words in ["345/26", "Suessmann", "suessmann sina"] {
        b.goto("/faelle").await;
        b.fill("form#filter input[name=\"suche\"]", words).await;
        b.click_and_wait("form#filter button[type=\"submit\"]").await;
        assert_eq!(b.count(&link).await, 1, "search {words:?}: {}", b.text("main").await);
    }
    b.check_page("faelle-suche").await;
    b.goto("/faelle?suche=Zimmermann").await;
    assert!(b.text("main").await.contains("Kein Fall passt zu dieser Suche."));
    let query = hub::store::AuditQuery { limit: 10_000, ..Default::default() };
    let records = th.store().begin_read().await.expect("read").audit_records(&query).await.expect("audit");
    let searches: Vec<_> = records.iter().filter(|r| r.action == "dashboard.search").collect();
    assert_eq!(searches.len(), 4, "every search is audited");
    assert!(searches.iter().all(|r| !r.detail.contains("uessmann") && r.staff.as_deref() == Some(CASEWORKER.1)));
    b.close().await;
}

/// `YYYY-MM-DD` as the pages write it (`DD.MM.YYYY`).
fn german(iso: &str) -> String {
    let p: Vec<&str> = iso.split('-').collect();
    format!("{}.{}.{}", p[2], p[1], p[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn casework_assigns_logs_contact_attempts_and_follows_up_a_kept_tenancy() {
    let th = TestHub::start().await.expect("the test hub starts");
    th.add_staff(orgs::FACHSTELLE, CASEWORKER.0, CASEWORKER.1, PASSWORD).await.expect("staff");
    th.add_staff(orgs::FACHSTELLE, "t.colleague", "Tom Kollege (synthetisch)", PASSWORD).await.expect("staff");
    let case = open_case(&th).await;
    th.advance_days(7);
    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_text("h1", "Heute", |t| t == "Heute").await;
    b.goto(&format!("/faelle/{}", case.id)).await;
    assert_eq!(b.text("#zustaendig-name").await, "noch niemand");
    assert_eq!(b.text("#erster-kontakt").await, "noch nicht erreicht");

    // Responsible: the signed-in caseworker; "nur meine Fälle" then lists the case, for her only.
    b.select("form#zustaendig select[name=\"zustaendig\"]", CASEWORKER.0).await;
    b.click_and_wait("form#zustaendig button[type=\"submit\"]").await;
    assert_eq!(b.text("#zustaendig-name").await, CASEWORKER.1);
    b.goto("/faelle?zustaendig=ich").await;
    assert_eq!(b.count(&format!("table#faelle a.fall-link[href=\"/faelle/{}\"]", case.id)).await, 1);
    assert_eq!(b.text("table#faelle td.zustaendig").await, CASEWORKER.1);

    // The city writes first, then calls, then visits: three tries, the household reached on the third.
    b.goto(&format!("/faelle/{}", case.id)).await;
    for (kind, days_ago, reached, note) in [
        ("ANSCHREIBEN", 6, false, "Brief mit Terminangebot"),
        ("ANRUF", 4, false, "nicht abgenommen"),
        ("HAUSBESUCH", 2, true, "Frau K. angetroffen, Termin vereinbart"),
    ] {
        b.log_contact(kind, &th.date_in_days(-days_ago), reached, note).await;
        assert!(b.path().await.ends_with("?erledigt=kontakt"), "{}", b.path().await);
    }
    assert_eq!(b.count("table#kontaktversuche tr.kontaktversuch").await, 3);
    assert_eq!(b.text("#erster-kontakt").await, german(&th.date_in_days(-2)));
    b.check_page("fall-kontakt").await;

    // The signed consent slip as a PDF: stored with the case, downloaded byte for byte; a text file is refused
    // at its field and nothing is stored.
    let files = tempfile::tempdir().expect("a folder for files");
    let slip = files.path().join("Einwilligung Kaiser.pdf");
    let pdf = b"%PDF-1.4\n% synthetische Einwilligung\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    std::fs::write(&slip, &pdf).expect("writing the PDF");
    let text = files.path().join("notiz.pdf");
    std::fs::write(&text, b"kein PDF").expect("writing the text file");
    b.choose_file("form#dokument input[name=\"datei\"]", &text).await;
    b.click_and_wait("form#dokument button[type=\"submit\"]").await;
    assert_eq!(b.text("#dokument-datei-fehler").await, "Nur PDF-, JPEG- oder PNG-Dateien.");
    assert_eq!(b.count("table#dokumente-liste tr.dokument").await, 0);
    b.choose_file("form#dokument input[name=\"datei\"]", &slip).await;
    b.click_and_wait("form#dokument button[type=\"submit\"]").await;
    assert!(b.path().await.ends_with("?erledigt=dokument"), "{}", b.text("main").await);
    assert!(b.text("table#dokumente-liste").await.contains("Einwilligung Kaiser.pdf"));
    let (file, bytes) = b.download("table#dokumente-liste a.herunterladen").await;
    assert_eq!(bytes, pdf, "the download is the upload ({file})");
    let audit = th.hub().audit_of_case(&CaseId::parse(&case.id).expect("id")).await.expect("audit");
    assert!(audit.iter().any(|a| a.action == AuditAction::DocumentRead && a.staff.as_deref() == Some(CASEWORKER.1)));

    // Closed with the tenancy kept: three follow-ups; the first is due after three months, on Heute.
    b.select("form#abschliessen select[name=\"ergebnis\"]", "WOHNUNG_ERHALTEN").await;
    b.select("form#abschliessen select[name=\"mittel\"]", "SGB2_LOAN").await;
    b.click_and_wait("form#abschliessen button[type=\"submit\"]").await;
    assert!(b.path().await.ends_with("?erledigt=abschliessen"), "{}", b.text("main").await);
    assert_eq!(b.count("table#wiedervorlagen tr.wiedervorlage").await, 3);
    assert_eq!(b.count("form.wiedervorlage").await, 0, "nothing due yet");
    th.advance_days(93);
    // Three months later: a new working day, a new sign-in.
    b.goto("/").await;
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_text("h1", "Heute", |t| t == "Heute").await;
    let due = format!("section#wiedervorlagen a.fall-link[href=\"/faelle/{}\"]", case.id);
    assert_eq!(b.count(&due).await, 1, "{}", b.text("section#wiedervorlagen").await);
    b.click_and_wait(&due).await;
    b.click_and_wait("tr.wiedervorlage[data-monate=\"3\"] button[value=\"ja\"]").await;
    assert!(b.path().await.ends_with("?erledigt=wiedervorlage"));
    assert!(b.text("tr.wiedervorlage[data-monate=\"3\"]").await.contains("Wohnung gehalten"));
    b.goto("/").await;
    assert_eq!(b.count(&due).await, 0, "done: no longer on Heute");
    // Months later the same household is reported again: the closed case is suggested, and the new case
    // is marked as a repeat case, linking the earlier one.
    let again = notice_for(&th, "WN-4711-03", "Katrin", "Kaiser").await;
    b.goto(&format!("/meldungen/{again}")).await;
    let earlier = format!("tr.vorschlag[data-case=\"{}\"]", case.id);
    assert!(b.text(&earlier).await.contains("erneut gemeldet"), "{}", b.text("section#vorschlaege").await);
    b.click_and_wait("form#uebernehmen button[type=\"submit\"]").await;
    let new_case = case_of_notice(&th, &again).await.expect("a new case");
    assert_ne!(new_case.as_str(), case.id);
    assert_eq!(b.attr("#wiederholung a", "href").await, Some(format!("/faelle/{}", case.id)));
    b.goto("/faelle").await;
    assert!(b.text("table#faelle td.stand").await.contains("Wiederholungsfall"));

    // The paper file: everything without forms, headed with day, author and case number.
    b.goto(&format!("/faelle/{}", case.id)).await;
    b.click_and_wait("a#druckansicht").await;
    assert_eq!(b.path().await, format!("/faelle/{}/druck", case.id));
    let head = b.text("#druckkopf").await;
    assert!(head.contains(&case.id) && head.contains(CASEWORKER.1) && head.contains("Ausdruck vom"), "{head}");
    assert_eq!(b.count("main form").await, 0, "no forms on paper");
    assert_eq!(b.count("table#kontaktversuche tr.kontaktversuch").await, 3);
    b.check_page("fall-druck").await;
    let (_, pdf) = b.print_pdf("fall-druck").await;
    assert!(pdf.starts_with(b"%PDF"), "the print view prints");
    let audit = th.hub().audit_of_case(&CaseId::parse(&case.id).expect("id")).await.expect("audit");
    for action in [AuditAction::CaseAssign, AuditAction::CaseContact, AuditAction::CaseFollowUp] {
        assert!(audit.iter().any(|a| a.action == action && a.staff.as_deref() == Some(CASEWORKER.1)), "{action}");
    }
    // The annual key figures count reaching, repeat cases and kept tenancies (one case: shown as "<5").
    b.goto("/kennzahlen?jahr=2026").await;
    let figures = b.text("main").await;
    for table in ["Erreichbarkeit und Wiederholungsfälle", "Verstetigung: gehaltene Wohnungen nach 3, 6 und 12 Monaten"]
    {
        assert!(figures.contains(table), "{table} in the key figures");
    }
    b.close().await;
}
