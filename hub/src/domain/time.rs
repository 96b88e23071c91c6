//! Calendar days and instants. Days are civil dates (deadlines, validity); instants are UTC
//! milliseconds (when something happened).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::FieldError;

/// A calendar day (ISO 8601 `YYYY-MM-DD` at the edge and in storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(::time::Date);

const ISO_DAY: &[::time::format_description::FormatItem<'static>] =
    ::time::macros::format_description!("[year]-[month]-[day]");

impl Day {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        ::time::Date::parse(s, ISO_DAY)
            .map(Self)
            .map_err(|_| FieldError::new("", format!("'{}' is not a date of the form YYYY-MM-DD", truncate(s))))
    }

    /// Parses an optional day: the empty string is `None`.
    pub fn parse_opt(s: &str) -> Result<Option<Self>, FieldError> {
        if s.is_empty() { Ok(None) } else { Self::parse(s).map(Some) }
    }

    /// The day `days` days later (earlier for negative values), saturating at the calendar's ends.
    #[must_use]
    pub fn plus_days(self, days: i64) -> Self {
        Self(self.0.checked_add(::time::Duration::days(days)).unwrap_or(self.0))
    }

    /// Whole days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: Day) -> i64 {
        (other.0 - self.0).whole_days()
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// The underlying date.
    pub fn date(self) -> ::time::Date {
        self.0
    }

    /// Builds a day from a date.
    pub fn from_date(d: ::time::Date) -> Self {
        Self(d)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.format(ISO_DAY).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An instant as UTC milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(i64);

impl Instant {
    /// From milliseconds since the epoch.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The UTC calendar day of this instant. Hannover is UTC+1/+2; a deployment that cares about the
    /// hour around midnight configures its clock, the rules only need the day.
    pub fn day(self) -> Day {
        let dt = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
        Day(dt.date())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
