//! `hub-demo`: plays the Frau K. case (synthetic data) through a fresh in-process hub and prints every
//! handoff; with `--serve` it keeps the hub and its dashboard running for a look around.
//!
//! It lives in the test kit, not in the `hub` binary, so the server never links the in-process test hub.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use hub_testkit::Listen;

/// Plays the Frau K. case through a fresh in-process hub and prints every handoff.
#[derive(Parser)]
#[command(name = "hub-demo", version)]
struct Args {
    /// Keep the hub running afterwards and follow the case in the dashboard (prints its
    /// address and a caseworker's sign-in); stop with Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// With --serve: the gRPC address (default a free port on 127.0.0.1).
    #[arg(long, value_name = "ADDR", requires = "serve")]
    listen: Option<SocketAddr>,
    /// With --serve: the dashboard's address (default a free port on 127.0.0.1), e.g. 127.0.0.1:8444.
    #[arg(long, value_name = "ADDR", requires = "serve")]
    dashboard_listen: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut at = Listen::default();
    at.grpc = args.listen.unwrap_or(at.grpc);
    at.dashboard = args.dashboard_listen.unwrap_or(at.dashboard);
    match hub_testkit::demo::run(args.serve, at).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
