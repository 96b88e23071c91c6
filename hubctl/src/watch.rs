//! `watch`: follow the organisation's event stream until Ctrl-C.
//!
//! The hub delivers events at least once and resumes from a cursor, so the client's job is to
//! remember the last cursor it printed and to come back with it whenever the stream ends or
//! breaks, waiting longer after each failure so a hub that is down is not hammered.

use std::io::Write;
use std::time::Duration;

use hub_proto::v1::SubscribeRequest;
use hub_proto::v1::event_service_client::EventServiceClient;
use tonic::Code;

use crate::args::{Cli, WatchArgs};
use crate::connect::Hub;
use crate::{grpc_code_name, render};

/// First wait after a failure; doubled after each failure in a row, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Follows the stream; returns only on Ctrl-C (Ok) or an error that retrying cannot fix.
pub async fn run(cli: &Cli, args: &WatchArgs) -> anyhow::Result<()> {
    let hub = Hub::connect_lazy(cli)?;
    let mut follower = Follower {
        client: EventServiceClient::new(hub.channel()),
        cursor: args.after,
        backoff: FIRST_BACKOFF,
        json: cli.json,
    };
    eprintln!("watching events at {} after cursor {} (Ctrl-C to stop)", hub.address(), follower.cursor);

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let ended = tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            ended = follower.follow(&hub) => ended,
        };
        match ended {
            Ok(()) => eprintln!("watch: stream ended"),
            Err(Failure::Status(status)) if !retryable(status.code()) => {
                return Err(status.into());
            }
            Err(Failure::Status(status)) => {
                eprintln!("watch: {}: {}", grpc_code_name(status.code()), crate::status_message(&status));
            }
            Err(Failure::Output(error)) => return Err(error.into()),
        }
        eprintln!("watch: reconnecting after cursor {} in {}s", follower.cursor, follower.backoff.as_secs());
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            () = tokio::time::sleep(follower.backoff) => {}
        }
        follower.backoff = (follower.backoff * 2).min(MAX_BACKOFF);
    }
}

/// Why one subscription stopped.
enum Failure {
    /// The hub or the connection failed.
    Status(tonic::Status),
    /// Stdout is gone (e.g. the reader of a pipe quit): nothing left to watch for.
    Output(std::io::Error),
}

/// The state that outlives each subscription.
struct Follower {
    client: EventServiceClient<tonic::transport::Channel>,
    /// The last cursor printed (or the starting cursor).
    cursor: u64,
    backoff: Duration,
    json: bool,
}

impl Follower {
    /// One subscription, from the current cursor to the end of the stream.
    async fn follow(&mut self, hub: &Hub) -> Result<(), Failure> {
        let request = hub.request(SubscribeRequest { after_cursor: self.cursor });
        let mut stream = self.client.subscribe(request).await.map_err(Failure::Status)?.into_inner();
        while let Some(message) = stream.message().await.map_err(Failure::Status)? {
            let Some(event) = message.event else { continue };
            // Delivery is at least once: an event at or before the cursor was already printed.
            if event.cursor <= self.cursor {
                continue;
            }
            let line = if self.json { render::event_json(&event).to_string() } else { render::event_line(&event) };
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{line}").and_then(|()| stdout.flush()).map_err(Failure::Output)?;
            self.cursor = event.cursor;
            // Events flow again: the next failure starts with a short wait.
            self.backoff = FIRST_BACKOFF;
        }
        Ok(())
    }
}

/// Whether waiting and resubscribing can help. Refusals (bad certificate, deactivated
/// organisation, bad cursor) will not change by retrying, so they end the command.
fn retryable(code: Code) -> bool {
    match code {
        Code::Unavailable
        | Code::Unknown
        | Code::Internal
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Cancelled
        | Code::DataLoss => true,
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Unauthenticated => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_end_the_watch_and_outages_do_not() {
        assert!(retryable(Code::Unavailable));
        assert!(retryable(Code::Internal));
        assert!(!retryable(Code::Unauthenticated));
        assert!(!retryable(Code::PermissionDenied));
    }
}
