//! Building and running the hub: a server built from parts, taking its listener and shutdown
//! future from the caller, so tests bind port 0 and stop it when they are done.

mod certs;
pub mod health;
mod listen;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use email_adapter::listen::{Limits, accept_tls};
use hub_proto::v1 as pb;
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;

use email_adapter::sink::SmtpSink;
use email_adapter::token::LinkKey;

use crate::clock::Clock;
use crate::config::Config;
use crate::email::desk::HubDesk;
use crate::email::dispatch::Dispatcher;
use crate::grpc::identity::identify;
use crate::grpc::services::Api;
use crate::pki::PkiDir;
use crate::service::Hub;
use crate::store::{MigrationMode, Store};
use crate::telemetry::request::ObserveLayer;
use health::Health;

/// A hub ready to serve.
pub struct Server {
    hub: Hub,
    tls: Arc<rustls::ServerConfig>,
    max_message_bytes: usize,
    scheduler_interval: Duration,
    health: Health,
    limits: Limits,
    http2_keepalive: Duration,
    store_probe: Duration,
    smtp_check: Duration,
    email: Option<EmailParts>,
    dashboard: Option<DashboardParts>,
    metrics: Option<crate::telemetry::MetricsListener>,
    pki: PkiDir,
    server_cert: Arc<certs::ServerCert>,
}

/// The dashboard, bound and ready to serve.
struct DashboardParts {
    listener: TcpListener,
    addr: std::net::SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    router: axum::Router,
}

/// The email channel of a server: the dispatcher and the partner page, ready to run.
struct EmailParts {
    dispatcher: Dispatcher,
    sink: Arc<SmtpSink>,
    background: bool,
    web: TcpListener,
    web_addr: std::net::SocketAddr,
    web_tls: Arc<rustls::ServerConfig>,
    router: axum::Router,
}

/// Installs rustls' ring provider as the process default (idempotent).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Opens the store named by the configuration (`sqlite://PATH`, creating the parent directory, or
/// `postgres://...`). With `auto_migrate` (the default) it applies pending migrations; without, it
/// applies none and fails, naming them, if any are pending.
/// The master keys are created on first start (see [`crate::vault`]).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    open_store_with(config, config.vault(true)?).await
}

/// Opens the store of an existing installation for a tool (`hub audit`, `hub report`, `hub keys`):
/// never migrates, and the master keys must exist already. Returns the keys with it.
pub async fn open_existing_store(config: &Config) -> anyhow::Result<(Arc<dyn Store>, Arc<crate::vault::Vault>)> {
    let url = config.database_url();
    if let Some(path) = url.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        anyhow::bail!("no database at {path} (is this the hub's data directory?)");
    }
    let mut config = config.clone();
    config.auto_migrate = false;
    let vault = config.vault(false)?;
    Ok((open_store_with(&config, vault.clone()).await?, vault))
}

async fn open_store_with(config: &Config, vault: Arc<crate::vault::Vault>) -> anyhow::Result<Arc<dyn Store>> {
    let (url, shown) = prepare_database_url(config)?;
    let mode = if config.auto_migrate { MigrationMode::Apply } else { MigrationMode::RequireCurrent };
    crate::store::open_with_timeouts(&url, mode, vault, config.store_timeouts())
        .await
        .map_err(|e| anyhow::anyhow!("opening {shown}: {e}"))
}

/// Applies the pending migrations of the configured database (`hub migrate`) and returns what it
/// applied, oldest first (empty: up to date).
pub async fn migrate_store(config: &Config) -> anyhow::Result<Vec<String>> {
    let (url, shown) = prepare_database_url(config)?;
    crate::store::migrate(&url).await.map_err(|e| anyhow::anyhow!("migrating {shown}: {e}"))
}

/// The database URL in effect, with the parent directory of a SQLite file created, and the URL as it
/// may be shown (a password masked).
fn prepare_database_url(config: &Config) -> anyhow::Result<(String, String)> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        let parent = url.strip_prefix("sqlite://").map(std::path::Path::new).and_then(|p| p.parent());
        if let Some(parent) = parent.filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    // A URL may carry a password: never put it into a message.
    let shown = match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s && url[s + 3..at].contains(':') => {
            let user = url[s + 3..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.clone(),
    };
    Ok((url, shown))
}

impl Server {
    /// Builds a server from configuration: opens (and migrates) the store, loads the TLS material.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        install_crypto();
        let pki = PkiDir::in_data_dir(&config.data_dir);
        let read = |p: std::path::PathBuf| {
            std::fs::read_to_string(&p).with_context(|| {
                format!("reading {} (run `hub pki init --data-dir {}` first)", p.display(), config.data_dir.display())
            })
        };
        let server_cert = certs::ServerCert::load(pki.server_cert(), pki.server_key())?;
        let tls = listen::grpc_tls(server_cert.clone(), &read(pki.ca_cert())?)?;
        let store = open_store(config).await?;
        // The audit seal key lives in the data directory (never in the database), created on first start.
        let seal_key = crate::audit::seal::key_file(&config.data_dir);
        let sealer = crate::audit::AuditSealer::load_or_create(&seal_key)
            .with_context(|| format!("loading the audit seal key {}", seal_key.display()))?;
        let hub = Hub::new(store, clock.clone(), config.sla.clone())
            .with_audit_sealer(sealer)
            .with_retention(config.retention.clone());
        let health = Health::new(&hub);
        // A page on the server certificate follows its rotation; one with its own pair keeps that.
        let web_tls =
            |cert: &Option<std::path::PathBuf>, key: &Option<std::path::PathBuf>, what: &str| match (cert, key) {
                (None, None) => email_adapter::web::tls_config_resolved(server_cert.clone())
                    .map_err(|e| anyhow::anyhow!("{what} certificate: {e}")),
                _ => {
                    let cert = read(cert.clone().unwrap_or_else(|| pki.server_cert()))?;
                    let key = read(key.clone().unwrap_or_else(|| pki.server_key()))?;
                    email_adapter::web::tls_config(&cert, &key).map_err(|e| anyhow::anyhow!("{what} certificate: {e}"))
                }
            };
        let email = if config.email.enabled {
            let web = &config.email.web;
            let tls = web_tls(&web.tls_cert, &web.tls_key, "partner page")?;
            Some(Self::email_parts(config, &hub, clock, tls, &health).await?)
        } else {
            tracing::info!("email channel disabled ([email] enabled = false): mails wait in the outbox");
            None
        };
        let dashboard = if config.dashboard.enabled {
            let d = &config.dashboard;
            let tls = web_tls(&d.tls_cert, &d.tls_key, "dashboard")?;
            let listener = TcpListener::bind(d.listen)
                .await
                .with_context(|| format!("binding the dashboard to {} ([dashboard] listen)", d.listen))?;
            let addr = listener.local_addr()?;
            Some(DashboardParts { listener, addr, tls, router: crate::dashboard::router(hub.clone()) })
        } else {
            None
        };
        let metrics = match config.metrics.listen {
            Some(addr) => {
                crate::telemetry::metrics::install();
                Some(crate::telemetry::MetricsListener::bind(addr).await?)
            }
            None => None,
        };
        let c = &config.connections;
        let limits = Limits::new(c.max_open, Duration::from_secs(c.handshake_timeout_secs));
        Ok(Self {
            hub,
            tls,
            max_message_bytes: config.max_message_bytes,
            scheduler_interval: Duration::from_secs(config.scheduler_interval_secs.max(1)),
            health,
            limits,
            http2_keepalive: Duration::from_secs(c.http2_keepalive_secs),
            store_probe: Duration::from_secs(config.health.store_probe_secs),
            smtp_check: Duration::from_secs(config.health.smtp_check_secs),
            email,
            dashboard,
            metrics,
            pki,
            server_cert,
        })
    }

    /// The metrics listener's address, when enabled.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(crate::telemetry::MetricsListener::addr)
    }

    /// The dashboard's address, when enabled.
    pub fn dashboard_addr(&self) -> Option<std::net::SocketAddr> {
        self.dashboard.as_ref().map(|d| d.addr)
    }

    /// Builds the dispatcher and the partner page: loads (or creates) the link key, builds the
    /// SMTP sink, binds the page's listener (so its port is known before serving).
    async fn email_parts(
        config: &Config,
        hub: &Hub,
        clock: Arc<dyn Clock>,
        web_tls: Arc<rustls::ServerConfig>,
        health: &Health,
    ) -> anyhow::Result<EmailParts> {
        let mut email = config.email.clone();
        let key_file = email.key_file(&config.data_dir);
        if let Some(dir) = key_file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let key = Arc::new(
            LinkKey::load_or_create(&key_file)
                .with_context(|| format!("loading the link key {}", key_file.display()))?,
        );
        let sink = Arc::new(SmtpSink::new(&email.smtp).map_err(|e| anyhow::anyhow!("email.smtp: {e}"))?);
        let web = TcpListener::bind(email.web.listen)
            .await
            .with_context(|| format!("binding the partner page to {}", email.web.listen))?;
        let web_addr = web.local_addr()?;
        if email.web.public_url.is_none() {
            email.web.public_url = Some(format!("https://localhost:{}", web_addr.port()));
        }
        let desk = Arc::new(HubDesk::new(hub.clone(), key.clone()));
        let now_ms: Arc<dyn Fn() -> i64 + Send + Sync> = Arc::new(move || clock.now().millis());
        let page = email_adapter::web::PageConfig {
            public_url: email.public_url(),
            link_ttl_ms: i64::from(email.link_ttl_days) * 86_400_000,
        };
        let router = email_adapter::web::router(desk, key.clone(), now_ms, page);
        let background = email.dispatch_in_background;
        let dispatcher = Dispatcher::new(hub.clone(), sink.clone(), key, email).with_health(health.clone());
        Ok(EmailParts { dispatcher, sink, background, web, web_addr, web_tls, router })
    }

    /// The mail dispatcher, when the email channel is enabled (tests drive it step by step).
    pub fn dispatcher(&self) -> Option<Dispatcher> {
        self.email.as_ref().map(|e| e.dispatcher.clone())
    }

    /// The partner page's address, when the email channel is enabled.
    pub fn web_addr(&self) -> Option<std::net::SocketAddr> {
        self.email.as_ref().map(|e| e.web_addr)
    }

    /// The hub behind the server.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The hub's health as the server reports it.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let api = Api::new(self.hub.clone());
        let max = self.max_message_bytes;
        let (reporter, health_svc) = tonic_health::server::health_reporter();
        self.health.report_to(
            reporter,
            vec![
                <pb::directory_service_server::DirectoryServiceServer<Api> as NamedService>::NAME,
                <pb::case_service_server::CaseServiceServer<Api> as NamedService>::NAME,
                <pb::consent_service_server::ConsentServiceServer<Api> as NamedService>::NAME,
                <pb::referral_service_server::ReferralServiceServer<Api> as NamedService>::NAME,
                <pb::event_service_server::EventServiceServer<Api> as NamedService>::NAME,
                <pb::notice_service_server::NoticeServiceServer<Api> as NamedService>::NAME,
                <pb::delivery_service_server::DeliveryServiceServer<Api> as NamedService>::NAME,
            ],
            "wohnungserhalt.hub.v1.Email",
        );
        Health::probe_store(self.hub.clone(), self.store_probe, self.hub.closing());
        self.server_cert.clone().watch(self.hub.closing());
        let metrics_task =
            self.metrics.map(|m| m.serve(self.hub.clone(), self.health.clone(), self.pki.clone(), self.hub.closing()));
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hub_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hub_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        // A run in progress finishes at shutdown; only the waiting stops.
        let scheduler = {
            let hub = self.hub.clone();
            let every = self.scheduler_interval;
            let mut closing = self.hub.closing();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = closing.wait_for(|c| *c) => return,
                    }
                    let started = std::time::Instant::now();
                    let ran = hub.run_scheduled().await;
                    crate::telemetry::metrics::scheduler_run(ran.is_ok(), started.elapsed());
                    if let Err(e) = ran {
                        tracing::warn!(error = %e, "scheduled work failed; will retry");
                    }
                }
            })
        };

        // Every listener shares one connection cap that fits the descriptor limit.
        let limits = Limits {
            connections: Arc::new(tokio::sync::Semaphore::new(listen::fit_connections(
                self.limits.connections.available_permits(),
            ))),
            ..self.limits.clone()
        };
        let mut email_tasks = Vec::new();
        if let Some(d) = self.dashboard {
            let mut until = self.hub.closing();
            let router = d.router.merge(self.health.routes()).layer(ObserveLayer::web());
            let serve = email_adapter::web::serve_tls(d.listener, d.tls, router, limits.clone(), async move {
                let _ = until.wait_for(|c| *c).await;
            });
            tracing::info!(addr = %d.addr, "dashboard listening on https://{}", d.addr);
            email_tasks.push(tokio::spawn(async move {
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "dashboard failed");
                }
            }));
        }
        if let Some(email) = self.email {
            let closing = self.hub.closing();
            let mut until = closing.clone();
            let router = email.router.merge(self.health.routes()).layer(ObserveLayer::web());
            let page = email_adapter::web::serve_tls(email.web, email.web_tls, router, limits.clone(), async move {
                let _ = until.wait_for(|c| *c).await;
            });
            tracing::info!(addr = %email.web_addr, "partner page listening");
            email_tasks.push(tokio::spawn(async move {
                if let Err(e) = page.await {
                    tracing::error!(error = %e, "partner page failed");
                }
            }));
            self.health.watch_relay(email.sink.clone(), self.smtp_check, closing.clone());
            if email.background {
                let commits = self.hub.commits();
                email_tasks.push(tokio::spawn(email.dispatcher.run(commits, closing)));
            }
        }

        let addr = listener.local_addr()?;
        tracing::info!(%addr, "listening");
        let (stop_accepting, stop) = tokio::sync::watch::channel(false);
        let incoming = accept_tls("grpc", listener, tokio_rustls::TlsAcceptor::from(self.tls), limits, stop);
        let incoming = tokio_stream::wrappers::ReceiverStream::new(incoming)
            .map(|(conn, _)| Ok::<_, std::io::Error>(listen::GrpcConn(conn)));
        // Graceful shutdown waits for open calls; event streams never end by themselves, so they
        // are closed first (clients resume from their last cursor).
        let hub = self.hub.clone();
        let shutdown = async move {
            shutdown.await;
            let _ = stop_accepting.send(true);
            hub.close_streams();
        };
        let result = tonic::transport::Server::builder()
            // Idle connections are pinged; a peer that does not answer is dropped, so dead clients
            // do not hold places under the connection cap.
            .http2_keepalive_interval(Some(self.http2_keepalive))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .layer(ObserveLayer::grpc())
            .layer(tower::util::MapResponseLayer::new(listen::oversized_is_resource_exhausted))
            .add_service(health_svc)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(InterceptedService::new(
                pb::directory_service_server::DirectoryServiceServer::new(api.clone()).max_decoding_message_size(max),
                identify,
            ))
            .add_service(InterceptedService::new(
                pb::case_service_server::CaseServiceServer::new(api.clone()).max_decoding_message_size(max),
                identify,
            ))
            .add_service(InterceptedService::new(
                pb::consent_service_server::ConsentServiceServer::new(api.clone()).max_decoding_message_size(max),
                identify,
            ))
            .add_service(InterceptedService::new(
                pb::referral_service_server::ReferralServiceServer::new(api.clone()).max_decoding_message_size(max),
                identify,
            ))
            .add_service(InterceptedService::new(
                pb::notice_service_server::NoticeServiceServer::new(api.clone()).max_decoding_message_size(max),
                identify,
            ))
            .add_service(InterceptedService::new(
                pb::delivery_service_server::DeliveryServiceServer::new(api.clone()).max_decoding_message_size(max),
                identify,
            ))
            .add_service(InterceptedService::new(
                pb::event_service_server::EventServiceServer::new(api).max_decoding_message_size(max),
                identify,
            ))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        self.hub.close_streams();
        // The scheduler finishes the run it is in (bounded, so a hung database cannot hold the exit).
        if tokio::time::timeout(Duration::from_secs(30), scheduler).await.is_err() {
            tracing::warn!("scheduled work did not finish within 30 s of shutdown");
        }
        for t in email_tasks.into_iter().chain(metrics_task) {
            let _ = t.await;
        }
        result.context("gRPC server failed")
    }
}
