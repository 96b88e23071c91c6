//! Running the real `hub` binary as a process in tests (shared by the migration, replica and crash
//! recovery tests): building it, one-shot commands, and `hub serve` processes that can be killed.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use hub::domain::ids::OrgId;
use hub::pki::PemPair;
use hub_proto::v1::case_service_client::CaseServiceClient;
use hub_proto::v1::consent_service_client::ConsentServiceClient;
use hub_proto::v1::directory_service_client::DirectoryServiceClient;
use hub_proto::v1::referral_service_client::ReferralServiceClient;
use hub_proto::v1::*;
use hub_testkit::{frau_k_details, idem, orgs};
use tonic::transport::Channel;

/// Bound of every single call and every wait for an event or a process.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `hub serve` may take to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the `hub` binary (with the rest of the workspace, see [`workspace_binary`]) and returns its path.
pub fn hub_binary() -> PathBuf {
    workspace_binary("hub")
}

/// Builds `hubctl` (with the rest of the workspace) and returns its path.
pub fn hubctl_binary() -> PathBuf {
    workspace_binary("hubctl")
}

/// Builds the workspace's binaries and returns the path of `name`'s. Cargo gives `CARGO_BIN_EXE_*` only
/// to the package that owns a binary, so tests in this crate build it, with `cargo build --workspace
/// --all-targets`: resolved exactly like `cargo test --workspace` (dependencies' features included), so
/// under the test command it only links the binaries from the test build's artefacts. A narrower build
/// (`-p hub`, or `--bins` without the dev-dependencies' features) resolved features on its own and compiled
/// over a hundred dependencies, the bundled SQLite among them, a second time. Run alone (one story), the
/// first call builds every test target of the workspace once; the build runs once per test run.
fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    BUILT.call_once(|| build_workspace(&workspace));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    let bin = target.join("debug").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// `cargo build --workspace --all-targets` in `workspace`; panics (test failure) when it fails.
fn build_workspace(workspace: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args(["build", "--workspace", "--all-targets"]).current_dir(workspace);
    // Cargo sets these for the test process; build scripts (ring's) watch some of them, so passing
    // them on would make every build rebuild ring and this crate's own next build rebuild it back.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let per_crate = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_CFG_"];
        if per_crate.iter().any(|p| k.starts_with(p))
            || matches!(
                k.as_str(),
                "OUT_DIR" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            build.env_remove(k);
        }
    }
    let status = build.status().unwrap_or_else(|e| panic!("running cargo build --workspace --all-targets: {e}"));
    assert!(status.success(), "cargo build --workspace --all-targets failed");
}

/// `hub ARGS` with a clean `HUB_*` environment (nothing of the caller's configuration leaks in).
pub fn hub_command(bin: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HUB_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HUB_LOG", "warn");
    // Several hubs run at once in the tests: each dashboard on a port of its own.
    cmd.env("HUB_DASHBOARD_LISTEN", "127.0.0.1:0");
    cmd
}

/// Runs `hub ARGS` to completion and returns its stdout; panics with its stderr on failure.
pub fn run_hub(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = hub_command(bin, args);
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap_or_else(|e| panic!("running hub {args:?}: {e}"));
    assert!(out.status.success(), "hub {args:?}: {}; stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `hub serve` on a free loopback port on `data_dir` and `database_url` (migrated beforehand), with `env`.
pub fn serve_command(bin: &Path, data_dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Command {
    let data = data_dir.to_str().expect("UTF-8 temp path");
    let mut cmd = hub_command(bin, &["serve", "--data-dir", data, "--listen", "127.0.0.1:0"]);
    cmd.env("HUB_DATABASE_URL", database_url).env("HUB_AUTO_MIGRATE", "false").envs(env.iter().copied());
    cmd
}

/// What a start-up line of `hub serve` says: the text after `hub: `, or a JSON log line's message.
pub fn said(line: &str) -> Option<String> {
    if let Some(text) = line.strip_prefix("hub: ") {
        return Some(text.to_owned());
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v["fields"]["message"].as_str().map(str::to_owned)
}

/// A running `hub serve` process; killed (SIGKILL) and reaped on drop, also when the test panics.
pub struct Replica {
    name: &'static str,
    child: Option<Child>,
    /// The gRPC port it listens on.
    pub port: u16,
    /// Its stderr so far, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// Starts `hub serve` on a free loopback port and waits until it listens.
    pub fn start(name: &'static str, bin: &Path, data_dir: &Path, database_url: &str) -> Self {
        Self::start_with(name, bin, data_dir, database_url, &[])
    }

    /// Starts `hub serve` with extra environment variables.
    pub fn start_with(
        name: &'static str,
        bin: &Path,
        data_dir: &Path,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn(name, serve_command(bin, data_dir, database_url, env))
    }

    /// Starts `cmd` (a `hub serve`, see [`serve_command`], perhaps wrapped, e.g. by `prlimit`) and waits
    /// until it listens.
    pub fn spawn(name: &'static str, mut cmd: Command) -> Self {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn hub serve ({name}): {e}"));
        let mut replica = Self { name, child: Some(child), port: 0, log: Arc::default() };
        let stderr = replica.child.as_mut().and_then(|c| c.stderr.take()).expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        let log = replica.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().expect("log").push(line.clone());
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                // "hub: listening on 127.0.0.1:PORT (database ...)", or that message in a JSON log line.
                Ok(line) if said(&line).is_some_and(|m| m.starts_with("listening on")) => {
                    let addr = line.split("listening on ").nth(1).and_then(|r| r.split_whitespace().next());
                    let addr: std::net::SocketAddr =
                        addr.and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"));
                    replica.port = addr.port();
                    return replica;
                }
                Ok(_) => {}
                Err(_) => panic!("replica {name} did not start listening; stderr: {:#?}", replica.log()),
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("the replica runs")
    }

    /// Its stderr lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// SIGKILL, no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap_or_else(|e| panic!("kill -9 {}: {e}", self.name));
            let _ = c.wait();
        }
    }

    /// An mTLS channel to it, verifying the hub as `localhost` against `ca`, presenting `identity`.
    pub async fn channel(&self, ca: &PemPair, identity: &PemPair) -> Channel {
        let url = format!("https://127.0.0.1:{}", self.port);
        hub::client::connect(&url, "localhost", &ca.cert, Some((identity.cert.as_str(), identity.key.as_str())))
            .await
            .unwrap_or_else(|e| panic!("mTLS channel to {}: {e:#}", self.name))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A client certificate of the organisation `id` from `ca`.
pub fn org_cert(ca: &PemPair, id: &str) -> PemPair {
    hub::pki::org_cert(ca, &OrgId::parse(id).expect("org id")).expect("org certificate")
}

/// Today plus `days` by the system clock, as the hub in its process counts days.
pub fn date_in_days(days: i64) -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    let now = hub::domain::time::Instant::from_millis(i64::try_from(ms).expect("millis"));
    now.day().plus_days(days).to_string()
}

/// Awaits `f`, at most `CALL_TIMEOUT`; panics naming `what` when it takes longer.
pub async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL_TIMEOUT, f).await.unwrap_or_else(|_| panic!("{what}: no answer within {CALL_TIMEOUT:?}"))
}

/// A referral of the Frau K. case (`case_id`) to the Jobcenter: rent-debt takeover, identity and arrears.
pub fn referral_request(case_id: &str) -> CreateReferralRequest {
    CreateReferralRequest {
        idempotency_key: idem(),
        case_id: case_id.to_owned(),
        recipient_organisation_id: orgs::JOBCENTER.to_owned(),
        category: ReferralCategory::RentDebtTakeoverSgb2 as i32,
        data_categories: vec![DataCategory::Identity as i32, DataCategory::Arrears as i32],
        message: "Bitte um Pruefung (synthetischer Testfall)".to_owned(),
        reply_by: date_in_days(14),
        confirm_duplicate: true,
        confirm_closed_capacity: false,
    }
}

/// Registers the standard network through `channel` (operator), each spec passed through `adjust`.
pub async fn register_network(channel: Channel, adjust: impl Fn(&mut OrganisationSpec)) {
    let mut directory = DirectoryServiceClient::new(channel);
    for mut spec in hub::network::standard_network() {
        adjust(&mut spec);
        bounded(
            "RegisterOrganisation",
            directory.register_organisation(RegisterOrganisationRequest {
                idempotency_key: idem(),
                organisation: Some(spec),
            }),
        )
        .await
        .expect("RegisterOrganisation");
    }
}

/// Opens the Frau K. case as the Fachstelle and records a consent to disclose `categories` to `recipient`.
pub async fn case_with_consent(fachstelle: Channel, recipient: &str, categories: &[DataCategory]) -> Case {
    let case = bounded(
        "OpenCase",
        CaseServiceClient::new(fachstelle.clone()).open_case(OpenCaseRequest {
            idempotency_key: idem(),
            details: Some(frau_k_details()),
            initial_stage: None,
        }),
    )
    .await
    .expect("OpenCase")
    .into_inner()
    .case
    .expect("case");
    let person = case.details.as_ref().and_then(|d| d.persons.first()).expect("a person").person_id.clone();
    bounded(
        "RecordConsent",
        ConsentServiceClient::new(fachstelle).record_consent(RecordConsentRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            person_ids: vec![person],
            recipient_organisation_ids: vec![recipient.to_owned()],
            categories: categories.iter().map(|c| *c as i32).collect(),
            purpose: ConsentPurpose::Wohnungssicherung as i32,
            form: ConsentForm::Written as i32,
            evidence_reference: "EW-2026-0001 (synthetisch)".to_owned(),
            valid_until: date_in_days(170),
            art9_explicit: false,
            secrecy_release: true,
            replaces_consent_id: String::new(),
        }),
    )
    .await
    .expect("RecordConsent");
    case
}

/// Sustained concurrent writes for a kill -9 test: one task per client adds notes to one referral
/// until `write_for` has passed, collecting the ids of the notes the hub acknowledged. A call that
/// fails or hangs fails the test, unless [`NoteWriters::killing`] was called: then it ends its writer.
pub struct NoteWriters {
    acked: Arc<Mutex<Vec<String>>>,
    killed: Arc<AtomicBool>,
    tasks: tokio::task::JoinSet<()>,
}

impl NoteWriters {
    /// Starts one writer per client (`via` names the hub in failure messages).
    pub fn spawn(
        via: &'static str,
        clients: Vec<ReferralServiceClient<Channel>>,
        referral_id: &str,
        write_for: Duration,
    ) -> Self {
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let killed = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for (w, mut client) in clients.into_iter().enumerate() {
            let (acked, killed, referral_id) = (acked.clone(), killed.clone(), referral_id.to_owned());
            tasks.spawn(async move {
                let mut n = 0u32;
                while started.elapsed() < write_for {
                    let call = client.add_note(AddNoteRequest {
                        idempotency_key: idem(),
                        referral_id: referral_id.clone(),
                        text: format!("Notiz {w}-{n} (synthetisch)"),
                    });
                    match tokio::time::timeout(CALL_TIMEOUT, call).await {
                        Ok(Ok(r)) => acked.lock().expect("acked").push(r.into_inner().note.expect("note").id),
                        // After the kill, calls fail (connection reset or refused): this writer is done.
                        Ok(Err(_)) | Err(_) if killed.load(Ordering::SeqCst) => return,
                        Ok(Err(s)) => panic!("AddNote {w}-{n} through {via} failed before the kill: {s:?}"),
                        Err(_) => panic!("AddNote {w}-{n} through {via} hung before the kill"),
                    }
                    n += 1;
                }
            });
        }
        Self { acked, killed, tasks }
    }

    /// How many notes were acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.acked.lock().expect("acked").len()
    }

    /// Call right before killing the hub: failing calls end their writer from now on.
    pub fn killing(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }

    /// Waits for every writer to stop and returns the ids of all acknowledged notes.
    pub async fn join(mut self) -> BTreeSet<String> {
        while let Some(done) = bounded("the writers to stop", self.tasks.join_next()).await {
            done.expect("writer task");
        }
        self.acked.lock().expect("acked").iter().cloned().collect()
    }
}

/// A fresh database with one PKI (`hub pki init`) copied into the data directories of A and B, and
/// the schema applied with `hub migrate`. Returns (database URL, temp root, dir A, dir B).
pub async fn prepare_pg_pair(
    bin: &Path,
    server: &str,
) -> (String, tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let database_url = hub::store::postgres::create_database(server, &name).await.expect("create the test database");
    let root = tempfile::tempdir().expect("temp dir");
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    run_hub(bin, &["pki", "init", "--data-dir", dir_a.to_str().expect("UTF-8 temp path")], &[]);
    hub_testkit::copy_dir(&dir_a.join("pki"), &dir_b.join("pki")).expect("copy the PKI");
    // One set of master keys for both, copied before the first start like the PKI (README, Deployment).
    let keys = hub::vault::Keyring::generate().expect("master keys");
    for dir in [&dir_a, &dir_b] {
        std::fs::create_dir_all(dir.join("keys")).expect("keys dir");
        keys.write(&dir.join("keys").join("master.keys")).expect("write master keys");
    }
    let migrated =
        run_hub(bin, &["migrate", "--data-dir", dir_a.to_str().expect("UTF-8"), "--database-url", &database_url], &[]);
    assert!(migrated.contains("applied 0001 core"), "hub migrate applied the schema: {migrated}");
    (database_url, root, dir_a, dir_b)
}

/// `hub pki init` and `hub migrate` on a fresh SQLite data directory; returns its database URL.
pub fn prepare_sqlite(bin: &Path, dir: &Path) -> String {
    let d = dir.to_str().expect("UTF-8 temp path");
    run_hub(bin, &["pki", "init", "--data-dir", d], &[]);
    let url = format!("sqlite://{d}/hub.db");
    run_hub(bin, &["migrate", "--data-dir", d, "--database-url", &url], &[]);
    url
}
