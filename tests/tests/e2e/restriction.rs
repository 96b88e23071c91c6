//! Restriction of processing (Art. 18 GDPR): while a case is restricted its data stays stored, but
//! no recipient sees it and nothing new is disclosed; every recipient is told when it starts and
//! ends (Art. 19 GDPR), and both are audited.

use crate::common;

use common::*;
use hub::domain::audit::{AuditDetail, NoCaseData};

async fn restrict(hub: &TestHub, org: &str, case_id: &str, reason: &str) -> Result<Case, Status> {
    cases(hub, org)
        .await
        .restrict_processing(RestrictProcessingRequest {
            idempotency_key: idem(),
            case_id: case_id.to_owned(),
            reason: reason.to_owned(),
        })
        .await
        .map(|r| r.into_inner().case.expect("case"))
}

async fn lift(hub: &TestHub, case_id: &str) -> Result<Case, Status> {
    cases(hub, orgs::FACHSTELLE)
        .await
        .lift_restriction(LiftRestrictionRequest { idempotency_key: idem(), case_id: case_id.to_owned() })
        .await
        .map(|r| r.into_inner().case.expect("case"))
}

#[tokio::test]
async fn a_restricted_case_discloses_nothing_until_the_restriction_is_lifted() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let data = [DataCategory::Identity, DataCategory::Arrears];
    let r = create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &data).await;
    assert!(view(&referral(&hub, orgs::JOBCENTER, &r.id).await).persons.len() > 1, "data visible before");
    let mut stream = events(&hub, orgs::JOBCENTER)
        .await
        .subscribe(SubscribeRequest { after_cursor: 0 })
        .await
        .expect("Subscribe")
        .into_inner();

    // Only the owning Fachstelle restricts, with a reason.
    assert_status(restrict(&hub, orgs::JOBCENTER, &case.id, "x").await, Code::PermissionDenied, &["Fachstelle"]);
    assert_status(restrict(&hub, orgs::FACHSTELLE, &case.id, "").await, Code::InvalidArgument, &["reason"]);
    let restricted =
        restrict(&hub, orgs::FACHSTELLE, &case.id, "Richtigkeit bestritten (synthetisch)").await.expect("restrict");
    let restriction = restricted.restriction.expect("restriction set");
    assert_eq!(restriction.reason, "Richtigkeit bestritten (synthetisch)");
    assert_status(restrict(&hub, orgs::FACHSTELLE, &case.id, "again").await, Code::FailedPrecondition, &["already"]);

    // The recipient is told, per referral, and sees no case data any more; the referral itself stays.
    let told = loop {
        let e = next_event(&mut stream).await;
        if e.kind == EventKind::ProcessingRestricted as i32 {
            break e;
        }
    };
    assert_eq!(told.referral_id, r.id);
    let seen = referral(&hub, orgs::JOBCENTER, &r.id).await;
    assert!(seen.case_view.is_none(), "no case data while restricted: {:?}", seen.case_view);
    // Nothing new is disclosed.
    let refused = try_create_referral(
        &hub,
        referral_request(&hub, &case.id, orgs::SOZIALAMT, ReferralCategory::BenefitApplication, &data),
    )
    .await;
    assert_status(refused, Code::FailedPrecondition, &["restricted", "Art. 18"]);
    // The owner still reads its case (the data is kept).
    let own = cases(&hub, orgs::FACHSTELLE)
        .await
        .get_case(GetCaseRequest { case_id: case.id.clone() })
        .await
        .expect("GetCase")
        .into_inner()
        .case
        .expect("case");
    assert!(own.details.is_some_and(|d| !d.persons.is_empty()));

    // Lifting it restores the view and tells the recipient again.
    let lifted = lift(&hub, &case.id).await.expect("lift");
    assert!(lifted.restriction.is_none());
    assert_status(lift(&hub, &case.id).await, Code::FailedPrecondition, &["not restricted"]);
    loop {
        let e = next_event(&mut stream).await;
        if e.kind == EventKind::RestrictionLifted as i32 {
            assert_eq!(e.referral_id, r.id);
            break;
        }
    }
    assert!(referral(&hub, orgs::JOBCENTER, &r.id).await.case_view.is_some(), "data visible again");

    // Both are audited with their legal basis, and the restricted read says why it showed nothing.
    let audit = hub.hub().audit_of_case(&hub::domain::ids::CaseId::parse(&case.id).expect("id")).await.expect("audit");
    for action in ["case.restrict", "case.lift_restriction"] {
        assert!(
            audit.iter().any(|a| a.action.as_str() == action && a.legal_basis == "Art. 18 GDPR"),
            "{action} audited"
        );
    }
    assert!(
        audit.iter().any(|a| a.action.as_str() == "referral.read"
            && a.detail == AuditDetail::NoCaseData { why: NoCaseData::Restricted })
    );
    hub.shutdown().await;
}
