//! Early arrears notices, court notices, triage, the housing company's status view, response SLAs
//! and the scheduler's announcements, all over real mTLS gRPC.

use crate::common;

use common::*;
use hub::domain::ids::OrgId;
use hub_proto::v1::notice_service_client::NoticeServiceClient;

async fn notices(hub: &TestHub, org: &str) -> NoticeServiceClient<Channel> {
    NoticeServiceClient::new(hub.channel(org).await.expect("channel"))
}

async fn submit(hub: &TestHub, n: ArrearsNotice) -> Result<NoticeResult, Status> {
    notices(hub, orgs::WOHNBAU)
        .await
        .submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(n) })
        .await
        .map(|r| r.into_inner().result.expect("result"))
}

async fn statuses(hub: &TestHub) -> Vec<NoticeStatus> {
    notices(hub, orgs::WOHNBAU)
        .await
        .list_notice_statuses(ListNoticeStatusesRequest::default())
        .await
        .expect("ListNoticeStatuses")
        .into_inner()
        .statuses
}

async fn open_notices(hub: &TestHub) -> Vec<OpenNotice> {
    notices(hub, orgs::FACHSTELLE)
        .await
        .list_open_notices(ListOpenNoticesRequest { limit: 0 })
        .await
        .expect("ListOpenNotices")
        .into_inner()
        .notices
}

fn outcome(r: &NoticeResult) -> NoticeOutcome {
    NoticeOutcome::try_from(r.outcome).expect("known outcome")
}

#[tokio::test]
async fn identifying_data_without_consent_is_rejected_and_nothing_is_stored() {
    let th = start().await;
    let mut n = pseudonymous_notice("R-1");
    n.tenant = Some(TenantContact { family_name: "Beispiel".into(), ..Default::default() });
    assert_status(submit(&th, n).await, Code::InvalidArgument, &["notice.tenant", "consent"]);
    let mut n = pseudonymous_notice("R-1");
    n.remark = "Frau Beispiel ist krank".into();
    assert_status(submit(&th, n).await, Code::InvalidArgument, &["notice.remark"]);
    assert!(statuses(&th).await.is_empty(), "nothing of a rejected notice is stored");
    assert!(open_notices(&th).await.is_empty());
}

#[tokio::test]
async fn same_tenancy_updates_never_duplicates_and_consent_later_completes_it() {
    let th = start().await;
    let first = submit(&th, pseudonymous_notice("R-2")).await.unwrap();
    assert_eq!(outcome(&first), NoticeOutcome::Accepted);
    let again = submit(&th, pseudonymous_notice("R-2")).await.unwrap();
    assert_eq!((outcome(&again), again.notice_id.as_str()), (NoticeOutcome::Unchanged, first.notice_id.as_str()));
    let mut worse = pseudonymous_notice("R-2");
    worse.stage = ThreatStage::KuendigungFristlos as i32;
    worse.termination_date = "2025-12-20".into();
    let updated = submit(&th, worse).await.unwrap();
    assert_eq!((outcome(&updated), updated.notice_id.as_str()), (NoticeOutcome::Updated, first.notice_id.as_str()));
    let open = open_notices(&th).await;
    assert_eq!(open.len(), 1);
    assert!(!open[0].consented && open[0].tenant_name.is_empty(), "pseudonymous: no name in triage");
    assert_eq!(open[0].arrears_cents, 120_000, "computed from the ledger");
    let completed = submit(&th, consented_notice("R-2")).await.unwrap();
    assert_eq!((outcome(&completed), completed.notice_id.as_str()), (NoticeOutcome::Updated, first.notice_id.as_str()));
    let open = open_notices(&th).await;
    assert_eq!(open.len(), 1, "still one notice per tenancy");
    assert!(open[0].consented);
    assert_eq!(open[0].tenant_name, "Berta Beispiel");
}

#[tokio::test]
async fn bulk_stores_every_valid_record_and_a_resend_changes_nothing() {
    let th = start().await;
    let records = || {
        let mut bad_district = pseudonymous_notice("B-3");
        bad_district.stadtbezirk = 0;
        let mut named = pseudonymous_notice("B-4");
        named.tenant = Some(TenantContact { given_name: "X".into(), ..Default::default() });
        let mut bad_date = pseudonymous_notice("B-5");
        bad_date.stage_date = "31.12.2025".into();
        vec![
            pseudonymous_notice("B-1"),
            consented_notice("B-2"),
            bad_district,
            named,
            bad_date,
            pseudonymous_notice("B-6"),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, n)| StreamArrearsNoticesRequest { record_ref: format!("row {}", i + 2), notice: Some(n) })
        .collect::<Vec<_>>()
    };
    let mut client = notices(&th, orgs::WOHNBAU).await;
    let resp = client.stream_arrears_notices(tokio_stream::iter(records())).await.unwrap().into_inner();
    let s = resp.summary.unwrap();
    assert_eq!((s.received, s.accepted, s.updated, s.unchanged, s.rejected), (6, 3, 0, 0, 3));
    let rejected: Vec<(&str, &str)> = resp
        .results
        .iter()
        .filter(|r| r.outcome == NoticeOutcome::Rejected as i32)
        .map(|r| (r.record_ref.as_str(), r.violations[0].field.as_str()))
        .collect();
    assert_eq!(rejected, [("row 4", "stadtbezirk"), ("row 5", "tenant"), ("row 6", "stage_date")]);
    assert_eq!(statuses(&th).await.len(), 3);
    let resp = client.stream_arrears_notices(tokio_stream::iter(records())).await.unwrap().into_inner();
    let s = resp.summary.unwrap();
    assert_eq!(
        (s.accepted, s.updated, s.unchanged, s.rejected),
        (0, 0, 3, 3),
        "re-sending the same file changes nothing"
    );
    assert_eq!(statuses(&th).await.len(), 3);
}

/// The bulk path stores a chunk with a few set-based statements. Its outcome must be what record-by-record
/// submission gives: a tenancy repeated within one stream (same data: unchanged; changed: updated), more
/// records than one transaction holds, one event per stored change and an intact audit chain.
#[tokio::test]
async fn bulk_across_transactions_with_repeated_tenancies_matches_record_by_record_submission() {
    let th = start().await;
    let mut changed = pseudonymous_notice("R-7");
    changed.stage = ThreatStage::KuendigungFristlos as i32;
    let mut records: Vec<ArrearsNotice> = (0..1_200).map(|i| pseudonymous_notice(&format!("R-{i}"))).collect();
    records.push(pseudonymous_notice("R-3")); // same as record 4: unchanged
    records.push(changed.clone()); // R-7 with a new stage: updated
    records.insert(600, changed.clone()); // R-7 changed within the second chunk, before the repeat at the end
    let mut in_chunk = pseudonymous_notice("R-1100");
    in_chunk.stage = ThreatStage::KuendigungFristlos as i32;
    records.push(in_chunk.clone()); // R-1100 changed in the chunk that stores it: updated before it is stored
    records.push(in_chunk); // and repeated there: unchanged
    let requests = |rs: &[ArrearsNotice]| {
        rs.iter()
            .enumerate()
            .map(|(i, n)| StreamArrearsNoticesRequest { record_ref: format!("row {i}"), notice: Some(n.clone()) })
            .collect::<Vec<_>>()
    };
    let mut client = notices(&th, orgs::WOHNBAU).await;
    let before = th.store().events_after(&OrgId::parse(orgs::FACHSTELLE).unwrap(), 0, 100_000).await.unwrap();
    let resp = client.stream_arrears_notices(tokio_stream::iter(requests(&records))).await.unwrap().into_inner();
    let s = resp.summary.unwrap();
    assert_eq!((s.received, s.accepted, s.updated, s.unchanged, s.rejected), (1_205, 1_200, 2, 3, 0));
    let by_ref = |r: &str| resp.results.iter().find(|x| x.record_ref == r).expect("result of every record");
    assert_eq!(outcome(by_ref("row 600")), NoticeOutcome::Updated, "R-7 changed in a later chunk");
    assert_eq!(outcome(by_ref("row 1201")), NoticeOutcome::Unchanged, "R-3 repeated: same data");
    assert_eq!(outcome(by_ref("row 1202")), NoticeOutcome::Unchanged, "R-7 repeated after its change");
    assert_eq!(by_ref("row 7").notice_id, by_ref("row 600").notice_id, "an update keeps the notice");
    assert_eq!(outcome(by_ref("row 1203")), NoticeOutcome::Updated, "R-1100 changed in its own chunk");
    assert_eq!(outcome(by_ref("row 1204")), NoticeOutcome::Unchanged, "R-1100 repeated in its own chunk");
    assert_eq!(by_ref("row 1101").notice_id, by_ref("row 1203").notice_id, "one R-1100 notice");

    let stored = statuses(&th).await;
    assert_eq!(stored.len(), 1_200, "one notice per tenancy");
    let events = th.store().events_after(&OrgId::parse(orgs::FACHSTELLE).unwrap(), 0, 100_000).await.unwrap();
    let new: Vec<_> = events.iter().filter(|e| !before.iter().any(|b| b.cursor == e.cursor)).collect();
    assert_eq!(new.len(), 1_202, "one event per accepted or updated record");
    assert!(new.windows(2).all(|w| w[0].cursor < w[1].cursor), "cursors ascend");
    let key = hub::audit::seal::SealPublicKey::load(&hub::audit::seal::public_key_file(th.data_dir()))
        .expect("the hub wrote its seal public key");
    let report = hub::audit::verify(th.store().as_ref(), Some(&key)).await.expect("verification runs");
    assert!(report.is_intact(), "audit chain intact: {:?}", report.problems);
    assert!(report.records >= 1_202, "one audit record per stored change, {} records", report.records);

    // A resend of the same file: the file holds two versions of R-7 and of R-1100, so each first version
    // replaces the stored (changed) one and the second changes it back; everything else is unchanged and
    // announces nothing.
    let resp = client.stream_arrears_notices(tokio_stream::iter(requests(&records))).await.unwrap().into_inner();
    let s = resp.summary.unwrap();
    assert_eq!((s.accepted, s.updated, s.unchanged), (0, 4, 1_201));
    let after = th.store().events_after(&OrgId::parse(orgs::FACHSTELLE).unwrap(), 0, 100_000).await.unwrap();
    assert_eq!(after.len(), events.len() + 4, "only the four changes are announced");
    let open = open_notices(&th).await;
    let r7 = open.iter().find(|n| n.reference == "R-7").expect("R-7 in triage");
    assert_eq!(r7.stage, ThreatStage::KuendigungFristlos as i32, "the stored R-7 is the changed one");
}

/// A nationwide day is never held in memory as a whole: the hub stores a stream's records in batches
/// while the rest is still arriving. So a stream that breaks off keeps the batches already stored, and
/// sending the export again completes it without a duplicate.
#[tokio::test]
async fn a_stream_that_breaks_off_keeps_its_stored_batches_and_the_resend_completes_it() {
    let th = start().await;
    let records: Vec<StreamArrearsNoticesRequest> = (0..600)
        .map(|i| StreamArrearsNoticesRequest {
            record_ref: format!("row {i}"),
            notice: Some(pseudonymous_notice(&format!("B-{i}"))),
        })
        .collect();
    let (sender, open_stream) = tokio::sync::mpsc::channel(records.len());
    for r in records.clone() {
        sender.send(r).await.expect("queued");
    }
    let mut client = notices(&th, orgs::WOHNBAU).await;
    let call = tokio::spawn(async move {
        client.stream_arrears_notices(tokio_stream::wrappers::ReceiverStream::new(open_stream)).await
    });
    // The stream stays open (the sender is alive): the first full batch is stored all the same.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while statuses(&th).await.len() < 500 {
        assert!(std::time::Instant::now() < deadline, "no batch stored while the stream was open");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    call.abort();
    assert!(call.await.is_err(), "the client broke the call off");
    drop(sender);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(statuses(&th).await.len(), 500, "the stored batch stays; the records after it were not stored");

    let mut client = notices(&th, orgs::WOHNBAU).await;
    let resp = client.stream_arrears_notices(tokio_stream::iter(records)).await.expect("the resend").into_inner();
    let s = resp.summary.expect("summary");
    assert_eq!((s.received, s.accepted, s.unchanged, s.rejected), (600, 100, 500, 0));
    assert_eq!(resp.results.len(), 600, "one result per record");
    assert_eq!(statuses(&th).await.len(), 600, "one notice per tenancy");
}

#[tokio::test]
async fn only_housing_companies_submit_and_only_the_fachstelle_triages() {
    let th = start().await;
    let r = notices(&th, orgs::JOBCENTER)
        .await
        .submit_arrears_notice(SubmitArrearsNoticeRequest {
            idempotency_key: idem(),
            notice: Some(pseudonymous_notice("P-1")),
        })
        .await;
    assert_status(r, Code::PermissionDenied, &["housing compan"]);
    let r = notices(&th, orgs::WOHNBAU).await.list_open_notices(ListOpenNoticesRequest { limit: 0 }).await;
    assert_status(r, Code::PermissionDenied, &["Fachstelle"]);
}

#[tokio::test]
async fn the_housing_company_learns_progress_and_the_takeover_only_with_outcome_consent() {
    let th = start().await;
    let res = submit(&th, consented_notice("S-1")).await.unwrap();
    let progress = |s: &[NoticeStatus]| NoticeProgress::try_from(s[0].progress).unwrap();
    assert_eq!(progress(&statuses(&th).await), NoticeProgress::Received);
    let case = notices(&th, orgs::FACHSTELLE)
        .await
        .take_up_notice(TakeUpNoticeRequest {
            idempotency_key: idem(),
            notice_id: res.notice_id.clone(),
            details: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let d = case.details.as_ref().unwrap();
    assert_eq!(d.persons[0].family_name, "Beispiel", "built from the consented notice");
    assert_eq!(d.tenancy.as_ref().unwrap().landlord_organisation_id, orgs::WOHNBAU);
    assert_eq!(case.stages.last().map(|s| s.stage), Some(ThreatStage::Mahnung as i32), "stage at first contact");
    assert_eq!(progress(&statuses(&th).await), NoticeProgress::ContactEstablished);

    let to_jc = create_referral(
        &th,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[DataCategory::Identity, DataCategory::Arrears],
    )
    .await;
    drive_to(&th, &to_jc.id, orgs::JOBCENTER, ReferralState::InProgress).await;
    assert_eq!(progress(&statuses(&th).await), NoticeProgress::SupportInProgress);
    let mut done = move_request(&to_jc.id, ReferralMove::Complete);
    done.outcome = Some(CompletionOutcome {
        result: CompletionResult::ApprovedLoan as i32,
        amount_cents: Some(130_000),
        effective_date: th.date_in_days(5),
        summary: String::new(),
    });
    send_move(&th, orgs::JOBCENTER, done).await.unwrap();
    let s = statuses(&th).await;
    assert_eq!(progress(&s), NoticeProgress::SupportInProgress, "no OUTCOME consent for the company yet");
    assert_eq!(s[0].approved_amount_cents, None);
    record_consent(&th, &case, &[orgs::WOHNBAU], &[DataCategory::Outcome]).await;
    let s = statuses(&th).await;
    assert_eq!(progress(&s), NoticeProgress::TakeoverApproved);
    assert_eq!((s[0].approved_amount_cents, s[0].expected_payment_date.clone()), (Some(130_000), th.date_in_days(5)));
    cases(&th, orgs::FACHSTELLE)
        .await
        .close_case(CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            outcome: CaseOutcome::WohnungErhalten as i32,
            rescue_means: RescueMeans::Sgb2Loan as i32,
            note: String::new(),
            confirm_open_items: true,
        })
        .await
        .unwrap();
    assert_eq!(progress(&statuses(&th).await), NoticeProgress::Closed);
}

#[tokio::test]
async fn court_notices_have_provisional_deadlines_until_the_service_date_is_known_and_triage_is_by_urgency() {
    let th = start().await;
    let mut fs = notices(&th, orgs::FACHSTELLE).await;
    fs.record_court_notice(RecordCourtNoticeRequest {
        idempotency_key: idem(),
        notice: Some(court_notice("7 C 1/26", "")),
    })
    .await
    .unwrap();
    fs.record_court_notice(RecordCourtNoticeRequest {
        idempotency_key: idem(),
        notice: Some(court_notice("7 C 2/26", "2025-11-20")),
    })
    .await
    .unwrap();
    submit(&th, pseudonymous_notice("EARLY-1")).await.unwrap();
    let open = open_notices(&th).await;
    let refs: Vec<&str> = open.iter().map(|n| n.reference.as_str()).collect();
    // 7 C 1/26 (not yet served): the defence notice, estimated from the filing on 5 Jan, ends
    // 19 Jan (provisional); 7 C 2/26 (served 20 Nov): its Schonfrist ends 20 Jan.
    assert_eq!(refs, ["7 C 1/26", "7 C 2/26", "EARLY-1"], "nearest hard deadline first, no deadline last");
    let nearest = open[0].nearest_deadline.clone().expect("a nearest deadline");
    assert_eq!(
        (nearest.kind.as_str(), nearest.date.as_str(), nearest.provisional),
        ("DEFENCE_NOTICE", "2026-01-19", true)
    );
    let schonfrist =
        |n: &OpenNotice| n.deadlines.iter().find(|d| d.kind == "SCHONFRIST").cloned().expect("a Schonfrist");
    let served = schonfrist(&open[1]);
    assert_eq!((served.date.as_str(), served.provisional), ("2026-01-20", false), "20 Nov + 2 months");
    assert!(served.source.contains("569"), "{}", served.source);
    let unserved = schonfrist(&open[0]);
    assert!(unserved.provisional, "no service date: provisional");
    assert_eq!(open[0].tenant_name, "Max Muster", "court notices carry names under statute");
    assert!(open[2].nearest_deadline.is_none());
}

#[tokio::test]
async fn a_court_notice_for_an_open_case_updates_it_and_take_up_links_the_same_tenancy() {
    let th = start().await;
    let mut details = frau_k_details();
    details.tenancy.as_mut().unwrap().tenancy_reference = "REF-9 C 9/26".into();
    let case = open_case_with(&th, details).await;
    let mut fs = notices(&th, orgs::FACHSTELLE).await;
    let r = fs
        .record_court_notice(RecordCourtNoticeRequest {
            idempotency_key: idem(),
            notice: Some(court_notice("9 C 9/26", "2026-01-02")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.case_id, case.id, "the open case of the same tenancy is updated at once");
    let got = cases(&th, orgs::FACHSTELLE).await.get_case(GetCaseRequest { case_id: case.id.clone() }).await.unwrap();
    let got = got.into_inner().case.unwrap();
    let stages: Vec<i32> = got.stages.iter().map(|s| s.stage).collect();
    assert!(stages.contains(&(ThreatStage::Rechtshaengig as i32)), "{stages:?}");
    let schonfrist =
        got.deadlines.iter().find(|d| d.kind == "SCHONFRIST").expect("case deadlines include the Schonfrist");
    assert_eq!(schonfrist.date, "2026-03-02", "2 Jan + 2 months = 2 Mar 2026 (a Monday)");

    let early = submit(&th, consented_notice("WN-4711-03")).await.unwrap();
    let linked = fs
        .take_up_notice(TakeUpNoticeRequest {
            idempotency_key: idem(),
            notice_id: early.notice_id.clone(),
            details: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!linked.linked_existing, "different tenancy reference: a new case");
    let again = fs
        .take_up_notice(TakeUpNoticeRequest {
            idempotency_key: idem(),
            notice_id: early.notice_id,
            details: None,
            ..Default::default()
        })
        .await;
    assert_status(again, Code::FailedPrecondition, &["already taken up"]);
    let mut same = consented_notice("REF-9 C 9/26");
    same.stage = ThreatStage::Rechtshaengig as i32;
    let n = submit(&th, same).await.unwrap();
    let linked = fs
        .take_up_notice(TakeUpNoticeRequest {
            idempotency_key: idem(),
            notice_id: n.notice_id,
            details: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(linked.linked_existing && linked.case.unwrap().id == case.id, "same tenancy: linked to the open case");
}

#[tokio::test]
async fn overdue_and_escalation_are_announced_once_even_across_a_restart() {
    let mut th = start().await;
    let case = open_case(&th).await;
    let mut req = referral_request(
        &th,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[DataCategory::Arrears],
    );
    req.reply_by = String::new();
    let r = try_create_referral(&th, req).await.unwrap();
    assert_eq!(r.reply_by, "2026-01-23", "10 working days after Fri 9 Jan 2026");
    let mut stream = subscribe(&th, orgs::FACHSTELLE, 0).await;
    let mut seen = events_until(&mut stream, |e| kind_of(e) == EventKind::ReferralCreated).await;
    th.advance_days(15); // Sat 24 Jan: reply-by passed
    th.run_scheduled().await.unwrap();
    th.run_scheduled().await.unwrap();
    seen.extend(events_until(&mut stream, |e| kind_of(e) == EventKind::ReferralOverdue).await);
    th.restart().await.unwrap();
    th.run_scheduled().await.unwrap();
    th.advance_days(10); // Tue 3 Feb: more than 5 working days after the reply-by date
    th.run_scheduled().await.unwrap();
    th.restart().await.unwrap();
    th.run_scheduled().await.unwrap();
    let mut stream = th.channel(orgs::FACHSTELLE).await.map(EventServiceClient::new).unwrap();
    let all: Vec<Event> = {
        let mut s = stream.subscribe(SubscribeRequest { after_cursor: 0 }).await.unwrap().into_inner();
        events_until(&mut s, |e| kind_of(e) == EventKind::ReferralEscalated).await
    };
    let count = |k: EventKind| all.iter().filter(|e| kind_of(e) == k && e.referral_id == r.id).count();
    assert_eq!((count(EventKind::ReferralOverdue), count(EventKind::ReferralEscalated)), (1, 1), "{all:?}");
    let listed = ReferralServiceClient::new(th.channel(orgs::FACHSTELLE).await.unwrap())
        .list_referrals(ListReferralsRequest { mailbox: Mailbox::All as i32, overdue_only: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .referrals;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].overdue);
    drop(seen);
}

#[tokio::test]
async fn a_near_eviction_date_shortens_the_reply_by_and_approaching_deadlines_are_announced_once() {
    let th = start().await;
    let case = open_case(&th).await;
    cases(&th, orgs::FACHSTELLE)
        .await
        .record_threat_stage(RecordThreatStageRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            entry: Some(ThreatStageEntry {
                stage: ThreatStage::Raeumungstermin as i32,
                date: "2026-01-02".into(),
                end_date: "2026-01-30".into(),
                source: "Mitteilung Gerichtsvollzieher (synthetisch)".into(),
                recorded_by_organisation_id: String::new(),
            }),
        })
        .await
        .unwrap();
    let mut req = referral_request(
        &th,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[DataCategory::Arrears],
    );
    req.reply_by = String::new();
    let r = try_create_referral(&th, req).await.unwrap();
    assert!(r.reply_by.as_str() < "2026-01-23", "shortened before the hardship deadline: {}", r.reply_by);
    th.run_scheduled().await.unwrap();
    th.run_scheduled().await.unwrap();
    let mut s = subscribe(&th, orgs::FACHSTELLE, 0).await;
    let evs = events_until(&mut s, |e| {
        kind_of(e) == EventKind::DeadlineApproaching && e.deadline.as_ref().is_some_and(|d| d.kind == "EVICTION_DATE")
    })
    .await;
    let approaching: Vec<&Event> = evs.iter().filter(|e| kind_of(e) == EventKind::DeadlineApproaching).collect();
    let eviction = approaching.iter().filter(|e| e.deadline.as_ref().unwrap().kind == "EVICTION_DATE").count();
    assert_eq!(eviction, 1, "announced once: {approaching:?}");
}
