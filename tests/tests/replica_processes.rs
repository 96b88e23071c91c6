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

mod mailsink;
mod process;

use process::{hub_binary, hub_command};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use hub::domain::ids::OrgId;
use hub::pki::{PemPair, PkiDir};
use hub::testkit::{frau_k_details, idem, orgs};
use hub_proto::v1::case_service_client::CaseServiceClient;
use hub_proto::v1::consent_service_client::ConsentServiceClient;
use hub_proto::v1::directory_service_client::DirectoryServiceClient;
use hub_proto::v1::event_service_client::EventServiceClient;
use hub_proto::v1::referral_service_client::ReferralServiceClient;
use hub_proto::v1::*;
use tonic::transport::Channel;

/// How long sustained writes run, and when A is killed during them.
const WRITE_FOR: Duration = Duration::from_secs(3);
const KILL_AFTER: Duration = Duration::from_millis(1500);
/// Concurrent writers through A.
const WRITERS: usize = 4;
/// Bound of every single call and every wait for an event or a process.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn pg_server() -> Option<String> {
    hub::testkit::postgres_for_test("the replica process test")
}

/// Runs `hub ARGS` to completion and returns its stdout; panics with its stderr on failure.
fn run_hub(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = hub_command(bin, args);
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap_or_else(|e| panic!("running hub {args:?}: {e}"));
    assert!(out.status.success(), "hub {args:?}: {}; stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `hub serve` process; killed (SIGKILL) and reaped on drop, also when the test panics.
struct Replica {
    name: &'static str,
    child: Option<Child>,
    port: u16,
    /// Its stderr so far, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// Starts `hub serve` on a free loopback port and waits until it listens.
    fn start(name: &'static str, bin: &Path, data_dir: &Path, database_url: &str) -> Self {
        Self::start_with(name, bin, data_dir, database_url, &[])
    }

    /// Starts `hub serve` with extra environment variables.
    fn start_with(name: &'static str, bin: &Path, data_dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Self {
        let data = data_dir.to_str().expect("UTF-8 temp path");
        let child = hub_command(bin, &["serve", "--data-dir", data, "--listen", "127.0.0.1:0"])
            .env("HUB_DATABASE_URL", database_url)
            .env("HUB_AUTO_MIGRATE", "false")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn hub serve ({name}): {e}"));
        let mut replica = Self { name, child: Some(child), port: 0, log: Arc::default() };
        let stderr = replica.child.as_mut().and_then(|c| c.stderr.take()).expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        let log = replica.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().expect("log").push(line.clone());
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                // "hub: listening on 127.0.0.1:PORT (database ...)"
                Ok(line) if line.contains("listening on") => {
                    let addr = line.split("listening on ").nth(1).and_then(|r| r.split_whitespace().next());
                    let addr: std::net::SocketAddr =
                        addr.and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"));
                    replica.port = addr.port();
                    return replica;
                }
                Ok(_) => {}
                Err(_) => panic!("replica {name} did not start listening; stderr: {:#?}", replica.log()),
            }
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// SIGKILL, no chance to finish anything.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap_or_else(|e| panic!("kill -9 {}: {e}", self.name));
            let _ = c.wait();
        }
    }

    async fn channel(&self, ca: &PemPair, identity: &PemPair) -> Channel {
        let url = format!("https://127.0.0.1:{}", self.port);
        hub::client::connect(&url, "localhost", &ca.cert, Some((identity.cert.as_str(), identity.key.as_str())))
            .await
            .unwrap_or_else(|e| panic!("mTLS channel to {}: {e:#}", self.name))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn org_cert(ca: &PemPair, id: &str) -> PemPair {
    hub::pki::org_cert(ca, &OrgId::parse(id).expect("org id")).expect("org certificate")
}

/// Today plus `days` by the system clock, as the hub in its process counts days.
fn date_in_days(days: i64) -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    let now = hub::domain::time::Instant::from_millis(i64::try_from(ms).expect("millis"));
    now.day().plus_days(days).to_string()
}

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL_TIMEOUT, f).await.unwrap_or_else(|_| panic!("{what}: no answer within {CALL_TIMEOUT:?}"))
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

fn referral_request(case_id: &str) -> CreateReferralRequest {
    CreateReferralRequest {
        idempotency_key: idem(),
        case_id: case_id.to_owned(),
        recipient_organisation_id: orgs::JOBCENTER.to_owned(),
        category: ReferralCategory::RentDebtTakeoverSgb2 as i32,
        data_categories: vec![DataCategory::Identity as i32, DataCategory::Arrears as i32],
        message: "Bitte um Pruefung (synthetischer Testfall)".to_owned(),
        reply_by: date_in_days(14),
    }
}

/// A fresh database with one PKI (`hub pki init`) copied into the data directories of A and B, and
/// the schema applied with `hub migrate`. Returns (database URL, temp root, dir A, dir B).
async fn prepare(bin: &Path, server: &str) -> (String, tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let name = format!("hub_test_{}", uuid::Uuid::new_v4().simple());
    let database_url = hub::store::postgres::create_database(server, &name).await.expect("create the test database");
    let root = tempfile::tempdir().expect("temp dir");
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    run_hub(bin, &["pki", "init", "--data-dir", dir_a.to_str().expect("UTF-8 temp path")], &[]);
    hub::testkit::copy_dir(&dir_a.join("pki"), &dir_b.join("pki")).expect("copy the PKI");
    let migrated =
        run_hub(bin, &["migrate", "--data-dir", dir_a.to_str().expect("UTF-8"), "--database-url", &database_url], &[]);
    assert!(migrated.contains("applied 0001 core"), "hub migrate applied the schema: {migrated}");
    (database_url, root, dir_a, dir_b)
}

/// Registers the standard network through `channel` (operator), each spec passed through `adjust`.
async fn register_network(channel: Channel, adjust: impl Fn(&mut OrganisationSpec)) {
    let mut directory = DirectoryServiceClient::new(channel);
    for mut spec in hub::network::standard_network() {
        adjust(&mut spec);
        bounded(
            "RegisterOrganisation",
            directory.register_organisation(RegisterOrganisationRequest {
                idempotency_key: idem(),
                organisation: Some(spec),
            }),
        )
        .await
        .expect("RegisterOrganisation");
    }
}

/// Opens the Frau K. case as the Fachstelle and records a consent to disclose `categories` to `recipient`.
async fn case_with_consent(fachstelle: Channel, recipient: &str, categories: &[DataCategory]) -> Case {
    let case = bounded(
        "OpenCase",
        CaseServiceClient::new(fachstelle.clone()).open_case(OpenCaseRequest {
            idempotency_key: idem(),
            details: Some(frau_k_details()),
            initial_stage: None,
        }),
    )
    .await
    .expect("OpenCase")
    .into_inner()
    .case
    .expect("case");
    let person = case.details.as_ref().and_then(|d| d.persons.first()).expect("a person").person_id.clone();
    bounded(
        "RecordConsent",
        ConsentServiceClient::new(fachstelle).record_consent(RecordConsentRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            person_ids: vec![person],
            recipient_organisation_ids: vec![recipient.to_owned()],
            categories: categories.iter().map(|c| *c as i32).collect(),
            purpose: ConsentPurpose::Wohnungssicherung as i32,
            form: ConsentForm::Written as i32,
            evidence_reference: "EW-2026-0001 (synthetisch)".to_owned(),
            valid_until: date_in_days(170),
            art9_explicit: false,
            secrecy_release: true,
        }),
    )
    .await
    .expect("RecordConsent");
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hub_processes_share_one_database_and_survive_kill_9_of_one() {
    let Some(server) = pg_server() else { return };
    let bin = hub_binary();
    let (database_url, _root, dir_a, dir_b) = prepare(&bin, &server).await;

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
    let acknowledged_notes: Arc<Mutex<Vec<String>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let mut client = ReferralServiceClient::new(a.channel(&ca, &fachstelle).await);
        let (acked, killed, referral_id) = (acknowledged_notes.clone(), killed.clone(), referral.id.clone());
        writers.spawn(async move {
            let mut n = 0u32;
            while started.elapsed() < WRITE_FOR {
                let call = client.add_note(AddNoteRequest {
                    idempotency_key: idem(),
                    referral_id: referral_id.clone(),
                    text: format!("Notiz {w}-{n} (synthetisch)"),
                });
                match tokio::time::timeout(CALL_TIMEOUT, call).await {
                    Ok(Ok(r)) => acked.lock().expect("acked").push(r.into_inner().note.expect("note").id),
                    // After the kill, calls fail (connection reset or refused): this writer is done.
                    Ok(Err(_)) | Err(_) if killed.load(Ordering::SeqCst) => return,
                    Ok(Err(s)) => panic!("AddNote {w}-{n} through A failed before the kill: {s:?}"),
                    Err(_) => panic!("AddNote {w}-{n} through A hung before the kill"),
                }
                n += 1;
            }
        });
    }
    tokio::time::sleep(KILL_AFTER).await;
    let before_kill = acknowledged_notes.lock().expect("acked").len();
    killed.store(true, Ordering::SeqCst);
    a.kill();
    while let Some(done) = bounded("the writers to stop", writers.join_next()).await {
        done.expect("writer task");
    }
    let acked: BTreeSet<String> = acknowledged_notes.lock().expect("acked").iter().cloned().collect();
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
    let sink = mailsink::MailSink::start(mailsink::SinkOptions::default()).await.expect("SMTP sink");
    let bin = hub_binary();
    let (database_url, root, dir_a, dir_b) = prepare(&bin, &server).await;

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
