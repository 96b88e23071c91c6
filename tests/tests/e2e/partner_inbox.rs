//! Partners in the browser: the operator makes the debt counselling office's first administrator, who
//! adds a clerk on "Mitarbeitende" (a bad user name is refused at its field with the input kept). The
//! clerk signs in, lands on the inbox, opens the referral the Fachstelle sent, sees the household as the
//! consent allows, is refused a decline without a reason at the reason's field, confirms receipt, accepts,
//! and writes a note; the Fachstelle sees all of it over gRPC. The administrator disables the clerk,
//! whose session ends at once.
//!
//! And the authorisation matrix on the web edge: a clerk of another partner, over real HTTPS, never sees
//! the referral (not in its inbox, 404 on its page and on its actions), no Fachstelle page, and its
//! administrator cannot touch the first partner's accounts. All data is synthetic.

use crate::browser;
use crate::common;

use browser::Browser;
use common::*;
use hub_proto::v1::{DataCategory as D, ReferralCategory as C};

const PASSWORD: &str = "Synthetisch-Partner-2026";
const ADMIN: (&str, &str) = ("b.admin", "Bea Admin (Schuldnerberatung, synthetisch)");
const CLERK: (&str, &str) = ("t.klar", "Tim Klar (Schuldnerberatung, synthetisch)");
const FOREIGN_ADMIN: (&str, &str) = ("j.admin", "Jo Admin (Jobcenter, synthetisch)");
const FOREIGN_CLERK: (&str, &str) = ("j.sach", "Jana Sach (Jobcenter, synthetisch)");
/// Frau K.'s family name (hub::network::frau_k_details).
const FAMILY: &str = "Kaiser";

async fn open_dashboard(th: &TestHub) -> Browser {
    Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await
}

/// Frau K.'s case with a consent for the debt counselling and a referral to it. Returns (case, referral).
async fn referral_to_debt_counselling(th: &TestHub) -> (String, String) {
    let case = open_case(th).await;
    record_consent(th, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Contact, D::Arrears]).await;
    let r =
        create_referral(th, &case.id, orgs::SCHULDNERBERATUNG, C::DebtCounselling, &[D::Identity, D::Arrears]).await;
    (case.id, r.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_administers_its_staff_and_its_clerk_works_through_the_inbox() {
    let th = start().await;
    let (_, referral_id) = referral_to_debt_counselling(&th).await;
    th.add_org_admin(orgs::SCHULDNERBERATUNG, ADMIN.0, ADMIN.1, PASSWORD).await.expect("first administrator");
    let b = open_dashboard(&th).await;

    // The administrator starts at the inbox and manages the staff.
    b.sign_in(ADMIN.0, PASSWORD).await;
    b.wait_for_path("/eingang").await;
    assert_eq!(b.text("h1").await, "Eingang");
    assert_eq!(b.texts("nav#hauptmenue a").await, ["Eingang", "Mitarbeitende"]);
    b.goto("/mitarbeitende").await;
    assert!(b.text("p#ueberblick").await.contains(": 1 Konto."), "{}", b.describe().await);
    b.fill("#neu-name", CLERK.1).await;
    b.fill("#neu-benutzer", "Tim Klar").await;
    b.fill("#neu-passwort", PASSWORD).await;
    b.click_and_wait("form#neu button[type=submit]").await;
    assert!(b.text("#neu-benutzer-fehler").await.contains("Kleinbuchstaben"), "{}", b.describe().await);
    assert_eq!(b.attr("#neu-name", "value").await.as_deref(), Some(CLERK.1), "the name is kept");
    assert_eq!(b.attr("#neu-benutzer", "value").await.as_deref(), Some("Tim Klar"), "the user name is kept");
    b.check_page("mitarbeitende-fehler").await;
    b.fill("#neu-benutzer", CLERK.0).await;
    b.fill("#neu-passwort", PASSWORD).await;
    b.click_and_wait("form#neu button[type=submit]").await;
    assert!(b.text("#erledigt").await.contains("angelegt"), "{}", b.describe().await);
    assert_eq!(b.count("tr.konto").await, 2);
    b.check_page("mitarbeitende").await;
    b.sign_out().await;

    // The clerk: the inbox lists the referral, without any personal data.
    b.sign_in(CLERK.0, PASSWORD).await;
    b.wait_for_path("/eingang").await;
    assert_eq!(b.texts("nav#hauptmenue a").await, ["Eingang"], "a clerk does not manage accounts");
    let row = format!("tr.vermittlung[data-referral=\"{referral_id}\"]");
    assert_eq!(b.count(&row).await, 1, "{}", b.describe().await);
    assert!(b.text("p#ueberblick").await.starts_with("1 offene Vermittlung an Ihre Stelle"));
    assert!(!b.source().await.contains(FAMILY), "the list shows no household");
    b.check_page("eingang").await;
    b.goto("/eingang?anliegen=WOMENS_COUNSELLING").await;
    assert_eq!(b.count(&row).await, 0, "the category filter applies");
    b.goto("/eingang").await;

    // Its page: the household as the consent allows, and the moves of a new referral.
    b.click_and_wait(&format!("{row} a.vermittlung-link")).await;
    b.wait_for_path(&format!("/eingang/{referral_id}")).await;
    assert!(b.text("section#daten").await.contains(FAMILY), "the consent covers the identity");
    assert_eq!(b.texts("section#aktionen h3").await, ["Eingang bestätigen"]);
    b.check_page("eingang-vermittlung").await;
    b.click_and_wait("form#aktion-ACKNOWLEDGE button[type=submit]").await;
    assert!(b.text("#erledigt").await.contains("Eingang bestätigt"), "{}", b.describe().await);
    assert_eq!(b.texts("section#aktionen h3").await, ["Annehmen", "Ablehnen"]);

    // Declining needs a reason: refused at the reason, the explanation kept.
    b.fill("#DECLINE-reason_text", "Termine erst im Frühjahr frei").await;
    b.click_and_wait("form#aktion-DECLINE button[type=submit]").await;
    assert_eq!(b.text("#DECLINE-reason_code-fehler").await, "Bitte wählen Sie einen Grund.");
    assert_eq!(b.text("#DECLINE-reason_text").await, "Termine erst im Frühjahr frei");
    assert_eq!(b.text("#status").await, "eingegangen", "nothing changed");
    b.check_page("eingang-ablehnen-fehler").await;
    b.click_and_wait("form#aktion-ACCEPT button[type=submit]").await;
    assert!(b.text("#erledigt").await.contains("angenommen"), "{}", b.describe().await);
    b.fill("#NOTE-text", "Erstgespräch am Dienstag vereinbart (synthetisch).").await;
    b.click_and_wait("form#aktion-NOTE button[type=submit]").await;
    assert!(b.text("#erledigt").await.contains("Notiz ist gespeichert"));
    assert!(b.text("ul.notizen").await.contains("Erstgespräch am Dienstag"));
    assert!(b.text("ol.verlauf").await.contains(CLERK.1), "the history names the clerk");

    // The Fachstelle sees the moves and the note, made in the clerk's name.
    let seen = referral(&th, orgs::FACHSTELLE, &referral_id).await;
    assert_eq!(state_of(&seen), ReferralState::Accepted);
    let last = seen.history.last().expect("history");
    assert_eq!(last.staff_member, CLERK.1, "{last:?}");
    let notes = referrals(&th, orgs::FACHSTELLE)
        .await
        .list_notes(with_staff(ListNotesRequest { referral_id: referral_id.clone() }, "Test"))
        .await
        .expect("notes")
        .into_inner()
        .notes;
    assert!(notes.iter().any(|n| n.text.contains("Erstgespräch")), "{notes:?}");
    b.sign_out().await;

    // The administrator disables the clerk: the clerk can no longer sign in.
    b.sign_in(ADMIN.0, PASSWORD).await;
    b.goto("/mitarbeitende").await;
    assert_eq!(b.count(&format!("tr.konto[data-user=\"{}\"] button.deaktivieren", ADMIN.0)).await, 0, "not oneself");
    b.click_and_wait(&format!("tr.konto[data-user=\"{}\"] button.deaktivieren", CLERK.0)).await;
    assert_eq!(b.text(&format!("tr.konto[data-user=\"{}\"] td.status", CLERK.0)).await, "deaktiviert");
    b.sign_out().await;
    b.sign_in(CLERK.0, PASSWORD).await;
    assert_eq!(b.path().await, "/anmelden", "a disabled clerk stays on the sign-in page");
    b.close().await;
}

/// The web edge's authorisation matrix, over HTTPS without a browser (to see the status codes).
mod http {
    use super::*;

    pub struct Session {
        client: reqwest::Client,
        base: String,
        cookie: String,
        pub csrf: String,
    }

    pub struct Answer {
        pub status: u16,
        pub body: String,
    }

    impl Session {
        pub async fn sign_in(th: &TestHub, user: &str) -> Self {
            let client = reqwest::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(th.ca_pem().as_bytes()).expect("CA"))
                .resolve("localhost", th.dashboard_addr())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client");
            let base = format!("https://localhost:{}", th.dashboard_addr().port());
            let resp = client
                .post(format!("{base}/anmelden"))
                .form(&[("benutzer", user), ("passwort", PASSWORD)])
                .send()
                .await
                .expect("sign-in");
            assert_eq!(resp.status().as_u16(), 303, "{user} signs in");
            let cookie = resp
                .headers()
                .get(reqwest::header::SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|c| c.split(';').next())
                .expect("session cookie")
                .to_owned();
            let mut s = Self { client, base, cookie, csrf: String::new() };
            let page = s.get("/eingang").await.body;
            let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
            s.csrf = page[at..].split('"').next().expect("csrf").to_owned();
            s
        }

        async fn send(req: reqwest::RequestBuilder) -> Answer {
            let resp = req.send().await.expect("request");
            Answer { status: resp.status().as_u16(), body: resp.text().await.unwrap_or_default() }
        }

        pub async fn get(&self, path: &str) -> Answer {
            Self::send(self.client.get(format!("{}{path}", self.base)).header(reqwest::header::COOKIE, &self.cookie))
                .await
        }

        pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
            let mut all = vec![("csrf", self.csrf.as_str())];
            all.extend_from_slice(fields);
            Self::send(
                self.client
                    .post(format!("{}{path}", self.base))
                    .header(reqwest::header::COOKIE, &self.cookie)
                    .form(&all),
            )
            .await
        }
    }
}

#[tokio::test]
async fn no_page_shows_a_partner_what_belongs_to_another() {
    let th = start().await;
    let (case_id, referral_id) = referral_to_debt_counselling(&th).await;
    th.add_org_admin(orgs::SCHULDNERBERATUNG, ADMIN.0, ADMIN.1, PASSWORD).await.expect("administrator");
    th.add_staff(orgs::SCHULDNERBERATUNG, CLERK.0, CLERK.1, PASSWORD).await.expect("clerk");
    th.add_org_admin(orgs::JOBCENTER, FOREIGN_ADMIN.0, FOREIGN_ADMIN.1, PASSWORD).await.expect("administrator");
    th.add_staff(orgs::JOBCENTER, FOREIGN_CLERK.0, FOREIGN_CLERK.1, PASSWORD).await.expect("clerk");

    // The addressee's clerk sees the referral and the household: the positive control.
    let own = http::Session::sign_in(&th, CLERK.0).await;
    assert!(own.get("/eingang").await.body.contains(&referral_id));
    let page = own.get(&format!("/eingang/{referral_id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(FAMILY), "the addressee sees the household");

    // Another partner's clerk: not in its inbox, not found on its page or its actions, no Fachstelle page.
    let foreign = http::Session::sign_in(&th, FOREIGN_CLERK.0).await;
    let inbox = foreign.get("/eingang?status=").await;
    assert_eq!(inbox.status, 200);
    assert!(!inbox.body.contains(&referral_id) && !inbox.body.contains(FAMILY), "foreign inbox shows the referral");
    let page = foreign.get(&format!("/eingang/{referral_id}")).await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(!page.body.contains(FAMILY) && !page.body.contains(&case_id));
    for (action, extra) in [("ACKNOWLEDGE", ("text", "")), ("NOTE", ("text", "fremd"))] {
        let a = foreign.post(&format!("/eingang/{referral_id}/aktion"), &[("aktion", action), extra]).await;
        assert_eq!(a.status, 404, "{action}: {}", a.body);
    }
    assert_eq!(state_of(&referral(&th, orgs::FACHSTELLE, &referral_id).await), ReferralState::Requested);
    for path in [format!("/faelle/{case_id}"), "/uebergaben".into(), format!("/vermittlungen/{referral_id}")] {
        let a = foreign.get(&path).await;
        assert_eq!(a.status, 403, "{path}");
        assert!(!a.body.contains(FAMILY), "{path} leaks");
    }
    assert_eq!(foreign.get("/mitarbeitende").await.status, 403, "a clerk manages no accounts");

    // The other partner's administrator sees only its own staff and cannot touch the first partner's.
    let foreign_admin = http::Session::sign_in(&th, FOREIGN_ADMIN.0).await;
    let staff = foreign_admin.get("/mitarbeitende").await;
    assert_eq!(staff.status, 200);
    assert!(staff.body.contains(FOREIGN_CLERK.0) && !staff.body.contains(CLERK.0), "only its own staff");
    for action in ["deaktivieren", "passwort"] {
        let a = foreign_admin
            .post(&format!("/mitarbeitende/{}/{action}", CLERK.0), &[("passwort", "Uebernommen-2026-xyz")])
            .await;
        assert_eq!(a.status, 404, "{action}: {}", a.body);
    }
    let added = foreign_admin
        .post(
            "/mitarbeitende",
            &[("benutzer", "x.fremd"), ("name", "X"), ("passwort", PASSWORD), ("org", orgs::SCHULDNERBERATUNG)],
        )
        .await;
    assert_eq!(added.status, 303, "the organisation field is ignored: the account is the administrator's own");
    let accounts = th.hub().list_staff(&hub::service::staff::AccountAdmin::Operator).await.expect("accounts");
    let x = accounts.iter().find(|a| a.username.as_str() == "x.fremd").expect("x.fremd");
    assert_eq!(x.org.as_str(), orgs::JOBCENTER);
    let clerk = accounts.iter().find(|a| a.username.as_str() == CLERK.0).expect("clerk");
    assert!(!clerk.disabled, "the foreign administrator disabled nothing");
    // And the first partner's clerk still signs in with its password.
    http::Session::sign_in(&th, CLERK.0).await;
}

/// Art. 19 in the browser: after a revocation the debt counselling's clerk confirms the erasure in the
/// inbox and keeps the receipt; the Fachstelle's case page shows it, and "Heute" the job centre's
/// confirmation outstanding after its due day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_confirms_an_erasure_and_the_fachstelle_sees_what_is_outstanding() {
    let th = start().await;
    let case = open_case(&th).await;
    let consent =
        record_consent(&th, &case, &[orgs::SCHULDNERBERATUNG, orgs::JOBCENTER], &[D::Identity, D::Arrears]).await;
    create_referral(&th, &case.id, orgs::SCHULDNERBERATUNG, C::DebtCounselling, &[D::Identity, D::Arrears]).await;
    create_referral(&th, &case.id, orgs::JOBCENTER, C::RentDebtTakeoverSgb2, &[D::Identity]).await;
    consents(&th, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: consent.id.clone(),
            note: "widerrufen (synthetisch)".into(),
        })
        .await
        .expect("RevokeConsent");
    th.add_staff(orgs::SCHULDNERBERATUNG, CLERK.0, CLERK.1, PASSWORD).await.expect("clerk");
    th.add_staff(orgs::FACHSTELLE, "c.sachbearbeitung", "Clara Sach (Fachstelle, synthetisch)", PASSWORD)
        .await
        .expect("caseworker");
    let b = open_dashboard(&th).await;

    b.sign_in(CLERK.0, PASSWORD).await;
    b.wait_for_path("/eingang").await;
    assert_eq!(b.count("section#bitten li.bitte").await, 1, "{}", b.describe().await);
    let text = b.text("section#bitten li.bitte").await;
    assert!(text.contains("Bitte löschen: Personalien, Mietrückstände"), "{text}");
    assert!(text.contains("Die Einwilligung wurde widerrufen."), "{text}");
    assert!(!text.contains(FAMILY), "the request names no household");
    b.check_page("eingang-bitten").await;
    b.click_and_wait("section#bitten li.bitte button[type=submit]").await;
    assert!(b.path().await.starts_with("/eingang/bitten/"), "{}", b.describe().await);
    assert!(b.text("#erledigt").await.contains("Bestätigung ist gespeichert"));
    assert!(b.text("#status").await.starts_with("als gelöscht bestätigt am"), "{}", b.text("#status").await);
    assert!(b.text("#quittung-text").await.starts_with("WHQ1."));
    b.check_page("eingang-quittung").await;
    b.goto("/eingang").await;
    assert_eq!(b.count("section#bitten").await, 0, "nothing left to confirm");
    b.sign_out().await;

    // The Fachstelle: the case page shows the confirmation; ten days later "Heute" the job centre's.
    th.advance_days(10);
    b.sign_in("c.sachbearbeitung", PASSWORD).await;
    let outstanding = b.texts("section#bestaetigungen tr.unbestaetigt").await;
    assert_eq!(outstanding.len(), 1, "{}", b.describe().await);
    assert!(outstanding[0].contains("Jobcenter") && outstanding[0].contains("Bitte löschen"), "{outstanding:?}");
    b.check_page("heute-bestaetigungen").await;
    b.click_and_wait("section#bestaetigungen a.fall-link").await;
    let rows = b.texts("section#bitten-an-empfaenger tr.bitte td.status").await;
    assert_eq!(rows.len(), 2, "{}", b.describe().await);
    assert!(rows.iter().any(|s| s.starts_with("gelöscht am") && s.contains(CLERK.1)), "{rows:?}");
    assert!(rows.iter().any(|s| s.contains("überfällig")), "{rows:?}");
    b.check_page("fall-bitten").await;
    b.screenshot_at("fall-bitten-abschnitt", "section#bitten-an-empfaenger").await;
    b.close().await;
}
