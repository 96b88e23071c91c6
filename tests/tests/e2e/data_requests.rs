//! Art. 19 GDPR end to end over mTLS gRPC: a recipient told that data it received was rectified, that
//! processing is restricted, that the consent was revoked or that the case was erased is asked, per
//! referral, to act and to confirm. It lists what it was asked (only its own), confirms with a receipt
//! that verifies with the hub's public seal key (and is the same when confirmed again), and the
//! Fachstelle sees per case what is confirmed, on "Heute" what is outstanding after the due day, and
//! the Art. 15 report lists both. The requests outlive the erasure of the case. A partner without an
//! account gets a mail whose link opens the request and confirms it, also after the case is erased.
//! All data is synthetic.

use crate::common;
use crate::emailkit;
use crate::mailsink;

use common::*;
use hub::audit::seal::{SealPublicKey, public_key_file};
use hub::domain::data_request::ConfirmationReceipt;
use hub::domain::ids::CaseId;
use hub::service::Principal;
use mailsink::{MailSink, SinkOptions};

async fn listed(th: &TestHub, org: &str, include_confirmed: bool) -> Vec<DataRequest> {
    referrals(th, org)
        .await
        .list_data_requests(ListDataRequestsRequest { include_confirmed })
        .await
        .unwrap_or_else(|s| panic!("ListDataRequests by {org}: {s:?}"))
        .into_inner()
        .data_requests
}

fn causes(list: &[DataRequest]) -> Vec<(DataRequestCause, DataRequestAsk, Vec<DataCategory>)> {
    list.iter()
        .map(|r| {
            (
                DataRequestCause::try_from(r.cause).expect("cause"),
                DataRequestAsk::try_from(r.ask).expect("ask"),
                categories(&r.categories),
            )
        })
        .collect()
}

async fn confirm(th: &TestHub, org: &str, id: &str) -> Result<ConfirmDataRequestResponse, Status> {
    referrals(th, org)
        .await
        .confirm_data_request(with_staff(ConfirmDataRequestRequest { data_request_id: id.to_owned() }, "Herr Synth"))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn recipients_confirm_what_they_were_asked_to_erase_restrict_or_rectify() {
    use DataCategory as D;
    use DataRequestAsk as Ask;
    use DataRequestCause as Cause;
    let th = start().await;
    let case = open_case(&th).await;
    let consent =
        record_consent(&th, &case, &[orgs::JOBCENTER, orgs::SCHULDNERBERATUNG], &[D::Identity, D::Contact, D::Arrears])
            .await;
    let jc = create_referral(
        &th,
        &case.id,
        orgs::JOBCENTER,
        ReferralCategory::RentDebtTakeoverSgb2,
        &[D::Identity, D::Arrears],
    )
    .await;
    let sb = create_referral(
        &th,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Contact],
    )
    .await;
    assert!(listed(&th, orgs::JOBCENTER, true).await.is_empty(), "nothing asked before anything changed");

    // Rectification of the phone number: only the debt counselling received contact data.
    let mut cs = cases(&th, orgs::FACHSTELLE).await;
    let mut details = case.details.clone().expect("details");
    details.contact.as_mut().expect("contact").phone = "+49 511 0000001".into();
    cs.update_case(UpdateCaseRequest { idempotency_key: idem(), case_id: case.id.clone(), details: Some(details) })
        .await
        .expect("UpdateCase");
    assert_eq!(
        causes(&listed(&th, orgs::SCHULDNERBERATUNG, false).await),
        [(Cause::DataRectified, Ask::Rectify, vec![D::Contact])]
    );
    assert!(listed(&th, orgs::JOBCENTER, false).await.is_empty(), "the job centre got no contact data");

    // Restriction: both recipients are asked to restrict; lifting it asks nothing more.
    cs.restrict_processing(RestrictProcessingRequest {
        idempotency_key: idem(),
        case_id: case.id.clone(),
        reason: "Richtigkeit bestritten (synthetisch)".into(),
    })
    .await
    .expect("RestrictProcessing");
    cs.lift_restriction(LiftRestrictionRequest { idempotency_key: idem(), case_id: case.id.clone() })
        .await
        .expect("LiftRestriction");
    assert_eq!(
        causes(&listed(&th, orgs::JOBCENTER, false).await),
        [(Cause::ProcessingRestricted, Ask::Restrict, vec![])]
    );

    // Revocation: each recipient is asked to erase what it received under the consent.
    consents(&th, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: consent.id.clone(),
            note: "schriftlich widerrufen (synthetisch)".into(),
        })
        .await
        .expect("RevokeConsent");
    let to_jc = listed(&th, orgs::JOBCENTER, false).await;
    assert_eq!(
        causes(&to_jc),
        [
            (Cause::ProcessingRestricted, Ask::Restrict, vec![]),
            (Cause::ConsentRevoked, Ask::Erase, vec![D::Identity, D::Arrears])
        ]
    );
    let erase_jc = &to_jc[1];
    assert_eq!((erase_jc.referral_id.as_str(), erase_jc.case_id.as_str()), (jc.id.as_str(), case.id.as_str()));
    assert_eq!(erase_jc.owner_organisation_id, orgs::FACHSTELLE);
    assert!(erase_jc.due_date > th.today(), "due some working days ahead: {}", erase_jc.due_date);
    let to_sb = listed(&th, orgs::SCHULDNERBERATUNG, false).await;
    assert_eq!(to_sb.len(), 3, "rectify, restrict, erase: {to_sb:?}");
    assert!(to_sb.iter().all(|r| r.referral_id == sb.id));

    // The job centre confirms the erasure: a receipt the hub's public key verifies, the same again.
    let done = confirm(&th, orgs::JOBCENTER, &erase_jc.id).await.expect("ConfirmDataRequest");
    assert!(!done.already_confirmed);
    let confirmed = done.data_request.expect("request");
    assert!(confirmed.confirmed && confirmed.confirmed_at.is_some());
    assert_eq!(confirmed.confirmed_by_staff_member, "Herr Synth");
    let key = SealPublicKey::load(&public_key_file(th.data_dir())).expect("the hub's public seal key");
    let claims: ConfirmationReceipt = key.open_receipt(&done.receipt).expect("the receipt verifies");
    assert_eq!(
        (claims.request.as_str(), claims.org.as_str(), claims.done.as_str()),
        (erase_jc.id.as_str(), orgs::JOBCENTER, "ERASE")
    );
    assert_eq!(claims.categories, ["IDENTITY", "ARREARS"]);
    let tampered = done.receipt.replacen("WHQ1.", "WHQ1.e", 1);
    assert!(key.open_receipt::<ConfirmationReceipt>(&tampered).is_none(), "a changed receipt does not verify");
    let again = confirm(&th, orgs::JOBCENTER, &erase_jc.id).await.expect("confirming again");
    assert!(again.already_confirmed);
    assert_eq!(again.receipt, done.receipt, "the first receipt, not a new one");

    // Nobody else confirms it; malformed ids are refused at their field.
    assert_status(confirm(&th, orgs::SCHULDNERBERATUNG, &erase_jc.id).await, Code::NotFound, &[]);
    assert_status(confirm(&th, orgs::JOBCENTER, "kein-id").await, Code::InvalidArgument, &["data_request_id"]);
    assert_eq!(listed(&th, orgs::JOBCENTER, false).await.len(), 1, "only the restriction is still open");
    assert_eq!(listed(&th, orgs::JOBCENTER, true).await.len(), 2);
    let case_id = CaseId::parse(&case.id).expect("case id");
    let audit = th.store().audit_of_case(&case_id).await.expect("audit");
    let confirmations: Vec<_> = audit.iter().filter(|e| e.action.as_str() == "data_request.confirm").collect();
    assert_eq!(confirmations.len(), 1, "one confirmation, audited once");
    assert_eq!(
        (confirmations[0].actor.as_str(), confirmations[0].legal_basis.as_str()),
        (orgs::JOBCENTER, "Art. 19 GDPR")
    );

    // The Fachstelle: all five on the case; nothing outstanding before the due day, four after it.
    let fs = th.hub().authenticate(Principal::Org(org_id(orgs::FACHSTELLE)), None).await.expect("Fachstelle");
    assert_eq!(th.hub().data_requests_of_case(&fs, &case_id).await.expect("of the case").len(), 5);
    assert!(th.hub().dash_today(&fs).await.expect("Heute").unconfirmed.is_empty());
    th.advance_days(10);
    let today = th.hub().dash_today(&fs).await.expect("Heute");
    assert_eq!(today.unconfirmed.len(), 4, "{:?}", today.unconfirmed);
    assert!(today.unconfirmed.iter().all(|u| u.case.as_ref().is_some_and(|c| c.id == case_id)));

    // The Art. 15 report lists them, the job centre's confirmation with its time.
    let mut tx = th.store().begin_read().await.expect("read");
    let report = hub::reports::access::build(tx.as_mut(), &case_id, None, th.hub().clock_now()).await.expect("report");
    drop(tx);
    assert_eq!(report.recipient_requests.len(), 5);
    let jc_item = report.recipient_requests.iter().find(|r| r.ask == "ERASE" && r.recipient.id == orgs::JOBCENTER);
    assert!(jc_item.expect("the job centre's erasure").confirmed_at.is_some());
    let html = report.to_html();
    assert!(html.contains("Löschen und Berichtigen bei Empfängern (Art. 19 DSGVO)"), "{html}");
    assert!(html.contains("Bitte löschen: Personalien, Mietrückstände"), "{html}");

    // Erasure: every recipient is asked to erase; the requests outlive the case.
    close_and_erase(&th, &case.id).await;
    let last = listed(&th, orgs::JOBCENTER, false).await;
    assert_eq!(causes(&last).last().map(|c| c.0), Some(Cause::CaseErased), "{last:?}");
    assert_eq!(th.hub().data_requests_of_case(&fs, &case_id).await.expect("after erasure").len(), 7);
    let today = th.hub().dash_today(&fs).await.expect("Heute");
    assert!(today.unconfirmed.iter().all(|u| u.case.is_none()), "an erased case shows no name");
}

fn org_id(id: &str) -> hub::domain::ids::OrgId {
    hub::domain::ids::OrgId::parse(id).expect("org id")
}

/// An email partner confirms through the mailed link: after the revocation and again after the
/// erasure (when the referral's page is gone), each request mail links to its request.
#[tokio::test]
async fn an_email_partner_confirms_through_the_mailed_link() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let th = emailkit::email_hub(&sink).await;
    emailkit::make_email_partner(&th, orgs::SCHULDNERBERATUNG, emailkit::BERATUNG_MAIL).await;
    let case = open_case(&th).await;
    let consent = record_consent(&th, &case, &[orgs::SCHULDNERBERATUNG], &[DataCategory::Identity]).await;
    create_referral(
        &th,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[DataCategory::Identity],
    )
    .await;
    th.deliver_mail().await.expect("dispatch");
    let before = sink.wait_for(1, emailkit::MAIL_TIMEOUT).await.expect("the referral's mail").len();
    consents(&th, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: consent.id.clone(),
            note: String::new(),
        })
        .await
        .expect("RevokeConsent");
    th.deliver_mail().await.expect("dispatch");
    let mails = sink.wait_for(before + 2, emailkit::MAIL_TIMEOUT).await.expect("consent ended and request mails");
    let request_mail = mails.iter().find(|m| m.subject.starts_with("Bitte um Bestätigung")).expect("a request mail");
    assert!(request_mail.text.contains("Art. 19 DSGVO"), "{}", request_mail.text);
    for secret in emailkit::personal_data() {
        assert!(!request_mail.text.contains(&secret), "the mail names {secret}");
    }
    let link = emailkit::link_in(request_mail);
    assert!(link.contains("/b/"), "{link}");
    let client = emailkit::http(&th);
    let (status, page) = emailkit::get(&client, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h1>Bitte löschen</h1>") && page.contains("Die Einwilligung wurde widerrufen."), "{page}");
    let forms = emailkit::forms(&page);
    let confirm_form = emailkit::form(&forms, "Als gelöscht bestätigen");
    let (status, receipt_page) = emailkit::post(&client, &link, confirm_form, &[]).await;
    assert_eq!(status, 200, "{receipt_page}");
    let start = receipt_page.find("WHQ1.").expect("the receipt on the page");
    let receipt: String = receipt_page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let key = SealPublicKey::load(&public_key_file(th.data_dir())).expect("public seal key");
    let claims: ConfirmationReceipt = key.open_receipt(&receipt).expect("the receipt verifies");
    assert_eq!((claims.org.as_str(), claims.done.as_str()), (orgs::SCHULDNERBERATUNG, "ERASE"));
    let (status, _) = emailkit::post(&client, &link, confirm_form, &[]).await;
    assert_eq!(status, 409, "confirming again shows the first receipt");
    let listed = referrals(&th, orgs::SCHULDNERBERATUNG)
        .await
        .list_data_requests(ListDataRequestsRequest { include_confirmed: true })
        .await
        .expect("ListDataRequests")
        .into_inner()
        .data_requests;
    assert!(listed[0].confirmed && listed[0].confirmed_by_staff_member == "via E-Mail-Link", "{listed:?}");

    // After the erasure the referral's page is gone; the request's link still works.
    close_and_erase(&th, &case.id).await;
    th.deliver_mail().await.expect("dispatch");
    let all = sink.wait_for(mails.len() + 2, emailkit::MAIL_TIMEOUT).await.expect("erased and request mails");
    let erased_request = all[mails.len()..]
        .iter()
        .find(|m| m.subject.starts_with("Bitte um Bestätigung"))
        .expect("a request mail after the erasure");
    let link = emailkit::link_in(erased_request);
    let (status, page) = emailkit::get(&client, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Der Fall wurde gelöscht."), "{page}");
    let (status, _) =
        emailkit::post(&client, &link, emailkit::form(&emailkit::forms(&page), "Als gelöscht bestätigen"), &[]).await;
    assert_eq!(status, 200);
    th.shutdown().await;
}
