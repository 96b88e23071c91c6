//! The reports read straight from the store, for the people who check the hub: the access report of
//! a person (Art. 15 GDPR) for the data protection officer, and the annual key figures (with their
//! charts) for the council. Each is built from the store in one read, then rendered as HTML, CSV or
//! JSON; both are audited as reads. Every report and the audit export name their output in one
//! [`Format`]; each offers some of its variants and refuses the others.

pub mod access;
pub mod charts;
pub mod html;
pub mod key_figures;

use std::fmt::Display;
use std::str::FromStr;

/// An organisation as a report names it: id and directory name (the id when it is not in the directory).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrgRef {
    /// Id.
    pub id: String,
    /// Name from the directory.
    pub name: String,
}

/// What a report or export is written as. Each offers some formats ([`access::FORMATS`],
/// [`key_figures::FORMATS`], [`crate::audit::export::FORMATS`]) and refuses the others with the
/// message its command line shows for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A German HTML document.
    Html,
    /// `;`-separated values with a header row.
    Csv,
    /// JSON with English keys.
    Json,
}

impl Format {
    /// Every format, in the order messages list them.
    pub const ALL: [Format; 3] = [Format::Html, Format::Csv, Format::Json];

    /// The name on the command line and in audit records: `html`, `csv` or `json`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// Reads `s` (in any case) as one of `offered`, else [`Format::refusal`].
    pub fn parse_among(s: &str, offered: &[Format], kind: &str) -> Result<Format, String> {
        offered
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Format::refusal(s, offered, kind))
    }

    /// Says that `s` is not `kind` format (`"a report"`, `"an export"`) and lists the `offered` ones.
    pub fn refusal(s: &str, offered: &[Format], kind: &str) -> String {
        let names: Vec<&str> = offered.iter().map(|f| f.as_str()).collect();
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        };
        format!("'{s}' is not {kind} format ({list})")
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::parse_among(s, &Format::ALL, "a report")
    }
}

impl Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_in_any_case_and_refuse_what_a_report_does_not_offer() {
        assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
        assert_eq!("pdf".parse::<Format>(), Err("'pdf' is not a report format (html, csv or json)".to_owned()));
        let offered = [Format::Csv, Format::Json];
        assert_eq!(Format::parse_among("Json", &offered, "an export"), Ok(Format::Json));
        assert_eq!(
            Format::parse_among("html", &offered, "an export"),
            Err("'html' is not an export format (csv or json)".to_owned())
        );
        assert_eq!(Format::refusal("csv", &[Format::Html], "a report"), "'csv' is not a report format (html)");
        assert_eq!(Format::Csv.to_string(), "csv");
    }
}
