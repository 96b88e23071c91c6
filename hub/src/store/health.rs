//! What a store knows about its database's health: which kind of outage a failed call met, and the
//! condition of the last write or probe. Both backends classify their driver errors into [`Outage`]
//! and record every write transaction's begin and commit here, so health and readiness tell the truth
//! without an extra round trip per call, and a periodic [`super::Store::probe`] notices recovery when
//! no write comes.

use std::time::Duration;

use tokio::sync::watch;

use super::StoreError;

/// Why the database could not do what was asked. Every kind is temporary: retrying the same request
/// (with the same idempotency key) later is safe, and nothing of a failed transaction was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Locked or overloaded (lock timeout, serialisation failure, a long writer queue).
    Busy,
    /// The database server cannot be reached, or the connection to it broke.
    Unreachable,
    /// The disk (or the server's disk) is full.
    Full,
    /// The database reported an I/O error reading or writing its files.
    Io,
}

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outage::Busy => "the database is busy",
            Outage::Unreachable => "the database is unreachable",
            Outage::Full => "the database's storage is full",
            Outage::Io => "the database reported an I/O error",
        })
    }
}

/// The store's view of its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The last write or probe succeeded.
    Ready,
    /// The last write or probe failed this way.
    Failing(Outage),
}

/// Timeouts of the store (configuration table `[database]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreTimeouts {
    /// How long a call waits for a database connection (PostgreSQL: connecting, or a free pooled
    /// connection; the writer queue of one replica) before it fails as unreachable or busy.
    pub connect: Duration,
}

impl Default for StoreTimeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(5) }
    }
}

/// The shared cell a backend records outcomes in.
#[derive(Debug, Clone)]
pub(super) struct HealthCell {
    tx: std::sync::Arc<watch::Sender<Condition>>,
}

impl HealthCell {
    pub(super) fn new() -> Self {
        Self { tx: std::sync::Arc::new(watch::channel(Condition::Ready).0) }
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<Condition> {
        self.tx.subscribe()
    }

    pub(super) fn current(&self) -> Condition {
        *self.tx.borrow()
    }

    /// Records the outcome of a write (begin or commit) or probe. Errors that say nothing about the
    /// database's health (a conflict, a bad row, a busy queue) leave the condition as it is.
    pub(super) fn record<T>(&self, outcome: &Result<T, StoreError>) {
        let next = match outcome {
            Ok(_) => Condition::Ready,
            // A busy database is a healthy one with a queue.
            Err(StoreError::Unavailable(Outage::Busy)) => return,
            Err(StoreError::Unavailable(o)) => Condition::Failing(*o),
            Err(_) => return,
        };
        self.tx.send_if_modified(|c| {
            if *c == next {
                return false;
            }
            match next {
                Condition::Ready => tracing::info!("database ready again"),
                Condition::Failing(o) => tracing::warn!(outage = %o, "database failing"),
            }
            *c = next;
            true
        });
    }

    /// The outage to report for a wait that timed out: the known one, else a busy database.
    pub(super) fn timed_out(&self) -> Outage {
        match self.current() {
            Condition::Failing(o) => o,
            Condition::Ready => Outage::Busy,
        }
    }
}

/// Free bytes below which a SQLite database's file system counts as full: a commit needs room for
/// its WAL frames, and a nearly full disk fails writes of any size soon.
pub(super) const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Bytes available to unprivileged writers on the file system holding `path`.
pub(super) fn available_bytes(path: &std::path::Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(path)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}
