//! Explicit migrations (`hub migrate`) and `auto_migrate = false`: on both backends a store opened with
//! `MigrationMode::RequireCurrent` refuses a database with pending migrations, naming them, and creates
//! nothing; `migrate` applies them and says which; then the store opens. The `hub` binary does the same
//! as a process: `serve` with `HUB_AUTO_MIGRATE=false` exits non-zero, `hub migrate` succeeds.
//!
//! The PostgreSQL tests need `HUB_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`):
//! without it they fail under CI (`CI` set) and are skipped with a message otherwise (see `pg_server`).

use crate::process;

use process::{Replica, hub_binary, hub_command};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hub::store::{MigrationMode, StoreError};
use sqlx::Connection;

fn pg_server() -> Option<String> {
    hub_testkit::postgres_for_test("the migration tests")
}

/// The migrations of a backend as the hub names them (`0001_core.sql` is `0001 core`), oldest first,
/// read from the migration folder so the test follows new migrations.
fn expected_migrations(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".sql").map(str::to_owned))
        .map(|stem| {
            let (version, description) = stem.split_once('_').expect("migration file named VERSION_DESCRIPTION");
            let version: i64 = version.parse().expect("numeric migration version");
            format!("{version:04} {}", description.replace('_', " "))
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no migrations in {}", dir.display());
    names
}

/// The message of a failed open, or a panic naming what opened.
async fn refused(url: &str) -> String {
    match hub::store::open_with(url, MigrationMode::RequireCurrent, keys()).await {
        Ok(_) => panic!("RequireCurrent opened {url} although migrations are pending"),
        Err(e) => e.to_string(),
    }
}

/// (a) refuses and creates nothing, (b) migrate applies and reports, again reports nothing,
/// (c) opens. `tables` counts the tables of the database.
async fn check_backend<F, Fut>(backend: &str, url: &str, tables: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let expected = expected_migrations(backend);

    // (a)
    let message = refused(url).await;
    for name in &expected {
        assert!(message.contains(name.as_str()), "the refusal names pending migration {name:?}: {message}");
    }
    assert!(message.contains("hub migrate"), "the refusal says what to do: {message}");
    assert_eq!(tables().await, 0, "RequireCurrent on an empty database creates no tables");
    assert_eq!(hub::store::pending_migrations(url).await.expect("pending migrations"), expected);
    assert_eq!(tables().await, 0, "checking for pending migrations creates no tables");

    // (b)
    let applied = hub::store::migrate(url).await.expect("migrate applies the pending migrations");
    assert_eq!(applied, expected, "migrate reports what it applied, oldest first");
    assert!(tables().await > 0, "migrate created the schema");
    let again = hub::store::migrate(url).await.expect("a second migrate succeeds");
    assert!(again.is_empty(), "a second migrate has nothing to do: {again:?}");
    assert!(hub::store::pending_migrations(url).await.expect("pending migrations").is_empty());

    // (c)
    let store =
        hub::store::open_with(url, MigrationMode::RequireCurrent, keys()).await.expect("a current database opens");
    store.probe().await.expect("the store answers");
}

/// A migration whose file changed after it was applied is refused in both modes.
async fn check_changed_checksum(url: &str, tamper: impl std::future::Future<Output = ()>) {
    tamper.await;
    for (what, result) in [
        ("RequireCurrent", hub::store::open_with(url, MigrationMode::RequireCurrent, keys()).await.map(|_| ())),
        ("Apply", hub::store::open_with(url, MigrationMode::Apply, keys()).await.map(|_| ())),
        ("migrate", hub::store::migrate(url).await.map(|_| ())),
    ] {
        match result {
            Ok(()) => panic!("{what} accepted a migration applied with a different checksum"),
            Err(StoreError::Other(m)) => assert!(m.contains("checksum"), "{what}: {m}"),
            Err(e) => panic!("{what}: unexpected error {e}"),
        }
    }
}

#[tokio::test]
async fn sqlite_require_current_refuses_until_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let tables = || async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("connect");
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
            .fetch_one(&mut conn)
            .await
            .expect("count tables");
        let _ = conn.close().await;
        n
    };
    check_backend("sqlite", &url, tables).await;

    check_changed_checksum(&url, async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("connect");
        sqlx::query("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1")
            .execute(&mut conn)
            .await
            .expect("tamper");
        let _ = conn.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_require_current_refuses_until_migrated() {
    let Some(server) = pg_server() else { return };
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let url = hub::store::postgres::create_database(&server, &name).await.expect("create the test database");
    let tables = || async {
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_one(&mut conn)
        .await
        .expect("count tables");
        let _ = conn.close().await;
        n
    };
    check_backend("postgres", &url, tables).await;

    check_changed_checksum(&url, async {
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea WHERE version = 1")
            .execute(&mut conn)
            .await
            .expect("tamper");
        let _ = conn.close().await;
    })
    .await;
}

// ---- the `hub` binary as a process ----

/// Kills the child on drop (also when the test panics).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits at most `limit` for the child to exit; `None` if it still runs.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn serve_without_auto_migrate_refuses_a_fresh_database_until_hub_migrate() {
    let bin = hub_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("UTF-8 temp path");
    let expected = expected_migrations("sqlite");

    // serve with HUB_AUTO_MIGRATE=false exits non-zero and names the pending migrations.
    let child = hub_command(&bin, &["serve", "--data-dir", data_arg, "--listen", "127.0.0.1:0"])
        .env("HUB_AUTO_MIGRATE", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hub serve");
    let mut guard = KillOnDrop(child);
    let status = wait_bounded(&mut guard.0, Duration::from_secs(60))
        .expect("hub serve with pending migrations and HUB_AUTO_MIGRATE=false must exit, not serve");
    let mut stderr = String::new();
    std::io::Read::read_to_string(guard.0.stderr.as_mut().expect("stderr"), &mut stderr).expect("read stderr");
    assert!(!status.success(), "hub serve must fail: {status}; stderr: {stderr}");
    assert!(stderr.contains("pending migration"), "stderr names the problem: {stderr}");
    for name in &expected {
        assert!(stderr.contains(name.as_str()), "stderr names {name:?}: {stderr}");
    }
    assert!(stderr.contains("hub migrate"), "stderr says what to do: {stderr}");
    drop(guard);

    // hub migrate applies them and says so; a second run is up to date.
    let out = hub_command(&bin, &["migrate", "--data-dir", data_arg]).output().expect("run hub migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "hub migrate: {}; stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    for name in &expected {
        assert!(stdout.contains(&format!("applied {name}")), "hub migrate reports {name:?}: {stdout}");
    }
    let out = hub_command(&bin, &["migrate", "--data-dir", data_arg]).output().expect("run hub migrate again");
    assert!(out.status.success(), "second hub migrate: {}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "up to date");

    // Now serve starts without migrating: it reaches "listening" (Replica waits for that line).
    let mut serve = hub_command(&bin, &["serve", "--data-dir", data_arg, "--listen", "127.0.0.1:0"]);
    serve.env("HUB_AUTO_MIGRATE", "false");
    drop(Replica::spawn("migrated", serve));
}

/// Master keys for a store opened directly (these tests look at migrations, not at sealed data).
fn keys() -> std::sync::Arc<hub::vault::Vault> {
    std::sync::Arc::new(hub::vault::Vault::ephemeral())
}
