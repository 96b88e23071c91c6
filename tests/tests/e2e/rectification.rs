//! Rectification (Art. 16 GDPR) and telling the recipients (Art. 19 GDPR): correcting a case's data
//! tells, per referral, every recipient that received a corrected category (CASE_DATA_RECTIFIED
//! naming exactly the corrected categories it received) and the owning Fachstelle; a recipient that
//! received none of them is not told; a correction that changes nothing tells no one. Closed (not
//! yet erased) and restricted cases can be corrected; an address kept back by a Schutzsperre is
//! never the subject of a notice. Each correction is audited with the basis `Art. 16 GDPR`, and an
//! email partner gets a German mail without personal data.
//!
//! An absence is shown without waiting: events arrive in commit order, so when a later correction
//! that does concern an organisation is the next CASE_DATA_RECTIFIED it sees, the earlier one was
//! not sent to it.

use crate::common;
use crate::emailkit;
use crate::mailsink;

use common::*;
use emailkit::*;
use hub::domain::audit::AuditDetail;
use hub::domain::vocab::DataCategory as Category;
use mailsink::{MailSink, SinkOptions};

use DataCategory as D;

/// Reads the case as the Fachstelle, applies `f` to its details and sends them back with UpdateCase.
async fn correct(hub: &TestHub, case_id: &str, f: impl FnOnce(&mut CaseDetails)) -> Result<Case, Status> {
    let mut api = cases(hub, orgs::FACHSTELLE).await;
    let current = api
        .get_case(GetCaseRequest { case_id: case_id.to_owned() })
        .await
        .expect("GetCase")
        .into_inner()
        .case
        .expect("case");
    let mut details = current.details.expect("details");
    f(&mut details);
    api.update_case(UpdateCaseRequest { idempotency_key: idem(), case_id: case_id.to_owned(), details: Some(details) })
        .await
        .map(|r| r.into_inner().case.expect("case"))
}

/// The next CASE_DATA_RECTIFIED event of a stream.
async fn next_rectified(stream: &mut Streaming<SubscribeResponse>) -> Event {
    let seen = events_until(stream, |e| kind_of(e) == EventKind::CaseDataRectified).await;
    seen.into_iter().last().expect("CASE_DATA_RECTIFIED")
}

fn address_of(c: &Case) -> Address {
    c.details.as_ref().and_then(|d| d.address.clone()).expect("address")
}

async fn audit_of(hub: &TestHub, case_id: &str) -> Vec<hub::store::AuditEntry> {
    hub.hub().audit_of_case(&hub::domain::ids::CaseId::parse(case_id).expect("case id")).await.expect("audit")
}

#[tokio::test]
async fn a_correction_tells_each_recipient_of_a_corrected_category_and_the_owner_nobody_else() {
    let hub = start().await;
    let case = open_case(&hub).await;
    // The Jobcenter receives IDENTITY and CONTACT (statute), the debt counselling only ARREARS (consent).
    let to_jc = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Contact],
    )
    .await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Arrears]).await;
    let to_sb =
        create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &[D::Arrears])
            .await;
    let mut jc = subscribe(&hub, orgs::JOBCENTER, 0).await;
    let mut sb = subscribe(&hub, orgs::SCHULDNERBERATUNG, 0).await;
    let mut owner = subscribe(&hub, orgs::FACHSTELLE, 0).await;

    // The address was recorded wrongly: the house number is corrected (CONTACT).
    let corrected = correct(&hub, &case.id, |d| d.address.as_mut().expect("address").house_number = "7a".into())
        .await
        .expect("UpdateCase corrects the address");
    assert_eq!(address_of(&corrected).house_number, "7a");

    // The Jobcenter received CONTACT: told for its referral, naming CONTACT only, and it reads the
    // corrected address from the referral.
    let told = next_rectified(&mut jc).await;
    assert_eq!((told.referral_id.as_str(), told.case_id.as_str()), (to_jc.id.as_str(), case.id.as_str()));
    assert_eq!(categories(&told.categories), [D::Contact]);
    assert_eq!(told.actor_organisation_id, orgs::FACHSTELLE);
    assert_eq!(view(&referral(&hub, orgs::JOBCENTER, &to_jc.id).await).address, Some(address_of(&corrected)));
    // The owner is told once, about the case, with every corrected category.
    let own = next_rectified(&mut owner).await;
    assert!(own.referral_id.is_empty(), "the owner's event is about the case: {own:?}");
    assert_eq!((own.case_id.as_str(), categories(&own.categories)), (case.id.as_str(), vec![D::Contact]));

    // A request that changes nothing tells no one and is no rectification.
    correct(&hub, &case.id, |_| {}).await.expect("UpdateCase without change");

    // Arrears and a name are corrected at once: each recipient hears only of what it received.
    correct(&hub, &case.id, |d| {
        d.arrears_cents = 148_000;
        d.persons[0].family_name = "Kayser".into();
    })
    .await
    .expect("UpdateCase corrects arrears and name");
    let told = next_rectified(&mut sb).await;
    assert_eq!(told.referral_id, to_sb.id, "the debt counselling was not told of the address: {told:?}");
    assert_eq!(categories(&told.categories), [D::Arrears]);
    let told = next_rectified(&mut jc).await;
    assert_eq!((told.referral_id.as_str(), categories(&told.categories)), (to_jc.id.as_str(), vec![D::Identity]));
    let own = next_rectified(&mut owner).await;
    assert_eq!(categories(&own.categories), [D::Identity, D::Arrears], "nothing for the unchanged request");

    // Audited: each correction with Art. 16, its categories and the recipients told; the request
    // without change as a plain update.
    let audit = audit_of(&hub, &case.id).await;
    let rectified: Vec<_> = audit.iter().filter(|a| a.action.as_str() == "case.rectify").collect();
    assert_eq!(rectified.len(), 2, "{audit:#?}");
    assert!(rectified.iter().all(|a| a.legal_basis == "Art. 16 GDPR" && a.actor == orgs::FACHSTELLE));
    let corrected = |categories: Vec<Category>, told: &[&str]| AuditDetail::Corrected {
        categories,
        told: told.iter().map(|t| (*t).to_owned()).collect(),
    };
    assert_eq!(rectified[0].detail, corrected(vec![Category::Contact], &[orgs::JOBCENTER]));
    assert_eq!(
        rectified[1].detail,
        corrected(vec![Category::Identity, Category::Arrears], &[orgs::JOBCENTER, orgs::SCHULDNERBERATUNG])
    );
    let plain: Vec<_> = audit.iter().filter(|a| a.action.as_str() == "case.update").collect();
    assert_eq!(plain.len(), 1, "{audit:#?}");
    assert_eq!(plain[0].legal_basis, "owner");
    assert_eq!(plain[0].detail, corrected(vec![], &[]), "no data category changed");
    hub.shutdown().await;
}

#[tokio::test]
async fn a_closed_case_can_be_corrected_while_its_data_is_kept() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Tenancy],
    )
    .await;
    let closed = cases(&hub, orgs::FACHSTELLE)
        .await
        .close_case(CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            outcome: CaseOutcome::KeinKontakt as i32,
            rescue_means: RescueMeans::Unspecified as i32,
            note: String::new(),
            confirm_open_items: true,
        })
        .await
        .expect("CloseCase")
        .into_inner()
        .case
        .expect("case");
    assert_eq!(closed.status, CaseStatus::Closed as i32);
    let mut jc = subscribe(&hub, orgs::JOBCENTER, 0).await;

    let corrected =
        correct(&hub, &case.id, |d| d.tenancy.as_mut().expect("tenancy").tenancy_reference = "WN-4711-04".into())
            .await
            .expect("a closed case can be corrected (Art. 16 GDPR)");
    assert_eq!(corrected.status, CaseStatus::Closed as i32, "it stays closed");
    assert_eq!(corrected.closed_at, closed.closed_at);
    let told = next_rectified(&mut jc).await;
    assert_eq!((told.referral_id.as_str(), categories(&told.categories)), (r.id.as_str(), vec![D::Tenancy]));
    assert!(audit_of(&hub, &case.id).await.iter().any(|a| a.action.as_str() == "case.rectify"
        && a.legal_basis == "Art. 16 GDPR"
        && matches!(&a.detail, AuditDetail::Corrected { categories, .. } if *categories == [Category::Tenancy])));

    // Only the correction is allowed: the closed case takes no new threat stage.
    let stage = cases(&hub, orgs::FACHSTELLE)
        .await
        .record_threat_stage(RecordThreatStageRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            entry: Some(ThreatStageEntry {
                stage: ThreatStage::Mahnung as i32,
                date: hub.today(),
                source: "Mahnung (synthetisch)".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_status(stage, Code::FailedPrecondition, &["closed"]);
    hub.shutdown().await;
}

#[tokio::test]
async fn a_restricted_case_is_corrected_without_disclosing_anything_and_recipients_are_told() {
    let hub = start().await;
    let case = open_case(&hub).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Contact],
    )
    .await;
    cases(&hub, orgs::FACHSTELLE)
        .await
        .restrict_processing(RestrictProcessingRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            reason: "Richtigkeit der Telefonnummer bestritten (synthetisch)".into(),
        })
        .await
        .expect("RestrictProcessing");
    let mut jc = subscribe(&hub, orgs::JOBCENTER, 0).await;

    let new_phone = "+49 511 1234567";
    correct(&hub, &case.id, |d| d.contact.as_mut().expect("contact").phone = new_phone.into())
        .await
        .expect("a restricted case can be corrected (Art. 18(1)(a) GDPR)");
    let told = next_rectified(&mut jc).await;
    assert_eq!((told.referral_id.as_str(), categories(&told.categories)), (r.id.as_str(), vec![D::Contact]));
    assert!(
        referral(&hub, orgs::JOBCENTER, &r.id).await.case_view.is_none(),
        "nothing is disclosed while restricted, the corrected data neither"
    );

    cases(&hub, orgs::FACHSTELLE)
        .await
        .lift_restriction(LiftRestrictionRequest { idempotency_key: idem(), case_id: case.id.clone() })
        .await
        .expect("LiftRestriction");
    let seen = view(&referral(&hub, orgs::JOBCENTER, &r.id).await);
    assert_eq!(seen.contact.map(|c| c.phone), Some(new_phone.to_owned()), "the corrected data once lifted");
    hub.shutdown().await;
}

#[tokio::test]
async fn correcting_an_address_under_schutzsperre_tells_only_the_owner() {
    let hub = start().await;
    let mut d = details();
    d.schutzsperre = true;
    let case = open_case_with(&hub, d).await;
    record_consent(&hub, &case, &[orgs::FRAUENBERATUNG], &[D::Identity, D::Contact]).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::FRAUENBERATUNG,
        ReferralCategory::WomensCounselling,
        &[D::Identity, D::Contact],
    )
    .await;
    let mut fb = subscribe(&hub, orgs::FRAUENBERATUNG, 0).await;
    let mut owner = subscribe(&hub, orgs::FACHSTELLE, 0).await;

    correct(&hub, &case.id, |d| d.address.as_mut().expect("address").street = "Anderer Weg".into())
        .await
        .expect("UpdateCase");
    let own = next_rectified(&mut owner).await;
    assert_eq!(categories(&own.categories), [D::Contact], "the stored address was corrected");
    // The address never left the hub, so its correction concerns no recipient: the next notice the
    // Frauenberatung gets is the one about the later name correction.
    correct(&hub, &case.id, |d| d.persons[0].given_name = "Katrina".into()).await.expect("UpdateCase");
    let told = next_rectified(&mut fb).await;
    assert_eq!((told.referral_id.as_str(), categories(&told.categories)), (r.id.as_str(), vec![D::Identity]));
    let audit = audit_of(&hub, &case.id).await;
    let first = audit.iter().find(|a| a.action.as_str() == "case.rectify").expect("audited");
    assert_eq!(first.detail, AuditDetail::Corrected { categories: vec![Category::Contact], told: vec![] });
    hub.shutdown().await;
}

#[tokio::test]
async fn an_email_partner_gets_a_german_rectification_mail_without_personal_data() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears]).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Arrears],
    )
    .await;
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1, "the new referral");
    // A Jobcenter referral with other categories, to show the mail goes to the email partner only.
    create_referral(&hub, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &[D::Tenancy]).await;

    correct(&hub, &case.id, |d| {
        d.persons[0].family_name = "Kayser".into();
        d.arrears_cents = 148_000;
    })
    .await
    .expect("UpdateCase");
    let round = hub.deliver_mail().await.expect("dispatch");
    // To the partner only: the rectification and the request to confirm it (Art. 19 GDPR).
    assert_eq!((round.sent, round.retrying, round.dead), (2, 0, 0), "two mails, to the partner: {round:?}");
    let all = sink.wait_for(3, MAIL_TIMEOUT).await.expect("three mails");
    assert!(all[1..].iter().all(|m| m.to == vec![BERATUNG_MAIL.to_owned()]), "{all:?}");
    assert!(all[1..].iter().any(|m| m.subject.starts_with("Bitte um Bestätigung")), "the request mail");
    let mail = all[1..].iter().find(|m| m.subject.starts_with("Berichtigt:")).expect("the rectification mail");
    assert_eq!(mail.to, vec![BERATUNG_MAIL.to_owned()]);
    let reference = hub::email::reference(&r.id);
    assert!(mail.subject.starts_with(&format!("Berichtigt: Vermittlung {reference}")), "{}", mail.subject);
    for body in [&mail.text, &mail.html] {
        assert!(
            body.contains(&format!("die Angaben zur Vermittlung {reference} wurden berichtigt (Art. 16 DSGVO).")),
            "{body}"
        );
        assert!(body.contains("berichtigen Sie Ihre eigenen Unterlagen (Art. 19 DSGVO)"), "{body}");
        assert!(body.contains("Vorgang öffnen"), "with a link to the page: {body}");
    }
    // The link opens the partner page with the corrected data.
    let (status, page) = get(&http(&hub), &link_in(mail)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Kayser"), "the page shows the corrected name");
    // The mail names neither the old nor the corrected data.
    assert_no_personal_data(&all);
    for needle in ["Kayser", "1480", "1.480"] {
        for part in [&mail.subject, &mail.text, &mail.html, &mail.raw] {
            assert!(!contains_word(part, needle), "{needle:?} in the mail");
        }
    }
    hub.shutdown().await;
}
