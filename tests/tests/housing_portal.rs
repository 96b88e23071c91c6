//! The housing-company portal in a real browser: a rent accountant of the demo housing company signs
//! in and lands on "Mietrückstände melden". A notice with the tenant's name but without evidence of
//! consent is refused at the name with everything entered kept (the same rule the API applies); without
//! the name it goes in pseudonymously, and one with consent goes in with the name. The list shows both;
//! once the Fachstelle takes the named one up, its row says the Fachstelle is on it. All data is synthetic.

mod browser;
mod common;

use browser::Browser;
use common::*;
use hub::domain::notice::NoticeData;
use hub_proto::v1::notice_service_client::NoticeServiceClient;

const PASSWORD: &str = "Synthetisch-Vermietung-2026";
const ACCOUNTANT: (&str, &str) = ("r.buchhaltung", "Rita Buchhaltung (Wohnbau, synthetisch)");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rent_accountant_reports_arrears_and_follows_them() {
    let th = start().await;
    th.add_staff(orgs::WOHNBAU, ACCOUNTANT.0, ACCOUNTANT.1, PASSWORD).await.expect("account");
    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(ACCOUNTANT.0, PASSWORD).await;
    b.wait_for_path("/rueckstaende").await;
    assert_eq!(b.texts("nav#hauptmenue a").await, ["Mietrückstände", "Eingang"]);
    assert!(b.text("section#meldungen").await.contains("Noch keine Meldung"));

    // A name without evidence of consent: refused at the name, everything kept, nothing stored.
    b.fill("#mietvertrag", "WB-4711-03").await;
    b.select("#bezirk", "LINDEN_LIMMER").await;
    b.select("#stufe", "MAHNUNG").await;
    b.fill("#rueckstand", "1.234,56").await;
    b.fill("#grundmiete", "612,00").await;
    b.fill("#nachname", "Beispiel").await;
    b.fill("#bemerkung", "Ratenzahlung angeboten").await;
    b.click_and_wait("form#meldung button[type=submit]").await;
    assert!(b.text("#nachname-fehler").await.contains("nur mit Einwilligung"), "{}", b.describe().await);
    assert_eq!(b.attr("#mietvertrag", "value").await.as_deref(), Some("WB-4711-03"));
    assert_eq!(b.attr("#rueckstand", "value").await.as_deref(), Some("1.234,56"));
    assert_eq!(b.attr("#nachname", "value").await.as_deref(), Some("Beispiel"));
    b.check_page("rueckstaende-fehler").await;
    let stored = notices_of_wohnbau(&th).await;
    assert!(stored.is_empty(), "nothing stored: {stored:?}");

    // Without name and remark it goes in pseudonymously.
    b.fill("#nachname", "").await;
    b.fill("#bemerkung", "").await;
    b.click_and_wait("form#meldung button[type=submit]").await;
    assert!(b.text("#erledigt").await.contains("eingegangen"), "{}", b.describe().await);

    // A second one with consent and the name; an amount the form cannot read is refused at its field.
    b.fill("#mietvertrag", "WB-0815-01").await;
    b.select("#bezirk", "MITTE").await;
    b.select("#stufe", "KUENDIGUNG_FRISTLOS").await;
    b.fill("#rueckstand", "zwei Monate").await;
    b.fill("#grundmiete", "540,00").await;
    b.fill("#nachweis", "Einwilligung unterschrieben am 02.01.2026 (synthetisch)").await;
    b.fill("#nachname", "Musterfrau").await;
    b.fill("#vorname", "Erika").await;
    b.fill("#strasse", "Beispielallee").await;
    b.fill("#hausnummer", "7").await;
    b.fill("#plz", "30159").await;
    b.fill("#ort", "Hannover").await;
    b.click_and_wait("form#meldung button[type=submit]").await;
    assert!(b.text("#rueckstand-fehler").await.contains("Betrag"), "{}", b.describe().await);
    assert_eq!(b.attr("#vorname", "value").await.as_deref(), Some("Erika"));
    b.fill("#rueckstand", "1.080,00").await;
    b.click_and_wait("form#meldung button[type=submit]").await;
    assert!(b.text("#erledigt").await.contains("eingegangen"), "{}", b.describe().await);
    assert_eq!(b.count("tr.meldung").await, 2);

    let stored = notices_of_wohnbau(&th).await;
    let tenant_of = |reference: &str| {
        stored.iter().find_map(|n| match &n.data {
            NoticeData::Arrears(a) if a.tenancy_reference == reference => Some(a.tenant.clone()),
            _ => None,
        })
    };
    assert_eq!(tenant_of("WB-4711-03"), Some(None), "pseudonymous");
    assert_eq!(tenant_of("WB-0815-01").flatten().map(|t| t.family_name), Some("Musterfrau".to_owned()));

    // The Fachstelle takes the one with consent up: its row says so.
    let named = stored
        .iter()
        .find(|n| matches!(&n.data, NoticeData::Arrears(a) if a.tenancy_reference == "WB-0815-01"))
        .expect("the notice");
    NoticeServiceClient::new(chan(&th, orgs::FACHSTELLE).await)
        .take_up_notice(TakeUpNoticeRequest {
            idempotency_key: idem(),
            notice_id: named.id.to_string(),
            details: None,
            ..Default::default()
        })
        .await
        .expect("TakeUpNotice");
    b.goto("/rueckstaende").await;
    let row = b.text("tr.meldung[data-ref=\"WB-0815-01\"] td.stand").await;
    assert_eq!(row, "die Fachstelle kümmert sich");
    assert_eq!(b.text("tr.meldung[data-ref=\"WB-4711-03\"] td.stand").await, "eingegangen, noch nicht bearbeitet");
    b.check_page("rueckstaende").await;
    b.close().await;
}

/// The housing company's notices as stored.
async fn notices_of_wohnbau(th: &TestHub) -> Vec<hub::domain::notice::Notice> {
    let mut tx = th.store().begin_read().await.expect("read");
    let wohnbau = hub::domain::ids::OrgId::parse(orgs::WOHNBAU).expect("org id");
    tx.notices_of_reporter(&wohnbau).await.expect("notices")
}
