//! SQLite's limits, measured through the C library itself (rusqlite over the libsqlite3-sys the hub links):
//! one prepared statement per table, reused for every row, one transaction per batch, WAL with
//! `synchronous=FULL` as the hub opens its database. No driver thread, no async hand-off: the fastest way
//! this machine's SQLite can do the same work, so a ratio against it says how much the hub adds.
//! Runs on a blocking thread; the caller awaits it.

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, params};

use crate::raw::body;
use crate::stats::{self, Figures};

/// A fresh database file at `path`, opened like the hub's (WAL, `synchronous=FULL`).
fn open(path: &Path) -> anyhow::Result<Connection> {
    let _ = std::fs::remove_file(path);
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "wal")?;
    c.pragma_update(None, "synchronous", "full")?;
    Ok(c)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

const TABLE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, body TEXT NOT NULL)";

/// `n` single-row INSERTs, each its own commit (autocommit), through one reused prepared statement.
pub async fn single(dir: &Path, n: u64) -> anyhow::Result<Figures> {
    inserts(dir.join("limit-single.db"), n, None).await
}

/// `n` rows in commits of `batch` rows, one reused prepared statement. Latency is per commit; ops are rows.
pub async fn batched(dir: &Path, n: u64, batch: u64) -> anyhow::Result<Figures> {
    inserts(dir.join("limit-batch.db"), n, Some(batch)).await
}

/// `n` rows into a fresh table at `path`, in transactions of `batch` rows, or each row committed on its own.
async fn inserts(path: std::path::PathBuf, n: u64, batch: Option<u64>) -> anyhow::Result<Figures> {
    blocking(move || {
        let c = open(&path)?;
        c.execute_batch(TABLE)?;
        let mut insert = c.prepare("INSERT INTO t (k, body) VALUES (?1, ?2)")?;
        let mut h = stats::histogram();
        let t0 = Instant::now();
        let mut i = 0;
        while i < n {
            let t = Instant::now();
            if batch.is_some() {
                c.execute_batch("BEGIN")?;
            }
            for _ in 0..batch.unwrap_or(1).min(n - i) {
                insert.execute(params![format!("k{i}"), body(i)])?;
                i += 1;
            }
            if batch.is_some() {
                c.execute_batch("COMMIT")?;
            }
            stats::record(&mut h, t.elapsed());
        }
        let f = Figures { ops: n, secs: t0.elapsed().as_secs_f64(), ..Default::default() }.with_latency(&h);
        drop(insert);
        drop(c);
        remove(&path);
        Ok(f)
    })
    .await
}

/// A notice row as the hub stores it: id, key, reporter, case, received at, updated at, sealed body.
type NoticeRow = (String, String, Option<String>, Option<String>, i64, i64, String);

/// The rows the hub stored for a stream of notices: its notice rows and their NOTICE_RECEIVED events,
/// with the hub's schema for those two tables, and the mean size of a stored (sealed) notice body.
pub struct HubRows {
    schema: Vec<String>,
    notices: Vec<NoticeRow>,
    events: Vec<(String, i64, String)>,
    /// Mean bytes of a stored notice body.
    pub body_bytes: u64,
}

impl HubRows {
    /// Number of notice rows.
    pub fn count(&self) -> u64 {
        self.notices.len() as u64
    }
}

/// Reads the rows back from the hub's database file.
pub async fn hub_rows(hub_db: &Path) -> anyhow::Result<HubRows> {
    let hub_db = hub_db.to_owned();
    blocking(move || {
        let c = Connection::open_with_flags(&hub_db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let schema = c
            .prepare(
                "SELECT sql FROM sqlite_master WHERE tbl_name IN ('notices', 'events') AND sql IS NOT NULL
                 ORDER BY type DESC",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let notices = c
            .prepare("SELECT id, notice_key, reporter_id, case_id, received_at, updated_at, body FROM notices")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let events = c
            .prepare(
                "SELECT audience_id, occurred_at, body FROM events
                 WHERE body LIKE '%NOTICE_RECEIVED%' OR body LIKE '%NoticeReceived%'",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let total: usize = notices.iter().map(|n: &NoticeRow| n.6.len()).sum();
        let body_bytes = if notices.is_empty() { 0 } else { (total / notices.len()) as u64 };
        Ok(HubRows { schema, notices, events, body_bytes })
    })
    .await
}

/// The hub's notice and event rows inserted into a fresh file with the hub's schema (its indexes
/// included), in commits of `batch` notices with their events: SQLite's bulk path (it has no COPY).
pub async fn copy(rows: std::sync::Arc<HubRows>, dir: &Path, batch: usize) -> anyhow::Result<Figures> {
    let path = dir.join("limit-copy.db");
    blocking(move || {
        let c = open(&path)?;
        for s in &rows.schema {
            c.execute_batch(s)?;
        }
        let mut insert_notice = c.prepare(
            "INSERT INTO notices (id, notice_key, reporter_id, case_id, received_at, updated_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut insert_event = c.prepare("INSERT INTO events (audience_id, occurred_at, body) VALUES (?1, ?2, ?3)")?;
        let t0 = Instant::now();
        // Each commit takes `batch` notices and an equal share of the events, as the hub's stream commits them.
        let commits = rows.notices.len().div_ceil(batch).max(1);
        let event_share = rows.events.len().div_ceil(commits).max(1);
        for k in 0..commits {
            let notices = rows.notices.iter().skip(k * batch).take(batch);
            let events = rows.events.iter().skip(k * event_share).take(event_share);
            c.execute_batch("BEGIN")?;
            for n in notices {
                insert_notice.execute(params![n.0, n.1, n.2, n.3, n.4, n.5, n.6])?;
            }
            for e in events {
                insert_event.execute(params![e.0, e.1, e.2])?;
            }
            c.execute_batch("COMMIT")?;
        }
        let f = Figures { ops: rows.count(), secs: t0.elapsed().as_secs_f64(), ..Default::default() };
        drop((insert_notice, insert_event));
        drop(c);
        remove(&path);
        Ok(f)
    })
    .await
}

/// Removes a database file and its WAL companions.
fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
