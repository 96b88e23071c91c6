//! The key figures as documents: the German HTML report (with its charts, the dashboard's tables),
//! the stable `table;row;value` CSV and JSON for programs, and the German CSV download for people.
//! Every cell is written as its format shows it; hidden cells keep their marker everywhere.

use std::fmt::Write as _;

use super::suppression::RULE_DE;
use super::{
    Cell, DERIVED_SUPPRESSED_DE, Format, KeyFigures, NOT_RECORDED, OUTCOME_BY_STAGE, OUTCOME_GROUPS, SUPPRESSED, Table,
};
use crate::domain::time::Instant;
use crate::reports::charts;
use crate::reports::html::escape;

impl Cell {
    /// The value as CSV and plain text show it (`.` as decimal separator, euros with cents).
    pub fn plain(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Cents(c) => format!("{}.{:02}", c / 100, c % 100),
            Cell::Days(d) | Cell::Percent(d) => format!("{d:.1}"),
            Cell::Suppressed => SUPPRESSED.to_owned(),
            Cell::NotRecorded => NOT_RECORDED.to_owned(),
            Cell::None => String::new(),
        }
    }

    /// The value as the German HTML shows it.
    fn german(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Cents(c) => format!("{} €", group_thousands((c + 50) / 100)),
            Cell::Days(d) => format!("{d:.1}").replace('.', ","),
            Cell::Percent(p) => format!("{p:.1} %").replace('.', ","),
            Cell::Suppressed => SUPPRESSED.to_owned(),
            Cell::NotRecorded => "nicht erfasst".to_owned(),
            Cell::None => "–".to_owned(),
        }
    }

    /// A value derived from counts (a rate, a median), as the German HTML and CSV show it: a hidden one
    /// reads "nicht ausgewiesen", because "<5" beside a percentage or a number of days would read as
    /// "under 5 %" or "under 5 days".
    fn german_derived(self) -> String {
        match self {
            Cell::Suppressed => DERIVED_SUPPRESSED_DE.to_owned(),
            other => other.german(),
        }
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

impl KeyFigures {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Html => self.to_html(),
            Format::Csv => self.to_csv(),
            Format::Json => self.to_json(),
        }
    }

    /// Pretty-printed JSON with English keys.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }

    /// `table;row;value` lines with a header row. Amounts are in `TABLE.amount_eur` (euros with
    /// two decimals), medians in `TABLE.median_days`, rates in `rates` (`GROUP.KEY`), and the
    /// figures the hub does not record in `not_recorded`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("table;row;value\n");
        let mut line = |t: &str, r: &str, v: &str| {
            let _ = writeln!(out, "{};{};{}", csv_field(t), csv_field(r), csv_field(v));
        };
        line("meta", "year", &self.year.to_string());
        line("meta", "organisation", self.organisation.as_ref().map_or("all", |o| o.id.as_str()));
        line("meta", "generated_at", &self.generated_at);
        for t in &self.tables {
            for r in &t.rows {
                line(t.key, &r.key, &r.count.plain());
            }
            for r in &t.rows {
                if let Some(a) = r.amount_cents {
                    line(&format!("{}.amount_eur", t.key), &r.key, &a.plain());
                }
                if let Some(m) = r.median_days {
                    line(&format!("{}.median_days", t.key), &r.key, &m.plain());
                }
            }
        }
        for r in &self.rates {
            line("rates", &format!("{}.{}", r.group, r.key), &r.percent.plain());
        }
        for n in &self.not_recorded {
            line("not_recorded", n.key, NOT_RECORDED);
        }
        out
    }

    /// The figures as a German CSV for people (the dashboard's download, opened in a spreadsheet):
    /// German headings and labels instead of keys, decimal commas, the time of the report in Hannover
    /// time. [`KeyFigures::to_csv`] stays the stable format for programs.
    pub fn to_csv_de(&self) -> String {
        let mut out = String::from("Bereich;Angabe;Wert\n");
        let mut line = |t: &str, r: &str, v: &str| {
            let _ = writeln!(out, "{};{};{}", csv_field(t), csv_field(r), csv_field(v));
        };
        line("Bericht", "Jahr der Fallöffnung", &self.year.to_string());
        let org = self.organisation.as_ref().map_or_else(|| "alle Fachstellen".to_owned(), |o| o.name.clone());
        line("Bericht", "Fachstelle", &org);
        line("Bericht", "Erstellt am", &self.generated_de());
        for t in &self.tables {
            for r in &t.rows {
                line(t.title_de, &r.label_de, &r.count.german());
            }
            for r in &t.rows {
                if let Some(a) = r.amount_cents {
                    let v = match a {
                        Cell::Cents(c) => format!("{},{:02}", c / 100, c % 100),
                        other => other.german(),
                    };
                    line(&format!("{} – Summe in Euro", t.title_de), &r.label_de, &v);
                }
                if let Some(m) = r.median_days {
                    line(&format!("{} – Median in Tagen", t.title_de), &r.label_de, &m.german_derived());
                }
            }
        }
        for r in &self.rates {
            line("Quoten", &r.label_de, &r.percent.german_derived());
        }
        for n in &self.not_recorded {
            line("Nicht erfasst", n.text_de, "nicht erfasst");
        }
        out
    }

    /// A self-contained German HTML document with the charts inline (SVG); every value is escaped.
    /// Printing it from a browser ("Als PDF speichern") is the PDF export: see
    /// [`charts::PRINT_CSS`].
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let title = format!("Kennzahlen {}", self.year);
        h.push_str("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        h.push_str(&escape(&title));
        h.push_str("</title>\n<style>");
        h.push_str("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}");
        h.push_str("table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #999;padding:.2em .5em;");
        h.push_str("text-align:left}td.n{text-align:right}th{background:#eee}tr.sum td{font-weight:bold}");
        h.push_str(".note{color:#444}");
        h.push_str(charts::CHART_CSS);
        h.push_str(charts::PRINT_CSS);
        h.push_str("</style>\n</head>\n<body>\n<h1>");
        h.push_str(&escape(&title));
        h.push_str("</h1>\n");
        h.push_str(&self.summary_html());
        h.push_str(&charts::charts_html(self));
        h.push_str(&self.tables_html());
        h.push_str("</body>\n</html>\n");
        h
    }

    /// When the report was made, in German local time ("24.04.2026 11:00"); as stored if unreadable.
    fn generated_de(&self) -> String {
        time::OffsetDateTime::parse(&self.generated_at, &time::format_description::well_known::Rfc3339)
            .map(|t| crate::labels::instant(Instant::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)))
            .unwrap_or_else(|_| self.generated_at.clone())
    }

    /// Whose cases of which year the report counts, when it was made, and what it leaves out
    /// (HTML paragraphs, escaped): the report and the dashboard page show it below the heading.
    pub fn summary_html(&self) -> String {
        let scope = match &self.organisation {
            Some(o) => o.name.clone(),
            None => "alle Fachstellen".to_owned(),
        };
        format!(
            "<p>Fälle, die im Jahr {} eröffnet wurden: {}.<br>Erstellt am: {}</p>\n<p class=\"note\">Fälle mit \
             eingeschränkter Verarbeitung (Art. 18 DSGVO) sind nicht enthalten.</p>\n",
            self.year,
            escape(&scope),
            escape(&self.generated_de())
        )
    }

    /// The suppression rule, every table with its rates, and what the hub does not record (HTML
    /// sections, escaped): the report and the dashboard page render the tables through this alone.
    pub fn tables_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<h2>Geheimhaltung kleiner Fallzahlen</h2>\n<p>");
        h.push_str(&escape(RULE_DE));
        h.push_str("</p>\n");
        for t in &self.tables {
            let _ = writeln!(h, "<h2>{}</h2>", escape(t.title_de));
            let mut note = t.note_de.to_owned();
            if t.includes_erased && !note.contains("gelöscht") {
                note = format!("{note} Gelöschte Fälle sind enthalten.").trim().to_owned();
            }
            if !note.is_empty() {
                let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(&note));
            }
            if t.key == OUTCOME_BY_STAGE {
                self.cross_table_html(&mut h, t);
                continue;
            }
            let amounts = t.rows.iter().any(|r| r.amount_cents.is_some());
            let medians = t.rows.iter().any(|r| r.median_days.is_some());
            let _ = write!(h, "<table>\n<tr><th>Merkmal</th><th>{}</th>", escape(t.count_heading_de));
            if amounts {
                h.push_str("<th>Betrag</th>");
            }
            if medians {
                h.push_str("<th>Median (Tage)</th>");
            }
            h.push_str("</tr>\n");
            for r in &t.rows {
                let class = if r.key == "total" { " class=\"sum\"" } else { "" };
                let _ = write!(
                    h,
                    "<tr{class}><td>{}</td><td class=\"n\">{}</td>",
                    escape(&r.label_de),
                    escape(&r.count.german())
                );
                if amounts {
                    let _ = write!(
                        h,
                        "<td class=\"n\">{}</td>",
                        escape(&r.amount_cents.map_or(String::new(), Cell::german))
                    );
                }
                if medians {
                    let _ = write!(
                        h,
                        "<td class=\"n\">{}</td>",
                        escape(&r.median_days.map_or(String::new(), Cell::german_derived))
                    );
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
            if t.key == "outcomes" {
                self.rates_html(&mut h, "all", "Quoten");
            }
            if t.key == "women" {
                self.rates_html(&mut h, "women", "Quoten (Frauen)");
            }
            if t.key == "violence_protection" {
                self.rates_html(&mut h, "violence_protection", "Quoten (Gewaltschutz)");
            }
        }
        h.push_str(
            "<h2>Nicht erfasst</h2>\n<p>Diese Angaben speichert der Hub nicht; sie fehlen in den Tabellen oder \
                    sind als „nicht erfasst“ ausgewiesen:</p>\n<ul>\n",
        );
        for n in &self.not_recorded {
            let _ = writeln!(h, "<li>{}</li>", escape(n.text_de));
        }
        h.push_str("</ul>\n");
        h
    }

    /// The cross table of outcome groups by stage as a matrix: a row per stage with cases (its
    /// count from `first_stage` first), a column per outcome group. Stages without cases are left
    /// out here; CSV and JSON carry every cell.
    fn cross_table_html(&self, h: &mut String, t: &Table) {
        h.push_str("<table>\n<tr><th>Stufe beim Erstkontakt</th><th>Fälle</th>");
        for (_, label) in OUTCOME_GROUPS {
            let _ = write!(h, "<th>{}</th>", escape(label));
        }
        h.push_str("</tr>\n");
        let stages = self.table("first_stage").map_or(&[][..], |s| &s.rows[..]);
        for stage in stages.iter().filter(|r| r.key != "total" && r.count != Cell::Count(0)) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td>",
                escape(&stage.label_de),
                escape(&stage.count.german())
            );
            for (group, _) in OUTCOME_GROUPS {
                let cell = t.row(&format!("{}.{group}", stage.key)).map_or(Cell::None, |r| r.count);
                let _ = write!(h, "<td class=\"n\">{}</td>", escape(&cell.german()));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }

    fn rates_html(&self, h: &mut String, group: &str, heading: &str) {
        let _ = write!(h, "<table>\n<tr><th>{}</th><th>Prozent</th></tr>\n", escape(heading));
        for r in self.rates.iter().filter(|r| r.group == group) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&r.label_de),
                escape(&r.percent.german_derived())
            );
        }
        h.push_str("</table>\n");
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_render_in_each_format() {
        assert_eq!(Cell::Suppressed.plain(), "<5");
        assert_eq!(Cell::Suppressed.german(), "<5", "a hidden count");
        assert_eq!(
            Cell::Suppressed.german_derived(),
            "nicht ausgewiesen",
            "a hidden rate or median is no small number"
        );
        assert_eq!(Cell::Percent(12.5).german_derived(), "12,5 %");
        assert_eq!(Cell::Cents(156_000).plain(), "1560.00");
        assert_eq!(Cell::Cents(1_234_500).german(), "12.345 €");
        assert_eq!(Cell::Percent(83.333).german(), "83,3 %");
        assert_eq!(serde_json::to_string(&Cell::Suppressed).unwrap(), "\"<5\"");
        assert_eq!(serde_json::to_string(&Cell::Count(7)).unwrap(), "7");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
        assert!("pdf".parse::<Format>().is_err());
    }
}
