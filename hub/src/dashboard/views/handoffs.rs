//! The "Vermittlungen" page: every referral the Fachstelle sent, with a filter.

use std::fmt::Write as _;

use super::{Ctx, case_link, empty, esc, instant, labels, partner_name, time_day, who};
use crate::domain::referral::ReferralState;
use crate::service::dashboard::{HandoffFilter, HandoffRow, HandoffsModel, LastEvent};

/// The body of the "Vermittlungen" page.
pub fn render(m: &HandoffsModel, filter: &HandoffFilter, ctx: &Ctx) -> String {
    let _ = ctx;
    let mut out = String::new();
    filter_form(&mut out, m, filter);
    if m.rows.is_empty() {
        out.push_str(&empty("Keine Vermittlungen für diese Auswahl."));
        return out;
    }
    let _ = writeln!(out, "<p class=\"anzahl\">{}</p>", super::count(m.rows.len(), "Vermittlung", "Vermittlungen"));
    out.push_str(
        "<table id=\"uebergaben\">\n<thead><tr><th>Fall</th><th>Partner</th><th>Anliegen</th><th>Status</th>\
         <th>Alter</th><th>Antwort bis</th><th>Letztes Ereignis</th></tr></thead>\n<tbody>\n",
    );
    for r in &m.rows {
        row(&mut out, r);
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn filter_form(out: &mut String, m: &HandoffsModel, f: &HandoffFilter) {
    out.push_str("<form id=\"filter\" method=\"get\" action=\"/uebergaben\">\n");
    out.push_str("<label>Partner <select name=\"partner\">\n<option value=\"\">alle</option>\n");
    for p in &m.partners {
        let sel = if f.partner.as_ref() == Some(&p.id) { " selected" } else { "" };
        let _ = writeln!(out, "<option value=\"{}\"{sel}>{}</option>", esc(p.id.as_str()), partner_name(p));
    }
    out.push_str("</select></label>\n");
    out.push_str("<label>Status <select name=\"status\">\n<option value=\"\">alle offenen</option>\n");
    super::options(out, ReferralState::ALL, ReferralState::as_str, labels::state, f.state);
    out.push_str("</select></label>\n");
    let checked = if f.overdue { " checked" } else { "" };
    let _ = writeln!(
        out,
        "<label class=\"haken\"><input type=\"checkbox\" name=\"ueberfaellig\" value=\"1\"{checked}> nur überfällige</label>"
    );
    out.push_str("<button type=\"submit\">Filtern</button>\n</form>\n");
}

/// One referral row (also used by the case page's referral table).
fn row(out: &mut String, r: &HandoffRow) {
    let class = if r.overdue { "ueberweisung ueberfaellig" } else { "ueberweisung" };
    let reply = if r.overdue {
        format!("{} <strong class=\"warnung\">überfällig</strong>", time_day(r.reply_by))
    } else {
        time_day(r.reply_by)
    };
    let age = match r.age_days {
        1 => "1 Tag".to_owned(),
        n => format!("{n} Tage"),
    };
    let _ = writeln!(
        out,
        "<tr class=\"{class}\" data-referral=\"{}\"><td>{}</td><td class=\"partner\">{}</td><td>{}</td>\
         <td class=\"status\">{}</td><td>{age}</td><td>{reply}</td><td class=\"letztes\">{}</td></tr>",
        esc(r.referral_id.as_str()),
        case_link(&r.case),
        partner_name(&r.partner),
        super::referral_link(&r.referral_id, r.category),
        esc(labels::state(r.state)),
        last_event(r.last_event.as_ref()),
    );
}

/// The last handoff in words: what, when, who.
pub(crate) fn last_event(e: Option<&LastEvent>) -> String {
    match e {
        None => "–".to_owned(),
        Some(e) => {
            let what = e.mv.map_or("Vermittlung gesendet", labels::move_done);
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
        assert!(html.contains("<td class=\"partner\">Jobcenter &lt;Region&gt;</td>"));
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
