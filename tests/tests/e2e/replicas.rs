//! Several hub replicas on one PostgreSQL database: what one writes, the other serves; concurrent
//! writers on both never make a subscriber skip or repeat an event (a late commit with a lower cursor
//! is the trap); replicas starting together both migrate; an idempotency key holds across replicas.
//!
//! Needs PostgreSQL (`HUB_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`): without
//! it these tests fail under CI (`CI` set) and are skipped with a message otherwise (see `pg_server`).

use crate::common;

use std::collections::BTreeSet;

use DataCategory as D;
use common::*;
use hub::domain::ids::{CaseId, OrgId};

fn pg_server() -> Option<String> {
    hub_testkit::postgres_for_test("the replica tests")
}

/// Replica A (with the standard network registered) and replica B on the same database.
async fn replicas() -> Option<(TestHub, TestHub)> {
    pg_server()?;
    let a = start().await;
    assert_eq!(a.backend(), "postgres", "HUB_TEST_POSTGRES_URL is set, so the test hub runs on PostgreSQL");
    let b = TestHub::start_replica_of(&a).await.expect("replica B starts on A's database");
    assert_eq!(b.backend(), "postgres");
    Some((a, b))
}

/// Every event of `org` in the database, read directly from the store from cursor 0.
async fn reread(hub: &TestHub, org: &str) -> Vec<hub::domain::event::Event> {
    let org = OrgId::parse(org).expect("org id");
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        let batch = hub.store().events_after(&org, cursor, 1000).await.expect("events_after");
        match batch.last() {
            None => return out,
            Some(last) => cursor = last.cursor,
        }
        out.extend(batch);
    }
}

#[tokio::test]
async fn what_replica_a_writes_replica_b_reads_and_streams_in_order() {
    let Some((a, b)) = replicas().await else { return };
    let mut on_b = subscribe(&b, orgs::JOBCENTER, 0).await;

    let case = open_case(&a).await;
    let r =
        create_referral(&a, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let read = referral(&b, orgs::JOBCENTER, &r.id).await;
    assert_eq!((read.id.as_str(), read.case_id.as_str()), (r.id.as_str(), case.id.as_str()), "B reads A's referral");
    for mv in [ReferralMove::Acknowledge, ReferralMove::Accept, ReferralMove::Start] {
        do_move(&a, orgs::JOBCENTER, &r.id, mv).await;
    }

    let seen = events_until(&mut on_b, |e| {
        is_event(e, EventKind::ReferralStateChanged, &r.id) && e.state == ReferralState::InProgress as i32
    })
    .await;
    assert_increasing(&seen);
    let kinds: Vec<(EventKind, i32)> = seen.iter().map(|e| (kind_of(e), e.state)).collect();
    assert_eq!(
        kinds,
        vec![
            (EventKind::ReferralCreated, ReferralState::Requested as i32),
            (EventKind::ReferralStateChanged, ReferralState::Received as i32),
            (EventKind::ReferralStateChanged, ReferralState::Accepted as i32),
            (EventKind::ReferralStateChanged, ReferralState::InProgress as i32),
        ],
        "the Jobcenter's events written through A arrive on B in commit order"
    );
    let cursors: Vec<u64> = seen.iter().map(|e| e.cursor).collect();
    let stored: Vec<u64> = reread(&b, orgs::JOBCENTER).await.iter().map(|e| e.cursor).collect();
    assert_eq!(cursors, stored, "no gaps: the stream showed every stored event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_replicas_never_make_a_subscriber_skip_or_repeat() {
    const TASKS_PER_REPLICA: usize = 4;
    const NOTES_PER_TASK: usize = 25;
    let Some((a, b)) = replicas().await else { return };
    let case = open_case(&a).await;
    let r =
        create_referral(&a, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let mut on_b = subscribe(&b, orgs::JOBCENTER, 0).await;

    let mut writers = tokio::task::JoinSet::new();
    for (replica, hub) in [("A", &a), ("B", &b)] {
        for task in 0..TASKS_PER_REPLICA {
            let mut client = referrals(hub, orgs::FACHSTELLE).await;
            let referral_id = r.id.clone();
            writers.spawn(async move {
                for n in 0..NOTES_PER_TASK {
                    client
                        .add_note(AddNoteRequest {
                            idempotency_key: idem(),
                            referral_id: referral_id.clone(),
                            text: format!("Notiz {replica}{task}-{n} (synthetisch)"),
                        })
                        .await
                        .unwrap_or_else(|s| panic!("AddNote via {replica}: {s:?}"));
                }
            });
        }
    }

    // Read while the writers write. A stream that skipped an event never reaches the total: it is
    // then compared with the stored events below, which names what it missed.
    let total = 2 * TASKS_PER_REPLICA * NOTES_PER_TASK;
    let mut seen = Vec::new();
    let mut notes = 0;
    while notes < total {
        match tokio::time::timeout(EVENT_TIMEOUT, on_b.message()).await {
            Ok(Ok(Some(m))) => {
                let e = m.event.expect("SubscribeResponse.event");
                if is_event(&e, EventKind::NoteAdded, &r.id) {
                    notes += 1;
                }
                seen.push(e);
            }
            Ok(other) => panic!("event stream on B ended or failed: {other:?}"),
            Err(_) => break,
        }
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer task");
    }

    assert_increasing(&seen);
    let cursors: Vec<u64> = seen.iter().map(|e| e.cursor).collect();
    let distinct: BTreeSet<u64> = cursors.iter().copied().collect();
    assert_eq!(distinct.len(), cursors.len(), "every event exactly once");
    let last = *cursors.last().expect("events");
    let stored: Vec<u64> = reread(&b, orgs::JOBCENTER).await.iter().map(|e| e.cursor).filter(|c| *c <= last).collect();
    let missed: Vec<&u64> = stored.iter().filter(|c| !distinct.contains(c)).collect();
    assert!(missed.is_empty(), "the live stream skipped cursors {missed:?} (late commits with lower cursors)");
    assert_eq!(cursors, stored, "the live stream equals a full re-read from 0");
    assert_eq!(notes, total, "every note's event arrived on B");
}

#[tokio::test]
async fn replicas_starting_together_on_a_fresh_database_both_migrate() {
    let Some(server) = pg_server() else { return };
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let url = hub::store::postgres::create_database(&server, &name).await.expect("fresh database");
    let vault = std::sync::Arc::new(hub::vault::Vault::ephemeral());
    let (one, two, three) = tokio::join!(
        hub::store::open(&url, vault.clone()),
        hub::store::open(&url, vault.clone()),
        hub::store::open(&url, vault.clone())
    );
    for (i, store) in [one, two, three].into_iter().enumerate() {
        let store = store.unwrap_or_else(|e| panic!("replica {i} opens and migrates: {e}"));
        store.probe().await.expect("probe");
        let mut tx = store.begin().await.expect("begin");
        assert!(tx.orgs().await.expect("the schema is there").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_both_replicas_at_once_creates_one_referral() {
    let Some((a, b)) = replicas().await else { return };
    let case = open_case(&a).await;
    let mut ids = BTreeSet::new();
    for _ in 0..10 {
        let req =
            referral_request(&a, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]);
        let (via_a, via_b) = tokio::join!(try_create_referral(&a, req.clone()), try_create_referral(&b, req));
        let (via_a, via_b) = (via_a.expect("CreateReferral via A"), via_b.expect("CreateReferral via B"));
        assert_eq!(via_a.id, via_b.id, "both replicas answer with the same referral");
        ids.insert(via_a.id);
    }
    assert_eq!(ids.len(), 10, "ten keys, ten referrals");
    let mut tx = b.store().begin().await.expect("begin");
    let stored = tx.referrals_of_case(&CaseId::parse(&case.id).expect("case id")).await.expect("referrals of case");
    let stored: BTreeSet<String> = stored.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(stored, ids, "exactly one stored referral per idempotency key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_announcements_fire_once_when_both_replicas_run_the_scheduler() {
    let Some((a, b)) = replicas().await else { return };
    let case = open_case(&a).await;
    let mut req =
        referral_request(&a, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Arrears]);
    req.reply_by = a.date_in_days(1);
    let r = try_create_referral(&a, req).await.expect("CreateReferral on A");
    // Both replicas share the manual clock: move past the reply-by date and the escalation threshold.
    a.advance_days(14);
    let (ra, rb) = tokio::join!(a.run_scheduled(), b.run_scheduled());
    ra.expect("scheduler on A");
    rb.expect("scheduler on B");
    let (ra, rb) = tokio::join!(a.run_scheduled(), b.run_scheduled());
    ra.expect("scheduler on A again");
    rb.expect("scheduler on B again");
    let events = reread(&b, orgs::FACHSTELLE).await;
    let count = |k: hub::domain::vocab::EventKind| {
        events
            .iter()
            .filter(|e| e.kind == k && e.referral_id.as_ref().map(ToString::to_string) == Some(r.id.clone()))
            .count()
    };
    assert_eq!(count(hub::domain::vocab::EventKind::ReferralOverdue), 1, "overdue announced once across replicas");
    assert_eq!(count(hub::domain::vocab::EventKind::ReferralEscalated), 1, "escalated once across replicas");
}
