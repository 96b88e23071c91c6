//! Working-day arithmetic for response SLAs (Mon-Fri without Lower Saxony's public holidays).

use super::time::Day;

/// Whether `d` is a working day.
pub fn is_working_day(d: Day) -> bool {
    deadlines::is_working_day(d.date())
}

/// The day `n` working days after `d` (`n = 0`: `d` itself, or the next working day if `d` is none).
pub fn add_working_days(d: Day, n: u32) -> Day {
    let mut day = d;
    while !is_working_day(day) {
        day = day.plus_days(1);
    }
    for _ in 0..n {
        day = day.plus_days(1);
        while !is_working_day(day) {
            day = day.plus_days(1);
        }
    }
    day
}

/// The day `n` working days before `d`.
pub fn sub_working_days(d: Day, n: u32) -> Day {
    let mut day = d;
    for _ in 0..n {
        day = day.plus_days(-1);
        while !is_working_day(day) {
            day = day.plus_days(-1);
        }
    }
    day
}

/// Working days from `from` (exclusive) to `to` (inclusive); 0 when `to` is not after `from`.
pub fn working_days_between(from: Day, to: Day) -> u32 {
    let mut n = 0;
    let mut day = from;
    while day < to {
        day = day.plus_days(1);
        if is_working_day(day) {
            n += 1;
        }
    }
    n
}
