//! The referral lifecycle over gRPC: every move from every state by both sides, checked against an
//! independent copy of the contract's table; required reasons and outcomes; reopening.

use crate::common;

use common::*;

const ALL_STATES: [ReferralState; 9] = [
    ReferralState::Requested,
    ReferralState::Received,
    ReferralState::Accepted,
    ReferralState::Declined,
    ReferralState::InProgress,
    ReferralState::OnHold,
    ReferralState::Completed,
    ReferralState::Failed,
    ReferralState::Cancelled,
];

const ALL_MOVES: [ReferralMove; 9] = [
    ReferralMove::Acknowledge,
    ReferralMove::Accept,
    ReferralMove::Decline,
    ReferralMove::Start,
    ReferralMove::Hold,
    ReferralMove::Complete,
    ReferralMove::Fail,
    ReferralMove::Cancel,
    ReferralMove::Reopen,
];

fn is_closed(s: ReferralState) -> bool {
    matches!(s, ReferralState::Declined | ReferralState::Completed | ReferralState::Failed | ReferralState::Cancelled)
}

/// The contract's lifecycle, written down independently of the server.
fn expected(state: ReferralState, mv: ReferralMove, side: Side) -> Option<ReferralState> {
    use ReferralMove as M;
    use ReferralState as S;
    match (side, state, mv) {
        (Side::Recipient, S::Requested, M::Acknowledge) => Some(S::Received),
        (Side::Recipient, S::Received, M::Accept) => Some(S::Accepted),
        (Side::Recipient, S::Received, M::Decline) => Some(S::Declined),
        (Side::Recipient, S::Accepted | S::OnHold, M::Start) => Some(S::InProgress),
        (Side::Recipient, S::InProgress, M::Hold) => Some(S::OnHold),
        (Side::Recipient, S::InProgress | S::OnHold, M::Complete) => Some(S::Completed),
        (Side::Recipient, S::InProgress | S::OnHold, M::Fail) => Some(S::Failed),
        (Side::Sender, s, M::Cancel) if !is_closed(s) => Some(S::Cancelled),
        (Side::Sender, s, M::Reopen) if is_closed(s) => Some(S::Requested),
        _ => None,
    }
}

fn allowed(state: ReferralState, side: Side) -> Vec<ReferralMove> {
    ALL_MOVES.into_iter().filter(|m| expected(state, *m, side).is_some()).collect()
}

const RECIPIENT: &str = orgs::JOBCENTER;
/// Categories the statute covers for the Jobcenter, so no consent is needed.
const DATA: [DataCategory; 2] = [DataCategory::Identity, DataCategory::Arrears];

async fn fresh_referral(hub: &TestHub, case_id: &str) -> String {
    create_referral(hub, case_id, RECIPIENT, ReferralCategory::RentDebtTakeoverSgb2, &DATA).await.id
}

fn org_of(side: Side) -> &'static str {
    match side {
        Side::Sender => orgs::FACHSTELLE,
        Side::Recipient => RECIPIENT,
    }
}

#[tokio::test]
async fn every_move_from_every_state_by_both_sides_follows_the_contract_table() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let mut failures: Vec<String> = Vec::new();
    let mut legal = 0;
    let mut illegal = 0;

    for state in ALL_STATES {
        // One referral per state serves every illegal attempt: an illegal move changes nothing.
        let id = fresh_referral(&hub, &case.id).await;
        drive_to(&hub, &id, RECIPIENT, state).await;

        for side in [Side::Sender, Side::Recipient] {
            // What each side is offered must be exactly the contract's allowed moves.
            let seen = referral(&hub, org_of(side), &id).await;
            let offered = moves(&seen.allowed_moves);
            let mut want = allowed(state, side);
            let mut got = offered.clone();
            want.sort_by_key(|m| *m as i32);
            got.sort_by_key(|m| *m as i32);
            if got != want {
                failures.push(format!("{} as {side:?}: allowed_moves {got:?}, expected {want:?}", state_name(state)));
            }

            for mv in ALL_MOVES {
                let label = format!("{} --{}--> as {side:?}", state_name(state), move_name(mv));
                match expected(state, mv, side) {
                    None => {
                        illegal += 1;
                        match try_move(&hub, org_of(side), &id, mv).await {
                            Ok(r) => failures.push(format!("{label}: accepted (now {})", state_name(state_of(&r)))),
                            Err(s) if s.code() != Code::FailedPrecondition => failures.push(format!(
                                "{label}: {:?} {:?}, expected FAILED_PRECONDITION",
                                s.code(),
                                s.message()
                            )),
                            Err(s) => {
                                let msg = s.message();
                                if !msg.contains(state_name(state)) {
                                    failures.push(format!("{label}: message {msg:?} lacks the state"));
                                }
                                let allowed_now = allowed(state, side);
                                if allowed_now.is_empty() {
                                    if !msg.contains("none") {
                                        failures.push(format!("{label}: message {msg:?} lacks \"none\""));
                                    }
                                } else {
                                    for a in allowed_now {
                                        if !msg.contains(move_name(a)) {
                                            failures.push(format!(
                                                "{label}: message {msg:?} lacks allowed move {}",
                                                move_name(a)
                                            ));
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Some(to) => {
                        legal += 1;
                        // A legal move gets its own referral in the same state.
                        let fresh = fresh_referral(&hub, &case.id).await;
                        let before = drive_to(&hub, &fresh, RECIPIENT, state).await;
                        match try_move(&hub, org_of(side), &fresh, mv).await {
                            Err(s) => failures.push(format!("{label}: refused {:?} {:?}", s.code(), s.message())),
                            Ok(r) => {
                                if state_of(&r) != to {
                                    failures.push(format!(
                                        "{label}: now {}, expected {}",
                                        state_name(state_of(&r)),
                                        state_name(to)
                                    ));
                                }
                                let last = r.history.last().cloned().unwrap_or_default();
                                if r.history.len() != before.history.len() + 1
                                    || last.from_state != state as i32
                                    || last.to_state != to as i32
                                    || last.r#move != mv as i32
                                    || last.actor_organisation_id != org_of(side)
                                {
                                    failures.push(format!("{label}: handoff not recorded as expected: {last:?}"));
                                }
                            }
                        }
                    }
                }
            }
        }

        // None of the illegal attempts moved the shared referral.
        let after = referral(&hub, orgs::FACHSTELLE, &id).await;
        if state_of(&after) != state {
            failures.push(format!("illegal moves changed {} into {}", state_name(state), state_name(state_of(&after))));
        }
    }

    assert_eq!(legal, 19, "the contract table has 19 legal (state, move, side) triples");
    assert_eq!(illegal, 9 * 9 * 2 - 19);
    assert!(failures.is_empty(), "{} lifecycle violations:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn decline_fail_and_cancel_need_a_reason_code() {
    let hub = start().await;
    let case = open_case(&hub).await;
    for (state, side, mv) in [
        (ReferralState::Received, Side::Recipient, ReferralMove::Decline),
        (ReferralState::InProgress, Side::Recipient, ReferralMove::Fail),
        (ReferralState::OnHold, Side::Recipient, ReferralMove::Fail),
        (ReferralState::Requested, Side::Sender, ReferralMove::Cancel),
        (ReferralState::InProgress, Side::Sender, ReferralMove::Cancel),
    ] {
        let id = fresh_referral(&hub, &case.id).await;
        drive_to(&hub, &id, RECIPIENT, state).await;
        let mut req = move_request(&id, mv);
        req.reason_code = ReasonCode::Unspecified as i32;
        assert_status(send_move(&hub, org_of(side), req).await, Code::InvalidArgument, &["reason_code"]);
        assert_eq!(state_of(&referral(&hub, orgs::FACHSTELLE, &id).await), state, "a refused {mv:?} changes nothing");

        // With a code the same move goes through and the reason is kept in the handoff.
        let r = do_move(&hub, org_of(side), &id, mv).await;
        let last = r.history.last().expect("history");
        assert_eq!(last.reason_code, move_request(&id, mv).reason_code, "{mv:?} reason code recorded");
        assert!(!last.reason_text.is_empty(), "{mv:?} reason text recorded");
    }
}

#[tokio::test]
async fn complete_needs_an_outcome_with_a_result() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let id = fresh_referral(&hub, &case.id).await;
    drive_to(&hub, &id, RECIPIENT, ReferralState::InProgress).await;

    let mut no_outcome = move_request(&id, ReferralMove::Complete);
    no_outcome.outcome = None;
    assert_status(send_move(&hub, RECIPIENT, no_outcome).await, Code::InvalidArgument, &["outcome"]);

    let mut no_result = move_request(&id, ReferralMove::Complete);
    if let Some(o) = no_result.outcome.as_mut() {
        o.result = CompletionResult::Unspecified as i32;
    }
    assert_status(send_move(&hub, RECIPIENT, no_result).await, Code::InvalidArgument, &["result"]);
    assert_eq!(state_of(&referral(&hub, orgs::FACHSTELLE, &id).await), ReferralState::InProgress);

    let mut ok = move_request(&id, ReferralMove::Complete);
    ok.outcome = Some(CompletionOutcome {
        result: CompletionResult::ApprovedLoan as i32,
        amount_cents: Some(156_000),
        effective_date: "2026-01-09".to_owned(),
        summary: "Darlehen bewilligt".to_owned(),
    });
    let r = send_move(&hub, RECIPIENT, ok).await.expect("complete with outcome");
    assert_eq!(state_of(&r), ReferralState::Completed);
    let o = r.outcome.expect("outcome kept");
    assert_eq!(o.result, CompletionResult::ApprovedLoan as i32);
    assert_eq!(o.amount_cents, Some(156_000));
    assert_eq!(o.effective_date, "2026-01-09");
}

#[tokio::test]
async fn reopen_needs_a_reason_text_and_keeps_the_whole_history() {
    let hub = start().await;
    let case = open_case(&hub).await;
    for closed in [ReferralState::Declined, ReferralState::Completed, ReferralState::Failed, ReferralState::Cancelled] {
        let id = fresh_referral(&hub, &case.id).await;
        let before = drive_to(&hub, &id, RECIPIENT, closed).await;

        let mut no_text = move_request(&id, ReferralMove::Reopen);
        no_text.reason_text = String::new();
        assert_status(send_move(&hub, orgs::FACHSTELLE, no_text).await, Code::InvalidArgument, &["reason_text"]);

        let mut req = move_request(&id, ReferralMove::Reopen);
        req.reason_text = format!("Wiederaufnahme nach {}", state_name(closed));
        let staffed = with_staff(req.clone(), "sb-fachstelle-07");
        let r = referrals(&hub, orgs::FACHSTELLE)
            .await
            .transition_referral(staffed)
            .await
            .expect("reopen")
            .into_inner()
            .referral
            .expect("referral");
        assert_eq!(state_of(&r), ReferralState::Requested, "reopened from {}", state_name(closed));
        assert_eq!(r.history.len(), before.history.len() + 1, "reopen appends one handoff");
        assert_eq!(&r.history[..before.history.len()], &before.history[..], "earlier handoffs are kept unchanged");
        let last = r.history.last().expect("history");
        assert_eq!(last.from_state, closed as i32);
        assert_eq!(last.to_state, ReferralState::Requested as i32);
        assert_eq!(last.r#move, ReferralMove::Reopen as i32);
        assert_eq!(last.actor_organisation_id, orgs::FACHSTELLE);
        assert_eq!(last.reason_text, req.reason_text);
        assert_eq!(last.staff_member, "sb-fachstelle-07", "x-staff-member is recorded");
        if closed == ReferralState::Completed {
            assert!(r.outcome.as_ref().is_none_or(|o| o.result == 0), "a reopened referral carries no outcome");
        }

        // The recipient sees the reopened referral and can pick it up again.
        let seen = referral(&hub, RECIPIENT, &id).await;
        assert_eq!(moves(&seen.allowed_moves), vec![ReferralMove::Acknowledge]);
        let again = do_move(&hub, RECIPIENT, &id, ReferralMove::Acknowledge).await;
        assert_eq!(state_of(&again), ReferralState::Received);
    }
}
