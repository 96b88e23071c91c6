//! The whole Frau K. case (DOMAIN.md "A realistic case") through real mTLS gRPC: consent, three
//! referrals, the partners' handoffs, what the housing company may learn, the Fachstelle's view of
//! every handoff, and closure as WOHNUNG_ERHALTEN. All data is synthetic.

use crate::common;

use common::*;

const JC_SUMMARY: &str = "SYNTH-JC: Darlehen nach §22 Abs. 8 SGB II, Tilgung 5 % des Regelbedarfs";
const SB_SUMMARY: &str = "SYNTH-SB: Schuldnerberatung begonnen, Ratenplan fuer weitere Schulden";
const SB_MESSAGE: &str = "SYNTH-SB-MSG: weitere Schulden ca. 4.200 EUR, bitte Beratung";

struct FrauK {
    hub: TestHub,
    case: Case,
    jc: String,
    wb: String,
    sb: String,
    /// Every handoff in the order it was made: (referral, move, actor, day).
    log: Vec<(String, ReferralMove, &'static str, String)>,
}

impl FrauK {
    async fn mv(&mut self, org: &'static str, referral_id: &str, mv: ReferralMove) -> Referral {
        let r = do_move(&self.hub, org, referral_id, mv).await;
        self.log.push((referral_id.to_owned(), mv, org, self.hub.today()));
        r
    }

    async fn complete(&mut self, org: &'static str, referral_id: &str, outcome: CompletionOutcome) -> Referral {
        let mut req = move_request(referral_id, ReferralMove::Complete);
        req.outcome = Some(outcome);
        let r = send_move(&self.hub, org, req).await.unwrap_or_else(|s| panic!("complete by {org}: {s:?}"));
        self.log.push((referral_id.to_owned(), ReferralMove::Complete, org, self.hub.today()));
        r
    }
}

/// 9 Jan: the Fachstelle opens the case, records the three consents and sends the three referrals.
async fn opening(hub: TestHub) -> FrauK {
    assert_eq!(hub.today(), "2026-01-09", "the test clock starts on 9 Jan 2026");
    let case = cases(&hub, orgs::FACHSTELLE)
        .await
        .open_case(with_staff(
            OpenCaseRequest {
                idempotency_key: idem(),
                details: Some(details()),
                initial_stage: Some(ThreatStageEntry {
                    stage: ThreatStage::Mahnung as i32,
                    date: "2025-12-08".to_owned(),
                    end_date: String::new(),
                    source: "Mahnschreiben wohnbau-nord mit Einwilligungsabschnitt".to_owned(),
                    recorded_by_organisation_id: String::new(),
                }),
            },
            "sb-fachstelle-01",
        ))
        .await
        .expect("OpenCase")
        .into_inner()
        .case
        .expect("case");
    assert_eq!(case.status, CaseStatus::Open as i32);
    assert_eq!(case.details.as_ref().map(|d| d.arrears_cents), Some(156_000), "arrears 1,560 EUR");

    use DataCategory as D;
    let jc_data = [D::Identity, D::Contact, D::Tenancy, D::Arrears, D::IncomeBenefits];
    let wb_data = [D::Identity, D::Tenancy, D::Arrears, D::Outcome];
    let sb_data = [D::Identity, D::Contact, D::Arrears, D::IncomeBenefits, D::CounsellingNotes];
    record_consent(&hub, &case, &[orgs::JOBCENTER], &jc_data).await;
    record_consent(&hub, &case, &[orgs::WOHNBAU], &wb_data).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &sb_data).await;
    let listed = consents(&hub, orgs::FACHSTELLE)
        .await
        .list_consents(ListConsentsRequest { case_id: case.id.clone() })
        .await
        .expect("ListConsents")
        .into_inner()
        .consents;
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|c| c.status == ConsentStatus::Active as i32));

    let mut jc_req =
        referral_request(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &jc_data);
    jc_req.message = "Mietschuldenuebernahme §22 Abs. 8 SGB II, 1.560 EUR (Nov/Dez)".to_owned();
    jc_req.reply_by = "2026-01-23".to_owned();
    let jc = try_create_referral(&hub, jc_req).await.expect("referral to the Jobcenter");
    let wb = create_referral(&hub, &case.id, orgs::WOHNBAU, ReferralCategory::LandlordAgreement, &wb_data).await;
    let mut sb_req =
        referral_request(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &sb_data);
    sb_req.message = SB_MESSAGE.to_owned();
    let sb = try_create_referral(&hub, sb_req).await.expect("referral to debt counselling");
    for r in [&jc, &wb, &sb] {
        assert_eq!(state_of(r), ReferralState::Requested);
        assert_eq!(r.sender_organisation_id, orgs::FACHSTELLE);
        assert_eq!(r.case_id, case.id);
        assert!(r.disclosures.iter().all(|d| d.in_force), "every disclosure is in force: {:?}", r.disclosures);
    }
    FrauK { hub, case, jc: jc.id, wb: wb.id, sb: sb.id, log: Vec::new() }
}

#[tokio::test]
async fn frau_k_from_notice_to_wohnung_erhalten() {
    let hub = start().await;
    let mut fachstelle_events = subscribe(&hub, orgs::FACHSTELLE, 0).await;
    let mut k = opening(hub).await;
    let (jc, wb, sb) = (k.jc.clone(), k.wb.clone(), k.sb.clone());

    // 9 Jan: the partners pick the referrals up; the housing company holds the termination.
    let staffed = with_staff(move_request(&jc, ReferralMove::Acknowledge), "sb-jobcenter-12");
    let acked = referrals(&k.hub, orgs::JOBCENTER).await.transition_referral(staffed).await.expect("ack").into_inner();
    k.log.push((jc.clone(), ReferralMove::Acknowledge, orgs::JOBCENTER, k.hub.today()));
    let acked = acked.referral.expect("referral");
    assert_eq!(acked.history.last().map(|t| t.staff_member.as_str()), Some("sb-jobcenter-12"));
    k.mv(orgs::WOHNBAU, &wb, ReferralMove::Acknowledge).await;
    k.mv(orgs::WOHNBAU, &wb, ReferralMove::Accept).await;
    k.mv(orgs::WOHNBAU, &wb, ReferralMove::Start).await;
    referrals(&k.hub, orgs::WOHNBAU)
        .await
        .add_note(AddNoteRequest {
            idempotency_key: idem(),
            referral_id: wb.clone(),
            text: "Kuendigung bis 06.02.2026 zurueckgestellt".to_owned(),
        })
        .await
        .expect("note by the housing company");
    k.mv(orgs::SCHULDNERBERATUNG, &sb, ReferralMove::Acknowledge).await;

    // The Jobcenter reads what it needs for §22(8): tenancy, arrears, income; no counselling notes.
    let jc_view = view(&referral(&k.hub, orgs::JOBCENTER, &jc).await);
    assert_eq!(jc_view.arrears_cents, Some(156_000));
    assert_eq!(jc_view.income_benefits_note, INCOME_NOTE);
    assert!(!jc_view.persons.is_empty());
    assert!(jc_view.tenancy.is_some());
    assert_eq!(jc_view.counselling_note, "");
    assert_eq!(jc_view.health_note, "");

    // 12 Jan: the Jobcenter accepts and starts.
    k.hub.advance_days(3);
    k.mv(orgs::JOBCENTER, &jc, ReferralMove::Accept).await;
    k.mv(orgs::JOBCENTER, &jc, ReferralMove::Start).await;

    // 28 Jan: the Jobcenter approves a 1,560 EUR loan paid to the landlord.
    k.hub.advance_days(16);
    assert_eq!(k.hub.today(), "2026-01-28");
    let done = k
        .complete(
            orgs::JOBCENTER,
            &jc,
            CompletionOutcome {
                result: CompletionResult::ApprovedLoan as i32,
                amount_cents: Some(156_000),
                effective_date: "2026-01-28".to_owned(),
                summary: JC_SUMMARY.to_owned(),
            },
        )
        .await;
    assert_eq!(state_of(&done), ReferralState::Completed);

    // The housing company learns only: approved, amount, payment date.
    let wb_ref = referral(&k.hub, orgs::WOHNBAU, &wb).await;
    let wb_view = view(&wb_ref);
    assert_eq!(
        wb_view.outcomes,
        vec![OutcomeSummary {
            topic: "RENT_DEBT_TAKEOVER".to_owned(),
            result: CompletionResult::ApprovedLoan as i32,
            amount_cents: Some(156_000),
            effective_date: "2026-01-28".to_owned(),
        }],
        "the landlord sees the takeover result and nothing else"
    );
    assert_landlord_sees_no_sensitive_data(&wb_ref);

    // 3 Feb: arrears cleared; debt counselling accepts.
    k.hub.advance_days(6);
    assert_eq!(k.hub.today(), "2026-02-03");
    k.complete(
        orgs::WOHNBAU,
        &wb,
        CompletionOutcome {
            result: CompletionResult::AgreementReached as i32,
            amount_cents: None,
            effective_date: "2026-02-03".to_owned(),
            summary: "Rueckstand ausgeglichen, Mietverhaeltnis wird fortgesetzt".to_owned(),
        },
    )
    .await;
    k.mv(orgs::SCHULDNERBERATUNG, &sb, ReferralMove::Accept).await;
    k.mv(orgs::SCHULDNERBERATUNG, &sb, ReferralMove::Start).await;
    let sb_view = view(&referral(&k.hub, orgs::SCHULDNERBERATUNG, &sb).await);
    assert_eq!(sb_view.counselling_note, COUNSELLING_NOTE);
    assert_eq!(sb_view.health_note, "", "HEALTH was never disclosed");

    // 31 Mar: counselling done; the case is closed as WOHNUNG_ERHALTEN (SGB II loan).
    k.hub.advance_days(56);
    assert_eq!(k.hub.today(), "2026-03-31");
    k.complete(
        orgs::SCHULDNERBERATUNG,
        &sb,
        CompletionOutcome {
            result: CompletionResult::ServiceProvided as i32,
            amount_cents: None,
            effective_date: "2026-03-31".to_owned(),
            summary: SB_SUMMARY.to_owned(),
        },
    )
    .await;
    assert_landlord_sees_no_sensitive_data(&referral(&k.hub, orgs::WOHNBAU, &wb).await);

    let closed = cases(&k.hub, orgs::FACHSTELLE)
        .await
        .close_case(CloseCaseRequest {
            idempotency_key: idem(),
            case_id: k.case.id.clone(),
            outcome: CaseOutcome::WohnungErhalten as i32,
            rescue_means: RescueMeans::Sgb2Loan as i32,
            note: "Erhalt vor Kuendigung erreicht".to_owned(),
            confirm_open_items: true,
        })
        .await
        .expect("CloseCase")
        .into_inner();
    assert!(closed.cancelled_referral_ids.is_empty(), "nothing was left open: {:?}", closed.cancelled_referral_ids);

    // The Fachstelle's GetCase shows the closed case with its history.
    let case = cases(&k.hub, orgs::FACHSTELLE)
        .await
        .get_case(GetCaseRequest { case_id: k.case.id.clone() })
        .await
        .expect("GetCase")
        .into_inner()
        .case
        .expect("case");
    assert_eq!(case.status, CaseStatus::Closed as i32);
    assert_eq!(case.outcome, CaseOutcome::WohnungErhalten as i32);
    assert_eq!(case.rescue_means, RescueMeans::Sgb2Loan as i32);
    assert_eq!(case.owner_organisation_id, orgs::FACHSTELLE);
    assert_eq!(day_of(&case.opened_at), "2026-01-09");
    assert_eq!(day_of(&case.closed_at), "2026-03-31");
    assert_eq!(case.stages.len(), 1);
    assert_eq!(case.stages[0].stage, ThreatStage::Mahnung as i32);
    assert_eq!(case.stages[0].date, "2025-12-08");

    // ListReferrals(ALL) for the case: the three referrals, oldest first, all completed.
    let listed = referrals(&k.hub, orgs::FACHSTELLE)
        .await
        .list_referrals(ListReferralsRequest {
            mailbox: Mailbox::All as i32,
            case_id: k.case.id.clone(),
            ..Default::default()
        })
        .await
        .expect("ListReferrals ALL")
        .into_inner()
        .referrals;
    let ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec![jc.as_str(), wb.as_str(), sb.as_str()]);
    assert!(listed.iter().all(|r| r.state == ReferralState::Completed as i32), "{listed:?}");
    let recipients: Vec<&str> = listed.iter().map(|r| r.recipient_organisation_id.as_str()).collect();
    assert_eq!(recipients, vec![orgs::JOBCENTER, orgs::WOHNBAU, orgs::SCHULDNERBERATUNG]);

    // Every handoff, with the right actor, on the right day, timestamps in the order made.
    let mut handoffs = Vec::new();
    for id in [&jc, &wb, &sb] {
        let r = referral(&k.hub, orgs::FACHSTELLE, id).await;
        let history = &r.history;
        let first = &history[0];
        if first.r#move == ReferralMove::Unspecified as i32 {
            // The creation, if recorded, is the Fachstelle's handoff to the partner.
            assert_eq!(first.to_state, ReferralState::Requested as i32);
            assert_eq!(first.actor_organisation_id, orgs::FACHSTELLE);
            assert_eq!(day_of(&first.at), "2026-01-09");
        }
        for t in history.iter().filter(|t| t.r#move != ReferralMove::Unspecified as i32) {
            handoffs.push((id.clone(), t.clone()));
        }
        for w in history.windows(2) {
            assert!(ts(&w[0].at) <= ts(&w[1].at), "history of {id} is oldest first");
            assert_eq!(w[0].to_state, w[1].from_state, "each handoff starts where the previous ended");
        }
    }
    assert_eq!(handoffs.len(), k.log.len(), "every move is a recorded handoff");
    let mut made = Vec::new();
    for (rid, mv, actor, day) in &k.log {
        let matching: Vec<&Transition> =
            handoffs.iter().filter(|(id, t)| id == rid && t.r#move == *mv as i32).map(|(_, t)| t).collect();
        assert_eq!(matching.len(), 1, "exactly one handoff {mv:?} on {rid}");
        let t = matching[0];
        assert_eq!(t.actor_organisation_id, *actor, "{mv:?} by {actor}");
        assert_eq!(&day_of(&t.at), day, "{mv:?} by {actor} happened on {day}");
        made.push(ts(&t.at));
    }
    assert!(made.windows(2).all(|w| w[0] <= w[1]), "handoff timestamps follow the order the moves were made: {made:?}");

    // The Fachstelle sees the outcome it asked for, with the Jobcenter's summary.
    let jc_final = referral(&k.hub, orgs::FACHSTELLE, &jc).await;
    let o = jc_final.outcome.expect("outcome");
    assert_eq!(
        (o.result, o.amount_cents, o.effective_date.as_str()),
        (CompletionResult::ApprovedLoan as i32, Some(156_000), "2026-01-28")
    );
    assert_eq!(o.summary, JC_SUMMARY);

    // The Fachstelle's event stream reported every handoff of every referral, then the closure.
    let seen = events_until(&mut fachstelle_events, |e| kind_of(e) == EventKind::CaseClosed).await;
    assert_increasing(&seen);
    for id in [&jc, &wb, &sb] {
        let created = seen.iter().filter(|e| is_event(e, EventKind::ReferralCreated, id)).count();
        assert_eq!(created, 1, "one REFERRAL_CREATED for {id}");
        let states: Vec<i32> =
            seen.iter().filter(|e| is_event(e, EventKind::ReferralStateChanged, id)).map(|e| e.state).collect();
        let want: Vec<i32> =
            [ReferralState::Received, ReferralState::Accepted, ReferralState::InProgress, ReferralState::Completed]
                .iter()
                .map(|s| *s as i32)
                .collect();
        assert_eq!(states, want, "state events of {id}");
    }
}

/// What a housing company may never read: income, health, counselling, the partners' free texts.
#[track_caller]
fn assert_landlord_sees_no_sensitive_data(r: &Referral) {
    let v = view(r);
    let readable = categories(&v.readable_categories);
    for forbidden in [DataCategory::IncomeBenefits, DataCategory::Health, DataCategory::CounsellingNotes] {
        assert!(!readable.contains(&forbidden), "landlord can read {forbidden:?}");
    }
    assert_eq!(v.income_benefits_note, "");
    assert_eq!(v.health_note, "");
    assert_eq!(v.counselling_note, "");
    let everything = format!("{r:?}");
    for secret in [INCOME_NOTE, HEALTH_NOTE, COUNSELLING_NOTE, JC_SUMMARY, SB_SUMMARY, SB_MESSAGE, "§22"] {
        assert!(!everything.contains(secret), "landlord's referral reveals {secret:?}");
    }
    assert!(
        v.outcomes.iter().any(|o| o.topic == "RENT_DEBT_TAKEOVER" && o.amount_cents == Some(156_000)),
        "the takeover result stays visible to the landlord: {:?}",
        v.outcomes
    );
}

#[tokio::test]
async fn frau_k_landlord_learns_no_result_of_debt_counselling() {
    // The brief: the housing company learns only the takeover outcome. Debt counselling concerns the
    // household's other debts; its result (here with the amount of those debts) is not the landlord's.
    let mut k = opening(start().await).await;
    let (jc, sb) = (k.jc.clone(), k.sb.clone());
    for mv in [ReferralMove::Acknowledge, ReferralMove::Accept, ReferralMove::Start] {
        k.mv(orgs::JOBCENTER, &jc, mv).await;
        k.mv(orgs::SCHULDNERBERATUNG, &sb, mv).await;
    }
    k.complete(
        orgs::JOBCENTER,
        &jc,
        CompletionOutcome {
            result: CompletionResult::ApprovedLoan as i32,
            amount_cents: Some(156_000),
            effective_date: "2026-01-09".to_owned(),
            summary: JC_SUMMARY.to_owned(),
        },
    )
    .await;
    k.complete(
        orgs::SCHULDNERBERATUNG,
        &sb,
        CompletionOutcome {
            result: CompletionResult::ServiceProvided as i32,
            amount_cents: Some(420_000),
            effective_date: "2026-01-09".to_owned(),
            summary: SB_SUMMARY.to_owned(),
        },
    )
    .await;
    let v = view(&referral(&k.hub, orgs::WOHNBAU, &k.wb).await);
    assert!(
        v.outcomes.iter().all(|o| o.amount_cents != Some(420_000)),
        "the other debts' amount leaks: {:?}",
        v.outcomes
    );
    let topics: Vec<&str> = v.outcomes.iter().map(|o| o.topic.as_str()).collect();
    assert_eq!(topics, vec!["RENT_DEBT_TAKEOVER"], "landlord outcomes: {:?}", v.outcomes);
}
