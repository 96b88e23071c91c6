//! The "Heute" page: what needs attention today, each item linking to its case.

use super::Ctx;
use crate::dashboard::views as v;
use crate::domain::time::Day;
use crate::domain::vocab::Stadtbezirk;
use crate::service::dashboard::{CONSENT_WARNING_DAYS, TodayModel};

/// The "Heute" page as its template (`templates/dashboard/today.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/today.html")]
struct Page<'a> {
    m: &'a TodayModel,
    warning_days: i64,
}

impl Page<'_> {
    /// Working days left, in words.
    fn working_days(&self, n: &u32) -> String {
        match n {
            0 => "heute".to_owned(),
            n => v::count(*n as usize, "Arbeitstag", "Arbeitstage"),
        }
    }

    /// A district's name.
    fn district(&self, b: &Stadtbezirk) -> &'static str {
        v::labels::district(*b)
    }

    /// Whole days left, in words.
    fn days(&self, n: &i64) -> String {
        match n {
            ..=0 => "nur noch heute".to_owned(),
            n => v::count(usize::try_from(*n).unwrap_or(0), "Tag", "Tage"),
        }
    }

    /// How long a consent still runs, in words.
    fn left(&self, valid_until: &Day) -> String {
        match self.m.today.days_until(*valid_until) {
            ..=-1 => "abgelaufen".to_owned(),
            0 => "nur noch heute".to_owned(),
            n => v::count(usize::try_from(n).unwrap_or(0), "Tag", "Tage"),
        }
    }
}

/// The body of the "Heute" page.
pub fn render(m: &TodayModel, _ctx: &Ctx) -> String {
    v::render_template(&Page { m, warning_days: CONSENT_WARNING_DAYS })
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
    use crate::service::dashboard::{CaseLabel, DeadlineRow, HandoffRow, MailFailureRow, PartnerRef};

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
            unconfirmed: vec![],
            certificates: vec![],
        }
    }

    #[test]
    fn has_the_four_sections_and_escapes() {
        let html = render(&model(), &ctx());
        for id in ["fristen", "ueberfaellig", "meldungen", "einwilligungen", "zustellfehler"] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;K&lt;/script&gt;, Anna"), "the case link escapes");
        assert!(html.contains("Jobcenter &#38; Co"), "the template escapes: {html}");
        assert!(html.contains("550 &#60;mailbox&#62; unknown"));
        assert!(html.contains("Ende der Schonfrist") && html.contains("12.01.2026") && html.contains("vorläufig"));
        assert!(html.contains("class=\"ueberweisung ueberfaellig\""));
        assert!(html.contains("<td class=\"status\">angefragt</td>"));
        assert!(html.contains("Keine offenen Meldungen."));
        assert!(html.contains("Verarbeitung eingeschränkt"), "restricted case shown without name");
    }
}
