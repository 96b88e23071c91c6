//! The housing-company portal: the company's early notices with what it may learn about each, and
//! the form for one notice. The notice is the same `ArrearsData` the API takes, checked by the same
//! use case; this edge only reads the form and shows the rule's message at its field.

use erp_import::csv::FileEncoding;
use erp_import::msg::Msg;
use erp_import::report::{Outcome, Problem, RowResult};

use super::*;
use crate::domain::case::Rent;
use crate::domain::notice::ArrearsData;
use crate::service::{BulkRecord, Submitted};

/// The form field a rule names, by the rule's field path.
const ARREARS_FIELDS: &[(&str, &str)] = &[
    ("tenancy_reference", "mietvertrag"),
    ("stadtbezirk", "bezirk"),
    ("bezirk", "bezirk"),
    ("consent_evidence", "nachweis"),
    ("remark", "bemerkung"),
    ("stage", "stufe"),
    ("stufe", "stufe"),
    ("stage_date", "stufe_datum"),
    ("stufe_datum", "stufe_datum"),
    ("termination_date", "kuendigung"),
    ("kuendigung", "kuendigung"),
    ("claim_served_date", "klage"),
    ("klage", "klage"),
    ("raeumung", "raeumung"),
    ("arrears_total_cents", "rueckstand"),
    ("rueckstand", "rueckstand"),
    ("grundmiete", "grundmiete"),
    ("nebenkosten", "nebenkosten"),
    ("heizkosten", "heizkosten"),
    ("tenant", "nachname"),
    ("tenant.family_name", "nachname"),
    ("tenant.given_name", "vorname"),
    ("tenant.street", "strasse"),
    ("tenant.house_number", "hausnummer"),
    ("tenant.postal_code", "plz"),
    ("tenant.city", "ort"),
    ("tenant.phone", "telefon"),
    ("tenant.email", "email"),
];

/// The portal page, with a refused notice's input and message.
async fn portal_page(
    state: &DashState,
    member: &Member,
    echo: Option<views::portal::NoticeEcho>,
    done: Option<&str>,
) -> Response {
    let frame = member.frame(Nav::Notices);
    match state.hub.notice_statuses(&member.user.caller, &[]).await {
        Ok(rows) => {
            let status = if echo.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let body = views::portal::render(&rows, &member.ctx(state), echo.as_ref(), done);
            html(status, page(views::portal::TITLE, Some(&frame), &body))
        }
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /rueckstaende : the company's notices and the form for a new one.
pub async fn portal(State(state): State<DashState>, member: Member, Query(q): Query<DoneQuery>) -> Response {
    portal_page(&state, &member, None, q.erledigt.as_deref()).await
}

/// The notice as the form sent it. Names and contact data go with it only when filled in; evidence
/// of the tenant's consent is what makes them lawful (the domain's rule).
fn arrears_data(form: &FormData) -> Result<ArrearsData, HubError> {
    let tenant = TenantContact {
        family_name: form.one("nachname").unwrap_or_default(),
        given_name: form.one("vorname").unwrap_or_default(),
        street: form.one("strasse").unwrap_or_default(),
        house_number: form.one("hausnummer").unwrap_or_default(),
        postal_code: form.one("plz").unwrap_or_default(),
        city: form.one("ort").unwrap_or_default(),
        phone: form.one("telefon").unwrap_or_default(),
        email: form.one("email").unwrap_or_default(),
    };
    Ok(ArrearsData {
        tenancy_reference: form.one("mietvertrag").unwrap_or_default(),
        stadtbezirk: required(parse_one(form, "bezirk", Stadtbezirk::parse)?, "bezirk")?,
        rent: Rent {
            base: form_cents(form, "grundmiete")?,
            service_charge_advance: form_cents(form, "nebenkosten")?,
            heating_advance: form_cents(form, "heizkosten")?,
        },
        ledger: Vec::new(),
        arrears_total: form_cents(form, "rueckstand")?,
        oldest_unpaid_month: None,
        stage: required(parse_one(form, "stufe", ThreatStage::parse)?, "stufe")?,
        stage_date: form_day(form, "stufe_datum")?,
        termination_date: form_day(form, "kuendigung")?,
        claim_served: form_day(form, "klage")?,
        eviction_date: form_day(form, "raeumung")?,
        consent_evidence: form.non_empty("nachweis"),
        tenant: (!tenant.is_empty()).then_some(tenant),
        remark: form.one("bemerkung").unwrap_or_default(),
    })
}

/// POST /rueckstaende : reports one notice; back to the list with what happened, or to the form
/// with the rule's message at its field and everything entered kept.
pub async fn report_arrears(State(state): State<DashState>, member: Member, form: FormData) -> Response {
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let result = match (arrears_data(&form), form_idem("arrears", &form)) {
        (Ok(data), Ok(idem)) => state.hub.submit_arrears(&member.user.caller, &idem, data).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok((submitted, _)) => {
            let done = match submitted {
                Submitted::Accepted => "neu",
                Submitted::Updated => "aktualisiert",
                Submitted::Unchanged => "unveraendert",
            };
            let mut r = Redirect::to(&format!("/rueckstaende?erledigt={done}")).into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e @ (HubError::Invalid(_) | HubError::FailedPrecondition(_))) => {
            let field = match &e {
                HubError::Invalid(f) => ARREARS_FIELDS.iter().find(|(path, _)| *path == f.field).map(|(_, name)| *name),
                _ => None,
            };
            let (_, _, message) = error_parts(e);
            portal_page(&state, &member, Some(views::portal::NoticeEcho { values: form, field, message }), None).await
        }
        Err(e) => error_page(e, Some(&member.frame(Nav::Notices))),
    }
}

/// POST /rueckstaende/zurueckziehen : the company withdraws a notice because the arrears were paid.
pub async fn withdraw_arrears(State(state): State<DashState>, member: Member, form: FormData) -> Response {
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let reference = form.one("mietvertrag").unwrap_or_default();
    let result = match form_idem("withdraw", &form) {
        Ok(idem) => state.hub.withdraw_notice(&member.user.caller, &idem, &reference).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            let mut r = Redirect::to("/rueckstaende?erledigt=zurueckgezogen").into_response();
            secure_headers(r.headers_mut());
            r
        }
        Err(e) => error_page(e, Some(&member.frame(Nav::Notices))),
    }
}

/// Largest export the portal takes: a day's arrears list of a large company is well under a
/// megabyte (2,005 rows: about 600 KB); a nationwide file goes through `hubctl arrears import`.
pub const MAX_EXPORT_BYTES: usize = 8 * 1024 * 1024;

/// POST /rueckstaende/datei : the daily ERP export. Read by the same reader as `hubctl arrears
/// import`, each row that forms a notice goes through the same use case as the API's stream; the
/// answer is a German report per row, with the rejected rows to download and fix.
pub async fn upload_export(
    State(state): State<DashState>,
    member: Member,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut encoding = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let file_name = field.file_name().map(str::to_owned);
                let Ok(bytes) = field.bytes().await else { return export_too_large(&member) };
                match (name.as_str(), file_name) {
                    ("csrf", _) => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    ("kodierung", _) => encoding = String::from_utf8_lossy(&bytes).into_owned(),
                    ("datei", Some(file_name)) if !bytes.is_empty() => file = Some((file_name, bytes.to_vec())),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return export_too_large(&member),
        }
    }
    let form = FormData::parse(
        format!("csrf={}", form_urlencoded::byte_serialize(csrf.as_bytes()).collect::<String>()).as_bytes(),
    );
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let frame = member.frame(Nav::Notices);
    let Some((file_name, bytes)) = file else {
        let echo = views::portal::NoticeEcho {
            values: FormData::parse(b""),
            field: Some("datei"),
            message: "Bitte eine CSV-Datei auswählen.".into(),
        };
        return portal_page(&state, &member, Some(echo), None).await;
    };
    let encoding = match encoding.as_str() {
        "utf-8" => FileEncoding::Utf8,
        "windows-1252" => FileEncoding::Windows1252,
        _ => FileEncoding::Auto,
    };
    let file_error = |message: String| {
        let echo = views::portal::NoticeEcho { values: FormData::parse(b""), field: Some("datei"), message };
        portal_page(&state, &member, Some(echo), None)
    };
    let decoded = match erp_import::csv::decode(&bytes, encoding) {
        Ok(d) => d,
        Err(m) => return file_error(m.de).await,
    };
    let read = match erp_import::arrears::read(&decoded.text) {
        Ok(r) => r,
        Err(m) => return file_error(m.de).await,
    };
    let windows_1252 = decoded.windows_1252;
    drop(decoded);
    // The answer is streamed: the page starts at once and says how far the check has got after
    // every batch (the pages have no script), then the report follows.
    let (head, tail) = page_around("Ergebnis der Datei", &frame);
    let (out, body) = tokio::sync::mpsc::channel::<Result<String, std::convert::Infallible>>(4);
    let hub = state.hub.clone();
    let caller = member.user.caller.clone();
    let ctx = member.ctx(&state);
    tokio::spawn(async move {
        let erp_import::arrears::Read { sheet, parsed: (valid, rejected) } = read;
        let total = valid.len() + rejected.len();
        let _ = out.send(Ok(head)).await;
        let _ = out.send(Ok(views::portal::progress_start(&file_name, total))).await;
        let mut results = rejected;
        let mut checked = results.len();
        let mut valid = valid.into_iter();
        loop {
            let batch: Vec<erp_import::arrears::Valid> = valid.by_ref().take(PROGRESS_BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let records: Vec<BulkRecord> = batch
                .iter()
                .map(|v| (v.row.to_string(), crate::grpc::notices::arrears(Some(v.notice.clone()))))
                .collect();
            match hub.submit_arrears_bulk(&caller, records).await {
                Ok(answers) => results.extend(row_results(&batch, answers)),
                // Nothing of this batch or the rest is stored: the report says which rows, and the
                // same file uploaded again stores them (rows stored already come back unchanged).
                Err(e) => {
                    tracing::warn!(error = %e, "the portal's upload stopped");
                    let why = Msg::new(
                        "not stored: the hub could not store it just now; upload the file again",
                        "nicht gespeichert: Der Hub konnte die Zeile gerade nicht speichern; bitte die Datei noch einmal hochladen",
                    );
                    for v in batch.iter().chain(valid.by_ref().collect::<Vec<_>>().iter()) {
                        results.push(RowResult::rejected(v.row, vec![Problem::new("-", why.clone())]));
                    }
                    break;
                }
            }
            checked += batch.len();
            let _ = out.send(Ok(views::portal::progress_line(checked.min(total), total))).await;
        }
        results.sort_by_key(|r| r.row);
        let rejects = erp_import::arrears::rejected_rows_csv(&sheet, &results);
        let report = views::portal::render_report(&file_name, windows_1252, &results, rejects, &ctx);
        let _ = out.send(Ok(crate::dashboard::layout::scroll_tables(&report))).await;
        let _ = out.send(Ok(tail)).await;
    });
    let mut r = (StatusCode::OK, axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(body)))
        .into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure_headers(r.headers_mut());
    r
}

/// Rows stored per batch of an upload, each followed by a line of progress.
const PROGRESS_BATCH: usize = 250;

/// The report lines of a batch of rows from the use case's answers.
fn row_results(batch: &[erp_import::arrears::Valid], answers: Vec<crate::service::BulkResult>) -> Vec<RowResult> {
    let mut by_row: std::collections::HashMap<usize, &erp_import::arrears::Valid> =
        batch.iter().map(|v| (v.row, v)).collect();
    let mut out = Vec::with_capacity(batch.len());
    for answer in answers {
        let Some(v) = answer.record_ref.parse::<usize>().ok().and_then(|row| by_row.remove(&row)) else { continue };
        out.push(match answer.outcome {
            Ok((submitted, id)) => RowResult {
                row: v.row,
                outcome: match submitted {
                    Submitted::Accepted => Outcome::Accepted,
                    Submitted::Updated => Outcome::Updated,
                    Submitted::Unchanged => Outcome::Unchanged,
                },
                notice_id: id.to_string(),
                case_id: String::new(),
                problems: Vec::new(),
                warnings: v.warnings.clone(),
            },
            Err(f) => {
                let column = erp_import::arrears::column_of(&f.field, Some(&v.notice));
                let de = f.reason_de.clone().unwrap_or_else(|| f.reason.clone());
                RowResult::rejected(v.row, vec![Problem::new(column, Msg::new(f.reason, de))])
            }
        });
    }
    out
}

/// A page's frame around its body, as the text before and after it, for a streamed page.
fn page_around(title: &str, frame: &crate::dashboard::layout::Frame<'_>) -> (String, String) {
    const BODY: &str = "\u{1}streamed-body\u{1}";
    let whole = page(title, Some(frame), BODY);
    match whole.split_once(BODY) {
        Some((head, tail)) => (head.to_owned(), tail.to_owned()),
        None => (whole, String::new()),
    }
}

/// POST /rueckstaende/abgelehnt.csv : hands the rejected rows of the report back as a file to fix
/// and upload again (the page carries them; nothing is stored for it).
pub async fn rejected_rows(member: Member, form: FormData) -> Response {
    if let Err(r) = member.check_csrf(&form) {
        return *r;
    }
    let text = form.one("zeilen").unwrap_or_default();
    let mut r = (StatusCode::OK, format!("\u{FEFF}{text}")).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"abgelehnte-zeilen.csv\""));
    secure_headers(h);
    r
}

/// The answer to an upload the page could not read (larger than the limit, or broken).
fn export_too_large(member: &Member) -> Response {
    message_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Datei zu groß",
        "Die Datei ist größer als 8 MB oder kam nicht vollständig an. Große Exporte laden Sie bitte mit \
         „hubctl arrears import“ hoch; Ihre IT kann das einrichten.",
        Some(&member.frame(Nav::Notices)),
    )
}
