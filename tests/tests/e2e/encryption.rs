//! Encryption at rest, erasure and master key rotation, on the backend the run selects:
//! - no personal datum of a case, a consent, a referral, a note or a notice is stored in plain
//!   (the raw database is searched for each one), yet every API still reads it and the tenancy
//!   reference still finds its notice;
//! - erasure on request and after retention removes the case, destroys its key, keeps only the
//!   Schonfrist cure day (as a keyed hash) and anonymous statistics, and tells the recipients;
//! - `hub keys rotate` re-wraps every data key while the hub serves, and `hub keys retire` makes a
//!   backup taken before an erasure unreadable (SQLite: the backup is a file copy).

use crate::common;
use crate::process;

use std::sync::Arc;

use common::*;
use process::{hub_binary, run_hub};

/// Every personal datum the test writes, each one distinctive enough to be searched for verbatim.
const SECRETS: &[&str] = &[
    "Kaiser",
    "Katrin",
    "Musterweg",
    "k.kaiser@example.org",
    "WN-4711-03",
    INCOME_NOTE,
    HEALTH_NOTE,
    COUNSELLING_NOTE,
    PHONE,
    NOTE_TEXT,
    EVIDENCE,
    "Beispiel",
    "Testallee",
    "SYNTH-TENANCY-77",
];

const NOTE_TEXT: &str = "SYNTH-NOTE: Termin mit Frau K. am Dienstag vereinbart";
const EVIDENCE: &str = "SYNTH-EVIDENCE: Unterschrift Formblatt 3, Kopie in Akte";

/// Every table's rows as text (PostgreSQL) or the database file and its WAL as bytes (SQLite):
/// what someone holding a copy of the database sees.
async fn raw_database(hub: &TestHub) -> Vec<u8> {
    let url = hub.database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("database file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        return bytes;
    }
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect to the test database");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
    let mut out = Vec::new();
    for t in tables {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::text FROM \"{t}\" t")))
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        for r in rows {
            out.extend(r.into_bytes());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The full Frau K. case: consent with evidence, a referral to the debt counselling, a note, and a
/// consented arrears notice with a name and address.
async fn populated(hub: &TestHub) -> (Case, Referral) {
    let case = open_case(hub).await;
    let mut req = consent_request(
        &case,
        &[orgs::SCHULDNERBERATUNG],
        &[DataCategory::Identity, DataCategory::Arrears, DataCategory::CounsellingNotes],
        &hub.date_in_days(90),
    );
    req.evidence_reference = EVIDENCE.to_owned();
    consents(hub, orgs::FACHSTELLE).await.record_consent(req).await.expect("RecordConsent");
    let r = create_referral(
        hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[DataCategory::Identity, DataCategory::Arrears],
    )
    .await;
    referrals(hub, orgs::FACHSTELLE)
        .await
        .add_note(AddNoteRequest { idempotency_key: idem(), referral_id: r.id.clone(), text: NOTE_TEXT.to_owned() })
        .await
        .expect("AddNote");
    submit_notice(hub, consented_notice("SYNTH-TENANCY-77")).await;
    (case, r)
}

async fn submit_notice(hub: &TestHub, notice: ArrearsNotice) -> String {
    hub_proto::v1::notice_service_client::NoticeServiceClient::new(chan(hub, orgs::WOHNBAU).await)
        .submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(notice) })
        .await
        .expect("SubmitArrearsNotice")
        .into_inner()
        .result
        .expect("result")
        .notice_id
}

/// The tenancy references of the demo housing company's notices, as it lists them.
async fn notice_refs(hub: &TestHub) -> Vec<String> {
    hub_proto::v1::notice_service_client::NoticeServiceClient::new(chan(hub, orgs::WOHNBAU).await)
        .list_notice_statuses(ListNoticeStatusesRequest::default())
        .await
        .expect("ListNoticeStatuses")
        .into_inner()
        .statuses
        .into_iter()
        .map(|s| s.tenancy_reference)
        .collect()
}

async fn get_case(hub: &TestHub, id: &str) -> Result<Case, Status> {
    cases(hub, orgs::FACHSTELLE)
        .await
        .get_case(GetCaseRequest { case_id: id.to_owned() })
        .await
        .map(|r| r.into_inner().case.expect("case"))
}

async fn close(hub: &TestHub, case_id: &str, outcome: CaseOutcome, means: RescueMeans) {
    cases(hub, orgs::FACHSTELLE)
        .await
        .close_case(CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case_id.to_owned(),
            outcome: outcome as i32,
            rescue_means: means as i32,
            note: String::new(),
            confirm_open_items: true,
        })
        .await
        .expect("CloseCase");
}

async fn erase(hub: &TestHub, org: &str, case_id: &str) -> Result<EraseCaseResponse, Status> {
    cases(hub, org)
        .await
        .erase_case(EraseCaseRequest { idempotency_key: idem(), case_id: case_id.to_owned() })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn personal_data_is_sealed_at_rest_and_still_served() {
    let hub = start().await;
    let (case, r) = populated(&hub).await;
    let raw = raw_database(&hub).await;
    let found: Vec<&str> = SECRETS.iter().copied().filter(|s| contains(&raw, s)).collect();
    assert!(found.is_empty(), "in plain in the {} database: {found:?}", hub.backend());
    assert!(contains(&raw, "v1."), "sealed bodies are there");

    // The API reads everything back.
    let own = get_case(&hub, &case.id).await.expect("GetCase");
    let d = own.details.expect("details");
    assert_eq!(d.persons[0].family_name, "Kaiser");
    assert_eq!(d.health_note, HEALTH_NOTE);
    let notes = referrals(&hub, orgs::SCHULDNERBERATUNG)
        .await
        .list_notes(ListNotesRequest { referral_id: r.id.clone() })
        .await
        .expect("ListNotes")
        .into_inner()
        .notes;
    assert!(notes.iter().any(|n| n.text == NOTE_TEXT), "the note opens for its recipient");
    let listed = consents(&hub, orgs::FACHSTELLE)
        .await
        .list_consents(ListConsentsRequest { case_id: case.id.clone() })
        .await
        .expect("ListConsents")
        .into_inner()
        .consents;
    assert!(listed.iter().any(|c| c.evidence_reference == EVIDENCE));

    // The tenancy reference still finds its notice (keyed hash): the same reference updates it.
    let first = submit_notice(&hub, pseudonymous_notice("SYNTH-TENANCY-88")).await;
    let again = submit_notice(&hub, pseudonymous_notice("SYNTH-TENANCY-88")).await;
    assert_eq!(first, again, "a second notice for the same tenancy is the same notice");
    assert!(!contains(&raw_database(&hub).await, "SYNTH-TENANCY-88"), "the reference is stored hashed");
}

#[tokio::test]
async fn erasure_on_request_removes_the_case_and_tells_the_recipients() {
    let hub = start().await;
    let (case, r) = populated(&hub).await;
    let mut stream = subscribe(&hub, orgs::SCHULDNERBERATUNG, 0).await;

    // Only the owning Fachstelle, and only a closed case.
    assert_status(erase(&hub, orgs::JOBCENTER, &case.id).await, Code::PermissionDenied, &["Fachstelle"]);
    assert_status(erase(&hub, orgs::FACHSTELLE, &case.id).await, Code::FailedPrecondition, &["close it first"]);
    assert_status(erase(&hub, orgs::FACHSTELLE, "not a case").await, Code::InvalidArgument, &["case_id"]);
    close(&hub, &case.id, CaseOutcome::HilfeAbgelehnt, RescueMeans::Unspecified).await;
    // A document of the case goes with it.
    let fachstelle = hub::domain::ids::OrgId::parse(orgs::FACHSTELLE).expect("org id");
    let fs = hub.hub().authenticate(hub::service::Principal::Org(fachstelle), None).await.expect("caller");
    let case_key = hub::domain::ids::CaseId::parse(&case.id).expect("id");
    let slip = hub::service::Upload { name: "Kaiser Einwilligung.pdf".into(), content: b"%PDF-1.4 Kaiser".to_vec() };
    hub.hub().add_document(&fs, &case_key, slip).await.expect("a document");
    let done = erase(&hub, orgs::FACHSTELLE, &case.id).await.expect("EraseCase");
    assert_eq!(done.case_id, case.id);
    assert!(done.kept.iter().any(|k| k.legal_basis.contains("Art. 5 Abs. 2")), "audit kept: {:?}", done.kept);
    assert!(done.kept.iter().all(|k| !k.what.contains("Schonfrist")), "no cure was used: {:?}", done.kept);

    // Gone for everyone; a second request says so.
    assert_status(get_case(&hub, &case.id).await, Code::NotFound, &["case"]);
    assert_status(get_referral(&hub, orgs::SCHULDNERBERATUNG, &r.id).await, Code::NotFound, &["referral"]);
    assert_status(erase(&hub, orgs::FACHSTELLE, &case.id).await, Code::FailedPrecondition, &["erased already"]);
    let told = events_until(&mut stream, |e| kind_of(e) == EventKind::CaseErased).await;
    assert_eq!(told.last().expect("CASE_ERASED").referral_id, r.id, "told per referral (Art. 19)");

    // Nothing of the case is left in the database, but the erasure is in the audit trail.
    let raw = raw_database(&hub).await;
    for s in ["Kaiser", NOTE_TEXT, EVIDENCE, HEALTH_NOTE] {
        assert!(!contains(&raw, s), "{s} left after erasure");
    }
    let mut tx = hub.store().begin_read().await.expect("read");
    let id = hub::domain::ids::CaseId::parse(&case.id).expect("id");
    assert!(tx.case(&id).await.expect("read").is_none());
    assert!(tx.documents_of_case(&id).await.expect("read").is_empty(), "the case's documents are erased with it");
    let erasure = tx.erasure(&id).await.expect("read").expect("erasure record");
    assert_eq!(erasure.reason, hub::domain::erasure::ErasureReason::Request);
    assert_eq!(erasure.statistics.outcome, Some(hub::domain::vocab::CaseOutcome::HilfeAbgelehnt));
    drop(tx);
    let audit = hub.hub().audit_of_case(&id).await.expect("audit");
    let entry =
        audit.iter().find(|a| a.action == hub::domain::audit::AuditAction::CaseErase).expect("case.erase audited");
    assert!(entry.legal_basis.contains("Art. 17"), "{}", entry.legal_basis);
}

#[tokio::test]
async fn retention_ends_in_erasure_and_a_schonfrist_cure_day_outlives_its_case() {
    let hub = start().await;
    // A: the home kept after the claim was served (a Schonfrist cure), erased on request soon after.
    let (cured, _) = populated(&hub).await;
    cases(&hub, orgs::FACHSTELLE)
        .await
        .record_threat_stage(RecordThreatStageRequest {
            idempotency_key: idem(),
            case_id: cured.id.clone(),
            entry: Some(ThreatStageEntry {
                stage: ThreatStage::Rechtshaengig as i32,
                date: hub.today(),
                source: "Zustellung der Klage (synthetisch)".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("RecordThreatStage");
    close(&hub, &cured.id, CaseOutcome::WohnungErhalten, RescueMeans::Sgb2Loan).await;
    let cured_on = hub.today_day();
    // B: no contact, left to its retention (one year by default). C: open, never due.
    let no_contact = open_case(&hub).await;
    close(&hub, &no_contact.id, CaseOutcome::KeinKontakt, RescueMeans::Unspecified).await;
    let open = open_case(&hub).await;

    hub.advance_days(10);
    let done = erase(&hub, orgs::FACHSTELLE, &cured.id).await.expect("EraseCase");
    let cure = done.kept.iter().find(|k| k.what.contains("Schonfrist")).expect("cure day kept");
    assert_eq!(cure.keep_until, cured_on.plus_days(hub::domain::erasure::CURE_KEPT_DAYS).to_string());
    assert!(cure.legal_basis.contains("§569"), "{}", cure.legal_basis);
    let subject = format!("tenancy:{}:WN-4711-03", orgs::WOHNBAU);
    let cures = |subject: String| {
        let store = hub.store().clone();
        async move { store.begin_read().await.expect("read").cures(&subject).await.expect("cures") }
    };
    assert_eq!(cures(subject.clone()).await, vec![cured_on], "findable by the tenancy");
    assert!(cures("tenancy:other:X".into()).await.is_empty());
    assert!(!contains(&raw_database(&hub).await, "WN-4711-03"), "the tenancy is kept hashed only");

    // B goes when its retention ends, not a day earlier.
    hub.advance_to(cured_on.plus_days(364));
    hub.run_scheduled().await.expect("scheduled");
    assert!(get_case(&hub, &no_contact.id).await.is_ok(), "kept until its retention ends");
    hub.advance_to(cured_on.plus_days(365));
    hub.run_scheduled().await.expect("scheduled");
    assert_status(get_case(&hub, &no_contact.id).await, Code::NotFound, &["case"]);
    assert!(get_case(&hub, &open.id).await.is_ok(), "an open case is never due");
    let id = hub::domain::ids::CaseId::parse(&no_contact.id).expect("id");
    let erasure = hub.store().begin_read().await.expect("read").erasure(&id).await.expect("read");
    let erasure = erasure.expect("erasure record");
    assert_eq!(erasure.reason, hub::domain::erasure::ErasureReason::RetentionEnded);
    let audit = hub.hub().audit_of_case(&id).await.expect("audit");
    let entry =
        audit.iter().find(|a| a.action == hub::domain::audit::AuditAction::CaseErase).expect("case.erase audited");
    assert!(entry.legal_basis.contains("§84"), "{}", entry.legal_basis);

    // The consented notice of populated() was never taken up: kept a year after its last update.
    assert_eq!(notice_refs(&hub).await, ["SYNTH-TENANCY-77"], "kept through its retention");

    // Two years after the cure its day goes too.
    hub.advance_to(cured_on.plus_days(hub::domain::erasure::CURE_KEPT_DAYS));
    hub.run_scheduled().await.expect("scheduled");
    assert_eq!(cures(subject.clone()).await, vec![cured_on], "kept through its last day");
    assert!(notice_refs(&hub).await.is_empty(), "a notice never taken up is erased after a year");
    let audit = hub
        .store()
        .begin_read()
        .await
        .expect("read")
        .audit_records(&hub::store::AuditQuery { limit: 100_000, ..Default::default() })
        .await;
    let audit = audit.expect("audit");
    assert!(audit.iter().any(|a| a.action == "notice.erase" && a.legal_basis.contains("§84")), "audited");
    hub.advance_days(1);
    hub.run_scheduled().await.expect("scheduled");
    assert!(cures(subject).await.is_empty(), "deleted after two years");
}

/// The SQLite database of `hub` copied as a consistent backup (`VACUUM INTO`).
async fn sqlite_backup(hub: &TestHub, to: &std::path::Path) {
    use sqlx::Connection as _;
    let url = hub.database_url();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open for backup");
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{}'", to.display())))
        .execute(&mut conn)
        .await
        .expect("VACUUM INTO");
}

#[tokio::test]
async fn rotation_while_serving_and_retirement_make_old_backups_unreadable() {
    let hub = start().await;
    let bin = hub_binary();
    let data_dir = hub.data_dir().to_str().expect("utf-8 path").to_owned();
    let url = hub.database_url();
    let db = ["--data-dir", data_dir.as_str(), "--database-url", url.as_str()];
    let (erased, _) = populated(&hub).await;
    let (kept, kept_referral) = populated(&hub).await;
    let backup_dir = tempfile::tempdir().expect("tempdir");
    let backup = backup_dir.path().join("backup.db");
    let sqlite = hub.backend() == "sqlite";
    if sqlite {
        sqlite_backup(&hub, &backup).await;
    }
    close(&hub, &erased.id, CaseOutcome::KeinKontakt, RescueMeans::Unspecified).await;
    erase(&hub, orgs::FACHSTELLE, &erased.id).await.expect("EraseCase");

    let status = run_hub(&bin, &[&["keys", "status"][..], &db].concat(), &[]);
    // `  <id> (active): wraps <n> data key(s)`: the kept case and the notice not taken up (the erased
    // case's key is gone).
    let (old, count) = status
        .lines()
        .find_map(|l| {
            let (id, rest) = l.trim().split_once(" (active): wraps ")?;
            Some((id.to_owned(), rest.strip_suffix(" data key(s)")?.parse::<u64>().ok()?))
        })
        .unwrap_or_else(|| panic!("status names the active key and its data keys:\n{status}"));
    assert_eq!(count, 2, "{status}");

    // Rotate while notes keep being written to the kept case.
    let writer = {
        let client = referrals(&hub, orgs::FACHSTELLE).await;
        let id = kept_referral.id.clone();
        tokio::spawn(async move {
            let mut client = client;
            let mut written = 0;
            for i in 0..40 {
                let text = format!("SYNTH-NOTE waehrend Rotation {i}");
                let req = AddNoteRequest { idempotency_key: idem(), referral_id: id.clone(), text };
                client.add_note(req).await.expect("writes continue during rotation");
                written += 1;
            }
            written
        })
    };
    let bin2 = bin.clone();
    let args: Vec<String> = [&["keys", "rotate"][..], &db].concat().iter().map(|s| (*s).to_owned()).collect();
    let rotated = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_hub(&bin2, &args, &[])
    })
    .await
    .expect("rotate");
    assert_eq!(writer.await.expect("writer"), 40);
    assert!(rotated.contains(&format!("re-wrapped {count} data key(s)")), "{rotated}");
    // The running hub picked up the new key: keys it creates now are wrapped by it.
    populated(&hub).await;
    let status = run_hub(&bin, &[&["keys", "status"][..], &db].concat(), &[]);
    assert!(status.contains(&format!("{old}: wraps 0 data key(s)")), "nothing left on the old key:\n{status}");

    // Before retirement, the backup still opens (the window the README states) ...
    let keys_file = hub.data_dir().join("keys").join("master.keys");
    if sqlite {
        let ring = hub::vault::Keyring::read(&keys_file).expect("key file");
        let store = hub::store::sqlite::SqliteStore::open(&backup, Arc::new(hub::vault::Vault::from_keyring(ring)))
            .await
            .expect("open backup");
        let mut tx = hub::store::Store::begin_read(&store).await.expect("read");
        let id = hub::domain::ids::CaseId::parse(&erased.id).expect("id");
        assert!(tx.case(&id).await.expect("readable before retirement").is_some());
    }
    let retired = run_hub(&bin, &[&["keys", "retire"][..], &db, &[old.as_str()]].concat(), &[]);
    assert!(retired.contains("retired"), "{retired}");

    // ... and after it, nothing in the backup opens: the erased case is gone for good.
    if sqlite {
        let ring = hub::vault::Keyring::read(&keys_file).expect("key file");
        assert!(!ring.master_ids().contains(&old));
        let store = hub::store::sqlite::SqliteStore::open(&backup, Arc::new(hub::vault::Vault::from_keyring(ring)))
            .await
            .expect("open backup");
        let mut tx = hub::store::Store::begin_read(&store).await.expect("read");
        let id = hub::domain::ids::CaseId::parse(&erased.id).expect("id");
        assert!(tx.case(&id).await.is_err(), "the erased case in the old backup cannot be opened any more");
    }
    // The live hub reads and writes on.
    let live = get_case(&hub, &kept.id).await.expect("GetCase after retirement");
    assert_eq!(live.details.expect("details").persons[0].family_name, "Kaiser");
    referrals(&hub, orgs::FACHSTELLE)
        .await
        .add_note(AddNoteRequest { idempotency_key: idem(), referral_id: kept_referral.id, text: "nach".into() })
        .await
        .expect("writes after retirement");
}

#[tokio::test]
async fn retiring_a_key_still_in_use_is_refused() {
    let hub = start().await;
    let bin = hub_binary();
    let data_dir = hub.data_dir().to_str().expect("utf-8 path").to_owned();
    let url = hub.database_url();
    let db = ["--data-dir", data_dir.as_str(), "--database-url", url.as_str()];
    open_case(&hub).await;
    let keys_file = hub.data_dir().join("keys").join("master.keys");
    let mut ring = hub::vault::Keyring::read(&keys_file).expect("key file");
    let old = ring.active_id().to_owned();
    ring.add_master().expect("add");
    ring.write(&keys_file).expect("write");
    let out = process::hub_command(&bin, &[&["keys", "retire"][..], &db, &[old.as_str()]].concat())
        .output()
        .expect("run hub keys retire");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("still wrapped by") && err.contains("--rewrap-only"), "{err}");
    assert!(hub::vault::Keyring::read(&keys_file).expect("key file").master_ids().contains(&old), "key kept");
}

/// `hubctl erase`, as a Fachstelle caseworker runs it: the built binary over mutual TLS.
#[tokio::test]
async fn hubctl_erase_prints_what_is_kept_and_refuses_an_open_case() {
    let hub = start().await;
    let (open_one, _) = populated(&hub).await;
    let closed = open_case(&hub).await;
    close(&hub, &closed.id, CaseOutcome::KeinHandlungsbedarf, RescueMeans::Unspecified).await;

    let bin = process::hubctl_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = hub::pki::load_ca(&hub::pki::PkiDir::in_data_dir(hub.data_dir())).expect("CA");
    let org = hub::domain::ids::OrgId::parse(orgs::FACHSTELLE).expect("org id");
    let pair = hub::pki::org_cert(&ca, &org).expect("certificate");
    std::fs::write(dir.path().join("ca.pem"), hub.ca_pem()).expect("write CA");
    std::fs::write(dir.path().join("f.pem"), pair.cert).expect("write cert");
    std::fs::write(dir.path().join("f.key"), pair.key).expect("write key");
    let run = |case_id: String| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.arg("--hub")
            .arg(format!("https://127.0.0.1:{}", hub.addr().port()))
            .args(["--tls-name", "localhost", "--ca"])
            .arg(dir.path().join("ca.pem"))
            .arg("--cert")
            .arg(dir.path().join("f.pem"))
            .arg("--key")
            .arg(dir.path().join("f.key"))
            .args(["erase", case_id.as_str()]);
        for var in ["HUBCTL_HUB", "HUBCTL_CA", "HUBCTL_CERT", "HUBCTL_KEY", "HUBCTL_TLS_NAME"] {
            cmd.env_remove(var);
        }
        async move { tokio::task::spawn_blocking(move || cmd.output().expect("hubctl runs")).await.expect("join") }
    };

    let refused = run(open_one.id.clone()).await;
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("close it first"), "{err}");

    let done = run(closed.id.clone()).await;
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{out}\n{}", String::from_utf8_lossy(&done.stderr));
    assert!(out.contains(&format!("case {} erased; kept:", closed.id)), "{out}");
    assert!(out.contains("Art. 5 Abs. 2 DSGVO"), "{out}");
    assert_status(get_case(&hub, &closed.id).await, Code::NotFound, &["case"]);
}
