//! The "Partner" page: per partner, the referrals the Fachstelle sent it and how fast it answers.

use std::fmt::Write as _;

use super::{Ctx, days, empty, esc, labels, partner_name};
use crate::service::dashboard::PartnerRow;

/// The body of the "Partner" page.
pub fn render(rows: &[PartnerRow], ctx: &Ctx) -> String {
    let _ = ctx;
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str(&empty("Keine Partner im Verzeichnis."));
        return out;
    }
    out.push_str(
        "<p>Median in Kalendertagen ab Versand der Vermittlung; gezählt werden alle Vermittlungen dieser Fachstelle.</p>\n",
    );
    out.push_str(
        "<table id=\"partner\">\n<thead><tr><th>Partner</th><th>Art</th><th>Weg</th><th>Vermittlungen</th>\
         <th>Offen</th><th>Überfällig</th><th>Median bis Eingangsbestätigung</th><th>Median bis Entscheidung</th>\
         </tr></thead>\n<tbody>\n",
    );
    for r in rows {
        let inactive = if r.active { "" } else { " <em>(deaktiviert)</em>" };
        let overdue =
            if r.overdue > 0 { format!("<strong class=\"warnung\">{}</strong>", r.overdue) } else { "0".to_owned() };
        let link =
            format!("<a href=\"/uebergaben?partner={}\">{}</a>", esc(r.partner.id.as_str()), partner_name(&r.partner));
        let _ = writeln!(
            out,
            "<tr class=\"partner-zeile\" data-partner=\"{}\"><td class=\"partner\">{link}{inactive}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"offen\">{}</td><td class=\"ueberfaellig\">{overdue}</td>\
             <td class=\"median-eingang\">{}</td><td class=\"median-entscheidung\">{}</td></tr>",
            esc(r.partner.id.as_str()),
            esc(labels::org_kind(r.kind)),
            esc(labels::channel(r.channel)),
            r.total,
            r.open,
            days(r.median_ack_days),
            days(r.median_decide_days),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
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
        }];
        let ctx = Ctx { today: Day::parse("2026-01-20").unwrap(), csrf: "t".into(), staff_name: "S".into() };
        let html = render(&rows, &ctx);
        assert!(html.contains("Beratung &quot;Plus&quot; &amp; Co"), "{html}");
        assert!(html.contains("<td class=\"median-eingang\">1,5 Tage</td>"));
        assert!(html.contains("<td class=\"median-entscheidung\">–</td>"));
        assert!(html.contains("<strong class=\"warnung\">1</strong>"));
        assert!(html.contains("href=\"/uebergaben?partner=schuldner\""));
        assert!(html.contains("Schuldnerberatung") && html.contains("E-Mail"));
    }
}
