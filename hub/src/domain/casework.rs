//! The Fachstelle's own work between handoffs: who is responsible for a case, how the household was
//! reached (the city writes first, then calls, then visits), and the checks months after a kept
//! tenancy whether it held ("Verstetigung").

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::text;
use super::staff::Username;
use super::time::Day;
use super::vocab::{CaseOutcome, text_enum};

text_enum!(
    /// How the Fachstelle tried to reach a household.
    ContactKind {
        /// A letter (the first step: the city writes).
        Letter = "ANSCHREIBEN",
        /// A phone call.
        Call = "ANRUF",
        /// A visit at home, often unannounced.
        HomeVisit = "HAUSBESUCH",
        /// The household came to the office hours.
        OfficeHours = "SPRECHSTUNDE",
        /// The household came to office hours in its district.
        DistrictOfficeHours = "STADTTEILSPRECHSTUNDE",
    }
);

/// The caseworker responsible for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// Their sign-in name.
    pub username: Username,
    /// Their name as shown.
    pub name: String,
}

/// One try to reach the household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAttempt {
    /// How.
    pub kind: ContactKind,
    /// When.
    pub day: Day,
    /// Whether the household was reached.
    pub reached: bool,
    /// What came of it, in a few words.
    pub note: String,
    /// Who tried.
    pub by: String,
}

impl ContactAttempt {
    /// A contact attempt: on a day not in the future and not long before the case began (a letter
    /// may go out a few weeks before the case is opened from a notice), with a note of at most 500
    /// characters.
    pub fn record(
        kind: ContactKind,
        day: Day,
        reached: bool,
        note: &str,
        by: &str,
        opened: Day,
        today: Day,
    ) -> Result<Self, FieldError> {
        if day > today {
            return Err(FieldError::new("day", "must not be in the future").de("Darf nicht in der Zukunft liegen."));
        }
        if day < opened.plus_days(-EARLIEST_CONTACT_DAYS) {
            return Err(FieldError::new("day", "lies too long before the case was opened")
                .de("Liegt zu lange vor der Eröffnung des Falls; bitte das Datum prüfen."));
        }
        let note = text(note, 0, 500).map_err(|e| e.within("note"))?;
        Ok(Self { kind, day, reached, note, by: by.to_owned() })
    }
}

/// How long before the case's opening a contact attempt may lie.
pub const EARLIEST_CONTACT_DAYS: i64 = 90;

/// The day the household was first reached.
pub fn first_contact(attempts: &[ContactAttempt]) -> Option<Day> {
    attempts.iter().filter(|a| a.reached).map(|a| a.day).min()
}

/// A check, months after the tenancy was kept, whether it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// When it is due.
    pub due: Day,
    /// Months after the closure (3, 6 or 12).
    pub months: u8,
    /// The result once done: whether the tenancy still held, and when it was checked.
    pub result: Option<(Day, bool)>,
}

/// The follow-ups of a case closed with `outcome` on `closed`: 3, 6 and 12 months later when the
/// tenancy was kept, none otherwise.
pub fn follow_ups_after(outcome: CaseOutcome, closed: Day) -> Vec<FollowUp> {
    if outcome != CaseOutcome::WohnungErhalten {
        return Vec::new();
    }
    [3u8, 6, 12]
        .into_iter()
        .map(|months| FollowUp {
            due: Day::from_date(deadlines::add_months(closed.date(), i32::from(months))),
            months,
            result: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn contact_attempts_and_the_first_contact() {
        let (opened, today) = (day("2026-01-09"), day("2026-02-01"));
        let rec =
            |d: &str, reached| ContactAttempt::record(ContactKind::Call, day(d), reached, "", "K.", opened, today);
        assert_eq!(rec("2026-02-02", true).unwrap_err().field, "day");
        assert_eq!(rec("2025-09-01", true).unwrap_err().field, "day");
        let tries =
            [rec("2026-01-10", false).unwrap(), rec("2026-01-20", true).unwrap(), rec("2026-01-15", true).unwrap()];
        assert_eq!(first_contact(&tries), Some(day("2026-01-15")));
        assert_eq!(first_contact(&tries[..1]), None);
        let long = "x".repeat(501);
        assert_eq!(
            ContactAttempt::record(ContactKind::Letter, today, false, &long, "K.", opened, today).unwrap_err().field,
            "note"
        );
    }

    #[test]
    fn follow_ups_at_three_six_and_twelve_months() {
        assert!(follow_ups_after(CaseOutcome::VerlustPrivat, day("2026-01-31")).is_empty());
        let f = follow_ups_after(CaseOutcome::WohnungErhalten, day("2026-01-31"));
        let due: Vec<String> = f.iter().map(|f| f.due.to_string()).collect();
        assert_eq!(due, ["2026-04-30", "2026-07-31", "2027-01-31"]);
        assert!(f.iter().all(|f| f.result.is_none()));
    }
}
