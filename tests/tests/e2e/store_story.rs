//! The store's conformance story: every method of `Store` and `Tx`, called directly on the store of a
//! test hub, in the order a case lives (seeded by the Frau K. demo, then copied, changed, listed, erased).
//! It runs on SQLite in the SQLite step of the test command and on PostgreSQL in the PostgreSQL step
//! (`HUB_TEST_POSTGRES_URL`), so both backends must tell the same story, including PostgreSQL's batch paths
//! (`insert_notices`, `notices_by_keys`, `append_events`, `append_audits` and the data keys they write).
//! A second test fails when the traits declare a method this story never calls.

use std::collections::BTreeSet;

use hub::domain::audit::{AuditAction, AuditDetail};
use hub::domain::case::Case;
use hub::domain::certificate::{IssuedCertificate, Serial};
use hub::domain::data_request::{DataRequest, DataRequestCause};
use hub::domain::document::{DocumentMeta, DocumentType};
use hub::domain::erasure::{Erasure, ErasureReason};
use hub::domain::event::Event;
use hub::domain::ids::{Actor, CaseId, ConsentId, DataRequestId, NoteId, NoticeId, OrgId, ReferralId, StaffMember};
use hub::domain::mail::{JobStatus, MailJob, MailKind};
use hub::domain::note::Note;
use hub::domain::notice::{Notice, NoticeData};
use hub::domain::referral::ReferralState;
use hub::domain::staff::{StaffSession, Username};
use hub::domain::time::{Day, Instant};
use hub::domain::vocab::ConsentStatus;
use hub::domain::vocab::EventKind;
use hub::store::{
    AuditEntry, AuditQuery, AuditSeal, Condition, DataRequestQuery, IdempotentResponse, MailQuery, ReferralQuery,
    Store, StoreError, Tx,
};
use hub_testkit::demo::STORY_START_MS;
use hub_testkit::{TestHub, orgs};

/// The story's "now": the last day of the demo, plus a little.
fn now(th: &TestHub) -> Instant {
    Instant::from_millis(th.today_day().date().midnight().assume_utc().unix_timestamp() * 1000 + 10 * 3_600_000)
}

fn org(id: &str) -> OrgId {
    OrgId::parse(id).expect("a known organisation id")
}

async fn begin(store: &dyn Store) -> Box<dyn Tx> {
    store.begin().await.expect("a write transaction begins")
}

async fn commit(tx: Box<dyn Tx>) {
    tx.commit().await.expect("the transaction commits");
}

/// `write` fails as a conflict in a transaction of its own (which is then dropped: see `Tx`).
async fn conflicts(store: &dyn Store, write: impl AsyncFnOnce(&mut dyn Tx) -> Result<(), StoreError>) {
    let mut tx = begin(store).await;
    let result = write(tx.as_mut()).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "a second row with the same key is a conflict: {result:?}");
}

/// A copy of `notice` under a new id and tenancy reference (so a new key), not taken up by a case.
fn notice_copy(notice: &Notice, reference: &str) -> Notice {
    let mut copy = notice.clone();
    copy.id = NoticeId::new();
    copy.case_id = None;
    copy.withdrawn_at = None;
    if let NoticeData::Arrears(a) = &mut copy.data {
        a.tenancy_reference = reference.to_owned();
    }
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_tell_the_same_story() {
    let th = TestHub::start_at(Instant::from_millis(STORY_START_MS)).await.expect("the test hub starts");
    let demo = hub_testkit::demo::play(&th).await.expect("the demo plays the Frau K. case");
    println!("store conformance story on {}", th.backend());
    let store: &dyn Store = th.store().as_ref();
    let case_id = CaseId::parse(&demo.case_id).expect("the demo's case id");

    the_store_answers(store).await;
    organisations(store).await;
    let case = cases(store, &case_id).await;
    consents(store, &case).await;
    documents(store, &case, now(&th)).await;
    let referral = referrals(store, &case, &demo.referral_ids).await;
    data_requests(store, &referral, now(&th)).await;
    notes(store, &referral, now(&th)).await;
    notices(store, &case, now(&th)).await;
    events(store, &case, now(&th)).await;
    audit(store, &case, now(&th)).await;
    mails(store, &case, &referral, now(&th)).await;
    certificates(store, now(&th)).await;
    idempotency(store, now(&th)).await;
    staff(store, now(&th)).await;
    erasure(store, &case, th.today_day(), now(&th)).await;
    th.shutdown().await;
}

/// Health, pool and the two kinds of transaction.
async fn the_store_answers(store: &dyn Store) {
    store.probe().await.expect("the store answers its probe");
    assert_eq!(*store.condition().borrow(), Condition::Ready, "a fresh store is ready");
    let usage = store.pool_usage();
    assert!(usage.in_use + usage.idle >= 1, "the pool holds a connection: {usage:?}");
    let mut read = store.begin_read().await.expect("a read transaction begins");
    assert_eq!(read.orgs().await.expect("orgs").len(), 7, "the seven partners of the network");
    read.commit().await.expect("a read transaction ends");
}

async fn organisations(store: &dyn Store) {
    let jobcenter = store.org_by_id(&org(orgs::JOBCENTER)).await.expect("org_by_id").expect("the Jobcenter");
    let mut tx = begin(store).await;
    assert_eq!(tx.org(&jobcenter.id).await.expect("org"), Some(jobcenter.clone()));
    let mut newcomer = jobcenter.clone();
    newcomer.id = org("story-beratung");
    newcomer.name = "Beratungsstelle der Geschichte".into();
    tx.insert_org(&newcomer).await.expect("insert_org");
    commit(tx).await;
    conflicts(store, async |tx| tx.insert_org(&newcomer).await).await;

    let mut tx = begin(store).await;
    newcomer.office_hours = "Mo-Fr 8-12".into();
    newcomer.active = false;
    tx.update_org(&newcomer).await.expect("update_org");
    let all = tx.orgs().await.expect("orgs");
    assert_eq!(all.len(), 8);
    assert_eq!(all.iter().find(|o| o.id == newcomer.id), Some(&newcomer), "the update is read back");
    commit(tx).await;
    // A rolled-back change is gone.
    let mut tx = begin(store).await;
    let mut changed = newcomer.clone();
    changed.name = "verworfen".into();
    tx.update_org(&changed).await.expect("update_org");
    drop(tx);
    assert_eq!(store.org_by_id(&newcomer.id).await.expect("org_by_id"), Some(newcomer));
}

async fn cases(store: &dyn Store, id: &CaseId) -> Case {
    let mut tx = begin(store).await;
    let case = tx.case(id).await.expect("case").expect("the Frau K. case is stored");
    let mut copy = case.clone();
    copy.id = CaseId::new();
    copy.notice_ids.clear();
    tx.insert_case(&copy).await.expect("insert_case");
    commit(tx).await;
    conflicts(store, async |tx| tx.insert_case(&copy).await).await;
    let mut tx = begin(store).await;
    copy.announced_deadlines.push("story-deadline".into());
    tx.update_case(&copy).await.expect("update_case");
    commit(tx).await;

    let mut tx = begin(store).await;
    assert_eq!(tx.case(&copy.id).await.expect("case"), Some(copy.clone()), "sealed details read back whole");
    let all = tx.cases().await.expect("cases");
    assert!(all.contains(&case) && all.contains(&copy), "both cases are listed");
    assert_eq!(tx.case(&CaseId::new()).await.expect("case"), None);
    case
}

async fn consents(store: &dyn Store, case: &Case) {
    let mut tx = begin(store).await;
    let of_case = tx.consents_of_case(&case.id).await.expect("consents_of_case");
    assert!(!of_case.is_empty(), "the demo recorded consents");
    let first = &of_case[0];
    assert_eq!(tx.consent(&first.id).await.expect("consent").as_ref(), Some(first));
    let mut short = first.clone();
    short.id = ConsentId::new();
    short.valid_until = Day::parse("2020-01-31").expect("a day");
    short.status = ConsentStatus::Active;
    short.ended_at = None;
    tx.insert_consent(&short).await.expect("insert_consent");
    let expired = tx.consents_expired_before(Day::parse("2020-02-01").expect("a day")).await.expect("expired");
    assert_eq!(expired.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&short.id], "only the short one ran out");
    short.evidence = "geändert".into();
    tx.update_consent(&short).await.expect("update_consent");
    assert_eq!(tx.consent(&short.id).await.expect("consent"), Some(short.clone()));
    assert_eq!(tx.consents_of_case(&case.id).await.expect("consents_of_case").len(), of_case.len() + 1);
    // Not committed: the story's extra consent never existed.
    drop(tx);
    let mut tx = begin(store).await;
    assert_eq!(tx.consent(&short.id).await.expect("consent"), None, "a dropped transaction rolls back");
}

async fn documents(store: &dyn Store, case: &Case, at: Instant) {
    let content = b"%PDF-1.4 story".to_vec();
    let meta = DocumentMeta {
        id: uuid::Uuid::new_v4().to_string(),
        case_id: case.id.clone(),
        name: "mietkonto.pdf".into(),
        kind: DocumentType::Pdf,
        size: content.len(),
        uploaded_at: at,
        uploaded_by: orgs::FACHSTELLE.into(),
    };
    let mut tx = begin(store).await;
    tx.insert_document(&meta, &content).await.expect("insert_document");
    commit(tx).await;
    let mut tx = begin(store).await;
    assert_eq!(tx.documents_of_case(&case.id).await.expect("documents_of_case"), vec![meta.clone()]);
    assert_eq!(tx.document(&case.id, &meta.id).await.expect("document"), Some((meta.clone(), content)));
    assert_eq!(tx.document(&CaseId::new(), &meta.id).await.expect("document"), None, "only under its own case");
}

async fn referrals(store: &dyn Store, case: &Case, ids: &[String]) -> hub::domain::referral::Referral {
    let mut tx = begin(store).await;
    let of_case = tx.referrals_of_case(&case.id).await.expect("referrals_of_case");
    assert_eq!(of_case.len(), ids.len(), "the demo's referrals");
    let first_id = ReferralId::parse(&ids[0]).expect("a referral id");
    let first = tx.referral(&first_id).await.expect("referral").expect("the first referral");
    let mut copy = first.clone();
    copy.id = ReferralId::new();
    copy.state = ReferralState::Requested;
    copy.reply_by = Day::parse("2020-03-02").expect("a day");
    tx.insert_referral(&copy).await.expect("insert_referral");
    copy.message = "Bitte um Rückmeldung".into();
    tx.update_referral(&copy).await.expect("update_referral");
    assert_eq!(tx.referral(&copy.id).await.expect("referral"), Some(copy.clone()));

    let to_recipient = tx
        .referrals(&ReferralQuery { recipient: Some(copy.recipient.clone()), limit: 100, ..Default::default() })
        .await
        .expect("referrals");
    assert!(to_recipient.iter().all(|(_, r)| r.recipient == copy.recipient));
    assert!(to_recipient.iter().any(|(_, r)| r.id == copy.id));
    let overdue = tx
        .referrals(&ReferralQuery {
            overdue_on: Some(Day::parse("2020-03-03").expect("a day")),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("referrals");
    assert_eq!(overdue.iter().map(|(_, r)| &r.id).collect::<Vec<_>>(), vec![&copy.id], "only the copy is overdue");
    // Paging: one at a time, each page after the last one's position, gives every referral of the case once.
    let (mut after, mut seen) = (0, Vec::new());
    loop {
        let q = ReferralQuery { case_id: Some(case.id.clone()), after_seq: after, limit: 1, ..Default::default() };
        let page = tx.referrals(&q).await.expect("referrals");
        let Some((seq, r)) = page.first() else { break };
        assert!(*seq > after, "positions grow");
        after = *seq;
        seen.push(r.id.clone());
    }
    assert_eq!(seen.len(), ids.len() + 1, "every referral of the case once: {seen:?}");
    commit(tx).await;
    first
}

async fn data_requests(store: &dyn Store, referral: &hub::domain::referral::Referral, at: Instant) {
    let mut tx = begin(store).await;
    let mut request = DataRequest::new(
        DataRequestCause::ConsentRevoked,
        referral,
        referral.disclosures.iter().map(|d| d.category).collect(),
        at,
        5,
    );
    tx.insert_data_request(&request).await.expect("insert_data_request");
    assert_eq!(tx.data_request(&request.id).await.expect("data_request"), Some(request.clone()));
    let open = DataRequestQuery { recipient: Some(referral.recipient.clone()), open_only: true, ..Default::default() };
    assert!(tx.data_requests(&open).await.expect("data_requests").contains(&request));
    request.confirmation = Some(hub::domain::data_request::Confirmation {
        at,
        by: Actor::Org { org: referral.recipient.clone(), staff: None },
        receipt: "quittung".into(),
    });
    tx.update_data_request(&request).await.expect("update_data_request");
    assert!(!tx.data_requests(&open).await.expect("data_requests").contains(&request), "confirmed: not open");
    let of_case = DataRequestQuery { case_id: Some(referral.case_id.clone()), ..Default::default() };
    assert!(tx.data_requests(&of_case).await.expect("data_requests").contains(&request));
    assert_eq!(tx.data_request(&DataRequestId::new()).await.expect("data_request"), None);
    commit(tx).await;
}

async fn notes(store: &dyn Store, referral: &hub::domain::referral::Referral, at: Instant) {
    let mut tx = begin(store).await;
    let before = tx.notes(&referral.id).await.expect("notes");
    let note = Note {
        id: NoteId::new(),
        referral_id: referral.id.clone(),
        author: Actor::Org { org: org(orgs::FACHSTELLE), staff: None },
        text: "Termin am Donnerstag".into(),
        created_at: at,
    };
    tx.insert_note(&note).await.expect("insert_note");
    let after = tx.notes(&referral.id).await.expect("notes");
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last(), Some(&note), "notes in the order written");
    commit(tx).await;
}

/// Single and batch writes of notices (PostgreSQL's batch path writes the rows and their data keys at once).
async fn notices(store: &dyn Store, case: &Case, at: Instant) {
    let mut tx = begin(store).await;
    let taken = tx.notice(&case.notice_ids[0]).await.expect("notice").expect("the case's notice");
    assert_eq!(tx.notice_by_key(&taken.key()).await.expect("notice_by_key"), Some(taken.clone()));
    let reporter = taken.reporter.clone().expect("a reporter");
    let one = notice_copy(&taken, "STORY-1");
    tx.insert_notice(&one).await.expect("insert_notice");
    commit(tx).await;
    conflicts(store, async |tx| tx.insert_notice(&notice_copy(&one, "STORY-1")).await).await;

    let mut tx = begin(store).await;
    let batch: Vec<Notice> = (2..=40).map(|i| notice_copy(&taken, &format!("STORY-{i}"))).collect();
    tx.insert_notices(&batch).await.expect("insert_notices");
    tx.insert_notices(&[]).await.expect("an empty batch is nothing");
    commit(tx).await;

    // A new transaction reads the sealed bodies back (their data keys loaded from the table).
    let mut tx = begin(store).await;
    let keys: Vec<String> = batch.iter().map(Notice::key).chain(["arrears:nobody:X".to_owned()]).collect();
    let mut found = tx.notices_by_keys(&keys).await.expect("notices_by_keys");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = batch.clone();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, expected, "every notice of the batch by its key, an unknown key nothing");
    let open = tx.open_notices().await.expect("open_notices");
    assert!(open.contains(&one) && batch.iter().all(|n| open.contains(n)) && !open.contains(&taken));
    let of_reporter = tx.notices_of_reporter(&reporter).await.expect("notices_of_reporter");
    assert_eq!(of_reporter.len(), batch.len() + 2, "the taken one, the single one and the batch");
    let mut withdrawn = one.clone();
    withdrawn.withdrawn_at = Some(at);
    withdrawn.updated_at = at;
    tx.update_notice(&withdrawn).await.expect("update_notice");
    assert_eq!(tx.notice(&one.id).await.expect("notice"), Some(withdrawn));
    commit(tx).await;

    // The untaken notices received before a cut-off are erased, at most `limit` per call.
    let mut tx = begin(store).await;
    let earlier = Instant::from_millis(at.millis() - 86_400_000);
    let mut old = notice_copy(&taken, "STORY-OLD");
    old.received_at = earlier;
    old.updated_at = earlier;
    tx.insert_notice(&old).await.expect("insert_notice");
    let erased = tx.erase_untaken_notices(Instant::from_millis(at.millis()), 100).await.expect("erase_untaken");
    assert!(erased >= 1, "the old untaken notice goes");
    assert_eq!(tx.notice(&old.id).await.expect("notice"), None);
    assert_eq!(tx.notice(&taken.id).await.expect("notice").map(|n| n.id), Some(taken.id.clone()), "taken ones stay");
    commit(tx).await;
}

/// The event log: single and batch appends, in order, per audience.
async fn events(store: &dyn Store, case: &Case, at: Instant) {
    let audience = org(orgs::SCHULDNERBERATUNG);
    let start = store.events_after(&audience, 0, 10_000).await.expect("events_after");
    let cursor = start.last().map_or(0, |e| e.cursor);
    let mut tx = begin(store).await;
    let one = Event::new(&audience, EventKind::NoteAdded, &case.id, orgs::FACHSTELLE, at);
    let first = tx.append_event(&one).await.expect("append_event");
    let batch: Vec<Event> = (0..25)
        .map(|_| Event::new(&audience, EventKind::ReferralStateChanged, &case.id, orgs::JOBCENTER, at))
        .collect();
    let seqs = tx.append_events(&batch).await.expect("append_events");
    assert_eq!(seqs.len(), batch.len());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > first, "positions in the order appended");
    assert!(tx.append_events(&[]).await.expect("an empty batch").is_empty());
    commit(tx).await;

    let after = store.events_after(&audience, cursor, 100).await.expect("events_after");
    assert_eq!(after.len(), 26);
    assert_eq!(
        after.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        std::iter::once(first).chain(seqs).collect::<Vec<_>>()
    );
    assert_eq!(after[0].kind, EventKind::NoteAdded);
    assert_eq!(store.events_after(&audience, cursor, 5).await.expect("events_after").len(), 5, "the limit holds");
    let other = store.events_after(&org(orgs::FRAUENBERATUNG), cursor, 100).await.expect("events_after");
    assert!(other.is_empty(), "another audience sees none of them");
}

/// The audit chain: single and batch appends, queries, the head and its seals.
async fn audit(store: &dyn Store, case: &Case, at: Instant) {
    let entry = |action: AuditAction| AuditEntry {
        at,
        actor: orgs::FACHSTELLE.into(),
        staff: Some("k.meyer".into()),
        action,
        case_id: Some(case.id.clone()),
        referral_id: None,
        legal_basis: "owner".into(),
        detail: AuditDetail::Nothing,
    };
    let mut tx = begin(store).await;
    let head = tx.audit_head().await.expect("audit_head").expect("the demo left an audit trail");
    tx.append_audit(&entry(AuditAction::CaseRead)).await.expect("append_audit");
    tx.append_audits(&[entry(AuditAction::CaseRead), entry(AuditAction::CaseOpen), entry(AuditAction::CaseRead)])
        .await
        .expect("append_audits");
    tx.append_audits(&[]).await.expect("an empty batch");
    commit(tx).await;

    let mut tx = begin(store).await;
    let new_head = tx.audit_head().await.expect("audit_head").expect("a head");
    assert_eq!(new_head.seq, head.seq + 4, "four records appended");
    let q = AuditQuery { case_id: Some(case.id.clone()), after_seq: head.seq, limit: 100, ..Default::default() };
    let records = tx.audit_records(&q).await.expect("audit_records");
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].prev_hash, head.hash, "the chain goes on from the old head");
    assert!(records.windows(2).all(|w| w[1].prev_hash == w[0].hash && w[0].seq < w[1].seq), "one chain");
    assert_eq!(records.iter().filter_map(|r| r.action()).collect::<Vec<_>>().len(), 4);
    let by_actor = AuditQuery { actor: Some("nobody".into()), limit: 100, ..Default::default() };
    assert!(tx.audit_records(&by_actor).await.expect("audit_records").is_empty());
    let of_case = store.audit_of_case(&case.id).await.expect("audit_of_case");
    assert!(of_case.len() >= 4 && of_case.iter().all(|e| e.case_id.as_ref() == Some(&case.id)));

    let before = tx.last_audit_seal().await.expect("last_audit_seal");
    let seal = AuditSeal {
        seq: new_head.seq,
        hash: new_head.hash.clone().expect("a hash"),
        sealed_at: at,
        signature: "c3Rvcnk=".into(),
    };
    tx.insert_audit_seal(&seal).await.expect("insert_audit_seal");
    assert_eq!(tx.last_audit_seal().await.expect("last_audit_seal"), Some(seal.clone()));
    let after = before.map_or(0, |s| s.seq);
    assert_eq!(tx.audit_seals(after, 10).await.expect("audit_seals"), vec![seal]);
    commit(tx).await;
}

/// The outbox: mails written with the change, claimed under a lease, renewed, released, sent.
async fn mails(store: &dyn Store, case: &Case, referral: &hub::domain::referral::Referral, at: Instant) {
    let recipient = org(orgs::SOZIALAMT);
    let mut tx = begin(store).await;
    let counts = tx.outbox_counts().await.expect("outbox_counts");
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let mut job = MailJob::new(&recipient, MailKind::NewReferral, &case.id, at);
        job.referral_id = Some(referral.id.clone());
        tx.insert_mail(&job).await.expect("insert_mail");
        jobs.push(job);
    }
    commit(tx).await;

    let mut tx = begin(store).await;
    assert_eq!(tx.outbox_counts().await.expect("outbox_counts").pending, counts.pending + 3);
    assert_eq!(tx.mail(&jobs[0].id).await.expect("mail"), Some(jobs[0].clone()));
    let q =
        MailQuery { org: Some(recipient.clone()), status: Some(JobStatus::Pending), limit: 100, ..Default::default() };
    assert_eq!(tx.mails(&q).await.expect("mails").len(), 3);
    commit(tx).await;

    let lease = Instant::from_millis(at.millis() + 60_000);
    let claimed = store.claim_mails("story-a", at, lease, 2).await.expect("claim_mails");
    assert_eq!(claimed.len(), 2, "the limit holds");
    let other = store.claim_mails("story-b", at, lease, 100).await.expect("claim_mails");
    assert!(other.iter().all(|j| claimed.iter().all(|c| c.id != j.id)), "claims never overlap");
    assert_eq!(
        store.renew_mail_leases("story-a", Instant::from_millis(at.millis() + 120_000)).await.expect("renew"),
        2
    );
    assert_eq!(store.release_mail_leases("story-a").await.expect("release"), 2);
    let again = store.claim_mails("story-c", at, lease, 100).await.expect("claim_mails");
    assert_eq!(again.len(), 2, "released claims are free at once");

    let mut tx = begin(store).await;
    let mut sent = jobs[0].clone();
    sent.status = JobStatus::Sent;
    sent.attempts = 1;
    sent.sent_at = Some(at);
    sent.sent_by = Some("story-c".into());
    tx.update_mail(&sent).await.expect("update_mail");
    assert_eq!(tx.mail(&sent.id).await.expect("mail"), Some(sent.clone()));
    assert_eq!(tx.outbox_counts().await.expect("outbox_counts").pending, counts.pending + 2);
    let by_referral = MailQuery { referral: Some(referral.id.clone()), limit: 100, ..Default::default() };
    assert!(tx.mails(&by_referral).await.expect("mails").len() >= 3);
    commit(tx).await;
}

async fn certificates(store: &dyn Store, at: Instant) {
    let mut tx = begin(store).await;
    let before = tx.certificates().await.expect("certificates").len();
    let serial = Serial::from_bytes(&[0x5a; 16]);
    let mut cert =
        IssuedCertificate::signed(serial.clone(), org(orgs::JOBCENTER), at, Instant::from_millis(at.millis() + 1000));
    tx.save_certificate(&cert).await.expect("save_certificate");
    cert.revoked_at = Some(at);
    tx.save_certificate(&cert).await.expect("save_certificate updates");
    assert_eq!(tx.certificate(&serial).await.expect("certificate"), Some(cert.clone()));
    assert_eq!(tx.certificates().await.expect("certificates").len(), before + 1, "saved twice, listed once");
    commit(tx).await;
}

async fn idempotency(store: &dyn Store, at: Instant) {
    let mut tx = begin(store).await;
    assert!(tx.idempotent("story", "key-1").await.expect("idempotent").is_none());
    let response = IdempotentResponse { fingerprint: "f1".into(), response: "{\"ok\":true}".into() };
    tx.remember("story", "key-1", &response, at).await.expect("remember");
    commit(tx).await;
    let mut tx = begin(store).await;
    let kept = tx.idempotent("story", "key-1").await.expect("idempotent").expect("remembered");
    assert_eq!((kept.fingerprint.as_str(), kept.response.as_str()), ("f1", "{\"ok\":true}"));
    assert!(tx.idempotent("other-scope", "key-1").await.expect("idempotent").is_none(), "keys are per scope");
}

async fn staff(store: &dyn Store, at: Instant) {
    let mut tx = begin(store).await;
    let before = tx.staff_accounts().await.expect("staff_accounts").len();
    let username = Username::parse("story.user").expect("a username");
    let mut account = hub::domain::staff::StaffAccount {
        username: username.clone(),
        display_name: StaffMember::parse("Story Nutzerin").expect("a name"),
        org: org(orgs::FACHSTELLE),
        password_hash: "$argon2id$story".into(),
        admin: false,
        disabled: false,
        failed_sign_ins: 0,
        locked_until: None,
        created_at: at,
    };
    tx.save_staff_account(&account).await.expect("save_staff_account");
    account.failed_sign_ins = 2;
    tx.save_staff_account(&account).await.expect("save_staff_account updates");
    assert_eq!(tx.staff_account(&username).await.expect("staff_account"), Some(account.clone()));
    assert_eq!(tx.staff_accounts().await.expect("staff_accounts").len(), before + 1);

    let session = |hash: &str, created: Instant| StaffSession {
        token_hash: hash.into(),
        username: username.clone(),
        csrf: "csrf".into(),
        created_at: created,
        last_seen: created,
    };
    let old = Instant::from_millis(at.millis() - 86_400_000);
    for (hash, created) in [("s1", at), ("s2", at), ("s3", old)] {
        tx.insert_session(&session(hash, created)).await.expect("insert_session");
    }
    let later = Instant::from_millis(at.millis() + 60_000);
    tx.touch_session("s1", later).await.expect("touch_session");
    assert_eq!(tx.session("s1").await.expect("session").map(|s| s.last_seen), Some(later));
    tx.delete_session("s2").await.expect("delete_session");
    assert_eq!(tx.session("s2").await.expect("session"), None);
    assert_eq!(tx.purge_sessions(at, at).await.expect("purge_sessions"), 1, "only the old one is idle");
    assert!(tx.session("s1").await.expect("session").is_some());
    assert_eq!(tx.delete_sessions_of(&username).await.expect("delete_sessions_of"), 1);
    assert_eq!(tx.session("s1").await.expect("session"), None);
    commit(tx).await;
}

/// Retention: a case due for erasure is erased with its data keys; cures are kept for the statistics.
async fn erasure(store: &dyn Store, case: &Case, today: Day, at: Instant) {
    let mut tx = begin(store).await;
    let census = tx.data_key_census().await.expect("data_key_census");
    assert!(census.iter().map(|(_, n)| n).sum::<u64>() > 0, "sealed bodies have data keys: {census:?}");
    assert_eq!(tx.rewrap_data_keys(100).await.expect("rewrap_data_keys"), 0, "all keys under the current master");

    let mut due = case.clone();
    due.erase_on = Some(today);
    tx.update_case(&due).await.expect("update_case");
    let listed = tx.cases_due_for_erasure(today, 10).await.expect("cases_due_for_erasure");
    assert!(listed.contains(&case.id));
    assert!(!tx.cases_due_for_erasure(today.plus_days(-1), 10).await.expect("due").contains(&case.id));

    let erasure = Erasure::of(&due, ErasureReason::RetentionEnded, at, Vec::new());
    let removed = tx.erase_case(&erasure).await.expect("erase_case");
    assert!(removed > 0, "the case's rows are removed");
    assert_eq!(tx.case(&case.id).await.expect("case"), None);
    assert!(tx.consents_of_case(&case.id).await.expect("consents").is_empty());
    assert!(tx.referrals_of_case(&case.id).await.expect("referrals").is_empty());
    assert!(tx.documents_of_case(&case.id).await.expect("documents").is_empty());
    assert_eq!(tx.erasure(&case.id).await.expect("erasure"), Some(erasure.clone()));
    assert!(tx.erasures().await.expect("erasures").contains(&erasure));

    let subject = "tenancy:story:1";
    tx.keep_cure(subject, today, today.plus_days(365)).await.expect("keep_cure");
    tx.keep_cure(subject, today.plus_days(-400), today.plus_days(-35)).await.expect("keep_cure");
    assert_eq!(tx.cures(subject).await.expect("cures").len(), 2);
    assert_eq!(tx.purge_cures(today).await.expect("purge_cures"), 1, "the one past its keeping day");
    assert_eq!(tx.cures(subject).await.expect("cures"), vec![today]);
    commit(tx).await;
}

/// Every method `Store` and `Tx` declare is called by the story above: a new method comes with its chapter.
#[test]
fn the_story_calls_every_method_of_the_store() {
    let traits = include_str!("../../../hub/src/store/mod.rs");
    let story = include_str!("store_story.rs");
    let start = traits.find("pub trait Store").expect("the Store trait");
    let end = traits[start..].find("\npub enum MigrationMode").map_or(traits.len(), |e| start + e);
    let declared: BTreeSet<&str> = traits[start..end]
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("async fn ").or_else(|| l.trim_start().strip_prefix("fn ")))
        .filter_map(|l| l.split(['(', '<']).next())
        .collect();
    assert!(declared.len() > 80, "the traits were read: {declared:?}");
    let missing: Vec<&&str> = declared.iter().filter(|m| !story.contains(&format!(".{m}("))).collect();
    assert!(missing.is_empty(), "store methods the story never calls: {missing:?}");
}
