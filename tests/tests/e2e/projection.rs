//! Per-recipient views: each recipient kind reads exactly the categories disclosed to it on a basis
//! in force; the sender reads the case, not a view; a Schutzsperre hides the address from everyone.

use crate::common;

use DataCategory as D;
use common::*;

/// Checks that `v` shows exactly `disclosed`, each with the case's data, and nothing else.
#[track_caller]
fn assert_view_shows_exactly(who: &str, v: &CaseView, disclosed: &[D], case: &CaseDetails) {
    let mut readable = categories(&v.readable_categories);
    readable.sort_by_key(|c| *c as i32);
    let mut want = disclosed.to_vec();
    want.sort_by_key(|c| *c as i32);
    assert_eq!(readable, want, "{who}: readable categories");
    assert!(v.withheld_categories.is_empty(), "{who}: nothing withheld: {:?}", v.withheld_categories);
    let has = |c: D| disclosed.contains(&c);

    if has(D::Identity) {
        let names: Vec<(&str, &str)> =
            v.persons.iter().map(|p| (p.given_name.as_str(), p.family_name.as_str())).collect();
        // A statute (§69 SGB X: Jobcenter, social services) covers the household; the consents of this
        // test are the main tenant's alone, so a private recipient sees the main tenant only.
        let statute = [orgs::JOBCENTER, orgs::SOZIALAMT].contains(&who);
        let shown = if statute { case.persons.len() } else { 1 };
        let want: Vec<(&str, &str)> =
            case.persons.iter().take(shown).map(|p| (p.given_name.as_str(), p.family_name.as_str())).collect();
        assert_eq!(names, want, "{who}: persons");
        assert_eq!(v.persons_withheld as usize, case.persons.len() - shown, "{who}: persons withheld");
    } else {
        assert!(v.persons.is_empty(), "{who}: persons shown without IDENTITY");
    }
    if has(D::Contact) {
        assert_eq!(v.address, case.address, "{who}: address");
        assert_eq!(v.contact.as_ref().map(|c| c.phone.as_str()), Some(PHONE), "{who}: phone");
    } else {
        assert!(v.address.as_ref().is_none_or(|a| *a == Address::default()), "{who}: address without CONTACT");
        assert!(v.contact.as_ref().is_none_or(|c| *c == Contact::default()), "{who}: contact without CONTACT");
    }
    assert!(!v.address_withheld, "{who}: no Schutzsperre here");
    if has(D::Tenancy) {
        assert_eq!(v.tenancy, case.tenancy, "{who}: tenancy");
        assert_eq!(v.stadtbezirk, case.stadtbezirk, "{who}: Stadtbezirk");
    } else {
        assert!(v.tenancy.is_none(), "{who}: tenancy without TENANCY");
        assert_eq!(v.stadtbezirk, 0, "{who}: Stadtbezirk without TENANCY");
        assert!(v.stages.is_empty(), "{who}: stages without TENANCY");
    }
    assert_eq!(v.arrears_cents, has(D::Arrears).then_some(case.arrears_cents), "{who}: arrears");
    let note = |c: D, text: &'static str| if has(c) { text } else { "" };
    assert_eq!(v.income_benefits_note, note(D::IncomeBenefits, INCOME_NOTE), "{who}: income note");
    assert_eq!(v.health_note, note(D::Health, HEALTH_NOTE), "{who}: health note");
    assert_eq!(v.counselling_note, note(D::CounsellingNotes, COUNSELLING_NOTE), "{who}: counselling note");
    if !has(D::Outcome) {
        assert!(v.outcomes.is_empty(), "{who}: outcomes without OUTCOME");
    }
}

#[tokio::test]
async fn each_recipient_kind_reads_exactly_what_was_disclosed_to_it() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let det = case.details.clone().expect("details");
    assert!(!det.address.as_ref().expect("address").street.is_empty(), "Frau K. has an address");

    record_consent(
        &hub,
        &case,
        &[orgs::SCHULDNERBERATUNG],
        &[D::Identity, D::Arrears, D::IncomeBenefits, D::CounsellingNotes],
    )
    .await;
    record_consent(&hub, &case, &[orgs::WOHNBAU], &[D::Identity, D::Tenancy, D::Arrears, D::Outcome]).await;
    record_consent(&hub, &case, &[orgs::TRAEGER], &[D::Identity, D::Contact, D::Health]).await;
    record_consent(&hub, &case, &[orgs::FRAUENBERATUNG], &[D::Identity, D::Contact]).await;

    let table: [(&str, ReferralCategory, &[D]); 6] = [
        (
            orgs::JOBCENTER,
            ReferralCategory::RentDebtTakeoverSgb2,
            &[D::Identity, D::Contact, D::Tenancy, D::Arrears, D::IncomeBenefits],
        ),
        (orgs::SOZIALAMT, ReferralCategory::Ksd, &[D::Identity, D::Tenancy, D::Arrears]),
        (
            orgs::SCHULDNERBERATUNG,
            ReferralCategory::DebtCounselling,
            &[D::Identity, D::Arrears, D::IncomeBenefits, D::CounsellingNotes],
        ),
        (orgs::WOHNBAU, ReferralCategory::LandlordAgreement, &[D::Identity, D::Tenancy, D::Arrears, D::Outcome]),
        (orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport, &[D::Identity, D::Contact, D::Health]),
        (orgs::FRAUENBERATUNG, ReferralCategory::WomensCounselling, &[D::Identity, D::Contact]),
    ];
    for (org, category, data) in table {
        let r = create_referral(&hub, &case.id, org, category, data).await;
        let seen = referral(&hub, org, &r.id).await;
        assert_eq!(seen.recipient_organisation_id, org);
        assert_view_shows_exactly(org, &view(&seen), data, &det);

        // The sender reads the case itself; its copy of the referral carries no view.
        let sent = referral(&hub, orgs::FACHSTELLE, &r.id).await;
        let sv = view(&sent);
        assert!(
            sv.readable_categories.is_empty() && sv.persons.is_empty() && sv.arrears_cents.is_none(),
            "the sender gets no case_view: {sv:?}"
        );
    }
}

#[tokio::test]
async fn landlord_sees_takeover_outcomes_generically_and_only_with_outcome_disclosed() {
    let hub = start().await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::WOHNBAU], &[D::Identity, D::Outcome]).await;
    let with_outcome =
        create_referral(&hub, &case.id, orgs::WOHNBAU, ReferralCategory::LandlordAgreement, &[D::Identity, D::Outcome])
            .await;
    let without =
        create_referral(&hub, &case.id, orgs::WOHNBAU, ReferralCategory::LandlordAgreement, &[D::Identity]).await;
    assert!(view(&referral(&hub, orgs::WOHNBAU, &with_outcome.id).await).outcomes.is_empty(), "nothing decided yet");

    let sgb2 = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Arrears],
    )
    .await;
    let sgb12 = create_referral(
        &hub,
        &case.id,
        orgs::SOZIALAMT,
        ReferralCategory::RentDebtTakeoverSgb12,
        &[D::Identity, D::Arrears],
    )
    .await;
    for (org, id, result, amount, date) in [
        (orgs::JOBCENTER, &sgb2.id, CompletionResult::ApprovedLoan, 156_000, "2026-01-28"),
        (orgs::SOZIALAMT, &sgb12.id, CompletionResult::ApprovedGrant, 78_000, "2026-01-30"),
    ] {
        drive_to(&hub, id, org, ReferralState::InProgress).await;
        let mut req = move_request(id, ReferralMove::Complete);
        req.outcome = Some(CompletionOutcome {
            result: result as i32,
            amount_cents: Some(amount),
            effective_date: date.to_owned(),
            summary: format!("SYNTH-SUMMARY {org}: Leistungsbescheid"),
        });
        send_move(&hub, org, req).await.expect("complete");
    }

    let seen = referral(&hub, orgs::WOHNBAU, &with_outcome.id).await;
    let mut outcomes = view(&seen).outcomes;
    outcomes.sort_by_key(|o| o.effective_date.clone());
    let want = vec![
        OutcomeSummary {
            topic: "RENT_DEBT_TAKEOVER".to_owned(),
            result: CompletionResult::ApprovedLoan as i32,
            amount_cents: Some(156_000),
            effective_date: "2026-01-28".to_owned(),
        },
        OutcomeSummary {
            topic: "RENT_DEBT_TAKEOVER".to_owned(),
            result: CompletionResult::ApprovedGrant as i32,
            amount_cents: Some(78_000),
            effective_date: "2026-01-30".to_owned(),
        },
    ];
    assert_eq!(outcomes, want, "both takeovers under one generic topic");
    let text = format!("{seen:?}");
    assert!(!text.contains("SGB") && !text.contains("SYNTH-SUMMARY"), "no benefit law, no partner free text: {text}");

    let v = view(&referral(&hub, orgs::WOHNBAU, &without.id).await);
    assert!(v.outcomes.is_empty(), "no OUTCOME disclosed, no outcomes: {:?}", v.outcomes);
}

fn schutzsperre_details() -> CaseDetails {
    let mut d = details();
    d.schutzsperre = true;
    d
}

#[tokio::test]
async fn schutzsperre_address_is_shown_to_no_recipient_even_with_contact_consent() {
    let hub = start().await;
    let case = open_case_with(&hub, schutzsperre_details()).await;
    let address = case.details.as_ref().and_then(|d| d.address.clone()).expect("the hub keeps the address");
    assert!(!address.street.is_empty() && !address.postal_code.is_empty());
    let private = [orgs::SCHULDNERBERATUNG, orgs::WOHNBAU, orgs::TRAEGER, orgs::FRAUENBERATUNG];
    record_consent(&hub, &case, &private, &[D::Identity, D::Contact]).await;
    let mut streams = Vec::new();

    for (org, category) in [
        (orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2),
        (orgs::SOZIALAMT, ReferralCategory::RentDebtTakeoverSgb12),
        (orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling),
        (orgs::WOHNBAU, ReferralCategory::LandlordAgreement),
        (orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport),
        (orgs::FRAUENBERATUNG, ReferralCategory::WomensCounselling),
    ] {
        let r = create_referral(&hub, &case.id, org, category, &[D::Identity, D::Contact]).await;
        let seen = referral(&hub, org, &r.id).await;
        let v = view(&seen);
        assert!(categories(&v.readable_categories).contains(&D::Contact), "{org}: CONTACT is disclosed");
        assert_eq!(v.contact.as_ref().map(|c| c.phone.as_str()), Some(PHONE), "{org}: phone still shown");
        assert!(v.address_withheld, "{org}: address_withheld");
        assert!(
            v.address.as_ref().is_none_or(|a| *a == Address::default()),
            "{org}: address must be empty: {:?}",
            v.address
        );
        let text = format!("{seen:?}");
        assert!(!text.contains(&address.street), "{org}: street leaks");
        assert!(!text.contains(&address.postal_code), "{org}: postal code leaks");
        streams.push((org, r.id.clone()));
    }
    // Nor through the event stream.
    for (org, id) in streams {
        let mut s = subscribe(&hub, org, 0).await;
        let seen = events_until(&mut s, |e| is_event(e, EventKind::ReferralCreated, &id)).await;
        assert!(!format!("{seen:?}").contains(&address.street), "{org}: street in an event");
    }
}

#[tokio::test]
async fn schutzsperre_set_later_hides_the_address_at_once() {
    let hub = start().await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::FRAUENBERATUNG], &[D::Identity, D::Contact]).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::FRAUENBERATUNG,
        ReferralCategory::WomensCounselling,
        &[D::Identity, D::Contact],
    )
    .await;
    let before = view(&referral(&hub, orgs::FRAUENBERATUNG, &r.id).await);
    assert_eq!(before.address, case.details.as_ref().and_then(|d| d.address.clone()), "shown without Schutzsperre");
    assert!(!before.address_withheld);

    let mut d = case.details.clone().expect("details");
    d.schutzsperre = true;
    cases(&hub, orgs::FACHSTELLE)
        .await
        .update_case(UpdateCaseRequest { idempotency_key: idem(), case_id: case.id.clone(), details: Some(d) })
        .await
        .expect("UpdateCase");
    let after = view(&referral(&hub, orgs::FRAUENBERATUNG, &r.id).await);
    assert!(after.address_withheld);
    assert!(
        after.address.as_ref().is_none_or(|a| *a == Address::default()),
        "address must be empty: {:?}",
        after.address
    );
    assert_eq!(after.contact.as_ref().map(|c| c.phone.as_str()), Some(PHONE));
}
