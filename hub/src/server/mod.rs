//! Building and running the hub: a server built from parts, taking its listener and shutdown
//! future from the caller, so tests bind port 0 and stop it when they are done.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hub_proto::v1 as pb;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

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

/// A hub ready to serve.
pub struct Server {
    hub: Hub,
    tls: ServerTlsConfig,
    max_message_bytes: usize,
    scheduler_interval: Duration,
    email: Option<EmailParts>,
    dashboard: Option<DashboardParts>,
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
    crate::store::open_with(&url, mode, vault).await.map_err(|e| anyhow::anyhow!("opening {shown}: {e}"))
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
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(read(pki.server_cert())?, read(pki.server_key())?))
            .client_ca_root(Certificate::from_pem(read(pki.ca_cert())?))
            // Optional at the TLS layer so a client without a certificate gets a clear
            // UNAUTHENTICATED from the hub services instead of a bare handshake failure; health
            // and reflection stay reachable for load balancers and grpcurl.
            .client_auth_optional(true);
        let store = open_store(config).await?;
        // The audit seal key lives in the data directory (never in the database), created on first start.
        let seal_key = crate::audit::seal::key_file(&config.data_dir);
        let sealer = crate::audit::AuditSealer::load_or_create(&seal_key)
            .with_context(|| format!("loading the audit seal key {}", seal_key.display()))?;
        let hub = Hub::new(store, clock.clone(), config.sla.clone())
            .with_audit_sealer(sealer)
            .with_retention(config.retention.clone());
        let email = if config.email.enabled {
            let cert = read(config.email.web.tls_cert.clone().unwrap_or_else(|| pki.server_cert()))?;
            let key = read(config.email.web.tls_key.clone().unwrap_or_else(|| pki.server_key()))?;
            Some(Self::email_parts(config, &hub, clock, &cert, &key).await?)
        } else {
            tracing::info!("email channel disabled ([email] enabled = false): mails wait in the outbox");
            None
        };
        let dashboard = if config.dashboard.enabled {
            let d = &config.dashboard;
            let cert = read(d.tls_cert.clone().unwrap_or_else(|| pki.server_cert()))?;
            let key = read(d.tls_key.clone().unwrap_or_else(|| pki.server_key()))?;
            let tls = email_adapter::web::tls_config(&cert, &key)
                .map_err(|e| anyhow::anyhow!("dashboard certificate: {e}"))?;
            let listener = TcpListener::bind(d.listen)
                .await
                .with_context(|| format!("binding the dashboard to {} ([dashboard] listen)", d.listen))?;
            let addr = listener.local_addr()?;
            Some(DashboardParts { listener, addr, tls, router: crate::dashboard::router(hub.clone()) })
        } else {
            None
        };
        Ok(Self {
            hub,
            tls,
            max_message_bytes: config.max_message_bytes,
            scheduler_interval: Duration::from_secs(config.scheduler_interval_secs.max(1)),
            email,
            dashboard,
        })
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
        cert_pem: &str,
        key_pem: &str,
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
        let web_tls = email_adapter::web::tls_config(cert_pem, key_pem)
            .map_err(|e| anyhow::anyhow!("partner page certificate: {e}"))?;
        let desk = Arc::new(HubDesk::new(hub.clone(), key.clone()));
        let now_ms: Arc<dyn Fn() -> i64 + Send + Sync> = Arc::new(move || clock.now().millis());
        let page = email_adapter::web::PageConfig {
            public_url: email.public_url(),
            link_ttl_ms: i64::from(email.link_ttl_days) * 86_400_000,
        };
        let router = email_adapter::web::router(desk, key.clone(), now_ms, page);
        let background = email.dispatch_in_background;
        let dispatcher = Dispatcher::new(hub.clone(), sink.clone(), key, email);
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

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let api = Api::new(self.hub.clone());
        let max = self.max_message_bytes;
        let (health, health_svc) = tonic_health::server::health_reporter();
        health.set_serving::<pb::directory_service_server::DirectoryServiceServer<Api>>().await;
        health.set_serving::<pb::case_service_server::CaseServiceServer<Api>>().await;
        health.set_serving::<pb::consent_service_server::ConsentServiceServer<Api>>().await;
        health.set_serving::<pb::referral_service_server::ReferralServiceServer<Api>>().await;
        health.set_serving::<pb::event_service_server::EventServiceServer<Api>>().await;
        health.set_serving::<pb::notice_service_server::NoticeServiceServer<Api>>().await;
        health.set_serving::<pb::delivery_service_server::DeliveryServiceServer<Api>>().await;
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hub_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hub_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let scheduler = {
            let hub = self.hub.clone();
            let every = self.scheduler_interval;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    if let Err(e) = hub.run_scheduled().await {
                        tracing::warn!(error = %e, "scheduled work failed; will retry");
                    }
                }
            })
        };

        let mut email_tasks = Vec::new();
        if let Some(d) = self.dashboard {
            let mut until = self.hub.closing();
            let serve = email_adapter::web::serve_tls(d.listener, d.tls, d.router, async move {
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
            let page = email_adapter::web::serve_tls(email.web, email.web_tls, email.router, async move {
                let _ = until.wait_for(|c| *c).await;
            });
            tracing::info!(addr = %email.web_addr, "partner page listening");
            email_tasks.push(tokio::spawn(async move {
                if let Err(e) = page.await {
                    tracing::error!(error = %e, "partner page failed");
                }
            }));
            match email.sink.check().await {
                Ok(()) => {
                    health.set_service_status("wohnungserhalt.hub.v1.Email", tonic_health::ServingStatus::Serving).await
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "SMTP server not reachable at start; mails wait in the outbox and are retried");
                    health
                        .set_service_status("wohnungserhalt.hub.v1.Email", tonic_health::ServingStatus::NotServing)
                        .await;
                }
            }
            if email.background {
                let commits = self.hub.commits();
                email_tasks.push(tokio::spawn(email.dispatcher.run(commits, closing)));
            }
        }

        let addr = listener.local_addr()?;
        tracing::info!(%addr, "listening");
        // Graceful shutdown waits for open calls; event streams never end by themselves, so they
        // are closed first (clients resume from their last cursor).
        let hub = self.hub.clone();
        let shutdown = async move {
            shutdown.await;
            hub.close_streams();
        };
        let result = tonic::transport::Server::builder()
            .tls_config(self.tls)?
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
            // TCP_NODELAY: a small unary response must not wait for Nagle and the peer's delayed
            // ACK (about 40 ms per call, measured by hub-bench before this was set).
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await;
        scheduler.abort();
        self.hub.close_streams();
        for t in email_tasks {
            let _ = t.await;
        }
        result.context("gRPC server failed")
    }
}
