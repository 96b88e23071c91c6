//! The end of a landlord's ordinary notice (§573c Abs. 1 BGB).

use time::{Date, Month};

use crate::calendar::{add_months, is_working_day, last_day_of_month};
use crate::holidays::is_public_holiday;
use crate::{Deadline, DeadlineKind, Warning};

/// Source string of the ordinary notice period.
pub const ORDINARY_NOTICE_SOURCE: &str = "§ 573c Abs. 1 BGB";

/// When a landlord's ordinary notice ends the tenancy.
///
/// §573c Abs. 1 BGB: notice received by the third working day of a month ends the tenancy at the end of the
/// second following month; later in the month it counts from the next month. The period grows by three months
/// after five and again after eight years since the flat was handed over ("Überlassung"), so it is 3, 6 or 9
/// months. The years are counted up to the day the notice is received (the prevailing view), with §187 Abs. 2,
/// §188 Abs. 2 BGB: a tenancy from 1 March 2021 has lasted five years on 1 March 2026. For a handover on
/// 29 February, the anniversary in a common year is 1 March.
///
/// Judgment call (Saturday): the BGH counts Saturday as a working day for this rule (BGH 27.4.2005,
/// VIII ZR 206/04), unlike for rent payment. The hub counts only Monday to Friday, the reading under which the
/// notice is timely more often and the tenancy therefore ends *earlier*: the earlier warning. When the two
/// readings differ, a warning gives the later end under the BGH reading.
///
/// The result is never provisional: both dates are known. A tenant's own notice always has the three-month
/// period; contracts cannot shorten the landlord's (§573c Abs. 4 BGB).
pub fn ordinary_notice_end(notice_received: Date, tenancy_start: Date) -> Deadline {
    let extra_months = if notice_received >= anniversary(tenancy_start, 8) {
        6
    } else if notice_received >= anniversary(tenancy_start, 5) {
        3
    } else {
        0
    };
    let period = 3 + extra_months;
    let end = notice_end(notice_received, period, is_working_day);
    let mut warnings = Vec::new();
    let end_counting_saturday = notice_end(notice_received, period, is_werktag_including_saturday);
    if end_counting_saturday != end {
        // The hub reports the earlier end (Monday to Friday) and warns about the BGH's later one.
        warnings.push(Warning::SaturdayWorkingDay { end_counting_saturday });
    }
    if tenancy_start > notice_received {
        // Impossible facts: most likely a typing error in one of the dates.
        warnings.push(Warning::TenancyStartAfterNotice { tenancy_start, notice_received });
    }
    Deadline {
        kind: DeadlineKind::OrdinaryNoticeEnd,
        date: end,
        source: ORDINARY_NOTICE_SOURCE,
        provisional: false,
        warnings,
    }
}

/// The day from which `years` full years since `start` have passed (§187 Abs. 2, § 188 Abs. 2 BGB: the start
/// day counts, so the period ends the day before the anniversary).
fn anniversary(start: Date, years: i32) -> Date {
    let same_day = add_months(start, 12 * years);
    if same_day.day() < start.day() {
        // 29 February in a common year: the period ends with 28 February, so it has run from 1 March.
        same_day.next_day().expect("date range")
    } else {
        same_day
    }
}

/// End of a `period`-month notice received on `received`, given what counts as a working day.
fn notice_end(received: Date, period: i32, working: impl Fn(Date) -> bool) -> Date {
    let deadline = nth_matching_day(received.year(), received.month(), 3, &working);
    let first_month = if received <= deadline { received } else { add_months(received, 1) };
    // The month of receipt counts as the first month of the period: by the 3rd working day of March, three
    // months end on 31 May.
    last_day_of_month(add_months(first_month.replace_day(1).expect("day 1 exists"), period - 1))
}

fn nth_matching_day(year: i32, month: Month, n: u8, working: &impl Fn(Date) -> bool) -> Date {
    let mut day = Date::from_calendar_date(year, month, 1).expect("first of month");
    let mut seen = 0;
    loop {
        if working(day) {
            seen += 1;
            if seen == n {
                return day;
            }
        }
        day = day.next_day().expect("date range");
    }
}

/// Monday to Saturday and not a holiday: the BGH's "Werktag" of §573c BGB.
fn is_werktag_including_saturday(d: Date) -> bool {
    d.weekday() != time::Weekday::Sunday && !is_public_holiday(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Notice periods, each counted by hand on a calendar.
    #[test]
    fn notice_end_table() {
        let cases = [
            // March 2026: 1st is a Sunday; 3rd working day Wed 4 March. Received on it: timely.
            // Short tenancy: 3 months = March, April, May -> 31 May.
            (date!(2026 - 03 - 04), date!(2024 - 01 - 01), date!(2026 - 05 - 31)),
            // Received Thu 5 March: late, counts from April -> 30 June.
            (date!(2026 - 03 - 05), date!(2024 - 01 - 01), date!(2026 - 06 - 30)),
            // Exactly 5 years: handed over 1 Mar 2021, 5 years complete on 1 Mar 2026; received Mon 2 Mar
            // (timely) -> 6 months: March..August -> 31 August.
            (date!(2026 - 03 - 02), date!(2021 - 03 - 01), date!(2026 - 08 - 31)),
            // One day short of 5 years (handed over 3 Mar 2021): 3 months -> 31 May.
            (date!(2026 - 03 - 02), date!(2021 - 03 - 03), date!(2026 - 05 - 31)),
            // Exactly 8 years (handed over 2 Mar 2018, received Mon 2 Mar 2026): 9 months -> 30 November.
            (date!(2026 - 03 - 02), date!(2018 - 03 - 02), date!(2026 - 11 - 30)),
            // One day short of 8 years: 6 months -> 31 August.
            (date!(2026 - 03 - 02), date!(2018 - 03 - 03), date!(2026 - 08 - 31)),
            // December 2025: 1 Mon, 2 Tue, 3 Wed = 3rd working day; received 3 Dec -> Dec, Jan, Feb ->
            // 28 February 2026 (no leap year).
            (date!(2025 - 12 - 03), date!(2025 - 01 - 01), date!(2026 - 02 - 28)),
            // December 2027: 1 Wed, 2 Thu, 3 Fri; received Fri 3 Dec -> 29 February 2028 (leap year).
            (date!(2027 - 12 - 03), date!(2025 - 01 - 01), date!(2028 - 02 - 29)),
            // Handed over 29 Feb 2020; 2025 has no 29 Feb, so five years complete on 1 Mar 2025. March 2025:
            // 1st is a Saturday, Mon 3 March is the 1st working day: timely, 6 months -> 31 August 2025.
            (date!(2025 - 03 - 03), date!(2020 - 02 - 29), date!(2025 - 08 - 31)),
            // Same tenancy, received Fri 28 Feb 2025: under 5 years; February's 3rd working day was Wed 5 Feb,
            // so late: from March, 3 months -> 31 May 2025.
            (date!(2025 - 02 - 28), date!(2020 - 02 - 29), date!(2025 - 05 - 31)),
        ];
        for (received, start, expected) in cases {
            let d = ordinary_notice_end(received, start);
            assert_eq!(d.date, expected, "notice {received}, tenancy from {start}");
            assert_eq!(d.kind, DeadlineKind::OrdinaryNoticeEnd);
            assert!(!d.provisional);
        }
    }

    /// August 2026 starts on a Saturday. Monday to Friday: 3, 4, 5 August, so notice received Wed 5 August is
    /// timely and ends 31 October. Counting Saturday (BGH VIII ZR 206/04): 1, 3, 4 August, so 5 August is late
    /// and the end is 30 November; the hub reports the earlier end and warns about the later one.
    #[test]
    fn saturday_reading_warns() {
        let d = ordinary_notice_end(date!(2026 - 08 - 05), date!(2024 - 01 - 01));
        assert_eq!(d.date, date!(2026 - 10 - 31));
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0], Warning::SaturdayWorkingDay { end_counting_saturday: date!(2026 - 11 - 30) });
        assert!(d.warnings[0].to_string().contains("2026-11-30"), "{:?}", d.warnings);
        // A day on which both readings agree gives no warning.
        let d = ordinary_notice_end(date!(2026 - 08 - 03), date!(2024 - 01 - 01));
        assert!(d.warnings.is_empty());
    }
}
