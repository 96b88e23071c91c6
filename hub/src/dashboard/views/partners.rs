//! The "Partner" page: per partner, the referrals the Fachstelle sent it and how fast it answers.

use super::Ctx;
use crate::dashboard::views as v;
use crate::service::dashboard::PartnerRow;

/// The "Partner" page as its template (`templates/dashboard/partners.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/partners.html")]
struct Page<'a> {
    rows: &'a [PartnerRow],
}

/// The body of the "Partner" page.
pub fn render(rows: &[PartnerRow], _ctx: &Ctx) -> String {
    v::render_template(&Page { rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::OrgId;
    use crate::domain::time::Day;
    use crate::domain::vocab::{Channel, OrgKind};
    use crate::service::dashboard::PartnerRef;

    #[test]
    fn shows_medians_and_overdue_and_escapes_names() {
        let rows = vec![PartnerRow {
            partner: PartnerRef { id: OrgId::parse("schuldner").unwrap(), name: "Beratung \"Plus\" & Co".into() },
            kind: OrgKind::DebtCounselling,
            channel: Channel::Email,
            active: true,
            total: 4,
            open: 2,
            overdue: 1,
            median_ack_days: Some(1.5),
            median_decide_days: None,
            capacity: vec![],
        }];
        let ctx = Ctx { today: Day::parse("2026-01-20").unwrap(), csrf: "t".into(), staff_name: "S".into() };
        let html = render(&rows, &ctx);
        assert!(html.contains("Beratung &#34;Plus&#34; &#38; Co"), "the template escapes: {html}");
        assert!(html.contains("<td class=\"median-eingang\">1,5 Tage</td>"));
        assert!(html.contains("<td class=\"median-entscheidung\">–</td>"));
        assert!(html.contains("<strong class=\"warnung\">1</strong>"));
        assert!(html.contains("href=\"/uebergaben?partner=schuldner\""));
        assert!(html.contains("Schuldnerberatung") && html.contains("E-Mail"));
    }
}
