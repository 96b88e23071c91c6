//! The case list ("Fälle"): open or closed cases with filters, a search across cases and notices
//! (names as they sound, addresses, tenancy references, Aktenzeichen), sorting and pages. No address
//! is shown in the list.

use std::fmt::Write as _;

use super::{case_link, empty, esc, instant, labels, time_day};
use crate::domain::vocab::{Stadtbezirk, ThreatStage};
use crate::service::dashboard::{CaseRow, CaseSort, CaseStatus, CasesModel};

/// The filters as the page's form sent them (kept for the form and the page links).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CaseQuery {
    /// `offen` (default), `abgeschlossen` or `alle`.
    pub status: Option<String>,
    /// A Stadtbezirk.
    pub bezirk: Option<String>,
    /// A threat stage.
    pub stufe: Option<String>,
    /// Search words.
    pub suche: Option<String>,
    /// `eroeffnet` (default) or `frist`.
    pub sortierung: Option<String>,
    /// The page, from 1.
    pub seite: Option<String>,
    /// `ich`: only the signed-in caseworker's cases ("Meine Fälle").
    pub zustaendig: Option<String>,
}

impl CaseQuery {
    /// The status asked for (unknown values read as the default).
    pub fn status(&self) -> CaseStatus {
        match self.status.as_deref() {
            Some("abgeschlossen") => CaseStatus::Closed,
            Some("alle") => CaseStatus::All,
            _ => CaseStatus::Open,
        }
    }

    /// The page asked for (anything but a number is the first).
    pub fn page(&self) -> usize {
        self.seite.as_deref().and_then(|s| s.trim().parse().ok()).unwrap_or(1)
    }

    /// Whether only the signed-in caseworker's cases are asked for.
    pub fn mine(&self) -> bool {
        self.zustaendig.as_deref() == Some("ich")
    }

    /// The sort order asked for.
    pub fn sort(&self) -> CaseSort {
        if self.sortierung.as_deref() == Some("frist") { CaseSort::Deadline } else { CaseSort::Opened }
    }

    /// The query string of page `page` with the same filters.
    fn page_link(&self, page: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("bezirk", &self.bezirk),
            ("stufe", &self.stufe),
            ("suche", &self.suche),
            ("sortierung", &self.sortierung),
            ("zustaendig", &self.zustaendig),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.append_pair("seite", &page.to_string());
        format!("/faelle?{}", q.finish())
    }
}

/// The body of the case list.
pub fn render(m: &CasesModel, q: &CaseQuery) -> String {
    let mut out = String::new();
    filter_form(&mut out, q);
    let searching = q.suche.as_deref().is_some_and(|s| !s.trim().is_empty());
    if m.total == 0 {
        out.push_str(&empty(if searching {
            "Kein Fall passt zu dieser Suche."
        } else {
            "Keine Fälle für diese Auswahl."
        }));
    } else {
        let what = match q.status() {
            CaseStatus::Open => super::count(m.total, "offener Fall", "offene Fälle"),
            CaseStatus::Closed => super::count(m.total, "abgeschlossener Fall", "abgeschlossene Fälle"),
            CaseStatus::All => super::count(m.total, "Fall", "Fälle"),
        };
        let _ = writeln!(out, "<p class=\"anzahl\">{what}</p>");
        table(&mut out, &m.rows);
        pages(&mut out, m, q);
    }
    if searching {
        notices(&mut out, m);
    }
    out
}

fn filter_form(out: &mut String, q: &CaseQuery) {
    out.push_str("<form id=\"filter\" method=\"get\" action=\"/faelle\">\n");
    let _ = writeln!(
        out,
        "<label>Suche (Name, Anschrift, Mietvertragsnummer, Aktenzeichen) \
         <input type=\"search\" name=\"suche\" id=\"suche\" value=\"{}\" maxlength=\"200\"></label>",
        esc(q.suche.as_deref().unwrap_or_default())
    );
    let status = q.status();
    out.push_str("<label>Stand <select name=\"status\">\n");
    for (value, label, s) in [
        ("offen", "offen", CaseStatus::Open),
        ("abgeschlossen", "abgeschlossen", CaseStatus::Closed),
        ("alle", "alle", CaseStatus::All),
    ] {
        let sel = if s == status { " selected" } else { "" };
        let _ = writeln!(out, "<option value=\"{value}\"{sel}>{label}</option>");
    }
    let mine = if q.mine() { " checked" } else { "" };
    let _ = writeln!(
        out,
        "</select></label>\n<label class=\"haken\"><input type=\"checkbox\" name=\"zustaendig\" value=\"ich\"{mine}> nur meine Fälle</label>"
    );
    out.push_str("<label>Stadtbezirk <select name=\"bezirk\">\n<option value=\"\">alle</option>\n");
    let bezirk = q.bezirk.as_deref().and_then(Stadtbezirk::parse);
    super::options(out, Stadtbezirk::ALL, Stadtbezirk::as_str, labels::district, bezirk);
    out.push_str("</select></label>\n<label>Stufe <select name=\"stufe\">\n<option value=\"\">alle</option>\n");
    let stufe = q.stufe.as_deref().and_then(ThreatStage::parse);
    super::options(out, ThreatStage::ALL, ThreatStage::as_str, labels::stage, stufe);
    out.push_str("</select></label>\n<label>Sortierung <select name=\"sortierung\">\n");
    let by_deadline = q.sort() == CaseSort::Deadline;
    let _ = writeln!(
        out,
        "<option value=\"eroeffnet\"{}>neueste zuerst</option><option value=\"frist\"{}>nächste Frist zuerst</option>",
        if by_deadline { "" } else { " selected" },
        if by_deadline { " selected" } else { "" }
    );
    out.push_str("</select></label>\n<button type=\"submit\">Anzeigen</button>\n</form>\n");
}

fn table(out: &mut String, rows: &[CaseRow]) {
    out.push_str(
        "<table id=\"faelle\">\n<thead><tr><th>Fall</th><th>Eröffnet</th><th>Zuständig</th><th>Stadtbezirk</th><th>Zugang</th>\
         <th>Stufe</th><th>Stand</th><th>Offene Vermittlungen</th><th>Nächste Frist</th></tr></thead>\n<tbody>\n",
    );
    for r in rows {
        let open = if r.overdue_referrals > 0 {
            format!("{} (<strong class=\"warnung\">{} überfällig</strong>)", r.open_referrals, r.overdue_referrals)
        } else {
            r.open_referrals.to_string()
        };
        let next = r.next_deadline.as_ref().map_or_else(
            || "–".to_owned(),
            |d| format!("{} ({})", time_day(d.date), esc(&labels::deadline_kind(&d.kind))),
        );
        let state = match r.closed {
            Some((day, outcome)) => format!("abgeschlossen am {}: {}", time_day(day), esc(labels::outcome(outcome))),
            None => "offen".to_owned(),
        };
        let state = if r.repeat { format!("{state} (Wiederholungsfall)") } else { state };
        let _ = writeln!(
            out,
            "<tr class=\"fall\"><td>{}</td><td>{}</td><td class=\"zustaendig\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"stand\">{state}</td><td>{open}</td><td>{next}</td></tr>",
            case_link(&r.case),
            instant(r.opened_at),
            r.assignee.as_deref().map_or_else(|| "–".to_owned(), esc),
            esc(labels::district(r.stadtbezirk)),
            esc(labels::route_in(r.route_in)),
            r.stage.map_or_else(|| "–".to_owned(), |s| esc(labels::stage(s))),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn pages(out: &mut String, m: &CasesModel, q: &CaseQuery) {
    if m.pages <= 1 {
        return;
    }
    let _ = write!(out, "<nav class=\"seiten\" aria-label=\"Seiten\"><p>Seite {} von {}", m.page, m.pages);
    if m.page > 1 {
        let _ = write!(out, " · <a rel=\"prev\" href=\"{}\">vorige Seite</a>", esc(&q.page_link(m.page - 1)));
    }
    if m.page < m.pages {
        let _ = write!(out, " · <a rel=\"next\" href=\"{}\">nächste Seite</a>", esc(&q.page_link(m.page + 1)));
    }
    out.push_str("</p></nav>\n");
}

fn notices(out: &mut String, m: &CasesModel) {
    out.push_str("<section id=\"gefundene-meldungen\">\n<h2>Meldungen ohne Fall</h2>\n");
    if m.notices.is_empty() {
        out.push_str(&empty("Keine offene Meldung passt zu dieser Suche."));
    } else {
        out.push_str("<ul>\n");
        for n in &m.notices {
            let name = n.name.as_deref().map_or_else(|| "ohne Namen".to_owned(), esc);
            let _ = writeln!(
                out,
                "<li class=\"meldung\"><a href=\"/meldungen/{}\">{name}</a>, eingegangen am {}</li>",
                esc(n.notice_id.as_str()),
                instant(n.received_at)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::CaseId;
    use crate::domain::time::{Day, Instant};
    use crate::domain::vocab::{CaseOutcome, RouteIn};
    use crate::service::dashboard::CaseLabel;

    fn row(closed: bool) -> CaseRow {
        CaseRow {
            case: CaseLabel { id: CaseId::new(), name: Some("K., Anna".into()) },
            opened_at: Instant::from_millis(0),
            stage: Some(ThreatStage::Mahnung),
            route_in: RouteIn::HousingCompanyNotice,
            open_referrals: 2,
            overdue_referrals: 1,
            next_deadline: None,
            stadtbezirk: Stadtbezirk::Nord,
            closed: closed.then(|| (Day::parse("2026-02-01").unwrap(), CaseOutcome::WohnungErhalten)),
            assignee: None,
            repeat: false,
        }
    }

    #[test]
    fn case_list_links_each_case_without_address_and_pages_keep_the_filters() {
        let m = CasesModel { rows: vec![row(false), row(true)], total: 120, page: 2, pages: 3, notices: vec![] };
        let q = CaseQuery { status: Some("alle".into()), suche: Some("Müller".into()), ..CaseQuery::default() };
        let html = render(&m, &q);
        assert!(html.contains("class=\"fall-link\"") && html.contains("K., Anna"));
        assert!(html.contains("1 überfällig") && html.contains("Mahnung") && html.contains("Nord"));
        assert!(html.contains("120 Fälle") && html.contains("Seite 2 von 3"), "{html}");
        assert!(html.contains("abgeschlossen am"), "{html}");
        assert!(html.contains("suche=M%C3%BCller") && html.contains("seite=3") && html.contains("seite=1"), "{html}");
        assert!(html.contains("Keine offene Meldung passt"), "a search also looks at notices");
    }
}
