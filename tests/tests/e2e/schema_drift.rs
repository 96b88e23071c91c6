//! The two migration trees stay in step: starting from nothing, `migrations/sqlite` and
//! `migrations/postgres` produce the same tables with the same columns and the same unique keys.
//!
//! Needs PostgreSQL (`HUB_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`): without
//! it the test fails under CI (`CI` set) and is skipped with a message otherwise (see `pg_server`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, Row};

/// Columns PostgreSQL has and SQLite does not show, each with its reason.
const PG_ONLY_COLUMNS: &[(&str, &str, &str)] =
    &[("consents", "seq", "stands in for SQLite's implicit rowid (insertion order of consents)")];

/// Unique keys every backend must enforce: the rules the hub relies on for at-most-once.
const REQUIRED_UNIQUE: &[(&str, &[&str])] = &[
    ("notices", &["notice_key"]),
    ("referrals", &["id"]),
    ("idempotency", &["key", "scope"]),
    ("organisations", &["id"]),
];

type Columns = BTreeMap<String, BTreeSet<String>>;
type UniqueKeys = BTreeSet<(String, Vec<String>)>;

fn pg_server() -> Option<String> {
    hub_testkit::postgres_for_test("the schema drift test")
}

async fn sqlite_schema() -> (Columns, UniqueKeys) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    hub::store::sqlite::SqliteStore::open(&path, std::sync::Arc::new(hub::vault::Vault::ephemeral()))
        .await
        .expect("SQLite migrations apply to an empty file");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("connect");

    let mut columns = Columns::new();
    let rows = sqlx::query(
        "SELECT m.name AS tbl, p.name AS col, p.pk AS pk FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'
         ORDER BY m.name, p.pk",
    )
    .fetch_all(&mut conn)
    .await
    .expect("SQLite columns");
    let mut primary: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rows {
        let (table, column, pk): (String, String, i64) = (r.get("tbl"), r.get("col"), r.get("pk"));
        if pk > 0 {
            primary.entry(table.clone()).or_default().push(column.clone());
        }
        columns.entry(table).or_default().insert(column);
    }

    // Primary keys (an INTEGER PRIMARY KEY has no index of its own) and unique indexes.
    let mut unique: UniqueKeys = primary.into_iter().map(|(t, c)| (t, sorted(c))).collect();
    let rows = sqlx::query(
        "SELECT m.name AS tbl, l.name AS idx, i.name AS col FROM sqlite_master m
           JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' AND l.\"unique\" = 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("SQLite unique indexes");
    let mut by_index: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in &rows {
        by_index.entry((r.get("tbl"), r.get("idx"))).or_default().push(r.get("col"));
    }
    unique.extend(by_index.into_iter().map(|((t, _), c)| (t, sorted(c))));
    (columns, unique)
}

async fn postgres_schema(server: &str) -> (Columns, UniqueKeys) {
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let url = hub::store::postgres::create_database(server, &name).await.expect("fresh PostgreSQL database");
    hub::store::postgres::PgStore::open(&url, std::sync::Arc::new(hub::vault::Vault::ephemeral()))
        .await
        .expect("PostgreSQL migrations apply to an empty database");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");

    let mut columns = Columns::new();
    let rows = sqlx::query(
        "SELECT table_name::text AS tbl, column_name::text AS col FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("PostgreSQL columns");
    for r in &rows {
        columns.entry(r.get("tbl")).or_default().insert(r.get("col"));
    }

    // Every unique index (primary keys and UNIQUE constraints are backed by one).
    let rows = sqlx::query(
        "SELECT t.relname::text AS tbl, i.relname::text AS idx, a.attname::text AS col
         FROM pg_index x
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
         WHERE n.nspname = 'public' AND x.indisunique AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("PostgreSQL unique indexes");
    let mut by_index: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in &rows {
        by_index.entry((r.get("tbl"), r.get("idx"))).or_default().push(r.get("col"));
    }
    let unique = by_index.into_iter().map(|((t, _), c)| (t, sorted(c))).collect();
    let _ = conn.close().await;
    (columns, unique)
}

fn sorted(mut c: Vec<String>) -> Vec<String> {
    c.sort();
    c
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let Some(server) = pg_server() else { return };
    let (lite_cols, lite_unique) = sqlite_schema().await;
    let (mut pg_cols, mut pg_unique) = postgres_schema(&server).await;

    for (table, column, why) in PG_ONLY_COLUMNS {
        let present = pg_cols.get_mut(*table).is_some_and(|cols| cols.remove(*column));
        assert!(present, "PG_ONLY_COLUMNS lists {table}.{column} ({why}), but PostgreSQL has no such column");
        pg_unique.retain(|(t, cols)| !(t == table && cols.iter().any(|c| c == column)));
    }

    let lite_tables: BTreeSet<&String> = lite_cols.keys().collect();
    let pg_tables: BTreeSet<&String> = pg_cols.keys().collect();
    assert_eq!(lite_tables, pg_tables, "tables (SQLite left, PostgreSQL right)");
    assert!(lite_tables.len() >= 9, "the core and notices migrations ran: {lite_tables:?}");
    for (table, cols) in &lite_cols {
        assert_eq!(Some(cols), pg_cols.get(table), "columns of {table} (SQLite left, PostgreSQL right)");
    }

    for (table, cols) in REQUIRED_UNIQUE {
        let key = ((*table).to_owned(), cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>());
        assert!(lite_unique.contains(&key), "SQLite must keep {table}({}) unique: {lite_unique:?}", cols.join(", "));
        assert!(pg_unique.contains(&key), "PostgreSQL must keep {table}({}) unique: {pg_unique:?}", cols.join(", "));
    }
    assert_eq!(lite_unique, pg_unique, "unique keys (SQLite left, PostgreSQL right)");
}
