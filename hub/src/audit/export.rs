//! `hub audit export`: the audit records matching a filter, for the data protection officer, as
//! CSV (`;`-separated, header row, UTF-8, the conventions of the CSV import) or JSON (an array of
//! objects). Both carry `occurred_at_ms`, `prev_hash` and `hash` as stored, so an export can later be
//! checked against the chain (see [`super::record_hash`]). Values are written exactly as stored, not
//! escaped for spreadsheets, so the hashes stay recomputable: import the file as text.

use std::io::{self, Write};

use serde::Serialize;

use super::PAGE;
use crate::domain::ids::{CaseId, OrgId};
use crate::domain::time::{Day, Instant};
pub use crate::reports::Format;
use crate::store::{AuditQuery, AuditRecord, Store, StoreError};

/// The columns, in order (CSV header and JSON keys).
pub const COLUMNS: [&str; 12] = [
    "seq",
    "occurred_at",
    "occurred_at_ms",
    "actor",
    "staff",
    "action",
    "case_id",
    "referral_id",
    "legal_basis",
    "detail",
    "prev_hash",
    "hash",
];

/// The formats of the export: `;`-separated values with a header row, or a JSON array of objects.
pub const FORMATS: &[Format] = &[Format::Csv, Format::Json];

/// Reads `--format`: one of [`FORMATS`].
pub fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse_among(s, FORMATS, "an export")
}

/// What to export: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Records about this case.
    pub case_id: Option<CaseId>,
    /// Records made by this organisation.
    pub org: Option<OrgId>,
    /// From this day on (00:00 UTC).
    pub from: Option<Day>,
    /// Up to and including this day.
    pub to: Option<Day>,
}

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the records failed.
    #[error("reading the audit log: {0}")]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] io::Error),
    /// The filter is contradictory.
    #[error("{0}")]
    Filter(String),
    /// The export is not made in this format.
    #[error("{0}")]
    Format(String),
}

/// Midnight UTC at the start of `day`.
fn start_of(day: Day) -> Instant {
    Instant::from_millis(day.date().midnight().assume_utc().unix_timestamp() * 1000)
}

/// `at` as RFC 3339 in UTC (`2026-01-09T09:00:00.123Z`).
pub fn rfc3339(at: Instant) -> String {
    ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&::time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| at.millis().to_string())
}

#[derive(Serialize)]
struct Row<'a> {
    seq: i64,
    occurred_at: String,
    occurred_at_ms: i64,
    actor: &'a str,
    staff: Option<&'a str>,
    action: &'a str,
    case_id: Option<&'a str>,
    referral_id: Option<&'a str>,
    legal_basis: &'a str,
    detail: &'a str,
    prev_hash: Option<&'a str>,
    hash: Option<&'a str>,
}

impl<'a> From<&'a AuditRecord> for Row<'a> {
    fn from(r: &'a AuditRecord) -> Self {
        Row {
            seq: r.seq,
            occurred_at: rfc3339(r.at),
            occurred_at_ms: r.at.millis(),
            actor: &r.actor,
            staff: r.staff.as_deref(),
            action: &r.action,
            case_id: r.case_id.as_deref(),
            referral_id: r.referral_id.as_deref(),
            legal_basis: &r.legal_basis,
            detail: &r.detail,
            prev_hash: r.prev_hash.as_deref(),
            hash: r.hash.as_deref(),
        }
    }
}

/// A CSV cell: quoted when it holds `;`, `"` or a line break, with `"` doubled.
fn cell(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

fn csv_line(r: &AuditRecord) -> String {
    let row = Row::from(r);
    let o = |v: Option<&str>| cell(v.unwrap_or_default());
    let cells = [
        row.seq.to_string(),
        cell(&row.occurred_at),
        row.occurred_at_ms.to_string(),
        cell(row.actor),
        o(row.staff),
        cell(row.action),
        o(row.case_id),
        o(row.referral_id),
        cell(row.legal_basis),
        cell(row.detail),
        o(row.prev_hash),
        o(row.hash),
    ];
    let mut line = cells.join(";");
    line.push_str("\r\n");
    line
}

/// Writes the records of `store` matching `filter` to `out` in `format`, oldest first, from one
/// consistent snapshot, page by page; returns how many it wrote.
pub async fn export(
    store: &dyn Store,
    filter: &Filter,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    if !FORMATS.contains(&format) {
        return Err(ExportError::Format(Format::refusal(format.as_str(), FORMATS, "an export")));
    }
    let json = format == Format::Json;
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to < from
    {
        return Err(ExportError::Filter(format!("--to {to} is before --from {from}")));
    }
    let mut q = AuditQuery {
        case_id: filter.case_id.clone(),
        actor: filter.org.as_ref().map(|o| o.as_str().to_owned()),
        from: filter.from.map(start_of),
        before: filter.to.map(|d| start_of(d.plus_days(1))),
        after_seq: 0,
        limit: PAGE,
    };
    let mut tx = store.begin_read().await?;
    if json {
        out.write_all(b"[")?;
    } else {
        out.write_all(format!("{}\r\n", COLUMNS.join(";")).as_bytes())?;
    }
    let mut n = 0u64;
    loop {
        let page = tx.audit_records(&q).await?;
        for r in &page {
            if json {
                out.write_all(if n == 0 { b"\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut *out, &Row::from(r)).map_err(io::Error::other)?;
            } else {
                out.write_all(csv_line(r).as_bytes())?;
            }
            n += 1;
            q.after_seq = r.seq;
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    if json {
        out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_needed() {
        assert_eq!(cell("IDENTITY,ARREARS"), "IDENTITY,ARREARS");
        assert_eq!(cell("a;b"), "\"a;b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn days_and_times() {
        let d = Day::parse("2026-01-09").unwrap();
        assert_eq!(start_of(d).millis(), 1_767_916_800_000);
        assert_eq!(rfc3339(Instant::from_millis(1_767_949_200_000)), "2026-01-09T09:00:00Z");
        assert_eq!(parse_format("JSON"), Ok(Format::Json));
        assert_eq!(parse_format("xml"), Err("'xml' is not an export format (csv or json)".to_owned()));
        assert!(parse_format("html").is_err());
    }
}
