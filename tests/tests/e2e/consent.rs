//! Legal bases for disclosure: consent absent, partial, present; the statute between social benefit
//! bodies; Art. 9 data; what a housing company may never get; expiry and revocation.

use crate::common;

use DataCategory as D;
use common::*;

fn pair(org: &str, c: D) -> String {
    format!("{org}/{}", category_name(c))
}

#[tokio::test]
async fn without_consent_a_private_recipient_gets_nothing_and_every_missing_pair_is_listed() {
    let hub = start().await;
    let case = open_case(&hub).await;
    for (org, category) in [
        (orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling),
        (orgs::WOHNBAU, ReferralCategory::LandlordAgreement),
        (orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport),
        (orgs::FRAUENBERATUNG, ReferralCategory::WomensCounselling),
    ] {
        let data = [D::Identity, D::Contact, D::Arrears];
        let res = try_create_referral(&hub, referral_request(&hub, &case.id, org, category, &data)).await;
        let needles: Vec<String> = data.iter().map(|c| pair(org, *c)).collect();
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_status(res, Code::FailedPrecondition, &needles);
    }
    assert!(case_referrals(&hub, &case.id).await.is_empty(), "no referral was created");
}

#[tokio::test]
async fn partial_consent_lists_only_the_uncovered_categories() {
    let hub = start().await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity]).await;
    // A consent for someone else covers nothing for the debt counselling service.
    record_consent(&hub, &case, &[orgs::JOBCENTER], &[D::Contact, D::Arrears, D::CounsellingNotes]).await;

    let org = orgs::SCHULDNERBERATUNG;
    let req = referral_request(
        &hub,
        &case.id,
        org,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Contact, D::Arrears],
    );
    let s = assert_status(
        try_create_referral(&hub, req).await,
        Code::FailedPrecondition,
        &[&pair(org, D::Contact), &pair(org, D::Arrears)],
    );
    assert!(!s.message().contains(&pair(org, D::Identity)), "IDENTITY is covered: {:?}", s.message());

    // What the consent covers can be disclosed.
    let r = create_referral(&hub, &case.id, org, ReferralCategory::DebtCounselling, &[D::Identity]).await;
    assert_eq!(state_of(&r), ReferralState::Requested);
    assert_eq!(case_referrals(&hub, &case.id).await.len(), 1);
}

#[tokio::test]
async fn full_consent_discloses_each_category_on_that_consent() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let data = [D::Identity, D::Contact, D::Arrears, D::CounsellingNotes];
    let consent = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &data).await;
    assert_eq!(consent.status, ConsentStatus::Active as i32);
    let r = create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data).await;
    for c in data {
        let d = r.disclosures.iter().find(|d| d.category == c as i32).unwrap_or_else(|| panic!("{c:?} disclosed"));
        assert_eq!(d.basis_kind, LegalBasisKind::Consent as i32, "{c:?} rests on the consent");
        assert_eq!(d.consent_id, consent.id);
        assert!(d.in_force);
    }
    let v = view(&referral(&hub, orgs::SCHULDNERBERATUNG, &r.id).await);
    let mut readable = categories(&v.readable_categories);
    readable.sort_by_key(|c| *c as i32);
    assert_eq!(readable, data.to_vec());
    assert_eq!(v.counselling_note, COUNSELLING_NOTE);
    assert!(!v.persons.is_empty());
}

#[tokio::test]
async fn statute_covers_jobcenter_and_sozialamt_without_consent_but_never_health_or_counselling_notes() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let statutory = [D::Identity, D::Contact, D::Tenancy, D::Arrears, D::IncomeBenefits, D::Outcome];
    for (org, category) in [
        (orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2),
        (orgs::SOZIALAMT, ReferralCategory::RentDebtTakeoverSgb12),
    ] {
        let r = create_referral(&hub, &case.id, org, category, &statutory).await;
        for c in statutory {
            let d = r.disclosures.iter().find(|d| d.category == c as i32).unwrap_or_else(|| panic!("{c:?} to {org}"));
            assert_eq!(d.basis_kind, LegalBasisKind::Statute as i32, "{c:?} to {org} rests on a statute");
            assert!(d.statute.contains("SGB X"), "statute cited: {:?}", d.statute);
            assert!(d.in_force);
        }
        let v = view(&referral(&hub, org, &r.id).await);
        assert_eq!(v.income_benefits_note, INCOME_NOTE, "{org} reads INCOME_BENEFITS by statute");

        for sensitive in [D::Health, D::CounsellingNotes] {
            let req = referral_request(&hub, &case.id, org, category, &[D::Identity, sensitive]);
            let s =
                assert_status(try_create_referral(&hub, req).await, Code::FailedPrecondition, &[&pair(org, sensitive)]);
            assert!(
                !s.message().contains(&pair(org, D::Identity)),
                "IDENTITY is covered by statute: {:?}",
                s.message()
            );
        }
    }
    assert_eq!(case_referrals(&hub, &case.id).await.len(), 2);
}

#[tokio::test]
async fn health_needs_a_separate_explicit_art9_consent() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let mut req = consent_request(&case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Health], &hub.date_in_days(90));
    req.art9_explicit = false;
    let res = consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await;
    assert_status(res, Code::InvalidArgument, &["art9_explicit"]);
    assert!(list_consents(&hub, &case.id).await.is_empty(), "nothing recorded");

    let req =
        referral_request(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &[D::Health]);
    assert_status(
        try_create_referral(&hub, req).await,
        Code::FailedPrecondition,
        &[&pair(orgs::SCHULDNERBERATUNG, D::Health)],
    );

    let consent = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Health]).await;
    assert!(consent.art9_explicit);
    let r = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Health],
    )
    .await;
    assert_eq!(view(&referral(&hub, orgs::SCHULDNERBERATUNG, &r.id).await).health_note, HEALTH_NOTE);

    // Even the Jobcenter needs that consent for HEALTH; with it, HEALTH may go there too.
    let req = referral_request(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Health]);
    assert_status(try_create_referral(&hub, req).await, Code::FailedPrecondition, &[&pair(orgs::JOBCENTER, D::Health)]);
    record_consent(&hub, &case, &[orgs::JOBCENTER], &[D::Health]).await;
    let r =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Health]).await;
    assert_eq!(view(&referral(&hub, orgs::JOBCENTER, &r.id).await).health_note, HEALTH_NOTE);
}

#[tokio::test]
async fn housing_company_never_gets_income_health_or_counselling_notes_even_with_consent() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let all = [
        D::Identity,
        D::Contact,
        D::Tenancy,
        D::Arrears,
        D::IncomeBenefits,
        D::Health,
        D::CounsellingNotes,
        D::Outcome,
    ];
    // Refused when the consent is recorded, not only later at referral time: nothing is stored.
    for forbidden in [D::IncomeBenefits, D::Health, D::CounsellingNotes] {
        let req = consent_request(&case, &[orgs::WOHNBAU], &[D::Identity, forbidden], &hub.date_in_days(170));
        let refused = consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await;
        assert_status(refused, Code::InvalidArgument, &["categories", category_name(forbidden), "housing company"]);
    }
    let refused = consents(&hub, orgs::FACHSTELLE)
        .await
        .record_consent(consent_request(&case, &[orgs::JOBCENTER, orgs::WOHNBAU], &all, &hub.date_in_days(170)))
        .await;
    assert_status(refused, Code::InvalidArgument, &["recipient_organisation_ids[1]", orgs::WOHNBAU]);
    assert!(list_consents(&hub, &case.id).await.is_empty(), "no refused consent is stored");
    let allowed = [D::Identity, D::Contact, D::Tenancy, D::Arrears, D::Outcome];
    record_consent(&hub, &case, &[orgs::WOHNBAU], &allowed).await;
    // A referral asking for a forbidden category is still refused (no basis, whatever the consent).
    for forbidden in [D::IncomeBenefits, D::Health, D::CounsellingNotes] {
        let req = referral_request(
            &hub,
            &case.id,
            orgs::WOHNBAU,
            ReferralCategory::LandlordAgreement,
            &[D::Identity, forbidden],
        );
        assert_status(try_create_referral(&hub, req).await, Code::FailedPrecondition, &[category_name(forbidden)]);
    }
    assert!(case_referrals(&hub, &case.id).await.is_empty());
    // The consent works.
    let r = create_referral(&hub, &case.id, orgs::WOHNBAU, ReferralCategory::LandlordAgreement, &allowed).await;
    let v = view(&referral(&hub, orgs::WOHNBAU, &r.id).await);
    assert_eq!((v.income_benefits_note.as_str(), v.health_note.as_str(), v.counselling_note.as_str()), ("", "", ""));
}

#[tokio::test]
async fn expired_consent_cancels_the_referral_withholds_data_and_tells_the_recipient() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let org = orgs::SCHULDNERBERATUNG;
    let mut req = consent_request(&case, &[org], &[D::Identity, D::Arrears], &hub.date_in_days(10));
    req.idempotency_key = idem();
    let consent = consents(&hub, orgs::FACHSTELLE)
        .await
        .record_consent(req)
        .await
        .expect("consent")
        .into_inner()
        .consent
        .expect("consent");
    let r = create_referral(&hub, &case.id, org, ReferralCategory::DebtCounselling, &[D::Identity, D::Arrears]).await;
    do_move(&hub, org, &r.id, ReferralMove::Acknowledge).await;
    let mut stream = subscribe(&hub, org, 0).await;
    events_until(&mut stream, |e| is_event(e, EventKind::ReferralStateChanged, &r.id)).await;

    // On its last valid day the consent still holds.
    hub.advance_days(10);
    assert_eq!(hub.today(), consent.valid_until);
    hub.run_scheduled().await.expect("sweep");
    let still = referral(&hub, org, &r.id).await;
    assert_eq!(state_of(&still), ReferralState::Received, "valid through valid_until");
    assert_eq!(view(&still).arrears_cents, Some(156_000));

    // The day after, the sweep expires it.
    hub.advance_days(1);
    hub.run_scheduled().await.expect("sweep");
    let gone = referral(&hub, org, &r.id).await;
    assert_eq!(state_of(&gone), ReferralState::Cancelled);
    let last = gone.history.last().expect("history");
    assert_eq!(last.reason_code, ReasonCode::ConsentExpired as i32);
    assert_eq!(last.actor_organisation_id, "hub");
    let v = view(&gone);
    assert!(v.readable_categories.is_empty(), "nothing readable: {:?}", v.readable_categories);
    let mut withheld = categories(&v.withheld_categories);
    withheld.sort_by_key(|c| *c as i32);
    assert_eq!(withheld, vec![D::Identity, D::Arrears]);
    assert!(v.persons.is_empty());
    assert_eq!(v.arrears_cents, None);
    assert!(gone.disclosures.iter().all(|d| !d.in_force), "{:?}", gone.disclosures);

    let seen = events_until(&mut stream, |e| kind_of(e) == EventKind::ConsentExpired).await;
    let expired = seen.last().expect("event");
    assert_eq!(expired.consent_id, consent.id);
    assert_eq!(expired.case_id, case.id);
    let mut cats = categories(&expired.categories);
    cats.sort_by_key(|c| *c as i32);
    assert_eq!(cats, vec![D::Identity, D::Arrears], "the recipient learns what to stop using");
    // The cancellation reaches the recipient too (before or after the consent event).
    let cancelled =
        |e: &Event| is_event(e, EventKind::ReferralStateChanged, &r.id) && e.state == ReferralState::Cancelled as i32;
    if !seen.iter().any(cancelled) {
        events_until(&mut stream, cancelled).await;
    }

    let listed = list_consents(&hub, &case.id).await;
    assert_eq!(listed[0].status, ConsentStatus::Expired as i32);
    let req = referral_request(&hub, &case.id, org, ReferralCategory::DebtCounselling, &[D::Identity]);
    assert_status(try_create_referral(&hub, req).await, Code::FailedPrecondition, &[&pair(org, D::Identity)]);
}

#[tokio::test]
async fn revoked_consent_cuts_off_at_once_cancels_what_relied_on_it_and_spares_statutory_referrals() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let data = [D::Identity, D::Arrears];
    let consent = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG, orgs::JOBCENTER], &data).await;
    let open = create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data).await;
    do_move(&hub, orgs::SCHULDNERBERATUNG, &open.id, ReferralMove::Acknowledge).await;
    let done = create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data).await;
    drive_to(&hub, &done.id, orgs::SCHULDNERBERATUNG, ReferralState::Completed).await;
    let statutory =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &data).await;
    assert_eq!(view(&referral(&hub, orgs::SCHULDNERBERATUNG, &open.id).await).arrears_cents, Some(156_000));

    let mut stream = subscribe(&hub, orgs::SCHULDNERBERATUNG, 0).await;
    let revoked = consents(&hub, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: consent.id.clone(),
            note: "Widerruf muendlich am Telefon".to_owned(),
        })
        .await
        .expect("RevokeConsent")
        .into_inner();
    assert_eq!(revoked.consent.as_ref().map(|c| c.status), Some(ConsentStatus::Revoked as i32));
    assert_eq!(
        revoked.cancelled_referral_ids,
        vec![open.id.clone()],
        "only the open referral resting on the consent alone"
    );
    assert!(revoked.notified_organisation_ids.iter().any(|o| o == orgs::SCHULDNERBERATUNG));

    // Withheld at once, without waiting for any sweep.
    let cut = referral(&hub, orgs::SCHULDNERBERATUNG, &open.id).await;
    assert_eq!(state_of(&cut), ReferralState::Cancelled);
    let last = cut.history.last().expect("history");
    assert_eq!(last.reason_code, ReasonCode::ConsentRevoked as i32);
    assert_eq!(last.actor_organisation_id, "hub");
    for r in [&cut, &referral(&hub, orgs::SCHULDNERBERATUNG, &done.id).await] {
        let v = view(r);
        assert!(v.readable_categories.is_empty(), "{:?}", v.readable_categories);
        let mut withheld = categories(&v.withheld_categories);
        withheld.sort_by_key(|c| *c as i32);
        assert_eq!(withheld, data.to_vec());
        assert!(v.persons.is_empty());
        assert_eq!(v.arrears_cents, None);
    }
    let done_now = referral(&hub, orgs::FACHSTELLE, &done.id).await;
    assert_eq!(state_of(&done_now), ReferralState::Completed, "a closed referral stays closed");

    // The statute still covers the Jobcenter: not cancelled, still readable.
    let jc = referral(&hub, orgs::JOBCENTER, &statutory.id).await;
    assert_eq!(state_of(&jc), ReferralState::Requested);
    assert!(!revoked.cancelled_referral_ids.contains(&statutory.id));
    let v = view(&jc);
    assert_eq!(v.arrears_cents, Some(156_000));
    assert!(!v.persons.is_empty());
    for c in data {
        assert!(
            jc.disclosures
                .iter()
                .any(|d| d.category == c as i32 && d.in_force && d.basis_kind == LegalBasisKind::Statute as i32),
            "{c:?} still rests on the statute: {:?}",
            jc.disclosures
        );
    }

    // The recipient is told to delete, and sees its referral cancelled.
    let seen = events_until(&mut stream, |e| kind_of(e) == EventKind::ConsentRevoked).await;
    let ev = seen.last().expect("event");
    assert_eq!(ev.consent_id, consent.id);
    let mut cats = categories(&ev.categories);
    cats.sort_by_key(|c| *c as i32);
    assert_eq!(cats, data.to_vec());
    let cancelled = |e: &Event| {
        is_event(e, EventKind::ReferralStateChanged, &open.id)
            && e.state == ReferralState::Cancelled as i32
            && e.reason_code == ReasonCode::ConsentRevoked as i32
    };
    if !seen.iter().any(cancelled) {
        events_until(&mut stream, cancelled).await;
    }

    // No new disclosure on the revoked consent.
    let req = referral_request(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data);
    assert_status(
        try_create_referral(&hub, req).await,
        Code::FailedPrecondition,
        &[&pair(orgs::SCHULDNERBERATUNG, D::Identity)],
    );
    assert_eq!(list_consents(&hub, &case.id).await[0].status, ConsentStatus::Revoked as i32);
}

#[tokio::test]
async fn a_consent_names_persons_of_the_case_recipients_and_categories_each_once_with_real_evidence() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let other = open_case(&hub).await;
    let base = || consent_request(&case, &[orgs::JOBCENTER], &[D::Identity], &hub.date_in_days(170));
    let person = person_ids(&case)[0].clone();
    let cases: Vec<(&str, RecordConsentRequest, &[&str])> = vec![
        ("no person", RecordConsentRequest { person_ids: vec![], ..base() }, &["person_ids", "at least one"]),
        (
            "no recipient",
            RecordConsentRequest { recipient_organisation_ids: vec![], ..base() },
            &["recipient_organisation_ids", "at least one"],
        ),
        ("no category", RecordConsentRequest { categories: vec![], ..base() }, &["categories", "at least one"]),
        (
            "blank evidence",
            RecordConsentRequest { evidence_reference: "   ".into(), ..base() },
            &["evidence_reference", "empty"],
        ),
        (
            "evidence with a control character",
            RecordConsentRequest { evidence_reference: "EW\u{7}1".into(), ..base() },
            &["evidence_reference"],
        ),
        (
            "overlong evidence",
            RecordConsentRequest { evidence_reference: "E".repeat(201), ..base() },
            &["evidence_reference", "200"],
        ),
        (
            "a person twice",
            RecordConsentRequest { person_ids: vec![person.clone(), person.clone()], ..base() },
            &["person_ids[1]", "twice"],
        ),
        (
            "another case's person",
            RecordConsentRequest { person_ids: person_ids(&other)[..1].to_vec(), ..base() },
            &["person_ids[0]", "not a person of this case"],
        ),
        (
            "a recipient twice",
            RecordConsentRequest {
                recipient_organisation_ids: vec![orgs::JOBCENTER.into(), orgs::JOBCENTER.into()],
                ..base()
            },
            &["recipient_organisation_ids[1]", "twice"],
        ),
        (
            "a category twice",
            RecordConsentRequest { categories: vec![D::Identity as i32, D::Identity as i32], ..base() },
            &["categories[1]", "twice"],
        ),
        (
            "valid for more than 12 months",
            RecordConsentRequest { valid_until: hub.date_in_days(400), ..base() },
            &["valid_until", "12 months"],
        ),
    ];
    for (what, req, needles) in cases {
        let refused = consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await;
        let status = assert_status(refused, Code::InvalidArgument, needles);
        println!("{what}: {}", status.message());
    }
    assert!(list_consents(&hub, &case.id).await.is_empty(), "nothing refused is stored");
}

#[tokio::test]
async fn a_consent_discloses_only_the_persons_who_gave_it_a_statute_the_household() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let persons = person_ids(&case);
    assert!(persons.len() >= 2, "the Frau K. household has more than one person");
    // Only the main tenant consents to the debt counselling service (a private recipient: consent only).
    let mut req =
        consent_request(&case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears], &hub.date_in_days(170));
    req.person_ids = vec![persons[0].clone()];
    consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await.expect("RecordConsent");
    let private = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Arrears],
    )
    .await;
    let v = view(&referral(&hub, orgs::SCHULDNERBERATUNG, &private.id).await);
    let shown: Vec<&str> = v.persons.iter().map(|p| p.person_id.as_str()).collect();
    assert_eq!(shown, [persons[0].as_str()], "only the person who consented");
    assert_eq!(v.persons_withheld as usize, persons.len() - 1, "the others are withheld, and counted");
    // The Jobcenter receives identity under §69 SGB X: the whole household.
    let statutory =
        create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let v = view(&referral(&hub, orgs::JOBCENTER, &statutory.id).await);
    assert_eq!(v.persons.len(), persons.len());
    assert_eq!(v.persons_withheld, 0);
    // The Art. 15 report of the second person says their identity went to the Jobcenter, not to the
    // debt counselling service.
    let second = hub::domain::ids::PersonId::parse(&persons[1]).expect("person id");
    let report = hub::reports::access::generate(
        hub.store().as_ref(),
        &hub::domain::ids::CaseId::parse(&case.id).expect("case id"),
        Some(&second),
        hub::reports::access::Format::Json,
        hub.hub().clock_now(),
    )
    .await
    .expect("access report");
    let disclosed =
        |to: &str| report.referrals.iter().find(|r| r.recipient.id == to).and_then(|r| r.subject_identity_disclosed);
    assert_eq!(disclosed(orgs::SCHULDNERBERATUNG), Some(false));
    assert_eq!(disclosed(orgs::JOBCENTER), Some(true));
    assert!(report.to_html().contains("Sie haben in diese Weitergabe nicht eingewilligt"));
}

/// Revokes `consent` as the Fachstelle and returns the ids of the referrals the hub cancelled.
async fn revoke(hub: &TestHub, consent: &Consent) -> Vec<String> {
    consents(hub, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: consent.id.clone(),
            note: String::new(),
        })
        .await
        .expect("RevokeConsent")
        .into_inner()
        .cancelled_referral_ids
}

#[tokio::test]
async fn a_referral_keeps_going_without_the_revoked_categories_while_what_remains_serves_its_purpose() {
    let hub = start().await;
    let case = open_case(&hub).await;
    // The Jobcenter gets identity and arrears under §69 SGB X, health data on a consent of its own.
    let health = record_consent(&hub, &case, &[orgs::JOBCENTER], &[D::Health]).await;
    let takeover = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Arrears, D::Health],
    )
    .await;
    // Debt counselling: identity and arrears on one consent, health on another.
    let base = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears]).await;
    let health_sb = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Health]).await;
    let counselling = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Arrears, D::Health],
    )
    .await;

    // Withdrawing the health consents: both referrals stay open, the health data is withheld.
    assert!(revoke(&hub, &health).await.is_empty(), "the statutory takeover is not cancelled");
    assert!(revoke(&hub, &health_sb).await.is_empty(), "debt counselling still has who and what");
    for (org, id) in [(orgs::JOBCENTER, &takeover.id), (orgs::SCHULDNERBERATUNG, &counselling.id)] {
        let r = referral(&hub, org, id).await;
        assert_eq!(state_of(&r), ReferralState::Requested, "{org}: still open");
        let v = view(&r);
        assert_eq!(categories(&v.withheld_categories), [D::Health], "{org}: health withheld");
        assert_eq!(v.health_note, "", "{org}");
        assert_eq!(v.arrears_cents, Some(156_000), "{org}: arrears still readable");
    }
    // Withdrawing the consent that carries identity: debt counselling cannot serve its purpose any more.
    assert_eq!(revoke(&hub, &base).await, std::slice::from_ref(&counselling.id));
    let cut = referral(&hub, orgs::SCHULDNERBERATUNG, &counselling.id).await;
    assert_eq!(state_of(&cut), ReferralState::Cancelled);
    assert_eq!(cut.history.last().map(|t| t.reason_code), Some(ReasonCode::ConsentRevoked as i32));
}

#[tokio::test]
async fn an_expired_consent_follows_the_same_rule() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let mut req = consent_request(&case, &[orgs::JOBCENTER], &[D::Health], &hub.date_in_days(5));
    req.art9_explicit = true;
    consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await.expect("RecordConsent");
    let takeover = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Arrears, D::Health],
    )
    .await;
    hub.advance_days(6);
    hub.run_scheduled().await.expect("sweep");
    let r = referral(&hub, orgs::JOBCENTER, &takeover.id).await;
    assert_eq!(state_of(&r), ReferralState::Requested, "the takeover stays open on §69 SGB X");
    assert_eq!(categories(&view(&r).withheld_categories), [D::Health]);
}

#[tokio::test]
async fn an_amended_consent_is_a_new_version_that_ends_the_old_and_tells_only_who_loses_data() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let data = [D::Identity, D::Arrears];
    let v1 = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG, orgs::TRAEGER], &data).await;
    let kept = create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data).await;
    let dropped =
        create_referral(&hub, &case.id, orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport, &[D::Identity])
            .await;
    let mut schuldner = subscribe(&hub, orgs::SCHULDNERBERATUNG, 0).await;
    let mut traeger = subscribe(&hub, orgs::TRAEGER, 0).await;

    // The household no longer wants the provider involved: a new version without it.
    let amend = |replaces: &str| RecordConsentRequest {
        replaces_consent_id: replaces.to_owned(),
        evidence_reference: "EW-2026-0002 geaenderte Fassung (synthetisch)".to_owned(),
        ..consent_request(&case, &[orgs::SCHULDNERBERATUNG], &data, &hub.date_in_days(200))
    };
    let v2 = consents(&hub, orgs::FACHSTELLE)
        .await
        .record_consent(amend(&v1.id))
        .await
        .expect("RecordConsent with replaces_consent_id")
        .into_inner()
        .consent
        .expect("consent");
    assert_eq!(v2.replaces_consent_id, v1.id, "the new version names the old");
    assert_eq!(v2.status, ConsentStatus::Active as i32);
    let listed = list_consents(&hub, &case.id).await;
    let old = listed.iter().find(|c| c.id == v1.id).expect("the old version stays readable");
    assert_eq!(old.status, ConsentStatus::Superseded as i32);
    assert!(old.ended_at.is_some());
    assert!(old.replaces_consent_id.is_empty());

    // What the new version still covers goes on, resting on it.
    let r = referral(&hub, orgs::SCHULDNERBERATUNG, &kept.id).await;
    assert_eq!(state_of(&r), ReferralState::Requested);
    assert_eq!(view(&r).arrears_cents, Some(156_000));
    for c in data {
        assert!(
            r.disclosures.iter().any(|d| d.category == c as i32 && d.in_force && d.consent_id == v2.id),
            "{c:?} rests on the new version: {:?}",
            r.disclosures
        );
    }
    // The recipient the new version drops is told to delete and its referral ends.
    let told = events_until(&mut traeger, |e| kind_of(e) == EventKind::ConsentRevoked).await;
    let ev = told.last().expect("event");
    assert_eq!(ev.consent_id, v1.id);
    assert_eq!(categories(&ev.categories), vec![D::Identity]);
    assert_eq!(state_of(&referral(&hub, orgs::FACHSTELLE, &dropped.id).await), ReferralState::Cancelled);
    // The recipient still covered is not asked to delete anything: up to its own next move, no
    // CONSENT_REVOKED reached it.
    do_move(&hub, orgs::SCHULDNERBERATUNG, &kept.id, ReferralMove::Acknowledge).await;
    let seen = events_until(&mut schuldner, |e| {
        is_event(e, EventKind::ReferralStateChanged, &kept.id) && e.state == ReferralState::Received as i32
    })
    .await;
    assert!(!seen.iter().any(|e| kind_of(e) == EventKind::ConsentRevoked), "{seen:?}");

    // Only a version in force can be replaced, and only by the same case.
    let again = consents(&hub, orgs::FACHSTELLE).await.record_consent(amend(&v1.id)).await;
    assert_status(again, Code::InvalidArgument, &["replaces_consent_id", "no longer in force"]);
    let other = open_case(&hub).await;
    let foreign = record_consent(&hub, &other, &[orgs::SCHULDNERBERATUNG], &data).await;
    let crossed = consents(&hub, orgs::FACHSTELLE).await.record_consent(amend(&foreign.id)).await;
    assert_status(crossed, Code::InvalidArgument, &["replaces_consent_id", "not a consent of this case"]);
    assert_eq!(list_consents(&hub, &case.id).await.len(), 2, "a refused version stores nothing");
}
