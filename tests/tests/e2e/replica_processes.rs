//! Two real `hub serve` processes (the built binary) on one PostgreSQL database with one PKI: what A
//! writes, a subscriber on B receives; and when A is killed with SIGKILL in the middle of sustained
//! writes, every write A acknowledged is there through B, and B keeps accepting writes.
//!
//! The database is migrated first with `hub migrate`, and both replicas run with
//! `HUB_AUTO_MIGRATE=false`, as the deployment guide describes.
//!
//! A second test runs both replicas with the email channel on: mail jobs committed through A and B
//! are split between the two dispatchers and each reaches the SMTP server exactly once.
//!
//! Needs PostgreSQL (`HUB_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`): without
//! it the test fails under CI (`CI` set) and is skipped with a message otherwise (see `pg_server`).

use crate::mailsink;
use crate::process;

use process::{
    CALL_TIMEOUT, NoteWriters, Replica, bounded, case_with_consent, date_in_days, hub_binary, org_cert,
    prepare_pg_pair, referral_request, register_network,
};
use std::collections::BTreeSet;
use std::time::Duration;

use hub::pki::PkiDir;
use hub_proto::v1::event_service_client::EventServiceClient;
use hub_proto::v1::referral_service_client::ReferralServiceClient;
use hub_proto::v1::*;
use hub_testkit::{idem, orgs};
use tonic::transport::Channel;

/// How long sustained writes run, and when A is killed during them.
const WRITE_FOR: Duration = Duration::from_secs(3);
const KILL_AFTER: Duration = Duration::from_millis(1500);
/// Concurrent writers through A.
const WRITERS: usize = 4;

fn pg_server() -> Option<String> {
    hub_testkit::postgres_for_test("the replica process test")
}

/// Waits for the event of `kind` about `referral_id`, skipping others.
async fn await_event(stream: &mut tonic::Streaming<SubscribeResponse>, kind: EventKind, referral_id: &str) -> Event {
    let deadline = tokio::time::Instant::now() + CALL_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) => panic!("no {kind:?} for {referral_id} on B within {CALL_TIMEOUT:?}"),
            Ok(Err(s)) => panic!("event stream on B failed: {s:?}"),
            Ok(Ok(None)) => panic!("event stream on B ended"),
            Ok(Ok(Some(m))) => {
                let e = m.event.expect("SubscribeResponse.event");
                if e.kind == kind as i32 && e.referral_id == referral_id {
                    return e;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hub_processes_share_one_database_and_survive_kill_9_of_one() {
    let Some(server) = pg_server() else { return };
    let bin = hub_binary();
    let (database_url, _root, dir_a, dir_b) = prepare_pg_pair(&bin, &server).await;

    let mut a = Replica::start("A", &bin, &dir_a, &database_url);
    let b = Replica::start("B", &bin, &dir_b, &database_url);
    assert_ne!(a.port, b.port);

    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(&dir_a)).expect("load the CA");
    let operator = hub::pki::operator_cert(&ca).expect("operator certificate");
    let (fachstelle, jobcenter) = (org_cert(&ca, orgs::FACHSTELLE), org_cert(&ca, orgs::JOBCENTER));

    // The standard network, once, through A.
    register_network(a.channel(&ca, &operator).await, |_| {}).await;

    // (a) Case, consent and referral through A; the Jobcenter, subscribed on B, receives its events.
    let mut on_b = bounded(
        "Subscribe",
        EventServiceClient::new(b.channel(&ca, &jobcenter).await).subscribe(SubscribeRequest { after_cursor: 0 }),
    )
    .await
    .expect("Subscribe on B")
    .into_inner();
    let a_fachstelle = a.channel(&ca, &fachstelle).await;
    let case =
        case_with_consent(a_fachstelle.clone(), orgs::JOBCENTER, &[DataCategory::Identity, DataCategory::Arrears])
            .await;
    let mut a_referrals = ReferralServiceClient::new(a_fachstelle.clone());
    let referral = bounded("CreateReferral", a_referrals.create_referral(referral_request(&case.id)))
        .await
        .expect("CreateReferral through A")
        .into_inner()
        .referral
        .expect("referral");
    let created = await_event(&mut on_b, EventKind::ReferralCreated, &referral.id).await;
    bounded(
        "Acknowledge",
        ReferralServiceClient::new(a.channel(&ca, &jobcenter).await).transition_referral(TransitionReferralRequest {
            idempotency_key: idem(),
            referral_id: referral.id.clone(),
            r#move: ReferralMove::Acknowledge as i32,
            ..Default::default()
        }),
    )
    .await
    .expect("Acknowledge through A");
    let acknowledged = await_event(&mut on_b, EventKind::ReferralStateChanged, &referral.id).await;
    assert_eq!(acknowledged.state, ReferralState::Received as i32);
    assert!(created.cursor < acknowledged.cursor, "B streams A's events in commit order");

    // (b) Sustained writes through A; kill -9 A in the middle.
    let mut clients = Vec::new();
    for _ in 0..WRITERS {
        clients.push(ReferralServiceClient::new(a.channel(&ca, &fachstelle).await));
    }
    let writers = NoteWriters::spawn("A", clients, &referral.id, WRITE_FOR);
    tokio::time::sleep(KILL_AFTER).await;
    let before_kill = writers.acknowledged();
    writers.killing();
    a.kill();
    let acked = writers.join().await;
    println!(
        "{} notes acknowledged by A from {WRITERS} writers ({before_kill} before kill -9 after {KILL_AFTER:?})",
        acked.len()
    );
    assert!(before_kill > 0, "A acknowledged writes before it was killed");

    // Through B: every note A acknowledged is there, and B keeps accepting writes.
    let mut b_referrals = ReferralServiceClient::new(b.channel(&ca, &fachstelle).await);
    let listed = |client: &mut ReferralServiceClient<Channel>| {
        let mut client = client.clone();
        let id = referral.id.clone();
        async move {
            bounded("ListNotes", client.list_notes(ListNotesRequest { referral_id: id }))
                .await
                .expect("ListNotes through B")
                .into_inner()
                .notes
                .into_iter()
                .map(|n| n.id)
                .collect::<BTreeSet<String>>()
        }
    };
    let on_b_notes = listed(&mut b_referrals).await;
    let missing: Vec<&String> = acked.difference(&on_b_notes).collect();
    assert!(missing.is_empty(), "notes acknowledged by A but missing through B after kill -9: {missing:?}");

    let note = bounded(
        "AddNote",
        b_referrals.add_note(AddNoteRequest {
            idempotency_key: idem(),
            referral_id: referral.id.clone(),
            text: "Nach dem Ausfall von A (synthetisch)".to_owned(),
        }),
    )
    .await
    .unwrap_or_else(|s| panic!("AddNote through B after A died: {s:?}; B's stderr: {:#?}", b.log()))
    .into_inner()
    .note
    .expect("note");
    assert!(listed(&mut b_referrals).await.contains(&note.id), "B lists the note it just accepted");
    let second = bounded("CreateReferral", b_referrals.create_referral(referral_request(&case.id)))
        .await
        .unwrap_or_else(|s| panic!("CreateReferral through B after A died: {s:?}"))
        .into_inner()
        .referral
        .expect("referral");
    assert_ne!(second.id, referral.id);
    await_event(&mut on_b, EventKind::ReferralCreated, &second.id).await;
    drop(b);
}

/// Polls `f` until it returns `Some`, at most `CALL_TIMEOUT`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + CALL_TIMEOUT * 2;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {:?}", CALL_TIMEOUT * 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hub_processes_split_the_outbox_and_send_every_mail_exactly_once() {
    const MAILS: usize = 24;
    let Some(server) = pg_server() else { return };
    // A server that takes 100 ms per message and dispatchers that claim two mails a round: one
    // replica alone needs over a second for the 24 mails, so the other, woken by its own commits,
    // always finds mails nobody has claimed yet. (With the default round of 50 and an instant sink,
    // whichever dispatcher wakes first may legitimately send them all, which proves nothing about
    // sharing.)
    let sink = mailsink::MailSink::start(mailsink::SinkOptions {
        delay: Some(Duration::from_millis(100)),
        ..mailsink::SinkOptions::default()
    })
    .await
    .expect("SMTP sink");
    let bin = hub_binary();
    let (database_url, root, dir_a, dir_b) = prepare_pg_pair(&bin, &server).await;
    let config = root.path().join("hub.toml");
    std::fs::write(&config, "[email]\nbatch = 2\n").expect("write the config file");

    // Both replicas send through the same SMTP server and sign links with one shared key.
    let port = sink.port().to_string();
    let key = root.path().join("email.key");
    let env = [
        ("HUB_EMAIL_ENABLED", "true"),
        ("HUB_SMTP_HOST", "127.0.0.1"),
        ("HUB_SMTP_PORT", port.as_str()),
        ("HUB_SMTP_SECURITY", "plain"),
        ("HUB_SMTP_FROM", "Wohnungserhalt Hub <hub@hub.example>"),
        ("HUB_WEB_LISTEN", "127.0.0.1:0"),
        ("HUB_EMAIL_KEY_FILE", key.to_str().expect("UTF-8")),
        ("HUB_CONFIG", config.to_str().expect("UTF-8")),
    ];
    let a = Replica::start_with("A", &bin, &dir_a, &database_url, &env);
    let b = Replica::start_with("B", &bin, &dir_b, &database_url, &env);

    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(&dir_a)).expect("load the CA");
    let operator = hub::pki::operator_cert(&ca).expect("operator certificate");
    let fachstelle = org_cert(&ca, orgs::FACHSTELLE);
    register_network(a.channel(&ca, &operator).await, |spec| {
        if spec.id == orgs::SCHULDNERBERATUNG {
            spec.channel = hub_proto::v1::Channel::Email as i32;
            spec.channel_address = "postfach@schuldnerberatung.example".to_owned();
        }
    })
    .await;
    let (on_a, on_b) = (a.channel(&ca, &fachstelle).await, b.channel(&ca, &fachstelle).await);
    let case = case_with_consent(on_a.clone(), orgs::SCHULDNERBERATUNG, &[DataCategory::Identity]).await;

    // Referrals to the email partner through both replicas, concurrently.
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..MAILS {
        let mut client = ReferralServiceClient::new(if i % 2 == 0 { on_a.clone() } else { on_b.clone() });
        let case_id = case.id.clone();
        writers.spawn(async move {
            let req = CreateReferralRequest {
                idempotency_key: idem(),
                case_id,
                recipient_organisation_id: orgs::SCHULDNERBERATUNG.to_owned(),
                category: ReferralCategory::DebtCounselling as i32,
                data_categories: vec![DataCategory::Identity as i32],
                message: format!("Vermittlung {i} (synthetisch)"),
                reply_by: date_in_days(14),
                confirm_duplicate: true,
                confirm_closed_capacity: false,
            };
            bounded("CreateReferral", client.create_referral(req)).await.expect("CreateReferral")
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer task");
    }

    // Every job ends SENT; then the sink holds exactly one message per job.
    let pool = sqlx::PgPool::connect(&database_url).await.expect("connect to the test database");
    let jobs: Vec<serde_json::Value> = eventually("all mail jobs sent", || {
        let pool = pool.clone();
        async move {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT status, body FROM outbox").fetch_all(&pool).await.ok()?;
            let sent = rows.iter().filter(|(status, _)| status == "SENT").count();
            let jobs: Vec<serde_json::Value> = rows.iter().filter_map(|(_, b)| serde_json::from_str(b).ok()).collect();
            (rows.len() == MAILS && sent == MAILS).then_some(jobs)
        }
    })
    .await;
    let mails = sink.wait_for(MAILS, CALL_TIMEOUT).await.expect("the mails arrive");
    let ids: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(mails.len(), MAILS, "no mail twice: {} messages, {} distinct", mails.len(), ids.len());
    assert_eq!(ids.len(), MAILS);
    for j in &jobs {
        let id = j["id"].as_str().expect("job id");
        assert!(ids.contains(format!("<{id}@hub.example>").as_str()), "job {id} was sent");
    }
    let senders: BTreeSet<&str> = jobs.iter().filter_map(|j| j["sent_by"].as_str()).collect();
    println!("{MAILS} mails sent by {} dispatchers: {senders:?}", senders.len());
    assert_eq!(senders.len(), 2, "both replicas' dispatchers sent mail: {senders:?}");
    pool.close().await;
    drop((a, b));
}
