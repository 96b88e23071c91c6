//! Faults injected from outside into real `hub serve` processes, and the hub healing without a restart:
//!
//! - a full file system under the SQLite database (a small tmpfs), then space freed;
//! - 1,100 idle TCP connections that never start TLS, against a hub limited to 1,024 descriptors;
//! - PostgreSQL's backends terminated, then PostgreSQL unreachable (a TCP proxy in front of it is killed)
//!   and back;
//! - a replica killed with SIGKILL while it holds leased mail: another replica sends it within the lease;
//! - the SMTP relay down and back: the email health follows it.
//!
//! Each checks what clients see (status codes and messages), what health says (`grpc.health.v1` and
//! `/readyz`), and that nothing acknowledged is lost.

use crate::mailsink;
use crate::process;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hub::pki::{PemPair, PkiDir};
use hub_proto::v1::case_service_client::CaseServiceClient;
use hub_proto::v1::directory_service_client::DirectoryServiceClient;
use hub_proto::v1::referral_service_client::ReferralServiceClient;
use hub_proto::v1::*;
use hub_testkit::{idem, orgs};
use process::{
    CALL_TIMEOUT, Replica, bounded, case_with_consent, date_in_days, hub_binary, org_cert, register_network, run_hub,
    serve_command,
};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A data directory with a PKI and a migrated SQLite database; returns its database URL.
fn prepare_sqlite(bin: &Path, data: &Path) -> String {
    let data_arg = data.to_str().expect("UTF-8 temp path");
    run_hub(bin, &["pki", "init", "--data-dir", data_arg], &[]);
    run_hub(bin, &["migrate", "--data-dir", data_arg], &[]);
    format!("sqlite://{}", data.join("hub.db").display())
}

/// The CA, the operator's and the Fachstelle's certificates of `data`.
fn identities(data: &Path) -> (PemPair, PemPair, PemPair) {
    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(data)).expect("load the CA");
    let operator = hub::pki::operator_cert(&ca).expect("operator certificate");
    let fachstelle = org_cert(&ca, orgs::FACHSTELLE);
    (ca, operator, fachstelle)
}

/// The serving status of `service` ("" for the whole server).
async fn health(channel: Channel, service: &str) -> ServingStatus {
    let response = bounded(
        "Health.Check",
        HealthClient::new(channel).check(tonic_health::pb::HealthCheckRequest { service: service.to_owned() }),
    )
    .await
    .expect("Health.Check answers");
    ServingStatus::try_from(response.into_inner().status).expect("a known serving status")
}

/// Polls until the health of `service` is `want`, at most `within`.
async fn await_health(channel: &Channel, service: &str, want: ServingStatus, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = health(channel.clone(), service).await;
        if now == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "health of {service:?} is {now:?}, not {want:?} within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// GET `/readyz` of the dashboard: status code and body.
async fn readyz(addr: SocketAddr, ca: &PemPair) -> (u16, String) {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.as_bytes()).expect("CA certificate"))
        .build()
        .expect("HTTPS client");
    let url = format!("https://localhost:{}/readyz", addr.port());
    let response = bounded("GET /readyz", client.get(url).send()).await.expect("GET /readyz");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The dashboard's address from a replica's start-up line ("hub: dashboard on https://ADDR ...").
fn dashboard_addr(replica: &Replica) -> SocketAddr {
    replica
        .log()
        .iter()
        .find_map(|l| l.strip_prefix("hub: dashboard on https://")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no dashboard address in the log: {:#?}", replica.log()))
}

/// An OpenCase request with its own idempotency key (retried with the same key).
fn open_case_request(key: &str) -> OpenCaseRequest {
    OpenCaseRequest {
        idempotency_key: key.to_owned(),
        details: Some(hub_testkit::frau_k_details()),
        initial_stage: None,
    }
}

/// Opens `n` cases and returns the ids the hub acknowledged.
async fn open_cases(cases: &mut CaseServiceClient<Channel>, n: usize) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for _ in 0..n {
        let case = bounded("OpenCase", cases.open_case(open_case_request(&idem()))).await.expect("OpenCase");
        ids.insert(case.into_inner().case.expect("case").id);
    }
    ids
}

/// Every case of `ids` can be read back.
async fn assert_readable(cases: &mut CaseServiceClient<Channel>, ids: &BTreeSet<String>) {
    for id in ids {
        bounded("GetCase", cases.get_case(GetCaseRequest { case_id: id.clone() }))
            .await
            .unwrap_or_else(|s| panic!("acknowledged case {id} readable: {s:?}"));
    }
}

/// A tmpfs of `size` mounted at `dir`, unmounted on drop. Needs root (CAP_SYS_ADMIN): without it the
/// test fails under CI and is skipped otherwise, saying why.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).expect("mount point");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        if out.status.success() {
            return Some(Self(dir.to_owned()));
        }
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(std::env::var_os("CI").is_none(), "the disk-full test needs to mount a tmpfs (root) under CI: {why}");
        println!("skipped: the disk-full test needs to mount a tmpfs (run as root): {why}");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with one file until it is full; returns the file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let chunk = vec![0x5a_u8; 64 * 1024];
    loop {
        match file.write_all(&chunk).and_then(|()| file.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    // Whatever is left below one chunk, byte-wise.
    while file.write_all(&[0x5a]).and_then(|()| file.sync_all()).is_ok() {}
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_fails_writes_clearly_and_they_work_again_once_space_is_freed() {
    let root = tempfile::tempdir().expect("temp dir");
    let Some(_tmpfs) = Tmpfs::mount(&root.path().join("mnt"), "24m") else { return };
    let bin = hub_binary();
    let data = root.path().join("mnt").join("hub-data");
    let database_url = prepare_sqlite(&bin, &data);
    let hub = Replica::start_with("the hub", &bin, &data, &database_url, &[("HUB_HEALTH_STORE_PROBE_SECS", "1")]);
    let (ca, operator, fachstelle) = identities(&data);
    register_network(hub.channel(&ca, &operator).await, |_| {}).await;
    let channel = hub.channel(&ca, &fachstelle).await;
    let mut cases = CaseServiceClient::new(channel.clone());
    let mut acknowledged = open_cases(&mut cases, 3).await;
    assert_eq!(health(channel.clone(), "").await, ServingStatus::Serving);
    let dashboard = dashboard_addr(&hub);
    assert_eq!(readyz(dashboard, &ca).await.0, 200, "ready before the disk fills");

    let filler = fill(&root.path().join("mnt"));
    // Writes until one fails: the first few may still fit into space SQLite had allocated already.
    let mut refused = None;
    for _ in 0..200 {
        let key = idem();
        match bounded("OpenCase", cases.open_case(open_case_request(&key))).await {
            Ok(r) => {
                acknowledged.insert(r.into_inner().case.expect("case").id);
            }
            Err(status) => {
                refused = Some((key, status));
                break;
            }
        }
    }
    let (key, status) = refused.expect("a write fails once the disk is full");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "a full disk: {status:?}");
    assert!(status.message().contains("storage is full"), "the message says what happened: {status:?}");
    assert!(status.message().contains("idempotency key"), "and how to retry: {status:?}");
    assert!(status.metadata().get("grpc-retry-pushback-ms").is_some(), "with a retry hint: {status:?}");
    await_health(&channel, "", ServingStatus::NotServing, Duration::from_secs(5)).await;
    let service = "wohnungserhalt.hub.v1.CaseService";
    assert_eq!(health(channel.clone(), service).await, ServingStatus::NotServing, "per service too");
    let (code, body) = readyz(dashboard, &ca).await;
    assert_eq!(code, 503, "not ready while the disk is full: {body}");
    assert!(body.contains("storage is full"), "/readyz says why: {body}");

    std::fs::remove_file(&filler).expect("free the space");
    let healed = await_health(&channel, "", ServingStatus::Serving, Duration::from_secs(10)).await;
    println!("health SERVING again {healed:?} after the space was freed");
    assert_eq!(readyz(dashboard, &ca).await.0, 200, "ready again");
    // The refused request, retried with its key, and new ones work on the same process.
    let retried =
        bounded("OpenCase (retry)", cases.open_case(open_case_request(&key))).await.expect("the retry succeeds");
    acknowledged.insert(retried.into_inner().case.expect("case").id);
    for _ in 0..5 {
        let case = bounded("OpenCase", cases.open_case(open_case_request(&idem()))).await.expect("writes work again");
        acknowledged.insert(case.into_inner().case.expect("case").id);
    }
    // Every acknowledged case is there (audited reads write too: they work again as well).
    assert_readable(&mut cases, &acknowledged).await;
    println!("{} acknowledged cases, all readable", acknowledged.len());
    assert!(!hub.log().iter().any(|l| l.contains("non-zero transaction depth")), "no poisoned connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_connections_neither_lock_out_clients_nor_burn_cpu_and_are_closed() {
    const IDLE: usize = 1_100;
    const HANDSHAKE_SECS: u64 = 3;
    let bin = hub_binary();
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("hub-data");
    let database_url = prepare_sqlite(&bin, &data);
    let handshake = HANDSHAKE_SECS.to_string();
    let inner = serve_command(&bin, &data, &database_url, &[("HUB_HANDSHAKE_TIMEOUT_SECS", handshake.as_str())]);
    // The same command under `prlimit`: soft and hard limit 1,024 descriptors, as on a default system.
    let mut cmd = std::process::Command::new("prlimit");
    cmd.arg("--nofile=1024:1024").arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let hub = Replica::spawn("the hub", cmd);
    let (ca, operator, _) = identities(&data);
    register_network(hub.channel(&ca, &operator).await, |_| {}).await;

    let addr = format!("127.0.0.1:{}", hub.port);
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(tokio::net::TcpStream::connect(&addr).await.expect("TCP connect"));
    }
    let cpu_before = cpu_ticks(hub.pid());
    let cpu_window = Instant::now();

    // A normal client still gets through, quickly.
    let started = Instant::now();
    let channel = hub.channel(&ca, &operator).await;
    let listed = tokio::time::timeout(
        Duration::from_secs(1),
        DirectoryServiceClient::new(channel).list_organisations(ListOrganisationsRequest::default()),
    )
    .await
    .expect("a call answers within 1 s while 1,100 idle connections stand")
    .expect("ListOrganisations");
    let took = started.elapsed();
    assert!(!listed.into_inner().organisations.is_empty());
    println!("connect and call with {IDLE} idle connections open: {took:?}");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = (cpu_ticks(hub.pid()) - cpu_before) as f64 / 100.0 / cpu_window.elapsed().as_secs_f64();
    println!("hub CPU with {IDLE} idle connections: {:.1} % of a core", cpu * 100.0);
    assert!(cpu < 0.25, "the hub stays calm: {:.0} % of a core", cpu * 100.0);

    // After the handshake timeout every idle connection is closed by the hub.
    tokio::time::sleep(Duration::from_secs(HANDSHAKE_SECS + 1)).await;
    let mut b = [0u8; 1];
    let open =
        idle.iter().filter(|s| s.try_read(&mut b).is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock)).count();
    assert_eq!(open, 0, "{open} of {IDLE} idle connections still open after the handshake timeout");
    assert!(!hub.log().iter().any(|l| l.contains("Too many open files")), "never out of descriptors");
}

/// CPU time (user + system) of process `pid` in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').expect("stat format").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// A TCP proxy in front of PostgreSQL that the test can kill (every connection cut, the port refusing)
/// and start again on the same port: the database "unreachable", then back.
struct PgProxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl PgProxy {
    async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let task = tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                pipes.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, task: Some(task) }
    }

    /// Cuts every connection and closes the port (dropping the task drops the listener and the pipes).
    async fn kill(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

/// The PostgreSQL URL `url` with its host and port replaced by 127.0.0.1:`port`.
fn through_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{user}127.0.0.1:{port}/{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_postgres_fails_calls_fast_naming_the_database_and_they_recover_by_themselves() {
    const CONNECT_TIMEOUT_SECS: u64 = 2;
    let Some(server) = hub_testkit::postgres_for_test("the database outage test") else { return };
    let bin = hub_binary();
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let direct = hub::store::postgres::create_database(&server, &name).await.expect("create the test database");
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("hub-data");
    let data_arg = data.to_str().expect("UTF-8");
    run_hub(&bin, &["pki", "init", "--data-dir", data_arg], &[]);
    run_hub(&bin, &["migrate", "--data-dir", data_arg, "--database-url", &direct], &[]);
    let mut proxy = PgProxy::start(0).await;
    let via_proxy = through_port(&direct, proxy.port);
    let timeout = CONNECT_TIMEOUT_SECS.to_string();
    let env = [("HUB_DATABASE_CONNECT_TIMEOUT_SECS", timeout.as_str()), ("HUB_HEALTH_STORE_PROBE_SECS", "1")];
    let hub = Replica::start_with("the hub", &bin, &data, &via_proxy, &env);
    let (ca, operator, fachstelle) = identities(&data);
    register_network(hub.channel(&ca, &operator).await, |_| {}).await;
    let channel = hub.channel(&ca, &fachstelle).await;
    let mut cases = CaseServiceClient::new(channel.clone());
    let mut acknowledged = open_cases(&mut cases, 3).await;

    // Every backend of the hub terminated (a failover, an administrator): at most one failed call,
    // clearly UNAVAILABLE, then the same request works with new connections.
    let admin = sqlx::PgPool::connect(&direct).await.expect("connect to the test database");
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&admin)
    .await
    .expect("terminate the hub's backends");
    assert!(!terminated.is_empty(), "the hub had connections to terminate");
    admin.close().await;
    let key = idem();
    let started = Instant::now();
    loop {
        match bounded("OpenCase", cases.open_case(open_case_request(&key))).await {
            Ok(r) => {
                acknowledged.insert(r.into_inner().case.expect("case").id);
                break;
            }
            Err(s) => {
                assert_eq!(s.code(), tonic::Code::Unavailable, "a terminated connection: {s:?}");
                assert!(s.message().contains("database"), "the message names the database: {s:?}");
                assert!(started.elapsed() < Duration::from_secs(5), "recovered within 5 s: {s:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    println!("{} backends terminated: writes worked again after {:?}", terminated.len(), started.elapsed());

    proxy.kill().await;
    let limit = Duration::from_secs(CONNECT_TIMEOUT_SECS) + Duration::from_millis(1500);
    let key = idem();
    let started = Instant::now();
    let write = bounded("OpenCase", cases.open_case(open_case_request(&key))).await;
    let write_took = started.elapsed();
    let status = write.expect_err("a write fails while the database is unreachable");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("database is unreachable"), "the message names the database: {status:?}");
    assert!(write_took < limit, "the write failed after {write_took:?}, within the connect timeout (+ margin)");
    let started = Instant::now();
    let read = bounded(
        "ListReferrals",
        ReferralServiceClient::new(channel.clone()).list_referrals(ListReferralsRequest::default()),
    )
    .await;
    let read_took = started.elapsed();
    let status = read.expect_err("a read fails while the database is unreachable");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(read_took < limit, "the read failed after {read_took:?}");
    println!("while unreachable: write failed after {write_took:?}, read after {read_took:?}");
    await_health(&channel, "", ServingStatus::NotServing, Duration::from_secs(10)).await;

    let _proxy = PgProxy::start(proxy.port).await;
    let healed = await_health(&channel, "", ServingStatus::Serving, Duration::from_secs(15)).await;
    println!("health SERVING again {healed:?} after the database came back");
    let retried =
        bounded("OpenCase (retry)", cases.open_case(open_case_request(&key))).await.expect("the retry succeeds");
    acknowledged.insert(retried.into_inner().case.expect("case").id);
    assert_readable(&mut cases, &acknowledged).await;
    drop(hub);
}

/// Email settings of a replica sending through `sink_port`, with the link key `key`.
fn email_env(sink_port: &str, key: &Path, config: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HUB_EMAIL_ENABLED", "true".to_owned()),
        ("HUB_SMTP_HOST", "127.0.0.1".to_owned()),
        ("HUB_SMTP_PORT", sink_port.to_owned()),
        ("HUB_SMTP_SECURITY", "plain".to_owned()),
        ("HUB_SMTP_FROM", "Wohnungserhalt Hub <hub@hub.example>".to_owned()),
        ("HUB_WEB_LISTEN", "127.0.0.1:0".to_owned()),
        ("HUB_EMAIL_KEY_FILE", key.to_str().expect("UTF-8").to_owned()),
        ("HUB_CONFIG", config.to_str().expect("UTF-8").to_owned()),
    ]
}

fn as_env<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mail_leased_by_a_killed_replica_goes_out_through_another_within_the_lease() {
    const LEASE_SECS: u64 = 4;
    let Some(server) = hub_testkit::postgres_for_test("the mail lease test") else { return };
    let bin = hub_binary();
    // A's relay takes a minute per message: A claims the mail and is still sending when it is killed.
    let slow = mailsink::MailSink::start(mailsink::SinkOptions {
        delay: Some(Duration::from_secs(60)),
        ..mailsink::SinkOptions::default()
    })
    .await
    .expect("slow SMTP sink");
    let fast = mailsink::MailSink::start(mailsink::SinkOptions::default()).await.expect("SMTP sink");
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let database_url = hub::store::postgres::create_database(&server, &name).await.expect("create the test database");
    let root = tempfile::tempdir().expect("temp dir");
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    run_hub(&bin, &["pki", "init", "--data-dir", dir_a.to_str().expect("UTF-8")], &[]);
    hub_testkit::copy_dir(&dir_a.join("pki"), &dir_b.join("pki")).expect("copy the PKI");
    let keys = hub::vault::Keyring::generate().expect("master keys");
    for dir in [&dir_a, &dir_b] {
        std::fs::create_dir_all(dir.join("keys")).expect("keys dir");
        keys.write(&dir.join("keys").join("master.keys")).expect("write master keys");
    }
    run_hub(&bin, &["migrate", "--data-dir", dir_a.to_str().expect("UTF-8"), "--database-url", &database_url], &[]);
    let config = root.path().join("hub.toml");
    std::fs::write(&config, format!("[email]\nlease_secs = {LEASE_SECS}\npoll_secs = 1\n")).expect("config");
    let key = root.path().join("email.key");
    let env_a = email_env(&slow.port().to_string(), &key, &config);
    let mut a = Replica::start_with("A", &bin, &dir_a, &database_url, &as_env(&env_a));

    let (ca, operator, fachstelle) = identities(&dir_a);
    register_network(a.channel(&ca, &operator).await, |spec| {
        if spec.id == orgs::SCHULDNERBERATUNG {
            spec.channel = hub_proto::v1::Channel::Email as i32;
            spec.channel_address = "postfach@schuldnerberatung.example".to_owned();
        }
    })
    .await;
    let on_a = a.channel(&ca, &fachstelle).await;
    let case = case_with_consent(on_a.clone(), orgs::SCHULDNERBERATUNG, &[DataCategory::Identity]).await;
    bounded(
        "CreateReferral",
        ReferralServiceClient::new(on_a).create_referral(CreateReferralRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            recipient_organisation_id: orgs::SCHULDNERBERATUNG.to_owned(),
            category: ReferralCategory::DebtCounselling as i32,
            data_categories: vec![DataCategory::Identity as i32],
            message: "Bitte um Termin (synthetisch)".to_owned(),
            reply_by: date_in_days(14),
            confirm_duplicate: false,
            confirm_closed_capacity: false,
        }),
    )
    .await
    .expect("CreateReferral");

    // A holds the mail (leased, its relay still busy with it) for longer than one lease: renewed.
    let pool = sqlx::PgPool::connect(&database_url).await.expect("connect to the test database");
    let leased = || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT lease_owner FROM outbox WHERE status = 'PENDING'")
            .fetch_all(&pool)
            .await
            .expect("read the outbox")
    };
    let deadline = Instant::now() + CALL_TIMEOUT;
    while !leased().await.iter().any(Option::is_some) {
        assert!(Instant::now() < deadline, "A claimed the mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 2)).await;
    assert!(leased().await.iter().all(Option::is_some), "A renews its lease while it is still sending");

    a.kill();
    let killed = Instant::now();
    let env_b = email_env(&fast.port().to_string(), &key, &config);
    let b = Replica::start_with("B", &bin, &dir_b, &database_url, &as_env(&env_b));
    let mails = fast.wait_for(1, Duration::from_secs(LEASE_SECS + 15)).await.expect("B sends the mail");
    let waited = killed.elapsed();
    println!("mail out through B {waited:?} after A was killed (lease {LEASE_SECS} s)");
    assert_eq!(mails.len(), 1);
    assert!(
        waited < Duration::from_secs(LEASE_SECS + 4),
        "the mail waited {waited:?}: at most the lease ({LEASE_SECS} s), B's poll (1 s) and B's start-up"
    );
    pool.close().await;
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_health_follows_the_relay_down_and_up() {
    let mut sink = mailsink::MailSink::start(mailsink::SinkOptions::default()).await.expect("SMTP sink");
    let port = sink.port();
    let bin = hub_binary();
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("hub-data");
    let database_url = prepare_sqlite(&bin, &data);
    let config = root.path().join("hub.toml");
    std::fs::write(&config, "").expect("config");
    let mut env = email_env(&port.to_string(), &root.path().join("email.key"), &config);
    env.push(("HUB_HEALTH_SMTP_CHECK_SECS", "1".to_owned()));
    let hub = Replica::start_with("the hub", &bin, &data, &database_url, &as_env(&env));
    let (ca, operator, _) = identities(&data);
    let channel = hub.channel(&ca, &operator).await;
    let email = "wohnungserhalt.hub.v1.Email";
    await_health(&channel, email, ServingStatus::Serving, Duration::from_secs(10)).await;
    sink.stop().await;
    let down = await_health(&channel, email, ServingStatus::NotServing, Duration::from_secs(10)).await;
    assert_eq!(health(channel.clone(), "").await, ServingStatus::Serving, "the hub itself stays ready");
    let _sink = mailsink::MailSink::start_on(port, mailsink::SinkOptions::default()).await.expect("SMTP sink again");
    let up = await_health(&channel, email, ServingStatus::Serving, Duration::from_secs(10)).await;
    println!("email health: NOT_SERVING {down:?} after the relay stopped, SERVING {up:?} after it returned");
}
