//! What CSV imports share: the per-row report as hubctl prints it (table, summary line, JSON) and the
//! progress bar; the rows' results themselves come from the shared reader (`erp_import::report`).

use std::io::{IsTerminal, Write};

use serde_json::{Value, json};

use crate::render::Table;

pub use erp_import::report::{Outcome, Problem, RowResult};

/// The results of an import, sorted by row.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<RowResult>,
}

impl Report {
    /// A report of these results.
    pub fn new(mut rows: Vec<RowResult>) -> Self {
        rows.sort_by_key(|result| result.row);
        Self { rows }
    }

    /// Rows with this outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.rows.iter().filter(|result| result.outcome == outcome).count()
    }

    /// All rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Rows that went through with cells left out.
    pub fn warned(&self) -> usize {
        self.rows.iter().filter(|result| !result.warnings.is_empty()).count()
    }

    /// `N rows: A accepted, U updated, S unchanged, R rejected` (dry run: valid and rejected), and how
    /// many rows went through with cells left out.
    pub fn summary(&self, dry_run: bool) -> String {
        let n = self.len();
        let rejected = self.count(Outcome::Rejected);
        let mut line = if dry_run {
            format!("{n} rows: {} valid, {rejected} rejected (dry run: nothing sent)", self.count(Outcome::Valid))
        } else {
            format!(
                "{n} rows: {} accepted, {} updated, {} unchanged, {rejected} rejected",
                self.count(Outcome::Accepted),
                self.count(Outcome::Updated),
                self.count(Outcome::Unchanged)
            )
        };
        match self.warned() {
            0 => {}
            1 => line.push_str("; 1 row with cells not sent (see WARNING)"),
            w => line.push_str(&format!("; {w} rows with cells not sent (see WARNING)")),
        }
        line
    }

    /// The problems (row, column, reason) by row, then the summary line.
    pub fn text(&self, dry_run: bool) -> String {
        let mut table = Table::new(&["ROW", "COLUMN", "REASON"]);
        for result in &self.rows {
            for problem in &result.problems {
                table.row(vec![result.row.to_string(), problem.column.clone(), problem.reason.clone()]);
            }
            for warning in &result.warnings {
                table.row(vec![result.row.to_string(), warning.column.clone(), format!("WARNING {}", warning.reason)]);
            }
        }
        let mut out = table.render("no problems");
        out.push_str(&self.summary(dry_run));
        out.push('\n');
        out
    }

    /// Every row's result and the totals.
    pub fn json(&self, dry_run: bool) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|result| {
                let mut value = json!({
                    "row": result.row,
                    "outcome": result.outcome.name(),
                    "notice_id": if result.notice_id.is_empty() { Value::Null } else { json!(result.notice_id) },
                    "problems": result
                        .problems
                        .iter()
                        .map(|problem| json!({"column": problem.column, "reason": problem.reason}))
                        .collect::<Vec<_>>(),
                });
                if !result.case_id.is_empty() {
                    value["case_id"] = json!(result.case_id);
                }
                if !result.warnings.is_empty() {
                    value["warnings"] = result
                        .warnings
                        .iter()
                        .map(|warning| json!({"column": warning.column, "reason": warning.reason}))
                        .collect();
                }
                value
            })
            .collect();
        let mut summary =
            json!({"rows": self.len(), "rejected": self.count(Outcome::Rejected), "with_warnings": self.warned()});
        if dry_run {
            summary["valid"] = json!(self.count(Outcome::Valid));
        } else {
            summary["accepted"] = json!(self.count(Outcome::Accepted));
            summary["updated"] = json!(self.count(Outcome::Updated));
            summary["unchanged"] = json!(self.count(Outcome::Unchanged));
        }
        json!({"dry_run": dry_run, "summary": summary, "results": rows})
    }

    /// The error that makes the exit code 1 when a row was rejected.
    pub fn verdict(&self) -> anyhow::Result<()> {
        match self.count(Outcome::Rejected) {
            0 => Ok(()),
            rejected => Err(anyhow::anyhow!("{rejected} of {} rows rejected", self.len())),
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal so logs and pipes stay clean.
pub struct Progress {
    total: usize,
    done: usize,
    drawn: usize,
    enabled: bool,
}

const BAR_WIDTH: usize = 30;

impl Progress {
    /// A bar for `total` rows.
    pub fn new(total: usize) -> Self {
        Self { total, done: 0, drawn: 0, enabled: std::io::stderr().is_terminal() && total > 0 }
    }

    /// One more row done; redraws at most every 1 % (and at the end).
    pub fn tick(&mut self) {
        self.done += 1;
        let step = (self.total / 100).max(1);
        if self.enabled && (self.done - self.drawn >= step || self.done == self.total) {
            self.drawn = self.done;
            let _ = std::io::stderr().write_all(bar(self.done, self.total).as_bytes());
        }
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.enabled && self.drawn > 0 {
            let _ = std::io::stderr().write_all(b"\n");
            self.enabled = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `\r[#####.....] 5000/10000 rows`.
fn bar(done: usize, total: usize) -> String {
    let filled = (done.min(total) * BAR_WIDTH).checked_div(total).unwrap_or(BAR_WIDTH);
    format!("\r[{}{}] {done}/{total} rows", "#".repeat(filled), ".".repeat(BAR_WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_proportionally() {
        assert_eq!(bar(5_000, 10_000), format!("\r[{}{}] 5000/10000 rows", "#".repeat(15), ".".repeat(15)));
        assert_eq!(bar(0, 10), format!("\r[{}] 0/10 rows", ".".repeat(30)));
        assert_eq!(bar(10, 10), format!("\r[{}] 10/10 rows", "#".repeat(30)));
    }

    #[test]
    fn report_sorts_by_row_and_counts() {
        let ok = |row, outcome| RowResult {
            row,
            outcome,
            notice_id: format!("n-{row}"),
            case_id: String::new(),
            problems: vec![],
            warnings: vec![],
        };
        let report = Report::new(vec![
            ok(3, Outcome::Accepted),
            RowResult::rejected(5, vec![Problem::english("plz", "must be five digits")]),
            RowResult::rejected(2, vec![Problem::english("grundmiete", "'x' is not an amount")]),
            ok(4, Outcome::Unchanged),
        ]);
        let text = report.text(false);
        let row2 = text.find("grundmiete").expect("row 2");
        let row5 = text.find("plz").expect("row 5");
        assert!(row2 < row5, "{text}");
        assert!(text.ends_with("4 rows: 1 accepted, 0 updated, 1 unchanged, 2 rejected\n"), "{text}");
        assert!(report.verdict().is_err());
        assert_eq!(report.json(false)["summary"]["rejected"], 2);
    }
}
