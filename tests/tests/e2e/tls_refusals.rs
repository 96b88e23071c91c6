//! Refusals at the TLS layer that `access.rs` does not cover: an expired and a not-yet-valid client
//! certificate (issued by the hub's own CA for a registered, active organisation), and TLS 1.1 and
//! 1.0 on the gRPC port and on the partner page.
//!
//! Covered in `access.rs` and not repeated here: no client certificate
//! (`a_client_without_certificate_is_unauthenticated_on_every_hub_service`), a certificate from another
//! CA (`a_certificate_from_another_ca_is_refused`) and a deactivated organisation
//! (`a_deactivated_organisation_is_permission_denied_until_reactivated`).
//!
//! rustls cannot even offer TLS 1.1, so the protocol tests use a client that can: Python's `ssl`
//! (OpenSSL) from the workspace venv (`scripts/ensure-venv.sh`), pinned to one protocol version with
//! `@SECLEVEL=0`. Each refusal must be the server's: the ClientHello went out offering that version
//! and the server answered with a fatal alert instead of a ServerHello. The same client pinned to
//! TLS 1.2 against the same port must complete its handshake (the control). If the local OpenSSL
//! cannot send a TLS 1.1 ClientHello at all, the test fails saying so instead of passing.
//!
//! rustls answers OpenSSL's TLS 1.1/1.0 ClientHello with `handshake_failure`: such a hello has no
//! `signature_algorithms` extension, which rustls checks before the version. So a hand-made
//! ClientHello that carries it is sent as well: at TLS 1.2 it gets a ServerHello (control), at
//! TLS 1.1/1.0, byte for byte the same otherwise, a fatal `protocol_version` alert.

use crate::common;
use crate::emailkit;
use crate::mailsink;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::*;
use hub::domain::ids::OrgId;
use hub::pki::{PemPair, PkiDir};

const DAY: Duration = Duration::from_secs(86_400);

// ---------------------------------------------------------------------------------------------
// Certificate validity
// ---------------------------------------------------------------------------------------------

/// A Jobcenter certificate from the hub's own CA, valid from `not_before` to `not_after`.
fn jobcenter_cert(hub: &TestHub, not_before: SystemTime, not_after: SystemTime) -> PemPair {
    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(hub.data_dir())).expect("the hub's CA");
    let org = OrgId::parse(orgs::JOBCENTER).expect("org id");
    hub::pki::org_cert_valid(&ca, &org, not_before, not_after).expect("certificate")
}

/// `ListReferrals` (inbox) with `identity`: `Ok` if answered, else the whole error text (connect
/// error chain, or status code, message and source chain).
async fn list_referrals_as(hub: &TestHub, identity: &PemPair) -> Result<(), String> {
    let url = format!("https://127.0.0.1:{}", hub.addr().port());
    let channel =
        hub::client::connect(&url, "localhost", &hub.ca_pem(), Some((identity.cert.as_str(), identity.key.as_str())))
            .await
            .map_err(|e| format!("connect: {e:#}"))?;
    let mut client = ReferralServiceClient::new(channel);
    let call = client.list_referrals(ListReferralsRequest::default());
    match tokio::time::timeout(Duration::from_secs(15), call).await {
        Err(_) => Err("no answer within 15 s".to_owned()),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(s)) => {
            let mut text = format!("{:?}: {}", s.code(), s.message());
            let mut source = std::error::Error::source(&s);
            while let Some(e) = source {
                text.push_str(&format!(": {e}"));
                source = e.source();
            }
            Err(text)
        }
    }
}

/// The certificate is refused in the TLS handshake with the server's `certificate_expired` alert
/// (rustls sends it for both an expired and a not-yet-valid certificate): either the channel cannot
/// be built or the first call fails as UNAVAILABLE/UNKNOWN. Never with an answer.
fn assert_refused_as_expired(what: &str, res: Result<(), String>) {
    let text = match res {
        Ok(()) => panic!("{what}: the hub answered a call made with it"),
        Err(text) => text,
    };
    assert!(
        text.starts_with("connect:") || text.starts_with("Unavailable:") || text.starts_with("Unknown:"),
        "{what}: refused at the TLS layer, not by a hub service: {text}"
    );
    let lower = text.to_lowercase();
    assert!(
        lower.contains("certificateexpired") || lower.contains("certificate expired"),
        "{what}: the server's alert names the expired certificate: {text}"
    );
    println!("{what}: refused: {text}");
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    let hub = start().await;
    let now = SystemTime::now();
    // The control: the same function, organisation and CA with a current validity works.
    list_referrals_as(&hub, &jobcenter_cert(&hub, now - DAY, now + DAY))
        .await
        .unwrap_or_else(|e| panic!("a current certificate of the same organisation must work: {e}"));

    let expired = jobcenter_cert(&hub, now - 400 * DAY, now - DAY);
    assert_refused_as_expired("expired yesterday", list_referrals_as(&hub, &expired).await);
    let just_expired = jobcenter_cert(&hub, now - 30 * DAY, now - Duration::from_secs(60));
    assert_refused_as_expired("expired a minute ago", list_referrals_as(&hub, &just_expired).await);
}

#[tokio::test]
async fn a_not_yet_valid_client_certificate_is_refused() {
    let hub = start().await;
    let now = SystemTime::now();
    list_referrals_as(&hub, &jobcenter_cert(&hub, now - DAY, now + DAY))
        .await
        .unwrap_or_else(|e| panic!("a current certificate of the same organisation must work: {e}"));

    let tomorrow = jobcenter_cert(&hub, now + DAY, now + 400 * DAY);
    assert_refused_as_expired("valid from tomorrow", list_referrals_as(&hub, &tomorrow).await);
}

// ---------------------------------------------------------------------------------------------
// Protocol versions
// ---------------------------------------------------------------------------------------------

/// A TLS client pinned to one protocol version (argv: host, port, `TLSv1`/`TLSv1_1`/`TLSv1_2`),
/// driven over memory BIOs so every byte it sent and received is reported. Prints one JSON line:
/// `result` (`ok`, `error`, `io-error`, `client-refused`), `reason` (OpenSSL's), `detail`,
/// `version` (negotiated), `sent` and `received` (hex).
const PINNED_CLIENT: &str = r#"
import json, socket, ssl, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = {"result": "", "reason": "", "detail": "", "version": "", "sent": "", "received": ""}
sent, received = bytearray(), bytearray()
try:
    v = getattr(ssl.TLSVersion, name)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = v
    ctx.maximum_version = v
except Exception as e:
    out["result"] = "client-refused"
    out["detail"] = repr(e)
    print(json.dumps(out))
    sys.exit(0)
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
sock = socket.create_connection((host, port), timeout=10)
def flush():
    data = outgoing.read()
    if data:
        sock.sendall(data)
        sent.extend(data)
try:
    while True:
        try:
            tls.do_handshake()
            flush()
            out["result"] = "ok"
            out["version"] = tls.version() or ""
            break
        except ssl.SSLWantReadError:
            flush()
            chunk = sock.recv(65536)
            if chunk:
                received.extend(chunk)
                incoming.write(chunk)
            else:
                incoming.write_eof()
except ssl.SSLError as e:
    out["result"] = "error"
    out["reason"] = e.reason or ""
    out["detail"] = str(e)
except OSError as e:
    out["result"] = "io-error"
    out["detail"] = repr(e)
finally:
    sock.close()
out["sent"] = sent.hex()
out["received"] = received.hex()
print(json.dumps(out))
"#;

/// What the pinned client saw.
#[derive(Debug)]
struct Handshake {
    result: String,
    reason: String,
    detail: String,
    version: String,
    sent: Vec<u8>,
    received: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex from the client")).collect()
}

/// Runs [`PINNED_CLIENT`] against `addr` with protocol `version` (blocking; a short handshake).
fn handshake(addr: SocketAddr, version: &str) -> Handshake {
    let py = mailsink::python().unwrap_or_else(|e| panic!("the TLS protocol tests need Python: {e:#}"));
    let out = Command::new(&py)
        .args(["-c", PINNED_CLIENT, &addr.ip().to_string(), &addr.port().to_string(), version])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", py.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the {version} client crashed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the {version} client's report is not JSON ({e}): {stdout}"));
    let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    Handshake {
        result: field("result"),
        reason: field("reason"),
        detail: field("detail"),
        version: field("version"),
        sent: unhex(&field("sent")),
        received: unhex(&field("received")),
    }
}

/// The pinned client completes a TLS 1.2 handshake (the control: the client and the port work).
fn assert_tls12_works(what: &str, addr: SocketAddr) {
    let h = handshake(addr, "TLSv1_2");
    assert_eq!(h.result, "ok", "{what}: the same client with TLS 1.2 must complete the handshake: {h:?}");
    assert_eq!(h.version, "TLSv1.2", "{what}: {h:?}");
}

/// The server refuses `version` (`TLSv1_1` or `TLSv1`, ClientHello version `hello`) from a real
/// client: the client really sent a ClientHello offering at most that version, and the server's
/// first bytes are a fatal alert, not a ServerHello. (rustls answers OpenSSL's TLS 1.1 ClientHello
/// with `handshake_failure`, as such a hello lacks the `signature_algorithms` extension that TLS 1.2
/// introduced; [`assert_version_alert`] shows that the version alone is refused.) Returns the alert.
fn assert_refused(what: &str, addr: SocketAddr, version: &str, hello: [u8; 2]) -> u8 {
    let h = handshake(addr, version);
    let cannot = |why: &str| -> ! {
        panic!(
            "{what}: the local OpenSSL cannot attempt {version} ({why}), so this test cannot show that the \
             server refuses it; use an OpenSSL that still speaks {version} at @SECLEVEL=0: {h:?}"
        )
    };
    if h.result == "client-refused" || h.reason == "NO_PROTOCOLS_AVAILABLE" || h.reason == "NO_CIPHERS_AVAILABLE" {
        cannot("the client refused before sending anything");
    }
    // Record: handshake (22); handshake message: ClientHello (1) with client_version at bytes 9..11.
    if h.sent.len() < 11 || h.sent[0] != 22 || h.sent[5] != 1 {
        cannot("no ClientHello went out");
    }
    assert_eq!(h.sent[9..11], hello, "{what}: the ClientHello offers {version} at most: {h:?}");
    assert_ne!(h.result, "ok", "{what}: the server completed a {version} handshake ({}): {h:?}", h.version);
    // The server's answer: an alert record (21) of two bytes, fatal (2).
    assert!(
        h.received.len() >= 7 && h.received[0] == 21 && h.received[3..5] == [0, 2] && h.received[5] == 2,
        "{what}: the server answered {version} with a fatal alert, not a ServerHello: {h:?}"
    );
    assert!(
        h.reason.contains("ALERT") && h.detail.contains("alert"),
        "{what}: the client reports the server's alert: {h:?}"
    );
    h.received[6]
}

/// A minimal ClientHello with `client_version` and no `supported_versions` extension, otherwise
/// acceptable to a TLS 1.2 server: ECDHE suites with AES-GCM and ChaCha20, the groups, point
/// formats, signature algorithms and extended master secret.
fn client_hello(client_version: [u8; 2]) -> Vec<u8> {
    fn ext(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&u16::try_from(data.len()).expect("short").to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut exts = Vec::new();
    ext(&mut exts, 10, &[0, 4, 0, 0x1d, 0, 0x17]); // supported_groups: x25519, secp256r1
    ext(&mut exts, 11, &[1, 0]); // ec_point_formats: uncompressed
    ext(&mut exts, 13, &[0, 6, 4, 3, 8, 4, 4, 1]); // signature_algorithms: ecdsa p256, rsa-pss, rsa-pkcs1
    ext(&mut exts, 23, &[]); // extended_master_secret
    let suites: [u16; 6] = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
    let mut body = client_version.to_vec();
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&u16::try_from(suites.len() * 2).expect("short").to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null
    body.extend_from_slice(&u16::try_from(exts.len()).expect("short").to_be_bytes());
    body.extend_from_slice(&exts);
    let mut handshake = vec![1]; // ClientHello
    handshake.extend_from_slice(&u32::try_from(body.len()).expect("short").to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 3, 1]; // handshake record, record version TLS 1.0 as usual
    record.extend_from_slice(&u16::try_from(handshake.len()).expect("short").to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends [`client_hello`] with `client_version` and returns the server's first record (type, body).
fn first_record(addr: SocketAddr, client_version: [u8; 2]) -> (u8, Vec<u8>) {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    sock.write_all(&client_hello(client_version)).expect("send the ClientHello");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if got.len() >= 5 {
            let len = usize::from(u16::from_be_bytes([got[3], got[4]]));
            if got.len() >= 5 + len {
                return (got[0], got[5..5 + len].to_vec());
            }
        }
        match sock.read(&mut buf) {
            Ok(0) => panic!("the server closed without a full record after {client_version:?}: {got:?}"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the server's answer to {client_version:?}: {e}; so far {got:?}"),
        }
    }
}

/// The same hand-made ClientHello gets a TLS 1.2 ServerHello with client_version TLS 1.2 (the
/// control), and a fatal `protocol_version` alert (70) with `version`: only the version differs.
fn assert_version_alert(what: &str, addr: SocketAddr, version: [u8; 2]) {
    let (kind, body) = first_record(addr, [3, 3]);
    assert!(
        kind == 22 && body.len() >= 6 && body[0] == 2 && body[4..6] == [3, 3],
        "{what}: the hand-made ClientHello at TLS 1.2 gets a TLS 1.2 ServerHello (the control): {kind} {body:?}"
    );
    let (kind, body) = first_record(addr, version);
    assert_eq!((kind, body.as_slice()), (21, [2u8, 70].as_slice()), "{what}: {version:?} gets fatal protocol_version");
}

fn assert_only_tls12_and_up(what: &str, addr: SocketAddr) {
    assert_tls12_works(what, addr);
    for (name, version) in [("TLSv1_1", [3, 2]), ("TLSv1", [3, 1])] {
        let alert = assert_refused(what, addr, name, version);
        assert_version_alert(what, addr, version);
        println!(
            "{what}: {name} refused (alert {alert} to OpenSSL's hello, 70 protocol_version to a hello with signature_algorithms); TLSv1_2 works"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_1_and_1_0_are_refused_on_the_grpc_port() {
    let hub = start().await;
    let addr = SocketAddr::from(([127, 0, 0, 1], hub.addr().port()));
    tokio::task::spawn_blocking(move || assert_only_tls12_and_up("gRPC port", addr)).await.expect("TLS checks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_1_and_1_0_are_refused_on_the_partner_page() {
    // No mail is sent here: SMTP points at a port nobody listens on, the page runs regardless.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let hub = TestHub::start_with_email(emailkit::email_config(closed)).await.expect("the hub starts with email");
    let web = hub.web_addr().expect("the partner page runs");
    let addr = SocketAddr::from(([127, 0, 0, 1], web.port()));
    tokio::task::spawn_blocking(move || assert_only_tls12_and_up("partner page", addr)).await.expect("TLS checks");
}
