//! Public holidays of Lower Saxony (Niedersachsen).
//!
//! Holidays matter twice: a holiday is not a working day when the rent falls due (§556b Abs. 1 BGB), and a
//! deadline ending on a holiday moves to the next working day (§193 BGB, §222 Abs. 2 ZPO). Both rules mean
//! "staatlich anerkannter allgemeiner Feiertag" at the place concerned, which for the hub is Lower Saxony
//! (Niedersächsisches Gesetz über die Feiertage, NFeiertagsG).
//!
//! The Easter-dependent holidays are computed, not listed, so the calendar never runs out.

use time::{Date, Duration, Month, Weekday};

/// One public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    /// The day.
    pub date: Date,
    /// Its German name, as printed in calendars and court decisions.
    pub name: &'static str,
}

/// Easter Sunday of a Gregorian year, by the "Anonymous Gregorian" (Meeus/Jones/Butcher) algorithm.
///
/// Gauss's original formula needs correction terms for some centuries; this variant needs none and is exact
/// for every Gregorian year. Years before 1583 get the Gregorian answer too, which is historically meaningless
/// but harmless: no tenancy deadline lies there.
///
/// # Panics
/// Outside the year range `time::Date` supports (±9999).
pub fn easter_sunday(year: i32) -> Date {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    // n / 31 is 3 (March) or 4 (April); n % 31 + 1 is the day: both fit in u8 by construction.
    let month = if n / 31 == 3 { Month::March } else { Month::April };
    let day = u8::try_from(n % 31 + 1).expect("Easter day is 1..=31");
    Date::from_calendar_date(year, month, day).expect("Easter is a valid date")
}

/// All public holidays of Lower Saxony in `year`, in date order.
///
/// History is modelled where it is cheap, so old dates (tenancy starts, earlier cures) are judged by the law
/// of their time:
/// - Tag der Deutschen Einheit: 17 June from 1954 to 1990, 3 October from 1990 (Einigungsvertrag Art. 2 Abs. 2).
/// - Buß- und Bettag (the Wednesday before 23 November) until 1994; abolished from 1995 to fund the
///   long-term care insurance.
/// - Reformationstag (31 October): a one-off nationwide holiday in 2017 (500 years of the Reformation) and a
///   permanent holiday in Lower Saxony from 2018 (NFeiertagsG as amended 2018).
///
/// Easter Sunday and Whit Sunday are not listed: they are Sundays, which never count as working days anyway.
pub fn holidays_in_year(year: i32) -> Vec<Holiday> {
    let fixed =
        |month: Month, day: u8| Date::from_calendar_date(year, month, day).expect("fixed holiday is a valid date");
    let easter = easter_sunday(year);
    let mut list = vec![
        Holiday { date: fixed(Month::January, 1), name: "Neujahr" },
        Holiday { date: easter - Duration::days(2), name: "Karfreitag" },
        Holiday { date: easter + Duration::days(1), name: "Ostermontag" },
        Holiday { date: fixed(Month::May, 1), name: "Tag der Arbeit" },
        Holiday { date: easter + Duration::days(39), name: "Christi Himmelfahrt" },
        Holiday { date: easter + Duration::days(50), name: "Pfingstmontag" },
        Holiday { date: fixed(Month::December, 25), name: "1. Weihnachtstag" },
        Holiday { date: fixed(Month::December, 26), name: "2. Weihnachtstag" },
    ];
    if (1954..=1990).contains(&year) {
        list.push(Holiday { date: fixed(Month::June, 17), name: "Tag der Deutschen Einheit (17. Juni)" });
    }
    if year >= 1990 {
        list.push(Holiday { date: fixed(Month::October, 3), name: "Tag der Deutschen Einheit" });
    }
    if year >= 2017 {
        list.push(Holiday { date: fixed(Month::October, 31), name: "Reformationstag" });
    }
    if year <= 1994 {
        // The Wednesday before 23 November is the one falling on 16..=22 November.
        let nov_22 = fixed(Month::November, 22);
        let date =
            if nov_22.weekday() == Weekday::Wednesday { nov_22 } else { nov_22.prev_occurrence(Weekday::Wednesday) };
        list.push(Holiday { date, name: "Buß- und Bettag" });
    }
    list.sort_by_key(|h| h.date);
    list
}

/// The name of the Lower Saxony public holiday on `d`, if it is one.
pub fn holiday_name(d: Date) -> Option<&'static str> {
    holidays_in_year(d.year()).into_iter().find(|h| h.date == d).map(|h| h.name)
}

/// Whether `d` is a public holiday in Lower Saxony.
pub fn is_public_holiday(d: Date) -> bool {
    holiday_name(d).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Easter Sundays, checked against the published church calendars (EKD "Kirchenjahr" tables) and the
    /// well-known extremes of the Gregorian computus.
    #[test]
    fn easter_dates() {
        let cases = [
            // 2024: Easter 31 March (Karfreitag 29 March, Ostermontag 1 April).
            (2024, date!(2024 - 03 - 31)),
            // 2025: Easter 20 April (Western and Orthodox Easter coincided that year).
            (2025, date!(2025 - 04 - 20)),
            // 2026: Easter 5 April, Karfreitag 3 April (DOMAIN.md example relies on this).
            (2026, date!(2026 - 04 - 05)),
            // 2027: Easter 28 March.
            (2027, date!(2027 - 03 - 28)),
            // 2028: Easter 16 April (leap year).
            (2028, date!(2028 - 04 - 16)),
            // 2029: Easter 1 April.
            (2029, date!(2029 - 04 - 01)),
            // 2030: Easter 21 April.
            (2030, date!(2030 - 04 - 21)),
            // 2038: 25 April, the latest possible date (also 1943).
            (2038, date!(2038 - 04 - 25)),
            (1943, date!(1943 - 04 - 25)),
            // 2285: 22 March, the earliest possible date (also 1818).
            (2285, date!(2285 - 03 - 22)),
            (1818, date!(1818 - 03 - 22)),
            // 2000: 23 April (century year divisible by 400).
            (2000, date!(2000 - 04 - 23)),
        ];
        for (year, expected) in cases {
            assert_eq!(easter_sunday(year), expected, "Easter {year}");
            assert_eq!(expected.weekday(), Weekday::Sunday, "Easter {year} must be a Sunday");
        }
    }

    /// The full 2026 calendar: Easter 5 April gives Karfreitag 3 April, Ostermontag 6 April,
    /// Himmelfahrt 5 April + 39 = 14 May, Pfingstmontag 5 April + 50 = 25 May.
    #[test]
    fn lower_saxony_2026() {
        let got: Vec<Date> = holidays_in_year(2026).into_iter().map(|h| h.date).collect();
        assert_eq!(
            got,
            vec![
                date!(2026 - 01 - 01),
                date!(2026 - 04 - 03),
                date!(2026 - 04 - 06),
                date!(2026 - 05 - 01),
                date!(2026 - 05 - 14),
                date!(2026 - 05 - 25),
                date!(2026 - 10 - 03),
                date!(2026 - 10 - 31),
                date!(2026 - 12 - 25),
                date!(2026 - 12 - 26),
            ]
        );
    }

    /// Reformationstag: not in 2016, nationwide in 2017, Lower Saxony from 2018.
    /// Days that are holidays elsewhere but not in Lower Saxony are not holidays here.
    #[test]
    fn reformationstag_and_non_holidays() {
        assert!(!is_public_holiday(date!(2016 - 10 - 31)));
        assert!(is_public_holiday(date!(2017 - 10 - 31)));
        assert!(is_public_holiday(date!(2018 - 10 - 31)));
        assert_eq!(holiday_name(date!(2025 - 10 - 31)), Some("Reformationstag"));
        // Heilige Drei Könige (Bavaria, Baden-Württemberg, Saxony-Anhalt) is no holiday in Lower Saxony.
        assert!(!is_public_holiday(date!(2026 - 01 - 06)));
        // Fronleichnam 2026 (Easter + 60 = 4 June) is no holiday in Lower Saxony.
        assert!(!is_public_holiday(date!(2026 - 06 - 04)));
        // Allerheiligen is no holiday in Lower Saxony.
        assert!(!is_public_holiday(date!(2025 - 11 - 01)));
        // Heiligabend and Silvester are ordinary days in law.
        assert!(!is_public_holiday(date!(2026 - 12 - 24)));
        assert!(!is_public_holiday(date!(2026 - 12 - 31)));
    }

    /// Historical holidays: Buß- und Bettag 1994 was Wednesday 16 November (`date -d 1994-11-16` says Wed),
    /// gone from 1995 (1995's would have been 22 November); 17 June until 1990, 3 October from 1990.
    #[test]
    fn historical_holidays() {
        assert!(is_public_holiday(date!(1994 - 11 - 16)));
        assert!(!is_public_holiday(date!(1995 - 11 - 22)));
        assert!(is_public_holiday(date!(1989 - 06 - 17)));
        assert!(is_public_holiday(date!(1990 - 06 - 17)));
        assert!(is_public_holiday(date!(1990 - 10 - 03)));
        assert!(!is_public_holiday(date!(1991 - 06 - 17)));
        assert!(!is_public_holiday(date!(1989 - 10 - 03)));
    }
}
