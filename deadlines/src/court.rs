//! Deadlines of the eviction lawsuit and of the eviction itself.

use time::{Date, Duration};

use crate::calendar::{add_months, next_working_day_on_or_after, previous_working_day_on_or_before};
use crate::{Deadline, DeadlineKind, Warning};

/// Source string of the Schonfrist.
pub const SCHONFRIST_SOURCE: &str = "§ 569 Abs. 3 Nr. 2 BGB";
/// Source string of the defence notice.
pub const DEFENCE_NOTICE_SOURCE: &str = "§ 276 Abs. 1 S. 1, § 222 ZPO";
/// Source string of the Räumungsfrist extension request.
pub const RAEUMUNGSFRIST_SOURCE: &str = "§ 721 Abs. 3 S. 2 ZPO";
/// Source string of the hardship application.
pub const HARDSHIP_SOURCE: &str = "§ 765a Abs. 3 ZPO";
/// Source string of the eviction date's notice period.
pub const EVICTION_DATE_SOURCE: &str = "§ 128 Abs. 2 GVGA Nds";

/// Schonfrist: the last day on which paying the arrears (or a public body's written promise to pay) voids a
/// termination without notice for arrears.
///
/// §569 Abs. 3 Nr. 2 S. 1 BGB: two months after the claim for possession became pending ("Rechtshängigkeit",
/// which is service of the claim: §§253 Abs. 1, 261 Abs. 1 ZPO). Counted by §187 Abs. 1, § 188 Abs. 2, 3 BGB
/// (served 31 December: 28 or 29 February) and moved past a Saturday, Sunday or holiday by §193 BGB.
///
/// `provisional` is passed through: set it when the service date is not confirmed.
///
/// Warnings:
/// - Blocked cure (§569 Abs. 3 Nr. 2 S. 2 BGB): not available when the termination was preceded "not longer
///   than two years" earlier by a termination voided the same way. `earlier_cure` is the date of that earlier
///   cure. Judgment call: the statute measures from the earlier *termination*, which lies before its cure;
///   measuring from the cure instead makes the block reach further, the earlier warning. The boundary day
///   counts as within two years (a cure on 10 March 2024 still blocks a termination on 10 March 2026), again
///   the reading that warns rather than reassures.
/// - A parallel ordinary termination is not voided by the cure (BGH 19.9.2018, VIII ZR 231/17): the landlord
///   must withdraw it, or the tenancy still ends with the notice period.
pub fn schonfrist(
    claim_served: Date,
    provisional: bool,
    termination: Date,
    earlier_cure: Option<Date>,
    parallel_ordinary_termination: bool,
) -> Deadline {
    let date = next_working_day_on_or_after(add_months(claim_served, 2));
    let mut warnings = Vec::new();
    if let Some(cure) = earlier_cure
        && cure_blocks(cure, termination)
    {
        // Still reported with the date: the court may see the earlier cure differently.
        warnings.push(Warning::CureBlocked { earlier_cure: cure, termination });
    }
    if parallel_ordinary_termination {
        // BGH VIII ZR 231/17: the landlord must withdraw it, or the tenancy ends with the notice period.
        warnings.push(Warning::ParallelOrdinaryTermination);
    }
    Deadline { kind: DeadlineKind::Schonfrist, date, source: SCHONFRIST_SOURCE, provisional, warnings }
}

/// Whether an earlier cure on `cure` bars a new one for a termination on `termination`: the cure lies on or
/// before the termination and at most two years earlier, boundary day included (see [`schonfrist`]).
pub fn cure_blocks(cure: Date, termination: Date) -> bool {
    cure <= termination && termination <= add_months(cure, 24)
}

/// Defence notice: the defendant must declare the intention to defend within two weeks of service of the claim
/// when the court orders the written preliminary procedure (§276 Abs. 1 S. 1 ZPO, a "Notfrist"). Counted by
/// §222 Abs. 1 ZPO with §§187 Abs. 1, 188 Abs. 2 BGB (service on a Tuesday: the Tuesday two weeks later) and
/// moved past a Saturday, Sunday or holiday by §222 Abs. 2 ZPO. Missing it risks a default judgment
/// (§331 Abs. 3 ZPO). If the court set an early first hearing instead, the summons gives the dates.
pub fn defence_notice(served: Date, provisional: bool) -> Deadline {
    Deadline {
        kind: DeadlineKind::DefenceNotice,
        date: next_working_day_on_or_after(served + Duration::days(14)),
        source: DEFENCE_NOTICE_SOURCE,
        provisional,
        warnings: Vec::new(),
    }
}

/// Last day to apply for an extension of the Räumungsfrist: at least two weeks before it ends
/// (§721 Abs. 3 S. 2 ZPO). The total cannot exceed one year from the judgment becoming final (§721 Abs. 5 ZPO).
///
/// Two weeks before a period ending on a Wednesday is the Wednesday two weeks earlier. Judgment call: periods
/// counted backwards are not shifted by §222 Abs. 2 ZPO in the tenant's favour; if that day is a Saturday,
/// Sunday or holiday the hub names the previous working day, so a filing on the named day is always in time.
pub fn raeumungsfrist_extension_request(period_end: Date) -> Deadline {
    Deadline {
        kind: DeadlineKind::RaeumungsfristExtensionRequest,
        date: previous_working_day_on_or_before(period_end - Duration::days(14)),
        source: RAEUMUNGSFRIST_SOURCE,
        provisional: false,
        warnings: Vec::new(),
    }
}

/// Last day to apply for protection against enforcement for hardship: at least two weeks before the eviction
/// date (§765a Abs. 3 ZPO), moved to the previous working day like
/// [`raeumungsfrist_extension_request`].
///
/// Warnings about the announcement of the date, which the bailiff must serve so that at least three weeks lie
/// between the day of service and the eviction day (§128 Abs. 2 GVGA Nds). Judgment call: "between" is read as
/// three full weeks strictly between the two days, so an announcement on the day exactly 21 days ahead is
/// already flagged: the earlier warning. A late announcement also opens §765a Abs. 3 ZPO's exception (the
/// debtor was hindered without fault), which the warning mentions when the two-week day had already passed.
pub fn hardship_application(eviction_date: Date, announced_on: Option<Date>) -> Deadline {
    let date = previous_working_day_on_or_before(eviction_date - Duration::days(14));
    let mut warnings = Vec::new();
    match announced_on {
        // The three weeks of §128 Abs. 2 GVGA Nds cannot be checked: the caseworker must look at the notice.
        None => warnings.push(Warning::EvictionAnnouncementUnknown { eviction_date }),
        Some(announced) if !announced_in_time(announced, eviction_date) => {
            warnings.push(Warning::EvictionAnnouncedLate { eviction_date, announced });
            if announced > date {
                // §765a Abs. 3 ZPO's exception: the tenant was hindered without fault.
                warnings.push(Warning::AnnouncedAfterHardshipDay { hardship_day: date });
            }
        }
        Some(_) => {}
    }
    Deadline { kind: DeadlineKind::HardshipApplication, date, source: HARDSHIP_SOURCE, provisional: false, warnings }
}

/// Whether an announcement on `announced` leaves three full weeks (21 days) strictly between it and the
/// eviction day (§128 Abs. 2 GVGA Nds, tenant-protective reading; see [`hardship_application`]).
pub fn announced_in_time(announced: Date, eviction_date: Date) -> bool {
    (eviction_date - announced).whole_days() >= 22
}

/// The eviction date itself, as a row in the deadline list.
pub fn eviction_date(eviction_date: Date) -> Deadline {
    Deadline {
        kind: DeadlineKind::EvictionDate,
        date: eviction_date,
        source: EVICTION_DATE_SOURCE,
        provisional: false,
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Schonfrist = service + 2 months (§188 Abs. 2, 3 BGB), then §193 BGB. Weekdays checked with `date -d`.
    #[test]
    fn schonfrist_table() {
        let cases = [
            // DOMAIN.md: served 10 Feb 2026 -> 10 Apr 2026, a Friday; Good Friday is 3 April, so no shift.
            (date!(2026 - 02 - 10), date!(2026 - 04 - 10)),
            // Served 31 Dec 2025: 31 Feb missing -> 28 Feb 2026, a Saturday -> Monday 2 March.
            (date!(2025 - 12 - 31), date!(2026 - 03 - 02)),
            // Served 31 Dec 2023: 2024 leap year -> Thursday 29 Feb 2024, no shift.
            (date!(2023 - 12 - 31), date!(2024 - 02 - 29)),
            // Served 31 Dec 2027: 2028 leap year -> Tuesday 29 Feb 2028.
            (date!(2027 - 12 - 31), date!(2028 - 02 - 29)),
            // Served 31 Dec 2099: 2100 is no leap year -> 28 Feb 2100, a Sunday -> Monday 1 March 2100.
            (date!(2099 - 12 - 31), date!(2100 - 03 - 01)),
            // Served 30 Dec 2024 -> 28 Feb 2025 (30 Feb missing), a Friday.
            (date!(2024 - 12 - 30), date!(2025 - 02 - 28)),
            // Served 3 Feb 2026 -> 3 Apr 2026 Karfreitag; Sat, Sun, Ostermontag -> Tuesday 7 April.
            (date!(2026 - 02 - 03), date!(2026 - 04 - 07)),
            // Served 14 Mar 2026 -> 14 May 2026 Christi Himmelfahrt (Easter + 39) -> Friday 15 May.
            (date!(2026 - 03 - 14), date!(2026 - 05 - 15)),
            // Served 25 Oct 2026 -> Fri 25 Dec 2026; 26 Dec Sat, 27 Sun -> Monday 28 December.
            (date!(2026 - 10 - 25), date!(2026 - 12 - 28)),
            // Served 31 Aug 2025 -> 31 Oct 2025, a Friday and Reformationstag -> Monday 3 November.
            (date!(2025 - 08 - 31), date!(2025 - 11 - 03)),
            // Served 31 Aug 2026 -> 31 Oct 2026, a Saturday -> Monday 2 November.
            (date!(2026 - 08 - 31), date!(2026 - 11 - 02)),
            // Served 30 Apr 2026 -> Tuesday 30 June: the 30th exists in June, no month-end clamping.
            (date!(2026 - 04 - 30), date!(2026 - 06 - 30)),
        ];
        for (served, expected) in cases {
            let d = schonfrist(served, false, served, None, false);
            assert_eq!(d.date, expected, "served {served}");
            assert_eq!(d.source, SCHONFRIST_SOURCE);
            assert!(d.warnings.is_empty());
        }
    }

    /// §569 Abs. 3 Nr. 2 S. 2 BGB: a cure within two years before the termination blocks a new one.
    #[test]
    fn blocked_cure() {
        let served = date!(2026 - 04 - 01);
        let termination = date!(2026 - 03 - 10);
        let cases = [
            // Cure 10 Mar 2024, termination 10 Mar 2026: exactly two years, still "not longer than two
            // years" -> blocked (tenant-protective boundary).
            (date!(2024 - 03 - 10), true),
            // Cure 9 Mar 2024: two years and a day -> free again.
            (date!(2024 - 03 - 09), false),
            // Cure 1 Jan 2025: 14 months -> blocked.
            (date!(2025 - 01 - 01), true),
            // A "cure" after the termination cannot precede it -> no block.
            (date!(2026 - 03 - 11), false),
        ];
        for (cure, blocked) in cases {
            let d = schonfrist(served, false, termination, Some(cure), false);
            assert_eq!(d.warnings.len(), usize::from(blocked), "cure {cure}: {:?}", d.warnings);
            if blocked {
                assert_eq!(d.warnings[0], Warning::CureBlocked { earlier_cure: cure, termination });
                assert!(d.warnings[0].to_string().contains("not available"));
            }
            // The date is still reported: the court may see the earlier cure differently.
            assert_eq!(d.date, date!(2026 - 06 - 01));
        }
        // Cure on 29 Feb 2024: two years end with 28 Feb 2026 (§188 Abs. 3 BGB), so a termination on
        // 28 Feb 2026 is blocked and one on 1 Mar 2026 is not.
        assert!(cure_blocks(date!(2024 - 02 - 29), date!(2026 - 02 - 28)));
        assert!(!cure_blocks(date!(2024 - 02 - 29), date!(2026 - 03 - 01)));
    }

    #[test]
    fn parallel_ordinary_termination_and_provisional() {
        let d = schonfrist(date!(2026 - 02 - 10), true, date!(2026 - 01 - 05), None, true);
        assert!(d.provisional);
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0], Warning::ParallelOrdinaryTermination);
        assert!(d.warnings[0].to_string().contains("ordinary termination"));
        // Both warnings together, blocked cure first.
        let d = schonfrist(date!(2026 - 02 - 10), false, date!(2026 - 01 - 05), Some(date!(2025 - 06 - 01)), true);
        assert!(!d.provisional);
        assert_eq!(d.warnings.len(), 2);
        assert!(matches!(d.warnings[0], Warning::CureBlocked { .. }));
        assert!(d.warnings[0].to_string().contains("not available"));
        assert_eq!(d.warnings[1], Warning::ParallelOrdinaryTermination);
    }

    /// Service + 14 days, then §222 Abs. 2 ZPO.
    #[test]
    fn defence_notice_table() {
        let cases = [
            // Served Tue 10 Feb 2026 -> Tue 24 Feb.
            (date!(2026 - 02 - 10), date!(2026 - 02 - 24)),
            // Served Fri 20 Mar 2026 -> Fri 3 Apr, Karfreitag -> Tue 7 Apr (after Ostermontag).
            (date!(2026 - 03 - 20), date!(2026 - 04 - 07)),
            // Served Sat 2 May 2026 -> Sat 16 May -> Mon 18 May.
            (date!(2026 - 05 - 02), date!(2026 - 05 - 18)),
            // Served Fri 11 Dec 2026 -> Fri 25 Dec -> Mon 28 Dec.
            (date!(2026 - 12 - 11), date!(2026 - 12 - 28)),
            // Served Fri 17 Oct 2025 -> Fri 31 Oct, Reformationstag -> Mon 3 Nov.
            (date!(2025 - 10 - 17), date!(2025 - 11 - 03)),
            // Served Mon 17 Oct 2016 -> Mon 31 Oct 2016: no holiday in Lower Saxony before 2017, no shift.
            (date!(2016 - 10 - 17), date!(2016 - 10 - 31)),
            // Served Tue 17 Oct 2017 -> Tue 31 Oct 2017, the nationwide 500th anniversary holiday -> Wed 1 Nov
            // (Allerheiligen is no holiday in Lower Saxony).
            (date!(2017 - 10 - 17), date!(2017 - 11 - 01)),
            // Served Thu 15 Feb 2024 -> Thu 29 Feb 2024 (leap day, a working day).
            (date!(2024 - 02 - 15), date!(2024 - 02 - 29)),
        ];
        for (served, expected) in cases {
            let d = defence_notice(served, false);
            assert_eq!(d.date, expected, "served {served}");
            assert!(!d.provisional);
        }
        assert!(defence_notice(date!(2026 - 02 - 10), true).provisional);
    }

    /// End - 14 days, moved earlier off weekends and holidays.
    #[test]
    fn raeumungsfrist_table() {
        let cases = [
            // Ends Tue 30 Jun 2026 -> Tue 16 Jun.
            (date!(2026 - 06 - 30), date!(2026 - 06 - 16)),
            // Ends Mon 20 Apr 2026 -> Mon 6 Apr, Ostermontag; back over Sun, Sat, Karfreitag -> Thu 2 Apr.
            (date!(2026 - 04 - 20), date!(2026 - 04 - 02)),
            // Ends Sun 15 Mar 2026 -> Sun 1 Mar -> Fri 27 Feb.
            (date!(2026 - 03 - 15), date!(2026 - 02 - 27)),
            // Ends Sat 14 Mar 2026 -> Sat 28 Feb 2026 -> Fri 27 Feb.
            (date!(2026 - 03 - 14), date!(2026 - 02 - 27)),
        ];
        for (end, expected) in cases {
            assert_eq!(raeumungsfrist_extension_request(end).date, expected, "period ends {end}");
        }
    }

    /// Eviction - 14 days; announcement at least three full weeks ahead.
    #[test]
    fn hardship_table() {
        // Eviction Wed 20 May 2026 -> Wed 6 May. Announced 20 Apr: 30 days ahead, fine.
        let d = hardship_application(date!(2026 - 05 - 20), Some(date!(2026 - 04 - 20)));
        assert_eq!(d.date, date!(2026 - 05 - 06));
        assert!(d.warnings.is_empty());
        // Announced Tue 28 Apr: 22 days ahead, 21 full days between -> fine.
        let d = hardship_application(date!(2026 - 05 - 20), Some(date!(2026 - 04 - 28)));
        assert!(d.warnings.is_empty());
        // Announced Wed 29 Apr: 21 days ahead, only 20 days between -> warned (tenant-protective reading).
        let d = hardship_application(date!(2026 - 05 - 20), Some(date!(2026 - 04 - 29)));
        assert_eq!(d.warnings.len(), 1);
        // Announced Thu 7 May, after the two-week day 6 May -> late announcement and §765a(3) exception.
        let d = hardship_application(date!(2026 - 05 - 20), Some(date!(2026 - 05 - 07)));
        assert_eq!(d.warnings.len(), 2);
        // Unknown announcement -> warned.
        let d = hardship_application(date!(2026 - 05 - 20), None);
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0], Warning::EvictionAnnouncementUnknown { eviction_date: date!(2026 - 05 - 20) });
        assert!(d.warnings[0].to_string().contains("unknown"));
        // Eviction Mon 8 Jun 2026 -> Mon 25 May, Pfingstmontag -> Fri 22 May.
        let d = hardship_application(date!(2026 - 06 - 08), Some(date!(2026 - 05 - 01)));
        assert_eq!(d.date, date!(2026 - 05 - 22));
        assert_eq!(d.source, HARDSHIP_SOURCE);
    }
}
