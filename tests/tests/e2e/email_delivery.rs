//! Delivery guarantees of the email outbox against a real SMTP server: nothing lost while the
//! server is down or the hub restarts, one Message-ID per job however often it is tried, dead
//! letters for permanent failures with DELIVERY_FAILED to the Fachstelle and re-queueing,
//! STARTTLS with a test CA and credentials, reminders, claims that survive a crashed dispatcher.

use crate::common;
use crate::emailkit;
use crate::mailsink;

use std::collections::HashSet;

use common::*;
use email_adapter::config::{Secret, Security};
use emailkit::*;
use hub_proto::v1::delivery_service_client::DeliveryServiceClient;
use mailsink::{MailSink, SinkOptions};

async fn referral_to(hub: &TestHub, org: &str, category: ReferralCategory) -> Referral {
    let case = open_case(hub).await;
    record_consent(hub, &case, &[org], &[DataCategory::Identity]).await;
    create_referral(hub, &case.id, org, category, &[DataCategory::Identity]).await
}

async fn deliveries(hub: &TestHub, org: &str, status: DeliveryStatus) -> Vec<Delivery> {
    DeliveryServiceClient::new(hub.channel(org).await.expect("channel"))
        .list_deliveries(ListDeliveriesRequest { status: status as i32, ..Default::default() })
        .await
        .expect("ListDeliveries")
        .into_inner()
        .deliveries
}

#[tokio::test]
async fn smtp_down_then_up_delivers_every_mail_exactly_once_even_across_a_restart() {
    // Find a free port for the sink, then keep it closed while referrals are created.
    let mut sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let port = sink.port();
    sink.stop().await;
    let mut hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    for _ in 0..3 {
        referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    }
    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!((round.sent, round.retrying, round.dead), (0, 3, 0), "connection refused is transient");
    let pending = deliveries(&hub, orgs::FACHSTELLE, DeliveryStatus::Pending).await;
    assert_eq!(pending.len(), 3);
    assert!(pending.iter().all(|d| d.attempts == 1 && !d.last_error.is_empty()), "{pending:?}");
    // Not due yet: backoff holds them back.
    assert_eq!(hub.deliver_mail().await.expect("dispatch").retrying, 0);

    // The hub restarts; the outbox is in the database, so nothing is lost.
    hub.restart().await.expect("restart");
    let sink = MailSink::start_on(port, SinkOptions::default()).await.expect("SMTP sink back up");
    hub.advance_days(1);
    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!(round.sent, 3, "{round:?}");
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 0, "sent mails are not sent again");
    let mails = sink.wait_for(3, MAIL_TIMEOUT).await.expect("three mails");
    let ids: HashSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), 3, "one Message-ID per job: {ids:?}");
    let sent = deliveries(&hub, orgs::FACHSTELLE, DeliveryStatus::Sent).await;
    for d in &sent {
        assert!(ids.contains(format!("<{}@hub.example>", d.id).as_str()), "Message-ID of {} is its job id", d.id);
        assert_eq!(d.attempts, 2);
    }
    hub.shutdown().await;
}

#[tokio::test]
async fn a_permanent_failure_dead_letters_that_job_only_tells_the_fachstelle_and_can_be_requeued() {
    let sink = MailSink::start(SinkOptions { reject: Some("unbekannt".into()), ..SinkOptions::default() })
        .await
        .expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    make_email_partner(&hub, orgs::TRAEGER, "unbekannt@traeger.example").await;
    let mut stream = events(&hub, orgs::FACHSTELLE)
        .await
        .subscribe(SubscribeRequest { after_cursor: 0 })
        .await
        .expect("Subscribe")
        .into_inner();
    referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    let bad = referral_to(&hub, orgs::TRAEGER, ReferralCategory::SocialPedagogicalSupport).await;

    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!((round.sent, round.dead), (1, 1), "the 550 is permanent, the other mail goes out: {round:?}");
    assert_eq!(sink.wait_for(1, MAIL_TIMEOUT).await.expect("one mail")[0].to, vec![BERATUNG_MAIL.to_owned()]);
    let dead = deliveries(&hub, orgs::FACHSTELLE, DeliveryStatus::Dead).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].organisation_id, orgs::TRAEGER);
    assert!(dead[0].last_error.contains("550"), "{}", dead[0].last_error);

    let failed = loop {
        let e = next_event(&mut stream).await;
        if e.kind == EventKind::DeliveryFailed as i32 {
            break e;
        }
    };
    assert_eq!(failed.delivery_id, dead[0].id);
    assert_eq!(failed.referral_id, bad.id);

    // Only the Fachstelle (and the operator) see deliveries; a SENT one is not re-queued.
    let denied = DeliveryServiceClient::new(hub.channel(orgs::JOBCENTER).await.expect("channel"))
        .list_deliveries(ListDeliveriesRequest::default())
        .await;
    assert_status(denied, Code::PermissionDenied, &["Fachstelle"]);
    let sent = deliveries(&hub, orgs::FACHSTELLE, DeliveryStatus::Sent).await;
    let again = DeliveryServiceClient::new(hub.channel(orgs::FACHSTELLE).await.expect("channel"))
        .requeue_delivery(RequeueDeliveryRequest { idempotency_key: idem(), delivery_id: sent[0].id.clone() })
        .await;
    assert_status(again, Code::FailedPrecondition, &["DEAD"]);

    // The operator fixes the address; the Fachstelle re-queues; the mail goes to the new address.
    make_email_partner(&hub, orgs::TRAEGER, "team@traeger.example").await;
    let requeued = DeliveryServiceClient::new(hub.channel(orgs::FACHSTELLE).await.expect("channel"))
        .requeue_delivery(RequeueDeliveryRequest { idempotency_key: idem(), delivery_id: dead[0].id.clone() })
        .await
        .expect("RequeueDelivery")
        .into_inner()
        .delivery
        .expect("delivery");
    assert_eq!(requeued.status, DeliveryStatus::Pending as i32);
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1);
    let mails = sink.wait_for(2, MAIL_TIMEOUT).await.expect("two mails");
    let to_traeger = mails.iter().find(|m| m.to == vec!["team@traeger.example".to_owned()]).expect("re-queued mail");
    assert_eq!(to_traeger.message_id, format!("<{}@hub.example>", dead[0].id), "the same Message-ID as before");
    hub.shutdown().await;
}

#[tokio::test]
async fn starttls_with_a_test_ca_and_credentials() {
    // A test CA and a server certificate for localhost, made like the hub's own PKI.
    let pki_dir = tempfile::tempdir().expect("tempdir");
    let pki = hub::pki::PkiDir::in_data_dir(pki_dir.path());
    hub::pki::init(&pki, &["localhost".to_owned()], false).expect("test CA");
    let sink = MailSink::start(SinkOptions {
        tls: Some((pki.server_cert(), pki.server_key())),
        auth: Some(("hub".into(), "geheim-synthetisch".into())),
        ..SinkOptions::default()
    })
    .await
    .expect("SMTP sink with STARTTLS");
    let mut config = email_config(sink.port());
    config.smtp.host = "localhost".into();
    config.smtp.security = Security::Starttls;
    config.smtp.ca_file = Some(pki.ca_cert());
    config.smtp.username = Some("hub".into());
    config.smtp.password = Some(Secret::new("geheim-synthetisch"));
    let hub = TestHub::start_with_email(config).await.expect("hub");
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1);
    let mail = &sink.wait_for(1, MAIL_TIMEOUT).await.expect("mail")[0];
    assert!(mail.tls, "the session was encrypted");
    assert!(mail.authenticated, "the hub authenticated");
    hub.shutdown().await;

    // The same server, but the hub does not trust its CA: nothing is sent, the job waits.
    let mut untrusting = email_config(sink.port());
    untrusting.smtp.host = "localhost".into();
    untrusting.smtp.security = Security::Starttls;
    let hub = TestHub::start_with_email(untrusting).await.expect("hub");
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!((round.sent, round.retrying), (0, 1), "an untrusted certificate is not accepted: {round:?}");
    assert_eq!(sink.messages().len(), 1, "nothing new arrived");
    hub.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_referral_is_reminded_once_before_its_reply_by_date() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    let r = referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    hub.run_scheduled().await.expect("scheduled");
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1, "only the referral itself");
    // Two working days before the reply-by date the partner is reminded, once.
    let reply_by = hub::domain::time::Day::parse(&r.reply_by).expect("reply-by");
    hub.advance_to(hub::domain::workdays::sub_working_days(reply_by, 2));
    hub.run_scheduled().await.expect("scheduled");
    hub.run_scheduled().await.expect("scheduled again");
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1, "one reminder");
    let mails = sink.wait_for(2, MAIL_TIMEOUT).await.expect("two mails");
    assert!(mails[1].subject.contains("Erinnerung"), "{}", mails[1].subject);
    // Once answered, nothing more; past the date the partner hears it is overdue.
    hub.advance_to(reply_by.plus_days(1));
    hub.run_scheduled().await.expect("scheduled");
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1, "the overdue notice");
    assert_no_personal_data(&sink.wait_for(3, MAIL_TIMEOUT).await.expect("three mails"));
    hub.shutdown().await;
}

#[tokio::test]
async fn a_crashed_dispatchers_claims_are_taken_over_when_their_lease_runs_out() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    // A dispatcher claims the job and dies before sending (nothing records a result).
    let claimed = hub.hub().claim_mails("crashed-replica", 300, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 0, "leased to the crashed dispatcher");
    hub.advance_days(1);
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1, "taken over after the lease ran out");
    assert_eq!(sink.wait_for(1, MAIL_TIMEOUT).await.expect("mail").len(), 1);
    hub.shutdown().await;
}

#[tokio::test]
async fn the_background_dispatcher_sends_right_after_the_commit() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let mut config = email_config(sink.port());
    config.dispatch_in_background = true;
    let hub = TestHub::start_with_email(config).await.expect("hub");
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    referral_to(&hub, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling).await;
    let mails = sink.wait_for(1, MAIL_TIMEOUT).await.expect("the mail arrives without a manual round");
    assert_eq!(mails.len(), 1);
    hub.shutdown().await;
}

#[tokio::test]
async fn an_erased_case_tells_every_email_recipient_by_a_mail_without_link() {
    let sink = MailSink::start(SinkOptions { reject: Some("unbekannt".into()), ..SinkOptions::default() })
        .await
        .expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    make_email_partner(&hub, orgs::TRAEGER, "team@traeger.example").await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG, orgs::TRAEGER], &[DataCategory::Identity]).await;
    let to_beratung = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[DataCategory::Identity],
    )
    .await;
    let to_traeger = create_referral(
        &hub,
        &case.id,
        orgs::TRAEGER,
        ReferralCategory::SocialPedagogicalSupport,
        &[DataCategory::Identity],
    )
    .await;

    // The Fachstelle closes the case; every mail until then goes out.
    cases(&hub, orgs::FACHSTELLE)
        .await
        .close_case(CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case.id.clone(),
            outcome: CaseOutcome::HilfeAbgelehnt as i32,
            rescue_means: RescueMeans::Unspecified as i32,
            note: String::new(),
            confirm_open_items: true,
        })
        .await
        .expect("CloseCase");
    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!((round.retrying, round.dead), (0, 0), "{round:?}");
    let before = sink.wait_for(round.sent, MAIL_TIMEOUT).await.expect("the mails before the erasure").len();
    // The Träger's mailbox is gone meanwhile: its erasure mail will be rejected permanently.
    make_email_partner(&hub, orgs::TRAEGER, "unbekannt@traeger.example").await;

    cases(&hub, orgs::FACHSTELLE)
        .await
        .erase_case(EraseCaseRequest { idempotency_key: idem(), case_id: case.id.clone() })
        .await
        .expect("EraseCase");
    let round = hub.deliver_mail().await.expect("dispatch");
    // Per recipient the erasure mail and the request to confirm the erasure (Art. 19 GDPR).
    assert_eq!((round.sent, round.retrying, round.dead), (2, 0, 2), "two mails per recipient: {round:?}");
    let all = sink.wait_for(before + 2, MAIL_TIMEOUT).await.expect("the erasure mails arrive");
    let after: Vec<_> = all[before..].iter().collect();
    assert_eq!(after.len(), 2, "exactly two mails after the erasure: {after:?}");
    let request = after.iter().find(|m| m.subject.starts_with("Bitte um Bestätigung")).expect("the request mail");
    assert!(request.text.contains("/b/"), "the request links to itself, not to the page that is gone");
    let erased: Vec<_> = after.iter().filter(|m| m.subject.starts_with("Gelöscht:")).collect();
    assert_eq!(erased.len(), 1, "one erasure mail: {after:?}");
    let mail = erased[0];
    assert_eq!(mail.to, vec![BERATUNG_MAIL.to_owned()]);
    let reference = hub::email::reference(&to_beratung.id);
    assert_eq!(mail.subject, format!("Gelöscht: Vermittlung {reference}"));
    let fachstelle = hub::network::standard_network()
        .into_iter()
        .find(|s| s.id == orgs::FACHSTELLE)
        .expect("the Fachstelle is in the standard network")
        .name;
    for body in [&mail.text, &mail.html] {
        assert!(body.contains(&format!("die Daten zur Vermittlung {reference} wurden")), "{body}");
        assert!(body.contains("gelöscht (Art. 17 DSGVO)") && body.contains("(Art. 19 DSGVO)"), "{body}");
        assert!(body.contains(&fachstelle), "the sender is the erased case's owner: {body}");
        for link in ["https://", "href=", "Vorgang öffnen", "gültig"] {
            assert!(!body.contains(link), "no link to a page that is gone: {link:?} in\n{body}");
        }
    }
    assert!(!mail.raw.contains("https://"), "no link in any part");
    assert!(!mail.text.contains("Status:"), "no state of a referral that is gone: {}", mail.text);
    assert_no_personal_data(&all);

    // The rejected one is a dead letter for the Fachstelle that owned the erased case: reported,
    // listed and re-queued like any other, and it reaches the corrected address without a link.
    let mut stream = events(&hub, orgs::FACHSTELLE)
        .await
        .subscribe(SubscribeRequest { after_cursor: 0 })
        .await
        .expect("Subscribe")
        .into_inner();
    let mut failed = Vec::new();
    while failed.len() < 2 {
        let e = next_event(&mut stream).await;
        if e.kind == EventKind::DeliveryFailed as i32 {
            failed.push(e);
        }
    }
    let all_dead = deliveries(&hub, orgs::FACHSTELLE, DeliveryStatus::Dead).await;
    assert_eq!(all_dead.len(), 2, "the erasure mail and the request to the Träger: {all_dead:?}");
    let dead: Vec<_> = all_dead.iter().filter(|d| d.kind == MailKind::CaseErased as i32).collect();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0].kind, dead[0].organisation_id.as_str(), dead[0].referral_id.as_str()),
        (MailKind::CaseErased as i32, orgs::TRAEGER, to_traeger.id.as_str())
    );
    let failed = failed.iter().find(|e| e.delivery_id == dead[0].id).expect("DELIVERY_FAILED of the erasure mail");
    assert_eq!(failed.case_id, case.id);
    make_email_partner(&hub, orgs::TRAEGER, "team@traeger.example").await;
    DeliveryServiceClient::new(hub.channel(orgs::FACHSTELLE).await.expect("channel"))
        .requeue_delivery(RequeueDeliveryRequest { idempotency_key: idem(), delivery_id: dead[0].id.clone() })
        .await
        .expect("RequeueDelivery");
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 1);
    let all = sink.wait_for(before + 3, MAIL_TIMEOUT).await.expect("the re-queued erasure mail arrives");
    let again = &all[before + 2];
    assert_eq!(again.to, vec!["team@traeger.example".to_owned()]);
    assert_eq!(again.subject, format!("Gelöscht: Vermittlung {}", hub::email::reference(&to_traeger.id)));
    assert!(!again.raw.contains("https://"), "{}", again.text);
    let sent = deliveries(&hub, orgs::FACHSTELLE, DeliveryStatus::Sent).await;
    assert_eq!(sent.iter().filter(|d| d.kind == MailKind::CaseErased as i32).count(), 2, "{sent:?}");
    assert_no_personal_data(&all);
    hub.shutdown().await;
}
