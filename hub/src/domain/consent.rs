//! Consents (§67b SGB X, Art. 6(1)(a), 7, 9(2)(a) GDPR): who may receive which data, until when.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::{CaseId, ConsentId, OrgId, PersonId};
use super::time::{Day, Instant};
use super::vocab::{ConsentForm, ConsentStatus, DataCategory};

/// A consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Id.
    pub id: ConsentId,
    /// Case.
    pub case_id: CaseId,
    /// Persons who consented.
    pub persons: Vec<PersonId>,
    /// Recipients.
    pub recipients: Vec<OrgId>,
    /// Categories covered.
    pub categories: Vec<DataCategory>,
    /// Form.
    pub form: ConsentForm,
    /// Evidence reference.
    pub evidence: String,
    /// Last valid day.
    pub valid_until: Day,
    /// Separate explicit consent for Art. 9 data.
    pub art9_explicit: bool,
    /// Release from professional secrecy.
    pub secrecy_release: bool,
    /// Stored status.
    pub status: ConsentStatus,
    /// Recorded.
    pub recorded_at: Instant,
    /// Revoked or expired.
    pub ended_at: Option<Instant>,
}

/// The longest a consent may run: twelve months (DOMAIN.md rule 3).
pub fn latest_valid_until(recorded: Day) -> Day {
    let d = recorded.date();
    let next_year = d.year() + 1;
    let date = ::time::Date::from_calendar_date(next_year, d.month(), d.day())
        .or_else(|_| ::time::Date::from_calendar_date(next_year, d.month(), d.day() - 1))
        .unwrap_or(d);
    Day::from_date(date)
}

/// Checks a requested validity window.
pub fn check_valid_until(valid_until: Day, today: Day) -> Result<Day, FieldError> {
    if valid_until < today {
        return Err(FieldError::new("valid_until", "must not be in the past"));
    }
    let max = latest_valid_until(today);
    if valid_until > max {
        return Err(FieldError::new("valid_until", format!("must be at most 12 months ahead (latest {max})")));
    }
    Ok(valid_until)
}

impl Consent {
    /// In force on `today`: active and not past its last valid day.
    pub fn in_force(&self, today: Day) -> bool {
        self.status == ConsentStatus::Active && today <= self.valid_until
    }

    /// Status as a reader sees it on `today` (an expired consent the sweep has not processed yet
    /// already reads as expired).
    pub fn effective_status(&self, today: Day) -> ConsentStatus {
        if self.status == ConsentStatus::Active && today > self.valid_until {
            ConsentStatus::Expired
        } else {
            self.status
        }
    }

    /// Whether this consent, on `today`, lets `recipient` receive `category`. HEALTH needs the
    /// separate explicit consent (Art. 9(2)(a) GDPR).
    pub fn covers(&self, recipient: &OrgId, category: DataCategory, today: Day) -> bool {
        self.in_force(today)
            && self.recipients.contains(recipient)
            && self.categories.contains(&category)
            && (category != DataCategory::Health || self.art9_explicit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_and_leap_day() {
        let d = Day::parse("2028-02-29").unwrap();
        assert_eq!(latest_valid_until(d).to_string(), "2029-02-28");
        let d = Day::parse("2026-01-09").unwrap();
        assert_eq!(latest_valid_until(d).to_string(), "2027-01-09");
        assert!(check_valid_until(Day::parse("2027-01-10").unwrap(), d).is_err());
        assert!(check_valid_until(Day::parse("2026-01-08").unwrap(), d).is_err());
        assert!(check_valid_until(d, d).is_ok());
    }
}
