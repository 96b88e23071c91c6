//! An in-process hub for tests and the demo: fresh data directory, fresh database, fresh PKI, served
//! on 127.0.0.1 port 0 over real mutual TLS, with a clock the caller controls.
//!
//! The database is SQLite in the data directory, or, when the environment variable
//! `HUB_TEST_POSTGRES_URL` names a PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432/postgres`),
//! a fresh database `hub_test_<uuid>` created there for each hub (dropped by `scripts/test-all.sh`).

pub mod demo;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hub_proto::v1 as pb;
use tokio::sync::oneshot;
use tonic::transport::Channel;

use hub::clock::{Clock, ManualClock};
use hub::config::Config;
use hub::domain::ids::OrgId;
use hub::domain::time::{Day, Instant};
use hub::pki::{self, PemPair, PkiDir};
use hub::server::Server;
use hub::service::Hub;

pub use hub::network::{frau_k_details, orgs};

/// 2026-01-09T09:00:00Z, the day of the Frau K. referral.
const START_MS: i64 = 1_767_949_200_000;

/// A running in-process hub.
pub struct TestHub {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    /// `None`: SQLite in the data directory.
    database_url: Option<String>,
    ca: PemPair,
    clock: Option<ManualClock>,
    shared_clock: Arc<dyn Clock>,
    hub: Hub,
    /// The email channel's settings, when enabled (kept for restarts and replicas).
    email: Option<hub::email::EmailConfig>,
    dispatcher: Option<hub::email::dispatch::Dispatcher>,
    web_addr: Option<SocketAddr>,
    dashboard_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// What [`TestHub::serve`] returns: the running server's parts.
struct Served {
    addr: SocketAddr,
    hub: Hub,
    dispatcher: Option<hub::email::dispatch::Dispatcher>,
    web_addr: Option<SocketAddr>,
    dashboard_addr: Option<SocketAddr>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Where a test hub listens: free ports on 127.0.0.1, unless `hub-demo --serve` is told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// The gRPC port.
    pub grpc: SocketAddr,
    /// The dashboard.
    pub dashboard: SocketAddr,
}

impl Default for Listen {
    fn default() -> Self {
        let free = SocketAddr::from(([127, 0, 0, 1], 0));
        Self { grpc: free, dashboard: free }
    }
}

impl TestHub {
    /// Starts a hub with a manual clock at 2026-01-09 09:00 UTC and the standard network registered.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_at(Instant::from_millis(START_MS)).await
    }

    /// Starts a hub with a manual clock at `start` and the standard network registered.
    pub async fn start_at(start: Instant) -> anyhow::Result<Self> {
        Self::start_at_on(start, Listen::default()).await
    }

    /// Starts a hub with a manual clock at `start`, listening where `listen` says.
    pub async fn start_at_on(start: Instant, listen: Listen) -> anyhow::Result<Self> {
        let clock = ManualClock::new(start);
        let mut th = Self::start_inner(Arc::new(clock.clone()), None, listen).await?;
        th.clock = Some(clock);
        Ok(th)
    }

    /// Starts a hub with the email channel enabled as `email` says (the page on a free port), a
    /// manual clock at 2026-01-09 09:00 UTC and the standard network registered.
    pub async fn start_with_email(email: hub::email::EmailConfig) -> anyhow::Result<Self> {
        let clock = ManualClock::new(Instant::from_millis(START_MS));
        let mut th = Self::start_inner(Arc::new(clock.clone()), Some(email), Listen::default()).await?;
        th.clock = Some(clock);
        Ok(th)
    }

    /// Starts a hub with the given clock and the standard network registered.
    pub async fn start_with(clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::start_inner(clock, None, Listen::default()).await
    }

    async fn start_inner(
        clock: Arc<dyn Clock>,
        email: Option<hub::email::EmailConfig>,
        listen: Listen,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let pki_dir = PkiDir::in_data_dir(dir.path());
        pki::init(&pki_dir, &["localhost".to_owned(), "127.0.0.1".to_owned()], false)?;
        let ca = pki::load_ca(&pki_dir)?;
        let database_url = match std::env::var("HUB_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty()) {
            Some(server) => {
                let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
                Some(
                    hub::store::postgres::create_database(server.trim(), &name)
                        .await
                        .map_err(|e| anyhow::anyhow!("creating test database {name} (HUB_TEST_POSTGRES_URL): {e}"))?,
                )
            }
            None => None,
        };
        let served = Self::serve(dir.path(), database_url.as_deref(), clock.clone(), email.as_ref(), listen).await?;
        let th = Self {
            addr: served.addr,
            dir,
            database_url,
            ca,
            clock: None,
            shared_clock: clock,
            hub: served.hub,
            email,
            dispatcher: served.dispatcher,
            web_addr: served.web_addr,
            dashboard_addr: served.dashboard_addr,
            shutdown: Some(served.shutdown),
            task: Some(served.task),
        };
        th.register_standard_network().await?;
        Ok(th)
    }

    /// Starts a second server (a replica) on the same database and PKI as `other`, with the same
    /// clock: its own data directory holding a copy of `other`'s `pki/`, its own address. On SQLite
    /// both open the same database file.
    pub async fn start_replica_of(other: &TestHub) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        copy_dir(&other.dir.path().join("pki"), &dir.path().join("pki"))?;
        let database_url =
            Some(other.database_url.clone().unwrap_or_else(|| {
                Config { data_dir: other.dir.path().to_owned(), ..Config::default() }.database_url()
            }));
        // Replicas share the audit seal key and the master keys, like the PKI (a seal of either
        // verifies with one key; a case sealed by either opens on both).
        for file in ["audit-seal.key", "master.keys"] {
            let from = other.dir.path().join("keys").join(file);
            if from.exists() {
                let to = dir.path().join("keys").join(file);
                std::fs::create_dir_all(dir.path().join("keys"))?;
                std::fs::copy(&from, to)?;
            }
        }
        if let (Some(email), Some(from)) = (&other.email, &other.email_key_file()) {
            let to = email.key_file(dir.path());
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(from, to)?;
        }
        let served = Self::serve(
            dir.path(),
            database_url.as_deref(),
            other.shared_clock.clone(),
            other.email.as_ref(),
            Listen::default(),
        )
        .await?;
        Ok(Self {
            addr: served.addr,
            dir,
            database_url,
            ca: other.ca.clone(),
            clock: other.clock.clone(),
            shared_clock: other.shared_clock.clone(),
            hub: served.hub,
            email: other.email.clone(),
            dispatcher: served.dispatcher,
            web_addr: served.web_addr,
            dashboard_addr: served.dashboard_addr,
            shutdown: Some(served.shutdown),
            task: Some(served.task),
        })
    }

    /// The URL of the hub's database (`sqlite://<data dir>/hub.db` or the PostgreSQL test database),
    /// for tests that look at (or tamper with) the tables directly.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| Config { data_dir: self.dir.path().to_owned(), ..Config::default() }.database_url())
    }

    /// The backend in use: `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match &self.database_url {
            Some(u) if u.starts_with("postgres") => "postgres",
            _ => "sqlite",
        }
    }

    async fn serve(
        dir: &Path,
        database_url: Option<&str>,
        clock: Arc<dyn Clock>,
        email: Option<&hub::email::EmailConfig>,
        listen: Listen,
    ) -> anyhow::Result<Served> {
        let mut config =
            Config { data_dir: dir.to_owned(), database_url: database_url.map(str::to_owned), ..Config::default() };
        config.dashboard.listen = listen.dashboard;
        if let Some(email) = email {
            config.email = email.clone();
            config.email.enabled = true;
            config.email.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            config.email.web.public_url = None;
        }
        let server = Server::build(&config, clock).await?;
        let hub = server.hub().clone();
        let dispatcher = server.dispatcher();
        let web_addr = server.web_addr();
        let dashboard_addr = server.dashboard_addr();
        let listener = tokio::net::TcpListener::bind(listen.grpc)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {} for gRPC: {e}", listen.grpc))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = rx.await;
        }));
        Ok(Served { addr, hub, dispatcher, web_addr, dashboard_addr, shutdown: tx, task })
    }

    fn email_key_file(&self) -> Option<std::path::PathBuf> {
        self.email.as_ref().map(|e| e.key_file(self.dir.path()))
    }

    /// Drives the mail dispatcher until nothing is due (the email channel must be enabled).
    pub async fn deliver_mail(&self) -> anyhow::Result<hub::email::dispatch::Round> {
        let d = self.dispatcher.as_ref().ok_or_else(|| anyhow::anyhow!("the email channel is not enabled"))?;
        d.run_until_idle().await.map_err(|e| anyhow::anyhow!("dispatching mail: {e}"))
    }

    /// The dashboard's address (`https://localhost:PORT`; the certificate is the hub's own).
    pub fn dashboard_addr(&self) -> SocketAddr {
        self.dashboard_addr.expect("the test hub always serves the dashboard")
    }

    /// Creates a dashboard account for staff of `org` (as the operator would with `hub staff add`).
    pub async fn add_staff(&self, org: &str, username: &str, name: &str, password: &str) -> anyhow::Result<()> {
        self.add_account(org, username, name, password, false).await
    }

    /// Creates the first administrator of `org` (as the operator would with `hub staff add --admin`).
    pub async fn add_org_admin(&self, org: &str, username: &str, name: &str, password: &str) -> anyhow::Result<()> {
        self.add_account(org, username, name, password, true).await
    }

    async fn add_account(&self, org: &str, username: &str, name: &str, pw: &str, admin: bool) -> anyhow::Result<()> {
        let new = hub::service::staff::NewStaff {
            username: username.to_owned(),
            display_name: name.to_owned(),
            org: org.to_owned(),
            password: pw.to_owned(),
            admin,
        };
        self.hub.add_staff(&hub::service::staff::AccountAdmin::Operator, new).await?;
        Ok(())
    }

    /// The partner page's address (the email channel must be enabled).
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// Stops the server and starts a new one on the same data directory and database (a restart):
    /// the address changes, channels must be opened again.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let served = Self::serve(
            self.dir.path(),
            self.database_url.as_deref(),
            self.shared_clock.clone(),
            self.email.as_ref(),
            Listen::default(),
        )
        .await?;
        self.addr = served.addr;
        self.hub = served.hub;
        self.dispatcher = served.dispatcher;
        self.web_addr = served.web_addr;
        self.dashboard_addr = served.dashboard_addr;
        self.shutdown = Some(served.shutdown);
        self.task = Some(served.task);
        Ok(())
    }

    async fn register_standard_network(&self) -> anyhow::Result<()> {
        let mut dir = pb::directory_service_client::DirectoryServiceClient::new(self.operator_channel().await?);
        for spec in hub::network::standard_network() {
            dir.register_organisation(pb::RegisterOrganisationRequest {
                idempotency_key: idem(),
                organisation: Some(spec),
            })
            .await?;
        }
        Ok(())
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data directory (contains `pki/`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA certificate.
    pub fn ca_pem(&self) -> String {
        self.ca.cert.clone()
    }

    /// The hub itself, for tests that look below the API.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The hub's store, for tests that check stored rows directly (the hub's edges never do).
    pub fn store(&self) -> &std::sync::Arc<dyn hub::store::Store> {
        self.hub.store()
    }

    async fn connect(&self, identity: Option<&PemPair>) -> anyhow::Result<Channel> {
        let url = format!("https://127.0.0.1:{}", self.addr.port());
        hub::client::connect(&url, "localhost", &self.ca.cert, identity.map(|p| (p.cert.as_str(), p.key.as_str())))
            .await
    }

    /// A channel authenticated as `org_id` (registered or not).
    pub async fn channel(&self, org_id: &str) -> anyhow::Result<Channel> {
        let pair = pki::org_cert(&self.ca, &OrgId::parse(org_id).map_err(|e| anyhow::anyhow!("{e}"))?)?;
        self.connect(Some(&pair)).await
    }

    /// A channel authenticated as the operator.
    pub async fn operator_channel(&self) -> anyhow::Result<Channel> {
        let pair = pki::operator_cert(&self.ca)?;
        self.connect(Some(&pair)).await
    }

    /// A TLS channel that presents no client certificate.
    pub async fn channel_without_cert(&self) -> anyhow::Result<Channel> {
        self.connect(None).await
    }

    /// A channel presenting a certificate for `org_id` from a foreign CA.
    pub async fn channel_from_foreign_ca(&self, org_id: &str) -> anyhow::Result<Channel> {
        let foreign = pki::new_ca("Foreign CA")?;
        let pair = pki::org_cert(&foreign, &OrgId::parse(org_id).map_err(|e| anyhow::anyhow!("{e}"))?)?;
        self.connect(Some(&pair)).await
    }

    fn manual(&self) -> &ManualClock {
        self.clock.as_ref().expect("TestHub::start() uses a manual clock")
    }

    /// Today by the hub's clock.
    pub fn today(&self) -> String {
        self.hub.clock_today().to_string()
    }

    /// Today plus `days`.
    pub fn date_in_days(&self, days: i64) -> String {
        self.hub.clock_today().plus_days(days).to_string()
    }

    /// Today by the hub's clock, typed.
    pub fn today_day(&self) -> Day {
        self.hub.clock_today()
    }

    /// Moves the manual clock forward.
    pub fn advance_days(&self, days: i64) {
        self.manual().advance_millis(days * 86_400_000);
    }

    /// Moves the manual clock forward by minutes (session expiry, lockouts).
    pub fn advance_minutes(&self, minutes: i64) {
        self.manual().advance_millis(minutes * 60_000);
    }

    /// Moves the manual clock forward to 09:00 UTC of `day` (never backwards).
    pub fn advance_to(&self, day: Day) {
        let now = self.hub.clock_now().millis();
        let target = (day.date().midnight().assume_utc().unix_timestamp() + 9 * 3600) * 1000;
        if target > now {
            self.manual().advance_millis(target - now);
        }
    }

    /// Runs the scheduled work now.
    pub async fn run_scheduled(&self) -> anyhow::Result<()> {
        self.hub.run_scheduled().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A request with `x-staff-member` set.
pub fn with_staff<T>(msg: T, staff: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = staff.parse() {
        r.metadata_mut().insert(hub::grpc::identity::STAFF_HEADER, v);
    }
    r
}

/// A fresh idempotency key.
pub fn idem() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Copies a folder recursively (a replica's copy of the PKI).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The PostgreSQL server a PostgreSQL-only test runs against (`HUB_TEST_POSTGRES_URL`), or `None`
/// to skip it. Without the URL the test is skipped with a message, except under CI (`CI` set),
/// where it fails, so it never passes silently there. `HUB_TEST_POSTGRES_SKIP=1` skips even under
/// CI: `scripts/test-all.sh` sets it for its SQLite step because its PostgreSQL step runs these tests.
pub fn postgres_for_test(what: &str) -> Option<String> {
    let skip = std::env::var("HUB_TEST_POSTGRES_SKIP").is_ok_and(|v| v == "1");
    match std::env::var("HUB_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty()) {
        Some(url) => Some(url.trim().to_owned()),
        None if skip => {
            println!("skipped: {what} needs PostgreSQL (HUB_TEST_POSTGRES_SKIP=1; the PostgreSQL step runs it)");
            None
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("HUB_TEST_POSTGRES_URL is not set, and CI is: {what} must run on PostgreSQL under CI")
        }
        None => {
            println!(
                "skipped: {what} needs PostgreSQL; set HUB_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
            );
            None
        }
    }
}
