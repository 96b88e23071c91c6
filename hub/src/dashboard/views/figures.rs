//! The key figures page `/kennzahlen?jahr=Y`: the annual report ([`KeyFigures`]) with its charts
//! inline, a year selector, the CSV download and the hint how to get a PDF (the browser's print,
//! with the print stylesheet [`PRINT_CSS`], which the page carries itself so the layout need not).
//! The charts and tables are rendered by the report itself, so page and report file never differ.

use super::{Ctx, esc};
use crate::key_figures::KeyFigures;
use crate::key_figures_charts::{CHART_CSS, PRINT_CSS, charts_html};

/// The body of the key figures page for `year` (the year the figures were made for).
pub fn render(figures: &KeyFigures, year: i32, ctx: &Ctx) -> String {
    let this_year = ctx.today.year();
    let mut h = String::new();
    h.push_str("<style>");
    h.push_str(CHART_CSS);
    h.push_str(PRINT_CSS);
    h.push_str("</style>\n");
    h.push_str(&format!("<h1>Kennzahlen {year}</h1>\n"));
    h.push_str(
        "<form id=\"jahr-wahl\" class=\"nicht-drucken\" method=\"get\" action=\"/kennzahlen\">\n<label \
         for=\"jahr\">Jahr</label> <select id=\"jahr\" name=\"jahr\">\n",
    );
    // The last years up to this one, and the shown year whatever it is.
    let mut years: Vec<i32> = (this_year - 5..=this_year).rev().collect();
    if !years.contains(&year) {
        years.push(year);
        years.sort_unstable_by(|a, b| b.cmp(a));
    }
    for y in years {
        let selected = if y == year { " selected" } else { "" };
        h.push_str(&format!("<option value=\"{y}\"{selected}>{y}</option>\n"));
    }
    h.push_str("</select> <button type=\"submit\">Anzeigen</button>\n</form>\n");
    h.push_str(&format!(
        "<p class=\"nicht-drucken\"><a id=\"csv\" href=\"/kennzahlen.csv?jahr={year}\">CSV herunterladen</a> · \
         Als PDF: Seite drucken und „Als PDF speichern“ wählen.</p>\n"
    ));
    if let Some(org) = &figures.organisation {
        h.push_str(&format!("<p class=\"note\">Fachstelle: {}</p>\n", esc(&org.name)));
    }
    h.push_str(&figures.summary_html());
    h.push_str(&charts_html(figures));
    h.push_str(&figures.tables_html());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Day;
    use crate::key_figures::OrgRef;

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-11-20").expect("day"), csrf: "t".into(), staff_name: "Frau A.".into() }
    }

    #[test]
    fn the_page_has_heading_year_selector_charts_tables_and_downloads() {
        let mut f = crate::key_figures_charts::tests::figures();
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
        assert!(h.contains("Fachstelle &lt;Wohnungserhalt&gt;") && !h.contains("<Wohnungserhalt>"));
    }

    #[test]
    fn a_year_outside_the_list_is_offered_too() {
        let h = render(&crate::key_figures_charts::tests::figures(), 2015, &ctx());
        assert!(h.contains("<h1>Kennzahlen 2015</h1>"));
        assert!(h.contains("<option value=\"2015\" selected>2015</option>"));
        assert!(h.contains("href=\"/kennzahlen.csv?jahr=2015\""));
    }
}
