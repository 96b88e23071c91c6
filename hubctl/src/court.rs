//! `court record` and `court import`: court notices of eviction lawsuits (MiZi), recorded by the
//! Fachstelle one `RecordCourtNotice` per notice.

use hub_proto::v1::notice_service_client::NoticeServiceClient;
use hub_proto::v1::{CourtNotice, NoticeOutcome, NoticeResult, RecordCourtNoticeRequest, TenantContact};
use tonic::Code;
use tonic::transport::Channel;

use crate::args::CourtRecordArgs;
use crate::arrears::Cells;
use crate::connect::Hub;
use crate::csv::{Column, Row, Sheet, opt, req};
use crate::german;
use crate::import::{Outcome, Problem, Progress, Report, RowResult};
use crate::names::name_of;

/// The columns of a court notice file; the order does not matter.
pub const COLUMNS: &[Column] = &[
    req("aktenzeichen"),
    req("eingang_klage"),
    opt("zustellung"),
    req("name"),
    req("vorname"),
    opt("strasse"),
    opt("hausnummer"),
    opt("plz"),
    opt("ort"),
    opt("vermieter"),
    opt("vermieter_org"),
    req("monatsmiete"),
    req("rueckstand_eingeklagt"),
    opt("nutzungsentschaedigung"),
    opt("termin"),
    opt("stadtbezirk"),
    opt("mietverhaeltnis_ref"),
];

/// The hub's field paths of a `CourtNotice` (below `notice.`) and the CSV column / option each
/// comes from.
const FIELD_COLUMNS: [(&str, &str); 17] = [
    ("court_file_number", "aktenzeichen"),
    ("claim_received_date", "eingang_klage"),
    ("claim_served_date", "zustellung"),
    ("tenants", "name"),
    ("tenants[0].family_name", "name"),
    ("tenants[0].given_name", "vorname"),
    ("tenants[0].street", "strasse"),
    ("tenants[0].house_number", "hausnummer"),
    ("tenants[0].postal_code", "plz"),
    ("tenants[0].city", "ort"),
    ("landlord_name", "vermieter"),
    ("landlord_organisation_id", "vermieter_org"),
    ("monthly_rent_cents", "monatsmiete"),
    ("arrears_claimed_cents", "rueckstand_eingeklagt"),
    ("use_compensation_cents", "nutzungsentschaedigung"),
    ("hearing_date", "termin"),
    ("stadtbezirk", "stadtbezirk"),
];

/// The CSV column of a hub field path; unknown paths are returned as they are.
pub fn column_of(field: &str) -> String {
    let field = field.strip_prefix("notice.").unwrap_or(field);
    if field == "tenancy_reference" {
        return "mietverhaeltnis_ref".to_owned();
    }
    FIELD_COLUMNS
        .iter()
        .find(|(path, _)| *path == field)
        .map(|(_, column)| (*column).to_owned())
        .unwrap_or_else(|| field.to_owned())
}

/// The notice from the options of `court record` (already parsed by clap).
pub fn notice_from_args(args: &CourtRecordArgs) -> CourtNotice {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    CourtNotice {
        court_file_number: args.aktenzeichen.clone(),
        claim_received_date: german::iso(args.eingang),
        claim_served_date: args.zustellung.map(german::iso).unwrap_or_default(),
        tenants: vec![TenantContact {
            family_name: args.name.clone(),
            given_name: args.vorname.clone(),
            street: text(&args.strasse),
            house_number: text(&args.hausnummer),
            postal_code: text(&args.plz),
            city: text(&args.ort),
            phone: String::new(),
            email: String::new(),
        }],
        landlord_name: text(&args.vermieter),
        landlord_organisation_id: text(&args.vermieter_org),
        monthly_rent_cents: args.monatsmiete,
        arrears_claimed_cents: args.rueckstand,
        use_compensation_cents: args.nutzungsentschaedigung.unwrap_or_default(),
        hearing_date: args.termin.map(german::iso).unwrap_or_default(),
        stadtbezirk: args.stadtbezirk.map_or(0, |value| value as i32),
        tenancy_reference: text(&args.mietverhaeltnis_ref),
    }
}

/// A notice with its row number.
pub type Numbered = (usize, CourtNotice);

/// Reads a court notice file: the valid rows and the rejected ones. A header problem is an error.
pub fn parse_file(text: &str) -> Result<(Vec<Numbered>, Vec<RowResult>), erp_import::msg::Msg> {
    let sheet = Sheet::parse(text, COLUMNS)?;
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for row in sheet.rows() {
        match row {
            Ok(row) => match parse_row(&row) {
                Ok(notice) => valid.push((row.row, notice)),
                Err(problems) => rejected.push(RowResult::rejected(row.row, problems)),
            },
            Err((number, reason)) => rejected.push(RowResult::rejected(number, vec![Problem::new("-", reason)])),
        }
    }
    Ok((valid, rejected))
}

/// One row as a court notice, or every problem found in it.
pub fn parse_row(row: &Row<'_>) -> Result<CourtNotice, Vec<Problem>> {
    let mut cells = Cells::new(row);
    let file_number = cells.required("aktenzeichen", |text| Ok(text.to_owned()));
    let received = cells.required("eingang_klage", german::date);
    let served = cells.optional("zustellung", german::date);
    let family_name = cells.required("name", |text| Ok(text.to_owned()));
    let given_name = cells.required("vorname", |text| Ok(text.to_owned()));
    let postal_code = cells.optional("plz", german::postal_code);
    let rent = cells.required("monatsmiete", german::amount_cents);
    let arrears = cells.required("rueckstand_eingeklagt", german::amount_cents);
    let compensation = cells.optional("nutzungsentschaedigung", german::amount_cents);
    let hearing = cells.optional("termin", german::date);
    let stadtbezirk = cells.optional("stadtbezirk", german::stadtbezirk);
    let (
        Some(file_number),
        Some(received),
        Some(served),
        Some(family_name),
        Some(given_name),
        Some(postal_code),
        Some(rent),
        Some(arrears),
        Some(compensation),
        Some(hearing),
        Some(stadtbezirk),
    ) = (
        file_number,
        received,
        served,
        family_name,
        given_name,
        postal_code,
        rent,
        arrears,
        compensation,
        hearing,
        stadtbezirk,
    )
    else {
        return Err(cells.problems);
    };
    let text = |column: &str| row.get(column).unwrap_or_default().to_owned();
    Ok(CourtNotice {
        court_file_number: file_number,
        claim_received_date: german::iso(received),
        claim_served_date: served.map(german::iso).unwrap_or_default(),
        tenants: vec![TenantContact {
            family_name,
            given_name,
            street: text("strasse"),
            house_number: text("hausnummer"),
            postal_code: postal_code.unwrap_or_default(),
            city: text("ort"),
            phone: String::new(),
            email: String::new(),
        }],
        landlord_name: text("vermieter"),
        landlord_organisation_id: text("vermieter_org"),
        monthly_rent_cents: rent,
        arrears_claimed_cents: arrears,
        use_compensation_cents: compensation.unwrap_or_default(),
        hearing_date: hearing.map(german::iso).unwrap_or_default(),
        stadtbezirk: stadtbezirk.map_or(0, |value| value as i32),
        tenancy_reference: text("mietverhaeltnis_ref"),
    })
}

/// The client for court notices.
pub fn client(hub: &Hub) -> NoticeServiceClient<Channel> {
    NoticeServiceClient::new(hub.channel())
}

/// Records one notice: the hub's result and the case it was linked to, if any.
pub async fn record(
    hub: &Hub,
    client: &mut NoticeServiceClient<Channel>,
    key: String,
    notice: CourtNotice,
) -> Result<(NoticeResult, String), tonic::Status> {
    let request = RecordCourtNoticeRequest { idempotency_key: key, notice: Some(notice) };
    let response = client.record_court_notice(hub.request(request)).await?.into_inner();
    Ok((response.result.unwrap_or_default(), response.case_id))
}

/// Records every valid row, one request each, and merges the results with the local rejections.
/// A refusal of the row (invalid, precondition) rejects the row; anything else (no permission, hub
/// unavailable) stops the import, since every further row would fail the same way.
pub async fn send(hub: &Hub, valid: Vec<Numbered>, mut results: Vec<RowResult>) -> anyhow::Result<Report> {
    let mut client = client(hub);
    let mut progress = Progress::new(valid.len());
    for (row, notice) in valid {
        let key = uuid::Uuid::new_v4().to_string();
        match record(hub, &mut client, key, notice).await {
            Ok((result, case_id)) => {
                let outcome = match NoticeOutcome::try_from(result.outcome) {
                    Ok(NoticeOutcome::Accepted) => Outcome::Accepted,
                    Ok(NoticeOutcome::Updated) => Outcome::Updated,
                    Ok(NoticeOutcome::Unchanged) => Outcome::Unchanged,
                    Ok(NoticeOutcome::Rejected | NoticeOutcome::Unspecified) | Err(_) => Outcome::Rejected,
                };
                let problems = result
                    .violations
                    .iter()
                    .map(|violation| Problem::english(column_of(&violation.field), violation.reason.clone()))
                    .collect();
                results.push(RowResult {
                    row,
                    outcome,
                    notice_id: result.notice_id,
                    case_id,
                    problems,
                    warnings: Vec::new(),
                });
            }
            Err(status) if row_refused(status.code()) => {
                results.push(RowResult::rejected(row, vec![status_problem(&status)]));
            }
            Err(status) => {
                progress.finish();
                eprintln!(
                    "stopped at row {row}; the rows before it were recorded (importing the file again is safe: \
                     the hub keys court notices by Aktenzeichen)"
                );
                return Err(status.into());
            }
        }
        progress.tick();
    }
    Ok(Report::new(results))
}

/// Codes that concern the row rather than the caller or the hub.
fn row_refused(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::NotFound | Code::OutOfRange
    )
}

/// An INVALID_ARGUMENT status reads `field: reason`; anything else is shown with its code.
pub fn status_problem(status: &tonic::Status) -> Problem {
    let message = status.message();
    if status.code() == Code::InvalidArgument
        && let Some((field, reason)) = message.split_once(": ")
        && !field.contains(' ')
    {
        return Problem::english(column_of(field), reason);
    }
    Problem::english("-", format!("{}: {message}", crate::grpc_code_name(status.code())))
}

/// The line `court record` prints.
pub fn result_line(result: &NoticeResult, case_id: &str) -> String {
    let outcome = name_of::<NoticeOutcome>(result.outcome);
    let mut line = format!("court notice {}: {outcome}", result.notice_id);
    if !case_id.is_empty() {
        line.push_str(&format!(" (open case {case_id} updated)"));
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_proto::v1::Stadtbezirk;

    const HEADER: &str = "aktenzeichen;eingang_klage;zustellung;name;vorname;strasse;hausnummer;plz;ort;vermieter;\
                          vermieter_org;monatsmiete;rueckstand_eingeklagt;nutzungsentschaedigung;termin;stadtbezirk;\
                          mietverhaeltnis_ref";

    #[test]
    fn a_row_maps_to_the_notice() {
        let text = format!(
            "{HEADER}\n514 C 123/26;05.01.2026;;K.;Anna;Testweg;3;30159;Hannover;Wohnbau Nord eG;wohnbau-nord;\
             780,00;1.560,00;;12.03.2026;Linden-Limmer;WN-1\n"
        );
        let (valid, rejected) = parse_file(&text).expect("header");
        assert!(rejected.is_empty(), "{rejected:?}");
        let (row, notice) = &valid[0];
        assert_eq!(*row, 2);
        assert_eq!(notice.court_file_number, "514 C 123/26");
        assert_eq!(notice.claim_received_date, "2026-01-05");
        assert_eq!(notice.claim_served_date, "");
        assert_eq!(notice.monthly_rent_cents, 78_000);
        assert_eq!(notice.arrears_claimed_cents, 156_000);
        assert_eq!(notice.hearing_date, "2026-03-12");
        assert_eq!(notice.stadtbezirk, Stadtbezirk::LindenLimmer as i32);
        assert_eq!(notice.tenants[0].family_name, "K.");
        assert_eq!(notice.tenancy_reference, "WN-1");
    }

    #[test]
    fn bad_cells_are_reported() {
        let text = format!("{HEADER}\n;32.01.2026;;;Anna;;;301;;;;780;1.560,001;;;Hildesheim;\n");
        let (valid, rejected) = parse_file(&text).expect("header");
        assert!(valid.is_empty());
        let columns: Vec<&str> = rejected[0].problems.iter().map(|problem| problem.column.as_str()).collect();
        assert_eq!(columns, ["aktenzeichen", "eingang_klage", "name", "plz", "rueckstand_eingeklagt", "stadtbezirk"]);
    }

    #[test]
    fn hub_fields_and_statuses_map_to_columns() {
        assert_eq!(column_of("notice.tenants[0].family_name"), "name");
        assert_eq!(column_of("notice.claim_received_date"), "eingang_klage");
        assert_eq!(column_of("notice.tenancy_reference"), "mietverhaeltnis_ref");
        assert_eq!(column_of("notice.something_new"), "something_new");
        let status = tonic::Status::invalid_argument("notice.claim_served_date: must not be in the future");
        assert_eq!(status_problem(&status), Problem::english("zustellung", "must not be in the future"));
        let status = tonic::Status::failed_precondition("the notice was taken up already");
        assert_eq!(status_problem(&status).column, "-");
    }
}
