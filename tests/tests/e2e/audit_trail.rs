//! Accountability (DOMAIN.md rule 10): every read and write of personal data leaves an audit record
//! naming the organisation, the staff member, the action and the legal basis.

use hub::domain::audit::AuditDetail;
use hub::domain::ids::CaseId;
use hub::domain::vocab::DataCategory;
use hub_proto::v1 as pb;
use hub_testkit::{TestHub, frau_k_details, idem, orgs, with_staff};
use pb::case_service_client::CaseServiceClient;
use pb::consent_service_client::ConsentServiceClient;
use pb::referral_service_client::ReferralServiceClient;

#[tokio::test]
async fn reads_and_writes_of_personal_data_are_audited_with_their_basis() {
    let th = TestHub::start().await.unwrap();
    let fs = th.channel(orgs::FACHSTELLE).await.unwrap();
    let mut cases = CaseServiceClient::new(fs.clone());
    let case = cases
        .open_case(with_staff(
            pb::OpenCaseRequest { idempotency_key: idem(), details: Some(frau_k_details()), initial_stage: None },
            "Fachkraft A",
        ))
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let person = case.details.as_ref().unwrap().persons[0].person_id.clone();
    let consent = ConsentServiceClient::new(fs.clone())
        .record_consent(pb::RecordConsentRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            person_ids: vec![person],
            recipient_organisation_ids: vec![orgs::SCHULDNERBERATUNG.into()],
            categories: vec![pb::DataCategory::Identity as i32, pb::DataCategory::Arrears as i32],
            purpose: pb::ConsentPurpose::Wohnungssicherung as i32,
            form: pb::ConsentForm::Written as i32,
            evidence_reference: "EW-1".into(),
            valid_until: th.date_in_days(90),
            art9_explicit: false,
            secrecy_release: true,
            replaces_consent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap();
    let referral = ReferralServiceClient::new(fs)
        .create_referral(pb::CreateReferralRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            recipient_organisation_id: orgs::SCHULDNERBERATUNG.into(),
            category: pb::ReferralCategory::DebtCounselling as i32,
            data_categories: vec![pb::DataCategory::Identity as i32, pb::DataCategory::Arrears as i32],
            message: String::new(),
            reply_by: th.date_in_days(14),
            confirm_duplicate: false,
            confirm_closed_capacity: false,
        })
        .await
        .unwrap()
        .into_inner()
        .referral
        .unwrap();
    let mut sb = ReferralServiceClient::new(th.channel(orgs::SCHULDNERBERATUNG).await.unwrap());
    sb.get_referral(with_staff(pb::GetReferralRequest { referral_id: referral.id.clone() }, "Beraterin B"))
        .await
        .unwrap();

    let trail = th.hub().audit_of_case(&CaseId::parse(&case.id).unwrap()).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["case.open", "consent.record", "referral.disclose", "referral.read"], "{trail:?}");
    assert_eq!(trail[0].staff.as_deref(), Some("Fachkraft A"));
    let disclose = &trail[2];
    assert_eq!(disclose.actor, orgs::FACHSTELLE);
    assert!(disclose.legal_basis.contains(&format!("consent:{}", consent.id)), "{}", disclose.legal_basis);
    assert!(
        matches!(&disclose.detail, AuditDetail::Disclosed { recipient, categories }
            if recipient == orgs::SCHULDNERBERATUNG
                && categories.contains(&DataCategory::Identity)
                && categories.contains(&DataCategory::Arrears)),
        "{:?}",
        disclose.detail
    );
    let read = &trail[3];
    assert_eq!((read.actor.as_str(), read.staff.as_deref()), (orgs::SCHULDNERBERATUNG, Some("Beraterin B")));
    assert_eq!(read.referral_id.as_ref().map(|r| r.to_string()), Some(referral.id.clone()));
    assert!(read.legal_basis.contains("consent:"), "{}", read.legal_basis);
    // The audit trail names categories, never the data itself.
    for a in &trail {
        assert!(!a.detail.stored().contains("Kaiser") && !a.legal_basis.contains("Kaiser"), "{a:?}");
    }
    th.shutdown().await;
}
