//! Who may do what: referrals of others read as missing; Fachstelle-only and operator-only RPCs;
//! identity from the client certificate (none, foreign CA, unknown or deactivated organisation).

use crate::common;

use DataCategory as D;
use common::*;

/// A referral from the Fachstelle to the debt counselling service, which the Jobcenter must not see.
async fn someone_elses_referral(hub: &TestHub) -> (Case, Referral) {
    let case = open_case(hub).await;
    record_consent(hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears]).await;
    let r = create_referral(
        hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Arrears],
    )
    .await;
    (case, r)
}

/// The outcome of a call, without its payload.
type Answer = Result<(), Status>;

#[tokio::test]
async fn a_referral_of_others_is_indistinguishable_from_a_missing_one() {
    let hub = start().await;
    let (case, r) = someone_elses_referral(&hub).await;
    // The Jobcenter even has its own referral in the same case.
    create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Identity]).await;
    let missing = random_id();

    for outsider in [orgs::JOBCENTER, orgs::WOHNBAU, orgs::SOZIALAMT] {
        let mut c = referrals(&hub, outsider).await;
        let pairs: Vec<(&str, Answer, Answer)> = vec![
            (
                "GetReferral",
                c.get_referral(GetReferralRequest { referral_id: r.id.clone() }).await.map(|_| ()),
                c.get_referral(GetReferralRequest { referral_id: missing.clone() }).await.map(|_| ()),
            ),
            (
                "ListNotes",
                c.list_notes(ListNotesRequest { referral_id: r.id.clone() }).await.map(|_| ()),
                c.list_notes(ListNotesRequest { referral_id: missing.clone() }).await.map(|_| ()),
            ),
            (
                "AddNote",
                c.add_note(AddNoteRequest { idempotency_key: idem(), referral_id: r.id.clone(), text: "Hallo".into() })
                    .await
                    .map(|_| ()),
                c.add_note(AddNoteRequest {
                    idempotency_key: idem(),
                    referral_id: missing.clone(),
                    text: "Hallo".into(),
                })
                .await
                .map(|_| ()),
            ),
            (
                "TransitionReferral",
                c.transition_referral(move_request(&r.id, ReferralMove::Acknowledge)).await.map(|_| ()),
                c.transition_referral(move_request(&missing, ReferralMove::Acknowledge)).await.map(|_| ()),
            ),
            (
                "TransitionReferral(CANCEL)",
                c.transition_referral(move_request(&r.id, ReferralMove::Cancel)).await.map(|_| ()),
                c.transition_referral(move_request(&missing, ReferralMove::Cancel)).await.map(|_| ()),
            ),
        ];
        for (rpc, theirs, random) in pairs {
            let theirs = assert_status(theirs, Code::NotFound, &["referral not found"]);
            let random = assert_status(random, Code::NotFound, &["referral not found"]);
            assert_eq!(theirs.message(), random.message(), "{outsider} {rpc}: same message as for a random id");
        }
        // Nor does it show up in the outsider's mailboxes.
        for mailbox in [Mailbox::Inbox, Mailbox::Outbox] {
            let listed = c
                .list_referrals(ListReferralsRequest { mailbox: mailbox as i32, ..Default::default() })
                .await
                .expect("ListReferrals")
                .into_inner()
                .referrals;
            assert!(listed.iter().all(|s| s.id != r.id), "{outsider} {mailbox:?} lists it");
        }
    }

    // Nothing happened to it, and the two parties still see it.
    let still = referral(&hub, orgs::SCHULDNERBERATUNG, &r.id).await;
    assert_eq!(state_of(&still), ReferralState::Requested);
    let notes = referrals(&hub, orgs::FACHSTELLE)
        .await
        .list_notes(ListNotesRequest { referral_id: r.id.clone() })
        .await
        .expect("ListNotes by the sender")
        .into_inner()
        .notes;
    assert!(notes.is_empty(), "no outsider note was added: {notes:?}");
}

#[tokio::test]
async fn only_the_fachstelle_uses_cases_consents_create_referral_and_mailbox_all() {
    let hub = start().await;
    let (case, _) = someone_elses_referral(&hub).await;
    let consent_id = consents(&hub, orgs::FACHSTELLE)
        .await
        .list_consents(ListConsentsRequest { case_id: case.id.clone() })
        .await
        .expect("ListConsents")
        .into_inner()
        .consents[0]
        .id
        .clone();

    for org in
        [orgs::JOBCENTER, orgs::SOZIALAMT, orgs::SCHULDNERBERATUNG, orgs::WOHNBAU, orgs::TRAEGER, orgs::FRAUENBERATUNG]
    {
        let denied = |what: &str, res: Result<(), Status>| {
            let s = res.expect_err(&format!("{org} {what} must be refused"));
            assert_eq!(s.code(), Code::PermissionDenied, "{org} {what}: {:?}", s.message());
        };
        let mut cs = cases(&hub, org).await;
        denied(
            "OpenCase",
            cs.open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(details()), initial_stage: None })
                .await
                .map(|_| ()),
        );
        denied("GetCase", cs.get_case(GetCaseRequest { case_id: case.id.clone() }).await.map(|_| ()));
        denied("ListCases", cs.list_cases(ListCasesRequest::default()).await.map(|_| ()));
        denied(
            "UpdateCase",
            cs.update_case(UpdateCaseRequest {
                idempotency_key: idem(),
                case_id: case.id.clone(),
                details: case.details.clone(),
            })
            .await
            .map(|_| ()),
        );
        denied(
            "RecordThreatStage",
            cs.record_threat_stage(RecordThreatStageRequest {
                idempotency_key: idem(),
                case_id: case.id.clone(),
                entry: Some(ThreatStageEntry {
                    stage: ThreatStage::Mahnung as i32,
                    date: "2026-01-02".into(),
                    source: "Mahnung".into(),
                    ..Default::default()
                }),
            })
            .await
            .map(|_| ()),
        );
        denied(
            "CloseCase",
            cs.close_case(CloseCaseRequest {
                idempotency_key: idem(),
                case_id: case.id.clone(),
                outcome: CaseOutcome::KeinKontakt as i32,
                rescue_means: 0,
                note: String::new(),
                confirm_open_items: true,
            })
            .await
            .map(|_| ()),
        );
        let mut co = consents(&hub, org).await;
        denied(
            "RecordConsent",
            co.record_consent(consent_request(&case, &[orgs::JOBCENTER], &[D::Identity], &hub.date_in_days(30)))
                .await
                .map(|_| ()),
        );
        denied("ListConsents", co.list_consents(ListConsentsRequest { case_id: case.id.clone() }).await.map(|_| ()));
        denied(
            "RevokeConsent",
            co.revoke_consent(RevokeConsentRequest {
                idempotency_key: idem(),
                consent_id: consent_id.clone(),
                note: String::new(),
            })
            .await
            .map(|_| ()),
        );
        let mut rs = referrals(&hub, org).await;
        denied(
            "CreateReferral",
            rs.create_referral(referral_request(
                &hub,
                &case.id,
                orgs::JOBCENTER,
                ReferralCategory::RentDebtTakeoverSgb2,
                &[D::Identity],
            ))
            .await
            .map(|_| ()),
        );
        denied(
            "ListReferrals(ALL)",
            rs.list_referrals(ListReferralsRequest { mailbox: Mailbox::All as i32, ..Default::default() })
                .await
                .map(|_| ()),
        );
        // Their own mailboxes are fine.
        rs.list_referrals(ListReferralsRequest { mailbox: Mailbox::Inbox as i32, ..Default::default() })
            .await
            .unwrap_or_else(|s| panic!("{org} reads its inbox: {s:?}"));
    }

    // Nothing changed: one open case, still one active consent.
    let listed = cases(&hub, orgs::FACHSTELLE)
        .await
        .list_cases(ListCasesRequest::default())
        .await
        .expect("ListCases")
        .into_inner()
        .cases;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, CaseStatus::Open as i32);
}

fn new_org_spec(id: &str) -> OrganisationSpec {
    OrganisationSpec {
        id: id.to_owned(),
        name: "Mieterhilfe Test e.V. (synthetisch)".to_owned(),
        kind: OrganisationKind::SocialWorkProvider as i32,
        accepted_categories: vec![ReferralCategory::SocialPedagogicalSupport as i32],
        channel: hub_proto::v1::Channel::Grpc as i32,
        channel_address: String::new(),
        office_hours: "Mo-Fr 09:00-12:00".to_owned(),
    }
}

#[tokio::test]
async fn only_the_operator_writes_the_directory_and_everyone_reads_it() {
    let hub = start().await;
    for org in [orgs::FACHSTELLE, orgs::JOBCENTER, orgs::WOHNBAU] {
        let mut d = directory(&hub, org).await;
        let denied = |what: &str, res: Result<(), Status>| {
            let s = res.expect_err(&format!("{org} {what} must be refused"));
            assert_eq!(s.code(), Code::PermissionDenied, "{org} {what}: {:?}", s.message());
        };
        denied(
            "RegisterOrganisation",
            d.register_organisation(RegisterOrganisationRequest {
                idempotency_key: idem(),
                organisation: Some(new_org_spec("mieterhilfe-test")),
            })
            .await
            .map(|_| ()),
        );
        let mut update = new_org_spec(orgs::TRAEGER);
        update.name = "Umbenannt".to_owned();
        denied(
            "UpdateOrganisation",
            d.update_organisation(UpdateOrganisationRequest { idempotency_key: idem(), organisation: Some(update) })
                .await
                .map(|_| ()),
        );
        denied(
            "DeactivateOrganisation",
            d.deactivate_organisation(DeactivateOrganisationRequest {
                idempotency_key: idem(),
                organisation_id: orgs::TRAEGER.into(),
            })
            .await
            .map(|_| ()),
        );
        denied(
            "ReactivateOrganisation",
            d.reactivate_organisation(ReactivateOrganisationRequest {
                idempotency_key: idem(),
                organisation_id: orgs::TRAEGER.into(),
            })
            .await
            .map(|_| ()),
        );
        let all = d
            .list_organisations(ListOrganisationsRequest::default())
            .await
            .expect("ListOrganisations")
            .into_inner()
            .organisations;
        let ids: Vec<&str> = all.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                orgs::FACHSTELLE,
                orgs::FRAUENBERATUNG,
                orgs::JOBCENTER,
                orgs::SCHULDNERBERATUNG,
                orgs::SOZIALAMT,
                orgs::TRAEGER,
                orgs::WOHNBAU
            ],
            "{org} reads the standard network, ordered by id, unchanged"
        );
        let traeger = d
            .get_organisation(GetOrganisationRequest { organisation_id: orgs::TRAEGER.into() })
            .await
            .expect("GetOrganisation")
            .into_inner()
            .organisation
            .expect("organisation");
        assert!(traeger.active && traeger.name != "Umbenannt");
    }

    // The operator may, within the directory's rules (a name, short office hours); a refused spec stores
    // nothing.
    let mut op = operator_directory(&hub).await;
    for (field, spec) in [
        ("organisation.name", OrganisationSpec { name: "   ".into(), ..new_org_spec("mieterhilfe-test") }),
        (
            "organisation.office_hours",
            OrganisationSpec { office_hours: "x".repeat(201), ..new_org_spec("mieterhilfe-test") },
        ),
    ] {
        let refused = op
            .register_organisation(RegisterOrganisationRequest { idempotency_key: idem(), organisation: Some(spec) })
            .await
            .expect_err(field);
        assert_eq!(refused.code(), Code::InvalidArgument, "{field}: {}", refused.message());
        assert!(refused.message().starts_with(field), "{field}: {}", refused.message());
    }
    let registered = op
        .register_organisation(RegisterOrganisationRequest {
            idempotency_key: idem(),
            organisation: Some(new_org_spec("mieterhilfe-test")),
        })
        .await
        .expect("operator registers")
        .into_inner()
        .organisation
        .expect("organisation");
    assert!(registered.active);
    assert_eq!(registered.kind, OrganisationKind::SocialWorkProvider as i32);
}

#[tokio::test]
async fn a_client_without_certificate_is_unauthenticated_on_every_hub_service() {
    let hub = start().await;
    let ch = hub.channel_without_cert().await.expect("TLS without a client certificate connects");
    let unauth = |what: &str, res: Result<(), Status>| {
        let s = res.expect_err(&format!("{what} without a certificate must be refused"));
        assert_eq!(s.code(), Code::Unauthenticated, "{what}: {:?}", s.message());
    };
    unauth("ListCases", CaseServiceClient::new(ch.clone()).list_cases(ListCasesRequest::default()).await.map(|_| ()));
    unauth(
        "ListConsents",
        ConsentServiceClient::new(ch.clone())
            .list_consents(ListConsentsRequest { case_id: random_id() })
            .await
            .map(|_| ()),
    );
    unauth(
        "ListReferrals",
        ReferralServiceClient::new(ch.clone()).list_referrals(ListReferralsRequest::default()).await.map(|_| ()),
    );
    unauth(
        "GetReferral",
        ReferralServiceClient::new(ch.clone())
            .get_referral(GetReferralRequest { referral_id: random_id() })
            .await
            .map(|_| ()),
    );
    unauth(
        "ListOrganisations",
        DirectoryServiceClient::new(ch.clone())
            .list_organisations(ListOrganisationsRequest::default())
            .await
            .map(|_| ()),
    );
    // A stream may fail on the call or on its first message.
    let sub = EventServiceClient::new(ch.clone()).subscribe(SubscribeRequest { after_cursor: 0 }).await;
    match sub {
        Err(s) => assert_eq!(s.code(), Code::Unauthenticated, "{:?}", s.message()),
        Ok(resp) => {
            let mut stream = resp.into_inner();
            let first = tokio::time::timeout(EVENT_TIMEOUT, stream.message()).await.expect("answer within the timeout");
            let s = first.expect_err("Subscribe without a certificate must be refused");
            assert_eq!(s.code(), Code::Unauthenticated, "{:?}", s.message());
        }
    }
}

/// Refused at the TLS layer: either the channel cannot be built or the first call fails as
/// UNAVAILABLE/UNKNOWN.
#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let hub = start().await;
    for org in [orgs::FACHSTELLE, orgs::JOBCENTER] {
        let Ok(ch) = hub.channel_from_foreign_ca(org).await else { continue };
        let res = ReferralServiceClient::new(ch.clone()).list_referrals(ListReferralsRequest::default()).await;
        let s = res.expect_err("a foreign CA's certificate must not get an answer");
        assert!(matches!(s.code(), Code::Unavailable | Code::Unknown), "{org}: {:?} {:?}", s.code(), s.message());
        let res = CaseServiceClient::new(ch).list_cases(ListCasesRequest::default()).await;
        assert!(res.is_err(), "{org}: CaseService answered a foreign certificate");
    }
    // The real certificate of the same organisation works.
    cases(&hub, orgs::FACHSTELLE).await.list_cases(ListCasesRequest::default()).await.expect("own CA works");
}

#[tokio::test]
async fn an_unknown_organisation_is_unauthenticated() {
    let hub = start().await;
    let ch = chan(&hub, "unbekannte-stelle").await;
    let s = ReferralServiceClient::new(ch.clone())
        .list_referrals(ListReferralsRequest::default())
        .await
        .expect_err("an unregistered organisation must be refused");
    assert_eq!(s.code(), Code::Unauthenticated, "{:?}", s.message());
    let s = DirectoryServiceClient::new(ch)
        .list_organisations(ListOrganisationsRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(s.code(), Code::Unauthenticated, "{:?}", s.message());
}

#[tokio::test]
async fn a_deactivated_organisation_is_permission_denied_until_reactivated() {
    let hub = start().await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::TRAEGER], &[D::Identity]).await;
    let r = create_referral(&hub, &case.id, orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport, &[D::Identity])
        .await;
    // Works while active.
    referral(&hub, orgs::TRAEGER, &r.id).await;

    let mut op = operator_directory(&hub).await;
    let off = op
        .deactivate_organisation(DeactivateOrganisationRequest {
            idempotency_key: idem(),
            organisation_id: orgs::TRAEGER.into(),
        })
        .await
        .expect("operator deactivates")
        .into_inner()
        .organisation
        .expect("organisation");
    assert!(!off.active);

    let s = get_referral(&hub, orgs::TRAEGER, &r.id).await.expect_err("deactivated");
    assert_eq!(s.code(), Code::PermissionDenied, "{:?}", s.message());
    let s = try_move(&hub, orgs::TRAEGER, &r.id, ReferralMove::Acknowledge).await.expect_err("deactivated");
    assert_eq!(s.code(), Code::PermissionDenied, "{:?}", s.message());
    let s = directory(&hub, orgs::TRAEGER)
        .await
        .list_organisations(ListOrganisationsRequest::default())
        .await
        .expect_err("deactivated");
    assert_eq!(s.code(), Code::PermissionDenied, "{:?}", s.message());
    let events = events(&hub, orgs::TRAEGER).await.subscribe(SubscribeRequest { after_cursor: 0 }).await;
    match events {
        Err(s) => assert_eq!(s.code(), Code::PermissionDenied, "{:?}", s.message()),
        Ok(resp) => {
            let mut stream = resp.into_inner();
            let first = tokio::time::timeout(EVENT_TIMEOUT, stream.message()).await.expect("answer within the timeout");
            assert_eq!(first.expect_err("refused").code(), Code::PermissionDenied);
        }
    }
    // It no longer takes referrals either.
    let req =
        referral_request(&hub, &case.id, orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport, &[D::Identity]);
    assert!(try_create_referral(&hub, req).await.is_err(), "no referral to a deactivated organisation");

    op.reactivate_organisation(ReactivateOrganisationRequest {
        idempotency_key: idem(),
        organisation_id: orgs::TRAEGER.into(),
    })
    .await
    .expect("operator reactivates");
    let back = referral(&hub, orgs::TRAEGER, &r.id).await;
    assert_eq!(state_of(&back), ReferralState::Requested);
}
