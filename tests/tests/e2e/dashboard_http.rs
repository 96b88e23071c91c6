//! The dashboard's sign-in, sessions and forms, attacked over real HTTPS (reqwest trusting the test
//! hub's CA): wrong passwords, lockout, idle and absolute session expiry on the hub's clock,
//! sign-out, disabled accounts, CSRF, a housing company's account, security headers, and the
//! refer / consent / close forms with bad and good input. The browser tests
//! (`dashboard_browser.rs`) cover the pages as a caseworker sees them.
use crate::common;

use std::process::Stdio;

use common::*;
use hub::domain::ids::CaseId;
use hub::domain::vocab::{DataCategory as Cat, ReferralCategory as RCat};
use hub::service::staff::AccountAdmin;
use hub::store::AuditQuery;

use crate::process;

const PASSWORD: &str = "Fachstelle-Test-2026!";

/// A client for the test hub's dashboard: no redirects followed, cookies handled by hand.
fn client(hub: &TestHub) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(hub.ca_pem().as_bytes()).expect("CA certificate"))
        .resolve("localhost", hub.dashboard_addr())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

fn url(hub: &TestHub, path: &str) -> String {
    format!("https://localhost:{}{path}", hub.dashboard_addr().port())
}

struct Answer {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("request");
    let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let location = header(reqwest::header::LOCATION);
    let set_cookie = header(reqwest::header::SET_COOKIE);
    let headers = resp.headers().clone();
    let status = resp.status().as_u16();
    Answer { status, location, set_cookie, headers, body: resp.text().await.unwrap_or_default() }
}

/// A browser's view of one session.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(hub: &TestHub) -> Self {
        Self { client: client(hub), base: url(hub, ""), cookie: None }
    }

    async fn sign_in(&mut self, user: &str, password: &str) -> Answer {
        let a = send(
            self.client.post(format!("{}/anmelden", self.base)).form(&[("benutzer", user), ("passwort", password)]),
        )
        .await;
        if let Some(c) = &a.set_cookie {
            self.cookie = c.split(';').next().map(str::to_owned);
        }
        a
    }

    async fn get(&self, path: &str) -> Answer {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(reqwest::header::COOKIE, c);
        }
        send(req).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut req = self.client.post(format!("{}{path}", self.base)).form(fields);
        if let Some(c) = &self.cookie {
            req = req.header(reqwest::header::COOKIE, c);
        }
        send(req).await
    }

    /// Posts owned form fields.
    async fn send_form(&self, path: &str, fields: &[(&str, String)]) -> Answer {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &pairs).await
    }

    /// The CSRF token of the signed-in session, read from a page's hidden field.
    async fn csrf(&self) -> String {
        let page = self.get("/").await.body;
        let at = page.find("name=\"csrf\" value=\"").expect("a csrf field on the page") + 19;
        page[at..].split('"').next().expect("csrf value").to_owned()
    }
}

async fn staff_hub() -> TestHub {
    let hub = TestHub::start().await.expect("test hub");
    hub.add_staff(orgs::FACHSTELLE, "k.meyer", "K. Meyer (Sachbearbeitung 3)", PASSWORD).await.expect("staff");
    hub
}

fn signed_out(a: &Answer) -> bool {
    a.status == 303 && a.location.as_deref().is_some_and(|l| l == "/anmelden" || l.starts_with("/anmelden?weiter="))
}

#[tokio::test]
async fn a_deep_link_is_kept_across_sign_in_and_only_to_this_dashboard() {
    let hub = staff_hub().await;
    let case = open_case(&hub).await;
    let mut b = Browser::new(&hub);
    let wanted = format!("/faelle/{}", case.id);
    let a = b.get(&wanted).await;
    let to = a.location.clone().expect("a redirect");
    assert_eq!(to, format!("/anmelden?weiter=%2Ffaelle%2F{}", case.id));
    let page = b.get(&to).await;
    assert!(page.body.contains(&format!("name=\"weiter\" value=\"{wanted}\"")), "{}", page.body);
    // A wrong password keeps the link for the next try.
    let wrong = send(b.client.post(format!("{}/anmelden", b.base)).form(&[
        ("benutzer", "k.meyer"),
        ("passwort", "wrong"),
        ("weiter", wanted.as_str()),
    ]))
    .await;
    assert!(wrong.body.contains(&format!("name=\"weiter\" value=\"{wanted}\"")), "{}", wrong.body);
    let signed = send(b.client.post(format!("{}/anmelden", b.base)).form(&[
        ("benutzer", "k.meyer"),
        ("passwort", PASSWORD),
        ("weiter", wanted.as_str()),
    ]))
    .await;
    assert_eq!((signed.status, signed.location.as_deref()), (303, Some(wanted.as_str())), "back to the case");
    // Another site is never a target: the sign-in goes to Heute instead.
    for evil in ["//evil.example/", "https://evil.example/", "/\\evil.example"] {
        let a = send(b.client.post(format!("{}/anmelden", b.base)).form(&[
            ("benutzer", "k.meyer"),
            ("passwort", PASSWORD),
            ("weiter", evil),
        ]))
        .await;
        assert_eq!((a.status, a.location.as_deref()), (303, Some("/")), "{evil}");
    }
    b.cookie = signed.set_cookie.and_then(|c| c.split(';').next().map(str::to_owned));
    assert_eq!(b.get(&wanted).await.status, 200);
}

#[tokio::test]
async fn wrong_passwords_say_nothing_about_the_account_and_five_lock_it() {
    let hub = staff_hub().await;
    let mut b = Browser::new(&hub);
    let wrong = b.sign_in("k.meyer", "not the password").await;
    let unknown = b.sign_in("nobody", "not the password").await;
    for a in [&wrong, &unknown] {
        assert_eq!(a.status, 401);
        assert!(a.set_cookie.is_none(), "no session for a failed sign-in");
        assert!(a.body.contains("Benutzername oder Passwort falsch."), "{}", a.body);
    }
    assert_eq!(
        wrong.body.replace("k.meyer", "NAME"),
        unknown.body.replace("nobody", "NAME"),
        "the same page whether or not the account exists"
    );
    for _ in 0..3 {
        assert_eq!(b.sign_in("k.meyer", "still wrong").await.status, 401);
    }
    // The fifth failure in a row locks the account, and the page says so (not "wrong password" again),
    // with the time the lock ends; then even the right password is refused for 15 minutes, saying why.
    let fifth = b.sign_in("k.meyer", "still wrong").await;
    assert_eq!(fifth.status, 401);
    assert!(fifth.body.contains("Zu viele Fehlversuche: Das Konto ist jetzt gesperrt, bis "), "{}", fifth.body);
    assert!(!fifth.body.contains("Benutzername oder Passwort falsch"), "{}", fifth.body);
    let locked = b.sign_in("k.meyer", PASSWORD).await;
    assert_eq!(locked.status, 401, "the account is locked");
    assert!(locked.body.contains("Dieses Konto ist gesperrt, bis "), "{}", locked.body);
    assert!(locked.set_cookie.is_none(), "no session while locked");
    hub.advance_minutes(16);
    let ok = b.sign_in("K.Meyer", PASSWORD).await;
    assert_eq!((ok.status, ok.location.as_deref()), (303, Some("/")), "names fold case; the lock ends");
    assert_eq!(b.get("/").await.status, 200);

    let audit = hub
        .store()
        .begin_read()
        .await
        .expect("tx")
        .audit_records(&AuditQuery { limit: 1000, ..Default::default() })
        .await
        .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    // Six of the seven failures name an account (and its organisation); an unknown name is only logged.
    assert_eq!(actions.iter().filter(|a| **a == "staff.sign_in_failed").count(), 6, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "staff.sign_in").count(), 1);
}

#[tokio::test]
async fn sessions_end_when_idle_when_old_on_sign_out_and_when_the_account_is_disabled() {
    let hub = staff_hub().await;
    let mut b = Browser::new(&hub);
    let signed = b.sign_in("k.meyer", PASSWORD).await;
    let cookie = signed.set_cookie.expect("a session cookie");
    for flag in ["__Host-wh_session=", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "cookie {cookie} lacks {flag}");
    }
    assert_eq!(b.get("/").await.status, 200);

    // Requests keep the session alive; 30 minutes without one end it.
    for _ in 0..3 {
        hub.advance_minutes(25);
        assert_eq!(b.get("/").await.status, 200, "active within 30 minutes");
    }
    hub.advance_minutes(31);
    assert!(signed_out(&b.get("/").await), "idle for 31 minutes");

    // Ten hours after sign-in at the latest, however active.
    b.sign_in("k.meyer", PASSWORD).await;
    for i in 1..=23 {
        hub.advance_minutes(25);
        assert_eq!(b.get("/partner").await.status, 200, "{} min after sign-in", i * 25);
    }
    hub.advance_minutes(25);
    assert!(signed_out(&b.get("/partner").await), "10 h after sign-in");

    // Sign-out needs the form token, then ends the session for good.
    b.sign_in("k.meyer", PASSWORD).await;
    let old_cookie = b.cookie.clone();
    assert_eq!(b.post("/abmelden", &[("csrf", "forged")]).await.status, 403);
    assert_eq!(b.get("/").await.status, 200, "a forged sign-out changes nothing");
    let csrf = b.csrf().await;
    let out = b.post("/abmelden", &[("csrf", &csrf)]).await;
    assert!(signed_out(&out));
    assert!(out.set_cookie.as_deref().is_some_and(|c| c.contains("Max-Age=0")), "the cookie is cleared");
    b.cookie = old_cookie;
    assert!(signed_out(&b.get("/").await), "the old cookie no longer works");

    // Disabling the account ends its sessions at once.
    b.sign_in("k.meyer", PASSWORD).await;
    assert_eq!(b.get("/").await.status, 200);
    hub.hub().set_staff_disabled(&AccountAdmin::Operator, "k.meyer", true).await.expect("disable");
    assert!(signed_out(&b.get("/").await));
    assert_eq!(b.sign_in("k.meyer", PASSWORD).await.status, 401);
}

#[tokio::test]
async fn signed_out_browsers_and_housing_company_staff_see_no_data() {
    let hub = staff_hub().await;
    let case = open_case(&hub).await;
    hub.add_staff(orgs::WOHNBAU, "w.vermieter", "Vermietung Nord", PASSWORD).await.expect("staff");
    // Every page, including those of one notice, referral or document (an unknown id must not matter:
    // access is refused before anything is looked up).
    let (case_page, print) = (format!("/faelle/{}", case.id), format!("/faelle/{}/druck", case.id));
    let document = format!("/faelle/{}/dokumente/{}", case.id, uuid::Uuid::new_v4());
    let (notice, referral) =
        (format!("/meldungen/{}", uuid::Uuid::new_v4()), format!("/vermittlungen/{}", uuid::Uuid::new_v4()));
    let paths = [
        "/",
        "/uebergaben",
        "/faelle",
        &case_page,
        &print,
        &document,
        &notice,
        "/gericht/neu",
        &referral,
        "/partner",
        "/kennzahlen",
        "/kennzahlen.csv",
    ];

    let anonymous = Browser::new(&hub);
    for p in paths {
        let a = anonymous.get(p).await;
        assert!(signed_out(&a), "{p}: {} {:?}", a.status, a.location);
        assert!(!a.body.contains("Kaiser") && !a.body.contains(&case.id), "{p} leaks to a signed-out browser");
    }
    let login = anonymous.get("/anmelden").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("id=\"anmelden-knopf\""));
    // The stylesheets and fonts the sign-in page needs are served to everyone, and hold nothing personal.
    for asset in ["/static/kern-2.7.2.min.css", "/static/hub.css", "/static/fonts/FiraSans-Regular.woff2"] {
        let a = anonymous.get(asset).await;
        assert_eq!(a.status, 200, "{asset}");
        assert!(login.body.contains(asset) || asset.ends_with(".woff2"), "the sign-in page links {asset}");
    }
    assert_eq!(anonymous.get("/static/../Cargo.toml").await.status, 404);

    let mut landlord = Browser::new(&hub);
    assert_eq!(landlord.sign_in("w.vermieter", PASSWORD).await.status, 303);
    // Its start page is its own notices; its inbox holds nothing of the Fachstelle's cases.
    let start = landlord.get("/").await;
    assert_eq!((start.status, start.location.as_deref()), (303, Some("/rueckstaende")));
    let inbox = landlord.get("/eingang").await;
    assert_eq!(inbox.status, 200);
    assert!(!inbox.body.contains("Kaiser") && !inbox.body.contains(&case.id), "the inbox leaks a case");
    for p in paths.into_iter().filter(|p| *p != "/") {
        let a = landlord.get(p).await;
        assert_eq!(a.status, 403, "{p}");
        assert!(a.body.contains("<h1>Kein Zugriff</h1>"), "{p}: {}", a.body);
        assert!(!a.body.contains("Kaiser") && !a.body.contains(&case.id), "{p} leaks to a housing company");
    }
    // Not through the forms either.
    let refer = landlord.post(&format!("/faelle/{}/abschliessen", case.id), &[("ergebnis", "WOHNUNG_ERHALTEN")]).await;
    assert_eq!(refer.status, 403);
    let view = referral_count(&hub, &case.id).await;
    assert_eq!(view, 0);

    // Every page carries the headers that keep personal data out of caches, scripts and frames.
    let mut fs = Browser::new(&hub);
    fs.sign_in("k.meyer", PASSWORD).await;
    let page = fs.get(&format!("/faelle/{}", case.id)).await;
    assert_eq!(page.status, 200);
    let h = |n: &str| page.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(h("cache-control"), "no-store");
    assert!(h("content-security-policy").contains("default-src 'none'"), "{}", h("content-security-policy"));
    assert!(!h("content-security-policy").contains("script-src"), "no scripts allowed at all");
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("referrer-policy"), "no-referrer");
}

async fn referral_count(hub: &TestHub, case_id: &str) -> usize {
    let caller =
        hub.hub().authenticate(hub::service::Principal::Org(org(orgs::FACHSTELLE)), None).await.expect("caller");
    hub.hub().dash_case(&caller, &CaseId::parse(case_id).expect("case id")).await.expect("case").referrals.len()
}

fn org(id: &str) -> hub::domain::ids::OrgId {
    hub::domain::ids::OrgId::parse(id).expect("org id")
}

#[tokio::test]
async fn the_case_forms_refuse_bad_input_and_forged_tokens_and_act_on_good_input() {
    let hub = staff_hub().await;
    let case = open_case(&hub).await;
    let mut b = Browser::new(&hub);
    b.sign_in("k.meyer", PASSWORD).await;
    let csrf = b.csrf().await;
    let base = format!("/faelle/{}", case.id);

    // No consent yet: the hub refuses the referral and says why; nothing is written.
    let refer = |token: &str| {
        vec![
            ("csrf", token.to_owned()),
            ("empfaenger", orgs::SCHULDNERBERATUNG.to_owned()),
            ("kategorie", RCat::DebtCounselling.as_str().to_owned()),
            ("daten", Cat::Identity.as_str().to_owned()),
            ("daten", Cat::Arrears.as_str().to_owned()),
            ("nachricht", "Bitte um Prüfung der Mietschuldenübernahme.".to_owned()),
        ]
    };
    let forged = b.send_form(&format!("{base}/ueberweisen"), &refer("forged")).await;
    assert_eq!(forged.status, 403, "a forged form token");
    let no_consent = b.send_form(&format!("{base}/ueberweisen"), &refer(&csrf)).await;
    assert_eq!(no_consent.status, 409, "{}", no_consent.body);
    assert!(no_consent.body.contains("Die Vermittlung wurde nicht gespeichert"), "{}", no_consent.body);
    assert!(no_consent.body.contains("keine Rechtsgrundlage"), "why, in German: {}", no_consent.body);
    assert!(no_consent.body.contains("Bitte um Prüfung der Mietschuldenübernahme."), "the message typed is kept");
    for english in ["no legal basis", "consent or statute", "data_categories", "recipient_organisation_id"] {
        assert!(!no_consent.body.contains(english), "no English or internal names on the page: {english}");
    }
    let bad = b
        .send_form(
            &format!("{base}/ueberweisen"),
            &[("csrf", csrf.clone()), ("empfaenger", orgs::JOBCENTER.into()), ("kategorie", "NO_SUCH_THING".into())],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"ueberweisen-kategorie-fehler\""), "the message is at the field: {}", bad.body);
    assert_eq!(referral_count(&hub, &case.id).await, 0, "nothing written");

    // Consent, then the referral: each answered with a redirect back to the case page.
    let consent = b
        .send_form(
            &format!("{base}/einwilligung"),
            &[
                ("csrf", csrf.clone()),
                ("personen", person_ids(&case)[0].clone()),
                ("empfaenger", orgs::SCHULDNERBERATUNG.into()),
                ("schweigepflicht", "on".into()),
                ("daten", Cat::Identity.as_str().into()),
                ("daten", Cat::Arrears.as_str().into()),
                ("form", "WRITTEN".into()),
                ("nachweis", "EW-TEST-1".into()),
                ("gueltig_bis", hub.date_in_days(90)),
            ],
        )
        .await;
    assert_eq!(
        (consent.status, consent.location.as_deref()),
        (303, Some(format!("{base}?erledigt=einwilligung#einwilligungen").as_str())),
        "{}",
        consent.body
    );
    let made = b.send_form(&format!("{base}/ueberweisen"), &refer(&csrf)).await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(referral_count(&hub, &case.id).await, 1);
    let page = b.get(&base).await.body;
    assert!(page.contains("class=\"ueberweisung\""), "the referral is on the case page");

    // The forms meet the same rules as the API; each refusal stores nothing.
    let twice = b.send_form(&format!("{base}/ueberweisen"), &refer(&csrf)).await;
    assert_eq!(twice.status, 409, "a second open referral of the same kind to the same partner: {}", twice.body);
    let mut far = refer(&csrf);
    far.push(("antwort_bis", "2099-12-31".to_owned()));
    assert_eq!(b.send_form(&format!("{base}/ueberweisen"), &far).await.status, 400, "reply by 31.12.2099");
    let no_data: Vec<(&str, String)> = refer(&csrf).into_iter().filter(|(k, _)| *k != "daten").collect();
    assert_eq!(b.send_form(&format!("{base}/ueberweisen"), &no_data).await.status, 400, "no data category");
    assert_eq!(referral_count(&hub, &case.id).await, 1, "no refused referral stored");
    let consent_form = |extra: &[(&'static str, String)]| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("form", "WRITTEN".to_owned()),
            ("nachweis", "EW-TEST-2".to_owned()),
            ("gueltig_bis", hub.date_in_days(90)),
        ];
        f.extend_from_slice(extra);
        f
    };
    let person = ("personen", person_ids(&case)[0].clone());
    let to_jobcenter = ("empfaenger", orgs::JOBCENTER.to_owned());
    let identity = ("daten", Cat::Identity.as_str().to_owned());
    for (what, fields) in [
        ("nothing chosen", consent_form(&[])),
        ("no person", consent_form(&[to_jobcenter.clone(), identity.clone()])),
        ("no recipient", consent_form(&[person.clone(), identity.clone()])),
        ("no category", consent_form(&[person.clone(), to_jobcenter.clone()])),
        (
            "blank evidence",
            consent_form(&[person.clone(), to_jobcenter.clone(), identity.clone(), ("nachweis", "   ".to_owned())]),
        ),
        (
            "income data to a housing company",
            consent_form(&[
                person.clone(),
                ("empfaenger", orgs::WOHNBAU.to_owned()),
                ("daten", Cat::IncomeBenefits.as_str().to_owned()),
            ]),
        ),
    ] {
        let fields: Vec<(&str, String)> = match what {
            // The later "nachweis" replaces the first in the form, as a browser sends only one.
            "blank evidence" => fields.into_iter().filter(|(k, v)| *k != "nachweis" || v.trim().is_empty()).collect(),
            _ => fields,
        };
        let refused = b.send_form(&format!("{base}/einwilligung"), &fields).await;
        assert_eq!(refused.status, 400, "{what}: {}", refused.body);
        assert!(refused.body.contains("Die Einwilligung wurde nicht gespeichert"), "{what}: {}", refused.body);
        for english in ["must ", "person_ids", "evidence_reference", "categories", "housing company"] {
            assert!(!refused.body.contains(english), "{what}: no English or internal names ({english})");
        }
    }
    let caller =
        hub.hub().authenticate(hub::service::Principal::Org(org(orgs::FACHSTELLE)), None).await.expect("caller");
    let consents = hub.hub().list_consents(&caller, &CaseId::parse(&case.id).expect("id")).await.expect("consents");
    assert_eq!(consents.len(), 1, "no refused consent stored");
    // Confirmed, a second referral of the same kind is sent.
    let mut confirmed = refer(&csrf);
    confirmed.push(("zweite_bestaetigt", "on".to_owned()));
    assert_eq!(b.send_form(&format!("{base}/ueberweisen"), &confirmed).await.status, 303);
    assert_eq!(referral_count(&hub, &case.id).await, 2);

    // The changes carry the staff member's name in the audit trail.
    let audit = hub.hub().audit_of_case(&CaseId::parse(&case.id).expect("id")).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action.as_str().starts_with("referral")
                && e.staff.as_deref() == Some("K. Meyer (Sachbearbeitung 3)")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.staff.as_deref() == Some("K. Meyer (Sachbearbeitung 3)") && e.action.as_str() == "case.read")
    );

    // Close: the page lists what is still open, and the close needs the confirmation; then the open
    // referrals are cancelled with the case.
    let page = b.get(&base).await.body;
    assert!(page.contains("2 offene Vermittlungen"), "the open referrals are named before closing");
    let close = [("csrf", csrf.clone()), ("ergebnis", "WOHNUNG_ERHALTEN".into()), ("mittel", "SGB2_LOAN".into())];
    let unconfirmed = b.send_form(&format!("{base}/abschliessen"), &close).await;
    assert_eq!(unconfirmed.status, 409, "not closed without confirming the open referrals: {}", unconfirmed.body);
    let mut confirmed = close.to_vec();
    confirmed.push(("offenes_bestaetigt", "on".into()));
    let closed = b.send_form(&format!("{base}/abschliessen"), &confirmed).await;
    assert_eq!(closed.status, 303, "{}", closed.body);
    let again =
        b.send_form(&format!("{base}/abschliessen"), &[("csrf", csrf), ("ergebnis", "WOHNUNG_ERHALTEN".into())]).await;
    assert_eq!(again.status, 409, "closing twice: {}", again.body);
}

/// `hub staff add` on a running hub's data directory: the account signs in at once; the generated
/// password is printed once; a short password from stdin is refused.
#[tokio::test]
async fn hub_staff_add_creates_an_account_that_signs_in() {
    // On both backends: the binary is pointed at the test hub's database (file or PostgreSQL URL).
    let hub = TestHub::start().await.expect("test hub");
    let bin = process::hub_binary();
    let data = hub.data_dir().to_str().expect("utf-8 path").to_owned();
    let db = hub.database_url();
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = process::hub_command(&bin, args);
        cmd.env("HUB_DATABASE_URL", &db).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("hub staff");
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("hub staff output")
    };
    let out = run(
        &["staff", "add", "--data-dir", &data, "--org", orgs::FACHSTELLE, "--user", "a.neu", "--name", "A. Neu"],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap_or_else(|| panic!("no generated password in: {stdout}"))
        .to_owned();
    assert_eq!(password.len(), 20);
    let mut b = Browser::new(&hub);
    assert_eq!(b.sign_in("a.neu", &password).await.status, 303);
    assert_eq!(b.get("/").await.status, 200);

    let short = run(
        &[
            "staff",
            "add",
            "--data-dir",
            &data,
            "--org",
            orgs::FACHSTELLE,
            "--user",
            "b.neu",
            "--name",
            "B",
            "--password-stdin",
        ],
        "kurz\n",
    );
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least 12"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    let twice =
        run(&["staff", "add", "--data-dir", &data, "--org", orgs::FACHSTELLE, "--user", "a.neu", "--name", "A"], "");
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("exists already"));
    let list = run(&["staff", "list", "--data-dir", &data], "");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("a.neu") && !listed.contains("argon2"), "{listed}");
}

/// One invalid input, sent through both edges: the gRPC API (as a client written from `proto/`) and the
/// dashboard's form over HTTPS. Both must refuse it with the same rule: the same kind of answer, and the
/// message at the same field (the proto field on gRPC, the form field on the page).
struct Row {
    what: &'static str,
    call: Call,
    form: &'static str,
    fields: Fields,
    code: Code,
    /// The proto field the gRPC message names, and the form field the page shows the message at.
    at: Option<(&'static str, &'static str)>,
}

/// A form's fields as sent.
type Fields = Vec<(&'static str, String)>;

enum Call {
    Consent(RecordConsentRequest),
    Referral(CreateReferralRequest),
    Close(CloseCaseRequest),
}

#[tokio::test]
async fn every_invalid_input_is_refused_by_the_api_and_the_dashboard_with_the_same_rule_and_nothing_is_stored() {
    let hub = staff_hub().await;
    let case = open_case(&hub).await;
    let other = open_case(&hub).await;
    let mut b = Browser::new(&hub);
    b.sign_in("k.meyer", PASSWORD).await;
    let csrf = b.csrf().await;
    let base = format!("/faelle/{}", case.id);
    // One referral exists already (consent for the debt counselling service), for the duplicate and the
    // close rows.
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[DataCategory::Identity]).await;
    let existing = CreateReferralRequest {
        confirm_duplicate: false,
        ..referral_request(
            &hub,
            &case.id,
            orgs::SCHULDNERBERATUNG,
            ReferralCategory::DebtCounselling,
            &[DataCategory::Identity],
        )
    };
    try_create_referral(&hub, existing.clone()).await.expect("the first referral");

    let person = person_ids(&case)[0].clone();
    let consent = |f: &dyn Fn(&mut RecordConsentRequest)| {
        let mut r = consent_request(&case, &[orgs::JOBCENTER], &[DataCategory::Identity], &hub.date_in_days(90));
        r.person_ids = vec![person.clone()];
        f(&mut r);
        Call::Consent(r)
    };
    let consent_form = |f: &dyn Fn(&mut Fields)| {
        let mut v = vec![
            ("csrf", csrf.clone()),
            ("personen", person.clone()),
            ("empfaenger", orgs::JOBCENTER.to_owned()),
            ("daten", "IDENTITY".to_owned()),
            ("form", "WRITTEN".to_owned()),
            ("nachweis", "EW-2026-0001 (synthetisch)".to_owned()),
            ("gueltig_bis", hub.date_in_days(90)),
        ];
        f(&mut v);
        v
    };
    let set = |v: &mut Fields, k: &'static str, value: &str| {
        v.retain(|(name, _)| *name != k);
        v.push((k, value.to_owned()));
    };
    let refer = |f: &dyn Fn(&mut CreateReferralRequest)| {
        let mut r = existing.clone();
        r.idempotency_key = idem();
        f(&mut r);
        Call::Referral(r)
    };
    let refer_form = |f: &dyn Fn(&mut Fields)| {
        let mut v = vec![
            ("csrf", csrf.clone()),
            ("empfaenger", orgs::SCHULDNERBERATUNG.to_owned()),
            ("kategorie", "DEBT_COUNSELLING".to_owned()),
            ("daten", "IDENTITY".to_owned()),
        ];
        f(&mut v);
        v
    };
    let close = |f: &dyn Fn(&mut CloseCaseRequest)| {
        let mut r = CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            outcome: CaseOutcome::WohnungErhalten as i32,
            rescue_means: RescueMeans::Sgb2Loan as i32,
            note: String::new(),
            confirm_open_items: true,
        };
        f(&mut r);
        Call::Close(r)
    };
    let close_form = |f: &dyn Fn(&mut Fields)| {
        let mut v = vec![
            ("csrf", csrf.clone()),
            ("ergebnis", "WOHNUNG_ERHALTEN".to_owned()),
            ("mittel", "SGB2_LOAN".to_owned()),
            ("offenes_bestaetigt", "on".to_owned()),
        ];
        f(&mut v);
        v
    };
    let e = "einwilligung";
    let u = "ueberweisen";
    let a = "abschliessen";
    let inv = Code::InvalidArgument;
    let rows = vec![
        Row {
            what: "consent without a person",
            call: consent(&|r| r.person_ids.clear()),
            form: e,
            fields: consent_form(&|v| v.retain(|(k, _)| *k != "personen")),
            code: inv,
            at: Some(("person_ids", "personen")),
        },
        Row {
            what: "consent of another case's person",
            call: consent(&|r| r.person_ids = person_ids(&other)[..1].to_vec()),
            form: e,
            fields: consent_form(&|v| set(v, "personen", &person_ids(&other)[0])),
            code: inv,
            at: Some(("person_ids[0]", "personen")),
        },
        Row {
            what: "consent without a recipient",
            call: consent(&|r| r.recipient_organisation_ids.clear()),
            form: e,
            fields: consent_form(&|v| v.retain(|(k, _)| *k != "empfaenger")),
            code: inv,
            at: Some(("recipient_organisation_ids", "empfaenger")),
        },
        Row {
            what: "consent to an unregistered recipient",
            call: consent(&|r| r.recipient_organisation_ids = vec!["niemand-hier".into()]),
            form: e,
            fields: consent_form(&|v| set(v, "empfaenger", "niemand-hier")),
            code: inv,
            at: Some(("recipient_organisation_ids[0]", "empfaenger")),
        },
        Row {
            what: "consent without a data category",
            call: consent(&|r| r.categories.clear()),
            form: e,
            fields: consent_form(&|v| v.retain(|(k, _)| *k != "daten")),
            code: inv,
            at: Some(("categories", "daten")),
        },
        Row {
            what: "consent with blank evidence",
            call: consent(&|r| r.evidence_reference = "   ".into()),
            form: e,
            fields: consent_form(&|v| set(v, "nachweis", "   ")),
            code: inv,
            at: Some(("evidence_reference", "nachweis")),
        },
        Row {
            what: "consent with a control character in the evidence",
            call: consent(&|r| r.evidence_reference = "EW\u{7}1".into()),
            form: e,
            fields: consent_form(&|v| set(v, "nachweis", "EW\u{7}1")),
            code: inv,
            at: Some(("evidence_reference", "nachweis")),
        },
        Row {
            what: "consent with overlong evidence",
            call: consent(&|r| r.evidence_reference = "E".repeat(201)),
            form: e,
            fields: consent_form(&|v| set(v, "nachweis", &"E".repeat(201))),
            code: inv,
            at: Some(("evidence_reference", "nachweis")),
        },
        Row {
            what: "consent valid for more than 12 months",
            call: consent(&|r| r.valid_until = hub.date_in_days(400)),
            form: e,
            fields: consent_form(&|v| set(v, "gueltig_bis", &hub.date_in_days(400))),
            code: inv,
            at: Some(("valid_until", "gueltig_bis")),
        },
        Row {
            what: "consent that ended yesterday",
            call: consent(&|r| r.valid_until = hub.date_in_days(-1)),
            form: e,
            fields: consent_form(&|v| set(v, "gueltig_bis", &hub.date_in_days(-1))),
            code: inv,
            at: Some(("valid_until", "gueltig_bis")),
        },
        Row {
            what: "health data without the explicit consent",
            call: consent(&|r| {
                r.categories = vec![DataCategory::Health as i32];
                r.art9_explicit = false;
            }),
            form: e,
            fields: consent_form(&|v| set(v, "daten", "HEALTH")),
            code: inv,
            at: Some(("art9_explicit", "ausdruecklich")),
        },
        Row {
            what: "consent to debt counselling without the release from professional secrecy",
            call: consent(&|r| {
                r.recipient_organisation_ids = vec![orgs::SCHULDNERBERATUNG.into()];
                r.secrecy_release = false;
            }),
            form: e,
            fields: consent_form(&|v| set(v, "empfaenger", orgs::SCHULDNERBERATUNG)),
            code: inv,
            at: Some(("secrecy_release", "schweigepflicht")),
        },
        Row {
            what: "income data to a housing company",
            call: consent(&|r| {
                r.recipient_organisation_ids = vec![orgs::WOHNBAU.into()];
                r.categories = vec![DataCategory::IncomeBenefits as i32];
            }),
            form: e,
            fields: consent_form(&|v| {
                set(v, "empfaenger", orgs::WOHNBAU);
                set(v, "daten", "INCOME_BENEFITS");
            }),
            code: inv,
            at: Some(("categories", "daten")),
        },
        Row {
            what: "referral without data",
            call: refer(&|r| r.data_categories.clear()),
            form: u,
            fields: refer_form(&|v| v.retain(|(k, _)| *k != "daten")),
            code: inv,
            at: Some(("data_categories", "daten")),
        },
        Row {
            what: "referral to be answered by 31.12.2099",
            call: refer(&|r| r.reply_by = "2099-12-31".into()),
            form: u,
            fields: refer_form(&|v| set(v, "antwort_bis", "2099-12-31")),
            code: inv,
            at: Some(("reply_by", "antwort_bis")),
        },
        Row {
            what: "referral to be answered yesterday",
            call: refer(&|r| r.reply_by = hub.date_in_days(-1)),
            form: u,
            fields: refer_form(&|v| set(v, "antwort_bis", &hub.date_in_days(-1))),
            code: inv,
            at: Some(("reply_by", "antwort_bis")),
        },
        Row {
            what: "referral with an overlong message",
            call: refer(&|r| r.message = "x".repeat(4001)),
            form: u,
            fields: refer_form(&|v| set(v, "nachricht", &"x".repeat(4001))),
            code: inv,
            at: Some(("message", "nachricht")),
        },
        Row {
            what: "a second open referral of the same kind, unconfirmed",
            call: refer(&|_| {}),
            form: u,
            fields: refer_form(&|_| {}),
            code: Code::FailedPrecondition,
            at: None,
        },
        Row {
            what: "closing as saved without the means",
            call: close(&|r| r.rescue_means = 0),
            form: a,
            fields: close_form(&|v| v.retain(|(k, _)| *k != "mittel")),
            code: inv,
            at: Some(("rescue_means", "mittel")),
        },
        Row {
            what: "closing with an overlong note",
            call: close(&|r| r.note = "n".repeat(4001)),
            form: a,
            fields: close_form(&|v| set(v, "notiz", &"n".repeat(4001))),
            code: inv,
            at: Some(("note", "notiz")),
        },
        Row {
            what: "closing with an open referral, unconfirmed",
            call: close(&|r| r.confirm_open_items = false),
            form: a,
            fields: close_form(&|v| v.retain(|(k, _)| *k != "offenes_bestaetigt")),
            code: Code::FailedPrecondition,
            at: None,
        },
    ];
    let rows_n = rows.len();
    for row in rows {
        let refused = match row.call {
            Call::Consent(r) => consents(&hub, orgs::FACHSTELLE).await.record_consent(r).await.map(|_| ()),
            Call::Referral(r) => try_create_referral(&hub, r).await.map(|_| ()),
            Call::Close(r) => cases(&hub, orgs::FACHSTELLE).await.close_case(r).await.map(|_| ()),
        };
        let status = refused.expect_err(row.what);
        assert_eq!(status.code(), row.code, "{}: gRPC {status:?}", row.what);
        let page = b.send_form(&format!("{base}/{}", row.form), &row.fields).await;
        let want = if row.code == Code::FailedPrecondition { 409 } else { 400 };
        assert_eq!(page.status, want, "{}: dashboard {}", row.what, page.body);
        match row.at {
            Some((proto, form_field)) => {
                assert!(status.message().starts_with(proto), "{}: gRPC names {proto}: {}", row.what, status.message());
                let at = format!("id=\"{}-{form_field}-fehler\"", row.form);
                assert!(page.body.contains(&at), "{}: the page shows the message at {form_field}", row.what);
            }
            None => {
                let at = format!("id=\"{}-fehler\"", row.form);
                assert!(page.body.contains(&at), "{}: the page shows the message on the form", row.what);
            }
        }
    }
    println!("{rows_n} invalid inputs refused by both edges");
    // Nothing was stored by any of them.
    let caller =
        hub.hub().authenticate(hub::service::Principal::Org(org(orgs::FACHSTELLE)), None).await.expect("caller");
    let id = CaseId::parse(&case.id).expect("id");
    assert_eq!(hub.hub().list_consents(&caller, &id).await.expect("consents").len(), 1, "only the setup's consent");
    assert_eq!(referral_count(&hub, &case.id).await, 1, "only the setup's referral");
    assert!(hub.hub().dash_case(&caller, &id).await.expect("case").case.closure.is_none(), "the case is open");
}
