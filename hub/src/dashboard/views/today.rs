//! The "Heute" page: what needs attention today, each item linking to its case.

use std::fmt::Write as _;

use super::{Ctx, case_link, empty, esc, instant, labels, partner_name, time_day};
use crate::service::dashboard::{
    CONSENT_WARNING_DAYS, DeadlineRow, ExpiringConsent, FollowUpRow, HandoffRow, MailFailureRow, NoticeRow, TodayModel,
};

/// The body of the "Heute" page.
pub fn render(m: &TodayModel, ctx: &Ctx) -> String {
    let _ = ctx;
    let mut out = String::new();
    deadlines(&mut out, m);
    overdue(&mut out, &m.overdue);
    notices(&mut out, &m.notices);
    expiring(&mut out, &m.expiring, m.today);
    follow_ups(&mut out, &m.follow_ups);
    failed_mails(&mut out, &m.failed_mails);
    out
}

fn follow_ups(out: &mut String, rows: &[FollowUpRow]) {
    out.push_str("<section id=\"wiedervorlagen\">\n<h2>Wiedervorlagen: hält die Wohnung?</h2>\n");
    if rows.is_empty() {
        out.push_str(&empty("Keine Wiedervorlage fällig."));
    } else {
        out.push_str("<table>\n<thead><tr><th>Fällig seit</th><th>Fall</th><th>Nach</th></tr></thead>\n<tbody>\n");
        for f in rows {
            let _ = writeln!(
                out,
                "<tr class=\"wiedervorlage\"><td>{}</td><td>{}</td><td>{} Monaten</td></tr>",
                time_day(f.due),
                case_link(&f.case),
                f.months
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn expiring(out: &mut String, rows: &[ExpiringConsent], today: crate::domain::time::Day) {
    let _ = writeln!(
        out,
        "<section id=\"einwilligungen\">\n<h2>Einwilligungen laufen ab (nächste {CONSENT_WARNING_DAYS} Tage)</h2>"
    );
    if rows.is_empty() {
        out.push_str(&empty("Keine Einwilligung läuft in den nächsten 14 Tagen ab."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Gültig bis</th><th>Fall</th><th>Empfänger</th><th>Noch</th></tr></thead>\n<tbody>\n",
        );
        for c in rows {
            let left = match today.days_until(c.valid_until) {
                ..=-1 => "abgelaufen".to_owned(),
                0 => "nur noch heute".to_owned(),
                1 => "1 Tag".to_owned(),
                n => format!("{n} Tage"),
            };
            let recipients: Vec<String> = c.recipients.iter().map(partner_name).collect();
            let _ = writeln!(
                out,
                "<tr class=\"einwilligung\" data-consent=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{left}</td></tr>",
                esc(c.consent_id.as_str()),
                time_day(c.valid_until),
                case_link(&c.case),
                recipients.join(", "),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn deadlines(out: &mut String, m: &TodayModel) {
    let _ = writeln!(out, "<section id=\"fristen\">\n<h2>Fristen bis {} (15 Arbeitstage)</h2>", super::day(m.horizon));
    if m.deadlines.is_empty() {
        out.push_str(&empty("Keine Fristen in den nächsten 15 Arbeitstagen."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Datum</th><th>Frist</th><th>Fall</th><th>Arbeitstage</th><th>Hinweis</th></tr></thead>\n<tbody>\n",
        );
        for d in &m.deadlines {
            deadline_row(out, d);
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn deadline_row(out: &mut String, d: &DeadlineRow) {
    let urgent = if d.working_days_left <= 3 { " dringend" } else { "" };
    let left = match d.working_days_left {
        0 => "heute".to_owned(),
        1 => "1 Arbeitstag".to_owned(),
        n => format!("{n} Arbeitstage"),
    };
    let note = if d.deadline.provisional { "vorläufig (Datum nicht bestätigt)" } else { "" };
    let _ = writeln!(
        out,
        "<tr class=\"frist{urgent}\"><td>{}</td><td>{}</td><td>{}</td><td>{left}</td><td>{note}</td></tr>",
        time_day(d.deadline.date),
        esc(&labels::deadline_kind(&d.deadline.kind)),
        case_link(&d.case),
    );
}

fn overdue(out: &mut String, rows: &[HandoffRow]) {
    out.push_str("<section id=\"ueberfaellig\">\n<h2>Überfällige Vermittlungen</h2>\n");
    if rows.is_empty() {
        out.push_str(&empty("Keine überfälligen Vermittlungen."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Fall</th><th>Partner</th><th>Anliegen</th><th>Status</th><th>Antwort bis</th></tr></thead>\n<tbody>\n",
        );
        for r in rows {
            let _ = writeln!(
                out,
                "<tr class=\"ueberweisung ueberfaellig\" data-referral=\"{}\"><td>{}</td><td class=\"partner\">{}</td>\
                 <td>{}</td><td class=\"status\">{}</td><td>{}</td></tr>",
                esc(r.referral_id.as_str()),
                case_link(&r.case),
                partner_name(&r.partner),
                super::referral_link(&r.referral_id, r.category),
                esc(labels::state(r.state)),
                time_day(r.reply_by),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn notices(out: &mut String, rows: &[NoticeRow]) {
    out.push_str(
        "<section id=\"meldungen\">\n<h2>Neue Meldungen zur Sichtung</h2>\n\
         <p><a id=\"gericht-erfassen\" href=\"/gericht/neu\">Mitteilung des Gerichts erfassen</a> \
         (kam per Post oder Fax)</p>\n",
    );
    if rows.is_empty() {
        out.push_str(&empty("Keine offenen Meldungen."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Eingang</th><th>Von</th><th>Mieter/in</th><th>Stufe</th><th>Rückstand</th>\
             <th>Stadtbezirk</th><th>Nächste Frist</th><th>Sichtung</th></tr></thead>\n<tbody>\n",
        );
        for n in rows {
            let from = match (&n.from, n.court) {
                (_, true) => "Amtsgericht (MiZi)".to_owned(),
                (Some(p), false) => partner_name(p),
                (None, false) => "–".to_owned(),
            };
            let name = n.name.as_deref().map_or_else(|| "<em>ohne Namen</em>".to_owned(), esc);
            let district = n.stadtbezirk.map_or("–", labels::district);
            let nearest = n.nearest.as_ref().map_or_else(
                || "–".to_owned(),
                |d| format!("{} ({})", time_day(d.date), esc(&labels::deadline_kind(&d.kind))),
            );
            let id = esc(n.notice_id.as_str());
            let day = instant(n.received_at);
            let _ = writeln!(
                out,
                "<tr class=\"meldung\" data-notice=\"{}\"><td>{}</td><td>{from}</td><td>{name}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{nearest}</td>\
                 <td><a class=\"sichten\" href=\"/meldungen/{id}\">Sichten<span class=\"unsichtbar\"> (Meldung vom {day})</span></a></td></tr>",
                esc(n.notice_id.as_str()),
                instant(n.received_at),
                esc(labels::stage(n.stage)),
                esc(&n.arrears.to_string()),
                esc(district),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn failed_mails(out: &mut String, rows: &[MailFailureRow]) {
    out.push_str("<section id=\"zustellfehler\">\n<h2>Fehlgeschlagene E-Mail-Zustellungen</h2>\n");
    if rows.is_empty() {
        out.push_str(&empty("Keine Zustellfehler."));
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Zeit</th><th>Fall</th><th>An</th><th>Nachricht</th><th>Versuche</th>\
             <th>Stand</th><th>Fehler</th></tr></thead>\n<tbody>\n",
        );
        for j in rows {
            let status = if j.dead { "aufgegeben" } else { "wird wiederholt" };
            let _ = writeln!(
                out,
                "<tr class=\"zustellfehler\" data-job=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{status}</td><td>{}</td></tr>",
                esc(&j.job_id),
                instant(j.at),
                case_link(&j.case),
                partner_name(&j.to),
                esc(labels::mail_kind(j.kind)),
                j.attempts,
                esc(j.error.as_deref().unwrap_or("–")),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadline::CaseDeadline;
    use crate::domain::ids::{CaseId, OrgId, ReferralId};
    use crate::domain::mail::MailKind;
    use crate::domain::referral::ReferralState;
    use crate::domain::time::{Day, Instant};
    use crate::domain::vocab::ReferralCategory;
    use crate::service::dashboard::{CaseLabel, PartnerRef};

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-01-09").unwrap(), csrf: "t".into(), staff_name: "S".into() }
    }

    fn model() -> TodayModel {
        let today = Day::parse("2026-01-09").unwrap();
        let case = CaseLabel { id: CaseId::new(), name: Some("<script>K</script>, Anna".into()) };
        let partner = PartnerRef { id: OrgId::parse("jobcenter").unwrap(), name: "Jobcenter & Co".into() };
        TodayModel {
            today,
            horizon: Day::parse("2026-01-30").unwrap(),
            deadlines: vec![DeadlineRow {
                case: case.clone(),
                deadline: CaseDeadline {
                    kind: "SCHONFRIST".into(),
                    date: Day::parse("2026-01-12").unwrap(),
                    source: "§569".into(),
                    provisional: true,
                    warnings: vec![],
                },
                working_days_left: 1,
            }],
            overdue: vec![HandoffRow {
                referral_id: ReferralId::new(),
                case: case.clone(),
                partner: partner.clone(),
                category: ReferralCategory::RentDebtTakeoverSgb2,
                state: ReferralState::Requested,
                created_at: Instant::from_millis(0),
                age_days: 10,
                reply_by: Day::parse("2026-01-05").unwrap(),
                overdue: true,
                last_event: None,
            }],
            notices: vec![],
            failed_mails: vec![MailFailureRow {
                job_id: "j1".into(),
                case: CaseLabel { id: CaseId::new(), name: None },
                to: partner,
                kind: MailKind::NewReferral,
                referral_id: None,
                attempts: 5,
                error: Some("550 <mailbox> unknown".into()),
                dead: true,
                at: Instant::from_millis(0),
            }],
            expiring: vec![],
            follow_ups: vec![],
        }
    }

    #[test]
    fn has_the_four_sections_and_escapes() {
        let html = render(&model(), &ctx());
        for id in ["fristen", "ueberfaellig", "meldungen", "einwilligungen", "zustellfehler"] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;K&lt;/script&gt;, Anna"));
        assert!(html.contains("Jobcenter &amp; Co"));
        assert!(html.contains("550 &lt;mailbox&gt; unknown"));
        assert!(html.contains("Ende der Schonfrist") && html.contains("12.01.2026") && html.contains("vorläufig"));
        assert!(html.contains("class=\"ueberweisung ueberfaellig\""));
        assert!(html.contains("<td class=\"status\">angefragt</td>"));
        assert!(html.contains("Keine offenen Meldungen."));
        assert!(html.contains("Verarbeitung eingeschränkt"), "restricted case shown without name");
    }
}
