//! PostgreSQL backend: for several hub replicas on one database. Same schema as SQLite
//! (`migrations/postgres`, kept in step by `tests/tests/e2e/schema_drift.rs`) and the same behaviour.
//!
//! # Concurrency: one writer at a time, across all replicas
//!
//! Every write transaction ([`Store::begin`]) runs `BEGIN` and then `SELECT pg_advisory_xact_lock(..)`
//! with one constant key (in one simple query), so writers on all replicas are serialised exactly
//! like SQLite's single writer. The lock is released only when the transaction
//! commits or rolls back. This gives:
//!
//! 1. **Cursors become visible in commit order.** Event cursors (and every other identity column) are
//!    drawn while the lock is held, and PostgreSQL makes a commit visible before it releases the
//!    transaction's locks. A reader that asks for `cursor > $n` can therefore never skip a row that
//!    commits late with a lower cursor (the classic outbox trap of concurrent sequence users). Cursors
//!    may have gaps (a rolled-back transaction consumes sequence values); they never go backwards.
//! 2. **Once across replicas.** Idempotency keys, consent expiry, overdue and deadline announcements
//!    are read-check-write sequences; the second writer runs after the first one committed and sees its
//!    state, so each fires once however many replicas run the scheduled work.
//! 3. **No lost updates** on the read-modify-write of referrals, cases and notices.
//!
//! Inside one replica, writers queue for the replica's group commit ([`super::group`]) before they
//! take a pooled connection, so queued writers never hold pooled connections while they wait for the
//! lock, and reads keep flowing. Writers that queue while one runs join its transaction, each in a
//! savepoint, and share its commit: one fsync and one turn of the advisory lock for up to 32 use
//! cases. Each is answered only after that commit.
//!
//! Reads outside a write transaction (`events_after`, `org_by_id`, `audit_of_case`, `ping`) use the
//! pool directly, at `READ COMMITTED`.
//!
//! The cost is throughput across replicas: one group commits at a time, bounded by the disk's fsync
//! rate (about 1.4k commits/s on the reference machine). Batching amortises it within a use case:
//! bulk notice submission writes 500 records per transaction.
//!
//! Text is sorted with `COLLATE "C"` (byte order), as SQLite's default BINARY collation sorts,
//! whatever the database's locale. Consents carry a `seq` column standing in for SQLite's implicit
//! rowid (their insertion order).
//!
//! Errors map like the SQLite backend: a unique violation is `Conflict`; connection, pool, lock-timeout
//! and serialisation errors are `Unavailable` (the caller may retry with the same idempotency key);
//! anything else is `Other`, logged here.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Connection, Postgres, Row};

use super::group::{Conn, GroupCommit, Opening};
use super::health::HealthCell;
use super::sealed::{self, KeyTable, Sealing};
use super::shared::{impl_key_table, impl_store, impl_tx, impl_tx_helpers};
use super::{
    AuditEntry, AuditHead, AuditQuery, AuditRecord, AuditSeal, Condition, DataRequestQuery, IdempotentResponse,
    MailQuery, MigrationMode, OUTBOX_COUNTS, Outage, OutboxCounts, PoolUsage, ReferralQuery, Store, StoreError,
    StoreTimeouts, Tx, audit_record, audit_seal, certificate_of, chain_links, claimed_mails,
};
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::case::Case;
use crate::domain::certificate::{IssuedCertificate, Serial};
use crate::domain::consent::Consent;
use crate::domain::data_request::DataRequest;
use crate::domain::document::DocumentMeta;
use crate::domain::erasure::Erasure;
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, ConsentId, DataRequestId, NoticeId, OrgId, ReferralId};
use crate::domain::mail::{JobStatus, MailJob};
use crate::domain::note::Note;
use crate::domain::notice::Notice;
use crate::domain::org::Organisation;
use crate::domain::referral::Referral;
use crate::domain::staff::{StaffAccount, StaffSession, Username};
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::ConsentStatus;
use crate::vault::{Vault, WrappedKey};

/// Begins a write transaction and takes the advisory lock every write transaction holds, in one
/// simple query (one round trip instead of two). The key, 1464358210 = 0x57485542, is "WHUB" in
/// ASCII.
const BEGIN_LOCKED: &str = "BEGIN; SELECT pg_advisory_xact_lock(1464358210)";

/// How long a writer waits for the advisory lock (held by a writer of another replica) before the
/// server gives up with 55P03; the whole begin is bounded by the shorter connect timeout anyway.
const LOCK_TIMEOUT: &str = "30s";

/// How much longer than the connect timeout a bounded wait lasts (see [`PgStore::bounded`]).
const BOUND_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// Pooled connections per replica.
const MAX_CONNECTIONS: u32 = 10;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    health: HealthCell,
    timeouts: StoreTimeouts,
    /// Write transactions: this replica's queued use cases share one transaction and one commit (see
    /// [`super::group`]); the advisory lock serialises replicas.
    group: GroupCommit<Postgres>,
    vault: Arc<Vault>,
}

fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        sqlx::Error::Database(db) if let Some(outage) = db.code().as_deref().and_then(outage_of_sqlstate) => {
            tracing::warn!(error = %e, %outage, "postgres cannot do it now");
            StoreError::Unavailable(outage)
        }
        // No connection within the connect timeout (the server refuses or does not answer), or the
        // connection broke.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => {
            tracing::warn!(error = %e, "postgres unreachable");
            StoreError::Unavailable(Outage::Unreachable)
        }
        _ => {
            tracing::error!(error = %e, "postgres error");
            StoreError::Other(e.to_string())
        }
    }
}

/// The outage a SQLSTATE means, when a retry may succeed: connection exceptions (08) and operator
/// intervention such as a server shutdown (57P) an unreachable database; disk full (53100) a full one;
/// other insufficient resources (53), serialisation failure, deadlock and lock timeout (40001, 40P01,
/// 55P03) a busy one; an I/O error (58030) an I/O error.
fn outage_of_sqlstate(code: &str) -> Option<Outage> {
    match code {
        "53100" => Some(Outage::Full),
        "58030" => Some(Outage::Io),
        "40001" | "40P01" | "55P03" => Some(Outage::Busy),
        c if c.starts_with("08") || c.starts_with("57P") => Some(Outage::Unreachable),
        c if c.starts_with("53") => Some(Outage::Busy),
        _ => None,
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(format!("encode: {e}")))
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| {
        tracing::error!(error = %e, "undecodable row");
        StoreError::Other(format!("decode: {e}"))
    })
}

fn bad_url(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("bad database url: {e}"))
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    // A writer waiting longer than LOCK_TIMEOUT for the advisory lock (or any lock) gives up with 55P03.
    Ok(PgConnectOptions::from_str(url).map_err(bad_url)?.options([("lock_timeout", LOCK_TIMEOUT)]))
}

/// The PostgreSQL migrations (`migrations/postgres`), built into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

async fn migrations_table_exists(conn: &mut PgConnection) -> Result<bool, StoreError> {
    // Resolved through the search path, as sqlx resolves the unqualified table name.
    sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
        .bind(MIGRATOR.table_name.as_ref())
        .fetch_one(conn)
        .await
        .map_err(map_err)
}

/// Applies the pending migrations on a connection of its own, closed afterwards: the migration lock
/// is a session-level advisory lock, and a connection that failed while holding it must not go back
/// into a pool. Replicas migrating at the same moment wait for each other; the second finds nothing
/// to do.
async fn apply_migrations(options: &PgConnectOptions) -> Result<Vec<String>, StoreError> {
    let mut conn = PgConnection::connect_with(options).await.map_err(map_err)?;
    let applied = super::migration::apply(&MIGRATOR, &mut conn).await;
    let _ = conn.close().await;
    applied
}

/// Applies the pending migrations of the database at `url`; see [`super::migrate`].
pub(super) async fn migrate(url: &str) -> Result<Vec<String>, StoreError> {
    apply_migrations(&connect_options(url)?).await
}

/// The pending migrations of the database at `url`; see [`super::pending_migrations`]. Creates nothing.
pub(super) async fn pending_migrations(url: &str) -> Result<Vec<String>, StoreError> {
    let mut conn = PgConnection::connect_with(&connect_options(url)?).await.map_err(map_err)?;
    let pending = check_current(&mut conn).await;
    let _ = conn.close().await;
    Ok(pending?.into_iter().map(super::migration::name).collect())
}

async fn check_current(conn: &mut PgConnection) -> Result<Vec<&'static sqlx::migrate::Migration>, StoreError> {
    let exists = migrations_table_exists(conn).await?;
    super::migration::pending(&MIGRATOR, conn, exists).await
}

impl PgStore {
    /// Connects to a `postgres://` (or `postgresql://`) URL and applies pending migrations. Replicas
    /// may start at the same moment: the migrator takes its own advisory lock.
    pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Self, StoreError> {
        Self::open_with(url, MigrationMode::Apply, vault).await
    }

    /// Connects to a `postgres://` (or `postgresql://`) URL, handling pending migrations as `mode`
    /// says (see [`super::open_with`]). `RequireCurrent` only reads the bookkeeping table.
    pub async fn open_with(url: &str, mode: MigrationMode, vault: Arc<Vault>) -> Result<Self, StoreError> {
        Self::open_configured(url, mode, vault, StoreTimeouts::default()).await
    }

    /// [`PgStore::open_with`] with the configured timeouts.
    pub async fn open_configured(
        url: &str,
        mode: MigrationMode,
        vault: Arc<Vault>,
        timeouts: StoreTimeouts,
    ) -> Result<Self, StoreError> {
        let options = connect_options(url)?;
        match mode {
            MigrationMode::Apply => {
                apply_migrations(&options).await?;
            }
            MigrationMode::RequireCurrent => {
                let mut conn = PgConnection::connect_with(&options).await.map_err(map_err)?;
                let pending = check_current(&mut conn).await;
                let _ = conn.close().await;
                let pending = pending?;
                if !pending.is_empty() {
                    return Err(super::migration::refuse(&pending));
                }
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // Connecting while the server is down is retried until this passes: a call fails after
            // the connect timeout, not after a client's deadline.
            .acquire_timeout(timeouts.connect)
            // A connection whose commit failed mid-way goes back with its rollback queued; one still
            // counting an open transaction is not reused.
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        let health = HealthCell::new();
        let group = GroupCommit::new(pool.clone(), begin_locked, health.clone(), map_err);
        Ok(Self { pool, health, timeouts, group, vault })
    }
}

/// Creates the empty database `name` on the server of `server_url` (any database there to connect
/// to, e.g. `postgres`) and returns the URL of the new database. For tests and set-up scripts:
/// `name` must be a plain identifier (letters, digits, underscore).
pub async fn create_database(server_url: &str, name: &str) -> Result<String, StoreError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Other(format!("database name '{name}' is not a plain identifier")));
    }
    let mut conn = sqlx::PgConnection::connect_with(&connect_options(server_url)?).await.map_err(map_err)?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .map_err(map_err)?;
    let _ = conn.close().await;
    Ok(with_database(server_url, name))
}

/// `url` with its database path replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl PgStore {
    fn tx(&self, tx: Conn<Postgres>) -> Box<dyn Tx> {
        Box::new(PgTx { tx, audit_prev: None, sealing: Sealing::new(self.vault.clone()) })
    }

    /// `f`, failing as unavailable (the known outage, else busy) when it takes longer than the connect
    /// timeout (and a little more: the pool's wait for a connection ends at the connect timeout, and
    /// when both would end together, the pool's own error says better why: the database is
    /// unreachable).
    async fn bounded<T>(&self, f: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeouts.connect + BOUND_GRACE, f)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable(self.health.timed_out())))
    }

    /// Reads and writes share the one pool.
    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    /// See [`PgStore::read_pool`].
    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Opens a write transaction that holds the advisory lock every writer of every replica takes, in
/// one round trip (`BEGIN_LOCKED`).
fn begin_locked(pool: PgPool) -> Opening<Postgres> {
    Box::pin(async move { pool.begin_with(BEGIN_LOCKED).await })
}

impl_store!(PgStore {
    fn pool_usage(&self) -> PoolUsage {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUsage { in_use: self.pool.size().saturating_sub(idle), idle }
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let outcome =
            self.bounded(async { sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err).map(drop) }).await;
        self.health.record(&outcome);
        outcome
    }

    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        // The whole wait (this replica's writer queue, a connection, the advisory lock) is bounded by
        // the connect timeout: during an outage queued writers fail together, not one after another.
        let waited = std::time::Instant::now();
        let began = self.bounded(async { Ok(self.tx(Conn::Write(self.group.begin().await?))) }).await;
        crate::telemetry::metrics::write_lock_wait(waited.elapsed());
        if began.is_err() {
            // Only failures: a begin succeeds even when the disk is full, the commit tells.
            self.health.record(&began);
        }
        began
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        // No gate and no advisory lock: a read-only snapshot never waits for writers.
        let tx = self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(map_err)?;
        Ok(self.tx(Conn::Read(tx)))
    }

    async fn claim_mails(
        &self,
        owner: &str,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> Result<Vec<MailJob>, StoreError> {
        // Without the global write lock: SKIP LOCKED lets the dispatchers of several replicas claim
        // disjoint rows at once, and a row claimed here is invisible to their concurrent claims.
        let rows = sqlx::query(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2
             WHERE seq IN (SELECT seq FROM outbox WHERE status = $3 AND next_attempt_at <= $4
                           AND (lease_until IS NULL OR lease_until < $4)
                           ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED)
             RETURNING seq, body",
        )
        .bind(owner)
        .bind(lease_until.millis())
        .bind(JobStatus::Pending.as_str())
        .bind(now.millis())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        claimed_mails(&rows)
    }
});

/// A read snapshot, or a write use case's place in this replica's group commit, whose transaction
/// holds the advisory lock until the group ends. A member dropped without `commit` rolls back to its
/// savepoint; a group's transaction dropped unfinished is rolled back when its connection returns to
/// the pool, which also releases the lock.
struct PgTx {
    tx: Conn<Postgres>,
    /// The hash the next audit record chains to, once read in this transaction (the advisory lock
    /// keeps every other writer out until commit).
    audit_prev: Option<String>,
    sealing: Sealing,
}

impl PgTx {
    /// Draws `n` values of `table.column`'s identity sequence, ascending. Called under the write
    /// lock, so they are above every committed value and the rows inserted with them keep their order.
    async fn next_ids(&mut self, table: &str, column: &str, n: usize) -> Result<Vec<i64>, StoreError> {
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3)")
                .bind(table)
                .bind(column)
                .bind(i64::try_from(n).unwrap_or(i64::MAX))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        ids.sort_unstable();
        Ok(ids)
    }
}

/// An update or delete of one row by its key: none changed means it does not exist.
fn expect_one_row(result: PgQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

impl_tx_helpers!(PgTx);

impl_tx!(PgTx {
    async fn consents_of_case(&mut self, case: &CaseId) -> Result<Vec<Consent>, StoreError> {
        // `seq` is the insertion order SQLite keeps in its implicit rowid.
        self.many("SELECT body FROM consents WHERE case_id = $1 ORDER BY seq", Some(case.as_str())).await
    }

    async fn consents_expired_before(&mut self, today: Day) -> Result<Vec<Consent>, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM consents WHERE status = $1 AND valid_until < $2 ORDER BY seq")
                .bind(ConsentStatus::Active.as_str())
                .bind(today.to_string())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        sealed::open_all(self, bodies).await
    }

    async fn notices_by_keys(&mut self, keys: &[String]) -> Result<Vec<Notice>, StoreError> {
        let hashed: Vec<String> = keys.iter().map(|k| self.sealing.vault.index_hash(k)).collect();
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM notices WHERE notice_key = ANY($1)")
            .bind(&hashed)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sealed::open_all(self, bodies).await
    }

    async fn insert_notices(&mut self, notices: &[Notice]) -> Result<(), StoreError> {
        let n = notices.len();
        let (mut ids, mut keys, mut reporters, mut cases) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut received, mut updated, mut bodies) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut new_keys = Vec::new();
        for notice in notices {
            let scope = notice_scope(notice);
            let body = if notice.case_id.is_none() {
                // Sealed under a key of its own, which cannot exist yet: no look-up.
                let (body, key) = sealed::seal_fresh(self, &scope, notice)?;
                new_keys.push((scope, key));
                body
            } else {
                sealed::seal(self, &scope, notice).await?
            };
            ids.push(notice.id.as_str());
            keys.push(self.sealing.vault.index_hash(&notice.key()));
            reporters.push(notice.reporter.as_ref().map(OrgId::as_str));
            cases.push(notice.case_id.as_ref().map(CaseId::as_str));
            received.push(notice.received_at.millis());
            updated.push(notice.updated_at.millis());
            bodies.push(body);
        }
        self.insert_keys(&new_keys).await?;
        sqlx::query(
            "INSERT INTO notices (id, notice_key, reporter_id, case_id, received_at, updated_at, body)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])",
        )
        .bind(&ids)
        .bind(&keys)
        .bind(&reporters)
        .bind(&cases)
        .bind(&received)
        .bind(&updated)
        .bind(&bodies)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_notice(&mut self, n: &Notice) -> Result<(), StoreError> {
        let body = sealed::seal(self, &notice_scope(n), n).await?;
        let key = self.sealing.vault.index_hash(&n.key());
        sqlx::query(
            "INSERT INTO notices (id, notice_key, reporter_id, case_id, received_at, updated_at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(n.id.as_str())
        .bind(key)
        .bind(n.reporter.as_ref().map(OrgId::as_str))
        .bind(n.case_id.as_ref().map(CaseId::as_str))
        .bind(n.received_at.millis())
        .bind(n.updated_at.millis())
        .bind(body)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn append_events(&mut self, events: &[Event]) -> Result<Vec<u64>, StoreError> {
        if events.len() < 2 {
            let mut out = Vec::new();
            for e in events {
                out.push(self.append_event(e).await?);
            }
            return Ok(out);
        }
        let cursors = self.next_ids("events", "cursor", events.len()).await?;
        let mut audiences = Vec::with_capacity(events.len());
        let mut ats = Vec::with_capacity(events.len());
        let mut cases = Vec::with_capacity(events.len());
        let mut bodies = Vec::with_capacity(events.len());
        for e in events {
            audiences.push(e.audience.as_str());
            ats.push(e.at.millis());
            cases.push(e.case_id.as_str());
            bodies.push(to_json(e)?);
        }
        sqlx::query(
            "INSERT INTO events (cursor, audience_id, occurred_at, case_id, body) OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[])",
        )
        .bind(&cursors)
        .bind(&audiences)
        .bind(&ats)
        .bind(&cases)
        .bind(&bodies)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(cursors.into_iter().map(|c| u64::try_from(c).unwrap_or(0)).collect())
    }

    async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.len() < 2 {
            for a in entries {
                self.append_audit(a).await?;
            }
            return Ok(());
        }
        let links = chain_links(self.audit_chain_prev().await?, entries);
        let seqs = self.next_ids("audit_log", "seq", entries.len()).await?;
        let n = entries.len();
        let (mut ats, mut actors, mut staff, mut actions) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut cases, mut referrals, mut bases, mut details) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for a in entries {
            ats.push(a.at.millis());
            actors.push(a.actor.as_str());
            staff.push(a.staff.as_deref());
            actions.push(a.action.as_str());
            cases.push(a.case_id.as_ref().map(CaseId::as_str));
            referrals.push(a.referral_id.as_ref().map(ReferralId::as_str));
            bases.push(a.legal_basis.as_str());
            details.push(a.detail.stored());
        }
        let (prevs, mut hashes): (Vec<String>, Vec<String>) = links.into_iter().unzip();
        // Explicit positions drawn in order under the write lock: the chain's order is the order of
        // `seq`, whatever order the server inserts the rows in.
        sqlx::query(
            "INSERT INTO audit_log (seq, occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis,
                                    detail, prev_hash, hash) OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])",
        )
        .bind(&seqs)
        .bind(&ats)
        .bind(&actors)
        .bind(&staff)
        .bind(&actions)
        .bind(&cases)
        .bind(&referrals)
        .bind(&bases)
        .bind(&details)
        .bind(&prevs)
        .bind(&hashes)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.audit_prev = hashes.pop();
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let PgTx { tx, sealing, .. } = *self;
        tx.commit(map_err).await?;
        sealing.committed();
        Ok(())
    }
});

/// The scope a notice is sealed under: its case once taken up, else the notice itself.
fn notice_scope(n: &Notice) -> String {
    n.case_id.as_ref().map_or_else(|| n.id.as_str().to_owned(), |c| c.as_str().to_owned())
}

impl_key_table!(PgTx {
    async fn insert_keys(&mut self, keys: &[(String, WrappedKey)]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let scopes: Vec<&str> = keys.iter().map(|(s, _)| s.as_str()).collect();
        let masters: Vec<&str> = keys.iter().map(|(_, k)| k.master_id.as_str()).collect();
        let wrapped: Vec<&str> = keys.iter().map(|(_, k)| k.wrapped.as_str()).collect();
        sqlx::query(
            "INSERT INTO data_keys (scope, master_id, wrapped, created_at)
             SELECT s, m, w, $4 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS k(s, m, w)",
        )
        .bind(&scopes)
        .bind(&masters)
        .bind(&wrapped)
        .bind(sealed::now_millis())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn load_keys(&mut self, scopes: &[String]) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        let rows = sqlx::query("SELECT scope, master_id, wrapped FROM data_keys WHERE scope = ANY($1)")
            .bind(scopes)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(sealed::scoped_key).collect()
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locking_begin_takes_the_hubs_write_lock() {
        let key = BEGIN_LOCKED.strip_prefix("BEGIN; SELECT pg_advisory_xact_lock(").and_then(|k| k.strip_suffix(')'));
        let key: i64 = key.and_then(|k| k.parse().ok()).expect("one integer key");
        assert_eq!(key.to_be_bytes(), [0, 0, 0, 0, b'W', b'H', b'U', b'B']);
    }

    #[test]
    fn database_name_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(with_database("postgresql://u@h:1/db?sslmode=disable", "x"), "postgresql://u@h:1/x?sslmode=disable");
    }

    #[test]
    fn sqlstates_name_their_outage() {
        assert_eq!(outage_of_sqlstate("08006"), Some(Outage::Unreachable));
        assert_eq!(outage_of_sqlstate("57P01"), Some(Outage::Unreachable));
        assert_eq!(outage_of_sqlstate("53100"), Some(Outage::Full));
        assert_eq!(outage_of_sqlstate("58030"), Some(Outage::Io));
        for busy in ["40001", "40P01", "55P03", "53300"] {
            assert_eq!(outage_of_sqlstate(busy), Some(Outage::Busy), "{busy}");
        }
        assert_eq!(outage_of_sqlstate("23505"), None);
        assert_eq!(outage_of_sqlstate("23503"), None);
    }
}
