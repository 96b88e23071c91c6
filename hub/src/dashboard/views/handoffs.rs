//! The "Vermittlungen" page: every referral the Fachstelle sent, with a filter.

use super::{Choice, Ctx, case_link, choices, esc, instant, labels, render_template, time_day, who};
use crate::domain::referral::ReferralState;
use crate::service::dashboard::{HandoffFilter, HandoffRow, HandoffsModel, LastEvent};

/// The "Vermittlungen" page as its template (`templates/dashboard/handoffs.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/handoffs.html")]
struct Page {
    partners: Vec<Choice>,
    states: Vec<Choice>,
    overdue_only: bool,
    rows: Vec<Row>,
    count: String,
}

/// One referral, in words; the fields marked HTML are built escaped by the shared helpers.
struct Row {
    referral_id: String,
    overdue: bool,
    /// HTML: the link to the case.
    case: String,
    partner: String,
    /// HTML: the link to the referral, showing its category.
    category: String,
    state: &'static str,
    age: String,
    /// HTML: a `<time>` element.
    reply_by: String,
    /// HTML: the last handoff.
    last: String,
}

/// The body of the "Vermittlungen" page.
pub fn render(m: &HandoffsModel, filter: &HandoffFilter, _ctx: &Ctx) -> String {
    let page = Page {
        partners: m
            .partners
            .iter()
            .map(|p| Choice {
                value: p.id.to_string(),
                label: p.name.clone(),
                selected: filter.partner.as_ref() == Some(&p.id),
            })
            .collect(),
        states: choices(ReferralState::ALL, ReferralState::as_str, labels::state, filter.state),
        overdue_only: filter.overdue,
        rows: m.rows.iter().map(row).collect(),
        count: super::count(m.rows.len(), "Vermittlung", "Vermittlungen"),
    };
    render_template(&page)
}

fn row(r: &HandoffRow) -> Row {
    Row {
        referral_id: r.referral_id.to_string(),
        overdue: r.overdue,
        case: case_link(&r.case),
        partner: r.partner.name.clone(),
        category: super::referral_link(&r.referral_id, r.category),
        state: labels::state(r.state),
        age: super::count(usize::try_from(r.age_days).unwrap_or(0), "Tag", "Tage"),
        reply_by: time_day(r.reply_by),
        last: last_event(r.last_event.as_ref()),
    }
}

/// The last handoff in words: what, when, who.
pub(crate) fn last_event(e: Option<&LastEvent>) -> String {
    match e {
        None => "–".to_owned(),
        Some(e) => {
            let what = e.mv.map_or(labels::REFERRAL_SENT, labels::move_done);
            format!("{} am {} durch {}", esc(what), instant(e.at), who(&e.who))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{CaseId, OrgId, ReferralId};
    use crate::domain::referral::Move;
    use crate::domain::time::{Day, Instant};
    use crate::domain::vocab::ReferralCategory;
    use crate::service::dashboard::{CaseLabel, PartnerRef, Who};

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-01-20").unwrap(), csrf: "t".into(), staff_name: "S".into() }
    }

    fn handoff(overdue: bool) -> HandoffRow {
        let jc = PartnerRef { id: OrgId::parse("jobcenter").unwrap(), name: "Jobcenter <Region>".into() };
        HandoffRow {
            referral_id: ReferralId::new(),
            case: CaseLabel { id: CaseId::new(), name: Some("K., Anna".into()) },
            partner: jc.clone(),
            category: ReferralCategory::RentDebtTakeoverSgb2,
            state: ReferralState::Received,
            created_at: Instant::from_millis(1_767_949_200_000),
            age_days: 11,
            reply_by: Day::parse("2026-01-16").unwrap(),
            overdue,
            last_event: Some(LastEvent {
                mv: Some(Move::Acknowledge),
                to: ReferralState::Received,
                at: Instant::from_millis(1_767_949_200_000),
                who: Who::Org { org: jc, staff: Some("Herr <M>".into()) },
            }),
        }
    }

    #[test]
    fn rows_carry_the_hooks_and_the_overdue_flag() {
        let m = HandoffsModel { rows: vec![handoff(true), handoff(false)], partners: vec![] };
        let html = render(&m, &HandoffFilter::default(), &ctx());
        let id = m.rows[0].referral_id.as_str();
        assert!(html.contains(&format!("<tr class=\"ueberweisung ueberfaellig\" data-referral=\"{id}\">")), "{html}");
        let id = m.rows[1].referral_id.as_str();
        assert!(html.contains(&format!("<tr class=\"ueberweisung\" data-referral=\"{id}\">")), "{html}");
        assert_eq!(html.matches("<strong class=\"warnung\">überfällig</strong>").count(), 1);
        assert!(html.contains("<td class=\"status\">eingegangen</td>"));
        // The template escapes (askama writes `<` as `&#60;`): no markup from a partner's name.
        assert!(html.contains("<td class=\"partner\">Jobcenter &#60;Region&#62;</td>"), "{html}");
        assert!(html.contains("Eingang bestätigt am 09.01.2026 10:00 durch Jobcenter &lt;Region&gt; (Herr &lt;M&gt;)"));
        assert!(html.contains("class=\"fall-link\""));
    }

    #[test]
    fn the_filter_keeps_its_selection() {
        let m = HandoffsModel {
            rows: vec![],
            partners: vec![PartnerRef { id: OrgId::parse("jobcenter").unwrap(), name: "Jobcenter".into() }],
        };
        let f = HandoffFilter::from_query(Some("jobcenter"), Some("RECEIVED"), Some("1"));
        let html = render(&m, &f, &ctx());
        assert!(html.contains("<option value=\"jobcenter\" selected>Jobcenter</option>"), "{html}");
        assert!(html.contains("<option value=\"RECEIVED\" selected>eingegangen</option>"));
        assert!(html.contains("name=\"ueberfaellig\" value=\"1\" checked"));
        assert!(html.contains("Keine Vermittlungen"));
        assert_eq!(HandoffFilter::from_query(Some(""), Some("NOPE"), None), HandoffFilter::default());
    }
}
