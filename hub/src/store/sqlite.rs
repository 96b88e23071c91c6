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
use sqlx::{Connection, Row, Sqlite, Transaction};

use super::health::{self, HealthCell};
use super::sealed::{self, KeyTable, Sealing};
use super::shared::impl_tx;
use super::{
    AuditEntry, AuditHead, AuditQuery, AuditRecord, AuditSeal, Condition, DataRequestQuery, IdempotentResponse,
    MailQuery, MigrationMode, OUTBOX_COUNTS, Outage, OutboxCounts, PoolUsage, ReferralQuery, Store, StoreError, Tx,
    certificate_of,
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
        Ok(Self { writer, reader, vault, health: HealthCell::new(), file })
    }

    fn tx(&self, tx: Transaction<'static, Sqlite>, health: Option<HealthCell>) -> Box<dyn Tx> {
        Box::new(SqliteTx { tx, audit_prev: None, sealing: Sealing::new(self.vault.clone()), health })
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

#[async_trait]
impl Store for SqliteStore {
    fn condition(&self) -> tokio::sync::watch::Receiver<Condition> {
        self.health.subscribe()
    }

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
        // IMMEDIATE takes the write lock up front, so a read-then-write never fails half-way.
        let waited = std::time::Instant::now();
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err);
        crate::telemetry::metrics::write_lock_wait(waited.elapsed());
        if tx.is_err() {
            // Only failures: a begin succeeds even on a full disk, the commit tells.
            self.health.record(&tx);
        }
        Ok(self.tx(tx?, Some(self.health.clone())))
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        // A deferred transaction on a read-only connection: a WAL snapshot, no write lock.
        let tx = self.reader.begin().await.map_err(map_err)?;
        Ok(self.tx(tx, None))
    }

    async fn events_after(&self, audience: &OrgId, cursor: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        let rows =
            sqlx::query("SELECT cursor, body FROM events WHERE audience_id = ? AND cursor > ? ORDER BY cursor LIMIT ?")
                .bind(audience.as_str())
                .bind(cursor)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let mut e: Event = from_json(r.try_get::<&str, _>("body").map_err(map_err)?)?;
                e.cursor = u64::try_from(r.try_get::<i64, _>("cursor").map_err(map_err)?).unwrap_or(0);
                Ok(e)
            })
            .collect()
    }

    async fn org_by_id(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query("SELECT body FROM organisations WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err)?;
        row.map(|r| from_json(r.try_get::<&str, _>("body").map_err(map_err)?)).transpose()
    }

    async fn audit_of_case(&self, case: &CaseId) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis, detail
             FROM audit_log WHERE case_id = ? ORDER BY seq",
        )
        .bind(case.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let id = |col: &str| -> Result<Option<String>, StoreError> { r.try_get(col).map_err(map_err) };
                Ok(AuditEntry {
                    at: Instant::from_millis(r.try_get("occurred_at").map_err(map_err)?),
                    actor: r.try_get("actor_id").map_err(map_err)?,
                    staff: r.try_get("staff_member").map_err(map_err)?,
                    action: AuditAction::parse(&r.try_get::<String, _>("action").map_err(map_err)?)
                        .ok_or_else(|| StoreError::Other("unknown audit action".into()))?,
                    case_id: id("case_id")?
                        .map(|s| CaseId::parse(&s))
                        .transpose()
                        .map_err(|e| StoreError::Other(e.to_string()))?,
                    referral_id: id("referral_id")?
                        .map(|s| ReferralId::parse(&s))
                        .transpose()
                        .map_err(|e| StoreError::Other(e.to_string()))?,
                    legal_basis: r.try_get("legal_basis").map_err(map_err)?,
                    detail: AuditDetail::read(&r.try_get::<String, _>("detail").map_err(map_err)?),
                })
            })
            .collect()
    }

    async fn release_mail_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?")
            .bind(owner)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn renew_mail_leases(&self, owner: &str, until: Instant) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE outbox SET lease_until = ? WHERE lease_owner = ?")
            .bind(until.millis())
            .bind(owner)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
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
        let mut jobs: Vec<(i64, MailJob)> = rows
            .iter()
            .map(|r| {
                Ok((r.try_get("seq").map_err(map_err)?, from_json(r.try_get::<&str, _>("body").map_err(map_err)?)?))
            })
            .collect::<Result<_, StoreError>>()?;
        jobs.sort_by_key(|(seq, _)| *seq);
        Ok(jobs.into_iter().map(|(_, j)| j).collect())
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    /// The hash the next audit record chains to, once read in this transaction (the single writer
    /// connection serialises writers, so nobody else appends meanwhile).
    audit_prev: Option<String>,
    sealing: Sealing,
    /// Where a write transaction records its commit's outcome (`None` for reads).
    health: Option<HealthCell>,
}

/// An audit row with its chain columns (ids kept as stored text; see [`AuditRecord`]).
fn audit_record(r: &sqlx::sqlite::SqliteRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: r.try_get("seq").map_err(map_err)?,
        at: Instant::from_millis(r.try_get("occurred_at").map_err(map_err)?),
        actor: r.try_get("actor_id").map_err(map_err)?,
        staff: r.try_get("staff_member").map_err(map_err)?,
        action: r.try_get("action").map_err(map_err)?,
        case_id: r.try_get("case_id").map_err(map_err)?,
        referral_id: r.try_get("referral_id").map_err(map_err)?,
        legal_basis: r.try_get("legal_basis").map_err(map_err)?,
        detail: r.try_get("detail").map_err(map_err)?,
        prev_hash: r.try_get("prev_hash").map_err(map_err)?,
        hash: r.try_get("hash").map_err(map_err)?,
    })
}

fn audit_seal(r: &sqlx::sqlite::SqliteRow) -> Result<AuditSeal, StoreError> {
    Ok(AuditSeal {
        seq: r.try_get("seq").map_err(map_err)?,
        hash: r.try_get("hash").map_err(map_err)?,
        sealed_at: Instant::from_millis(r.try_get("sealed_at").map_err(map_err)?),
        signature: r.try_get("signature").map_err(map_err)?,
    })
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

    /// The row's `body`, opened (sealed bodies with their scope's key; plain ones as they are).
    async fn one<T: DeserializeOwned>(&mut self, sql: &'static str, id: &str) -> Result<Option<T>, StoreError> {
        let body: Option<String> =
            sqlx::query_scalar(sql).bind(id).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        match body {
            Some(b) => Ok(Some(sealed::open(self, &b).await?)),
            None => Ok(None),
        }
    }

    async fn many<T: DeserializeOwned>(&mut self, sql: &'static str, arg: Option<&str>) -> Result<Vec<T>, StoreError> {
        let mut q = sqlx::query_scalar(sql);
        if let Some(a) = arg {
            q = q.bind(a);
        }
        let bodies: Vec<String> = q.fetch_all(&mut *self.tx).await.map_err(map_err)?;
        sealed::open_all(self, bodies).await
    }

    /// The case a referral belongs to (the scope its notes are sealed under).
    async fn case_of_referral(&mut self, referral: &ReferralId) -> Result<String, StoreError> {
        sqlx::query_scalar("SELECT case_id FROM referrals WHERE id = ?")
            .bind(referral.as_str())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)
    }
}

/// An update or delete of one row by its key: none changed means it does not exist.
fn expect_one_row(result: sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

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

    async fn referrals(&mut self, q: &ReferralQuery) -> Result<Vec<(i64, Referral)>, StoreError> {
        // Optional filters are written as `(?N IS NULL OR col = ?N)` so the statement stays static;
        // every parameter is numbered (SQLite numbers a bare `?` after the highest seen so far).
        let states: Option<String> = if q.states.is_empty() {
            None
        } else {
            Some(q.states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))
        };
        let rows = sqlx::query(
            "SELECT seq, body FROM referrals WHERE seq > $1
               AND ($2 IS NULL OR sender_id = $2) AND ($3 IS NULL OR recipient_id = $3)
               AND ($4 IS NULL OR sender_id = $4 OR recipient_id = $4)
               AND ($5 IS NULL OR instr(',' || $5 || ',', ',' || state || ',') > 0)
               AND ($6 IS NULL OR case_id = $6)
               AND ($7 IS NULL OR (state IN ('REQUESTED', 'RECEIVED') AND reply_by < $7))
               AND ($8 IS NULL OR created_at <= $8)
             ORDER BY seq LIMIT $9",
        )
        .bind(q.after_seq)
        .bind(q.sender.as_ref().map(OrgId::as_str))
        .bind(q.recipient.as_ref().map(OrgId::as_str))
        .bind(q.partner.as_ref().map(OrgId::as_str))
        .bind(states)
        .bind(q.case_id.as_ref().map(CaseId::as_str))
        .bind(q.overdue_on.map(|d| d.to_string()))
        .bind(q.created_before.map(Instant::millis))
        .bind(i64::from(q.limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get("seq").map_err(map_err)?;
            let body: String = r.try_get("body").map_err(map_err)?;
            out.push((seq, sealed::open(self, &body).await?));
        }
        Ok(out)
    }

    async fn insert_notices(&mut self, notices: &[Notice]) -> Result<(), StoreError> {
        // Statements are cheap in-process; what a batch saves is the look-up of a data key that a
        // new notice's own scope cannot have yet.
        for n in notices {
            if n.case_id.is_some() {
                self.insert_notice(n).await?;
                continue;
            }
            let scope = notice_scope(n);
            let (body, key) = sealed::seal_fresh(self, &scope, n)?;
            self.insert_key(&scope, &key).await?;
            self.insert_notice_row(n, body).await?;
        }
        Ok(())
    }

    async fn insert_notice(&mut self, n: &Notice) -> Result<(), StoreError> {
        let body = sealed::seal(self, &notice_scope(n), n).await?;
        self.insert_notice_row(n, body).await
    }

    async fn append_audit(&mut self, a: &AuditEntry) -> Result<(), StoreError> {
        let prev = match &self.audit_prev {
            Some(h) => h.clone(),
            None => match self.audit_head().await? {
                Some(AuditHead { hash: Some(h), .. }) => h,
                // Empty log, or only records from before the chain began.
                _ => crate::audit::GENESIS.to_owned(),
            },
        };
        let hash = crate::audit::record_hash(&prev, &crate::audit::Fields::from(a));
        sqlx::query(
            "INSERT INTO audit_log (occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis, detail,
                                    prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.at.millis())
        .bind(&a.actor)
        .bind(a.staff.as_deref())
        .bind(a.action.as_str())
        .bind(a.case_id.as_ref().map(CaseId::as_str))
        .bind(a.referral_id.as_ref().map(ReferralId::as_str))
        .bind(&a.legal_basis)
        .bind(a.detail.stored())
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.audit_prev = Some(hash);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let SqliteTx { tx, sealing, health, .. } = *self;
        let committed = tx.commit().await.map_err(map_err);
        if let Some(h) = &health {
            h.record(&committed);
        }
        committed?;
        sealing.committed();
        Ok(())
    }
});

/// The scope a notice is sealed under: its case once taken up, else the notice itself.
fn notice_scope(n: &Notice) -> String {
    n.case_id.as_ref().map_or_else(|| n.id.as_str().to_owned(), |c| c.as_str().to_owned())
}

#[async_trait]
impl KeyTable for SqliteTx {
    fn sealing(&mut self) -> &mut Sealing {
        &mut self.sealing
    }

    async fn load_key(&mut self, scope: &str) -> Result<Option<WrappedKey>, StoreError> {
        let row = sqlx::query("SELECT master_id, wrapped FROM data_keys WHERE scope = ?")
            .bind(scope)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(WrappedKey {
                master_id: r.try_get("master_id").map_err(map_err)?,
                wrapped: r.try_get("wrapped").map_err(map_err)?,
            })
        })
        .transpose()
    }

    async fn insert_key(&mut self, scope: &str, key: &WrappedKey) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO data_keys (scope, master_id, wrapped, created_at) VALUES (?, ?, ?, ?)")
            .bind(scope)
            .bind(&key.master_id)
            .bind(&key.wrapped)
            .bind(sealed::now_millis())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn replace_key(&mut self, scope: &str, key: &WrappedKey) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE data_keys SET master_id = ?, wrapped = ? WHERE scope = ?")
            .bind(&key.master_id)
            .bind(&key.wrapped)
            .bind(scope)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        expect_one_row(r)
    }

    async fn keys_not_wrapped_by(
        &mut self,
        master_id: &str,
        limit: u32,
    ) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        let rows =
            sqlx::query("SELECT scope, master_id, wrapped FROM data_keys WHERE master_id <> ? ORDER BY scope LIMIT ?")
                .bind(master_id)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("scope").map_err(map_err)?,
                    WrappedKey {
                        master_id: r.try_get("master_id").map_err(map_err)?,
                        wrapped: r.try_get("wrapped").map_err(map_err)?,
                    },
                ))
            })
            .collect()
    }

    async fn delete_key(&mut self, scope: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM data_keys WHERE scope = ?")
            .bind(scope)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected() > 0)
    }
}

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
