//! The tamper-evident audit trail: every audit record is hash-chained to the one before,
//! the scheduled work seals the chain's head with the hub's Ed25519 key, and verification names
//! where and how the trail was changed. Each tamper case changes the database directly with SQL, as
//! someone with database access (but without the key in the data directory) could, and checks that
//! `hub::audit::verify` reports exactly that. The `hub audit verify` and `hub audit export` binaries
//! are run once each. On SQLite by default, on PostgreSQL with `HUB_TEST_POSTGRES_URL`.

use crate::common;
use crate::process;

use common::*;
use hub::audit::{GENESIS, Problem, SealPublicKey, VerifyReport};
use hub::store::{AuditQuery, AuditRecord};
use process::{hub_binary, hub_command};
use sqlx::Connection;

/// Plays a few audited operations: open a case, record consent, refer to debt counselling, and the
/// reads of the referral (recipient) and the case (Fachstelle). Returns the case and referral ids.
async fn play(th: &TestHub) -> (String, String) {
    let case = open_case(th).await;
    let data = [DataCategory::Identity, DataCategory::Arrears];
    record_consent(th, &case, &[orgs::SCHULDNERBERATUNG], &data).await;
    let r = create_referral(th, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data).await;
    referral(th, orgs::SCHULDNERBERATUNG, &r.id).await;
    read_case(th, &case.id).await;
    referral(th, orgs::SCHULDNERBERATUNG, &r.id).await;
    (case.id, r.id)
}

/// Reads a case as the Fachstelle (an audited read).
async fn read_case(th: &TestHub, case_id: &str) {
    cases(th, orgs::FACHSTELLE).await.get_case(GetCaseRequest { case_id: case_id.to_owned() }).await.expect("GetCase");
}

/// Every audit record, oldest first, as the store reads it.
async fn records(th: &TestHub) -> Vec<AuditRecord> {
    let mut tx = th.store().begin_read().await.expect("read transaction");
    tx.audit_records(&AuditQuery { limit: 100_000, ..AuditQuery::default() }).await.expect("audit records")
}

fn public_key(th: &TestHub) -> SealPublicKey {
    SealPublicKey::load(&hub::audit::seal::public_key_file(th.data_dir())).expect("the hub wrote its seal public key")
}

async fn verify(th: &TestHub) -> VerifyReport {
    hub::audit::verify(th.store().as_ref(), Some(&public_key(th))).await.expect("verification runs")
}

/// Runs SQL (one or more statements) directly on the hub's database, bypassing the hub.
async fn tamper(th: &TestHub, sql: &str) {
    let url = th.database_url();
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("connect to SQLite");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("tamper with SQLite");
        let _ = c.close().await;
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect to PostgreSQL");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("tamper with PostgreSQL");
        let _ = c.close().await;
    }
}

/// An SQL string literal (the values come from the test itself).
fn lit(s: Option<&str>) -> String {
    s.map_or_else(|| "NULL".to_owned(), |s| format!("'{}'", s.replace('\'', "''")))
}

fn messages(report: &VerifyReport) -> String {
    report.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// A hub with the played operations, sealed; returns it with the records and the sealed position
/// (the newest record). The server's own scheduler may also have sealed while the standard network
/// was registered (it runs at start), so tamper cases pick their records among the played ones.
async fn sealed_hub() -> (TestHub, Vec<AuditRecord>, i64) {
    let th = start().await;
    play(&th).await;
    th.run_scheduled().await.expect("scheduled work");
    let log = records(&th).await;
    assert!(log.len() >= 6, "the played operations were audited: {log:?}");
    let report = verify(&th).await;
    assert!(report.is_intact(), "{}", messages(&report));
    let sealed = report.last_sealed_seq.expect("the scheduled work sealed the chain");
    assert_eq!(Some(sealed), log.last().map(|r| r.seq), "the seal covers the newest record");
    (th, log, sealed)
}

#[tokio::test]
async fn chain_is_written_sealed_and_verifies_intact() {
    let th = start().await;
    let (case_id, _) = play(&th).await;
    let log = records(&th).await;
    assert_eq!(log[0].prev_hash.as_deref(), Some(GENESIS), "the first record chains to the genesis value");
    for pair in log.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "seq {} chains to seq {}", pair[1].seq, pair[0].seq);
    }
    for r in &log {
        let prev = r.prev_hash.as_deref().unwrap_or_default();
        assert_eq!(r.hash.as_deref(), Some(hub::audit::record_hash(prev, &(r.into())).as_str()), "{r:?}");
    }

    // The server's own scheduler may have sealed the first records already (it runs at start).
    let report = verify(&th).await;
    assert!(report.is_intact(), "{}", messages(&report));
    assert!(report.unsealed > 0, "the played operations are not sealed yet: {report:?}");
    let seals = report.seals;

    th.run_scheduled().await.unwrap();
    let head = log.last().unwrap().seq;
    let report = verify(&th).await;
    assert!(report.is_intact(), "{}", messages(&report));
    assert_eq!(
        (report.records, report.seals, report.last_sealed_seq, report.unsealed),
        (log.len() as u64, seals + 1, Some(head), 0)
    );
    assert_eq!(
        report.summary(),
        format!("audit chain intact: {} records, {} seals, last sealed seq {head}", log.len(), seals + 1)
    );

    // Nothing new: no new seal. New records: sealed by the next run.
    th.run_scheduled().await.unwrap();
    assert_eq!(verify(&th).await.seals, seals + 1);
    read_case(&th, &case_id).await;
    let report = verify(&th).await;
    assert_eq!((report.seals, report.unsealed), (seals + 1, 1));
    th.run_scheduled().await.unwrap();
    let report = verify(&th).await;
    assert!(report.is_intact(), "{}", messages(&report));
    assert_eq!((report.seals, report.unsealed), (seals + 2, 0));
    assert!(report.last_sealed_seq > Some(head));
}

#[tokio::test]
async fn an_altered_record_is_named() {
    let (th, log, _) = sealed_hub().await;
    let victim = log[log.len() - 4].seq;
    tamper(&th, &format!("UPDATE audit_log SET detail = 'IDENTITY,HEALTH (geaendert)' WHERE seq = {victim}")).await;
    let report = verify(&th).await;
    assert_eq!(report.problems, [Problem::Altered { seq: victim }], "{}", messages(&report));
    assert!(messages(&report).contains(&format!("record seq {victim} was altered")), "{}", messages(&report));
    assert!(report.summary().starts_with("audit chain BROKEN"), "{}", report.summary());
}

#[tokio::test]
async fn a_deleted_record_is_named() {
    let (th, log, _) = sealed_hub().await;
    let n = log.len();
    let (before, victim, after) = (log[n - 5].seq, log[n - 4].seq, log[n - 3].seq);
    tamper(&th, &format!("DELETE FROM audit_log WHERE seq = {victim}")).await;
    let report = verify(&th).await;
    assert_eq!(report.problems, [Problem::Broken { seq: after, after: Some(before) }], "{}", messages(&report));
    let text = messages(&report);
    assert!(text.contains(&format!("a record before seq {after} was deleted or the chain was re-ordered")), "{text}");
}

#[tokio::test]
async fn an_inserted_record_is_named_even_when_the_forger_chains_it() {
    let th = start().await;
    play(&th).await;
    let log = records(&th).await;
    // The forger renumbers the records from position k on and puts a record at k that chains
    // correctly to the one before (the hash format is public; only the seal key is secret).
    let i = log.len() - 3;
    let k = log[i].seq;
    let template = &log[i];
    let mut forged = AuditRecord {
        seq: k,
        detail: "IDENTITY (nachgetragen)".into(),
        prev_hash: log[i - 1].hash.clone(),
        hash: None,
        ..template.clone()
    };
    forged.hash = Some(hub::audit::record_hash(forged.prev_hash.as_deref().unwrap(), &(&forged).into()));
    let renumber = if th.backend() == "postgres" {
        // The identity column refuses explicit values unless told otherwise; someone with table
        // rights can do that.
        "ALTER TABLE audit_log ALTER COLUMN seq SET GENERATED BY DEFAULT;"
    } else {
        ""
    };
    tamper(
        &th,
        &format!(
            "{renumber}
             UPDATE audit_log SET seq = seq + 1000 WHERE seq >= {k};
             INSERT INTO audit_log (seq, occurred_at, actor_id, staff_member, action, case_id, referral_id,
                                    legal_basis, detail, prev_hash, hash)
             VALUES ({k}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});",
            forged.at.millis(),
            lit(Some(&forged.actor)),
            lit(forged.staff.as_deref()),
            lit(Some(&forged.action)),
            lit(forged.case_id.as_deref()),
            lit(forged.referral_id.as_deref()),
            lit(Some(&forged.legal_basis)),
            lit(Some(&forged.detail)),
            lit(forged.prev_hash.as_deref()),
            lit(forged.hash.as_deref()),
        ),
    )
    .await;
    let report = verify(&th).await;
    assert_eq!(
        report.problems,
        [Problem::Inserted { seqs: vec![k], seq: k + 1000, chained_to: log[i - 1].seq }],
        "{}",
        messages(&report)
    );
    assert!(messages(&report).contains(&format!("record seq {k} was inserted")), "{}", messages(&report));
}

#[tokio::test]
async fn a_sealed_record_altered_and_rehashed_is_caught_by_the_seal() {
    let (th, log, sealed) = sealed_hub().await;
    // The forger alters seq k and recomputes every hash from there on: the chain is consistent
    // again, and only the seal (signed with a key outside the database) still knows the old head.
    let k = log.len() - 4;
    let mut prev = log[k - 1].hash.clone().unwrap();
    let mut sql = String::new();
    for (i, r) in log.iter().enumerate().skip(k) {
        let mut r = r.clone();
        if i == k {
            r.detail = "IDENTITY,HEALTH (geaendert)".into();
        }
        let hash = hub::audit::record_hash(&prev, &(&r).into());
        sql.push_str(&format!(
            "UPDATE audit_log SET detail = {}, prev_hash = {}, hash = {} WHERE seq = {};\n",
            lit(Some(&r.detail)),
            lit(Some(&prev)),
            lit(Some(&hash)),
            r.seq
        ));
        prev = hash;
    }
    tamper(&th, &sql).await;
    let report = verify(&th).await;
    // The chain itself verifies: only seals at or after seq k (the newest, and possibly one the
    // server's scheduler made at start) report the change.
    assert!(report.problems.contains(&Problem::SealMismatch { seq: sealed }), "{}", messages(&report));
    assert!(
        report.problems.iter().all(|p| matches!(p, Problem::SealMismatch { seq } if *seq >= log[k].seq)),
        "{}",
        messages(&report)
    );
    let text = messages(&report);
    assert!(text.contains(&format!("seal at seq {sealed} does not match: records up to it were changed")), "{text}");
}

#[tokio::test]
async fn cut_off_sealed_records_and_forged_seals_are_caught() {
    let (th, log, sealed) = sealed_hub().await;
    let from = log[log.len() - 2].seq;
    tamper(&th, &format!("DELETE FROM audit_log WHERE seq >= {from}")).await;
    let report = verify(&th).await;
    assert_eq!(report.problems, [Problem::SealRecordMissing { seq: sealed }], "{}", messages(&report));
    assert!(messages(&report).contains(&format!("seal at seq {sealed} does not match")));

    // A seal moved in time no longer verifies (nor would one made without the key).
    let (th, _, sealed) = sealed_hub().await;
    tamper(&th, &format!("UPDATE audit_seals SET sealed_at = sealed_at + 1 WHERE seq = {sealed}")).await;
    let report = verify(&th).await;
    assert_eq!(report.problems, [Problem::SealSignature { seq: sealed }], "{}", messages(&report));
}

#[tokio::test]
async fn records_from_before_the_chain_are_reported_as_legacy_not_as_tampering() {
    let th = start().await;
    let (case_id, _) = play(&th).await;
    // A database migrated from before 0004: the old records have no hashes, and there are no seals.
    tamper(&th, "UPDATE audit_log SET prev_hash = NULL, hash = NULL; DELETE FROM audit_seals").await;
    let legacy = records(&th).await.len() as u64;
    read_case(&th, &case_id).await;
    let log = records(&th).await;
    assert_eq!(log.last().unwrap().prev_hash.as_deref(), Some(GENESIS), "the chain begins after the legacy records");
    th.run_scheduled().await.unwrap();
    let report = verify(&th).await;
    assert!(report.is_intact(), "{}", messages(&report));
    assert_eq!(report.legacy, legacy);
    assert!(
        report.summary().contains(&format!("{legacy} records before the chain began (unchained legacy records)")),
        "{}",
        report.summary()
    );
}

/// `hub audit verify` as the data protection officer runs it: the database and the data directory
/// (for the public key) of the hub.
fn run_verify(th: &TestHub, bin: &std::path::Path) -> (bool, String) {
    let data_dir = th.data_dir().display().to_string();
    let url = th.database_url();
    let out = hub_command(bin, &["audit", "verify", "--data-dir", &data_dir, "--database-url", &url])
        .output()
        .expect("run hub audit verify");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn hub_audit_verify_reports_intact_and_names_an_altered_record() {
    let bin = hub_binary();
    let (th, log, sealed) = sealed_hub().await;
    let (ok, text) = run_verify(&th, &bin);
    assert!(ok, "{text}");
    let seals = verify(&th).await.seals;
    let expected = format!("audit chain intact: {} records, {seals} seals, last sealed seq {sealed}", log.len());
    assert!(text.contains(&expected), "{text}");

    let victim = log[log.len() - 3].seq;
    tamper(&th, &format!("UPDATE audit_log SET staff_member = 'Jemand anderes' WHERE seq = {victim}")).await;
    let (ok, text) = run_verify(&th, &bin);
    assert!(!ok, "verify must fail after tampering: {text}");
    assert!(text.contains(&format!("record seq {victim} was altered")), "{text}");
}

/// Splits `;`-separated CSV with `"` quoting (as `hub audit export` writes it) into records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ';') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[tokio::test]
async fn hub_audit_export_filters_by_case_as_csv_and_json() {
    let bin = hub_binary();
    let th = start().await;
    let (case_a, _) = play(&th).await;
    let (case_b, _) = play(&th).await;
    let all = records(&th).await;
    let of_a: Vec<&AuditRecord> = all.iter().filter(|r| r.case_id.as_deref() == Some(case_a.as_str())).collect();
    assert!(of_a.len() >= 5 && of_a.len() < all.len(), "{all:?}");

    let dir = tempfile::tempdir().unwrap();
    let data_dir = th.data_dir().display().to_string();
    let url = th.database_url();
    let export = |format: &str, extra: &[&str]| {
        let out = dir.path().join(format!("export-{}.{format}", uuid::Uuid::new_v4().simple()));
        let out_arg = out.display().to_string();
        let mut args = vec![
            "audit",
            "export",
            "--data-dir",
            &data_dir,
            "--database-url",
            &url,
            "--format",
            format,
            "--out",
            &out_arg,
        ];
        args.extend_from_slice(extra);
        let res = hub_command(&bin, &args).output().expect("run hub audit export");
        assert!(res.status.success(), "hub audit export {args:?}: {}", String::from_utf8_lossy(&res.stderr));
        std::fs::read_to_string(&out).expect("export written")
    };

    // CSV: header, one row per record of case A with its hashes, in order.
    let csv = parse_csv(&export("csv", &["--case", &case_a]));
    let header = &csv[0];
    assert_eq!(header, &hub::audit::export::COLUMNS.map(str::to_owned).to_vec());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows = &csv[1..];
    assert_eq!(rows.len(), of_a.len(), "{csv:?}");
    for (row, r) in rows.iter().zip(&of_a) {
        assert_eq!(row.len(), header.len(), "{row:?}");
        assert_eq!(row[col("seq")], r.seq.to_string());
        assert_eq!(row[col("case_id")], case_a);
        assert_eq!(row[col("action")], r.action);
        assert_eq!(Some(row[col("hash")].as_str()), r.hash.as_deref());
        assert_eq!(Some(row[col("prev_hash")].as_str()), r.prev_hash.as_deref());
        // The export carries what is needed to recompute the hash.
        let back = AuditRecord {
            seq: row[col("seq")].parse().unwrap(),
            at: hub::domain::time::Instant::from_millis(row[col("occurred_at_ms")].parse().unwrap()),
            actor: row[col("actor")].clone(),
            staff: Some(row[col("staff")].clone()).filter(|s| !s.is_empty()),
            action: row[col("action")].clone(),
            case_id: Some(row[col("case_id")].clone()).filter(|s| !s.is_empty()),
            referral_id: Some(row[col("referral_id")].clone()).filter(|s| !s.is_empty()),
            legal_basis: row[col("legal_basis")].clone(),
            detail: row[col("detail")].clone(),
            prev_hash: None,
            hash: None,
        };
        assert_eq!(hub::audit::record_hash(&row[col("prev_hash")], &(&back).into()), row[col("hash")]);
    }

    // JSON: the same records as objects.
    let json: serde_json::Value = serde_json::from_str(&export("json", &["--case", &case_a])).expect("valid JSON");
    let items = json.as_array().expect("an array");
    assert_eq!(items.len(), of_a.len());
    for (item, r) in items.iter().zip(&of_a) {
        assert_eq!(item["seq"], r.seq);
        assert_eq!(item["case_id"], case_a.as_str());
        assert_eq!(item["hash"].as_str(), r.hash.as_deref());
        assert_eq!(item["occurred_at_ms"], r.at.millis());
        assert!(item["occurred_at"].as_str().is_some_and(|t| t.starts_with(&th.today())), "{item}");
    }

    // The other filters: by organisation and by period.
    let json: serde_json::Value =
        serde_json::from_str(&export("json", &["--org", orgs::SCHULDNERBERATUNG])).expect("valid JSON");
    let by_org = json.as_array().unwrap();
    assert!(!by_org.is_empty() && by_org.iter().all(|i| i["actor"] == orgs::SCHULDNERBERATUNG), "{json}");
    assert!(by_org.iter().any(|i| i["case_id"] == case_b.as_str()));
    let tomorrow = th.date_in_days(1);
    let none: serde_json::Value = serde_json::from_str(&export("json", &["--from", &tomorrow])).expect("valid JSON");
    assert_eq!(none, serde_json::json!([]));
    let today = th.today();
    let csv = parse_csv(&export("csv", &["--from", &today, "--to", &today]));
    assert_eq!(csv.len(), all.len() + 1, "every record of today, plus the header");
}
