//! Crash test on the embedded default (SQLite): a real `hub serve` process is killed with SIGKILL in
//! the middle of sustained concurrent writes. After a restart on the same data directory every write
//! it acknowledged is there, it accepts writes again, and `hub audit verify` finds the audit chain
//! intact.
//!
//! The PostgreSQL counterpart (one replica killed, the other one serving on) is in
//! `replica_processes.rs`.

use crate::process;

use std::collections::BTreeSet;
use std::time::Duration;

use hub::pki::PkiDir;
use hub_proto::v1::referral_service_client::ReferralServiceClient;
use hub_proto::v1::*;
use hub_testkit::{idem, orgs};
use process::{
    NoteWriters, Replica, bounded, case_with_consent, hub_binary, org_cert, referral_request, register_network, run_hub,
};
use tonic::transport::Channel;

/// How long sustained writes run, and when the hub is killed during them.
const WRITE_FOR: Duration = Duration::from_secs(3);
const KILL_AFTER: Duration = Duration::from_millis(1500);
/// Concurrent writers.
const WRITERS: usize = 4;

/// The ids of the notes on `referral_id`, as the Fachstelle lists them.
async fn note_ids(client: &mut ReferralServiceClient<Channel>, referral_id: &str) -> BTreeSet<String> {
    bounded("ListNotes", client.list_notes(ListNotesRequest { referral_id: referral_id.to_owned() }))
        .await
        .expect("ListNotes")
        .into_inner()
        .notes
        .into_iter()
        .map(|n| n.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_kill_9_and_the_audit_chain_verifies() {
    let bin = hub_binary();
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("hub-data");
    let data_arg = data.to_str().expect("UTF-8 temp path");
    run_hub(&bin, &["pki", "init", "--data-dir", data_arg], &[]);
    let database_url = format!("sqlite://{}", data.join("hub.db").display());
    let migrated = run_hub(&bin, &["migrate", "--data-dir", data_arg], &[]);
    assert!(migrated.contains("applied 0001 core"), "hub migrate applied the schema: {migrated}");

    let mut first = Replica::start("the first hub", &bin, &data, &database_url);
    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(&data)).expect("load the CA");
    let operator = hub::pki::operator_cert(&ca).expect("operator certificate");
    let fachstelle = org_cert(&ca, orgs::FACHSTELLE);
    register_network(first.channel(&ca, &operator).await, |_| {}).await;

    // A case, a consent and a referral; then the notes on it from four writers.
    let on_first = first.channel(&ca, &fachstelle).await;
    let case =
        case_with_consent(on_first.clone(), orgs::JOBCENTER, &[DataCategory::Identity, DataCategory::Arrears]).await;
    let referral =
        bounded("CreateReferral", ReferralServiceClient::new(on_first).create_referral(referral_request(&case.id)))
            .await
            .expect("CreateReferral")
            .into_inner()
            .referral
            .expect("referral");

    let mut clients = Vec::new();
    for _ in 0..WRITERS {
        clients.push(ReferralServiceClient::new(first.channel(&ca, &fachstelle).await));
    }
    let writers = NoteWriters::spawn("the first hub", clients, &referral.id, WRITE_FOR);
    tokio::time::sleep(KILL_AFTER).await;
    let before_kill = writers.acknowledged();
    writers.killing();
    first.kill();
    let acked = writers.join().await;
    assert!(before_kill > 0, "the hub acknowledged writes before it was killed");

    // Restart on the same data directory: every acknowledged note is there.
    let second = Replica::start("the restarted hub", &bin, &data, &database_url);
    let mut referrals = ReferralServiceClient::new(second.channel(&ca, &fachstelle).await);
    let listed = note_ids(&mut referrals, &referral.id).await;
    let missing: Vec<&String> = acked.difference(&listed).collect();
    println!(
        "{} notes acknowledged from {WRITERS} writers ({before_kill} counted at kill -9 after {KILL_AFTER:?}); \
         {} listed after the restart, {} of the acknowledged missing",
        acked.len(),
        listed.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "notes acknowledged before kill -9 but missing after the restart: {missing:?}");

    // The referral reads as before, and the restarted hub accepts writes again.
    let again = bounded("GetReferral", referrals.get_referral(GetReferralRequest { referral_id: referral.id.clone() }))
        .await
        .expect("GetReferral after the restart")
        .into_inner()
        .referral
        .expect("referral");
    assert_eq!(again.state, ReferralState::Requested as i32);
    let note = bounded(
        "AddNote",
        referrals.add_note(AddNoteRequest {
            idempotency_key: idem(),
            referral_id: referral.id.clone(),
            text: "Nach dem Neustart (synthetisch)".to_owned(),
        }),
    )
    .await
    .unwrap_or_else(|s| panic!("AddNote after the restart: {s:?}; stderr: {:#?}", second.log()))
    .into_inner()
    .note
    .expect("note");
    assert!(note_ids(&mut referrals, &referral.id).await.contains(&note.id), "the new note is listed");
    let another = bounded("CreateReferral", referrals.create_referral(referral_request(&case.id)))
        .await
        .unwrap_or_else(|s| panic!("CreateReferral after the restart: {s:?}"))
        .into_inner()
        .referral
        .expect("referral");
    assert_ne!(another.id, referral.id);
    drop(second);

    // The audit chain, written by both processes across the crash, verifies.
    let verified = run_hub(&bin, &["audit", "verify", "--data-dir", data_arg], &[]);
    assert!(verified.contains("audit chain intact"), "hub audit verify: {verified}");
    println!("hub audit verify: {}", verified.trim());
}
