//! Working days and the period arithmetic of §§187, 188, 193 BGB (applied to court periods by §222 ZPO).

use time::{Date, Duration, Month, Weekday};

use crate::holidays::is_public_holiday;

/// Whether `d` is a working day: Monday to Friday and not a Lower Saxony public holiday.
///
/// Saturday is not a working day here. For rent payment the BGH decided so (BGH 13.7.2010, VIII ZR 129/09:
/// Saturday is no "Werktag" in §556b Abs. 1 BGB), and §193 BGB and §222 Abs. 2 ZPO name Saturday expressly
/// as a day on which no period ends.
pub fn is_working_day(d: Date) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_public_holiday(d)
}

/// `d` itself if it is a working day, else the next working day.
///
/// This is the shift of §193 BGB and §222 Abs. 2 ZPO: a period whose last day is a Saturday, Sunday or public
/// holiday ends with the end of the next working day.
pub fn next_working_day_on_or_after(d: Date) -> Date {
    let mut day = d;
    while !is_working_day(day) {
        day += Duration::days(1);
    }
    day
}

/// `d` itself if it is a working day, else the previous working day.
///
/// Used for periods counted backwards from an event ("at least two weeks before"). §193 BGB does not speak to
/// them; moving the last permissible day later would make a filing late, so the hub moves it earlier: the
/// reading that cannot cost the tenant a deadline.
pub fn previous_working_day_on_or_before(d: Date) -> Date {
    let mut day = d;
    while !is_working_day(day) {
        day -= Duration::days(1);
    }
    day
}

/// The `n`-th working day (1-based) of a month.
///
/// # Panics
/// If `n` is 0, or the month has fewer than `n` working days (no month has fewer than 15), or `year` is
/// outside the range `time::Date` supports.
pub fn nth_working_day(year: i32, month: Month, n: u8) -> Date {
    assert!(n >= 1, "working days are counted from 1");
    let mut day = Date::from_calendar_date(year, month, 1).expect("first of month is a valid date");
    let mut seen = 0;
    loop {
        assert_eq!(day.month(), month, "month has fewer than {n} working days");
        if is_working_day(day) {
            seen += 1;
            if seen == n {
                return day;
            }
        }
        day += Duration::days(1);
    }
}

/// When the rent of a month falls due: the third working day of the month (§556b Abs. 1 BGB).
///
/// The tenant is in default from the next day without any reminder (§286 Abs. 2 Nr. 1 BGB), which is why this
/// date anchors the arrears rules of §543 Abs. 2 S. 1 Nr. 3 BGB.
pub fn rent_due_date(year: i32, month: Month) -> Date {
    nth_working_day(year, month, 3)
}

/// The last day of the month `d` falls in.
pub fn last_day_of_month(d: Date) -> Date {
    Date::from_calendar_date(d.year(), d.month(), d.month().length(d.year())).expect("month length gives a valid date")
}

/// The date `months` calendar months after `d` with the same day number, or the month's last day when that
/// day number does not exist.
///
/// This is the end of a period of months started by an event on `d` (§187 Abs. 1 BGB: the event day is not
/// counted; §188 Abs. 2 BGB: the period ends with the day of the last month that has the event day's number;
/// §188 Abs. 3 BGB: if that day is missing, with the month's last day). Served 31 December, two months end on
/// 28 February, or 29 February in a leap year. Negative `months` count backwards.
///
/// # Panics
/// If the result lies outside the range `time::Date` supports.
pub fn add_months(d: Date, months: i32) -> Date {
    let index = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months;
    let year = index.div_euclid(12);
    let month_number = u8::try_from(index.rem_euclid(12) + 1).expect("month number is 1..=12");
    let month = Month::try_from(month_number).expect("month number is 1..=12");
    let day = d.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).expect("clamped day is a valid date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Third working day of months chosen for their awkward starts. Each row was counted on a printed 2024-2027
    /// calendar (weekdays confirmed with `date -d`).
    #[test]
    fn rent_due_dates() {
        let cases = [
            // Jan 2026: 1 Thu Neujahr; 2 Fri (1), 5 Mon (2), 6 Tue (3). 6 Jan is no holiday in Lower Saxony.
            (2026, Month::January, date!(2026 - 01 - 06)),
            // Feb 2026: 1st is a Sunday; 2 Mon (1), 3 Tue (2), 4 Wed (3).
            (2026, Month::February, date!(2026 - 02 - 04)),
            // Mar 2026: 1st is a Sunday; 2, 3, 4 March.
            (2026, Month::March, date!(2026 - 03 - 04)),
            // Apr 2026: 1 Wed (1), 2 Thu (2), 3 Karfreitag, 4 Sat, 5 Sun, 6 Ostermontag, 7 Tue (3).
            (2026, Month::April, date!(2026 - 04 - 07)),
            // May 2026: 1 Fri holiday; 4 Mon (1), 5 Tue (2), 6 Wed (3).
            (2026, Month::May, date!(2026 - 05 - 06)),
            // Oct 2026: 1 Thu (1), 2 Fri (2), 3 Oct is a Saturday (holiday and Saturday), 5 Mon (3).
            (2026, Month::October, date!(2026 - 10 - 05)),
            // Aug 2025: 1st is a Friday (1); 4 Mon (2), 5 Tue (3).
            (2025, Month::August, date!(2025 - 08 - 05)),
            // Nov 2025: 1st is a Saturday (Allerheiligen, no holiday here anyway); 3, 4, 5 November.
            (2025, Month::November, date!(2025 - 11 - 05)),
            // Apr 2024: 1st is Ostermontag (Easter 31 March); 2 Tue (1), 3 Wed (2), 4 Thu (3).
            (2024, Month::April, date!(2024 - 04 - 04)),
            // Oct 2027: 1 Fri (1), 2 Sat, 3 Sun (holiday on a Sunday), 4 Mon (2), 5 Tue (3).
            (2027, Month::October, date!(2027 - 10 - 05)),
            // Feb 2025: 1st is a Saturday; 3 Mon (1), 4 Tue (2), 5 Wed (3).
            (2025, Month::February, date!(2025 - 02 - 05)),
            // Sep 2026: 1 Tue, 2 Wed, 3 Thu: no weekend, no holiday, the plain case.
            (2026, Month::September, date!(2026 - 09 - 03)),
        ];
        for (year, month, expected) in cases {
            assert_eq!(rent_due_date(year, month), expected, "{month} {year}");
        }
    }

    /// §188 Abs. 2, 3 BGB month ends, leap years included.
    #[test]
    fn month_arithmetic() {
        let cases = [
            // 31 Dec 2025 + 2 months: 31 Feb missing, so 28 Feb (2026 is no leap year).
            (date!(2025 - 12 - 31), 2, date!(2026 - 02 - 28)),
            // 31 Dec 2023 + 2: 2024 is a leap year (divisible by 4, not by 100), so 29 Feb.
            (date!(2023 - 12 - 31), 2, date!(2024 - 02 - 29)),
            // 31 Dec 2027 + 2: 2028 is a leap year, 29 Feb.
            (date!(2027 - 12 - 31), 2, date!(2028 - 02 - 29)),
            // 31 Dec 2099 + 2: 2100 is divisible by 100 but not by 400, so not a leap year: 28 Feb.
            (date!(2099 - 12 - 31), 2, date!(2100 - 02 - 28)),
            // 29 Feb 2024 + 12 months: 29 Feb 2025 missing, 28 Feb.
            (date!(2024 - 02 - 29), 12, date!(2025 - 02 - 28)),
            // 29 Feb 2024 + 48 months: 2028 is a leap year, 29 Feb exists.
            (date!(2024 - 02 - 29), 48, date!(2028 - 02 - 29)),
            // 31 Aug + 1 month: 30 September (31 Sep missing).
            (date!(2026 - 08 - 31), 1, date!(2026 - 09 - 30)),
            // 30 Apr + 2: 30 June exists, no clamping even though April's 30th was the month's last day.
            (date!(2026 - 04 - 30), 2, date!(2026 - 06 - 30)),
            // Backwards across a year: 10 Mar 2026 - 24 months = 10 Mar 2024.
            (date!(2026 - 03 - 10), -24, date!(2024 - 03 - 10)),
        ];
        for (start, months, expected) in cases {
            assert_eq!(add_months(start, months), expected, "{start} + {months} months");
        }
    }

    /// §193 BGB shift and its backward mirror.
    #[test]
    fn working_day_shifts() {
        // Saturday 28 Feb 2026 -> Monday 2 March.
        assert_eq!(next_working_day_on_or_after(date!(2026 - 02 - 28)), date!(2026 - 03 - 02));
        // Karfreitag 3 Apr 2026 -> Sat, Sun, Ostermontag -> Tuesday 7 April.
        assert_eq!(next_working_day_on_or_after(date!(2026 - 04 - 03)), date!(2026 - 04 - 07));
        // A working day stays.
        assert_eq!(next_working_day_on_or_after(date!(2026 - 04 - 10)), date!(2026 - 04 - 10));
        // Ostermontag 6 Apr 2026 backwards: Sun, Sat, Karfreitag -> Thursday 2 April.
        assert_eq!(previous_working_day_on_or_before(date!(2026 - 04 - 06)), date!(2026 - 04 - 02));
        assert!(!is_working_day(date!(2026 - 03 - 07))); // Saturday
        assert!(is_working_day(date!(2026 - 03 - 06))); // Friday
    }
}
