//! The housing-company portal in a real browser: a rent accountant of the demo housing company signs
//! in and lands on "Mietrückstände melden". A notice with the tenant's name but without evidence of
//! consent is refused at the name with everything entered kept (the same rule the API applies); without
//! the name it goes in pseudonymously, and one with consent goes in with the name. The list shows both;
//! once the Fachstelle takes the named one up, its row says the Fachstelle is on it. All data is synthetic.

use crate::browser;
use crate::common;

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

    // The arrears of the pseudonymous one are paid: withdrawn, it leaves the Fachstelle's triage.
    b.click_and_wait("tr.meldung[data-ref=\"WB-4711-03\"] button.zurueckziehen").await;
    assert!(b.text("#erledigt").await.contains("zurückgezogen"), "{}", b.describe().await);
    let row = b.text("tr.meldung[data-ref=\"WB-4711-03\"] td.stand").await;
    assert!(row.starts_with("zurückgezogen am"), "{row}");
    assert_eq!(b.count("tr.meldung[data-ref=\"WB-4711-03\"] button.zurueckziehen").await, 0);
    b.check_page("rueckstaende-zurueckgezogen").await;
    let fs = th
        .hub()
        .authenticate(hub::service::Principal::Org(hub::domain::ids::OrgId::parse(orgs::FACHSTELLE).expect("id")), None)
        .await
        .expect("Fachstelle");
    let open = th.hub().open_notices(&fs, 100).await.expect("triage");
    assert!(open.is_empty(), "a withdrawn notice needs no triage: {open:?}");
    b.close().await;
}

/// The housing company's notices as stored.
async fn notices_of_wohnbau(th: &TestHub) -> Vec<hub::domain::notice::Notice> {
    let mut tx = th.store().begin_read().await.expect("read");
    let wohnbau = hub::domain::ids::OrgId::parse(orgs::WOHNBAU).expect("org id");
    tx.notices_of_reporter(&wohnbau).await.expect("notices")
}

/// The columns of the ERP export, as `hubctl arrears import` reads them.
const HEADER: &str = "mietverhaeltnis_ref;stadtbezirk;einwilligung;einwilligung_nachweis;name;vorname;strasse;\
                      hausnummer;plz;ort;telefon;email;grundmiete;nebenkosten_vz;heizkosten_vz;rueckstand_gesamt;\
                      aeltester_offener_monat;stufe;kuendigung_datum;klage_zugestellt_am;raeumungstermin;bemerkung";

/// A Windows-1252 export of five rows: one with consent, one without consent but with a name and a
/// remark (stored without them, with a warning), a bad amount, a duplicate reference and a notice
/// dated in the future (refused by the hub's rule).
fn export(future: &str) -> Vec<u8> {
    let rows = [
        "WB-1001;Mitte;ja;Antwortbogen vom 02.01.2026;Müller;Anna;Beispielweg;1;30159;Hannover;;;600,00;150,00;80,00;1.660,00;11.2025;Mahnung;;;;",
        "WB-1002;Linden-Limmer;nein;;Schäfer;Jan;;;;;;;540,00;;;1.080,00;;Rückstand;;;;Ratenzahlung zugesagt",
        "WB-1003;Nord;nein;;;;;;;;;;500,00;;;12,345;;Mahnung;;;;",
        "WB-1001;Mitte;nein;;;;;;;;;;600,00;;;1.660,00;;Mahnung;;;;",
        &format!("WB-1004;Südstadt-Bult;nein;;;;;;;;;;700,00;;;2.100,00;;Kündigung fristlos;{future};;;"),
    ];
    let text = format!("{HEADER}\r\n{}\r\n", rows.join("\r\n"));
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_export_is_uploaded_with_a_german_report_and_the_rejected_rows_to_fix() {
    let th = start().await;
    th.add_staff(orgs::WOHNBAU, ACCOUNTANT.0, ACCOUNTANT.1, PASSWORD).await.expect("account");
    let dir = tempfile::tempdir().expect("temp dir");
    let future = german(&th.date_in_days(10));
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export(&future)).expect("the export");
    let b = Browser::start(&format!("https://localhost:{}", th.dashboard_addr().port())).await;
    b.sign_in(ACCOUNTANT.0, PASSWORD).await;
    b.wait_for_path("/rueckstaende").await;

    // Nothing chosen: the message at the file field.
    b.click_and_wait("form#datei-form button[type=submit]").await;
    assert!(b.text("#datei-fehler").await.contains("Bitte eine CSV-Datei"), "{}", b.describe().await);

    b.choose_file("#datei", &file).await;
    b.click_and_wait("form#datei-form button[type=submit]").await;
    assert!(b.text("#fortschritt-start").await.contains("„export.csv“ gelesen: 5 Zeilen"), "{}", b.describe().await);
    assert_eq!(b.texts("p.fortschritt").await, ["5 von 5 Zeilen geprüft."], "the progress of the check");
    let summary = b.text("#zusammenfassung").await;
    assert!(summary.contains("„export.csv“ (gelesen als Windows-1252)"), "{summary}");
    assert!(
        summary.contains(
            "5 Zeilen: 2 angenommen, 0 aktualisiert, 0 unverändert, 3 abgelehnt; 1 Zeile ohne einzelne Angaben übernommen"
        ),
        "{summary}"
    );
    let row3 = row_text(&b, 3).await;
    assert!(row3.contains("name") && row3.contains("nur mit Einwilligung") && row3.contains("bemerkung"), "{row3}");
    let row4 = row_text(&b, 4).await;
    assert!(row4.contains("„12,345“ hat mehr als zwei Nachkommastellen"), "{row4}");
    let row5 = row_text(&b, 5).await;
    assert!(row5.contains("derselbe Mietvertrag steht schon in Zeile 2"), "{row5}");
    let row6 = row_text(&b, 6).await;
    assert!(row6.contains("Zukunft"), "the hub's rule, in German: {row6}");
    b.check_page("rueckstaende-datei").await;

    // What was stored: the row without consent without its name and remark.
    let stored = notices_of_wohnbau(&th).await;
    let arrears: Vec<_> = stored
        .iter()
        .filter_map(|n| match &n.data {
            NoticeData::Arrears(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(arrears.len(), 2, "{arrears:?}");
    let pseudonymous = arrears.iter().find(|a| a.tenancy_reference == "WB-1002").expect("WB-1002");
    assert!(pseudonymous.tenant.is_none() && pseudonymous.remark.is_empty(), "{pseudonymous:?}");
    assert_eq!(
        arrears.iter().find(|a| a.tenancy_reference == "WB-1001").and_then(|a| a.tenant.clone()).map(|t| t.family_name),
        Some("Müller".to_owned())
    );

    // The rejected rows come back as a file with their reasons; fixed, it goes in.
    let (name, bytes) = b.download("form#abgelehnte button[type=submit]").await;
    assert_eq!(name, "abgelehnte-zeilen.csv");
    let text = String::from_utf8(bytes).expect("UTF-8");
    let lines: Vec<&str> = text.trim_start_matches('\u{FEFF}').lines().collect();
    assert_eq!(lines.len(), 4, "the header and three rows: {text}");
    assert!(lines[0].ends_with(";fehler"), "{}", lines[0]);
    assert!(lines[1].starts_with("WB-1003;") && lines[1].contains("Nachkommastellen"), "{}", lines[1]);
    let fixed = format!("{}\r\n{}\r\n", lines[0], lines[1].replace("12,345", "1.234,50"));
    std::fs::write(&file, fixed).expect("the fixed file");
    b.goto("/rueckstaende").await;
    b.choose_file("#datei", &file).await;
    b.click_and_wait("form#datei-form button[type=submit]").await;
    let summary = b.text("#zusammenfassung").await;
    assert!(summary.contains("1 Zeile: 1 angenommen"), "{summary}");
    assert!(!summary.contains("Windows-1252"), "the downloaded file is UTF-8: {summary}");
    assert_eq!(b.count("form#abgelehnte").await, 0, "nothing rejected, nothing to download");

    // A larger day: the page reports its progress batch by batch while the rows are stored.
    let mut big = format!("{HEADER}\r\n");
    for i in 0..600 {
        big.push_str(&format!("WB-GROSS-{i:04};Nord;nein;;;;;;;;;;500,00;;;1.000,00;;Mahnung;;;;\r\n"));
    }
    std::fs::write(&file, big).expect("the larger file");
    b.goto("/rueckstaende").await;
    b.choose_file("#datei", &file).await;
    b.click_and_wait("form#datei-form button[type=submit]").await;
    assert_eq!(
        b.texts("p.fortschritt").await,
        ["250 von 600 Zeilen geprüft.", "500 von 600 Zeilen geprüft.", "600 von 600 Zeilen geprüft."]
    );
    assert!(b.text("#zusammenfassung").await.contains("600 Zeilen: 600 angenommen"));
    b.close().await;
}

/// The report's lines about file row `row`.
async fn row_text(b: &Browser, row: usize) -> String {
    b.texts(&format!("tr[data-row=\"{row}\"]")).await.join(" | ")
}

/// `YYYY-MM-DD` as a German date.
fn german(iso: &str) -> String {
    let p: Vec<&str> = iso.split('-').collect();
    format!("{}.{}.{}", p[2], p[1], p[0])
}

/// Over gRPC: a company withdraws its own notice once; another company's reference is not found; the
/// Fachstelle can no longer take it up; a new report of the tenancy brings it back; a notice already in
/// a case stays there and its timeline says it was withdrawn.
#[tokio::test]
async fn a_withdrawn_notice_leaves_triage_until_the_tenancy_is_reported_again() {
    let th = start().await;
    let mut wohnbau = NoticeServiceClient::new(chan(&th, orgs::WOHNBAU).await);
    let submit = async |c: &mut NoticeServiceClient<Channel>, n: ArrearsNotice| {
        c.submit_arrears_notice(SubmitArrearsNoticeRequest { idempotency_key: idem(), notice: Some(n) })
            .await
            .expect("SubmitArrearsNotice")
            .into_inner()
            .result
            .expect("result")
            .notice_id
    };
    let withdraw = async |c: &mut NoticeServiceClient<Channel>, reference: &str| {
        c.withdraw_arrears_notice(WithdrawArrearsNoticeRequest {
            idempotency_key: idem(),
            tenancy_reference: reference.to_owned(),
        })
        .await
    };
    let paid = submit(&mut wohnbau, consented_notice("WB-PAID-1")).await;
    let done = withdraw(&mut wohnbau, "WB-PAID-1").await.expect("WithdrawArrearsNotice").into_inner();
    assert_eq!(done.notice_id, paid);
    assert!(done.withdrawn_at.is_some());
    assert_status(withdraw(&mut wohnbau, "WB-PAID-1").await, Code::FailedPrecondition, &["already withdrawn"]);
    assert_status(withdraw(&mut wohnbau, "WB-NIRGENDS").await, Code::NotFound, &[]);
    let statuses = wohnbau
        .list_notice_statuses(ListNoticeStatusesRequest { tenancy_references: vec!["WB-PAID-1".into()] })
        .await
        .expect("ListNoticeStatuses")
        .into_inner()
        .statuses;
    assert!(statuses[0].withdrawn_at.is_some(), "{statuses:?}");

    // The Fachstelle cannot take it up any more, with a German reason for its page.
    let mut fs = NoticeServiceClient::new(chan(&th, orgs::FACHSTELLE).await);
    let take_up = |id: String| TakeUpNoticeRequest {
        idempotency_key: idem(),
        notice_id: id,
        details: None,
        ..Default::default()
    };
    assert_status(fs.take_up_notice(take_up(paid.clone())).await, Code::FailedPrecondition, &["withdrew"]);

    // Reported again (the arrears are back): it stands again and can be taken up.
    let again = submit(&mut wohnbau, consented_notice("WB-PAID-1")).await;
    assert_eq!(again, paid, "the same notice, updated");
    let case = fs.take_up_notice(take_up(paid.clone())).await.expect("TakeUpNotice").into_inner().case.expect("case");

    // Withdrawn after the take-up: the case keeps it, and its timeline says so.
    withdraw(&mut wohnbau, "WB-PAID-1").await.expect("withdrawn after the take-up");
    let caller = th
        .hub()
        .authenticate(hub::service::Principal::Org(hub::domain::ids::OrgId::parse(orgs::FACHSTELLE).expect("id")), None)
        .await
        .expect("Fachstelle");
    let page =
        th.hub().dash_case(&caller, &hub::domain::ids::CaseId::parse(&case.id).expect("id")).await.expect("case");
    assert!(
        page.timeline.iter().any(|e| matches!(e.event, hub::service::dashboard::TimelineEvent::NoticeWithdrawn { .. })),
        "the timeline names the withdrawal"
    );
}
