//! The event stream: backlog then live, strictly increasing cursors, resumable without gaps,
//! per organisation, without personal data.

use crate::common;

use DataCategory as D;
use common::*;

#[tokio::test]
async fn live_events_arrive_in_cursor_order() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let mut jc = subscribe(&hub, orgs::JOBCENTER, 0).await;
    let r =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;

    let created = next_event(&mut jc).await;
    assert!(is_event(&created, EventKind::ReferralCreated, &r.id), "first Jobcenter event: {created:?}");
    assert_eq!(created.case_id, case.id);
    assert_eq!(created.state, ReferralState::Requested as i32);
    assert_eq!(created.actor_organisation_id, orgs::FACHSTELLE);
    assert!(created.occurred_at.is_some());

    let mut all = vec![created];
    for mv in [ReferralMove::Acknowledge, ReferralMove::Accept, ReferralMove::Start] {
        let after = do_move(&hub, orgs::JOBCENTER, &r.id, mv).await;
        let e = next_event(&mut jc).await;
        assert!(is_event(&e, EventKind::ReferralStateChanged, &r.id), "{mv:?}: {e:?}");
        assert_eq!(e.state, after.state, "{mv:?}: the event carries the new state");
        assert_eq!(e.actor_organisation_id, orgs::JOBCENTER);
        all.push(e);
    }
    do_move(&hub, orgs::FACHSTELLE, &r.id, ReferralMove::Cancel).await;
    let e = next_event(&mut jc).await;
    assert!(is_event(&e, EventKind::ReferralStateChanged, &r.id));
    assert_eq!((e.state, e.reason_code), (ReferralState::Cancelled as i32, ReasonCode::Duplicate as i32));
    all.push(e);
    assert_increasing(&all);
    assert!(all[0].cursor > 0, "cursors start after 0");
}

#[tokio::test]
async fn resuming_from_the_last_cursor_loses_nothing_and_reorders_nothing() {
    let hub = start().await;
    let org = orgs::FACHSTELLE;

    // Session 1: live, then disconnect.
    let mut first = subscribe(&hub, org, 0).await;
    let case = open_case(&hub).await;
    let r1 =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let session1 = events_until(&mut first, |e| is_event(e, EventKind::ReferralCreated, &r1.id)).await;
    assert_increasing(&session1);
    assert_eq!(kind_of(&session1[0]), EventKind::CaseOpened, "the case opening comes first");
    let last = session1.last().expect("events").cursor;
    drop(first);

    // Changes while disconnected, in a known order.
    do_move(&hub, orgs::JOBCENTER, &r1.id, ReferralMove::Acknowledge).await;
    do_move(&hub, orgs::JOBCENTER, &r1.id, ReferralMove::Accept).await;
    referrals(&hub, orgs::JOBCENTER)
        .await
        .add_note(AddNoteRequest {
            idempotency_key: idem(),
            referral_id: r1.id.clone(),
            text: "Unterlagen angefordert".into(),
        })
        .await
        .expect("note");
    cases(&hub, orgs::FACHSTELLE)
        .await
        .record_threat_stage(RecordThreatStageRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            entry: Some(ThreatStageEntry {
                stage: ThreatStage::KuendigungAngedroht as i32,
                date: hub.today(),
                source: "Schreiben wohnbau-nord".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("threat stage");
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity]).await;
    let r2 =
        create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &[D::Identity])
            .await;
    do_move(&hub, orgs::SCHULDNERBERATUNG, &r2.id, ReferralMove::Acknowledge).await;

    // Session 2: resume after the last cursor seen.
    let mut resumed = subscribe(&hub, org, last).await;
    let session2 = events_until(&mut resumed, |e| is_event(e, EventKind::ReferralStateChanged, &r2.id)).await;
    assert_increasing(&session2);
    assert!(session2.iter().all(|e| e.cursor > last), "nothing at or before the resume cursor");
    let kinds: Vec<(EventKind, &str, i32)> =
        session2.iter().map(|e| (kind_of(e), e.referral_id.as_str(), e.state)).collect();
    let expected = vec![
        (EventKind::ReferralStateChanged, r1.id.as_str(), ReferralState::Received as i32),
        (EventKind::ReferralStateChanged, r1.id.as_str(), ReferralState::Accepted as i32),
        (EventKind::NoteAdded, r1.id.as_str(), 0),
        (EventKind::ThreatStageRecorded, "", 0),
        (EventKind::ConsentRecorded, "", 0),
        (EventKind::ReferralCreated, r2.id.as_str(), ReferralState::Requested as i32),
        (EventKind::ReferralStateChanged, r2.id.as_str(), ReferralState::Received as i32),
    ];
    // The state is compared for referral state events only.
    let relevant: Vec<(EventKind, &str, i32)> = kinds
        .iter()
        .map(|(k, id, s)| {
            let state = if matches!(k, EventKind::ReferralCreated | EventKind::ReferralStateChanged) { *s } else { 0 };
            (*k, *id, state)
        })
        .collect();
    assert_eq!(relevant, expected, "every change made while disconnected, once, in commit order");

    // A full re-read from 0 shows the same events with the same cursors.
    let mut full = subscribe(&hub, org, 0).await;
    let everything = events_until(&mut full, |e| is_event(e, EventKind::ReferralStateChanged, &r2.id)).await;
    assert_increasing(&everything);
    let (before, after): (Vec<Event>, Vec<Event>) = everything.into_iter().partition(|e| e.cursor <= last);
    assert_eq!(before, session1, "the first session saw the same events");
    assert_eq!(after, session2, "no gap, no reordering, no duplicate after resuming");

    // The resumed stream stays live.
    do_move(&hub, orgs::SCHULDNERBERATUNG, &r2.id, ReferralMove::Accept).await;
    let live = next_event(&mut resumed).await;
    assert!(is_event(&live, EventKind::ReferralStateChanged, &r2.id));
    assert_eq!(live.state, ReferralState::Accepted as i32);
    assert!(live.cursor > session2.last().expect("events").cursor);
}

#[tokio::test]
async fn each_organisation_receives_only_its_own_events() {
    let hub = start().await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG, orgs::WOHNBAU], &[D::Identity]).await;
    let jc =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let sb =
        create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &[D::Identity])
            .await;
    do_move(&hub, orgs::JOBCENTER, &jc.id, ReferralMove::Acknowledge).await;
    do_move(&hub, orgs::SCHULDNERBERATUNG, &sb.id, ReferralMove::Acknowledge).await;
    referrals(&hub, orgs::SCHULDNERBERATUNG)
        .await
        .add_note(AddNoteRequest {
            idempotency_key: idem(),
            referral_id: sb.id.clone(),
            text: "Erstgespraech vereinbart".into(),
        })
        .await
        .expect("note");
    // Last: a referral to the housing company, the end marker for every stream.
    let wb = create_referral(&hub, &case.id, orgs::WOHNBAU, ReferralCategory::LandlordAgreement, &[D::Identity]).await;
    for (org, own) in [(orgs::JOBCENTER, &jc.id), (orgs::SCHULDNERBERATUNG, &sb.id)] {
        do_move(&hub, org, own, ReferralMove::Accept).await;
    }

    for (org, own) in [(orgs::JOBCENTER, jc.id.as_str()), (orgs::SCHULDNERBERATUNG, sb.id.as_str())] {
        let mut s = subscribe(&hub, org, 0).await;
        let seen = events_until(&mut s, |e| {
            is_event(e, EventKind::ReferralStateChanged, own) && e.state == ReferralState::Accepted as i32
        })
        .await;
        assert_increasing(&seen);
        for e in &seen {
            assert_eq!(e.referral_id, own, "{org} got an event about someone else's referral: {e:?}");
            assert!(
                !matches!(
                    kind_of(e),
                    EventKind::CaseOpened | EventKind::ConsentRecorded | EventKind::ThreatStageRecorded
                ),
                "{org} got a Fachstelle-only event: {e:?}"
            );
        }
        let states: Vec<i32> =
            seen.iter().filter(|e| kind_of(e) == EventKind::ReferralStateChanged).map(|e| e.state).collect();
        assert_eq!(
            states,
            vec![ReferralState::Received as i32, ReferralState::Accepted as i32],
            "{org}: its own handoffs"
        );
    }

    // The housing company's first and only event is its own referral's creation.
    let mut s = subscribe(&hub, orgs::WOHNBAU, 0).await;
    let first = next_event(&mut s).await;
    assert!(is_event(&first, EventKind::ReferralCreated, &wb.id), "wohnbau's first event: {first:?}");

    // The Fachstelle, the sender, sees both referrals' events.
    let mut f = subscribe(&hub, orgs::FACHSTELLE, 0).await;
    let seen = events_until(&mut f, |e| is_event(e, EventKind::ReferralCreated, &wb.id)).await;
    assert!(seen.iter().any(|e| is_event(e, EventKind::NoteAdded, &sb.id)));
    assert!(seen.iter().any(|e| is_event(e, EventKind::ReferralStateChanged, &jc.id)));

    // An organisation without referrals gets nothing until its first referral arrives.
    record_consent(&hub, &case, &[orgs::TRAEGER], &[D::Identity]).await;
    let mut t = subscribe(&hub, orgs::TRAEGER, 0).await;
    let tr = create_referral(&hub, &case.id, orgs::TRAEGER, ReferralCategory::FlatClearing, &[D::Identity]).await;
    let first = next_event(&mut t).await;
    assert!(is_event(&first, EventKind::ReferralCreated, &tr.id), "traeger's first event: {first:?}");
}

#[tokio::test]
async fn events_carry_ids_and_codes_but_no_personal_data() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let det = case.details.clone().expect("details");
    let r = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Contact, D::IncomeBenefits],
    )
    .await;
    referrals(&hub, orgs::JOBCENTER)
        .await
        .add_note(AddNoteRequest {
            idempotency_key: idem(),
            referral_id: r.id.clone(),
            text: "SYNTH-NOTE Rueckruf erbeten".into(),
        })
        .await
        .expect("note");
    for org in [orgs::FACHSTELLE, orgs::JOBCENTER] {
        let mut s = subscribe(&hub, org, 0).await;
        let seen = events_until(&mut s, |e| is_event(e, EventKind::NoteAdded, &r.id)).await;
        let text = format!("{seen:?}");
        let mut secrets = vec![INCOME_NOTE.to_owned(), PHONE.to_owned(), "SYNTH-NOTE".to_owned()];
        secrets.extend(det.persons.iter().flat_map(|p| [p.given_name.clone(), p.family_name.clone()]));
        if let Some(a) = &det.address {
            secrets.push(a.street.clone());
        }
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(!text.contains(secret.as_str()), "{org}: event stream carries {secret:?}");
        }
    }
}

/// The next event of a service subscription, at most 10 s away.
async fn next_of(rx: &mut hub::service::events::Subscription) -> hub::domain::event::Event {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .expect("no error")
}

/// The stream's rules (catch-up, then live, increasing cursors, resume without gaps or repeats) live in
/// the service and hold without gRPC.
#[tokio::test]
async fn the_service_stream_catches_up_goes_live_and_resumes_without_gaps_or_repeats() {
    use hub::domain::ids::OrgId;
    use hub::service::Principal;
    let hub = start().await;
    let case = open_case(&hub).await;
    let jc = hub
        .hub()
        .authenticate(Principal::Org(OrgId::parse(orgs::JOBCENTER).expect("org id")), None)
        .await
        .expect("caller");
    let r =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    // Catch-up: the creation, committed before the subscription.
    let mut rx = hub.hub().subscribe_events(&jc, 0).expect("subscribe");
    let first = next_of(&mut rx).await;
    assert_eq!(first.kind.as_str(), "REFERRAL_CREATED");
    // Live: each move, in order.
    let mut seen = vec![first.cursor];
    for mv in [ReferralMove::Acknowledge, ReferralMove::Accept] {
        do_move(&hub, orgs::JOBCENTER, &r.id, mv).await;
        let e = next_of(&mut rx).await;
        assert_eq!(e.kind.as_str(), "REFERRAL_STATE_CHANGED");
        seen.push(e.cursor);
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "increasing cursors: {seen:?}");
    drop(rx);
    // Resume after the second: only the third and what follows, nothing twice.
    do_move(&hub, orgs::JOBCENTER, &r.id, ReferralMove::Start).await;
    let mut again = hub.hub().subscribe_events(&jc, seen[1]).expect("subscribe");
    let resumed = next_of(&mut again).await;
    assert_eq!(resumed.cursor, seen[2], "resumes right after its cursor");
    let started = next_of(&mut again).await;
    assert!(started.cursor > seen[2], "then the move made while nobody listened");
    // The operator has no event stream.
    let operator = hub.hub().authenticate(Principal::Operator, None).await.expect("operator");
    assert!(hub.hub().subscribe_events(&operator, 0).is_err());
}
