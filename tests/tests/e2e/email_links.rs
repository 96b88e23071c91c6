//! The link security model of the partner page, attacked over real HTTPS: forged, expired,
//! cross-referral, wrong-purpose and revoked tokens get a clear German page and change nothing;
//! a revoked consent takes the covered data off the page.

use crate::common;
use crate::emailkit;
use crate::mailsink;

use common::*;
use emailkit::*;
use hub::domain::referral::Move;
use hub::labels::move_label;
use mailsink::{MailSink, SinkOptions};

struct Setup {
    hub: TestHub,
    _sink: MailSink,
    client: reqwest::Client,
    /// Two referrals to the email partner, with the links of their mails.
    referrals: Vec<(Referral, String)>,
    case: Case,
    consent: Consent,
}

async fn setup() -> Setup {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    let case = open_case(&hub).await;
    let consent =
        record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[DataCategory::Identity, DataCategory::Arrears]).await;
    let mut referrals = Vec::new();
    for data in [DataCategory::Identity, DataCategory::Arrears] {
        let r =
            create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &[data]).await;
        referrals.push(r);
    }
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 2);
    let mails = sink.wait_for(2, MAIL_TIMEOUT).await.expect("two mails");
    let referrals = referrals
        .into_iter()
        .map(|r| {
            let link = mails.iter().map(link_in).find(|l| l.contains(&r.id)).expect("a mail links to each referral");
            (r, link)
        })
        .collect();
    let client = http(&hub);
    Setup { hub, _sink: sink, client, referrals, case, consent }
}

fn token_of(link: &str) -> &str {
    link.split("t=").nth(1).expect("token in link")
}

async fn state(s: &Setup, i: usize) -> ReferralState {
    state_of(&referral(&s.hub, orgs::FACHSTELLE, &s.referrals[i].0.id).await)
}

#[tokio::test]
async fn forged_cross_referral_and_wrong_purpose_tokens_are_refused_and_change_nothing() {
    let s = setup().await;
    let (a, link_a) = &s.referrals[0];
    let (b, _) = &s.referrals[1];
    let (status, page) = get(&s.client, link_a).await;
    assert_eq!(status, 200);
    let ack = form(&forms(&page), move_label(Move::Acknowledge)).clone();

    // Forged: one character of the signature changed; a made-up token; a payload from elsewhere.
    let token = token_of(link_a);
    let mut forged = token.to_owned();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [forged.as_str(), "L1.e30.AAAA", "kaputt", ""] {
        let (status, page) = get(&s.client, &link_a.replace(token, bad)).await;
        assert_eq!(status, 403, "token '{bad}': {page}");
        assert!(page.contains("ungültig"), "a clear German page: {page}");
    }
    let forged_post = Form { t: format!("{}x", ack.t), ..ack.clone() };
    let (status, _) = post(&s.client, link_a, &forged_post, &[]).await;
    assert_eq!(status, 403);

    // Cross-referral: A's view link on B's page, A's action token posted to B.
    let (status, page) = get(&s.client, &link_a.replace(&a.id, &b.id)).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("anderen Vermittlung"), "{page}");
    let cross = Form { action: ack.action.replace(&a.id, &b.id), ..ack.clone() };
    let (status, _) = post(&s.client, link_a, &cross, &[]).await;
    assert_eq!(status, 403);

    // Wrong purpose: a view token posted as an action, an action token opened as a page.
    let view_as_action = Form { t: token.to_owned(), ..ack.clone() };
    let (status, _) = post(&s.client, link_a, &view_as_action, &[]).await;
    assert_eq!(status, 403);
    let (status, _) = get(&s.client, &link_a.replace(token, &ack.t)).await;
    assert_eq!(status, 403);

    assert_eq!(state(&s, 0).await, ReferralState::Requested, "nothing changed");
    assert_eq!(state(&s, 1).await, ReferralState::Requested, "nothing changed");
    // The genuine form still works.
    let (status, _) = post(&s.client, link_a, &ack, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(state(&s, 0).await, ReferralState::Received);
    s.hub.shutdown().await;
}

#[tokio::test]
async fn expired_and_revoked_links_are_refused() {
    let s = setup().await;
    let (_, link_a) = &s.referrals[0];
    let (_, page) = get(&s.client, link_a).await;
    let ack = form(&forms(&page), move_label(Move::Acknowledge)).clone();

    // Revoked: the operator changes the partner's address (a mail went to a wrong mailbox).
    make_email_partner(&s.hub, orgs::SCHULDNERBERATUNG, "neu@schuldnerberatung.example").await;
    let (status, page) = get(&s.client, link_a).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("nicht mehr gültig"), "{page}");
    let (status, _) = post(&s.client, link_a, &ack, &[]).await;
    assert_eq!(status, 410);
    assert_eq!(state(&s, 0).await, ReferralState::Requested);

    // Expired: links live 14 days.
    let (_, link_b) = &s.referrals[1];
    s.hub.advance_days(15);
    let (status, page) = get(&s.client, link_b).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("abgelaufen"), "{page}");
    assert_eq!(state(&s, 1).await, ReferralState::Requested);
    s.hub.shutdown().await;
}

#[tokio::test]
async fn a_revoked_consent_takes_the_covered_data_off_the_page() {
    let s = setup().await;
    let (_, link_a) = &s.referrals[0];
    let (_, page) = get(&s.client, link_a).await;
    assert!(page.contains("Kaiser"), "identity shown while the consent holds");
    consents(&s.hub, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: s.consent.id.clone(),
            note: "widerrufen (synthetisch)".into(),
        })
        .await
        .expect("RevokeConsent");
    let (status, page) = get(&s.client, link_a).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("Kaiser"), "identity gone after revocation");
    assert!(page.contains("Nicht mehr angezeigt"), "the page says what it withholds");
    assert!(forms(&page).iter().all(|f| f.button != move_label(Move::Accept)), "the cancelled referral has no moves");
    // The partner is told by mail, without personal data.
    s.hub.deliver_mail().await.expect("dispatch");
    let mails = s._sink.wait_for(3, MAIL_TIMEOUT).await.expect("consent mail");
    assert_no_personal_data(&mails);
    let _ = &s.case;
    s.hub.shutdown().await;
}

/// The partner page meets the rules of a note and of a move's reason exactly as the gRPC API does: the
/// same inputs are refused by both, with the page's message in German at the field, and nothing changes.
#[tokio::test]
async fn the_partner_page_and_the_api_refuse_the_same_notes_and_moves() {
    let s = setup().await;
    let (referral, link) = &s.referrals[0];
    let (_, page) = get(&s.client, link).await;
    let long = "n".repeat(4001);
    let (status, body) =
        post(&s.client, link, form(&forms(&page), "Notiz speichern"), &[("text", long.as_str())]).await;
    assert_eq!(status, 422, "an overlong note on the page: {body}");
    assert!(body.contains("Höchstens 4000 Zeichen"), "the rule's German message: {body}");
    let api = referrals(&s.hub, orgs::SCHULDNERBERATUNG)
        .await
        .add_note(AddNoteRequest { idempotency_key: idem(), referral_id: referral.id.clone(), text: long.clone() })
        .await;
    assert_status(api, Code::InvalidArgument, &["text", "4000"]);
    let blank = referrals(&s.hub, orgs::SCHULDNERBERATUNG)
        .await
        .add_note(AddNoteRequest { idempotency_key: idem(), referral_id: referral.id.clone(), text: "  ".into() })
        .await;
    assert_status(blank, Code::InvalidArgument, &["text"]);
    let (status, _) = post(&s.client, link, form(&forms(&page), "Notiz speichern"), &[("text", "  ")]).await;
    assert_eq!(status, 422, "a blank note on the page");
    let notes = referrals(&s.hub, orgs::FACHSTELLE)
        .await
        .list_notes(ListNotesRequest { referral_id: referral.id.clone() })
        .await
        .expect("ListNotes")
        .into_inner()
        .notes;
    assert!(notes.is_empty(), "no refused note is stored: {notes:?}");
    // Declining with OTHER but no text: refused by both, the referral stays where it was.
    do_move(&s.hub, orgs::SCHULDNERBERATUNG, &referral.id, ReferralMove::Acknowledge).await;
    let (_, page) = get(&s.client, link).await;
    let api = referrals(&s.hub, orgs::SCHULDNERBERATUNG)
        .await
        .transition_referral(TransitionReferralRequest {
            reason_code: ReasonCode::Other as i32,
            reason_text: " ".into(),
            ..move_request(&referral.id, ReferralMove::Decline)
        })
        .await;
    assert_status(api, Code::InvalidArgument, &["reason_text", "OTHER"]);
    let all = forms(&page);
    let decline = form(&all, move_label(Move::Decline));
    let (status, body) = post(&s.client, link, decline, &[("reason_code", "OTHER"), ("reason_text", " ")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Sonstiges"), "the rule's German message: {body}");
    assert_eq!(state(&s, 0).await, ReferralState::Received);
}
