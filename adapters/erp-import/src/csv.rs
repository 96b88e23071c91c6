//! A reader for `;`-separated files as German housing ERPs and spreadsheet programs export them.
//!
//! The dialect: UTF-8 with or without a byte order mark, or Windows-1252 ([`decode`]); records end with CRLF, LF or a lone CR;
//! fields are separated by `;`; a field may be quoted with `"` and then contain `;`, line breaks
//! and `""` for a quote (read by the `csv` crate). Cells are trimmed of surrounding white space and an
//! empty cell means "not given". The first record is the header; headers are matched case-insensitively.
//!
//! Rows are numbered as a spreadsheet program numbers them: the header is row 1, the first data
//! row is row 2, a quoted cell with line breaks stays within its row, and empty lines are skipped
//! but keep their number. So the row in a report is the row the user sees when opening the file.

use std::collections::HashMap;

use crate::msg::Msg;
use crate::profile::Profile;

/// How the file's bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEncoding {
    /// UTF-8 when the file is valid UTF-8, otherwise Windows-1252.
    Auto,
    /// UTF-8 only: any other byte is an error naming its line.
    Utf8,
    /// Windows-1252 ("ANSI").
    Windows1252,
}

/// One record of the file: its row number and its fields, unquoted but not yet trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based record number (the header is 1).
    pub row: usize,
    /// The fields.
    pub fields: Vec<String>,
}

/// A syntax error that makes the rest of the file unreadable (an unterminated quote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Row where the broken record starts.
    pub row: usize,
    /// What is wrong.
    pub reason: Msg,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}", self.row, self.reason.en)
    }
}

impl SyntaxError {
    /// The error with its row, in both languages.
    pub fn message(&self) -> Msg {
        Msg::new(format!("row {}: {}", self.row, self.reason.en), format!("Zeile {}: {}", self.row, self.reason.de))
    }
}

/// File text and the encoding it was read in.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The text, without a byte order mark.
    pub text: std::borrow::Cow<'a, str>,
    /// Read as Windows-1252 (said on stderr, so no file is read in an encoding nobody chose or saw).
    pub windows_1252: bool,
}

/// Decodes file bytes: UTF-8 (dropping a byte order mark) or Windows-1252, the default of older ERP
/// exports. `Auto` takes UTF-8 when every byte is valid UTF-8 (a Windows-1252 file with umlauts never
/// is), otherwise Windows-1252; `Utf8` refuses other bytes and names their line.
pub fn decode(bytes: &[u8], encoding: FileEncoding) -> Result<Decoded<'_>, Msg> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let windows_1252 = |bytes| {
        let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
        Decoded { text, windows_1252: true }
    };
    match (std::str::from_utf8(bytes), encoding) {
        (_, FileEncoding::Windows1252) => Ok(windows_1252(bytes)),
        (Ok(text), _) => Ok(Decoded { text: text.into(), windows_1252: false }),
        (Err(_), FileEncoding::Auto) => Ok(windows_1252(bytes)),
        (Err(error), FileEncoding::Utf8) => {
            let offset = error.valid_up_to();
            let line = bytes[..offset].iter().filter(|byte| **byte == b'\n').count() + 1;
            Err(Msg::new(
                format!(
                    "the file is not UTF-8 (line {line}, byte {offset}); export it as \"CSV UTF-8\" or run with \
                     --encoding windows-1252"
                ),
                format!(
                    "Die Datei ist nicht in UTF-8 (Zeile {line}); bitte als „CSV UTF-8“ exportieren oder \
                     Windows-1252 wählen"
                ),
            ))
        }
    }
}

/// Splits the text into records with the `csv` crate. Empty lines are left out (their numbers are
/// skipped).
///
/// Every line break becomes LF first (CRLF, and a lone CR of old exports, also inside quoted fields,
/// as a spreadsheet program reads them); a record's row counts records and the empty lines the crate
/// skips, never the line breaks inside a quoted field. The crate reads a quote that is
/// never closed to the end of the file: a last field that holds line breaks while the file does not
/// end with a closing quote is that, an error naming the row where it starts, so no row is
/// swallowed silently.
pub fn records(text: &str) -> Result<Vec<Record>, SyntaxError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text).replace("\r\n", "\n").replace('\r', "\n");
    let bytes = text.as_bytes();
    // The empty lines from `at` on, which the crate skips: each keeps its row number.
    let blank_lines_at = |at: usize| bytes.get(at..).unwrap_or_default().iter().take_while(|b| **b == b'\n').count();
    let mut reader = ::csv::ReaderBuilder::new().delimiter(b';').has_headers(false).flexible(true).from_reader(bytes);
    let mut out: Vec<Record> = Vec::new();
    let mut record = ::csv::StringRecord::new();
    let mut row = 1 + blank_lines_at(0);
    let mut last_has_break = false;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(SyntaxError {
                    row,
                    reason: Msg::new(format!("unreadable: {e}"), "nicht lesbar (keine gültige CSV-Zeile)"),
                });
            }
        }
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        last_has_break = fields.last().is_some_and(|f| f.contains('\n'));
        let blank = fields.len() == 1 && fields[0].trim().is_empty();
        if !blank {
            out.push(Record { row, fields });
        }
        let end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        row += 1 + blank_lines_at(end);
    }
    if last_has_break && !text.trim_end().ends_with('"') {
        return Err(SyntaxError {
            row: out.last().map_or(1, |r| r.row),
            reason: Msg::new(
                "a quoted field is not closed (missing '\"')",
                "ein Feld in Anführungszeichen ist nicht geschlossen (es fehlt ein „\"“)",
            ),
        });
    }
    Ok(out)
}

/// A column a file may have.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header name, lower case.
    pub name: &'static str,
    /// Whether the column must be present (and every row must fill it).
    pub required: bool,
}

/// A column every file must have and every row fill.
pub const fn req(name: &'static str) -> Column {
    Column { name, required: true }
}

/// A column a file may have and a row may leave empty.
pub const fn opt(name: &'static str) -> Column {
    Column { name, required: false }
}

/// The header of a file, checked against the columns allowed.
#[derive(Debug)]
pub struct Header {
    index: HashMap<&'static str, usize>,
    width: usize,
    fields: Vec<String>,
}

/// A data row with access to its cells by column name.
pub struct Row<'a> {
    /// 1-based row number (the header is 1).
    pub row: usize,
    header: &'a Header,
    fields: &'a [String],
}

impl Row<'_> {
    /// The trimmed cell, or `None` when the column is absent or the cell empty.
    pub fn get(&self, column: &str) -> Option<&str> {
        let index = *self.header.index.get(column)?;
        let cell = self.fields.get(index)?.trim();
        (!cell.is_empty()).then_some(cell)
    }
}

/// A file read and its header checked: the header and the data records.
#[derive(Debug)]
pub struct Sheet {
    header: Header,
    records: Vec<Record>,
}

impl Sheet {
    /// Reads the text and checks the header: every column must be known, required ones present,
    /// none twice. A header problem rejects the whole file, so it is an error here.
    pub fn parse(text: &str, columns: &[Column]) -> Result<Self, Msg> {
        Self::parse_mapped(text, columns, None)
    }

    /// [`Sheet::parse`] with the export's own header names and values translated by `profile`.
    pub fn parse_mapped(text: &str, columns: &[Column], profile: Option<&Profile>) -> Result<Self, Msg> {
        let mut records = records(text).map_err(|error| error.message())?;
        if records.is_empty() {
            return Err(Msg::new(
                "the file is empty; expected a header line",
                "Die Datei ist leer; erwartet wird eine Kopfzeile mit den Spaltennamen",
            ));
        }
        let header_record = records.remove(0);
        let valid = || columns.iter().map(|column| column.name).collect::<Vec<_>>().join(";");
        let mut index = HashMap::new();
        let mut unknown = Vec::new();
        for (position, raw) in header_record.fields.iter().enumerate() {
            let name = profile.and_then(|p| p.column(raw)).map_or_else(|| raw.trim().to_lowercase(), str::to_owned);
            match columns.iter().find(|column| column.name == name) {
                Some(column) => {
                    if index.insert(column.name, position).is_some() {
                        return Err(Msg::new(
                            format!("column '{}' appears twice in the header", column.name),
                            format!("Die Spalte „{}“ steht zweimal in der Kopfzeile", column.name),
                        ));
                    }
                }
                None => unknown.push(format!("'{}'", raw.trim())),
            }
        }
        if !unknown.is_empty() {
            return Err(Msg::new(
                format!("unknown column(s) {} in the header; valid columns: {}", unknown.join(", "), valid()),
                format!("Unbekannte Spalte(n) {} in der Kopfzeile; möglich sind: {}", unknown.join(", "), valid()),
            ));
        }
        let missing: Vec<&str> = columns
            .iter()
            .filter(|column| column.required && !index.contains_key(column.name))
            .map(|c| c.name)
            .collect();
        if !missing.is_empty() {
            let required: Vec<&str> = columns.iter().filter(|column| column.required).map(|c| c.name).collect();
            return Err(Msg::new(
                format!(
                    "missing required column(s) {} in the header; required: {}; valid columns: {}",
                    missing.join(", "),
                    required.join(";"),
                    valid()
                ),
                format!(
                    "Es fehlen Pflichtspalten in der Kopfzeile: {}; Pflicht sind: {}",
                    missing.join(", "),
                    required.join(";")
                ),
            ));
        }
        if let Some(profile) = profile {
            let mapped: Vec<(&str, usize)> =
                index.iter().filter(|(column, _)| profile.maps_values_of(column)).map(|(c, i)| (*c, *i)).collect();
            for record in &mut records {
                for (column, position) in &mapped {
                    if let Some(field) = record.fields.get_mut(*position)
                        && let Some(value) = profile.value(column, field)
                    {
                        *field = value.to_owned();
                    }
                }
            }
        }
        let width = header_record.fields.len();
        Ok(Self { header: Header { index, width, fields: header_record.fields }, records })
    }

    /// The data rows; a row with a different number of fields than the header is an error
    /// for that row only (the reason is returned in place of the row).
    pub fn rows(&self) -> impl Iterator<Item = Result<Row<'_>, (usize, Msg)>> {
        self.records.iter().map(|record| {
            if record.fields.len() == self.header.width {
                Ok(Row { row: record.row, header: &self.header, fields: &record.fields })
            } else {
                let (n, width) = (record.fields.len(), self.header.width);
                Err((
                    record.row,
                    Msg::new(
                        format!("has {n} fields, the header has {width}"),
                        format!("hat {n} Felder, die Kopfzeile {width}"),
                    ),
                ))
            }
        })
    }

    /// The fields of the record in file row `row`, as read (for a file of the rows to fix).
    pub fn record(&self, row: usize) -> Option<&[String]> {
        self.records.iter().find(|r| r.row == row).map(|r| r.fields.as_slice())
    }

    /// The header's fields as the file has them.
    pub fn header_fields(&self) -> &[String] {
        &self.header.fields
    }

    /// How many data rows the file has (empty lines not counted).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the file has no data rows.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        records(text).expect("parses").into_iter().map(|record| record.fields).collect()
    }

    #[test]
    fn bom_crlf_and_lf() {
        assert_eq!(fields("\u{FEFF}a;b\r\n1;2\r\n"), [["a", "b"], ["1", "2"]]);
        assert_eq!(fields("a;b\n1;2"), [["a", "b"], ["1", "2"]]);
        assert_eq!(fields("a;b\r1;2\r"), [["a", "b"], ["1", "2"]]);
        let decoded = decode(b"\xEF\xBB\xBFa;b\n", FileEncoding::Auto).expect("utf-8");
        assert_eq!((decoded.text.as_ref(), decoded.windows_1252), ("a;b\n", false));
    }

    #[test]
    fn quoted_fields_keep_separators_quotes_and_line_breaks() {
        assert_eq!(fields("\"a;b\";\"say \"\"hi\"\"\";c\n"), [["a;b", "say \"hi\"", "c"]]);
        assert_eq!(fields("\"line 1\r\nline 2\";x\n"), [["line 1\nline 2", "x"]]);
        assert_eq!(fields("\"\";x"), [["", "x"]]);
        // Space before the opening quote: the crate reads the quotes as characters.
        assert_eq!(fields(" \"a\" ;b"), [[" \"a\" ", "b"]]);
    }

    #[test]
    fn empty_fields_and_trailing_separator() {
        assert_eq!(fields("a;;c;\n"), [["a", "", "c", ""]]);
    }

    #[test]
    fn rows_are_numbered_like_the_file() {
        let records = records("h\n\n1\n\"x\ny\"\n2\n").expect("parses");
        let rows: Vec<usize> = records.iter().map(|record| record.row).collect();
        assert_eq!(rows, [1, 3, 4, 5]);
    }

    #[test]
    fn an_open_quote_is_an_error_naming_its_row() {
        assert_eq!(records("a\n\"open;x\nb;c\n").map_err(|error| error.row), Err(2));
        assert_eq!(records("a\n\"open;x\n").map_err(|error| error.row), Err(2));
        // A closed quoted field with a line break at the end of the file is no error.
        assert_eq!(fields("a\n\"two\nlines\"\n"), [vec!["a"], vec!["two\nlines"]]);
        // A quote inside an unquoted field is a character (24" screens), as the crate reads it.
        assert_eq!(fields("a;24\" Monitor\n"), [["a", "24\" Monitor"]]);
    }

    #[test]
    fn windows_1252_is_read_when_chosen_or_when_the_file_is_not_utf8() {
        let ansi = b"a;b\nM\xfcller;1\x80\n";
        let error = decode(ansi, FileEncoding::Utf8).expect_err("not UTF-8");
        assert!(error.en.contains("line 2") && error.en.contains("--encoding windows-1252"), "{error}");
        for encoding in [FileEncoding::Auto, FileEncoding::Windows1252] {
            let decoded = decode(ansi, encoding).expect("Windows-1252");
            assert_eq!((decoded.text.as_ref(), decoded.windows_1252), ("a;b\nMüller;1€\n", true));
        }
        // Valid UTF-8 is never taken for Windows-1252 unless chosen.
        let utf8 = "a;b\nMüller;1\n".as_bytes();
        assert!(!decode(utf8, FileEncoding::Auto).expect("utf-8").windows_1252);
    }

    const COLUMNS: &[Column] = &[Column { name: "ref", required: true }, Column { name: "note", required: false }];

    #[test]
    fn header_in_any_order_and_case() {
        let sheet = Sheet::parse("Note;REF\nhello; r-1 \n", COLUMNS).expect("parses");
        let row = sheet.rows().next().expect("row").expect("width");
        assert_eq!((row.row, row.get("ref"), row.get("note")), (2, Some("r-1"), Some("hello")));
    }

    #[test]
    fn header_errors_list_the_valid_columns() {
        let unknown = Sheet::parse("ref;colour\n", COLUMNS).expect_err("unknown column");
        assert!(unknown.en.contains("'colour'") && unknown.en.contains("valid columns: ref;note"), "{unknown}");
        let missing = Sheet::parse("note\n", COLUMNS).expect_err("missing column");
        assert!(missing.en.contains("missing required column(s) ref"), "{missing}");
        assert!(Sheet::parse("ref;REF\n", COLUMNS).is_err());
        assert!(Sheet::parse("", COLUMNS).is_err());
    }

    #[test]
    fn short_rows_are_row_errors() {
        let sheet = Sheet::parse("ref;note\nr-1\n", COLUMNS).expect("parses");
        let Some(Err((row, reason))) = sheet.rows().next() else {
            panic!("a short row must be an error");
        };
        assert_eq!(row, 2);
        assert!(reason.en.contains("1 fields"), "{reason}");
    }
}

/// One record as a line of this dialect: every field quoted when it needs to be (`;`, `"`, a line
/// break or surrounding space), `""` for a quote, CRLF at the end, so the rows to fix open in the same
/// spreadsheet program as the export they came from.
pub fn write_record(fields: &[String]) -> String {
    let mut out = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        let needs_quotes = field.contains([';', '"', '\n', '\r']) || field.trim() != field;
        if needs_quotes {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod write_tests {
    use super::*;

    #[test]
    fn written_records_read_back_unchanged() {
        let fields: Vec<String> =
            ["plain", "a;b", "say \"hi\"", "line 1\nline 2", " padded ", ""].iter().map(|s| (*s).to_owned()).collect();
        let text = write_record(&fields);
        assert!(text.ends_with("\r\n"));
        assert_eq!(records(&text).expect("parses")[0].fields, fields);
    }
}
