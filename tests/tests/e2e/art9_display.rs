//! Art. 9 GDPR: special categories of personal data (health data) need their own explicit
//! consent and are shown separately everywhere. A case is played through a real hub over mTLS gRPC;
//! then the partner page (over real HTTPS, reached through the link of a real mail), the mails and the
//! Art. 15 access report (JSON and German HTML) are read, and each must keep the special categories in
//! a part of their own, with whether the explicit consent is there. hubctl's output and the page's HTML
//! are covered by unit tests next to their code (`hubctl/src/render.rs`, `adapters/email/src/web/html.rs`).

use crate::common;
use crate::emailkit;
use crate::mailsink;

use common::*;
use emailkit::*;
use hub::domain::ids::CaseId;
use hub::domain::vocab::DataCategory as Category;
use hub::labels::{SPECIAL_CATEGORIES, data_category};
use hub::reports::access::{Format, generate};
use mailsink::{MailSink, SinkOptions};
use serde_json::Value;

type D = DataCategory;

/// The special categories as the hub's domain defines them.
fn special() -> Vec<Category> {
    Category::ALL.iter().copied().filter(|c| c.is_special()).collect()
}

/// The generated (API) category of a domain category.
fn api(c: Category) -> DataCategory {
    DataCategory::from_str_name(&format!("DATA_CATEGORY_{}", c.as_str())).expect("same vocabulary")
}

/// The text between `start` and the first `end` after it.
fn between<'a>(hay: &'a str, start: &str, end: &str) -> &'a str {
    let from = hay.find(start).unwrap_or_else(|| panic!("{start:?} not found in:\n{hay}"));
    let rest = &hay[from + start.len()..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The HTML-escaped heading of the Art. 9 parts.
fn heading() -> String {
    hub::reports::html::escape(SPECIAL_CATEGORIES)
}

#[tokio::test]
async fn every_special_category_needs_the_explicit_consent() {
    // Health data is the hub's one special category; counselling notes need consent for professional
    // secrecy, not for Art. 9. A new special category must be reviewed here and in the refusal below.
    assert_eq!(special(), [Category::Health]);
    let hub = start().await;
    let case = open_case(&hub).await;
    for c in special() {
        for with in [vec![api(c)], vec![D::Identity, api(c), D::Arrears]] {
            let mut req = consent_request(&case, &[orgs::SCHULDNERBERATUNG], &with, &hub.date_in_days(90));
            req.art9_explicit = false;
            let res = consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await;
            assert_status(res, Code::InvalidArgument, &["art9_explicit", "Art. 9"]);
        }
    }
    // Without a special category no explicit consent is needed; with it, the consent is recorded.
    let mut req = consent_request(&case, &[orgs::SCHULDNERBERATUNG], &[D::Identity], &hub.date_in_days(90));
    req.art9_explicit = false;
    consents(&hub, orgs::FACHSTELLE).await.record_consent(req).await.expect("no special category");
    let c = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Health]).await;
    assert!(c.art9_explicit);
    hub.shutdown().await;
}

#[tokio::test]
async fn the_partner_page_shows_health_data_only_in_its_own_part_with_the_explicit_consent() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("SMTP sink");
    let hub = email_hub(&sink).await;
    make_email_partner(&hub, orgs::SCHULDNERBERATUNG, BERATUNG_MAIL).await;
    let case = open_case(&hub).await;
    let consent = record_consent(&hub, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears, D::Health]).await;
    let with_health = create_referral(
        &hub,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Health],
    )
    .await;
    let without =
        create_referral(&hub, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &[D::Arrears])
            .await;
    assert_eq!(hub.deliver_mail().await.expect("dispatch").sent, 2);
    let mails = sink.wait_for(2, MAIL_TIMEOUT).await.expect("two mails");
    let link = |id: &str| mails.iter().map(link_in).find(|l| l.contains(id)).expect("a mail per referral");
    let (link_health, link_without) = (link(&with_health.id), link(&without.id));
    let client = http(&hub);
    let health = data_category(Category::Health);
    let part_start = format!("<h2 id=\"art9\">{}</h2>", heading());

    // The referral with health data: the note stands in the Art. 9 part, and only there.
    let (status, page) = get(&client, &link_health).await;
    assert_eq!(status, 200, "{page}");
    let part = between(&page, &part_start, "</table>");
    assert!(part.contains(&format!("<th>{health}</th>")), "{part}");
    assert!(part.contains("Ausdrückliche Einwilligung liegt vor."), "{part}");
    assert!(part.contains(&consent.id), "the consent it rests on: {part}");
    assert!(part.contains(HEALTH_NOTE), "{part}");
    assert_eq!(page.matches(HEALTH_NOTE).count(), 1, "the health note appears once, in its part:\n{page}");
    assert!(page.contains("Kaiser"), "identity in the ordinary sections");
    let before = &page[..page.find(&part_start).expect("part")];
    assert!(!before.contains(health) && !before.contains("Gesundheit"), "no health data among the others:\n{before}");

    // The referral without health data: the part is there and says nothing was disclosed.
    let (status, page) = get(&client, &link_without).await;
    assert_eq!(status, 200, "{page}");
    let part = between(&page, &part_start, "</table>");
    assert!(part.contains("Nicht angezeigt.") && part.contains("Nicht Teil dieser Vermittlung"), "{part}");
    assert!(!page.contains(HEALTH_NOTE), "{page}");

    // Revoked: the note is gone, the part says why, and the general "withheld" list leaves it out.
    consents(&hub, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: consent.id.clone(),
            note: "widerrufen (synthetisch)".into(),
        })
        .await
        .expect("RevokeConsent");
    let (status, page) = get(&client, &link_health).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains(HEALTH_NOTE), "{page}");
    let part = between(&page, &part_start, "</table>");
    assert!(part.contains("Nicht angezeigt.") && part.contains("widerrufen oder ist abgelaufen"), "{part}");
    let withheld = between(&page, "Nicht mehr angezeigt (Einwilligung widerrufen oder abgelaufen):", "</p>");
    assert!(withheld.contains(data_category(Category::Identity)) && !withheld.contains(health), "{withheld}");

    // Mails name no data category at all: not even that health data exists.
    hub.deliver_mail().await.expect("dispatch");
    let mails = sink.wait_for(3, MAIL_TIMEOUT).await.expect("the consent mail");
    assert_no_personal_data(&mails);
    for m in &mails {
        for word in ["Gesundheit", "Art. 9", "HEALTH"] {
            assert!(!m.text.contains(word) && !m.html.contains(word) && !m.subject.contains(word), "{word}: {m:?}");
        }
    }
    hub.shutdown().await;
}

/// Every `categories` list and every `disclosures` entry of the report, however deeply nested, holds
/// no special category: those are only in the `special_*` fields.
fn assert_no_special_among_the_others(v: &Value, path: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let here = format!("{path}.{k}");
                if k == "categories" {
                    for c in x.as_array().into_iter().flatten() {
                        assert_ne!(c, "HEALTH", "{here} lists a special category");
                    }
                }
                if k == "disclosures" {
                    for d in x.as_array().into_iter().flatten() {
                        assert_ne!(d["category"], "HEALTH", "{here} lists a special category");
                    }
                }
                assert_no_special_among_the_others(x, &here);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                assert_no_special_among_the_others(x, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_access_report_lists_special_categories_apart_with_the_explicit_consent() {
    let th = start().await;
    let case = open_case(&th).await;
    let with_health =
        record_consent(&th, &case, &[orgs::SCHULDNERBERATUNG], &[D::Identity, D::Arrears, D::Health]).await;
    let plain = record_consent(&th, &case, &[orgs::WOHNBAU], &[D::Identity]).await;
    assert!(with_health.art9_explicit && !plain.art9_explicit);
    let r = create_referral(
        &th,
        &case.id,
        orgs::SCHULDNERBERATUNG,
        ReferralCategory::DebtCounselling,
        &[D::Identity, D::Health],
    )
    .await;
    referral(&th, orgs::SCHULDNERBERATUNG, &r.id).await;
    let case_id = CaseId::parse(&case.id).expect("case id");
    let store = th.store();
    let now = th.hub().clock_now();

    // JSON: special categories in fields of their own, never among the others.
    let report = generate(store.as_ref(), &case_id, None, Format::Json, now).await.expect("report");
    let json: Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert_no_special_among_the_others(&json, "report");
    assert_eq!(json["special_categories"], serde_json::json!(["HEALTH"]));
    assert_eq!(json["household"]["health_note"], HEALTH_NOTE);
    let consent = |id: &str| {
        json["consents"].as_array().unwrap().iter().find(|c| c["consent_id"] == id).expect("consent listed").clone()
    };
    let c = consent(&with_health.id);
    assert_eq!(c["categories"], serde_json::json!(["IDENTITY", "ARREARS"]));
    assert_eq!(c["special_categories"], serde_json::json!(["HEALTH"]));
    assert_eq!(c["art9_explicit"], true);
    let p = consent(&plain.id);
    assert_eq!(p["special_categories"], serde_json::json!([]));
    assert_eq!(p["art9_explicit"], false);
    let d = &json["referrals"][0];
    assert_eq!(d["disclosures"].as_array().map(|x| x.len()), Some(1), "{d:#}");
    assert_eq!(
        d["special_category_disclosures"],
        serde_json::json!([{
            "category": "HEALTH",
            "bases": [{ "kind": "consent", "reference": with_health.id }],
            "art9_explicit": true,
        }])
    );
    let read = json["partner_reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["org"]["id"] == orgs::SCHULDNERBERATUNG)
        .expect("the recipient's read");
    assert_eq!(read["categories"], serde_json::json!(["IDENTITY"]));
    assert_eq!(read["special_categories"], serde_json::json!(["HEALTH"]));

    // HTML: the stored health note, the consents, the disclosure and the read each name health data in
    // a section, row or column of its own, headed as the partner page is.
    let html = generate(store.as_ref(), &case_id, None, Format::Html, now).await.expect("report").to_html();
    let health = data_category(Category::Health);
    let stored = between(&html, &format!("<h3 id=\"art9-daten\">{}</h3>", heading()), "<h3>");
    assert!(stored.contains(HEALTH_NOTE), "{stored}");
    assert!(stored.contains(&format!("erteilt (Einwilligung {})", with_health.id)), "{stored}");
    assert_eq!(html.matches(HEALTH_NOTE).count(), 1, "{html}");
    let notes = between(&html, "<h3>Vermerke zum Haushalt</h3>", "</table>");
    assert!(!notes.contains(health), "{notes}");

    let consent_table = between(&html, &format!("<td>{}</td>", with_health.id), "</table>");
    assert!(consent_table.contains("<th>Datenkategorien</th><td>Personalien, Mietrückstände</td>"), "{consent_table}");
    assert!(
        consent_table.contains(&format!("<th>{}</th><td>{health}: ausdrückliche Einwilligung erteilt</td>", heading())),
        "{consent_table}"
    );
    let plain_table = between(&html, &format!("<td>{}</td>", plain.id), "</table>");
    assert!(
        plain_table
            .contains(&format!("<th>{}</th><td>keine umfasst (keine ausdrückliche Einwilligung)</td>", heading())),
        "{plain_table}"
    );

    let disclosed = between(&html, "Übermittelte Daten und Rechtsgrundlage:", "<p>Verlauf:</p>");
    let (others, art9) = disclosed.split_once(&format!("<h4 class=\"art9\">{}</h4>", heading())).expect("own part");
    assert!(others.contains(data_category(Category::Identity)) && !others.contains(health), "{others}");
    assert!(art9.contains("Ausdrückliche Einwilligung (Art. 9 Abs. 2 lit. a DSGVO)"), "{art9}");
    assert!(
        art9.contains(&format!(
            "<td class=\"note\">{health}</td><td class=\"note\">Einwilligung {}</td><td class=\"note\">liegt vor</td>",
            with_health.id
        )),
        "{art9}"
    );

    let reads = between(&html, "<h3>Abrufe durch andere Stellen</h3>", "</table>");
    assert!(reads.contains(&format!("<th>{}</th>", heading())), "a column of its own: {reads}");
    let row = between(reads, "</tr>\n<tr>", "</tr>");
    let cells: Vec<&str> = row.split("<td class=\"note\">").skip(1).map(|c| c.trim_end_matches("</td>")).collect();
    assert_eq!(cells.len(), 6, "{row}");
    assert_eq!(cells[3], data_category(Category::Identity), "read data without health: {row}");
    assert!(!cells[4].contains(health), "{row}");
    assert_eq!(cells[5], format!("{health}: Einwilligung {}", with_health.id), "{row}");
    th.shutdown().await;
}
