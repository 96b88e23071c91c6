//! The case list ("Fälle"): open or closed cases with filters, a search across cases and notices
//! (names as they sound, addresses, tenancy references, Aktenzeichen), sorting and pages. No address
//! is shown in the list.

use super::{Choice, case_link, choices, instant, labels, render_template, time_day};
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

/// The case list as its template (`templates/dashboard/cases.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/cases.html")]
struct Page {
    search: String,
    searching: bool,
    status: Vec<Choice>,
    mine: bool,
    districts: Vec<Choice>,
    stages: Vec<Choice>,
    sorts: Vec<Choice>,
    count: String,
    rows: Vec<Row>,
    pager: Option<Pager>,
    notices: Vec<NoticeHit>,
}

/// One case, in words; `case` and the days are HTML built escaped by the shared helpers.
struct Row {
    case: String,
    opened: String,
    assignee: String,
    district: &'static str,
    route_in: &'static str,
    stage: &'static str,
    closed: Option<(String, &'static str)>,
    repeat: bool,
    open_referrals: usize,
    overdue_referrals: usize,
    next: Option<(String, String)>,
}

/// Where the list is in its pages, with the links that keep the filters.
struct Pager {
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

/// A notice without a case that the search found.
struct NoticeHit {
    id: String,
    name: String,
    received: String,
}

/// Options with fixed values and labels, marking the one chosen.
fn fixed<T: PartialEq>(items: &[(&str, &str, T)], chosen: &T) -> Vec<Choice> {
    items
        .iter()
        .map(|(value, label, v)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: v == chosen,
        })
        .collect()
}

/// The body of the case list.
pub fn render(m: &CasesModel, q: &CaseQuery) -> String {
    let status = q.status();
    let count = match status {
        CaseStatus::Open => super::count(m.total, "offener Fall", "offene Fälle"),
        CaseStatus::Closed => super::count(m.total, "abgeschlossener Fall", "abgeschlossene Fälle"),
        CaseStatus::All => super::count(m.total, "Fall", "Fälle"),
    };
    let page = Page {
        search: q.suche.clone().unwrap_or_default(),
        searching: q.suche.as_deref().is_some_and(|s| !s.trim().is_empty()),
        status: fixed(
            &[
                ("offen", "offen", CaseStatus::Open),
                ("abgeschlossen", "abgeschlossen", CaseStatus::Closed),
                ("alle", "alle", CaseStatus::All),
            ],
            &status,
        ),
        mine: q.mine(),
        districts: choices(
            Stadtbezirk::ALL,
            Stadtbezirk::as_str,
            labels::district,
            q.bezirk.as_deref().and_then(Stadtbezirk::parse),
        ),
        stages: choices(
            ThreatStage::ALL,
            ThreatStage::as_str,
            labels::stage,
            q.stufe.as_deref().and_then(ThreatStage::parse),
        ),
        sorts: fixed(
            &[("eroeffnet", "neueste zuerst", CaseSort::Opened), ("frist", "nächste Frist zuerst", CaseSort::Deadline)],
            &q.sort(),
        ),
        count,
        rows: if m.total == 0 { Vec::new() } else { m.rows.iter().map(row).collect() },
        pager: (m.total > 0 && m.pages > 1).then(|| Pager {
            page: m.page,
            pages: m.pages,
            prev: (m.page > 1).then(|| q.page_link(m.page - 1)),
            next: (m.page < m.pages).then(|| q.page_link(m.page + 1)),
        }),
        notices: m
            .notices
            .iter()
            .map(|n| NoticeHit {
                id: n.notice_id.to_string(),
                name: n.name.clone().unwrap_or_else(|| "ohne Namen".to_owned()),
                received: instant(n.received_at),
            })
            .collect(),
    };
    render_template(&page)
}

fn row(r: &CaseRow) -> Row {
    Row {
        case: case_link(&r.case),
        opened: instant(r.opened_at),
        assignee: r.assignee.clone().unwrap_or_else(|| "–".to_owned()),
        district: labels::district(r.stadtbezirk),
        route_in: labels::route_in(r.route_in),
        stage: r.stage.map_or("–", labels::stage),
        closed: r.closed.map(|(day, outcome)| (time_day(day), labels::outcome(outcome))),
        repeat: r.repeat,
        open_referrals: r.open_referrals,
        overdue_referrals: r.overdue_referrals,
        next: r.next_deadline.as_ref().map(|d| (time_day(d.date), labels::deadline_kind(&d.kind))),
    }
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
