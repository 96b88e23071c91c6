//! The page end to end: the router served on 127.0.0.1:0 over plain HTTP, requests written by hand, and a
//! fake in-memory desk that counts its calls and keeps the nonce idempotency the hub promises.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::receipt::ReceiptClaims;
use crate::token::Purpose;

const NOW: i64 = 1_700_000_000_000;
const TTL: i64 = 3_600_000;

struct FakeDesk {
    key: Arc<LinkKey>,
    views: AtomicUsize,
    acts: AtomicUsize,
    done: Mutex<HashMap<String, ActionDone>>,
    inputs: Mutex<Vec<(String, ActionInput)>>,
}

#[async_trait::async_trait]
impl PartnerDesk for FakeDesk {
    async fn view(&self, link: &LinkClaims) -> Result<PageView, DeskError> {
        self.views.fetch_add(1, Ordering::SeqCst);
        match link.referral.as_str() {
            "gone" => return Err(DeskError::Revoked),
            "down" => return Err(DeskError::Unavailable),
            "broken" => return Err(DeskError::Internal),
            _ => {}
        }
        Ok(PageView {
            reference: "V-3F9A2C71".into(),
            category: "Schuldnerberatung".into(),
            sender_org: "Jobcenter <Region> Hannover".into(),
            recipient_org: "Schuldnerberatung Nord".into(),
            state: "offen".into(),
            reply_by: "23.01.2026".into(),
            overdue: true,
            message: "Bitte um Rückruf <script>alert('x')</script>".into(),
            sections: vec![Section { heading: "Haushalt".into(), rows: vec![("Personen".into(), "3".into())] }],
            withheld: vec!["Beratungsnotizen".into()],
            special_categories: vec![SpecialCategory {
                name: "Gesundheitsdaten".into(),
                explicit_consent: false,
                status: "Nicht Teil dieser Vermittlung.".into(),
                rows: vec![],
            }],
            notes: vec![],
            history: vec![HistoryLine { at: "02.01.2026".into(), text: "Vermittlung angelegt".into() }],
            moves: vec![
                MoveOption { code: "ACCEPT".into(), label: "Annehmen".into(), input: MoveInput::Plain },
                MoveOption {
                    code: "DECLINE".into(),
                    label: "Ablehnen".into(),
                    input: MoveInput::Reason { codes: vec![("FULL".into(), "Keine Kapazität".into())] },
                },
            ],
            can_note: true,
        })
    }

    async fn act(&self, link: &LinkClaims, input: ActionInput) -> Result<ActionDone, DeskError> {
        self.acts.fetch_add(1, Ordering::SeqCst);
        let Purpose::Act { action, nonce } = &link.purpose else {
            return Err(DeskError::Internal);
        };
        self.inputs.lock().unwrap().push((action.clone(), input.clone()));
        if let Some(first) = self.done.lock().unwrap().get(nonce) {
            return Ok(ActionDone { replayed: true, ..first.clone() });
        }
        let done = match action.as_str() {
            "ACCEPT" => "Vermittlung angenommen",
            "DECLINE" if input.reason_code.is_none() => {
                return Err(DeskError::Invalid {
                    field: "Grund".into(),
                    message: "Bitte wählen Sie einen Grund.".into(),
                });
            }
            "DECLINE" => "Vermittlung abgelehnt",
            "NOTE" => "Notiz gespeichert",
            _ => return Err(DeskError::Refused("Diese Aktion ist nicht möglich.".into())),
        };
        let receipt = self.key.sign_receipt(&ReceiptClaims {
            id: nonce.clone(),
            referral: link.referral.clone(),
            org: link.org.clone(),
            action: action.clone(),
            state: "ACCEPTED".into(),
            at_ms: NOW,
        });
        let done = ActionDone { receipt, done: done.into(), replayed: false };
        self.done.lock().unwrap().insert(nonce.clone(), done.clone());
        Ok(done)
    }

    async fn request(&self, link: &LinkClaims) -> Result<RequestView, DeskError> {
        let Purpose::Confirm { request } = &link.purpose else { return Err(DeskError::Internal) };
        let confirmed = self.done.lock().unwrap().get(request).map(|_| "am 15.01.2026".to_owned());
        Ok(RequestView {
            heading: "Bitte löschen".into(),
            rows: vec![("Vermittlung".into(), "V-3F9A2C71 <Schuldnerberatung>".into())],
            confirmed,
            button: "Als gelöscht bestätigen".into(),
        })
    }

    async fn confirm(&self, link: &LinkClaims) -> Result<ActionDone, DeskError> {
        self.acts.fetch_add(1, Ordering::SeqCst);
        let Purpose::Confirm { request } = &link.purpose else { return Err(DeskError::Internal) };
        let mut done = self.done.lock().unwrap();
        if let Some(first) = done.get(request) {
            return Ok(ActionDone { replayed: true, ..first.clone() });
        }
        let first =
            ActionDone { receipt: format!("WHQ1.{request}"), done: "Als gelöscht bestätigt".into(), replayed: false };
        done.insert(request.clone(), first.clone());
        Ok(first)
    }
}

struct App {
    addr: SocketAddr,
    key: Arc<LinkKey>,
    desk: Arc<FakeDesk>,
    clock: Arc<AtomicI64>,
}

impl App {
    async fn start() -> Self {
        let key = Arc::new(LinkKey::from_secret(&[42u8; 32]).unwrap());
        let desk = Arc::new(FakeDesk {
            key: key.clone(),
            views: AtomicUsize::new(0),
            acts: AtomicUsize::new(0),
            done: Mutex::new(HashMap::new()),
            inputs: Mutex::new(Vec::new()),
        });
        let clock = Arc::new(AtomicI64::new(NOW));
        let now = {
            let clock = clock.clone();
            Arc::new(move || clock.load(Ordering::SeqCst))
        };
        let cfg = PageConfig { public_url: "https://hub.example.org".into(), link_ttl_ms: TTL };
        let app = router(desk.clone(), key.clone(), now, cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, key, desk, clock }
    }

    fn link(&self, referral: &str, purpose: Purpose, expires_at_ms: i64) -> String {
        self.key.sign(&LinkClaims {
            referral: referral.into(),
            org: "org-nord".into(),
            issued_at_ms: NOW,
            expires_at_ms,
            purpose,
        })
    }

    fn view_link(&self, referral: &str) -> String {
        self.link(referral, Purpose::View, NOW + 10 * TTL)
    }

    fn act_link(&self, referral: &str, action: &str) -> String {
        let purpose = Purpose::Act { action: action.into(), nonce: uuid::Uuid::new_v4().to_string() };
        self.link(referral, purpose, NOW + TTL)
    }

    async fn get(&self, path: &str) -> Reply {
        send(self.addr, format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        self.post_raw(path, &body.join("&")).await
    }

    async fn post_raw(&self, path: &str, body: &str) -> Reply {
        send(
            self.addr,
            format!(
                "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await
    }

    fn desk_calls(&self) -> (usize, usize) {
        (self.desk.views.load(Ordering::SeqCst), self.desk.acts.load(Ordering::SeqCst))
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    /// Header lines, lower-cased.
    headers: String,
    body: String,
}

impl Reply {
    fn assert_security_headers(&self) {
        for h in [
            "cache-control: no-store",
            "referrer-policy: no-referrer",
            "x-frame-options: deny",
            "x-content-type-options: nosniff",
            "content-security-policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ] {
            assert!(self.headers.contains(h), "missing {h} in {}", self.headers);
        }
    }

    /// Values of hidden fields named `name`, in page order.
    fn hidden(&self, name: &str) -> Vec<String> {
        let marker = format!("name=\"{name}\" value=\"");
        self.body
            .match_indices(&marker)
            .map(|(i, _)| {
                let rest = &self.body[i + marker.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect()
    }
}

/// One raw HTTP/1.1 exchange over a blocking socket (tokio's io-util is not enabled in this crate).
async fn send(addr: SocketAddr, request: String) -> Reply {
    tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        // A server that answers before reading the whole body (413) may reset the connection after its
        // response; what arrived until then is the answer.
        if let Err(e) = tcp.read_to_end(&mut raw) {
            assert!(!raw.is_empty(), "no response: {e}");
        }
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        Reply { status, headers: head.to_lowercase(), body: body.to_string() }
    })
    .await
    .unwrap()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn page_shows_the_referral_escaped_with_one_fresh_token_per_form() {
    let app = App::start().await;
    let view = app.view_link("ref-1");
    let r = app.get(&format!("/v/ref-1?t={view}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.assert_security_headers();
    assert!(r.headers.contains("content-type: text/html; charset=utf-8"));
    assert!(r.body.contains("V-3F9A2C71"));
    assert!(r.body.contains("Jobcenter &lt;Region&gt; Hannover"));
    assert!(!r.body.contains("<script>"));
    assert!(r.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(r.body.contains("überfällig"));
    assert!(r.body.contains("Nicht mehr angezeigt (Einwilligung widerrufen oder abgelaufen): Beratungsnotizen"));
    assert!(r.body.contains("Besondere Kategorien (Art. 9 DSGVO)"), "the Art. 9 part is served");
    assert!(r.body.contains("action=\"./ref-1\""));

    let acts = r.hidden("t");
    assert_eq!(acts.len(), 3, "ACCEPT, DECLINE and the note");
    assert_eq!(r.hidden("v"), vec![view.clone(); 3]);
    let mut nonces = Vec::new();
    for (token, expected) in acts.iter().zip(["ACCEPT", "DECLINE", "NOTE"]) {
        let claims = app.key.verify(token, NOW).unwrap();
        assert_eq!((claims.referral.as_str(), claims.org.as_str()), ("ref-1", "org-nord"));
        assert_eq!(claims.expires_at_ms, NOW + TTL);
        let Purpose::Act { action, nonce } = claims.purpose else { panic!("not an Act token") };
        assert_eq!(action, expected);
        nonces.push(nonce);
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3);

    // Act tokens never outlive the view link they came from.
    let short = app.link("ref-1", Purpose::View, NOW + 1_000);
    let r = app.get(&format!("/v/ref-1?t={short}")).await;
    assert_eq!(r.status, 200);
    assert!(r.hidden("t").iter().all(|t| app.key.verify(t, NOW).unwrap().expires_at_ms == NOW + 1_000));
    assert_eq!(app.desk_calls(), (2, 0));
}

#[tokio::test]
async fn posting_a_form_gives_a_receipt_once_and_the_same_receipt_on_replay() {
    let app = App::start().await;
    let view = app.view_link("ref-1");
    let page = app.get(&format!("/v/ref-1?t={view}")).await;
    let acts = page.hidden("t");

    let first = app.post("/v/ref-1", &[("t", &acts[0]), ("v", &view)]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    first.assert_security_headers();
    assert!(first.body.contains("<h1>Quittung</h1>"));
    assert!(first.body.contains("Vermittlung angenommen"));
    assert!(first.body.contains(&format!("href=\"./ref-1?t={view}\"")));
    let receipt = app.desk.done.lock().unwrap().values().next().unwrap().receipt.clone();
    assert!(first.body.contains(&receipt));
    assert_eq!(app.key.verify_receipt(&receipt).unwrap().action, "ACCEPT");

    let again = app.post("/v/ref-1", &[("t", &acts[0]), ("v", &view)]).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("Diese Aktion wurde bereits ausgeführt"));
    assert!(again.body.contains(&receipt));

    // A decline without a reason: 422 naming the field; with a reason (blank text dropped): done.
    let missing = app.post("/v/ref-1", &[("t", &acts[1]), ("v", &view), ("reason_text", "  ")]).await;
    assert_eq!(missing.status, 422);
    assert!(missing.body.contains("Grund: Bitte wählen Sie einen Grund."));
    assert!(missing.body.contains("Zurück zur Vermittlung"));
    let declined = app.post("/v/ref-1", &[("t", &acts[1]), ("v", &view), ("reason_code", "FULL")]).await;
    assert_eq!(declined.status, 200, "{}", declined.body);

    // The note form; without a valid view token there is simply no link back.
    let note =
        app.post("/v/ref-1", &[("t", &acts[2]), ("v", "L1.forged.x"), ("text", "Termin am Montag & Dienstag")]).await;
    assert_eq!(note.status, 200);
    assert!(note.body.contains("Notiz gespeichert"));
    assert!(!note.body.contains("Zurück zur Vermittlung"));

    let inputs = app.desk.inputs.lock().unwrap().clone();
    assert_eq!(inputs[2].1.reason_text, None);
    assert_eq!(inputs[3].1.reason_code.as_deref(), Some("FULL"));
    assert_eq!(inputs[4].1.text.as_deref(), Some("Termin am Montag & Dienstag"));
    assert_eq!(app.desk_calls(), (1, 5));
}

#[tokio::test]
async fn bad_links_are_refused_without_asking_the_desk() {
    let app = App::start().await;
    let other_key = LinkKey::from_secret(&[1u8; 32]).unwrap();
    let forged = other_key.sign(&LinkClaims {
        referral: "ref-1".into(),
        org: "org-nord".into(),
        issued_at_ms: NOW,
        expires_at_ms: NOW + TTL,
        purpose: Purpose::View,
    });
    let cases = [
        (format!("/v/ref-1?t={forged}"), 403, "Dieser Link ist ungültig"),
        ("/v/ref-1".to_string(), 403, "Dieser Link ist ungültig"),
        ("/v/ref-1?t=L1.abc".to_string(), 403, "Dieser Link ist ungültig"),
        (format!("/v/ref-1?t={}", "L1.".repeat(1000)), 403, "Dieser Link ist ungültig"),
        (format!("/v/ref-1?t={}", app.link("ref-1", Purpose::View, NOW)), 410, "abgelaufen"),
        (format!("/v/ref-1?t={}", app.view_link("ref-2")), 403, "gehört zu einer anderen Vermittlung"),
        (format!("/v/ref-1?t={}", app.act_link("ref-1", "ACCEPT")), 403, "gehört zu einer anderen Vermittlung"),
    ];
    for (path, status, text) in cases {
        let r = app.get(&path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert!(r.body.contains(text), "{path}: {}", r.body);
        r.assert_security_headers();
    }

    let view = app.view_link("ref-1");
    let posts = [
        (vec![("t", app.view_link("ref-1"))], 403, "gehört zu einer anderen Vermittlung"),
        (vec![("t", app.act_link("ref-2", "ACCEPT"))], 403, "gehört zu einer anderen Vermittlung"),
        (vec![("t", forged.clone())], 403, "Dieser Link ist ungültig"),
        (vec![("v", view.clone())], 403, "Dieser Link ist ungültig"),
        (
            vec![("t", app.link("ref-1", Purpose::Act { action: "ACCEPT".into(), nonce: "n".into() }, NOW))],
            410,
            "abgelaufen",
        ),
    ];
    for (fields, status, text) in posts {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.post("/v/ref-1", &fields).await;
        assert_eq!(r.status, status, "{fields:?}: {}", r.body);
        assert!(r.body.contains(text), "{}", r.body);
        r.assert_security_headers();
    }

    // A page link that was fine a moment ago expires with the clock.
    let act = app.act_link("ref-1", "ACCEPT");
    app.clock.store(NOW + TTL, Ordering::SeqCst);
    let r = app.post("/v/ref-1", &[("t", &act), ("v", &view)]).await;
    assert_eq!(r.status, 410);
    assert_eq!(app.desk_calls(), (0, 0));
}

#[tokio::test]
async fn desk_errors_health_unknown_paths_and_limits() {
    let app = App::start().await;
    for (referral, status, text) in
        [("gone", 410, "nicht mehr gültig"), ("down", 503, "vorübergehend"), ("broken", 500, "Fehler")]
    {
        let r = app.get(&format!("/v/{referral}?t={}", app.view_link(referral))).await;
        assert_eq!(r.status, status);
        assert!(r.body.contains(text), "{}", r.body);
        r.assert_security_headers();
    }
    let refused = app.post("/v/ref-1", &[("t", &app.act_link("ref-1", "TELEPORT"))]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("Diese Aktion ist nicht möglich."));

    let health = app.get("/health").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    health.assert_security_headers();

    let missing = app.get("/nothing/here").await;
    assert_eq!(missing.status, 404);
    missing.assert_security_headers();

    let big = format!("t={}&text={}", app.act_link("ref-1", "NOTE"), "x".repeat(20 * 1024));
    let r = app.post_raw("/v/ref-1", &big).await;
    assert_eq!(r.status, 413);
    r.assert_security_headers();

    let garbage = app.post_raw("/v/ref-1", "t=a&t=b").await;
    assert_eq!(garbage.status, 400);
    assert_eq!(app.desk_calls(), (3, 1));
}

#[tokio::test]
async fn a_confirm_link_shows_the_request_and_confirms_it_once() {
    let app = App::start().await;
    let token = app.link("ref-1", Purpose::Confirm { request: "req-1".into() }, NOW + TTL);
    let page = app.get(&format!("/b/req-1?t={token}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_security_headers();
    assert!(page.body.contains("<h1>Bitte löschen</h1>") && page.body.contains("&lt;Schuldnerberatung&gt;"));
    assert_eq!(page.hidden("t"), std::slice::from_ref(&token), "the form posts the same link token back");
    let done = app.post("/b/req-1", &[("t", &token)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("WHQ1.req-1"));
    let again = app.post("/b/req-1", &[("t", &token)]).await;
    assert_eq!(again.status, 409, "a second confirmation shows the first receipt");
    assert!(again.body.contains("WHQ1.req-1"));
    assert!(app.get(&format!("/b/req-1?t={token}")).await.body.contains("Bereits bestätigt am 15.01.2026"));
    // A link for another request, a view link, and no link are refused without confirming anything.
    let calls = app.desk_calls().1;
    assert_eq!(app.post("/b/req-2", &[("t", &token)]).await.status, 403, "a link for another request");
    assert_ne!(app.post("/b/req-1", &[("t", &app.view_link("ref-1"))]).await.status, 200);
    assert_ne!(app.post("/b/req-1", &[]).await.status, 200);
    assert_eq!(app.desk_calls().1, calls);
}
