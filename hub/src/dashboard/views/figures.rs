//! The key figures page `/kennzahlen?jahr=Y`: the annual report ([`KeyFigures`]) with its charts
//! inline, a year selector, the CSV download and the hint how to get a PDF (the browser's print,
//! with the print stylesheet [`PRINT_CSS`], which the page carries itself so the layout need not).
//! The charts and tables are rendered by the report itself, so page and report file never differ.

use super::{Choice, Ctx, render_template};
use crate::reports::charts::{CHART_CSS, PRINT_CSS, charts_html};
use crate::reports::key_figures::KeyFigures;

/// The key figures page as its template (`templates/dashboard/figures.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/figures.html")]
struct Page<'a> {
    /// The charts' and the print stylesheet (constants of this crate).
    css: String,
    year: i32,
    years: Vec<Choice>,
    organisation: Option<&'a str>,
    /// HTML: the report's summary, charts and tables, rendered (escaped) by the report itself so page
    /// and report file never differ.
    report: String,
}

/// The body of the key figures page for `year` (the year the figures were made for).
pub fn render(figures: &KeyFigures, year: i32, ctx: &Ctx) -> String {
    let this_year = ctx.today.year();
    // The last years up to this one, and the shown year whatever it is.
    let mut years: Vec<i32> = (this_year - 5..=this_year).rev().collect();
    if !years.contains(&year) {
        years.push(year);
        years.sort_unstable_by(|a, b| b.cmp(a));
    }
    let page = Page {
        css: format!("{CHART_CSS}{PRINT_CSS}"),
        year,
        years: years
            .into_iter()
            .map(|y| Choice { value: y.to_string(), label: y.to_string(), selected: y == year })
            .collect(),
        organisation: figures.organisation.as_ref().map(|o| o.name.as_str()),
        report: format!("{}{}{}", figures.summary_html(), charts_html(figures), figures.tables_html()),
    };
    render_template(&page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Day;
    use crate::reports::key_figures::OrgRef;

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-11-20").expect("day"), csrf: "t".into(), staff_name: "Frau A.".into() }
    }

    #[test]
    fn the_page_has_heading_year_selector_charts_tables_and_downloads() {
        let mut f = crate::reports::charts::tests::figures();
        f.organisation = Some(OrgRef { id: "fachstelle".into(), name: "Fachstelle <Wohnungserhalt>".into() });
        let h = render(&f, 2026, &ctx());
        assert!(h.contains("<h1>Kennzahlen 2026</h1>"));
        assert!(h.contains("<form id=\"jahr-wahl\" class=\"nicht-drucken\" method=\"get\" action=\"/kennzahlen\">"));
        assert!(h.contains("<option value=\"2026\" selected>2026</option>"));
        assert!(h.contains("<option value=\"2021\">2021</option>"));
        assert_eq!(h.matches("<figure class=\"diagramm\"").count(), 2);
        assert!(h.contains("<a id=\"csv\" href=\"/kennzahlen.csv?jahr=2026\">CSV herunterladen</a>"));
        assert!(h.contains("Als PDF: Seite drucken und „Als PDF speichern“ wählen"));
        assert!(h.contains("@media print"));
        assert!(h.contains(&f.tables_html()), "the tables are the report's");
        assert!(h.contains("Fachstelle: Fachstelle &#60;Wohnungserhalt&#62;"), "the template escapes: {h}");
        assert!(!h.contains("<Wohnungserhalt>"));
    }

    #[test]
    fn a_year_outside_the_list_is_offered_too() {
        let h = render(&crate::reports::charts::tests::figures(), 2015, &ctx());
        assert!(h.contains("<h1>Kennzahlen 2015</h1>"));
        assert!(h.contains("<option value=\"2015\" selected>2015</option>"));
        assert!(h.contains("href=\"/kennzahlen.csv?jahr=2015\""));
    }
}
