//! `hub`: the Wohnungserhalt Hub server and its operator commands.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hub::clock::SystemClock;
use hub::config::Config;
use hub::pki::PkiDir;

mod cli_org;

/// Wohnungserhalt Hub: consent-based referrals between the Fachstelle Wohnungserhalt and its partners.
#[derive(Parser)]
#[command(name = "hub", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the hub (gRPC over mutual TLS).
    Serve {
        /// TOML configuration file (`HUB_CONFIG`); `HUB_*` variables override it.
        #[arg(long, env = "HUB_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory (overrides config and `HUB_DATA_DIR`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen address (overrides config and `HUB_LISTEN`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Applies pending database migrations and prints which (for roll-outs with `auto_migrate = false`).
    Migrate {
        /// TOML configuration file (`HUB_CONFIG`); `HUB_*` variables override it.
        #[arg(long, env = "HUB_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory (overrides config and `HUB_DATA_DIR`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Database URL (overrides config and `HUB_DATABASE_URL`).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Certificates: the hub's CA, server and operator certificates, partner certificates.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Directory administration over gRPC with the operator certificate.
    Org(cli_org::OrgArgs),
    /// Plays the Frau K. case through a fresh in-process hub and prints every handoff.
    Demo,
    /// Receipts of actions taken through email links.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Checks a receipt's signature with the hub's link key and prints what it confirms; exits
    /// non-zero for a forged or altered receipt.
    Verify {
        /// The receipt text as shown on the page or in the confirmation mail (`Q1.…`).
        receipt: String,
        /// TOML configuration file (`HUB_CONFIG`); `HUB_*` variables override it.
        #[arg(long, env = "HUB_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory (overrides config and `HUB_DATA_DIR`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Creates the CA, the server certificate and the operator certificate in `<data-dir>/pki`.
    Init {
        /// Data directory.
        #[arg(long, env = "HUB_DATA_DIR", default_value = "hub-data")]
        data_dir: PathBuf,
        /// DNS names or IP addresses of the server certificate (repeatable).
        #[arg(long = "hostname", default_values_t = ["localhost".to_owned(), "127.0.0.1".to_owned()])]
        hostnames: Vec<String>,
        /// Replace an existing PKI (every issued certificate becomes invalid).
        #[arg(long)]
        force: bool,
    },
    /// Issues a client certificate for an organisation.
    Issue {
        /// Organisation id (e.g. jobcenter-hannover).
        org: String,
        /// Data directory.
        #[arg(long, env = "HUB_DATA_DIR", default_value = "hub-data")]
        data_dir: PathBuf,
        /// Output folder (default `<data-dir>/pki/clients`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUB_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config, data_dir, listen } => {
            init_logging();
            serve(config, data_dir, listen).await
        }
        Command::Migrate { config, data_dir, database_url } => {
            init_logging();
            migrate(config, data_dir, database_url).await
        }
        Command::Pki { command } => pki(command),
        Command::Org(args) => cli_org::run(args).await,
        Command::Demo => hub::demo::run().await,
        Command::Receipt { command: ReceiptCommand::Verify { receipt, config, data_dir } } => {
            verify_receipt(&receipt, config, data_dir)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(
    file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(d) = data_dir {
        config.data_dir = d;
    }
    if let Some(l) = listen {
        config.listen = l;
    }
    let pki = PkiDir::in_data_dir(&config.data_dir);
    if !pki.ca_cert().exists() {
        // A fresh machine starts with safe defaults: a private CA for this hub only, a server
        // certificate for localhost, and the operator certificate to register partners with.
        hub::pki::init(&pki, &["localhost".to_owned(), "127.0.0.1".to_owned()], false)?;
        eprintln!(
            "hub: created a new PKI in {} (operator certificate: {})",
            pki.path().display(),
            pki.operator_cert().display()
        );
    }
    let server = hub::server::Server::build(&config, Arc::new(SystemClock)).await?;
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    eprintln!("hub: listening on {} (database {})", listener.local_addr()?, config.database_url());
    server.serve(listener, shutdown_signal()).await
}

fn verify_receipt(receipt: &str, file: Option<PathBuf>, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(d) = data_dir {
        config.data_dir = d;
    }
    let key_file = config.email.key_file(&config.data_dir);
    if !key_file.exists() {
        anyhow::bail!("no link key at {} (is this the hub's data directory?)", key_file.display());
    }
    let key = email_adapter::token::LinkKey::load_or_create(&key_file)
        .with_context(|| format!("reading the link key {}", key_file.display()))?;
    let r = key
        .verify_receipt(receipt.trim())
        .map_err(|e| anyhow::anyhow!("receipt NOT valid: {e:?} (forged, altered or signed by another hub)"))?;
    let at = hub::domain::time::Instant::from_millis(r.at_ms);
    println!("receipt valid");
    println!("  id:           {}", r.id);
    println!("  referral:     {}", r.referral);
    println!("  organisation: {}", r.org);
    println!("  action:       {}", r.action);
    println!("  state after:  {}", r.state);
    println!("  recorded at:  {}", hub::email::labels::instant(at));
    Ok(())
}

async fn migrate(file: Option<PathBuf>, data_dir: Option<PathBuf>, database_url: Option<String>) -> anyhow::Result<()> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(d) = data_dir {
        config.data_dir = d;
    }
    if let Some(u) = database_url {
        config.database_url = Some(u);
    }
    let applied = hub::server::migrate_store(&config).await?;
    if applied.is_empty() {
        println!("up to date");
    }
    for m in &applied {
        println!("applied {m}");
    }
    Ok(())
}

fn pki(cmd: PkiCommand) -> anyhow::Result<()> {
    match cmd {
        PkiCommand::Init { data_dir, hostnames, force } => {
            let dir = PkiDir::in_data_dir(&data_dir);
            hub::pki::init(&dir, &hostnames, force)?;
            println!("created CA, server and operator certificates in {}", dir.path().display());
            println!("give partners {} to verify the hub", dir.ca_cert().display());
            Ok(())
        }
        PkiCommand::Issue { org, data_dir, out } => {
            let id = hub::domain::ids::OrgId::parse(&org).map_err(|e| anyhow::anyhow!("organisation id {e}"))?;
            let dir = PkiDir::in_data_dir(&data_dir);
            let out = out.unwrap_or_else(|| dir.clients());
            let (cert, key) = hub::pki::issue(&dir, &id, &out)?;
            println!("issued {} and {} for organisation '{id}'", cert.display(), key.display());
            Ok(())
        }
    }
}
