//! A housing company's ERP export of tenancies in arrears, one early notice per row.
//!
//! Rows that do not parse are refused here and never leave the machine. A row without the tenant's
//! consent that carries names, contact data or a remark is still an early warning the Fachstelle needs:
//! it is sent as the pseudonymous notice it may be, those cells are dropped here (they never leave the
//! machine) and the row is reported with a warning naming each dropped column. The hub checks the rest
//! again and its verdicts are mapped back to the CSV columns, so the report always speaks the file's
//! language.

use std::collections::HashMap;

use hub_proto::v1::{ArrearsNotice, RentComponents, TenantContact};

use crate::csv::{Column, Row, Sheet, opt, req};
use crate::german;
use crate::msg::Msg;
use crate::profile::Profile;
use crate::report::{Problem, RowResult};

/// The columns of the file; the order does not matter.
pub const COLUMNS: &[Column] = &[
    req("mietverhaeltnis_ref"),
    req("stadtbezirk"),
    req("einwilligung"),
    opt("einwilligung_nachweis"),
    opt("name"),
    opt("vorname"),
    opt("strasse"),
    opt("hausnummer"),
    opt("plz"),
    opt("ort"),
    opt("telefon"),
    opt("email"),
    req("grundmiete"),
    opt("nebenkosten_vz"),
    opt("heizkosten_vz"),
    req("rueckstand_gesamt"),
    opt("aeltester_offener_monat"),
    req("stufe"),
    opt("kuendigung_datum"),
    opt("klage_zugestellt_am"),
    opt("raeumungstermin"),
    opt("bemerkung"),
    // The reasons of a file of rejected rows (`rejected_rows_csv`), ignored when it comes back fixed.
    opt(ERROR_COLUMN),
];

/// The tenant columns, in the order they are reported, with their proto field.
const TENANT_COLUMNS: [(&str, &str); 8] = [
    ("name", "family_name"),
    ("vorname", "given_name"),
    ("strasse", "street"),
    ("hausnummer", "house_number"),
    ("plz", "postal_code"),
    ("ort", "city"),
    ("telefon", "phone"),
    ("email", "email"),
];

/// The hub's field paths of an `ArrearsNotice` and the CSV column each comes from.
const FIELD_COLUMNS: [(&str, &str); 15] = [
    ("tenancy_reference", "mietverhaeltnis_ref"),
    ("stadtbezirk", "stadtbezirk"),
    ("tenant_consented", "einwilligung"),
    ("consent_evidence", "einwilligung_nachweis"),
    ("rent.base_rent_cents", "grundmiete"),
    ("rent.service_charge_advance_cents", "nebenkosten_vz"),
    ("rent.heating_advance_cents", "heizkosten_vz"),
    ("arrears_total_cents", "rueckstand_gesamt"),
    ("oldest_unpaid_month", "aeltester_offener_monat"),
    ("stage", "stufe"),
    ("stage_date", "stufe"),
    ("termination_date", "kuendigung_datum"),
    ("claim_served_date", "klage_zugestellt_am"),
    ("eviction_date", "raeumungstermin"),
    ("remark", "bemerkung"),
];

/// A row ready to send.
#[derive(Debug, Clone)]
pub struct Valid {
    /// Row number.
    pub row: usize,
    /// The notice.
    pub notice: ArrearsNotice,
    /// Cells left out of the notice, and why.
    pub warnings: Vec<Problem>,
}

/// Reads the file: the valid rows and the rejected ones. A header problem is an error.
pub fn parse_file(text: &str) -> Result<(Vec<Valid>, Vec<RowResult>), Msg> {
    parse_mapped(text, None)
}

/// [`parse_file`] for an export whose headers and values `profile` translates.
pub fn parse_mapped(text: &str, profile: Option<&Profile>) -> Result<(Vec<Valid>, Vec<RowResult>), Msg> {
    read_mapped(text, profile).map(|r| r.parsed)
}

/// The rows of a sheet: the valid ones and the rejected ones.
fn parse_sheet(sheet: &Sheet) -> (Vec<Valid>, Vec<RowResult>) {
    let mut valid = Vec::with_capacity(sheet.len());
    let mut rejected = Vec::new();
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for row in sheet.rows() {
        let row = match row {
            Ok(row) => row,
            Err((number, reason)) => {
                rejected.push(RowResult::rejected(number, vec![Problem::new("-", reason)]));
                continue;
            }
        };
        match parse_row(&row) {
            Ok((notice, warnings)) => {
                // One row per tenancy: a second row would overwrite the first, and a re-import
                // would flip between them.
                match first_row_of.get(&notice.tenancy_reference) {
                    Some(first) => rejected.push(RowResult::rejected(
                        row.row,
                        vec![Problem::new(
                            "mietverhaeltnis_ref",
                            Msg::new(
                                format!("the same reference is in row {first}"),
                                format!("derselbe Mietvertrag steht schon in Zeile {first}"),
                            ),
                        )],
                    )),
                    None => {
                        first_row_of.insert(notice.tenancy_reference.clone(), row.row);
                        valid.push(Valid { row: row.row, notice, warnings });
                    }
                }
            }
            Err(problems) => rejected.push(RowResult::rejected(row.row, problems)),
        }
    }
    (valid, rejected)
}

/// A file read: its sheet (for the file of the rows to fix) and its rows parsed.
pub struct Read {
    /// The records as read.
    pub sheet: Sheet,
    /// The valid rows and the rejected ones.
    pub parsed: (Vec<Valid>, Vec<RowResult>),
}

/// Reads the file with its sheet kept (see [`parse_mapped`]).
pub fn read(text: &str) -> Result<Read, Msg> {
    read_mapped(text, None)
}

/// [`read`] for an export whose headers and values `profile` translates.
pub fn read_mapped(text: &str, profile: Option<&Profile>) -> Result<Read, Msg> {
    let sheet = Sheet::parse_mapped(text, COLUMNS, profile)?;
    let parsed = parse_sheet(&sheet);
    Ok(Read { sheet, parsed })
}

/// The rejected rows of `results` as a file in the export's own dialect: its header with a column
/// `fehler` added, and each rejected row as it was read with its reasons in German, so the rows can be
/// fixed in the spreadsheet program and uploaded again (the `fehler` column is ignored then: remove it
/// or leave it, see [`COLUMNS`]).
pub fn rejected_rows_csv(sheet: &Sheet, results: &[RowResult]) -> Option<String> {
    let rejected: Vec<&RowResult> = results.iter().filter(|r| r.outcome == crate::report::Outcome::Rejected).collect();
    if rejected.is_empty() {
        return None;
    }
    let mut header = sheet.header_fields().to_vec();
    header.push(ERROR_COLUMN.to_owned());
    let mut out = crate::csv::write_record(&header);
    for r in rejected {
        let Some(fields) = sheet.record(r.row) else { continue };
        let mut fields = fields.to_vec();
        fields.resize(header.len() - 1, String::new());
        let reasons: Vec<String> = r.problems.iter().map(|p| format!("{}: {}", p.column, p.reason_de)).collect();
        fields.push(reasons.join("; "));
        out.push_str(&crate::csv::write_record(&fields));
    }
    Some(out)
}

/// The column a file of rows to fix carries the reasons in; read back, it is ignored.
pub const ERROR_COLUMN: &str = "fehler";

/// Whether `column` takes `value` (a profile's value targets are checked with this before any row is read).
pub fn accepts(column: &str, value: &str) -> Result<(), String> {
    let checked = match column {
        "stufe" => german::reportable_stage(value).map(|_| ()),
        "einwilligung" => german::yes_no(value).map(|_| ()),
        "stadtbezirk" => german::stadtbezirk(value).map(|_| ()),
        _ => Ok(()),
    };
    checked.map_err(|m| m.en)
}

/// Why a cell of a row without consent is left out.
fn dropped_contact() -> Msg {
    Msg::new(
        "not sent: names and contact data need the tenant's consent (einwilligung ja); the notice is sent without them",
        "nicht übernommen: Namen und Kontaktdaten nur mit Einwilligung (einwilligung ja); die Meldung geht ohne sie ein",
    )
}

/// Why a remark of a row without consent is left out.
fn dropped_remark() -> Msg {
    Msg::new(
        "not sent: free text may identify the tenant and needs the tenant's consent; the notice is sent without it",
        "nicht übernommen: eine Bemerkung kann die Person erkennbar machen und braucht die Einwilligung; die Meldung \
         geht ohne sie ein",
    )
}

/// One row as a notice with the cells left out of it (warnings), or every problem found in it.
pub fn parse_row(row: &Row<'_>) -> Result<(ArrearsNotice, Vec<Problem>), Vec<Problem>> {
    let mut cells = Cells::new(row);
    let reference = cells.required("mietverhaeltnis_ref", |text| {
        if text.chars().count() > 64 {
            Err(Msg::new("is longer than 64 characters", "ist länger als 64 Zeichen"))
        } else if text.chars().any(char::is_control) {
            Err(Msg::new("contains control characters", "enthält Steuerzeichen"))
        } else {
            Ok(text.to_owned())
        }
    });
    let stadtbezirk = cells.required("stadtbezirk", german::stadtbezirk);
    let consented = cells.optional("einwilligung", german::yes_no).map(Option::unwrap_or_default);
    let evidence = row.get("einwilligung_nachweis").unwrap_or_default().to_owned();
    let base_rent = cells.required("grundmiete", german::amount_cents);
    let service_charge = cells.optional("nebenkosten_vz", german::amount_cents);
    let heating = cells.optional("heizkosten_vz", german::amount_cents);
    let arrears = cells.required("rueckstand_gesamt", german::amount_cents);
    let oldest = cells.optional("aeltester_offener_monat", german::month);
    let stage = cells.required("stufe", german::reportable_stage);
    let termination = cells.optional("kuendigung_datum", german::date);
    let claim_served = cells.optional("klage_zugestellt_am", german::date);
    let eviction = cells.optional("raeumungstermin", german::date);
    let mut remark = row.get("bemerkung").unwrap_or_default().to_owned();
    let mut warnings = Vec::new();
    // Checked for its problem only: the cell itself goes into the tenant's contact below.
    cells.optional("plz", german::postal_code);
    let tenant_cell = |column: &str| row.get(column).unwrap_or_default().to_owned();
    let mut first_tenant_column =
        TENANT_COLUMNS.iter().map(|(column, _)| *column).find(|column| row.get(column).is_some());

    // Consent rules: applied here so that identifying data without consent never leaves the machine.
    if let Some(consented) = consented {
        if consented && evidence.is_empty() {
            cells.problems.push(Problem::new(
                "einwilligung_nachweis",
                Msg::new(
                    "is required with einwilligung (e.g. the date of the signed reply slip)",
                    "ist mit Einwilligung Pflicht (zum Beispiel das Datum des unterschriebenen Antwortbogens)",
                ),
            ));
        }
        if !consented {
            if !evidence.is_empty() {
                cells.problems.push(Problem::new(
                    "einwilligung_nachweis",
                    Msg::new("is only allowed with einwilligung ja", "nur mit Einwilligung (einwilligung ja)"),
                ));
            }
            for (column, _) in TENANT_COLUMNS.iter().filter(|(column, _)| row.get(column).is_some()) {
                warnings.push(Problem::new(*column, dropped_contact()));
            }
            first_tenant_column = None;
            if !remark.is_empty() {
                warnings.push(Problem::new("bemerkung", dropped_remark()));
                remark.clear();
            }
        }
    }

    let (
        Some(reference),
        Some(stadtbezirk),
        Some(consented),
        Some(base_rent),
        Some(service_charge),
        Some(heating),
        Some(arrears),
        Some(oldest),
        Some(stage),
        Some(termination),
        Some(claim_served),
        Some(eviction),
    ) = (
        reference,
        stadtbezirk,
        consented,
        base_rent,
        service_charge,
        heating,
        arrears,
        oldest,
        stage,
        termination,
        claim_served,
        eviction,
    )
    else {
        return Err(cells.problems);
    };
    if !cells.problems.is_empty() {
        return Err(cells.problems);
    }
    let tenant = first_tenant_column.map(|_| TenantContact {
        family_name: tenant_cell("name"),
        given_name: tenant_cell("vorname"),
        street: tenant_cell("strasse"),
        house_number: tenant_cell("hausnummer"),
        postal_code: tenant_cell("plz"),
        city: tenant_cell("ort"),
        phone: tenant_cell("telefon"),
        email: tenant_cell("email"),
    });
    let notice = ArrearsNotice {
        tenancy_reference: reference,
        stadtbezirk: stadtbezirk as i32,
        rent: Some(RentComponents {
            base_rent_cents: base_rent,
            service_charge_advance_cents: service_charge.unwrap_or_default(),
            heating_advance_cents: heating.unwrap_or_default(),
        }),
        ledger: Vec::new(),
        arrears_total_cents: arrears,
        oldest_unpaid_month: oldest.unwrap_or_default(),
        stage: stage as i32,
        stage_date: String::new(),
        termination_date: termination.map(german::iso).unwrap_or_default(),
        claim_served_date: claim_served.map(german::iso).unwrap_or_default(),
        eviction_date: eviction.map(german::iso).unwrap_or_default(),
        tenant_consented: consented,
        consent_evidence: evidence,
        tenant,
        remark,
    };
    Ok((notice, warnings))
}

/// Parses cells and collects their problems.
pub struct Cells<'r, 'a> {
    row: &'r Row<'a>,
    /// Problems found so far.
    pub problems: Vec<Problem>,
}

impl<'r, 'a> Cells<'r, 'a> {
    /// Cells of a row.
    pub fn new(row: &'r Row<'a>) -> Self {
        Self { row, problems: Vec::new() }
    }

    /// A cell that must be filled: `None` when empty or invalid (the problem is recorded).
    pub fn required<T>(&mut self, column: &'static str, parse: impl FnOnce(&str) -> Result<T, Msg>) -> Option<T> {
        match self.row.get(column) {
            None => {
                self.problems.push(Problem::new(column, Msg::new("is required", "ist Pflicht")));
                None
            }
            Some(text) => self.parse(column, text, parse),
        }
    }

    /// A cell that may be empty: `Some(None)` when empty, `None` when invalid.
    pub fn optional<T>(
        &mut self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Result<T, Msg>,
    ) -> Option<Option<T>> {
        match self.row.get(column) {
            None => Some(None),
            Some(text) => self.parse(column, text, parse).map(Some),
        }
    }

    fn parse<T>(&mut self, column: &'static str, text: &str, parse: impl FnOnce(&str) -> Result<T, Msg>) -> Option<T> {
        match parse(text) {
            Ok(value) => Some(value),
            Err(reason) => {
                self.problems.push(Problem::new(column, reason));
                None
            }
        }
    }
}

/// The CSV column of a field path from the hub (`tenant.family_name` -> `name`); a path this
/// file has no column for is returned as it is. `tenant` alone (identifying data without consent)
/// names the row's first filled tenant column.
pub fn column_of(field: &str, notice: Option<&ArrearsNotice>) -> String {
    let field = field.strip_prefix("notice.").unwrap_or(field);
    if let Some(tenant_field) = field.strip_prefix("tenant.")
        && let Some((column, _)) = TENANT_COLUMNS.iter().find(|(_, proto)| *proto == tenant_field)
    {
        return (*column).to_owned();
    }
    if field == "tenant" {
        let filled = notice.and_then(|notice| notice.tenant.as_ref()).and_then(|tenant| {
            let values = [
                &tenant.family_name,
                &tenant.given_name,
                &tenant.street,
                &tenant.house_number,
                &tenant.postal_code,
                &tenant.city,
                &tenant.phone,
                &tenant.email,
            ];
            TENANT_COLUMNS.iter().zip(values).find(|(_, value)| !value.is_empty()).map(|((column, _), _)| *column)
        });
        return filled.unwrap_or("name").to_owned();
    }
    FIELD_COLUMNS
        .iter()
        .find(|(path, _)| *path == field)
        .map(|(_, column)| (*column).to_owned())
        .unwrap_or_else(|| field.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_proto::v1::{Stadtbezirk, ThreatStage};

    const HEADER: &str = "mietverhaeltnis_ref;stadtbezirk;einwilligung;einwilligung_nachweis;name;vorname;strasse;\
                          hausnummer;plz;ort;telefon;email;grundmiete;nebenkosten_vz;heizkosten_vz;rueckstand_gesamt;\
                          aeltester_offener_monat;stufe;kuendigung_datum;klage_zugestellt_am;raeumungstermin;bemerkung";

    fn file(rows: &[&str]) -> String {
        let mut text = format!("\u{FEFF}{HEADER}\r\n");
        for row in rows {
            text.push_str(row);
            text.push_str("\r\n");
        }
        text
    }

    #[test]
    fn a_full_row_maps_to_the_notice() {
        let text = file(&["WN-1;Südstadt-Bult;ja;Antwortabschnitt 08.12.2025;K.;Anna;Testweg;3a;30159;Hannover;;;\
             600,00;120;60,5;1.560,00;11.2025;Kündigung fristlos;15.12.2025;;;\"Ruf an; bitte\""]);
        let (valid, rejected) = parse_file(&text).expect("header");
        assert!(rejected.is_empty(), "{rejected:?}");
        let Valid { row, notice, warnings } = &valid[0];
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(*row, 2);
        assert_eq!(notice.tenancy_reference, "WN-1");
        assert_eq!(notice.stadtbezirk, Stadtbezirk::SuedstadtBult as i32);
        assert_eq!(
            notice.rent,
            Some(RentComponents {
                base_rent_cents: 60_000,
                service_charge_advance_cents: 12_000,
                heating_advance_cents: 6_050
            })
        );
        assert_eq!(notice.arrears_total_cents, 156_000);
        assert_eq!(notice.oldest_unpaid_month, "2025-11");
        assert_eq!(notice.stage, ThreatStage::KuendigungFristlos as i32);
        assert_eq!(notice.termination_date, "2025-12-15");
        assert!(notice.tenant_consented);
        let tenant = notice.tenant.as_ref().expect("tenant");
        assert_eq!((tenant.family_name.as_str(), tenant.house_number.as_str()), ("K.", "3a"));
        assert_eq!(notice.remark, "Ruf an; bitte");
    }

    #[test]
    fn a_pseudonymous_row_has_no_tenant() {
        let text = file(&["WN-2;nord;nein;;;;;;;;;;500;;;1.000;;Mahnung;;;;"]);
        let (valid, rejected) = parse_file(&text).expect("header");
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(valid[0].notice.tenant, None);
        assert!(!valid[0].notice.tenant_consented);
    }

    #[test]
    fn identifying_cells_without_consent_are_dropped_and_named_the_notice_still_goes() {
        let text = file(&["WN-3;Mitte;nein;;Muster;;;;;;;;500;;;1.000;;Mahnung;;;;\"Frau M. ruft zurück\""]);
        let (valid, rejected) = parse_file(&text).expect("header");
        assert!(rejected.is_empty(), "{rejected:?}");
        let Valid { row, notice, warnings } = &valid[0];
        assert_eq!(*row, 2);
        assert_eq!((notice.tenant.as_ref(), notice.remark.as_str()), (None, ""), "nothing identifying is sent");
        let columns: Vec<&str> = warnings.iter().map(|warning| warning.column.as_str()).collect();
        assert_eq!(columns, ["name", "bemerkung"]);
        assert!(warnings.iter().all(|warning| warning.reason.starts_with("not sent")), "{warnings:?}");
        // An empty consent cell reads as no consent: the e-mail address is dropped the same way.
        let text = file(&["WN-4;Mitte;;;;;;;;;;a@b.de;500;;;1.000;;Mahnung;;;;"]);
        let (valid, _) = parse_file(&text).expect("header");
        assert_eq!(valid[0].warnings[0].column, "email");
        assert_eq!(valid[0].notice.tenant, None);
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported() {
        let text = file(&["WN-5;Langenhagen;ja;;;;;;3015;;;;12,345;-5;;;13.2025;Urteil;31.02.2026;;;"]);
        let (_, rejected) = parse_file(&text).expect("header");
        let columns: Vec<&str> = rejected[0].problems.iter().map(|problem| problem.column.as_str()).collect();
        assert_eq!(
            columns,
            [
                "stadtbezirk",
                "grundmiete",
                "nebenkosten_vz",
                "rueckstand_gesamt",
                "aeltester_offener_monat",
                "stufe",
                "kuendigung_datum",
                "plz",
                "einwilligung_nachweis"
            ]
        );
    }

    #[test]
    fn missing_reference_and_duplicates() {
        let text = file(&[
            ";Mitte;nein;;;;;;;;;;500;;;1.000;;Mahnung;;;;",
            "WN-6;Mitte;nein;;;;;;;;;;500;;;1.000;;Mahnung;;;;",
            "WN-6;Mitte;nein;;;;;;;;;;500;;;1.000;;Mahnung;;;;",
        ]);
        let (valid, mut rejected) = parse_file(&text).expect("header");
        rejected.sort_by_key(|result| result.row);
        assert_eq!(valid.len(), 1);
        assert_eq!((rejected[0].row, rejected[0].problems[0].column.as_str()), (2, "mietverhaeltnis_ref"));
        assert_eq!(rejected[1].row, 4);
        assert!(rejected[1].problems[0].reason.contains("row 3"));
    }

    #[test]
    fn header_problems_reject_the_file() {
        let error = parse_file("mietverhaeltnis_ref;stadtbezirk;einwilligung;grundmiete;stufe;farbe\n")
            .expect_err("unknown column");
        assert!(error.contains("'farbe'") && error.contains("aeltester_offener_monat"), "{error}");
        let error = parse_file("mietverhaeltnis_ref;stadtbezirk;einwilligung;grundmiete\n").expect_err("no stufe");
        assert!(error.contains("stufe"), "{error}");
    }

    #[test]
    fn hub_fields_map_back_to_columns() {
        assert_eq!(column_of("tenant.family_name", None), "name");
        assert_eq!(column_of("rent.base_rent_cents", None), "grundmiete");
        assert_eq!(column_of("tenancy_reference", None), "mietverhaeltnis_ref");
        assert_eq!(column_of("notice.claim_served_date", None), "klage_zugestellt_am");
        assert_eq!(column_of("tenant.email", None), "email");
        assert_eq!(column_of("ledger[0].due_date", None), "ledger[0].due_date");
        let notice = ArrearsNotice {
            tenant: Some(TenantContact { phone: "0511".into(), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(column_of("tenant", Some(&notice)), "telefon");
        assert_eq!(column_of("tenant", None), "name");
    }
}
