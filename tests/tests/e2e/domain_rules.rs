//! Rules the domain enforces for every edge, over real mTLS gRPC with requests built from `proto/` alone:
//! referrals (data categories, the reply-by window, a second open referral of the same kind), person ids
//! of a case (assigned by the hub, kept only for the case's own persons), printable tenancy references,
//! the current threat stage by date, and closing a case (open referrals and running deadlines confirmed,
//! consents ended). The dashboard's forms are held to the same rules in `dashboard_http.rs`.

use crate::common;

use common::*;
use hub_proto::v1::notice_service_client::NoticeServiceClient;

async fn with_consent(hub: &TestHub) -> Case {
    let case = open_case(hub).await;
    record_consent(hub, &case, &[orgs::SCHULDNERBERATUNG], &[DataCategory::Identity, DataCategory::Arrears]).await;
    case
}

/// A debt-counselling referral of `case`, not confirmed as a second one (the common helper confirms).
fn debt_counselling(hub: &TestHub, case: &Case) -> CreateReferralRequest {
    CreateReferralRequest {
        confirm_duplicate: false,
        ..referral_request(
            hub,
            &case.id,
            orgs::SCHULDNERBERATUNG,
            ReferralCategory::DebtCounselling,
            &[DataCategory::Identity, DataCategory::Arrears],
        )
    }
}

#[tokio::test]
async fn a_referral_names_its_data_a_sane_reply_by_date_and_is_not_sent_twice_by_mistake() {
    let hub = start().await;
    let case = with_consent(&hub).await;
    let none = CreateReferralRequest { data_categories: vec![], ..debt_counselling(&hub, &case) };
    assert_status(try_create_referral(&hub, none).await, Code::InvalidArgument, &["data_categories", "at least one"]);
    let twice = CreateReferralRequest {
        data_categories: vec![DataCategory::Identity as i32, DataCategory::Identity as i32],
        ..debt_counselling(&hub, &case)
    };
    assert_status(try_create_referral(&hub, twice).await, Code::InvalidArgument, &["data_categories[1]", "twice"]);
    let far = CreateReferralRequest { reply_by: "2099-12-31".into(), ..debt_counselling(&hub, &case) };
    assert_status(try_create_referral(&hub, far).await, Code::InvalidArgument, &["reply_by", "92 days"]);
    let past = CreateReferralRequest { reply_by: hub.date_in_days(-1), ..debt_counselling(&hub, &case) };
    assert_status(try_create_referral(&hub, past).await, Code::InvalidArgument, &["reply_by", "past"]);
    let long = CreateReferralRequest { message: "x".repeat(4001), ..debt_counselling(&hub, &case) };
    assert_status(try_create_referral(&hub, long).await, Code::InvalidArgument, &["message", "4000"]);
    let edge = CreateReferralRequest { reply_by: hub.date_in_days(92), ..debt_counselling(&hub, &case) };
    let first = try_create_referral(&hub, edge).await.expect("92 days ahead is allowed");

    let again = try_create_referral(&hub, debt_counselling(&hub, &case)).await;
    assert_status(again, Code::FailedPrecondition, &[&first.id, "still open", "confirm_duplicate"]);
    let confirmed = CreateReferralRequest { confirm_duplicate: true, ..debt_counselling(&hub, &case) };
    let second = try_create_referral(&hub, confirmed).await.expect("a confirmed second referral");
    assert_ne!(second.id, first.id);
    // Once the first is closed, another of the same kind needs no confirmation.
    do_move(&hub, orgs::FACHSTELLE, &first.id, ReferralMove::Cancel).await;
    do_move(&hub, orgs::FACHSTELLE, &second.id, ReferralMove::Cancel).await;
    try_create_referral(&hub, debt_counselling(&hub, &case)).await.expect("no open referral of the kind left");
}

#[tokio::test]
async fn person_ids_are_the_hub_s_and_an_update_keeps_only_the_case_s_own() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let other = open_case(&hub).await;
    let update = |details: CaseDetails| UpdateCaseRequest {
        idempotency_key: idem(),
        case_id: case.id.clone(),
        details: Some(details),
    };
    let own = case.details.clone().expect("details");
    let main_tenant = own.persons[0].person_id.clone();
    let with = |f: &dyn Fn(&mut CaseDetails)| {
        let mut d = own.clone();
        f(&mut d);
        update(d)
    };
    let refused = [
        ("another case's person", with(&|d| d.persons[1].person_id = person_ids(&other)[0].clone())),
        ("a made-up id", with(&|d| d.persons[1].person_id = random_id())),
        ("the main tenant twice", with(&|d| d.persons[1].person_id = main_tenant.clone())),
    ];
    for (what, req) in refused {
        let r = cases(&hub, orgs::FACHSTELLE).await.update_case(req).await;
        let s = assert_status(r, Code::InvalidArgument, &["details.persons[1].person_id"]);
        println!("{what}: {}", s.message());
    }
    // The case's own ids are kept, a person without an id is new and gets one from the hub.
    let req = with(&|d| {
        let mut newborn = d.persons[1].clone();
        newborn.person_id = String::new();
        newborn.given_name = "Lina".into();
        d.persons.push(newborn);
    });
    let updated = cases(&hub, orgs::FACHSTELLE).await.update_case(req).await.expect("UpdateCase").into_inner();
    let ids = person_ids(&updated.case.expect("case"));
    assert_eq!(ids[..own.persons.len()], person_ids(&case)[..], "own ids kept");
    let new = ids.last().expect("the new person");
    assert!(!new.is_empty() && !person_ids(&case).contains(new), "the new person got a new id: {new}");
    // Ids sent with a new case are replaced by the hub's.
    let mut d = details();
    d.persons[0].person_id = main_tenant.clone();
    let opened = open_case_with(&hub, d).await;
    assert!(!person_ids(&opened).contains(&main_tenant), "OpenCase assigns its own ids");
}

#[tokio::test]
async fn tenancy_references_hold_printable_characters_only() {
    let hub = start().await;
    let mut notices = NoticeServiceClient::new(hub.channel(orgs::WOHNBAU).await.expect("channel"));
    for bad in ["WN-1\n2", "WN\t12", "WN\u{7}3"] {
        let r = notices
            .submit_arrears_notice(SubmitArrearsNoticeRequest {
                idempotency_key: idem(),
                notice: Some(pseudonymous_notice(bad)),
            })
            .await;
        assert_status(r, Code::InvalidArgument, &["tenancy_reference", "printable"]);
    }
    let mut d = details();
    d.tenancy.as_mut().expect("tenancy").tenancy_reference = "WN-4711\n03".into();
    let r = cases(&hub, orgs::FACHSTELLE)
        .await
        .open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(d), initial_stage: None })
        .await;
    assert_status(r, Code::InvalidArgument, &["details.tenancy.tenancy_reference", "printable"]);
}

#[tokio::test]
async fn closing_a_case_names_what_is_still_open_needs_a_confirmation_and_ends_its_consents() {
    let hub = start().await;
    let case = with_consent(&hub).await;
    let sent = try_create_referral(&hub, debt_counselling(&hub, &case)).await.expect("CreateReferral");
    let close = |confirm: bool| CloseCaseRequest {
        idempotency_key: idem(),
        case_id: case.id.clone(),
        outcome: CaseOutcome::WohnungErhalten as i32,
        rescue_means: RescueMeans::Sgb2Loan as i32,
        note: String::new(),
        confirm_open_items: confirm,
    };
    let refused = cases(&hub, orgs::FACHSTELLE).await.close_case(close(false)).await;
    assert_status(refused, Code::FailedPrecondition, &[&sent.id, "confirm_open_items"]);
    assert_eq!(state_of(&referral(&hub, orgs::FACHSTELLE, &sent.id).await), ReferralState::Requested);

    let closed = cases(&hub, orgs::FACHSTELLE).await.close_case(close(true)).await.expect("CloseCase").into_inner();
    assert_eq!(closed.cancelled_referral_ids, std::slice::from_ref(&sent.id));
    assert_eq!(closed.ended_consent_ids.len(), 1, "the consent ended with the case");
    let listed = consents(&hub, orgs::FACHSTELLE)
        .await
        .list_consents(ListConsentsRequest { case_id: case.id.clone() })
        .await
        .expect("ListConsents")
        .into_inner()
        .consents;
    assert_eq!(listed[0].status, ConsentStatus::Ended as i32, "no longer shown as in force");
    assert_eq!(state_of(&referral(&hub, orgs::FACHSTELLE, &sent.id).await), ReferralState::Cancelled);
    // Nothing open: no confirmation needed.
    let quiet = open_case(&hub).await;
    let req = CloseCaseRequest { case_id: quiet.id.clone(), confirm_open_items: false, ..close(false) };
    cases(&hub, orgs::FACHSTELLE).await.close_case(req).await.expect("a case with nothing open closes");
}

#[tokio::test]
async fn a_request_above_max_message_bytes_is_resource_exhausted() {
    let hub = start().await;
    let note = AddNoteRequest { idempotency_key: idem(), referral_id: random_id(), text: "x".repeat(5 * 1024 * 1024) };
    let r = referrals(&hub, orgs::FACHSTELLE).await.add_note(note).await;
    assert_status(r, Code::ResourceExhausted, &["max_message_bytes"]);
    // A normal call on the same connection still works.
    let small = AddNoteRequest { idempotency_key: idem(), referral_id: random_id(), text: "kurz".into() };
    assert_status(referrals(&hub, orgs::FACHSTELLE).await.add_note(small).await, Code::NotFound, &[]);
}

/// A change that makes household details invalid.
type Spoil = Box<dyn Fn(&mut CaseDetails)>;

#[tokio::test]
async fn household_details_follow_the_domain_s_rules_on_open_update_and_take_up() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let bad: Vec<(&str, Spoil)> = vec![
        ("details.address.postal_code", Box::new(|d| d.address.as_mut().expect("address").postal_code = "3015".into())),
        ("details.persons[0].birth_year", Box::new(|d| d.persons[0].birth_year = 1850)),
        ("details.persons[0].given_name", Box::new(|d| d.persons[0].given_name = "  ".into())),
        ("details.persons[0].family_name", Box::new(|d| d.persons[0].family_name = "x".repeat(101))),
        ("details.address.street", Box::new(|d| d.address.as_mut().expect("address").street = "Weg\u{7}".into())),
        (
            "details.contact.email",
            Box::new(|d| d.contact.get_or_insert_with(Contact::default).email = "kein-at".into()),
        ),
        ("details.health_note", Box::new(|d| d.health_note = "h".repeat(4001))),
        ("details.persons", Box::new(|d| d.persons.clear())),
    ];
    for (field, spoil) in bad {
        let mut d = details();
        spoil(&mut d);
        let opened = cases(&hub, orgs::FACHSTELLE)
            .await
            .open_case(OpenCaseRequest { idempotency_key: idem(), details: Some(d.clone()), initial_stage: None })
            .await;
        assert_status(opened, Code::InvalidArgument, &[field]);
        let mut own = case.details.clone().expect("details");
        spoil(&mut own);
        let updated = cases(&hub, orgs::FACHSTELLE)
            .await
            .update_case(UpdateCaseRequest { idempotency_key: idem(), case_id: case.id.clone(), details: Some(own) })
            .await;
        assert_status(updated, Code::InvalidArgument, &[field]);
    }
}

#[tokio::test]
async fn court_and_arrears_notices_follow_the_domain_s_rules() {
    let hub = start().await;
    let mut court = NoticeServiceClient::new(hub.channel(orgs::FACHSTELLE).await.expect("channel"));
    let served = hub.date_in_days(-3);
    let spoilt: Vec<(&str, CourtNotice)> = vec![
        ("notice.tenants", CourtNotice { tenants: vec![], ..court_notice("2 C 1/26", &served) }),
        ("notice.claim_served_date", court_notice("2 C 2/26", &hub.date_in_days(2))),
        ("notice.court_file_number", CourtNotice { court_file_number: "  ".into(), ..court_notice("x", &served) }),
        ("notice.tenants[0].postal_code", {
            let mut n = court_notice("2 C 3/26", &served);
            n.tenants[0].postal_code = "123".into();
            n
        }),
        ("notice.tenants[0].email", {
            let mut n = court_notice("2 C 4/26", &served);
            n.tenants[0].email = "kein-at".into();
            n
        }),
        ("notice.tenants[0].family_name", {
            let mut n = court_notice("2 C 5/26", &served);
            n.tenants[0].family_name = " ".into();
            n
        }),
    ];
    for (field, notice) in spoilt {
        let r =
            court.record_court_notice(RecordCourtNoticeRequest { idempotency_key: idem(), notice: Some(notice) }).await;
        assert_status(r, Code::InvalidArgument, &[field]);
    }
    let mut wohnbau = NoticeServiceClient::new(hub.channel(orgs::WOHNBAU).await.expect("channel"));
    let mut long = consented_notice("WN-R-1");
    long.remark = "r".repeat(2001);
    let r =
        wohnbau.submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(long) }).await;
    assert_status(r, Code::InvalidArgument, &["notice.remark"]);
    let mut future = pseudonymous_notice("WN-R-2");
    future.stage_date = hub.date_in_days(5);
    let r = wohnbau
        .submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(future) })
        .await;
    assert_status(r, Code::InvalidArgument, &["notice.stage_date", "future"]);
}

#[tokio::test]
async fn a_new_reply_by_date_keeps_the_window_is_the_sender_s_and_reaches_the_partner_as_a_note() {
    let hub = start().await;
    let case = with_consent(&hub).await;
    let r = try_create_referral(&hub, debt_counselling(&hub, &case)).await.expect("referral");
    let change = |org: &'static str, reply_by: String| {
        let hub = &hub;
        let id = r.id.clone();
        async move {
            referrals(hub, org)
                .await
                .change_reply_by(ChangeReplyByRequest {
                    idempotency_key: idem(),
                    referral_id: id,
                    reply_by,
                    message: "Bitte bis dahin (synthetisch)".into(),
                })
                .await
                .map(|resp| resp.into_inner().referral.expect("referral"))
        }
    };
    // The same window as a new referral: from today to 92 days ahead.
    assert_status(change(orgs::FACHSTELLE, hub.date_in_days(-1)).await, Code::InvalidArgument, &["reply_by", "past"]);
    assert_status(
        change(orgs::FACHSTELLE, hub.date_in_days(93)).await,
        Code::InvalidArgument,
        &["reply_by", "92 days"],
    );
    assert_status(change(orgs::SCHULDNERBERATUNG, hub.date_in_days(5)).await, Code::PermissionDenied, &["sender"]);
    let moved = change(orgs::FACHSTELLE, hub.date_in_days(30)).await.expect("a new reply-by date");
    assert_eq!(moved.reply_by, hub.date_in_days(30));
    let notes = referrals(&hub, orgs::SCHULDNERBERATUNG)
        .await
        .list_notes(ListNotesRequest { referral_id: r.id.clone() })
        .await
        .expect("ListNotes")
        .into_inner()
        .notes;
    assert!(notes.iter().any(|n| n.text.starts_with("Neue Antwortfrist") && n.text.contains("Bitte bis dahin")));
    // A referral no longer open takes no new date.
    do_move(&hub, orgs::FACHSTELLE, &r.id, ReferralMove::Cancel).await;
    assert_status(change(orgs::FACHSTELLE, hub.date_in_days(10)).await, Code::FailedPrecondition, &["no longer open"]);
}
