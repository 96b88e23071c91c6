//! The physical references measured with plain sqlx: single-row INSERT commits and batches on
//! SQLite (WAL, `synchronous=FULL`, as the hub opens it), single-row INSERTs at equal concurrency
//! and COPY on PostgreSQL, and the same notice rows the hub stored copied into fresh tables.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor, Row};

use crate::load::{self, Stop};
use crate::stats::{self, Figures};

/// A row body the size of a referral's JSON (about 1 KB of text).
pub fn body(i: u64) -> String {
    format!("{{\"id\":\"ref-{i:016}\",\"pad\":\"{}\"}}", "x".repeat(960))
}

async fn sqlite_conn(path: &Path) -> anyhow::Result<SqliteConnection> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    Ok(SqliteConnection::connect_with(&opts).await?)
}

/// SQLite: `n` single-row INSERTs, each its own commit (autocommit).
pub async fn sqlite_single(dir: &Path, n: u64) -> anyhow::Result<Figures> {
    let path = dir.join("raw-single.db");
    let mut c = sqlite_conn(&path).await?;
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, body TEXT NOT NULL)").await?;
    let c = Arc::new(tokio::sync::Mutex::new(c));
    let f = load::closed_loop(1, Stop::Ops(n), None, move |_, i| {
        let c = c.clone();
        async move {
            sqlx::query("INSERT INTO t (k, body) VALUES (?, ?)")
                .bind(format!("k{i}"))
                .bind(body(i))
                .execute(&mut *c.lock().await)
                .await?;
            Ok(())
        }
    })
    .await?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

/// SQLite: `n` rows in commits of `batch` rows. Latency is per commit; ops are rows.
pub async fn sqlite_batched(dir: &Path, n: u64, batch: u64) -> anyhow::Result<Figures> {
    let path = dir.join("raw-batch.db");
    let mut c = sqlite_conn(&path).await?;
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, body TEXT NOT NULL)").await?;
    let mut h = stats::histogram();
    let t0 = Instant::now();
    let mut i = 0;
    while i < n {
        let t = Instant::now();
        let mut tx = c.begin().await?;
        for _ in 0..batch.min(n - i) {
            sqlx::query("INSERT INTO t (k, body) VALUES (?, ?)")
                .bind(format!("k{i}"))
                .bind(body(i))
                .execute(&mut *tx)
                .await?;
            i += 1;
        }
        tx.commit().await?;
        stats::record(&mut h, t.elapsed());
    }
    let f = Figures { ops: n, secs: t0.elapsed().as_secs_f64(), ..Default::default() }.with_latency(&h);
    drop(c);
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

/// A PostgreSQL pool of `n` connections.
pub async fn pg_pool(url: &str, n: u32) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(n)
        .min_connections(n)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(PgConnectOptions::from_str(url)?)
        .await?)
}

/// PostgreSQL: `n` single-row INSERTs (autocommit) from `clients` connections at once.
pub async fn pg_single(url: &str, table: &str, clients: usize, n: u64) -> anyhow::Result<Figures> {
    let pool = pg_pool(url, u32::try_from(clients)?).await?;
    pool.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, k TEXT NOT NULL UNIQUE, body TEXT NOT NULL)"
    )))
    .await?;
    let sql: &'static str = Box::leak(format!("INSERT INTO {table} (k, body) VALUES ($1, $2)").into_boxed_str());
    let p = pool.clone();
    let f = load::closed_loop(clients, Stop::Ops(n), None, move |_, i| {
        let p = p.clone();
        async move {
            sqlx::query(sql).bind(format!("k{i}")).bind(body(i)).execute(&p).await?;
            Ok(())
        }
    })
    .await?;
    pool.close().await;
    Ok(f)
}

/// The rows the hub stored for the notices of a run (PostgreSQL, text COPY format): notices and
/// their events, read back from the hub's tables.
pub struct PgRows {
    notices: Vec<u8>,
    events: Vec<u8>,
    /// Number of notice rows.
    pub count: u64,
}

async fn copy_out(c: &mut sqlx::PgConnection, sql: &str) -> anyhow::Result<Vec<u8>> {
    use tokio_stream::StreamExt;
    let mut out = Vec::new();
    let mut s = c.copy_out_raw(sql).await?;
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Reads the hub's notice rows and NOTICE_RECEIVED event rows.
pub async fn pg_read_rows(url: &str) -> anyhow::Result<PgRows> {
    let mut c = sqlx::PgConnection::connect(url).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notices").fetch_one(&mut c).await?;
    let notices = copy_out(
        &mut c,
        "COPY (SELECT id, notice_key, reporter_id, case_id, received_at, updated_at, body FROM notices) TO STDOUT",
    )
    .await?;
    let events = copy_out(
        &mut c,
        "COPY (SELECT audience_id, occurred_at, body FROM events WHERE body LIKE '%NOTICE_RECEIVED%' OR body LIKE '%NoticeReceived%') TO STDOUT",
    )
    .await?;
    Ok(PgRows { notices, events, count: u64::try_from(count)? })
}

/// COPY of the same rows into fresh tables with the hub's columns and indexes, in one transaction.
pub async fn pg_copy(url: &str, rows: &PgRows, suffix: &str) -> anyhow::Result<Figures> {
    let mut c = sqlx::PgConnection::connect(url).await?;
    c.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE ref_notices_{suffix} (LIKE notices INCLUDING ALL); CREATE TABLE ref_events_{suffix} (LIKE events INCLUDING ALL)"
    )))
    .await?;
    let t0 = Instant::now();
    let mut tx = c.begin().await?;
    let mut cp = tx
        .copy_in_raw(&format!(
            "COPY ref_notices_{suffix} (id, notice_key, reporter_id, case_id, received_at, updated_at, body) FROM STDIN"
        ))
        .await?;
    for chunk in rows.notices.chunks(1 << 20) {
        cp.send(chunk).await?;
    }
    cp.finish().await?;
    let mut cp =
        tx.copy_in_raw(&format!("COPY ref_events_{suffix} (audience_id, occurred_at, body) FROM STDIN")).await?;
    for chunk in rows.events.chunks(1 << 20) {
        cp.send(chunk).await?;
    }
    cp.finish().await?;
    tx.commit().await?;
    Ok(Figures { ops: rows.count, secs: t0.elapsed().as_secs_f64(), ..Default::default() })
}

/// SQLite has no COPY: the same notice and event rows the hub stored, inserted into a fresh file
/// with the hub's schema for those tables, in commits of `batch` rows (prepared statements).
pub async fn sqlite_copy(hub_db: &Path, dir: &Path, batch: usize) -> anyhow::Result<Figures> {
    let mut src = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(hub_db).read_only(true)).await?;
    let schema: Vec<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE tbl_name IN ('notices', 'events') AND sql IS NOT NULL ORDER BY type DESC",
    )
    .fetch_all(&mut src)
    .await?;
    let notices =
        sqlx::query("SELECT id, notice_key, reporter_id, case_id, received_at, updated_at, body FROM notices")
            .fetch_all(&mut src)
            .await?;
    let events = sqlx::query(
        "SELECT audience_id, occurred_at, body FROM events WHERE body LIKE '%NOTICE_RECEIVED%' OR body LIKE '%NoticeReceived%'",
    )
    .fetch_all(&mut src)
    .await?;
    drop(src);
    let path = dir.join("raw-copy.db");
    let mut c = sqlite_conn(&path).await?;
    for s in schema {
        c.execute(sqlx::AssertSqlSafe(s)).await?;
    }
    let t0 = Instant::now();
    for chunk in notices.chunks(batch) {
        let mut tx = c.begin().await?;
        for r in chunk {
            sqlx::query("INSERT INTO notices (id, notice_key, reporter_id, case_id, received_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(r.try_get::<String, _>(0)?)
                .bind(r.try_get::<String, _>(1)?)
                .bind(r.try_get::<Option<String>, _>(2)?)
                .bind(r.try_get::<Option<String>, _>(3)?)
                .bind(r.try_get::<i64, _>(4)?)
                .bind(r.try_get::<i64, _>(5)?)
                .bind(r.try_get::<String, _>(6)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    for chunk in events.chunks(batch) {
        let mut tx = c.begin().await?;
        for r in chunk {
            sqlx::query("INSERT INTO events (audience_id, occurred_at, body) VALUES (?, ?, ?)")
                .bind(r.try_get::<String, _>(0)?)
                .bind(r.try_get::<i64, _>(1)?)
                .bind(r.try_get::<String, _>(2)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let f = Figures { ops: notices.len() as u64, secs: t0.elapsed().as_secs_f64(), ..Default::default() };
    drop(c);
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

/// Creates a fresh database on the server of `admin_url` and returns its URL.
pub async fn pg_create_db(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut c = sqlx::PgConnection::connect(admin_url).await?;
    c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await?;
    c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
    Ok(format!("{base}/{name}"))
}

/// Drops a database (forcing other sessions off).
pub async fn pg_drop_db(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut c = sqlx::PgConnection::connect(admin_url).await?;
    c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await?;
    Ok(())
}
