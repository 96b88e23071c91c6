//! An email-only partner handles a whole referral: mails arrive at a real SMTP server, a real
//! HTTPS client follows their links to the partner page and walks the referral from REQUESTED to
//! COMPLETED; the Fachstelle sees it over gRPC like any other; receipts verify with `hub receipt
//! verify`; no mail carries personal data.

use crate::common;
use crate::emailkit;
use crate::mailsink;
use crate::process;

use common::*;
use emailkit::*;
use hub::domain::referral::Move;
use hub::labels::move_label;
use mailsink::{MailSink, SinkOptions};

#[tokio::test]
async fn an_email_partner_handles_a_whole_referral_through_mail_and_links_alone() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    let case = open_case(&hub).await;
    let consent = [DataCategory::Identity, DataCategory::Contact, DataCategory::Arrears, DataCategory::IncomeBenefits];
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &consent).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[DataCategory::Identity, DataCategory::Arrears],
    )
    .await;

    // The new referral becomes one mail, sent when the dispatcher runs.
    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!(round.sent, 1, "{round:?}");
    let mails = sink.wait_for(1, MAIL_TIMEOUT).await.expect("the referral mail arrives");
    let first = &mails[0];
    assert_eq!(first.to, vec![BERATUNG_MAIL.to_owned()]);
    assert!(first.subject.contains("Schuldnerberatung"), "subject: {}", first.subject);
    assert!(first.message_id.ends_with("@hub.example>"), "message id: {}", first.message_id);
    assert!(!first.html.is_empty() && !first.text.is_empty(), "plain text and HTML");

    // The page shows exactly what the basis allows: identity and arrears, not income.
    let client = http(&hub);
    let link = link_in(first);
    let (status, page) = get(&client, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Kaiser"), "identity is disclosed: {page}");
    assert!(page.contains("1.560,00 €"), "arrears are disclosed: {page}");
    assert!(!page.contains("Bürgergeld"), "income was not disclosed, although consented");

    // REQUESTED -> RECEIVED -> ACCEPTED -> IN_PROGRESS, a note, -> COMPLETED, all by link.
    let mut receipts = Vec::new();
    for mv in [Move::Acknowledge, Move::Accept, Move::Start] {
        let (_, page) = get(&client, &link).await;
        let (status, done) = post(&client, &link, form(&forms(&page), move_label(mv)), &[]).await;
        assert_eq!(status, 200, "{mv}: {done}");
        receipts.push(receipt_in(&done));
    }
    let (_, page) = get(&client, &link).await;
    let note = "Termin am 20.01. vereinbart";
    let (status, done) = post(&client, &link, form(&forms(&page), "Notiz speichern"), &[("text", note)]).await;
    assert_eq!(status, 200, "note: {done}");
    receipts.push(receipt_in(&done));
    let (_, page) = get(&client, &link).await;
    assert!(page.contains(note), "the note is on the page");
    let outcome = [
        ("result", "SERVICE_PROVIDED"),
        ("amount", ""),
        ("effective_date", "28.01.2026"),
        ("summary", "Beratung begonnen"),
    ];
    let (status, done) = post(&client, &link, form(&forms(&page), move_label(Move::Complete)), &outcome).await;
    assert_eq!(status, 200, "complete: {done}");
    receipts.push(receipt_in(&done));

    // The Fachstelle sees the partner's moves over gRPC like any other.
    let seen = referral(&hub, orgs::FACHSTELLE, &r.id).await;
    assert_eq!(state_of(&seen), ReferralState::Completed);
    let by_partner = seen.history.iter().filter(|t| t.actor_organisation_id == orgs::SCHULDNERBERATUNG).count();
    assert_eq!(by_partner, 4, "ack, accept, start, complete by the partner: {:?}", seen.history);
    let notes = referrals(&hub, orgs::FACHSTELLE)
        .await
        .list_notes(ListNotesRequest { referral_id: r.id.clone() })
        .await
        .expect("ListNotes")
        .into_inner()
        .notes;
    assert!(notes.iter().any(|n| n.text == note && n.author_organisation_id == orgs::SCHULDNERBERATUNG));

    // Every view and action is audited as the organisation via email link.
    let audit =
        hub.hub().audit_of_case(&hub::domain::ids::CaseId::parse(&case.id).expect("case id")).await.expect("audit");
    let by_link: Vec<_> = audit
        .iter()
        .filter(|a| a.actor == orgs::SCHULDNERBERATUNG && a.staff.as_deref() == Some("via E-Mail-Link"))
        .map(|a| a.action.as_str())
        .collect();
    for action in ["referral.read", "note.read", "referral.move", "note.write"] {
        assert!(by_link.contains(&action), "{action} audited via link: {by_link:?}");
    }
    let reads = audit
        .iter()
        .find(|a| a.action.as_str() == "referral.read" && a.actor == orgs::SCHULDNERBERATUNG)
        .expect("read");
    assert!(reads.legal_basis.contains("consent:"), "the read names its legal basis: {}", reads.legal_basis);

    // Each action is confirmed by mail with the same receipt the page showed.
    let round = hub.deliver_mail().await.expect("dispatch");
    assert_eq!(round.sent, 5, "five confirmations: {round:?}");
    let all = sink.wait_for(6, MAIL_TIMEOUT).await.expect("confirmations arrive");
    for receipt in &receipts {
        assert!(all.iter().any(|m| m.text.contains(receipt.as_str())), "receipt {receipt} mailed");
    }
    assert_no_personal_data(&all);

    // `hub receipt verify` accepts a receipt and refuses an altered one.
    let bin = process::hub_binary();
    let data_dir = hub.data_dir().to_string_lossy().into_owned();
    let ok = process::hub_command(&bin, &["receipt", "verify", &receipts[1], "--data-dir", &data_dir])
        .output()
        .expect("hub receipt verify");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "valid receipt: {stdout} {}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.contains("receipt valid") && stdout.contains("ACCEPT") && stdout.contains(&r.id), "{stdout}");
    let mut forged = receipts[1].clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let bad = process::hub_command(&bin, &["receipt", "verify", &forged, "--data-dir", &data_dir])
        .output()
        .expect("hub receipt verify");
    assert!(!bad.status.success(), "an altered receipt must not verify");
    hub.shutdown().await;
}

#[tokio::test]
async fn a_double_submission_records_one_change_and_shows_the_first_receipt() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    let case = open_case(&hub).await;
    record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[DataCategory::Identity]).await;
    let r = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[DataCategory::Identity],
    )
    .await;
    hub.deliver_mail().await.expect("dispatch");
    let link = link_in(&sink.wait_for(1, MAIL_TIMEOUT).await.expect("mail")[0]);
    let client = http(&hub);
    let (_, page) = get(&client, &link).await;
    let ack = form(&forms(&page), move_label(Move::Acknowledge)).clone();

    let ((s1, b1), (s2, b2)) = tokio::join!(post(&client, &link, &ack, &[]), post(&client, &link, &ack, &[]));
    let mut statuses = [s1, s2];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "one records, the other is told it was done: {b1}\n{b2}");
    assert_eq!(receipt_in(&b1), receipt_in(&b2), "both show the one receipt");
    let (s3, b3) = post(&client, &link, &ack, &[]).await;
    assert_eq!(s3, 409);
    assert!(b3.contains("bereits"), "{b3}");

    let seen = referral(&hub, orgs::FACHSTELLE, &r.id).await;
    assert_eq!(state_of(&seen), ReferralState::Received);
    assert_eq!(seen.history.len(), 2, "created + one acknowledge: {:?}", seen.history);
    hub.shutdown().await;
}
