//! Response SLAs: default reply-by dates per referral category, shortened when a hard deadline of
//! the case is near, and the thresholds for overdue and escalation events.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::deadline::CaseDeadline;
use crate::domain::time::Day;
use crate::domain::vocab::ReferralCategory;
use crate::domain::workdays::{add_working_days, sub_working_days};

/// SLA settings (config table `[sla]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sla {
    /// Working days to reply when the category has no entry of its own.
    pub default_reply_days: u32,
    /// Working days to reply per category (e.g. `LANDLORD_AGREEMENT = 5`).
    pub reply_days: HashMap<String, u32>,
    /// Working days after the reply-by date until an undecided referral is escalated.
    pub escalate_after_days: u32,
    /// Working days a reply must leave before a hard deadline of the case (Schonfrist, eviction).
    pub deadline_margin_days: u32,
    /// Announce a Schonfrist this many working days ahead.
    pub schonfrist_warning_days: u32,
    /// Announce an eviction date this many working days ahead.
    pub eviction_warning_days: u32,
    /// Remind an email partner of an unanswered referral this many working days before its reply-by date.
    pub remind_days_before: u32,
    /// Working days a recipient has to confirm that it erased, restricted or rectified data it received
    /// (Art. 19 GDPR) before the Fachstelle sees the confirmation as outstanding.
    pub confirm_days: u32,
}

impl Default for Sla {
    fn default() -> Self {
        let reply_days = [("LANDLORD_AGREEMENT", 5), ("DIRECT_RENT_PAYMENT", 5), ("EMERGENCY_ACCOMMODATION", 2)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Self {
            default_reply_days: 10,
            reply_days,
            escalate_after_days: 5,
            deadline_margin_days: 3,
            schonfrist_warning_days: 10,
            eviction_warning_days: 15,
            remind_days_before: 2,
            confirm_days: 5,
        }
    }
}

/// Deadline kinds that shorten reply-by dates.
const PRESSING: &[&str] = &["SCHONFRIST", "HARDSHIP_APPLICATION", "EVICTION_DATE", "DEFENCE_NOTICE"];

impl Sla {
    /// Most working days any SLA setting may name (about a year). Larger values are typing errors,
    /// and date arithmetic steps day by day, so they would stall every referral created.
    const MAX_DAYS: u32 = 260;

    /// Checks the configured category names and that every day count is plausible.
    pub fn validate(&self) -> Result<(), String> {
        for (k, days) in &self.reply_days {
            if ReferralCategory::parse(k).is_none() {
                return Err(format!("sla.reply_days: unknown referral category '{k}'"));
            }
            if *days == 0 || *days > Self::MAX_DAYS {
                return Err(format!("sla.reply_days.{k}: {days} is not 1-{} working days", Self::MAX_DAYS));
            }
        }
        for (name, days, min) in [
            ("default_reply_days", self.default_reply_days, 1),
            ("escalate_after_days", self.escalate_after_days, 0),
            ("deadline_margin_days", self.deadline_margin_days, 0),
            ("schonfrist_warning_days", self.schonfrist_warning_days, 0),
            ("eviction_warning_days", self.eviction_warning_days, 0),
            ("remind_days_before", self.remind_days_before, 0),
            ("confirm_days", self.confirm_days, 1),
        ] {
            if days < min || days > Self::MAX_DAYS {
                return Err(format!("sla.{name}: {days} is not {min}-{} working days", Self::MAX_DAYS));
            }
        }
        Ok(())
    }

    /// The default reply-by date of a new referral.
    pub fn reply_by(&self, category: ReferralCategory, today: Day, deadlines: &[CaseDeadline]) -> Day {
        let days = self.reply_days.get(category.as_str()).copied().unwrap_or(self.default_reply_days);
        let normal = add_working_days(today, days);
        let earliest = add_working_days(today, 1);
        let pressing = deadlines
            .iter()
            .filter(|d| PRESSING.contains(&d.kind.as_str()) && d.date > today)
            .map(|d| sub_working_days(d.date, self.deadline_margin_days))
            .min();
        match pressing {
            Some(p) if p < normal => p.max(earliest),
            _ => normal,
        }
    }
}

#[cfg(test)]
mod validation_tests {
    use super::*;

    #[test]
    fn implausible_day_counts_are_refused() {
        assert!(Sla::default().validate().is_ok());
        let huge = Sla { default_reply_days: 4_000_000_000, ..Sla::default() };
        assert!(huge.validate().unwrap_err().contains("default_reply_days"));
        let mut per_category = Sla::default();
        per_category.reply_days.insert("DEBT_COUNSELLING".into(), 0);
        assert!(per_category.validate().unwrap_err().contains("DEBT_COUNSELLING"));
        let margin = Sla { deadline_margin_days: 261, ..Sla::default() };
        assert!(margin.validate().is_err());
    }
}
