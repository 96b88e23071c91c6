//! The Fachstelle dashboard in a real browser: Debian's headless Chromium, driven over WebDriver
//! (tests/tests/e2e/browser), against a fresh `TestHub`'s dashboard over HTTPS. A caseworker signs in, opens
//! Today, follows the Frau K. case of the demo, records a consent and sends a referral with the case
//! page's forms, and sees the referral move when the partner acts over mTLS gRPC; a housing-company
//! account and a signed-out browser see no personal data; a Schutzsperre case shows no address in lists; page
//! views are audited with the caseworker's name; signing out ends the session on the server.
//!
//! Screenshots (and a PDF of the key figures) go to `target/browser-screenshots/` for review. Each test
//! starts Chromium once (a start costs seconds) and makes many checks with it. All data is synthetic.

use crate::browser;
use crate::common;

use browser::Browser;
use common::*;
use hub::domain::audit::{AuditAction, AuditDetail};
use hub::domain::ids::CaseId;
use hub::domain::time::Instant;

/// Password of every synthetic staff account here.
const PASSWORD: &str = "Synthetisch-Passwort-2026";
/// The Fachstelle caseworker: user name and the display name the audit trail must carry.
const CASEWORKER: (&str, &str) = ("s.berger", "Sabine Berger (synthetisch)");
/// An account of the housing company: signed in, but not Fachstelle staff.
const HOUSING: (&str, &str) = ("m.mueller", "Martin Müller (Wohnbau, synthetisch)");
/// The session cookie of the dashboard.
const SESSION_COOKIE: &str = "__Host-wh_session";
/// Frau K.'s family name (hub::network::frau_k_details) and street, which must never leak.
const FRAU_K_FAMILY: &str = "Kaiser";
const FRAU_K_STREET: &str = "Musterweg";

/// The first day of the demo's story: `hub_testkit::demo::play` needs a hub whose clock starts there (as `hub-demo`
/// starts it; it advances the clock through the story).
use hub_testkit::demo::STORY_START_MS;
/// Family name and street of the demo's open household with the overdue referral (Herr L.).
const OPEN_FAMILY: &str = "Lehmann";
const OPEN_STREET: &str = "Beispielstraße";
/// Street of the demo's Schutzsperre household (Frau S.).
const DEMO_SCHUTZ_STREET: &str = "Gartenweg";

/// Family name and street of the Schutzsperre case of the second test.
const SCHUTZ_FAMILY: &str = "Sommerfeld";
const SCHUTZ_STREET: &str = "Lindenhofgasse";

/// Chromium on `th`'s dashboard (`https://localhost:PORT`; Chromium accepts the test certificate).
async fn open_dashboard(th: &TestHub) -> Browser {
    Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await
}

/// Adds a staff account of `org` to `th`.
async fn add_staff(th: &TestHub, org: &str, (user, name): (&str, &str)) {
    th.add_staff(org, user, name, PASSWORD).await.unwrap_or_else(|e| panic!("staff account {user} of {org}: {e:#}"));
}

/// Waits until the page's `<h1>` reads `title` (the contract's page titles).
async fn expect_title(b: &Browser, title: &str) {
    b.wait_for_text("h1", &format!("the title {title:?}"), |t| t == title).await;
}

/// Checks the browser is on `path` exactly (a form that failed would leave it on its action's address).
async fn expect_path(b: &Browser, path: &str) {
    let now = b.path().await;
    if now != path {
        panic!("expected to be on {path}\n{}", b.describe().await);
    }
}

/// The referral ids of the `tr.ueberweisung` rows on the current page.
async fn referral_rows(b: &Browser) -> Vec<String> {
    referral_rows_in(b, "body").await
}

/// The referral ids of the `tr.ueberweisung` rows inside `scope` on the current page.
async fn referral_rows_in(b: &Browser, scope: &str) -> Vec<String> {
    let css = format!("{scope} tr.ueberweisung");
    let mut ids = Vec::new();
    for el in b.client().find_all(fantoccini::Locator::Css(&css)).await.expect("referral rows") {
        ids.push(el.attr("data-referral").await.expect("data-referral").expect("tr.ueberweisung has data-referral"));
    }
    ids
}

/// The day an event of the timeline starts with (`dd.mm.yyyy ...`), as (year, month, day).
fn day_of(event: &str) -> (u32, u32, u32) {
    let part = |r: std::ops::Range<usize>| -> u32 {
        event.get(r).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("timeline event without a date: {event}"))
    };
    (part(6..10), part(3..5), part(0..2))
}

/// Reloads the page and checks the status cell of referral `id` reads `want` (the move was committed
/// before the gRPC call returned, so one reload must show it).
async fn status_becomes(b: &Browser, id: &str, want: &str) {
    let css = format!("tr.ueberweisung[data-referral=\"{id}\"] td.status");
    b.reload().await;
    let now = b.text(&css).await;
    assert_eq!(now, want, "referral {id} on {} after reload", b.path().await);
}

/// What the audit trail of `case` holds from the dashboard's staff member `name`: (action, detail).
async fn audited_for(th: &TestHub, case: &str, name: &str) -> Vec<(AuditAction, AuditDetail)> {
    let id = CaseId::parse(case).expect("case id");
    let trail = th.hub().audit_of_case(&id).await.expect("audit of the case");
    trail
        .into_iter()
        .filter(|e| e.actor == orgs::FACHSTELLE && e.staff.as_deref() == Some(name))
        .map(|e| (e.action, e.detail))
        .collect()
}

/// (a) Today and the main pages, (b) the Frau K. case of the demo, (c) a referral made with the case page's
/// forms moving as the partner acts over gRPC, (f) the audit of the views, (h) the key figures with charts,
/// CSV and PDF, and (g) signing out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caseworker_follows_frau_k_and_sees_a_referral_move() {
    // Exactly what `hub-demo --serve` shows: the Frau K. story, then two open households and a new notice.
    let th = TestHub::start_at(Instant::from_millis(STORY_START_MS)).await.expect("the test hub starts");
    let demo = hub_testkit::demo::play(&th).await.expect("the demo plays the Frau K. case");
    hub_testkit::demo::open_cases(&th).await.expect("the demo opens its households");
    let frau_k = demo.case_id.clone();
    add_staff(&th, orgs::FACHSTELLE, CASEWORKER).await;
    let b = open_dashboard(&th).await;

    // A wrong password is refused without saying which part was wrong.
    b.sign_in(CASEWORKER.0, "falsch").await;
    assert_eq!(b.text("p.fehler").await, "Benutzername oder Passwort falsch.");
    assert_eq!(b.path().await, "/anmelden");

    // (a) Sign in: Today, with its four sections and the caseworker's name. Herr L.'s Jobcenter referral is
    // overdue and his Schonfrist runs; his case is what the caseworker follows from here.
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    expect_title(&b, "Heute").await;
    assert_eq!(b.path().await, "/");
    assert!(b.text("#angemeldet").await.contains(CASEWORKER.1), "the signed-in name is shown");
    for section in ["fristen", "ueberfaellig", "meldungen", "zustellfehler"] {
        assert_eq!(b.count(&format!("section#{section}")).await, 1, "Today has section #{section}");
    }
    let overdue = referral_rows_in(&b, "section#ueberfaellig").await;
    assert_eq!(overdue.len(), 1, "Today lists Herr L.'s overdue referral: {overdue:?}");
    let overdue = overdue[0].clone();
    let href = b.attr("section#ueberfaellig a.fall-link", "href").await.expect("the overdue row links to its case");
    let open = href.strip_prefix("/faelle/").expect("a case link").to_owned();
    assert!(b.text("section#ueberfaellig").await.contains(OPEN_FAMILY), "Today names the household");
    let deadline = format!("section#fristen a.fall-link[href=\"/faelle/{open}\"]");
    assert!(b.count(&deadline).await >= 1, "Today shows Herr L.'s Schonfrist");
    assert!(b.text("section#fristen").await.contains("Ende der Schonfrist"), "Today shows the Schonfrist");
    assert!(b.text("section#meldungen").await.contains("Neumann"), "the housing company's new notice waits");
    let src = b.source().await;
    for street in [OPEN_STREET, FRAU_K_STREET, DEMO_SCHUTZ_STREET] {
        assert!(!src.contains(street), "no address on Today: {street}");
    }
    b.check_page("heute").await;

    // Handoffs: the open referral with partner and state, linking to its case; no address.
    b.click_and_wait("#hauptmenue a[href=\"/uebergaben\"]").await;
    expect_title(&b, "Vermittlungen").await;
    let row = format!("tr.ueberweisung[data-referral=\"{overdue}\"]");
    assert_eq!(b.text(&format!("{row} td.status")).await, "angefragt");
    assert!(b.text(&format!("{row} td.partner")).await.contains("Jobcenter"));
    assert!(b.count(&format!("{row} a.fall-link[href=\"/faelle/{open}\"]")).await >= 1, "the row links to its case");
    let src = b.source().await;
    for street in [OPEN_STREET, FRAU_K_STREET, DEMO_SCHUTZ_STREET] {
        assert!(!src.contains(street), "no address on Vermittlungen: {street}");
    }
    b.check_page("uebergaben").await;
    b.click_and_wait("#hauptmenue a[href=\"/faelle\"]").await;
    expect_title(&b, "Fälle").await;
    let src = b.source().await;
    assert!(src.contains(&format!("href=\"/faelle/{open}\"")), "the case list links to Herr L.'s case");
    for street in [OPEN_STREET, FRAU_K_STREET, DEMO_SCHUTZ_STREET] {
        assert!(!src.contains(street), "no address on Fälle: {street}");
    }
    b.check_page("faelle").await;

    // (b) The Frau K. case as the demo left it (closed, so in no list of open work: opened by its URL,
    // as `hub-demo --serve` prints it): the whole timeline and the address.
    b.goto(&format!("/faelle/{frau_k}")).await;
    let title = b.wait_for("h1").await;
    assert!(title.starts_with("Fall"), "case page title: {title}");
    let address = b.text("p#adresse").await;
    assert!(address.contains("Musterweg 7") && address.contains("30449 Hannover"), "address: {address}");
    let timeline = b.texts("section#zeitleiste li.ereignis").await;
    assert!(
        timeline.len() >= 20,
        "the Frau K. timeline: stages, consents, three referrals and their moves: {timeline:#?}"
    );
    let days: Vec<(u32, u32, u32)> = timeline.iter().map(|t| day_of(t)).collect();
    assert!(days.is_sorted(), "the timeline is in time order: {timeline:#?}");
    let all = timeline.join("\n");
    for event in [
        "Fall eröffnet",
        "Einwilligung erteilt für Jobcenter",
        "Vermittlung an Jobcenter (Demo) gesendet",
        "Wohnbau Nord eG (Demo): Eingang bestätigt",
        "Kündigung bis 06.02.2026 zurückgestellt",
        "Schuldnerberatung Nord (Demo): Vermittlung abgeschlossen",
        "Fall abgeschlossen: Wohnung erhalten",
    ] {
        assert!(all.contains(event), "the timeline shows {event:?}:\n{all}");
    }
    assert_eq!(demo.referral_ids.len(), 3, "the demo makes three referrals");
    for rid in &demo.referral_ids {
        let cell = format!("tr.ueberweisung[data-referral=\"{rid}\"] td.status");
        assert_eq!(b.text(&cell).await, "abgeschlossen", "the demo's referral {rid} is completed");
    }
    assert_eq!(b.count("section#fristen").await, 1, "the case page shows its deadlines");
    b.check_page("fall").await;
    b.screenshot_at("fall-verlauf", "tr.ueberweisung").await;

    // (c) Follow the open case from Today, record a consent for the social-work provider and refer to it,
    // both with the case page's forms.
    b.click_and_wait("#hauptmenue a[href=\"/\"]").await;
    expect_title(&b, "Heute").await;
    b.click_and_wait(&format!("section#ueberfaellig a.fall-link[href=\"/faelle/{open}\"]")).await;
    expect_path(&b, &format!("/faelle/{open}")).await;
    b.check(&format!("form#einwilligung input[name=\"empfaenger\"][value=\"{}\"]", orgs::TRAEGER)).await;
    for data in ["IDENTITY", "CONTACT"] {
        b.check(&format!("form#einwilligung input[name=\"daten\"][value=\"{data}\"]")).await;
    }
    b.select("form#einwilligung select[name=\"form\"]", "WRITTEN").await;
    // Evidence of spaces only: the rule refuses it; the page comes back with everything entered kept and the
    // message at the field, in German.
    b.fill("form#einwilligung [name=\"nachweis\"]", "   ").await;
    b.set_value("form#einwilligung [name=\"gueltig_bis\"]", &th.date_in_days(90)).await;
    b.click_and_wait("form#einwilligung button[type=\"submit\"]").await;
    let summary = b.text(".fehlerliste").await;
    assert!(summary.contains("Die Einwilligung wurde nicht gespeichert"), "a summary at the top: {summary}");
    assert_eq!(b.text("#einwilligung-nachweis-fehler").await, "Bitte ausfüllen.");
    let kept = format!("form#einwilligung input[name=\"empfaenger\"][value=\"{}\"]:checked", orgs::TRAEGER);
    assert_eq!(b.count(&kept).await, 1, "the chosen recipient is kept");
    assert_eq!(b.count("form#einwilligung input[name=\"daten\"]:checked").await, 2, "the chosen categories are kept");
    assert_eq!(b.attr("form#einwilligung [name=\"gueltig_bis\"]", "value").await, Some(th.date_in_days(90)));
    b.screenshot_sized("einwilligung-fehler-1366", "#einwilligung-nachweis-fehler", 1366, 768).await;
    b.screenshot_sized("einwilligung-fehler-390", "#einwilligung-nachweis-fehler", 390, 844).await;
    b.screenshot_sized("einwilligung-fehler-oben-390", ".fehlerliste", 390, 844).await;
    b.assert_accessible("the case page with a refused consent").await;
    b.fill("form#einwilligung [name=\"nachweis\"]", "EW-2026-0099 (synthetisch)").await;
    b.set_value("form#einwilligung [name=\"gueltig_bis\"]", &th.date_in_days(90)).await;
    b.check("form#einwilligung input[name=\"schweigepflicht\"]").await;
    b.click_and_wait("form#einwilligung button[type=\"submit\"]").await;
    expect_path(&b, &format!("/faelle/{open}?erledigt=einwilligung")).await;
    assert_eq!(b.text("#erledigt").await, "Die Einwilligung ist gespeichert.", "saving is confirmed");
    let before = referral_rows(&b).await;

    b.select("form#ueberweisen select[name=\"empfaenger\"]", orgs::TRAEGER).await;
    b.select("form#ueberweisen select[name=\"kategorie\"]", "SOCIAL_PEDAGOGICAL_SUPPORT").await;
    for data in ["IDENTITY", "CONTACT"] {
        b.check(&format!("form#ueberweisen input[name=\"daten\"][value=\"{data}\"]")).await;
    }
    b.set_value("form#ueberweisen [name=\"antwort_bis\"]", &th.date_in_days(10)).await;
    b.fill("form#ueberweisen [name=\"nachricht\"]", "Bitte um Begleitung (synthetisch)").await;
    b.click_and_wait("form#ueberweisen button[type=\"submit\"]").await;
    expect_path(&b, &format!("/faelle/{open}?erledigt=ueberweisen")).await;
    assert!(b.text("#erledigt").await.starts_with("Die Vermittlung ist gesendet"), "sending is confirmed");
    let after = referral_rows(&b).await;
    let new: Vec<&String> = after.iter().filter(|id| !before.contains(id)).collect();
    assert_eq!(new.len(), 1, "the form made exactly one referral: before {before:?}, after {after:?}");
    let rid = new[0].clone();
    let row = format!("tr.ueberweisung[data-referral=\"{rid}\"]");
    assert_eq!(b.text(&format!("{row} td.status")).await, "angefragt");
    assert!(b.text(&format!("{row} td.partner")).await.contains("Träger Wohnhilfe"));

    // The partner acts over gRPC with its own certificate; the page shows each move after a reload.
    do_move(&th, orgs::TRAEGER, &rid, ReferralMove::Acknowledge).await;
    status_becomes(&b, &rid, "eingegangen").await;
    do_move(&th, orgs::TRAEGER, &rid, ReferralMove::Accept).await;
    status_becomes(&b, &rid, "angenommen").await;
    b.check_page("fall-offen").await;
    // Before closing, the page names what is still open, and the close needs a confirmation.
    let still_open = b.text("#noch-offen").await;
    assert!(still_open.contains("offene Vermittlung"), "the open referrals are named: {still_open}");
    assert_eq!(b.count("form#abschliessen input[name=\"offenes_bestaetigt\"][required]").await, 1);
    b.screenshot_sized("fall-abschliessen-1366", "#noch-offen", 1366, 768).await;
    b.screenshot_sized("fall-abschliessen-390", "#noch-offen", 390, 844).await;
    b.goto("/uebergaben").await;
    assert_eq!(b.text(&format!("{row} td.status")).await, "angenommen", "Vermittlungen shows the move too");

    // Partners.
    b.goto("/partner").await;
    expect_title(&b, "Partner").await;
    assert!(b.source().await.contains("Träger Wohnhilfe"), "the partner list names the provider");
    b.check_page("partner").await;

    // (h) Key figures: inline SVG charts, the CSV link works in the browser, and the page prints to PDF.
    b.goto("/kennzahlen?jahr=2026").await;
    expect_title(&b, "Kennzahlen 2026").await;
    assert!(b.count("figure.diagramm svg").await >= 1, "the key figures page has an inline SVG chart");
    b.check_page("kennzahlen").await;
    let csv = b.attr("a#csv", "href").await.expect("a#csv has an href");
    assert_eq!(csv, "/kennzahlen.csv?jahr=2026");
    let (file, body) = b.download("a#csv").await;
    let body = String::from_utf8(body).expect("the CSV is UTF-8");
    assert!(file.ends_with(".csv"), "the download is a CSV file: {file}");
    // For people: German headings and labels, no codes, the time in Hannover time (TT.MM.JJJJ HH:MM).
    assert!(
        body.starts_with("Bereich;Angabe;Wert\n") && body.contains("Bericht;Jahr der Fallöffnung;2026"),
        "CSV {file}: {body}"
    );
    assert!(!body.contains("WOHNUNG_ERHALTEN") && !body.contains("T0") && !body.contains("meta;"), "no codes: {body}");
    let made = body.lines().find(|l| l.starts_with("Bericht;Erstellt am;")).expect("the report's time");
    let stamp = made.trim_start_matches("Bericht;Erstellt am;");
    assert!(stamp.len() == 16 && stamp.as_bytes()[2] == b'.' && stamp.as_bytes()[10] == b' ', "{made}");
    let (pdf_path, pdf) = b.print_pdf("kennzahlen").await;
    assert!(pdf.starts_with(b"%PDF"), "{} is a PDF", pdf_path.display());

    // (f) The page views of personal data are in the audit trail, with the caseworker's name.
    let audited = audited_for(&th, &open, CASEWORKER.1).await;
    assert!(
        audited.iter().any(|(action, _)| *action == AuditAction::DashboardView),
        "Today/Vermittlungen views of the case are audited with the staff name: {audited:#?}"
    );
    for case in [&open, &frau_k] {
        let audited = audited_for(&th, case, CASEWORKER.1).await;
        assert!(
            audited.iter().any(|(action, detail)| *action == AuditAction::CaseRead
                && matches!(detail, AuditDetail::Owner { place } if place.contains("dashboard"))),
            "the case page view of {case} is audited with the staff name: {audited:#?}"
        );
    }

    // (g) Signing out ends the session on the server, not only in this browser.
    b.goto(&format!("/faelle/{open}")).await;
    let session = b.cookie(SESSION_COOKIE).await.expect("a signed-in browser holds the session cookie");
    b.sign_out().await;
    assert!(b.cookie(SESSION_COOKIE).await.is_none(), "sign-out clears the cookie");
    b.back().await;
    b.wait_for_path("/anmelden").await;
    assert!(!b.source().await.contains(OPEN_FAMILY), "the back button shows no case data after sign-out");
    b.reload().await;
    assert!(b.path().await.starts_with("/anmelden"), "{}", b.path().await);
    let (status, page) = get(&th, Some(&session), &format!("/faelle/{open}")).await;
    assert_eq!(status, 303, "the old session id no longer opens the case page");
    assert!(!page.contains(OPEN_FAMILY), "a replayed session cookie gets no case data");
    b.close().await;
}

/// (d) A housing-company account and a signed-out browser see no personal data; (e) a Schutzsperre case
/// shows its address in no list, only on its case page (which only Fachstelle staff reach), marked as blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housing_company_and_signed_out_browser_see_nothing_and_no_list_shows_a_schutzsperre_address() {
    let th = start().await;
    let case_id = frau_k_with_open_referral(&th).await;
    let hidden = schutzsperre_case(&th).await;
    add_staff(&th, orgs::WOHNBAU, HOUSING).await;
    add_staff(&th, orgs::FACHSTELLE, CASEWORKER).await;
    let b = open_dashboard(&th).await;
    let secrets = [FRAU_K_FAMILY, FRAU_K_STREET, case_id.as_str(), SCHUTZ_FAMILY, SCHUTZ_STREET, hidden.as_str()];
    let pages = [
        "/".to_owned(),
        "/uebergaben".to_owned(),
        "/faelle".to_owned(),
        format!("/faelle/{case_id}"),
        format!("/faelle/{hidden}"),
        "/partner".to_owned(),
        "/kennzahlen?jahr=2026".to_owned(),
    ];

    // Signed out: every page redirects to the sign-in page and shows nothing.
    for page in &pages {
        b.goto(page).await;
        let back = match page.as_str() {
            "/" => "/anmelden".to_owned(),
            p => format!("/anmelden?weiter={}", p.replace('/', "%2F").replace('?', "%3F").replace('=', "%3D")),
        };
        assert_eq!(b.path().await, back, "signed out, {page} redirects to the sign-in page, keeping the link");
        // The sign-in page keeps the link the browser itself asked for (to return after signing in), and
        // nothing else of it.
        let src = b.source().await.replace(&format!("name=\"weiter\" value=\"{page}\""), "");
        for s in secrets {
            assert!(!src.contains(s), "signed out, {page} reveals {s:?}");
        }
    }
    let (status, csv) = get(&th, None, "/kennzahlen.csv?jahr=2026").await;
    assert!(status == 303 && !csv.contains("Bereich;Angabe;Wert"), "signed out, the CSV is not served");
    b.check_page("anmelden").await;

    // The housing company's account: signed in, but "Kein Zugriff" (HTTP 403) everywhere, and no data.
    b.sign_in(HOUSING.0, PASSWORD).await;
    assert_eq!(b.count("p.fehler").await, 0, "the housing-company account itself signs in");
    let session = b.cookie(SESSION_COOKIE).await.expect("the housing-company account has a session");
    // Its start page is its own notices (none yet).
    b.goto("/").await;
    expect_title(&b, "Mietrückstände melden").await;
    expect_path(&b, "/rueckstaende").await;
    for page in pages.iter().filter(|p| *p != "/") {
        b.goto(page).await;
        expect_title(&b, "Kein Zugriff").await;
        let src = b.source().await;
        for s in secrets {
            assert!(!src.contains(s), "the housing company sees {s:?} on {page}");
        }
        let (status, _) = get(&th, Some(&session), page).await;
        assert_eq!(status, 403, "{page} answers a housing-company account with 403");
    }
    let (status, csv) = get(&th, Some(&session), "/kennzahlen.csv?jahr=2026").await;
    assert!(status == 403 && !csv.contains("Bereich;Angabe;Wert"), "the housing company gets no CSV");
    b.check_page("kein-zugriff").await;
    b.sign_out().await;
    let (status, _) = get(&th, Some(&session), "/").await;
    assert_eq!(status, 303, "signing out on the Kein-Zugriff page ends the session");

    // (e) The Fachstelle: the Schutzsperre case is in the lists by name, but no list shows an address.
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    expect_title(&b, "Heute").await;
    for page in ["/", "/uebergaben", "/faelle"] {
        b.goto(page).await;
        let src = b.source().await;
        assert!(!src.contains(SCHUTZ_STREET) && !src.contains(FRAU_K_STREET), "{page} shows an address");
    }
    b.goto("/uebergaben").await;
    let link = format!("a.fall-link[href=\"/faelle/{hidden}\"]");
    assert!(b.count(&link).await >= 1, "the Schutzsperre case is listed on Vermittlungen");
    b.click_and_wait(&link).await;
    expect_path(&b, &format!("/faelle/{hidden}")).await;
    // Only Fachstelle staff reach the case page: there the address is shown, marked as blocked.
    assert!(b.text("p#auskunftssperre").await.contains("Auskunftssperre"), "the case page warns of the Schutzsperre");
    assert_eq!(b.attr("p#adresse", "class").await.as_deref(), Some("gesperrt"), "the address is marked blocked");
    assert!(b.text("p#adresse").await.contains(SCHUTZ_STREET), "Fachstelle staff see the address on the case page");
    b.check_page("fall-schutzsperre").await;
    b.close().await;

    // Only the caseworker's page views are in the cases' audit trails: the refused housing company's are not.
    for case in [&case_id, &hidden] {
        let trail = th.hub().audit_of_case(&CaseId::parse(case).expect("case id")).await.expect("audit of the case");
        assert!(
            trail.iter().all(|e| e.staff.as_deref() != Some(HOUSING.1) && e.actor != orgs::WOHNBAU),
            "a refused page view left an audit entry of the housing company on {case}"
        );
        let viewed =
            trail.iter().any(|e| e.staff.as_deref() == Some(CASEWORKER.1) && e.action == AuditAction::DashboardView);
        assert!(viewed, "the caseworker's list views of {case} are audited");
    }
}

/// The Frau K. case (opened over gRPC) with an open referral to the Jobcenter, so it is in every list.
async fn frau_k_with_open_referral(th: &TestHub) -> String {
    let case = open_case(th).await;
    use DataCategory as D;
    record_consent(th, &case, &[orgs::JOBCENTER], &[D::Identity, D::Arrears]).await;
    create_referral(th, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity, D::Arrears])
        .await;
    case.id
}

/// Opens a Schutzsperre case (violence protection: the address is blocked) with a consent and an open
/// referral to the women's counselling, so it appears on Vermittlungen. Returns its id.
async fn schutzsperre_case(th: &TestHub) -> String {
    let mut d = details();
    for p in &mut d.persons {
        p.family_name = SCHUTZ_FAMILY.to_owned();
    }
    d.address = Some(Address {
        street: SCHUTZ_STREET.to_owned(),
        house_number: "12".to_owned(),
        postal_code: "30451".to_owned(),
        city: "Hannover".to_owned(),
    });
    d.schutzsperre = true;
    let case = open_case_with(th, d).await;
    use DataCategory as D;
    record_consent(th, &case, &[orgs::FRAUENBERATUNG], &[D::Identity, D::Contact]).await;
    create_referral(
        th,
        &case.id,
        orgs::FRAUENBERATUNG,
        ReferralCategory::WomensCounselling,
        &[D::Identity, D::Contact],
    )
    .await;
    case.id
}

/// GET `path` on the dashboard outside the browser (to see status codes, which WebDriver does not show, and
/// to replay a session cookie), with the session `cookie` if given; redirects are not followed. Returns the
/// status and the body.
async fn get(th: &TestHub, cookie: Option<&str>, path: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(th.ca_pem().as_bytes()).expect("CA certificate"))
        .resolve("localhost", th.dashboard_addr())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let mut req = client.get(format!("https://localhost:{}{path}", th.dashboard_addr().port()));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{SESSION_COOKIE}={c}"));
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    if status == 303 {
        let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(to.starts_with("/anmelden"), "GET {path} redirects to the sign-in page: {to}");
    }
    (status, resp.text().await.unwrap_or_else(|e| panic!("body of {path}: {e}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fachstelle_administrator_sees_partner_certificates_about_to_expire() {
    use hub::domain::certificate::{IssuedCertificate, Serial};
    let th = start().await;
    let now = th.hub().clock_now();
    let in_days = |d: i64| Instant::from_millis(now.millis() + d * 86_400_000 + 3_600_000);
    let jobcenter = hub::domain::ids::OrgId::parse(orgs::JOBCENTER).expect("org id");
    let soon = IssuedCertificate::signed(Serial::parse("5eed01").expect("serial"), jobcenter.clone(), now, in_days(20));
    let later = IssuedCertificate::signed(Serial::parse("5eed02").expect("serial"), jobcenter, now, in_days(400));
    for c in [&soon, &later] {
        th.hub().record_certificate(c).await.expect("record the certificate");
    }
    th.add_org_admin(orgs::FACHSTELLE, "f.admin", "Frida Admin (Fachstelle, synthetisch)", PASSWORD)
        .await
        .expect("a Fachstelle administrator");
    add_staff(&th, orgs::FACHSTELLE, CASEWORKER).await;
    let b = open_dashboard(&th).await;

    b.sign_in("f.admin", PASSWORD).await;
    b.wait_for_path("/").await;
    assert_eq!(b.count("section#zertifikate tr.zertifikat").await, 1, "{}", b.describe().await);
    let row = b.text("tr.zertifikat[data-serial=\"5eed01\"]").await;
    assert!(row.contains("Jobcenter") && row.contains("20 Tage"), "{row}");
    b.check_page("heute-zertifikate").await;
    b.screenshot_at("heute-zertifikate-abschnitt", "section#zertifikate").await;
    b.sign_out().await;

    // A caseworker without administration has nothing to do with it.
    b.sign_in(CASEWORKER.0, PASSWORD).await;
    b.wait_for_path("/").await;
    assert_eq!(b.count("section#zertifikate").await, 0);
}
