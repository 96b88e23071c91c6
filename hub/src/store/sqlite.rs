//! SQLite backend: the embedded default. WAL with `synchronous=FULL`, so an acknowledged write
//! survives a crash; one writer connection (SQLite allows one writer anyway, and queueing in the
//! pool is cheaper than busy-waiting) and a few reader connections for the event streams.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite};

use super::group::{Conn, GroupCommit, Opening};
use super::health::{self, HealthCell};
use super::sealed::{self, KeyTable, Sealing};
use super::shared::{impl_key_table, impl_store, impl_tx, impl_tx_helpers};
use super::{
    AuditEntry, AuditHead, AuditQuery, AuditRecord, AuditSeal, Condition, DataRequestQuery, IdempotentResponse,
    MailQuery, MigrationMode, OUTBOX_COUNTS, Outage, OutboxCounts, PoolUsage, ReferralQuery, Store, StoreError, Tx,
    audit_record, audit_seal, certificate_of, chain_links, claimed_mails,
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

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    /// Write transactions: queued use cases share one commit (see [`super::group`]).
    group: GroupCommit<Sqlite>,
    reader: SqlitePool,
    vault: Arc<Vault>,
    health: HealthCell,
    /// The database file, whose file system the probe checks for room.
    file: std::path::PathBuf,
}

fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        sqlx::Error::Database(db) if let Some(outage) = db.code().as_deref().and_then(outage_of_code) => {
            tracing::warn!(error = %e, %outage, "sqlite cannot do it now");
            StoreError::Unavailable(outage)
        }
        // The single writer connection is queued for: a long queue is a busy database.
        sqlx::Error::PoolTimedOut => StoreError::Unavailable(Outage::Busy),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Outage::Unreachable),
        sqlx::Error::Io(_) => {
            tracing::warn!(error = %e, "sqlite I/O error");
            StoreError::Unavailable(Outage::Io)
        }
        _ => {
            tracing::error!(error = %e, "sqlite error");
            StoreError::Other(e.to_string())
        }
    }
}

/// The outage a SQLite result code means, by its primary code (the low byte of the extended code):
/// BUSY (5) and LOCKED (6) a busy database, IOERR (10) an I/O error, FULL (13) a full disk, CANTOPEN
/// (14) a database file that cannot be opened.
fn outage_of_code(code: &str) -> Option<Outage> {
    match code.parse::<i32>().ok()? & 0xff {
        5 | 6 => Some(Outage::Busy),
        10 | 14 => Some(Outage::Io),
        13 => Some(Outage::Full),
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

/// The SQLite migrations (`migrations/sqlite`), built into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Connection options every connection uses: WAL, `synchronous=FULL`, foreign keys, a busy timeout.
fn base_options(opts: SqliteConnectOptions) -> SqliteConnectOptions {
    opts.create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Deleted content is overwritten, not left in free pages: erasure leaves no plaintext
        // fragments (and sealed ones are unreadable without their destroyed key anyway).
        .pragma("secure_delete", "ON")
}

fn url_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let opts = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Other(format!("bad database url: {e}")))?;
    Ok(base_options(opts))
}

async fn migrations_table_exists(conn: &mut SqliteConnection) -> Result<bool, StoreError> {
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)")
        .bind(MIGRATOR.table_name.as_ref())
        .fetch_one(conn)
        .await
        .map_err(map_err)
}

/// Applies the pending migrations of the database at `url`; see [`super::migrate`].
pub(super) async fn migrate(url: &str) -> Result<Vec<String>, StoreError> {
    let mut conn = SqliteConnection::connect_with(&url_options(url)?).await.map_err(map_err)?;
    let applied = super::migration::apply(&MIGRATOR, &mut conn).await;
    let _ = conn.close().await;
    applied
}

/// The pending migrations of the database at `url`; see [`super::pending_migrations`].
pub(super) async fn pending_migrations(url: &str) -> Result<Vec<String>, StoreError> {
    let mut conn = SqliteConnection::connect_with(&url_options(url)?).await.map_err(map_err)?;
    let exists = migrations_table_exists(&mut conn).await?;
    let pending = super::migration::pending(&MIGRATOR, &mut conn, exists).await;
    let _ = conn.close().await;
    Ok(pending?.into_iter().map(super::migration::name).collect())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path, vault: Arc<Vault>) -> Result<Self, StoreError> {
        Self::connect(base_options(SqliteConnectOptions::new().filename(path)), MigrationMode::Apply, vault).await
    }

    /// Opens a `sqlite://...` URL and applies pending migrations.
    pub async fn open_url(url: &str, vault: Arc<Vault>) -> Result<Self, StoreError> {
        Self::open_url_with(url, MigrationMode::Apply, vault).await
    }

    /// Opens a `sqlite://...` URL (creating the file if needed), handling pending migrations as
    /// `mode` says (see [`super::open_with`]).
    pub async fn open_url_with(url: &str, mode: MigrationMode, vault: Arc<Vault>) -> Result<Self, StoreError> {
        Self::connect(url_options(url)?, mode, vault).await
    }

    async fn connect(opts: SqliteConnectOptions, mode: MigrationMode, vault: Arc<Vault>) -> Result<Self, StoreError> {
        let file = opts.get_filename().to_path_buf();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // A statement or commit that failed with a full disk or an I/O error can leave the
            // connection inside a transaction SQLite has already rolled back: the rollback on drop
            // then fails and every later BEGIN would too. Such a connection is closed here, after
            // the queued rollback ran (the ping waits for it), and the pool opens a fresh one.
            .after_release(|conn, _| {
                Box::pin(async move {
                    conn.ping().await?;
                    let clean = !conn.is_in_transaction();
                    if !clean {
                        tracing::warn!("sqlite writer connection left inside a transaction; replacing it");
                    }
                    Ok(clean)
                })
            })
            .connect_with(opts.clone())
            .await
            .map_err(map_err)?;
        {
            let mut conn = writer.acquire().await.map_err(map_err)?;
            match mode {
                MigrationMode::Apply => {
                    super::migration::apply(&MIGRATOR, &mut *conn).await?;
                }
                MigrationMode::RequireCurrent => {
                    let exists = migrations_table_exists(&mut conn).await?;
                    let pending = super::migration::pending(&MIGRATOR, &mut *conn, exists).await?;
                    if !pending.is_empty() {
                        return Err(super::migration::refuse(&pending));
                    }
                }
            }
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.read_only(true))
            .await
            .map_err(map_err)?;
        let health = HealthCell::new();
        let group = GroupCommit::new(writer.clone(), begin_immediate, health.clone(), map_err);
        Ok(Self { writer, group, reader, vault, health, file })
    }

    fn tx(&self, tx: Conn<Sqlite>) -> Box<dyn Tx> {
        Box::new(SqliteTx { tx, audit_prev: None, sealing: Sealing::new(self.vault.clone()) })
    }

    /// Reads go to the read-only pool (WAL snapshots, no write lock).
    fn read_pool(&self) -> &sqlx::SqlitePool {
        &self.reader
    }

    /// Writes go to the single writer connection.
    fn write_pool(&self) -> &sqlx::SqlitePool {
        &self.writer
    }

    /// Room on the database's file system, unless it cannot be told (an in-memory database).
    fn check_room(&self) -> Result<(), StoreError> {
        let dir = match self.file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        match health::available_bytes(dir) {
            Ok(free) if free < health::MIN_FREE_BYTES => {
                tracing::warn!(free, dir = %dir.display(), "the database's file system is (nearly) full");
                Err(StoreError::Unavailable(Outage::Full))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(error = %e, "no free-space check for the database");
                Ok(())
            }
        }
    }
}

/// Opens a write transaction with `BEGIN IMMEDIATE`, which takes SQLite's write lock up front, so a
/// read-then-write never fails half-way.
fn begin_immediate(pool: SqlitePool) -> Opening<Sqlite> {
    Box::pin(async move { pool.begin_with("BEGIN IMMEDIATE").await })
}

impl_store!(SqliteStore {
    fn pool_usage(&self) -> PoolUsage {
        let (size, idle) = (self.writer.size() + self.reader.size(), self.writer.num_idle() + self.reader.num_idle());
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        PoolUsage { in_use: size.saturating_sub(idle), idle }
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let answered = tokio::time::timeout(Duration::from_secs(5), sqlx::query("SELECT 1").execute(&self.reader))
            .await
            .map_err(|_| StoreError::Unavailable(self.health.timed_out()))
            .and_then(|r| r.map_err(map_err));
        let outcome = answered.and_then(|_| self.check_room());
        self.health.record(&outcome);
        outcome
    }

    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let waited = std::time::Instant::now();
        let member = self.group.begin().await;
        crate::telemetry::metrics::write_lock_wait(waited.elapsed());
        Ok(self.tx(Conn::Write(member?)))
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        // A deferred transaction on a read-only connection: a WAL snapshot, no write lock.
        let tx = self.reader.begin().await.map_err(map_err)?;
        Ok(self.tx(Conn::Read(tx)))
    }

    async fn claim_mails(
        &self,
        owner: &str,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> Result<Vec<MailJob>, StoreError> {
        // One statement on the single writer connection: claims cannot overlap.
        let rows = sqlx::query(
            "UPDATE outbox SET lease_owner = ?, lease_until = ?
             WHERE seq IN (SELECT seq FROM outbox WHERE status = ? AND next_attempt_at <= ?
                           AND (lease_until IS NULL OR lease_until < ?) ORDER BY seq LIMIT ?)
             RETURNING seq, body",
        )
        .bind(owner)
        .bind(lease_until.millis())
        .bind(JobStatus::Pending.as_str())
        .bind(now.millis())
        .bind(now.millis())
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(map_err)?;
        claimed_mails(&rows)
    }
});

struct SqliteTx {
    tx: Conn<Sqlite>,
    /// The hash the next audit record chains to, once read in this transaction (the single writer
    /// connection serialises writers, so nobody else appends meanwhile; an earlier member of the same
    /// group commit has appended before this one began).
    audit_prev: Option<String>,
    sealing: Sealing,
}

impl SqliteTx {
    /// Inserts a notice's row with its sealed body.
    async fn insert_notice_row(&mut self, n: &Notice, body: String) -> Result<(), StoreError> {
        let key = self.sealing.vault.index_hash(&n.key());
        sqlx::query(
            "INSERT INTO notices (id, notice_key, reporter_id, case_id, received_at, updated_at, body)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
}

/// An update or delete of one row by its key: none changed means it does not exist.
fn expect_one_row(result: sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

impl_tx_helpers!(SqliteTx);

impl_tx!(SqliteTx {
    async fn consents_of_case(&mut self, case: &CaseId) -> Result<Vec<Consent>, StoreError> {
        self.many("SELECT body FROM consents WHERE case_id = $1 ORDER BY rowid", Some(case.as_str())).await
    }

    async fn consents_expired_before(&mut self, today: Day) -> Result<Vec<Consent>, StoreError> {
        let day = today.to_string();
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM consents WHERE status = $1 AND valid_until < $2 ORDER BY rowid")
                .bind(ConsentStatus::Active.as_str())
                .bind(day)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        sealed::open_all(self, bodies).await
    }

    async fn append_events(&mut self, events: &[Event]) -> Result<Vec<u64>, StoreError> {
        if events.len() < 2 {
            let mut out = Vec::new();
            for e in events {
                out.push(self.append_event(e).await?);
            }
            return Ok(out);
        }
        // One statement for the batch (each statement is a hand-off to sqlx's worker thread): the rows
        // travel as one JSON array and are inserted in its order, so their cursors ascend with it.
        let rows = events
            .iter()
            .map(|e| Ok((e.audience.as_str(), e.at.millis(), e.case_id.as_str(), to_json(e)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut cursors: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO events (audience_id, occurred_at, case_id, body)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($1) ORDER BY key
             RETURNING cursor",
        )
        .bind(to_json(&rows)?)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if cursors.len() != events.len() {
            return Err(StoreError::Other(format!("{} events stored of {}", cursors.len(), events.len())));
        }
        // RETURNING names no order; the insert's order is the cursors' order.
        cursors.sort_unstable();
        Ok(cursors.into_iter().map(|c| u64::try_from(c).unwrap_or(0)).collect())
    }

    async fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.len() < 2 {
            for a in entries {
                self.append_audit(a).await?;
            }
            return Ok(());
        }
        // Chained here in order, then inserted in one statement in the same order, so `seq` (the
        // chain's order) follows the chain.
        let links = chain_links(self.audit_chain_prev().await?, entries);
        let rows: Vec<_> = entries
            .iter()
            .zip(&links)
            .map(|(a, (prev_hash, hash))| {
                (
                    a.at.millis(),
                    a.actor.as_str(),
                    a.staff.as_deref(),
                    a.action.as_str(),
                    a.case_id.as_ref().map(CaseId::as_str),
                    a.referral_id.as_ref().map(ReferralId::as_str),
                    a.legal_basis.as_str(),
                    a.detail.stored(),
                    prev_hash,
                    hash,
                )
            })
            .collect();
        sqlx::query(
            "INSERT INTO audit_log (occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis, detail,
                                    prev_hash, hash)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                    value ->> 7, value ->> 8, value ->> 9
             FROM json_each($1) ORDER BY key",
        )
        .bind(to_json(&rows)?)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.audit_prev = links.into_iter().next_back().map(|(_, hash)| hash);
        Ok(())
    }

    async fn insert_notices(&mut self, notices: &[Notice]) -> Result<(), StoreError> {
        // A new notice's own scope cannot have a data key yet: no look-up. The keys and the rows go in
        // one statement each (rows as a JSON array through json_each).
        let mut new_keys = Vec::new();
        let mut rows = Vec::with_capacity(notices.len());
        for n in notices {
            let scope = notice_scope(n);
            let body = if n.case_id.is_none() {
                let (body, key) = sealed::seal_fresh(self, &scope, n)?;
                new_keys.push((scope, key));
                body
            } else {
                sealed::seal(self, &scope, n).await?
            };
            rows.push((
                n.id.as_str(),
                self.sealing.vault.index_hash(&n.key()),
                n.reporter.as_ref().map(OrgId::as_str),
                n.case_id.as_ref().map(CaseId::as_str),
                n.received_at.millis(),
                n.updated_at.millis(),
                body,
            ));
        }
        self.insert_keys(&new_keys).await?;
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO notices (id, notice_key, reporter_id, case_id, received_at, updated_at, body)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6
             FROM json_each($1) ORDER BY key",
        )
        .bind(to_json(&rows)?)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_notice(&mut self, n: &Notice) -> Result<(), StoreError> {
        let body = sealed::seal(self, &notice_scope(n), n).await?;
        self.insert_notice_row(n, body).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let SqliteTx { tx, sealing, .. } = *self;
        tx.commit(map_err).await?;
        sealing.committed();
        Ok(())
    }
});

/// The scope a notice is sealed under: its case once taken up, else the notice itself.
fn notice_scope(n: &Notice) -> String {
    n.case_id.as_ref().map_or_else(|| n.id.as_str().to_owned(), |c| c.as_str().to_owned())
}

impl_key_table!(SqliteTx {
    async fn insert_keys(&mut self, keys: &[(String, WrappedKey)]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&str, &str, &str)> =
            keys.iter().map(|(s, k)| (s.as_str(), k.master_id.as_str(), k.wrapped.as_str())).collect();
        sqlx::query(
            "INSERT INTO data_keys (scope, master_id, wrapped, created_at)
             SELECT value ->> 0, value ->> 1, value ->> 2, $2 FROM json_each($1) ORDER BY key",
        )
        .bind(to_json(&rows)?)
        .bind(sealed::now_millis())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
});

#[cfg(test)]
mod outage_tests {
    use super::*;

    #[test]
    fn result_codes_name_their_outage_by_primary_code() {
        assert_eq!(outage_of_code("13"), Some(Outage::Full));
        assert_eq!(outage_of_code("778"), Some(Outage::Io), "SQLITE_IOERR_WRITE");
        assert_eq!(outage_of_code("1034"), Some(Outage::Io), "SQLITE_IOERR_FSYNC");
        assert_eq!(outage_of_code("5"), Some(Outage::Busy));
        assert_eq!(outage_of_code("517"), Some(Outage::Busy), "SQLITE_BUSY_SNAPSHOT");
        assert_eq!(outage_of_code("2067"), None, "a unique violation is no outage");
        assert_eq!(outage_of_code("x"), None);
    }
}
