//! The certificate lifecycle with the real binaries: a partner makes its key and signing request on its
//! own machine (`hubctl keygen`), the operator signs it (`hub pki sign`); the certificate works on both
//! replicas of one PostgreSQL database until `hub pki revoke` refuses it on both, while a second
//! certificate of the same organisation keeps working; `hub pki list` shows both; a certificate 20 days
//! from expiry raises the warning (metric and log). And the server certificate is replaced under load,
//! on SIGHUP and on a change of its files, without one failed call.

use crate::process;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hub::pki::{PemPair, PkiDir};
use hub_proto::v1::case_service_client::CaseServiceClient;
use hub_proto::v1::directory_service_client::DirectoryServiceClient;
use hub_proto::v1::*;
use hub_testkit::orgs;
use process::{
    Replica, bounded, hub_binary, hubctl_binary, org_cert, prepare_pg_pair, prepare_sqlite, register_network, run_hub,
    said,
};
use tonic::transport::Channel;

/// `hubctl keygen` for `org` into `dir`, then `hub pki sign` of its request on `data_dir`'s CA and
/// `database_url`: the certificate and key, and the serial the operator's command printed.
fn key_request_and_sign(org: &str, dir: &Path, data_dir: &Path, database_url: &str, days: &str) -> (PemPair, String) {
    let out = std::process::Command::new(hubctl_binary())
        .args(["keygen", "--org", org, "--out", dir.to_str().expect("UTF-8")])
        .output()
        .expect("run hubctl keygen");
    assert!(out.status.success(), "hubctl keygen: {}", String::from_utf8_lossy(&out.stderr));
    let csr = dir.join(format!("{org}.csr"));
    let signed = run_hub(
        &hub_binary(),
        &[
            "pki",
            "sign",
            csr.to_str().expect("UTF-8"),
            "--org",
            org,
            "--days",
            days,
            "--data-dir",
            data_dir.to_str().expect("UTF-8"),
            "--database-url",
            database_url,
        ],
        &[],
    );
    // "signed DIR/ORG.pem for organisation 'ORG': serial SERIAL, valid until DATE"
    let serial = signed
        .split("serial ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no serial in {signed:?}"))
        .to_owned();
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (PemPair { cert: read(dir.join(format!("{org}.pem"))), key: read(dir.join(format!("{org}.key"))) }, serial)
}

/// One call that needs an authenticated organisation.
async fn call(channel: &Channel) -> Result<(), tonic::Status> {
    let mut directory = DirectoryServiceClient::new(channel.clone());
    bounded("ListOrganisations", directory.list_organisations(ListOrganisationsRequest::default())).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_certificate_from_a_signing_request_works_until_revoked_on_both_replicas() {
    let Some(server) = hub_testkit::postgres_for_test("the certificate lifecycle test") else { return };
    let bin = hub_binary();
    let (url, root, dir_a, dir_b) = prepare_pg_pair(&bin, &server).await;
    let a = Replica::start_with(
        "A",
        &bin,
        &dir_a,
        &url,
        &[("HUB_METRICS_LISTEN", "127.0.0.1:0"), ("HUB_SCHEDULER_INTERVAL_SECS", "1")],
    );
    let b = Replica::start("B", &bin, &dir_b, &url);
    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(&dir_a)).expect("load the CA");
    register_network(a.channel(&ca, &hub::pki::operator_cert(&ca).expect("operator")).await, |_| {}).await;

    // The partner's first and second certificate, each from its own key made on "its machine".
    let (first_dir, second_dir) = (root.path().join("partner-1"), root.path().join("partner-2"));
    let (first, first_serial) = key_request_and_sign(orgs::JOBCENTER, &first_dir, &dir_a, &url, "730");
    let (second, second_serial) = key_request_and_sign(orgs::JOBCENTER, &second_dir, &dir_a, &url, "730");
    assert_ne!(first_serial, second_serial);
    let on_a = a.channel(&ca, &first).await;
    let on_b = b.channel(&ca, &first).await;
    call(&on_a).await.expect("the first certificate works on A");
    call(&on_b).await.expect("the first certificate works on B");

    let revoked = run_hub(
        &bin,
        &["pki", "revoke", &first_serial, "--data-dir", dir_a.to_str().expect("UTF-8"), "--database-url", &url],
        &[],
    );
    assert!(revoked.contains(&format!("revoked {first_serial}")), "{revoked}");
    // Each replica rereads the revocations when its copy is a second old.
    tokio::time::sleep(hub::service::REVOCATIONS_TTL + Duration::from_millis(100)).await;
    for (name, channel) in [("A", &on_a), ("B", &on_b)] {
        let refused = call(channel).await.expect_err("a revoked certificate is refused");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{name}: {refused:?}");
        assert!(refused.message().contains("revoked"), "{name}: {}", refused.message());
    }
    call(&a.channel(&ca, &second).await).await.expect("the second certificate works on A");
    call(&b.channel(&ca, &second).await).await.expect("the second certificate works on B");
    // Revoking twice is refused with a clear message, not a second record.
    let again = process::hub_command(
        &bin,
        &["pki", "revoke", &first_serial, "--data-dir", dir_a.to_str().expect("UTF-8"), "--database-url", &url],
    )
    .output()
    .expect("run hub pki revoke");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("revoked already"), "{again:?}");

    // A third one, 20 days from expiry: the warning in the metrics and the log.
    let (_, soon_serial) = key_request_and_sign(orgs::JOBCENTER, &root.path().join("partner-3"), &dir_a, &url, "20");
    let list =
        run_hub(&bin, &["pki", "list", "--data-dir", dir_a.to_str().expect("UTF-8"), "--database-url", &url], &[]);
    let line = |serial: &str| {
        list.lines().find(|l| l.starts_with(serial)).unwrap_or_else(|| panic!("{serial} not listed: {list}")).to_owned()
    };
    assert!(line(&first_serial).contains(orgs::JOBCENTER) && line(&first_serial).contains("revoked"), "{list}");
    assert!(line(&second_serial).contains("valid, 729 days left"), "{list}");
    assert!(line(&soon_serial).contains("valid, 19 days left"), "{list}");

    let metrics = a
        .log()
        .iter()
        .filter_map(|l| said(l))
        .find_map(|m| m.strip_prefix("metrics on http://").map(|r| r.trim_end_matches("/metrics").to_owned()))
        .expect("the metrics address");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = reqwest::get(format!("http://{metrics}/metrics")).await.expect("scrape").text().await.expect("text");
        let warned = a.log().iter().any(|l| l.contains(&soon_serial) && l.contains("expires in 19 days"));
        if text.contains("hub_partner_certificates_expiring 1\n") && warned {
            let days = text
                .lines()
                .find_map(|l| l.strip_prefix("hub_certificate_expiry_days{kind=\"partner\"} "))
                .and_then(|v| v.parse::<f64>().ok())
                .expect("the soonest partner certificate's days");
            assert!((19.0..20.0).contains(&days), "{days}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no expiry warning: {text}\n{:#?}", a.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The certificate a fresh TLS handshake with the hub on `port` presents.
async fn presented(port: u16, ca: &PemPair) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_slice(ca.cert.as_bytes()).expect("CA")).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake");
    tls.get_ref().1.peer_certificates().and_then(|c| c.first()).expect("a server certificate").to_vec()
}

/// Replaces the server certificate and key of `dir` with a new pair from `ca` (each file replaced
/// atomically, the key first); returns the new certificate's DER.
fn replace_server_cert(dir: &PkiDir, ca: &PemPair) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject as _;
    let pair = hub::pki::server_cert(ca, &["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("server cert");
    for (path, text) in [(dir.server_key(), &pair.key), (dir.server_cert(), &pair.cert)] {
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
    }
    rustls::pki_types::CertificateDer::from_pem_slice(pair.cert.as_bytes()).expect("PEM").to_vec()
}

/// Waits until a fresh handshake presents `der`.
async fn until_presented(port: u16, ca: &PemPair, der: &[u8], within: Duration, how: &str) {
    let deadline = tokio::time::Instant::now() + within;
    while presented(port, ca).await != der {
        assert!(tokio::time::Instant::now() < deadline, "the new server certificate was not taken up ({how})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_certificate_is_rotated_under_load_without_failed_calls() {
    let bin = hub_binary();
    let root = tempfile::tempdir().expect("temp dir");
    let url = prepare_sqlite(&bin, root.path());
    let hub = Replica::start("rotating", &bin, root.path(), &url);
    let pki = PkiDir::in_data_dir(root.path());
    let ca = hub::pki::load_ca(&pki).expect("CA");
    register_network(hub.channel(&ca, &hub::pki::operator_cert(&ca).expect("operator")).await, |_| {}).await;
    let fachstelle = org_cert(&ca, orgs::FACHSTELLE);
    let before = presented(hub.port, &ca).await;

    // Load: two clients on connections opened before the rotation, two opening a new one per call.
    let (stop, ok, failed) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for fresh in [false, false, true, true] {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let kept = hub.channel(&ca, &fachstelle).await;
        let (port, ca, cert) = (hub.port, ca.clone(), fachstelle.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let channel = if fresh {
                    let url = format!("https://127.0.0.1:{port}");
                    match hub::client::connect(&url, "localhost", &ca.cert, Some((&cert.cert, &cert.key))).await {
                        Ok(c) => c,
                        Err(e) => {
                            eprintln!("connect failed: {e:#}");
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                } else {
                    kept.clone()
                };
                match CaseServiceClient::new(channel).list_cases(ListCasesRequest::default()).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("call failed: {e:?}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // On SIGHUP (`systemctl reload`).
    let second = replace_server_cert(&pki, &ca);
    assert_ne!(second, before);
    let pid = rustix::process::Pid::from_raw(i32::try_from(hub.pid()).expect("pid")).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::HUP).expect("SIGHUP");
    until_presented(hub.port, &ca, &second, Duration::from_secs(3), "SIGHUP").await;
    let after_hup = ok.load(Ordering::Relaxed);

    // On a change of the files alone.
    let third = replace_server_cert(&pki, &ca);
    until_presented(hub.port, &ca, &third, Duration::from_secs(15), "file change").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("a load task");
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "calls failed during the rotations ({ok} succeeded); log: {:#?}", hub.log());
    assert!(ok > after_hup && after_hup > 0, "the load ran through both rotations: {after_hup} then {ok}");
    assert!(hub.log().iter().all(|l| !l.contains("not reloaded")), "{:#?}", hub.log());
}
