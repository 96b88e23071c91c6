//! Idempotent retries (same key, same request: same result, nothing twice; same key, other
//! request: INVALID_ARGUMENT) and validation errors naming the field.

use crate::common;

use DataCategory as D;
use common::*;

#[tokio::test]
async fn retried_requests_return_the_same_result_and_change_nothing_twice() {
    let hub = start().await;
    let mut cs = cases(&hub, orgs::FACHSTELLE).await;

    // OpenCase twice with one key: one case.
    let open = OpenCaseRequest { idempotency_key: idem(), details: Some(details()), initial_stage: None };
    let a = cs.open_case(open.clone()).await.expect("OpenCase").into_inner().case.expect("case");
    let b = cs.open_case(open).await.expect("OpenCase retry").into_inner().case.expect("case");
    assert_eq!(a.id, b.id, "same case");
    assert_eq!(person_ids(&a), person_ids(&b), "same person ids");
    assert_eq!(cs.list_cases(ListCasesRequest::default()).await.expect("ListCases").into_inner().cases.len(), 1);

    // RecordConsent twice: one consent.
    let mut co = consents(&hub, orgs::FACHSTELLE).await;
    let creq = consent_request(&a, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears], &hub.date_in_days(60));
    let c1 = co.record_consent(creq.clone()).await.expect("RecordConsent").into_inner().consent.expect("consent");
    let c2 = co.record_consent(creq).await.expect("RecordConsent retry").into_inner().consent.expect("consent");
    assert_eq!(c1.id, c2.id);
    let listed = co
        .list_consents(ListConsentsRequest { case_id: a.id.clone() })
        .await
        .expect("ListConsents")
        .into_inner()
        .consents;
    assert_eq!(listed.len(), 1);

    // CreateReferral twice: one referral, one REFERRAL_CREATED per party.
    let rreq = referral_request(
        &hub,
        &a.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Arrears],
    );
    let r1 = try_create_referral(&hub, rreq.clone()).await.expect("CreateReferral");
    let r2 = try_create_referral(&hub, rreq).await.expect("CreateReferral retry");
    assert_eq!(r1.id, r2.id, "same referral");
    assert_eq!(r1.history.len(), r2.history.len());

    // Acknowledge twice: one handoff; the retry returns the same referral, not an illegal-move error.
    let ack = move_request(&r1.id, ReferralMove::Acknowledge);
    let m1 = send_move(&hub, orgs::SCHULDNERBERATUNG, ack.clone()).await.expect("ack");
    let m2 = send_move(&hub, orgs::SCHULDNERBERATUNG, ack).await.expect("ack retry");
    assert_eq!((m1.id.as_str(), m1.state), (m2.id.as_str(), m2.state));
    assert_eq!(m1.history, m2.history, "the retry adds no handoff");

    // AddNote twice: one note.
    let note = AddNoteRequest { idempotency_key: idem(), referral_id: r1.id.clone(), text: "Termin am Montag".into() };
    let mut rs = referrals(&hub, orgs::SCHULDNERBERATUNG).await;
    let n1 = rs.add_note(note.clone()).await.expect("AddNote").into_inner().note.expect("note");
    let n2 = rs.add_note(note).await.expect("AddNote retry").into_inner().note.expect("note");
    assert_eq!(n1.id, n2.id);
    let notes =
        rs.list_notes(ListNotesRequest { referral_id: r1.id.clone() }).await.expect("ListNotes").into_inner().notes;
    assert_eq!(notes.len(), 1);

    // Keys are per organisation: the Fachstelle may use the recipient's key for something else.
    let mut reused = AddNoteRequest {
        idempotency_key: "shared-key-1".into(),
        referral_id: r1.id.clone(),
        text: "von der Beratung".into(),
    };
    rs.add_note(reused.clone()).await.expect("recipient note");
    reused.text = "von der Fachstelle".into();
    referrals(&hub, orgs::FACHSTELLE).await.add_note(reused).await.expect("same key, other organisation");

    // Retries left no trace in the event streams: exactly one of each. Events carry no note ids,
    // so the read stops at the third NOTE_ADDED (retried note, then one per organisation).
    let listed =
        rs.list_notes(ListNotesRequest { referral_id: r1.id.clone() }).await.expect("ListNotes").into_inner().notes;
    assert_eq!(listed.len(), 3, "the retried note once, one note per organisation with the shared key");
    for org in [orgs::FACHSTELLE, orgs::SCHULDNERBERATUNG] {
        let mut stream = subscribe(&hub, org, 0).await;
        let notes_seen = std::cell::Cell::new(0);
        let seen = events_until(&mut stream, |e| {
            if is_event(e, EventKind::NoteAdded, &r1.id) {
                notes_seen.set(notes_seen.get() + 1);
            }
            notes_seen.get() == 3
        })
        .await;
        let count = |k: EventKind| seen.iter().filter(|e| is_event(e, k, &r1.id)).count();
        assert_eq!(count(EventKind::ReferralCreated), 1, "{org}: one REFERRAL_CREATED");
        assert_eq!(count(EventKind::ReferralStateChanged), 1, "{org}: one state change");
        if org == orgs::FACHSTELLE {
            assert_eq!(seen.iter().filter(|e| kind_of(e) == EventKind::CaseOpened).count(), 1, "one CASE_OPENED");
            assert_eq!(
                seen.iter().filter(|e| kind_of(e) == EventKind::ConsentRecorded).count(),
                1,
                "one CONSENT_RECORDED"
            );
        }
    }
}

#[tokio::test]
async fn the_same_key_with_a_different_request_is_invalid_argument() {
    let hub = start().await;
    let key = idem();
    let mut cs = cases(&hub, orgs::FACHSTELLE).await;
    let case = cs
        .open_case(OpenCaseRequest { idempotency_key: key.clone(), details: Some(details()), initial_stage: None })
        .await
        .expect("OpenCase")
        .into_inner()
        .case
        .expect("case");
    let mut other = details();
    other.arrears_cents = 99_000;
    let res =
        cs.open_case(OpenCaseRequest { idempotency_key: key.clone(), details: Some(other), initial_stage: None }).await;
    assert_status(res, Code::InvalidArgument, &["idempotency_key"]);
    // Also across RPCs: the key now belongs to the OpenCase.
    let mut creq = consent_request(&case, &[orgs::JOBCENTER], &[D::Identity], &hub.date_in_days(30));
    creq.idempotency_key = key.clone();
    assert_status(
        consents(&hub, orgs::FACHSTELLE).await.record_consent(creq).await,
        Code::InvalidArgument,
        &["idempotency_key"],
    );
    assert_eq!(cs.list_cases(ListCasesRequest::default()).await.expect("ListCases").into_inner().cases.len(), 1);

    let r =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let mut ack = move_request(&r.id, ReferralMove::Acknowledge);
    send_move(&hub, orgs::JOBCENTER, ack.clone()).await.expect("ack");
    ack.r#move = ReferralMove::Accept as i32;
    assert_status(send_move(&hub, orgs::JOBCENTER, ack).await, Code::InvalidArgument, &["idempotency_key"]);
    assert_eq!(
        state_of(&referral(&hub, orgs::JOBCENTER, &r.id).await),
        ReferralState::Received,
        "the conflicting retry did nothing"
    );

    // An empty key is no key.
    let mut no_key = move_request(&r.id, ReferralMove::Accept);
    no_key.idempotency_key = String::new();
    assert_status(send_move(&hub, orgs::JOBCENTER, no_key).await, Code::InvalidArgument, &["idempotency_key"]);
    let mut too_long = move_request(&r.id, ReferralMove::Accept);
    too_long.idempotency_key = "k".repeat(129);
    assert_status(send_move(&hub, orgs::JOBCENTER, too_long).await, Code::InvalidArgument, &["idempotency_key"]);
}

async fn open(hub: &TestHub, d: CaseDetails) -> Result<Case, Status> {
    cases(hub, orgs::FACHSTELLE)
        .await
        .open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(d), initial_stage: None })
        .await
        .map(|r| r.into_inner().case.expect("case"))
}

#[tokio::test]
async fn validation_errors_are_invalid_argument_naming_the_field() {
    let hub = start().await;

    // Case details.
    let mut d = details();
    d.persons[0].given_name = String::new();
    assert_status(open(&hub, d).await, Code::InvalidArgument, &["details.persons[0].given_name"]);
    let mut d = details();
    d.arrears_cents = -1;
    assert_status(open(&hub, d).await, Code::InvalidArgument, &["arrears_cents"]);
    let mut d = details();
    if let Some(rent) = d.tenancy.as_mut().and_then(|t| t.rent.as_mut()) {
        rent.base_rent_cents = -50_000;
    }
    assert_status(open(&hub, d).await, Code::InvalidArgument, &["base_rent_cents"]);
    let mut d = details();
    d.stadtbezirk = Stadtbezirk::Unspecified as i32;
    assert_status(open(&hub, d).await, Code::InvalidArgument, &["stadtbezirk"]);
    let mut d = details();
    d.route_in = 0;
    assert_status(open(&hub, d).await, Code::InvalidArgument, &["route_in"]);
    let mut d = details();
    if let Some(t) = d.tenancy.as_mut() {
        t.start_date = "2019-02-30".into();
    }
    assert_status(open(&hub, d).await, Code::InvalidArgument, &["start_date"]);
    let res = cases(&hub, orgs::FACHSTELLE)
        .await
        .open_case(OpenCaseRequest {
            idempotency_key: idem(),
            details: Some(details()),
            initial_stage: Some(ThreatStageEntry {
                stage: ThreatStage::Mahnung as i32,
                date: "08.12.2025".into(),
                source: "Mahnung".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_status(res, Code::InvalidArgument, &["date"]);
    assert!(
        cases(&hub, orgs::FACHSTELLE)
            .await
            .list_cases(ListCasesRequest::default())
            .await
            .expect("ListCases")
            .into_inner()
            .cases
            .is_empty(),
        "no invalid case was opened"
    );

    let case = open_case(&hub).await;

    // Consent.
    let bad_date = consent_request(&case, &[orgs::SCHULDNERBERATUNG], &[D::Identity], "2026-13-45");
    assert_status(
        consents(&hub, orgs::FACHSTELLE).await.record_consent(bad_date).await,
        Code::InvalidArgument,
        &["valid_until"],
    );
    let too_far = consent_request(&case, &[orgs::SCHULDNERBERATUNG], &[D::Identity], &hub.date_in_days(400));
    assert_status(
        consents(&hub, orgs::FACHSTELLE).await.record_consent(too_far).await,
        Code::InvalidArgument,
        &["valid_until"],
    );
    let no_cat = consent_request(&case, &[orgs::SCHULDNERBERATUNG], &[D::Unspecified], &hub.date_in_days(30));
    assert_status(
        consents(&hub, orgs::FACHSTELLE).await.record_consent(no_cat).await,
        Code::InvalidArgument,
        &["categories"],
    );
    let unknown = consent_request(&case, &["gibt-es-nicht"], &[D::Identity], &hub.date_in_days(30));
    assert_status(
        consents(&hub, orgs::FACHSTELLE).await.record_consent(unknown).await,
        Code::InvalidArgument,
        &["recipient_organisation_ids"],
    );

    // Referral.
    let base =
        || referral_request(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]);
    let mut r = base();
    r.category = ReferralCategory::Unspecified as i32;
    assert_status(try_create_referral(&hub, r).await, Code::InvalidArgument, &["category"]);
    let mut r = base();
    r.data_categories = vec![D::Unspecified as i32];
    assert_status(try_create_referral(&hub, r).await, Code::InvalidArgument, &["data_categories"]);
    let mut r = base();
    r.data_categories.clear();
    assert_status(try_create_referral(&hub, r).await, Code::InvalidArgument, &["data_categories"]);
    let mut r = base();
    r.reply_by = hub.date_in_days(-1);
    assert_status(try_create_referral(&hub, r).await, Code::InvalidArgument, &["reply_by"]);
    let mut r = base();
    r.reply_by = "naechste Woche".into();
    assert_status(try_create_referral(&hub, r).await, Code::InvalidArgument, &["reply_by"]);
    let mut r = base();
    r.recipient_organisation_id = "gibt-es-nicht".into();
    assert_status(try_create_referral(&hub, r).await, Code::InvalidArgument, &["recipient_organisation_id"]);

    // Moves.
    let ok = try_create_referral(&hub, base()).await.expect("a valid referral still works");
    let mut m = move_request(&ok.id, ReferralMove::Acknowledge);
    m.r#move = ReferralMove::Unspecified as i32;
    assert_status(send_move(&hub, orgs::JOBCENTER, m).await, Code::InvalidArgument, &["move"]);
    drive_to(&hub, &ok.id, orgs::JOBCENTER, ReferralState::InProgress).await;
    let mut neg = move_request(&ok.id, ReferralMove::Complete);
    if let Some(o) = neg.outcome.as_mut() {
        o.amount_cents = Some(-1);
    }
    assert_status(send_move(&hub, orgs::JOBCENTER, neg).await, Code::InvalidArgument, &["amount_cents"]);
    let mut bad = move_request(&ok.id, ReferralMove::Complete);
    if let Some(o) = bad.outcome.as_mut() {
        o.effective_date = "2026-02-31".into();
    }
    assert_status(send_move(&hub, orgs::JOBCENTER, bad).await, Code::InvalidArgument, &["effective_date"]);
    let mut empty = AddNoteRequest { idempotency_key: idem(), referral_id: ok.id.clone(), text: String::new() };
    assert_status(
        referrals(&hub, orgs::JOBCENTER).await.add_note(empty.clone()).await,
        Code::InvalidArgument,
        &["text"],
    );
    empty.text = "x".repeat(4001);
    empty.idempotency_key = idem();
    assert_status(referrals(&hub, orgs::JOBCENTER).await.add_note(empty).await, Code::InvalidArgument, &["text"]);

    // The referral survived every rejected request unchanged.
    assert_eq!(state_of(&referral(&hub, orgs::JOBCENTER, &ok.id).await), ReferralState::InProgress);
}
