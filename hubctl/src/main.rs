//! `hubctl`: command-line client of the Wohnungserhalt Hub for partner IT and the Fachstelle.
//!
//! It speaks gRPC over mutual TLS with the organisation's certificate, so what it may see and do
//! is exactly what the organisation may see and do; nothing here is trusted by the hub.
//!
//! Exit codes: 0 success, 1 a failed request or local error, 2 a usage error. Errors go to
//! stderr as `error: <GRPC_CODE>: <message>` so scripts can match on the code.

mod args;
mod arrears;
mod commands;
mod connect;
mod court;
mod deadlines_cmd;
#[cfg(test)]
mod fuzz_tests;
mod import;
mod input;
mod keygen;
mod names;
mod notices;
mod render;
mod watch;

use std::process::ExitCode;

use erp_import::{csv, german};

use clap::Parser;

/// A mistake in how hubctl was called that clap cannot see (e.g. a certificate file that does
/// not exist); reported like clap's own usage errors, with exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

/// Prints an error the way the command-line contract says and picks the exit code.
fn report(error: &anyhow::Error) -> ExitCode {
    if let Some(status) = error.downcast_ref::<tonic::Status>() {
        if connection_lost(status) {
            // The transport's own text (TLS close_notify, h2 frames) helps nobody at the terminal.
            eprintln!(
                "error: the connection to the hub was lost before it answered ({})",
                grpc_code_name(status.code())
            );
        } else {
            eprintln!("error: {}: {}", grpc_code_name(status.code()), status_message(status));
        }
        if error.downcast_ref::<RerunSafe>().is_some() {
            eprintln!("hint: {RerunSafe}");
        } else if connection_lost(status) {
            eprintln!("hint: the hub stopped answering or the network broke; check that it runs, then try again");
        }
        return ExitCode::from(1);
    }
    if let Some(usage) = error.downcast_ref::<UsageError>() {
        eprintln!("error: {usage}");
        return ExitCode::from(2);
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        // The reader of our output went away (`hubctl list | head`): nothing to report.
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {error:#}");
    ExitCode::from(1)
}

/// Context of an error after which running the same command again is safe and finishes the work (an
/// import cut off half-way: rows the hub already took come back as unchanged).
#[derive(Debug)]
pub struct RerunSafe;

impl std::fmt::Display for RerunSafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the import stopped before the hub confirmed every row. Running the same command with the same file \
             again is safe: rows the hub already took are recognised, reported as unchanged and not stored twice.",
        )
    }
}

/// Whether `status` says the connection broke (the hub died, the network failed) rather than that the
/// hub answered with an error: tonic makes such statuses from transport errors, which carry a source.
pub fn connection_lost(status: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(status.code(), Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal)
        && std::error::Error::source(status).is_some()
}

/// The canonical gRPC name of a status code (`NOT_FOUND`), which is what people search for and
/// what the hub's documentation uses; tonic's `Display` gives a sentence instead.
pub fn grpc_code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status message, completed with its cause when tonic made the status from a transport
/// error ("transport error" alone does not say that the certificate was refused).
pub fn status_message(status: &tonic::Status) -> String {
    let message = if status.message().is_empty() { status.code().description() } else { status.message() };
    join_causes(message.to_owned(), std::error::Error::source(status))
}

/// An error and its causes as `a: b: c`.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    join_causes(error.to_string(), error.source())
}

/// Appends each cause to `text`, skipping causes whose text is already there: tonic and hyper
/// repeat their messages down the chain ("tcp connect error: transport error: tcp connect
/// error: ...") and the repetition hides the one part that matters.
fn join_causes(mut text: String, mut cause: Option<&(dyn std::error::Error + 'static)>) -> String {
    while let Some(error) = cause {
        let part = error.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = error.source();
    }
    text
}
