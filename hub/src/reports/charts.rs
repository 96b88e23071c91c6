//! Charts of the annual key figures ([`crate::reports::key_figures`]) as inline SVG, drawn with `plotters`
//! (SVG backend only: no fonts are loaded, the text is SVG `<text>` the browser sets, and plotters'
//! rough font metrics only place it).
//!
//! - [`outcomes_by_stage_svg`]: horizontal grouped bars, one group per stage at first contact that
//!   has cases, one bar per outcome group (Erfolg, anderes Ergebnis mit Kontakt, ohne Kontakt, noch
//!   offen), from the cross table [`OUTCOME_BY_STAGE`].
//! - [`cases_by_month_svg`]: a column per month of opening, from [`CASES_BY_MONTH`].
//!
//! The charts draw only what the tables publish. A suppressed cell arrives as [`Cell::Suppressed`],
//! without its value, and is drawn as a hatched outline reaching 5 on the count axis with the label
//! „<5“, the same marker as the tables, whatever the hidden count (a complementary suppression can
//! hide a larger one). A zero is drawn as the label „0“ without a bar.
//!
//! # PDF
//!
//! The report page ([`KeyFigures::to_html`]) and the dashboard page carry [`PRINT_CSS`]: printing
//! either from a browser and choosing „Als PDF speichern“ gives a clean PDF (no navigation or
//! forms, charts not split across pages, tables not cut in a row). That is the PDF export: no PDF
//! library is needed on the server.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::reports::html::escape;
use crate::reports::key_figures::{CASES_BY_MONTH, Cell, KeyFigures, OUTCOME_BY_STAGE, OUTCOME_GROUPS};

/// The print stylesheet of the report and the dashboard's figures page: what a browser's „Drucken →
/// Als PDF speichern“ turns into the PDF of the key figures.
pub const PRINT_CSS: &str = "@media print{@page{size:A4;margin:15mm}\
body{max-width:none;margin:0;font-size:10pt;color:#000;background:#fff}\
nav,header nav,form,button,.nicht-drucken{display:none!important}\
a{color:#000;text-decoration:none}\
figure.diagramm{break-inside:avoid;page-break-inside:avoid;margin:0 0 1em}\
figure.diagramm svg{max-width:100%;height:auto}\
table{break-inside:auto}tr{break-inside:avoid;page-break-inside:avoid}\
h2{break-after:avoid;page-break-after:avoid}}";

/// The screen style of the chart figures.
pub const CHART_CSS: &str = "figure.diagramm{margin:1em 0}figure.diagramm svg{max-width:100%;height:auto}\
figure.diagramm figcaption{color:#444;font-size:.9em}";

const FONT: &str = "sans-serif";
/// What the captions say about hatched bars (HTML).
const HIDDEN_NOTE: &str = "Schraffiert mit „&lt;5“: unterdrückte Zahl (unter 5, oder mit unterdrückt, damit sich \
                           keine kleine Zahl errechnen lässt).";
const WIDTH: u32 = 860;
/// Hidden cells reach this far on the count axis: the marker says "under 5".
const HIDDEN_REACH: i32 = 5;
const HIDDEN_LABEL: &str = crate::reports::key_figures::SUPPRESSED;
/// Colours of the outcome groups, in the order of [`OUTCOME_GROUPS`].
const GROUP_COLOURS: [RGBColor; 4] =
    [RGBColor(46, 125, 50), RGBColor(230, 145, 0), RGBColor(117, 117, 117), RGBColor(21, 101, 192)];
const MONTH_COLOUR: RGBColor = RGBColor(21, 101, 192);
const HATCH: RGBColor = RGBColor(90, 90, 90);
/// The colour of the value labels (`#1A1A1A`).
const VALUE_INK: RGBColor = RGBColor(26, 26, 26);
const MONTHS_SHORT: [&str; 12] = ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"];

type Backend<'a> = SVGBackend<'a>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// One stage at first contact with its outcome groups.
struct StageBars {
    label: String,
    cells: [Cell; 4],
}

/// The stages with cases (shown or suppressed), in the order of the escalation.
fn stage_bars(figures: &KeyFigures) -> Vec<StageBars> {
    let (Some(stages), Some(cross)) = (figures.table("first_stage"), figures.table(OUTCOME_BY_STAGE)) else {
        return Vec::new();
    };
    stages
        .rows
        .iter()
        .filter(|r| r.key != "total" && r.count != Cell::Count(0))
        .map(|r| StageBars {
            label: r.label_de.clone(),
            cells: OUTCOME_GROUPS
                .map(|(group, _)| cross.row(&format!("{}.{group}", r.key)).map_or(Cell::NotRecorded, |c| c.count)),
        })
        .collect()
}

/// The twelve months' cells (January first).
fn month_cells(figures: &KeyFigures) -> Option<[Cell; 12]> {
    let t = figures.table(CASES_BY_MONTH)?;
    let mut cells = [Cell::NotRecorded; 12];
    for (m, cell) in (1..).zip(&mut cells) {
        *cell = t.row(&format!("{m:02}"))?.count;
    }
    Some(cells)
}

/// The upper end of a count axis that fits `cells` (and the hidden marker) with room for labels.
fn axis_end<'c>(cells: impl Iterator<Item = &'c Cell>) -> i32 {
    let max = cells.filter_map(|c| c.count()).max().unwrap_or(0).max(i64::from(HIDDEN_REACH));
    let max = i32::try_from(max).unwrap_or(i32::MAX / 2);
    max + (max / 8).max(2)
}

fn text(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v))
}

/// The value at the end of a bar: in [`VALUE_INK`], so it is told apart from the axis labels (in
/// black) by a reader of the SVG, e.g. a test.
fn value_label(h: HPos, v: VPos) -> TextStyle<'static> {
    text(13, h, v).color(&VALUE_INK)
}

/// Diagonal lines in `colour` across the rectangle (pixels of `root`) `(x0, y0)`-`(x1, y1)`, and its outline.
fn hatch(
    root: &DrawingArea<Backend<'_>, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    colour: RGBColor,
) -> DrawResult {
    let (left, right) = (x0.min(x1), x0.max(x1));
    let (top, bottom) = (y0.min(y1), y0.max(y1));
    let line = ShapeStyle::from(&colour).stroke_width(1);
    // Lines y = x + c (going down to the right), every 6 pixels, clipped to the rectangle.
    let mut c = top - right;
    while c <= bottom - left {
        let xs = left.max(top - c);
        let xe = right.min(bottom - c);
        if xs < xe {
            root.draw(&PathElement::new(vec![(xs, xs + c), (xe, xe + c)], line))?;
        }
        c += 6;
    }
    root.draw(&Rectangle::new([(left, top), (right, bottom)], line))
}

/// Writes an SVG of `size` with `draw`; on a drawing error, a short German note instead.
fn svg(title: &str, size: (u32, u32), draw: impl FnOnce(&DrawingArea<Backend<'_>, Shift>) -> DrawResult) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).and_then(|()| draw(&root)).and_then(|()| root.present())
    };
    match result {
        Ok(()) => {
            // An accessible name, so a screen reader announces the chart by its title.
            let tag = format!("<svg role=\"img\" aria-label=\"{}\" ", escape(title));
            let out = out.replacen("<svg ", &tag, 1);
            match out.find(">\n") {
                Some(i) => format!("{}<title>{}</title>\n{}", &out[..=i + 1], escape(title), &out[i + 2..]),
                None => out,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "drawing a key figures chart failed");
            format!("<p class=\"fehler\">Das Diagramm „{}“ konnte nicht gezeichnet werden.</p>", escape(title))
        }
    }
}

/// Horizontal grouped bars: for each stage at first contact with cases, one bar per outcome group.
pub fn outcomes_by_stage_svg(figures: &KeyFigures) -> String {
    let title = format!("Ergebnisse nach Stufe beim Erstkontakt ({})", figures.year);
    let stages = stage_bars(figures);
    const BAND: u32 = 76;
    const LEGEND: u32 = 56;
    let height = 110 + LEGEND + BAND * (stages.len().max(1) as u32);
    svg(&title, (WIDTH, height), |root| {
        let (chart_area, legend_area) = root.split_vertically(height - LEGEND);
        let n = stages.len().max(1) as f64;
        let x_end = axis_end(stages.iter().flat_map(|s| s.cells.iter()));
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(&title, (FONT, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(270)
            .build_cartesian_2d(0..x_end, 0f64..n)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("Anzahl der Fälle")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 15))
            .draw()?;
        if stages.is_empty() {
            let at = chart.backend_coord(&(x_end / 2, n / 2.0));
            root.draw(&Text::new("Keine Fälle im Jahr", at, text(16, HPos::Center, VPos::Center)))?;
        }
        // Stage i is the band [n-1-i, n-i], top to bottom; bar g sits at 0.1 + 0.2 g from its top.
        for (i, stage) in stages.iter().enumerate() {
            let top = n - i as f64;
            let (left, centre) = chart.backend_coord(&(0, top - 0.5));
            root.draw(&Text::new(stage.label.clone(), (left - 10, centre), text(15, HPos::Right, VPos::Center)))?;
            for (g, (cell, colour)) in stage.cells.iter().zip(GROUP_COLOURS).enumerate() {
                let (y0, y1) = (top - 0.1 - 0.2 * g as f64, top - 0.28 - 0.2 * g as f64);
                let mid = (y0 + y1) / 2.0;
                let (label, reach) = match *cell {
                    Cell::Count(v) => {
                        let v = i32::try_from(v).unwrap_or(x_end);
                        if v > 0 {
                            chart.draw_series([Rectangle::new([(0, y0), (v, y1)], colour.filled())])?;
                        }
                        (v.to_string(), v)
                    }
                    Cell::Suppressed => {
                        // In the group's colour, so the reader sees which outcome is hidden.
                        hatch(root, chart.backend_coord(&(0, y0)), chart.backend_coord(&(HIDDEN_REACH, y1)), colour)?;
                        (HIDDEN_LABEL.to_owned(), HIDDEN_REACH)
                    }
                    _ => continue,
                };
                let (x, y) = chart.backend_coord(&(reach, mid));
                root.draw(&Text::new(label, (x + 5, y), value_label(HPos::Left, VPos::Center)))?;
            }
        }
        legend(&legend_area, &OUTCOME_GROUPS.map(|(_, label)| label), &GROUP_COLOURS)
    })
}

/// The legend: a swatch per series, then the hatched swatch of a suppressed cell; items wrap to a
/// second row when the width runs out.
fn legend(area: &DrawingArea<Backend<'_>, Shift>, labels: &[&str], colours: &[RGBColor]) -> DrawResult {
    let (width, _) = area.dim_in_pixel();
    let width = i32::try_from(width).unwrap_or(i32::MAX);
    let (mut x, mut y) = (24, 16);
    let label_style = text(14, HPos::Left, VPos::Center);
    let hidden = format!("{HIDDEN_LABEL}: unterdrückt (Datenschutz)");
    let items = labels.iter().copied().zip(colours.iter().map(Some)).chain([(hidden.as_str(), None)]);
    for (label, colour) in items {
        // About 6 pixels a character at this size (plotters' naive metrics are no better).
        let item = 20 + 6 * label.chars().count() as i32;
        if x > 24 && x + item > width - 12 {
            (x, y) = (24, y + 24);
        }
        match colour {
            Some(c) => area.draw(&Rectangle::new([(x, y - 7), (x + 14, y + 7)], c.filled()))?,
            None => hatch(area, (x, y - 7), (x + 14, y + 7), HATCH)?,
        }
        area.draw(&Text::new(label.to_string(), (x + 20, y), label_style.clone()))?;
        x += item + 28;
    }
    Ok(())
}

/// A column per month of opening.
pub fn cases_by_month_svg(figures: &KeyFigures) -> String {
    let title = format!("Eröffnete Fälle je Monat ({})", figures.year);
    const HEIGHT: u32 = 400;
    const LEGEND: u32 = 40;
    svg(&title, (WIDTH, HEIGHT), |root| {
        let (chart_area, legend_area) = root.split_vertically(HEIGHT - LEGEND);
        let cells = month_cells(figures);
        let y_end = axis_end(cells.iter().flatten());
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(&title, (FONT, 22))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..12f64, 0..y_end)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc("Monat der Eröffnung")
            .y_desc("Eröffnete Fälle")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 15))
            .draw()?;
        for (m, name) in MONTHS_SHORT.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(m as f64 + 0.5, 0));
            root.draw(&Text::new(name.to_string(), (x, y + 8), text(15, HPos::Center, VPos::Top)))?;
        }
        let Some(cells) = cells else {
            let at = chart.backend_coord(&(6.0, y_end / 2));
            return root.draw(&Text::new("Keine Monatszahlen", at, text(16, HPos::Center, VPos::Center)));
        };
        for (m, cell) in cells.iter().enumerate() {
            let (x0, x1) = (m as f64 + 0.15, m as f64 + 0.85);
            let (label, reach) = match *cell {
                Cell::Count(v) => {
                    let v = i32::try_from(v).unwrap_or(y_end);
                    if v > 0 {
                        chart.draw_series([Rectangle::new([(x0, 0), (x1, v)], MONTH_COLOUR.filled())])?;
                    }
                    (v.to_string(), v)
                }
                Cell::Suppressed => {
                    hatch(root, chart.backend_coord(&(x0, 0)), chart.backend_coord(&(x1, HIDDEN_REACH)), HATCH)?;
                    (HIDDEN_LABEL.to_owned(), HIDDEN_REACH)
                }
                _ => continue,
            };
            let (x, y) = chart.backend_coord(&(m as f64 + 0.5, reach));
            root.draw(&Text::new(label, (x, y - 4), value_label(HPos::Center, VPos::Bottom)))?;
        }
        legend(&legend_area, &["eröffnete Fälle"], &[MONTH_COLOUR])
    })
}

/// Both charts, each in a `<figure class="diagramm">` with a German caption: what the report and
/// the dashboard page embed.
pub fn charts_html(figures: &KeyFigures) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<figure class=\"diagramm\" id=\"diagramm-ergebnisse\">\n{}<figcaption>Ergebnisse der im Jahr {} eröffneten \
         Fälle nach der ersten erfassten Bedrohungsstufe. {HIDDEN_NOTE}</figcaption>\n</figure>\n",
        outcomes_by_stage_svg(figures),
        figures.year
    );
    let _ = write!(
        h,
        "<figure class=\"diagramm\" id=\"diagramm-monate\">\n{}<figcaption>Im Jahr {} eröffnete Fälle je Monat. \
         {HIDDEN_NOTE}</figcaption>\n</figure>\n",
        cases_by_month_svg(figures),
        figures.year
    );
    h
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reports::key_figures::{Row, SuppressionNote, Table};

    fn table(key: &'static str, rows: Vec<(String, String, Cell)>) -> Table {
        Table {
            key,
            title: key,
            title_de: key,
            includes_erased: true,
            note: "",
            note_de: "",
            count_heading_de: "Fälle",
            rows: rows
                .into_iter()
                .map(|(key, label_de, count)| Row { key, label_de, count, amount_cents: None, median_days: None })
                .collect(),
        }
    }

    /// Key figures with two stages (Mahnung 12: success 7, no contact 5; Räumungstermin hidden:
    /// success hidden, open hidden), and months: Jan 9, Feb hidden, Mar 0, Apr hidden, rest 0.
    pub(crate) fn figures() -> KeyFigures {
        let stages = vec![
            ("total".into(), "Fälle insgesamt".into(), Cell::Count(20)),
            ("MAHNUNG".into(), "Mahnung".into(), Cell::Count(12)),
            ("URTEIL".into(), "Urteil".into(), Cell::Count(0)),
            ("RAEUMUNGSTERMIN".into(), "Räumungstermin".into(), Cell::Suppressed),
        ];
        let mut cross = Vec::new();
        for (stage, cells) in [
            ("MAHNUNG", [Cell::Count(7), Cell::Count(0), Cell::Count(5), Cell::Count(0)]),
            ("URTEIL", [Cell::Count(0); 4]),
            ("RAEUMUNGSTERMIN", [Cell::Suppressed, Cell::Count(0), Cell::Count(0), Cell::Suppressed]),
        ] {
            for ((group, _), cell) in OUTCOME_GROUPS.iter().zip(cells) {
                cross.push((format!("{stage}.{group}"), stage.to_owned(), cell));
            }
        }
        let mut months = vec![("total".to_owned(), "Fälle insgesamt".to_owned(), Cell::Count(20))];
        for m in 1..=12 {
            let cell = match m {
                1 => Cell::Count(9),
                2 | 4 => Cell::Suppressed,
                _ => Cell::Count(0),
            };
            months.push((format!("{m:02}"), format!("Monat {m}"), cell));
        }
        KeyFigures {
            year: 2026,
            organisation: None,
            generated_at: "2027-01-10T09:00:00Z".into(),
            suppression: SuppressionNote { marker: "<5", rule: "" },
            tables: vec![table("first_stage", stages), table(OUTCOME_BY_STAGE, cross), table(CASES_BY_MONTH, months)],
            rates: vec![],
            not_recorded: vec![],
        }
    }

    /// Whether every element of `svg` is closed in order (a small check of well-formedness; the
    /// text content is escaped, so every `<` opens a tag).
    fn well_formed(svg: &str) -> bool {
        let mut stack = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else { return false };
            let tag = &rest[start + 1..start + end];
            rest = &rest[start + end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.trim().to_owned()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
        stack.is_empty()
    }

    fn count(svg: &str, pattern: &str) -> usize {
        svg.matches(pattern).count()
    }

    /// Filled rectangles of `colour` (`#RRGGBB`), less the legend's swatch.
    fn bars(svg: &str, colour: &str) -> usize {
        count(svg, &format!("fill=\"{colour}\" stroke=\"none\"/>")) - 1
    }

    /// Hatched outlines (the only unfilled rectangles), less the legend's swatch.
    fn hatched(svg: &str) -> usize {
        count(svg, "fill=\"none\" stroke=\"#") - 1
    }

    /// Value labels (in the value ink) that read exactly `text`.
    fn value_labels(svg: &str, text: &str) -> usize {
        count(svg, &format!("fill=\"#1A1A1A\">\n{text}\n</text>"))
    }

    /// Value labels that read exactly "<5".
    fn hidden_labels(svg: &str) -> usize {
        value_labels(svg, "&lt;5")
    }

    #[test]
    fn the_charts_are_well_formed_svg_with_german_titles_and_axes() {
        let f = figures();
        let stages = outcomes_by_stage_svg(&f);
        let months = cases_by_month_svg(&f);
        for svg in [&stages, &months] {
            assert!(svg.starts_with("<svg role=\"img\" aria-label=\""), "{svg}");
            assert!(svg.trim_end().ends_with("</svg>"));
            assert!(well_formed(svg), "{svg}");
            assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        }
        for label in [
            "<title>Ergebnisse nach Stufe beim Erstkontakt (2026)</title>",
            "Anzahl der Fälle",
            "Mahnung",
            "Räumungstermin",
            "Wohnung erhalten oder Ersatzwohnraum",
            "anderes Ergebnis mit Kontakt",
            "ohne Kontakt",
            "noch offen",
            "&lt;5: unterdrückt (Datenschutz)",
        ] {
            assert!(stages.contains(label), "the stage chart lacks {label}");
        }
        assert!(!stages.contains("Urteil"), "a stage without cases gets no bars");
        for label in [
            "<title>Eröffnete Fälle je Monat (2026)</title>",
            "Monat der Eröffnung",
            "Eröffnete Fälle",
            "Jan",
            "Mär",
            "Dez",
        ] {
            assert!(months.contains(label), "the month chart lacks {label}");
        }
        let html = charts_html(&f);
        assert_eq!(count(&html, "<figure class=\"diagramm\""), 2);
        assert_eq!(count(&html, "<svg "), 2);
        assert!(well_formed(&html));
    }

    #[test]
    fn bars_are_drawn_for_shown_counts_and_suppressed_cells_only_as_hatched_under_5() {
        let f = figures();
        let stages = outcomes_by_stage_svg(&f);
        // Mahnung: success 7 and no contact 5 as bars; Räumungstermin's two hidden cells hatched.
        assert_eq!(bars(&stages, "#2E7D32"), 1, "success");
        assert_eq!(bars(&stages, "#757575"), 1, "no contact");
        assert_eq!(bars(&stages, "#E69100"), 0, "other outcome: zeros only");
        assert_eq!(bars(&stages, "#1565C0"), 0, "open: only a hidden cell");
        assert_eq!(hatched(&stages), 2);
        assert_eq!(count(&stages, "fill=\"none\" stroke=\"#2E7D32\""), 1, "hidden success, hatched in its colour");
        assert_eq!(count(&stages, "fill=\"none\" stroke=\"#1565C0\""), 1, "hidden open, hatched in its colour");
        assert_eq!(hidden_labels(&stages), 2);
        let months = cases_by_month_svg(&f);
        assert_eq!(bars(&months, "#1565C0"), 1, "January only");
        assert_eq!(hatched(&months), 2, "February and April");
        assert_eq!(hidden_labels(&months), 2);
        assert_eq!(value_labels(&months, "9"), 1, "January's count is labelled");
        assert_eq!(value_labels(&months, "0"), 9, "the empty months say 0");
        assert_eq!(value_labels(&stages, "7") + value_labels(&stages, "5"), 2);
        assert_eq!(value_labels(&stages, "0"), 4, "Mahnung's two zeros and Räumungstermin's two");
    }

    #[test]
    fn a_hidden_cell_reaches_5_whatever_it_hides() {
        // The chart gets no value for a hidden cell: its outline is the bar of a 5.
        let hidden = figures();
        let mut five = figures();
        let t = five.tables.iter_mut().find(|t| t.key == CASES_BY_MONTH).expect("months");
        t.rows.iter_mut().find(|r| r.key == "02").expect("February").count = Cell::Count(5);
        let outline = |svg: &str| -> String {
            let i = svg.find("fill=\"none\" stroke=\"#").expect("an outline");
            let start = svg[..i].rfind("<rect").expect("rect");
            svg[start..i].split(" opacity").next().unwrap_or_default().to_owned()
        };
        let bar = |svg: &str| -> Vec<String> {
            svg.lines()
                .filter(|l| l.starts_with("<rect") && l.contains("fill=\"#1565C0\""))
                .map(|l| l.split(" opacity").next().unwrap_or_default().to_owned())
                .collect()
        };
        let february_hatched = outline(&cases_by_month_svg(&hidden));
        assert!(bar(&cases_by_month_svg(&five)).contains(&february_hatched), "{february_hatched}");
    }

    #[test]
    fn figures_without_the_chart_tables_still_give_a_chart() {
        let mut f = figures();
        f.tables.clear();
        let stages = outcomes_by_stage_svg(&f);
        assert!(well_formed(&stages) && stages.contains("Keine Fälle im Jahr"));
        let months = cases_by_month_svg(&f);
        assert!(well_formed(&months) && months.contains("Keine Monatszahlen"));
    }
}
