//! `hub-bench`: the benchmark suite of the Wohnungserhalt Hub. Starts the real
//! `hub serve` as a separate process, drives it over mutual-TLS gRPC with certificates from the
//! hub's own PKI, measures each scenario and its physical reference back to back, and writes
//! `docs/benchmarks.md`. Run it through `scripts/bench.sh`.

mod fixtures;
mod hubproc;
mod limit;
mod load;
mod raw;
mod refserver;
mod report;
mod scenarios;
mod smtp;
mod stats;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hub-bench", about = "Benchmark suite of the Wohnungserhalt Hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every scenario and writes the Markdown report.
    Run(RunArgs),
    /// The reference server (started by `run` as a child process).
    RefServer {
        /// PKI folder of a hub data directory (ca.pem, server.pem, server.key).
        #[arg(long)]
        pki: PathBuf,
        /// Listen address.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Broadcast capacity.
        #[arg(long, default_value_t = 1 << 20)]
        capacity: usize,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The `hub` binary (release build).
    #[arg(long, default_value = "target/release/hub")]
    hub_bin: PathBuf,
    /// Report file.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Scratch folder for data directories and raw databases (same disk as a real data directory).
    #[arg(long, default_value = "target/bench-scratch")]
    scratch: PathBuf,
    /// PostgreSQL admin URL (a fresh database is created per run and dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Skip the PostgreSQL scenarios.
    #[arg(long)]
    no_postgres: bool,
    /// Small sizes: checks that everything works in a minute or two (figures are not meaningful).
    #[arg(long)]
    quick: bool,
    /// Seconds per unary read run.
    #[arg(long)]
    read_secs: Option<u64>,
    /// Serial creates.
    #[arg(long)]
    create_serial: Option<u64>,
    /// Creates with 32 clients.
    #[arg(long)]
    create_parallel: Option<u64>,
    /// Notices of the arrears stream (SQLite and PostgreSQL).
    #[arg(long)]
    arrears: Option<u64>,
    /// Notices of the nationwide-day stream on PostgreSQL (0 skips it).
    #[arg(long)]
    arrears_big: Option<u64>,
    /// Subscribers of the large fan-out run.
    #[arg(long)]
    fanout_many: Option<usize>,
    /// Runs only these scenarios (comma-separated): memory, unary, creates, outbox, arrears, catchup,
    /// fanout, interactive, postgres. For focused before/after runs; write them with `--out` elsewhere than
    /// docs/benchmarks.md.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The command line shown in the report.
    #[arg(long, default_value = "scripts/bench.sh")]
    command_line: String,
}

async fn run(a: RunArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut sizes = if a.quick { scenarios::Sizes::quick() } else { scenarios::Sizes::full() };
    if let Some(v) = a.read_secs {
        sizes.read_secs = v;
    }
    if let Some(v) = a.create_serial {
        sizes.create_serial = v;
    }
    if let Some(v) = a.create_parallel {
        sizes.create_parallel = v;
    }
    if let Some(v) = a.arrears {
        sizes.arrears = v;
    }
    if let Some(v) = a.arrears_big {
        sizes.arrears_big = v;
    }
    if let Some(v) = a.fanout_many {
        sizes.fanout_many = v;
    }
    std::fs::create_dir_all(&a.scratch)?;
    let env = scenarios::Env {
        hub_bin: std::fs::canonicalize(&a.hub_bin).map_err(|e| {
            anyhow::anyhow!("{}: {e} (build it with cargo build --release -p hub)", a.hub_bin.display())
        })?,
        scratch: std::fs::canonicalize(&a.scratch)?,
        pg_admin: (!a.no_postgres).then(|| a.postgres.clone()),
        only: a.only.clone(),
    };
    for o in &env.only {
        anyhow::ensure!(scenarios::SCENARIOS.contains(&o.as_str()), "--only: unknown scenario '{o}'");
    }
    let root = std::env::current_dir()?;
    let header = scenarios::header(&sizes, &a.command_line, &root);
    let started = std::time::Instant::now();
    let mut report = report::Report::default();
    let result = scenarios::run_all(&env, &sizes, &mut report).await;
    report.notes.push(format!("Whole suite: {:.0} s.", started.elapsed().as_secs_f64()));
    if let Err(e) = &result {
        report.notes.push(format!("THE RUN STOPPED EARLY: {e:#}"));
    }
    report::write(&a.out, &header, &report)?;
    eprintln!("wrote {}", a.out.display());
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(a) => run(a).await,
        Command::RefServer { pki, listen, capacity } => refserver::serve(&pki, listen, capacity).await,
    }
}
