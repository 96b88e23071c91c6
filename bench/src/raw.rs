//! The PostgreSQL references, measured with plain sqlx: single-row INSERTs at equal concurrency, and COPY of
//! the notice and event rows the hub stored into fresh tables. (SQLite's are in `limit`.)

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor};

use crate::load::{self, Stop};
use crate::stats::Figures;

/// A row body the size of a referral's JSON (about 1 KB of text).
pub fn body(i: u64) -> String {
    format!("{{\"id\":\"ref-{i:016}\",\"pad\":\"{}\"}}", "x".repeat(960))
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
    /// Mean bytes of a stored (sealed) notice body.
    pub body_bytes: u64,
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
    let body_bytes: i64 = sqlx::query_scalar("SELECT COALESCE(avg(octet_length(body)), 0)::bigint FROM notices")
        .fetch_one(&mut c)
        .await?;
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
    Ok(PgRows { notices, events, count: u64::try_from(count)?, body_bytes: u64::try_from(body_bytes)? })
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
