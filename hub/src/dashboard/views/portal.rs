//! The housing-company portal's page: the company's early notices with how far each got (as far as
//! the tenant's consent lets the company learn it), and the form for one notice.

use super::{Choice, Ctx, choices, count, euros, instant, labels, render_template};
use erp_import::report::{Outcome, RowResult};

use crate::dashboard::form::FormData;
use crate::domain::notice::{NoticeData, REPORTABLE_STAGES};
use crate::domain::vocab::{Stadtbezirk, ThreatStage};
use crate::service::{NoticeStatus, Progress};

/// The page title.
pub const TITLE: &str = "Mietrückstände melden";

/// A refused notice: the form as sent, the field at fault (none: the form as a whole) and the message.
pub struct NoticeEcho {
    /// The fields as sent.
    pub values: FormData,
    /// The form's name of the field at fault.
    pub field: Option<&'static str>,
    /// The message, German.
    pub message: String,
}

/// One notice in words.
struct Row {
    reference: String,
    stage: &'static str,
    arrears: String,
    reported: String,
    progress: String,
    /// The company may still withdraw it (it stands, and its case is not closed).
    withdrawable: bool,
}

/// The page as its template (`templates/dashboard/portal.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/portal.html")]
struct Page<'a> {
    csrf: &'a str,
    rows: Vec<Row>,
    count: String,
    done: Option<&'static str>,
    echo: Option<&'a NoticeEcho>,
    districts: Vec<Choice>,
    stages: Vec<Choice>,
}

impl Page<'_> {
    /// The message at `field`, if the rule named it.
    fn error(&self, field: &str) -> Option<&str> {
        self.echo.filter(|e| e.field == Some(field)).map(|e| e.message.as_str())
    }

    /// The message that belongs to no field of the form.
    fn form_error(&self) -> Option<&str> {
        self.echo.filter(|e| e.field.is_none()).map(|e| e.message.as_str())
    }

    /// What was entered in `field`, when the form comes back.
    fn value(&self, field: &str) -> String {
        self.echo.and_then(|e| e.values.one(field)).unwrap_or_default()
    }
}

/// How far a notice got, in words.
fn progress(s: &NoticeStatus) -> String {
    if let Some(at) = s.notice.withdrawn_at {
        return format!("zurückgezogen am {} (Rückstand beglichen)", labels::day(at.day()));
    }
    match s.progress {
        Progress::Received => "eingegangen, noch nicht bearbeitet".to_owned(),
        Progress::ContactEstablished => "die Fachstelle kümmert sich".to_owned(),
        Progress::SupportInProgress => "Hilfe läuft".to_owned(),
        Progress::TakeoverApproved => {
            let amount = s.amount.map(|a| format!(" über {}", euros(a.get()))).unwrap_or_default();
            let day =
                s.payment_date.map(|d| format!(", Zahlung voraussichtlich am {}", labels::day(d))).unwrap_or_default();
            format!("Übernahme bewilligt{amount}{day}")
        }
        Progress::Closed => "abgeschlossen".to_owned(),
    }
}

/// The body of the portal page; `done` names what the last submission did (`?erledigt=…`).
pub fn render(statuses: &[NoticeStatus], ctx: &Ctx, echo: Option<&NoticeEcho>, done: Option<&str>) -> String {
    let mut rows: Vec<(crate::domain::time::Instant, Row)> = statuses
        .iter()
        .filter_map(|s| {
            let NoticeData::Arrears(a) = &s.notice.data else { return None };
            Some((
                s.notice.received_at,
                Row {
                    reference: a.tenancy_reference.clone(),
                    stage: labels::stage(a.stage),
                    arrears: euros(a.arrears_total.get()),
                    reported: instant(s.notice.received_at),
                    progress: progress(s),
                    withdrawable: s.notice.withdrawn_at.is_none() && s.progress != Progress::Closed,
                },
            ))
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    let picked = |field: &str| echo.and_then(|e| e.values.one(field));
    render_template(&Page {
        csrf: &ctx.csrf,
        count: count(rows.len(), "Meldung", "Meldungen"),
        rows,
        done: done.and_then(|d| match d {
            "neu" => Some("Die Meldung ist eingegangen; die Fachstelle sieht sie."),
            "aktualisiert" => Some("Die Meldung zu diesem Mietvertrag ist aktualisiert."),
            "unveraendert" => Some("Diese Meldung lag schon genau so vor; es wurde nichts geändert."),
            "zurueckgezogen" => {
                Some("Die Meldung ist zurückgezogen; die Fachstelle sieht, dass der Rückstand beglichen ist.")
            }
            _ => None,
        }),
        echo,
        districts: choices(
            Stadtbezirk::ALL,
            Stadtbezirk::as_str,
            labels::district,
            picked("bezirk").as_deref().and_then(Stadtbezirk::parse),
        ),
        stages: choices(
            REPORTABLE_STAGES,
            ThreatStage::as_str,
            labels::stage,
            picked("stufe").as_deref().and_then(ThreatStage::parse),
        ),
    })
}

/// One row of the file's report that needs a look: rejected, or stored with cells left out.
struct ReportLine {
    row: usize,
    outcome: &'static str,
    rejected: bool,
    column: String,
    reason: String,
}

/// The report page of an uploaded file (`templates/dashboard/portal_report.html`).
#[derive(askama::Template)]
#[template(path = "dashboard/portal_report.html")]
struct ReportPage<'a> {
    file_name: &'a str,
    windows_1252: bool,
    summary: String,
    lines: Vec<ReportLine>,
    rejects: Option<String>,
    csrf: &'a str,
}

/// What became of a row, in words.
fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Accepted => "angenommen",
        Outcome::Updated => "aktualisiert",
        Outcome::Unchanged => "unverändert",
        Outcome::Rejected => "abgelehnt",
        Outcome::Valid => "geprüft",
    }
}

/// The body of the report of an uploaded file: a summary, every rejected row and every row with cells
/// left out with its reasons in German, and the rejected rows to download.
pub fn render_report(
    file_name: &str,
    windows_1252: bool,
    results: &[RowResult],
    rejects: Option<String>,
    ctx: &Ctx,
) -> String {
    let n = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let warned = results.iter().filter(|r| !r.warnings.is_empty()).count();
    let mut summary = format!(
        "{}: {} angenommen, {} aktualisiert, {} unverändert, {} abgelehnt",
        count(results.len(), "Zeile", "Zeilen"),
        n(Outcome::Accepted),
        n(Outcome::Updated),
        n(Outcome::Unchanged),
        n(Outcome::Rejected)
    );
    if warned > 0 {
        summary.push_str(&format!(
            "; {} ohne einzelne Angaben übernommen (siehe Hinweise)",
            count(warned, "Zeile", "Zeilen")
        ));
    }
    summary.push('.');
    let mut lines = Vec::new();
    for r in results {
        for p in &r.problems {
            lines.push(ReportLine {
                row: r.row,
                outcome: outcome_label(r.outcome),
                rejected: true,
                column: column_label(&p.column),
                reason: p.reason_de.clone(),
            });
        }
        for w in &r.warnings {
            lines.push(ReportLine {
                row: r.row,
                outcome: outcome_label(r.outcome),
                rejected: false,
                column: column_label(&w.column),
                reason: w.reason_de.clone(),
            });
        }
    }
    render_template(&ReportPage { file_name, windows_1252, summary, lines, rejects, csrf: &ctx.csrf })
}

/// A column as the report names it: the file's own header, or "ganze Zeile" for the row as a whole.
fn column_label(column: &str) -> String {
    if column == "-" { "ganze Zeile".to_owned() } else { column.to_owned() }
}

/// The start of a streamed report: the file is read, the check begins.
pub fn progress_start(file_name: &str, rows: usize) -> String {
    format!(
        "<h1>Ergebnis der Datei</h1>\n<p id=\"fortschritt-start\">Datei „{}“ gelesen: {}. Die Zeilen werden geprüft und gespeichert …</p>\n",
        super::esc(file_name),
        count(rows, "Zeile", "Zeilen")
    )
}

/// One line of progress of a streamed report.
pub fn progress_line(checked: usize, rows: usize) -> String {
    format!("<p class=\"fortschritt\">{} von {} geprüft.</p>\n", checked, count(rows, "Zeile", "Zeilen"))
}
