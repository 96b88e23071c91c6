//! Fuzzing of the CSV importers: mutated file bytes through what `hubctl arrears import`
//! and `hubctl court import` run before anything is sent (also with `--dry-run`): `csv::decode`, then
//! `arrears::parse_file` and `court::parse_file` (the `;`-dialect reader, the header check, every
//! cell parser: amounts, dates, months, yes/no, Stadtbezirke, stages, the consent rules), then the
//! report as text and JSON.
//!
//! Properties: no input panics; every rejected row names its row (a row that exists in the file,
//! not the header) and at least one problem, each with a column of the file (or `-` for the whole
//! row) and a reason; valid and rejected rows together are the file's data rows, each once; a
//! refused file (encoding, syntax, header) says why, with a line or row number where it has one.
//!
//! Inputs: an entry of `tests/fuzz/corpus/csv/` and a list of byte mutations (with the dictionary
//! below). 2,000 cases (`PROPTEST_CASES`), fixed seed (`PROPTEST_RNG_SEED`); see
//! `tests/fuzz/mutations.rs` and `scripts/fuzz.sh`.

#[path = "../../tests/fuzz/mutations.rs"]
mod mutations;

use crate::csv::FileEncoding;
use std::collections::HashSet;
use std::rc::Rc;

use mutations::{ByteOp, Step};
use proptest::prelude::*;

use crate::csv::Column;
use crate::import::{Report, RowResult};
use crate::{arrears, court, csv};

/// Column names, separators, and cell values of every kind the cell parsers know.
const DICTIONARY: &[&str] = &[
    "mietverhaeltnis_ref",
    "stadtbezirk",
    "einwilligung",
    "einwilligung_nachweis",
    "name",
    "vorname",
    "strasse",
    "hausnummer",
    "plz",
    "ort",
    "telefon",
    "email",
    "grundmiete",
    "nebenkosten_vz",
    "heizkosten_vz",
    "rueckstand_gesamt",
    "aeltester_offener_monat",
    "stufe",
    "kuendigung_datum",
    "klage_zugestellt_am",
    "raeumungstermin",
    "bemerkung",
    "aktenzeichen",
    "eingang_klage",
    "zustellung",
    "vermieter",
    "vermieter_org",
    "monatsmiete",
    "rueckstand_eingeklagt",
    "nutzungsentschaedigung",
    "termin",
    ";",
    ";;;;",
    "\"",
    "\"\"",
    "\";\"",
    "\r\n",
    "\n",
    "\r",
    "\u{FEFF}",
    "ja",
    "nein",
    "JA",
    "x",
    "1.234,56",
    "780",
    "780,5",
    "0,07",
    "1.000.000,00",
    "12,345",
    "-5",
    "99.999.999.999.999.999,99",
    "92233720368547758,07",
    "€",
    " EUR",
    "31.12.2025",
    "1.1.2026",
    "29.02.2028",
    "31.02.2026",
    "00.00.0000",
    "31.12.9999",
    "01.01.-1",
    "2026-01-09",
    "11.2025",
    "13.2025",
    "Mitte",
    "Südstadt-Bult",
    "Stadtbezirk Nord",
    "linden-limmer",
    "Mahnung",
    "Kündigung fristlos",
    "KUENDIGUNG_FRISTLOS",
    "Räumungstermin",
    "rechtshängig",
    "30159",
    "3015",
    "wohnbau-nord",
    "514 C 123/26",
];

/// Whether `column` is a column of the file kind (or `-`, the whole row).
fn known_column(columns: &[Column], column: &str) -> bool {
    column == "-" || columns.iter().any(|c| c.name == column)
}

/// The rows a reader may name: 2 (the first data row) up to the last physical line.
fn last_line(text: &str) -> usize {
    csv::records(text).ok().and_then(|r| r.last().map(|r| r.row)).unwrap_or(1)
}

/// Checks the results of one importer on a readable file.
fn check(
    kind: &str,
    columns: &[Column],
    text: &str,
    valid_rows: Vec<usize>,
    rejected: Vec<RowResult>,
) -> Result<(), String> {
    let last = last_line(text);
    let data_rows: usize = csv::records(text).map(|r| r.len().saturating_sub(1)).unwrap_or(0);
    let mut rows = HashSet::new();
    for row in &valid_rows {
        if !(2..=last).contains(row) || !rows.insert(*row) {
            return Err(format!("{kind}: valid row {row} is outside 2..={last} or twice"));
        }
    }
    for result in &rejected {
        if !(2..=last).contains(&result.row) || !rows.insert(result.row) {
            return Err(format!("{kind}: rejected row {} is outside 2..={last} or reported twice", result.row));
        }
        if result.problems.is_empty() {
            return Err(format!("{kind}: row {} is rejected without a problem", result.row));
        }
        for p in &result.problems {
            if !known_column(columns, &p.column) || p.reason.trim().is_empty() {
                return Err(format!(
                    "{kind}: row {}: problem {p:?} names no column of the file or no reason",
                    result.row
                ));
            }
        }
    }
    if rows.len() != data_rows {
        return Err(format!("{kind}: {} rows reported, the file has {data_rows} data rows", rows.len()));
    }
    // What the user sees: the report as a table and as JSON.
    let report = Report::new(rejected);
    let _ = report.text(true);
    let _ = report.json(true);
    Ok(())
}

/// A refused file must say why; syntax errors and encoding errors say where.
fn refused(kind: &str, reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err(format!("{kind}: a file was refused without a reason"));
    }
    Ok(())
}

fn run_one(input: &[u8]) -> Result<(), String> {
    let decoded = match csv::decode(input, FileEncoding::Utf8) {
        Ok(decoded) => decoded,
        Err(reason) => {
            if !reason.contains("line ") {
                return Err(format!("the encoding error names no line: {reason}"));
            }
            return Ok(());
        }
    };
    let text = decoded.text.as_ref();
    if let Err(e) = csv::records(text)
        && !(e.row >= 1 && e.to_string().starts_with(&format!("row {}:", e.row)))
    {
        return Err(format!("a syntax error names no row: {e}"));
    }
    match arrears::parse_file(text) {
        Ok((valid, rejected)) => {
            check("arrears", arrears::COLUMNS, text, valid.iter().map(|v| v.row).collect(), rejected)?;
        }
        Err(reason) => refused("arrears", &reason.en)?,
    }
    match court::parse_file(text) {
        Ok((valid, rejected)) => check("court", court::COLUMNS, text, valid.iter().map(|v| v.0).collect(), rejected),
        Err(reason) => refused("court", &reason.en),
    }
}

/// The longest input generated.
const MAX_LEN: usize = 64 * 1024;

/// A step: one byte mutation.
#[derive(Debug, Clone)]
struct CsvStep(ByteOp);

impl Step for CsvStep {
    fn apply(&self, buf: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        self.0.apply(buf, corpus, 0, MAX_LEN);
    }
}

#[test]
fn fuzz_csv_import() {
    let seeds = mutations::load_corpus("csv");
    let dict: Rc<[Vec<u8>]> = DICTIONARY.iter().map(|w| w.as_bytes().to_vec()).collect();
    let step = mutations::byte_op(&dict).prop_map(CsvStep).boxed();
    mutations::run("csv", 2_000, &seeds, mutations::cases(&seeds, step), run_one);
}

#[test]
fn the_committed_seed_files_are_what_they_claim() {
    let corpus = mutations::load_corpus("csv");
    assert!(corpus.len() >= 4, "tests/fuzz/corpus/csv/ holds the seed files");
    for (name, bytes) in &corpus {
        let Ok(decoded) = csv::decode(bytes, FileEncoding::Utf8) else {
            assert!(name.contains("1252"), "{name}: only the Windows-1252 seed is not UTF-8");
            continue;
        };
        let text = decoded.text.as_ref();
        if name.starts_with("arrears-valid") {
            let (valid, rejected) = arrears::parse_file(text).expect("header");
            assert!(rejected.is_empty() && !valid.is_empty(), "{name}: {rejected:?}");
        }
        if name.starts_with("court-valid") {
            let (valid, rejected) = court::parse_file(text).expect("header");
            assert!(rejected.is_empty() && !valid.is_empty(), "{name}: {rejected:?}");
        }
    }
}
