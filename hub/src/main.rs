//! `hub`: the Wohnungserhalt Hub server and its operator commands.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hub::clock::SystemClock;
use hub::config::Config;
use hub::domain::certificate::{IssuedCertificate, Serial};
use hub::pki::PkiDir;
use hub::telemetry::logging::{LogFormat, Telemetry};

mod cli_org;
mod cli_staff;

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
    /// Dashboard accounts of staff (sign-in with name and password).
    Staff {
        #[command(subcommand)]
        command: cli_staff::StaffCommand,
    },
    /// Receipts of actions taken through email links.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// The audit trail: verify its hash chain and seals, export it for the data protection officer.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Reports for the data protection officer, read directly from the database.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Master keys of the encryption at rest: status, rotation, retirement (while the hub runs).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Shows where the master keys come from and how many data keys each one wraps.
    Status {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Writes a new active master key into the key file and re-wraps every data key with it, in
    /// short transactions while the hub runs. Old keys stay (for backups) until `hub keys retire`.
    Rotate {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Only re-wrap with the active key already in place (keys from `HUB_MASTER_KEYS`, or an
        /// interrupted rotation).
        #[arg(long)]
        rewrap_only: bool,
    },
    /// Removes an old master key from the key file once no data key depends on it. Do this when
    /// every backup taken while it was active has expired: those backups become unreadable.
    Retire {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The master key id (see `hub keys status`).
        key_id: String,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The access report of Art. 15 GDPR for one person of a case: controller and legal bases, the
    /// stored data, every disclosure and every partner read, retention and rights. Generating it is
    /// recorded in the audit trail.
    Access {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The case.
        #[arg(long = "case")]
        case_id: String,
        /// The person within the case (default: the main tenant; the JSON lists the household's persons).
        #[arg(long)]
        person: Option<String>,
        /// html (a German document) or json (English keys).
        #[arg(long, default_value = "html", value_parser = hub::reports::access::parse_format)]
        format: hub::reports::Format,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The annual key figures of the cases opened in a year (routes in, stages, contact and success
    /// rates, outcomes, rent-debt takeovers, days to decision, household, gender, age, district,
    /// women and violence protection), from aggregated data only; cells under 5 are suppressed.
    /// Generating it is recorded in the audit trail.
    KeyFigures {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The year the cases were opened in.
        #[arg(long)]
        year: i32,
        /// Only the cases of this Fachstelle (default: all).
        #[arg(long)]
        org: Option<String>,
        /// html (a German document), csv (`table;row;value`) or json (English keys).
        #[arg(long, default_value = "html", value_parser = hub::reports::key_figures::parse_format)]
        format: hub::reports::Format,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Where the database is: the same settings as `serve`.
#[derive(clap::Args)]
struct DatabaseArgs {
    /// TOML configuration file (`HUB_CONFIG`); `HUB_*` variables override it.
    #[arg(long, env = "HUB_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides config and `HUB_DATA_DIR`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL (overrides config and `HUB_DATABASE_URL`).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walks the whole audit chain and every seal; exits 0 with a summary if intact, non-zero
    /// naming each record or seal where it breaks.
    Verify {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The seal public key (default `<data-dir>/keys/audit-seal.pub`).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Exports audit records (with their hashes) as CSV or JSON.
    Export {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Only records about this case.
        #[arg(long = "case")]
        case_id: Option<String>,
        /// Only records made by this organisation.
        #[arg(long)]
        org: Option<String>,
        /// Only records from this day on (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: Option<String>,
        /// Only records up to and including this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        to: Option<String>,
        /// csv (`;`-separated, header row, UTF-8) or json (an array of objects).
        #[arg(long, default_value = "csv", value_parser = hub::audit::export::parse_format)]
        format: hub::reports::Format,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
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
    /// Signs a partner's certificate signing request (`hubctl keygen` makes it on the partner's machine,
    /// so the private key never travels) and records the certificate; prints its serial number.
    Sign {
        /// The request (PEM, `.csr`).
        csr: PathBuf,
        /// The organisation the certificate names (its id in the directory).
        #[arg(long)]
        org: String,
        /// Days of validity.
        #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(i64).range(1..=825))]
        days: i64,
        /// Where to write the certificate (default: the request's path with `.pem`).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Lists the recorded certificates: serial, organisation, valid until, revoked.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Revokes one certificate by its serial number: every replica refuses it from its next call on
    /// (within a second), while the organisation's other certificates keep working.
    Revoke {
        /// The serial number (as `hub pki list` or `openssl x509 -serial` print it).
        serial: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// A line for the operator at start (what the hub created, where it listens): in text always shown,
/// whatever `HUB_LOG` filters; in JSON a log event, so a JSON log holds nothing but JSON.
fn say(log: LogFormat, text: String) {
    match log {
        LogFormat::Text => eprintln!("hub: {text}"),
        LogFormat::Json => tracing::info!("{text}"),
    }
}

/// Starts the log output (and the span export when `OTEL_EXPORTER_OTLP_*` asks for it); the guard keeps
/// the export running until the command returns.
fn init_logging(format: LogFormat) -> anyhow::Result<Telemetry> {
    hub::telemetry::logging::init(format)
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
    let log = match LogFormat::from_env() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve { config, data_dir, listen } => match init_logging(log) {
            Ok(_telemetry) => serve(config, data_dir, listen, log).await,
            Err(e) => Err(e),
        },
        Command::Migrate { config, data_dir, database_url } => match init_logging(log) {
            Ok(_telemetry) => migrate(config, data_dir, database_url).await,
            Err(e) => Err(e),
        },
        Command::Pki { command } => pki(command).await,
        Command::Org(args) => cli_org::run(args).await,
        Command::Staff { command } => cli_staff::run(command).await,
        Command::Receipt { command: ReceiptCommand::Verify { receipt, config, data_dir } } => {
            verify_receipt(&receipt, config, data_dir)
        }
        Command::Audit { command } => match init_logging(log) {
            Ok(_telemetry) => audit(command).await,
            Err(e) => Err(e),
        },
        Command::Keys { command } => keys(command).await,
        Command::Report { command: ReportCommand::Access { db, case_id, person, format, out } } => {
            match init_logging(log) {
                Ok(_telemetry) => access_report(db, &case_id, person.as_deref(), format, out).await,
                Err(e) => Err(e),
            }
        }
        Command::Report { command: ReportCommand::KeyFigures { db, year, org, format, out } } => {
            match init_logging(log) {
                Ok(_telemetry) => key_figures(db, year, org.as_deref(), format, out).await,
                Err(e) => Err(e),
            }
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
    log: LogFormat,
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
        say(
            log,
            format!(
                "created a new PKI in {} (operator certificate: {})",
                pki.path().display(),
                pki.operator_cert().display()
            ),
        );
    }
    let server = hub::server::Server::build(&config, Arc::new(SystemClock)).await?;
    if let Some(addr) = server.dashboard_addr() {
        say(log, format!("dashboard on https://{addr} (accounts: hub staff add --help)"));
    }
    if let Some(addr) = server.metrics_addr() {
        say(log, format!("metrics on http://{addr}/metrics"));
    }
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    say(log, format!("listening on {} (database {})", listener.local_addr()?, config.database_url()));
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
    println!("  recorded at:  {}", hub::labels::instant(at));
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

/// Opens the configured store for reading the audit trail. Never migrates: an unmigrated database
/// is refused (run `hub migrate`), and a missing SQLite file is not created.
async fn open_audit_store(db: DatabaseArgs) -> anyhow::Result<(Config, Arc<dyn hub::store::Store>)> {
    let (config, store, _) = open_tool_store(db).await?;
    Ok((config, store))
}

/// Opens an existing installation's store for a tool, with its master keys (never created here).
async fn open_tool_store(
    db: DatabaseArgs,
) -> anyhow::Result<(Config, Arc<dyn hub::store::Store>, Arc<hub::vault::Vault>)> {
    let mut config = Config::load(db.config.as_deref())?;
    if let Some(d) = db.data_dir {
        config.data_dir = d;
    }
    if let Some(u) = db.database_url {
        config.database_url = Some(u);
    }
    let (store, vault) = hub::server::open_existing_store(&config).await?;
    Ok((config, store, vault))
}

async fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    use hub::vault::admin;
    let print_status = |st: &admin::KeyStatus| {
        println!("master keys from {}", st.source);
        for (id, n) in &st.masters {
            let mark = if *id == st.active { " (active)" } else { "" };
            println!("  {id}{mark}: wraps {n} data key(s)");
        }
        for (id, n) in &st.orphaned {
            println!("  {id} (NOT IN THE KEY FILE): {n} data key(s) cannot be opened");
        }
    };
    match cmd {
        KeysCommand::Status { db } => {
            let (_, store, vault) = open_tool_store(db).await?;
            print_status(&admin::status(store.as_ref(), &vault).await?);
        }
        KeysCommand::Rotate { db, rewrap_only } => {
            let (_, store, vault) = open_tool_store(db).await?;
            if !rewrap_only {
                let id = admin::add_master_key(&vault)?;
                println!("new active master key {id}");
            }
            let started = std::time::Instant::now();
            let n = admin::rewrap_all(&store).await?;
            println!("re-wrapped {n} data key(s) in {:.1} s", started.elapsed().as_secs_f64());
            print_status(&admin::status(store.as_ref(), &vault).await?);
        }
        KeysCommand::Retire { db, key_id } => {
            let (_, store, vault) = open_tool_store(db).await?;
            admin::retire(store.as_ref(), &vault, &key_id).await?;
            println!("master key {key_id} retired; backups that need it can no longer be read");
            print_status(&admin::status(store.as_ref(), &vault).await?);
        }
    }
    Ok(())
}

async fn audit(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify { db, public_key } => {
            let (config, store) = open_audit_store(db).await?;
            let key_file = public_key.unwrap_or_else(|| hub::audit::seal::public_key_file(&config.data_dir));
            let key = if key_file.exists() {
                Some(hub::audit::SealPublicKey::load(&key_file)?)
            } else {
                eprintln!("hub: no seal public key at {}; seal signatures cannot be checked", key_file.display());
                None
            };
            let report = hub::audit::verify(store.as_ref(), key.as_ref())
                .await
                .map_err(|e| anyhow::anyhow!("reading the audit log: {e}"))?;
            println!("{}", report.summary());
            for p in &report.problems {
                println!("  {p}");
            }
            if report.more_problems > 0 {
                println!("  ... and {} more", report.more_problems);
            }
            if report.is_intact() { Ok(()) } else { anyhow::bail!("the audit trail is not intact") }
        }
        AuditCommand::Export { db, case_id, org, from, to, format, out } => {
            let day = |flag: &str, v: Option<String>| -> anyhow::Result<Option<hub::domain::time::Day>> {
                v.map(|s| hub::domain::time::Day::parse(&s).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))).transpose()
            };
            let filter = hub::audit::export::Filter {
                case_id: case_id
                    .map(|c| hub::domain::ids::CaseId::parse(&c).map_err(|e| anyhow::anyhow!("--case {e}")))
                    .transpose()?,
                org: org
                    .map(|o| hub::domain::ids::OrgId::parse(&o).map_err(|e| anyhow::anyhow!("--org {e}")))
                    .transpose()?,
                from: day("from", from)?,
                to: day("to", to)?,
            };
            let (_, store) = open_audit_store(db).await?;
            let n = match &out {
                Some(path) => {
                    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
                    let mut w = std::io::BufWriter::new(file);
                    hub::audit::export::export(store.as_ref(), &filter, format, &mut w).await?
                }
                None => {
                    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
                    hub::audit::export::export(store.as_ref(), &filter, format, &mut w).await?
                }
            };
            if let Some(path) = out {
                eprintln!("hub: exported {n} audit records to {}", path.display());
            }
            Ok(())
        }
    }
}

/// `hub report access`: builds the report from one snapshot, records the access in the audit trail,
/// then writes the report (to `out` or standard output).
async fn access_report(
    db: DatabaseArgs,
    case_id: &str,
    person: Option<&str>,
    format: hub::reports::Format,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    use hub::clock::Clock as _;
    let case_id = hub::domain::ids::CaseId::parse(case_id).map_err(|e| anyhow::anyhow!("--case: {}", e.reason))?;
    let person = person
        .map(|p| hub::domain::ids::PersonId::parse(p).map_err(|e| anyhow::anyhow!("--person: {}", e.reason)))
        .transpose()?;
    let (_, store) = open_audit_store(db).await?;
    let report =
        hub::reports::access::generate(store.as_ref(), &case_id, person.as_ref(), format, SystemClock.now()).await?;
    let text = report.render(format)?;
    match &out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "hub: access report for person {} of case {case_id} written to {} (recorded in the audit trail)",
                report.subject.person_id,
                path.display()
            );
        }
        None => {
            use std::io::Write as _;
            let mut w = std::io::stdout().lock();
            w.write_all(text.as_bytes()).and_then(|()| w.flush()).context("writing the report")?;
        }
    }
    Ok(())
}

/// `hub report key-figures`: computes the year's figures from one snapshot, records the report in
/// the audit trail, then writes it (to `out` or standard output).
async fn key_figures(
    db: DatabaseArgs,
    year: i32,
    org: Option<&str>,
    format: hub::reports::Format,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    use hub::clock::Clock as _;
    if !(2000..=2100).contains(&year) {
        anyhow::bail!("--year {year}: expected a year like 2026");
    }
    let org = org.map(|o| hub::domain::ids::OrgId::parse(o).map_err(|e| anyhow::anyhow!("--org {e}"))).transpose()?;
    let (_, store) = open_audit_store(db).await?;
    let figures =
        hub::reports::key_figures::generate(store.as_ref(), year, org.as_ref(), format, SystemClock.now()).await?;
    let text = figures.render(format);
    match &out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("hub: key figures {year} written to {} (recorded in the audit trail)", path.display());
        }
        None => {
            use std::io::Write as _;
            let mut w = std::io::stdout().lock();
            w.write_all(text.as_bytes()).and_then(|()| w.flush()).context("writing the report")?;
        }
    }
    Ok(())
}

async fn pki(cmd: PkiCommand) -> anyhow::Result<()> {
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
        PkiCommand::Sign { csr, org, days, out, db } => {
            let id = hub::domain::ids::OrgId::parse(&org).map_err(|e| anyhow::anyhow!("--org: {e}"))?;
            let request = std::fs::read_to_string(&csr).with_context(|| format!("reading {}", csr.display()))?;
            let (config, hub) = open_tool_hub(db).await?;
            let ca = hub::pki::load_ca(&PkiDir::in_data_dir(&config.data_dir))?;
            let signed = hub::pki::sign_csr(&ca, &request, &id, days)?;
            let record = IssuedCertificate::signed(
                signed.serial.clone(),
                id.clone(),
                hub.clock_now(),
                hub::domain::time::Instant::from_millis(
                    i64::try_from(signed.not_after.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
                ),
            );
            // Recorded first: a certificate the hub cannot revoke is never handed out.
            hub.record_certificate(&record).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let out = out.unwrap_or_else(|| csr.with_extension("pem"));
            std::fs::write(&out, &signed.pem).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "signed {} for organisation '{id}': serial {}, valid until {}",
                out.display(),
                signed.serial,
                signed.not_after.date()
            );
            Ok(())
        }
        PkiCommand::List { db } => {
            let (_, hub) = open_tool_hub(db).await?;
            let now = hub.clock_now();
            println!("{:<34} {:<28} {:<12} status", "serial", "organisation", "valid until");
            for c in hub.certificates().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                let until = c.not_after.map_or_else(|| "?".to_owned(), |t| t.day().to_string());
                let status = match (c.revoked_at, c.not_after) {
                    (Some(at), _) => format!("revoked {}", at.day()),
                    (None, Some(end)) if end < now => "expired".to_owned(),
                    (None, Some(end)) => format!("valid, {} days left", (end.millis() - now.millis()) / 86_400_000),
                    (None, None) => "valid".to_owned(),
                };
                let org = c.org.as_ref().map_or("?", |o| o.as_str());
                println!("{:<34} {:<28} {:<12} {status}", c.serial.as_str(), org, until);
            }
            Ok(())
        }
        PkiCommand::Revoke { serial, db } => {
            let serial = Serial::parse(&serial).map_err(|e| anyhow::anyhow!("{}", e.en))?;
            let (_, hub) = open_tool_hub(db).await?;
            let cert = hub.revoke_certificate(&serial).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let org = cert.org.as_ref().map_or("an unrecorded certificate", |o| o.as_str());
            println!("revoked {serial} ({org}); every replica refuses it from its next call on");
            Ok(())
        }
    }
}

/// The hub over an existing installation's store, for the certificate commands.
async fn open_tool_hub(db: DatabaseArgs) -> anyhow::Result<(Config, hub::service::Hub)> {
    let (config, store, _) = open_tool_store(db).await?;
    let hub = hub::service::Hub::new(store, Arc::new(SystemClock), config.sla.clone());
    Ok((config, hub))
}
