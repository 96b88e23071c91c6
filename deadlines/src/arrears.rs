//! Rent arrears and the right to terminate without notice (§543 Abs. 2 S. 1 Nr. 3, § 569 Abs. 3 Nr. 1 BGB).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::{Deadline, DeadlineKind, Warning};

/// One due date of the rent account.
///
/// Only rent counts towards the arrears rules: base rent plus service-charge and heating advances
/// ("Vorauszahlungen"). Back-payments from an annual statement, dunning fees, legal costs and damages do not
/// (BGH, settled case law), so the caller must not put them here. Several entries with the same due date (base
/// rent and advances booked apart) are added together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The due date (normally [`crate::rent_due_date`] of the month).
    pub due: Date,
    /// Rent and advances due on that date, in cents.
    pub amount_due_cents: i64,
    /// What was paid towards that date, in cents. The engine assumes it was paid by the due date; an overpayment
    /// is credited to the oldest open arrears (§366 Abs. 2 BGB), then to later dates. A late payment is best
    /// booked on the first due date on or after the day it arrived, so the history stays exact.
    pub amount_paid_cents: i64,
}

/// Which alternative of §543 Abs. 2 S. 1 Nr. 3 BGB gives the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminationRule {
    /// Letter a: in arrears on two consecutive due dates with more than one month's rent
    /// (the "not insignificant part" of §543 is defined by §569 Abs. 3 Nr. 1 BGB for flats).
    TwoConsecutiveDueDates,
    /// Letter b: over a period spanning more than two due dates, arrears reaching two months' rent.
    TwoMonthsRentOverLongerPeriod,
}

impl TerminationRule {
    /// The legal source of the rule.
    pub fn source(self) -> &'static str {
        match self {
            Self::TwoConsecutiveDueDates => "§ 543 Abs. 2 S. 1 Nr. 3 a, § 569 Abs. 3 Nr. 1 BGB",
            Self::TwoMonthsRentOverLongerPeriod => "§ 543 Abs. 2 S. 1 Nr. 3 b BGB",
        }
    }
}

/// The landlord may terminate without notice for rent arrears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminationRight {
    /// The due date at which the condition first held in the current, unbroken run of arrears. The tenant is in
    /// default from the end of that day; the date itself is reported so the warning comes no later than needed.
    pub since_due_date: Date,
    /// Which alternative applied first.
    pub rule: TerminationRule,
    /// Rent arrears open at the latest due date of the ledger: what the tenant must pay in full before a
    /// termination arrives to exclude it (§543 Abs. 2 S. 2 BGB), in cents.
    pub arrears_cents: i64,
}

impl TerminationRight {
    /// The right as a deadline row (kind [`DeadlineKind::TerminationWithoutNoticePossible`]).
    pub fn deadline(&self) -> Deadline {
        Deadline {
            kind: DeadlineKind::TerminationWithoutNoticePossible,
            date: self.since_due_date,
            source: self.rule.source(),
            provisional: false,
            // Paying it all before a termination arrives excludes it; afterwards only the Schonfrist helps.
            warnings: vec![Warning::RentArrears { arrears_cents: self.arrears_cents }],
        }
    }
}

/// Whether, and since which due date, the landlord may terminate without notice for rent arrears.
///
/// The ledger is replayed due date by due date. At each date the open arrears are checked against both
/// alternatives of §543 Abs. 2 S. 1 Nr. 3 BGB, with `monthly_rent_cents` (rent plus advances) as the measure:
/// - letter a with §569 Abs. 3 Nr. 1 BGB: what is open from this and the previous due date together is
///   *strictly more* than one month's rent. Exactly one month's rent is not enough.
/// - letter b: all open arrears *reach* (are at least) two months' rent. Where both hold at the same date,
///   letter a is reported.
///
/// Once arisen, the right lasts until the arrears are paid in full: a partial payment does not remove it
/// (§543 Abs. 2 S. 2 BGB requires the landlord to be satisfied). If the tenant clears everything, the run ends
/// and a later run starts afresh.
///
/// Returns `None` for a non-positive rent (nothing to measure against) or when no right exists at the end of
/// the ledger. The ledger should list every due date, paid ones included: consecutive entries are taken as
/// consecutive due dates.
pub fn termination_without_notice(monthly_rent_cents: i64, ledger: &[LedgerEntry]) -> Option<TerminationRight> {
    if monthly_rent_cents <= 0 {
        return None;
    }
    let mut by_date: BTreeMap<Date, (i64, i64)> = BTreeMap::new();
    for e in ledger {
        let slot = by_date.entry(e.due).or_default();
        slot.0 += e.amount_due_cents;
        slot.1 += e.amount_paid_cents;
    }

    // Open amount per due date, oldest first; `credit` is money paid ahead with nothing open to absorb it.
    let mut open: Vec<i64> = Vec::with_capacity(by_date.len());
    let mut credit: i64 = 0;
    let mut right: Option<(Date, TerminationRule)> = None;

    for (&due, &(amount_due, amount_paid)) in &by_date {
        // The payment goes to its own due date first (the tenant's designation, § 366 Abs. 1 BGB) ...
        let mut this_open = amount_due.max(0);
        let mut surplus = amount_paid.max(0);
        let applied = surplus.min(this_open);
        this_open -= applied;
        surplus -= applied;
        // ... any surplus to the oldest open arrears (§366 Abs. 2 BGB) ...
        for older in &mut open {
            let applied = surplus.min(*older);
            *older -= applied;
            surplus -= applied;
        }
        credit += surplus;
        // ... and earlier prepayments to what is still open now.
        let applied = credit.min(this_open);
        this_open -= applied;
        credit -= applied;
        open.push(this_open);

        let total: i64 = open.iter().sum();
        if total == 0 {
            // Paid in full: a right that had arisen is gone (§543 Abs. 2 S. 2 BGB).
            right = None;
            continue;
        }
        if right.is_some() {
            continue;
        }
        let last_two: i64 = open.iter().rev().take(2).sum();
        if open.len() >= 2 && last_two > monthly_rent_cents {
            right = Some((due, TerminationRule::TwoConsecutiveDueDates));
        } else if open.len() >= 3 && total >= 2 * monthly_rent_cents {
            // Letter b needs a period spanning more than two due dates; within two, letter a already holds.
            right = Some((due, TerminationRule::TwoMonthsRentOverLongerPeriod));
        }
    }

    let arrears_cents = open.iter().sum();
    right.map(|(since_due_date, rule)| TerminationRight { since_due_date, rule, arrears_cents })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const RENT: i64 = 80_000;
    // Due dates of January to May 2026 (checked in calendar::tests::rent_due_dates).
    const JAN: Date = date!(2026 - 01 - 06);
    const FEB: Date = date!(2026 - 02 - 04);
    const MAR: Date = date!(2026 - 03 - 04);
    const APR: Date = date!(2026 - 04 - 07);
    const MAY: Date = date!(2026 - 05 - 06);

    fn entry(due: Date, paid: i64) -> LedgerEntry {
        LedgerEntry { due, amount_due_cents: RENT, amount_paid_cents: paid }
    }

    /// Hand-checked replays of the ledger; rent 800.00 EUR throughout.
    #[test]
    fn termination_rule_table() {
        type Case = (&'static str, Vec<LedgerEntry>, Option<(Date, TerminationRule, i64)>);
        let cases: Vec<Case> = vec![
            (
                // Jan 800 open + Feb 0.01 open = 800.01 > 800: letter a at the February date.
                "one cent over one month across two consecutive dates",
                vec![entry(JAN, 0), entry(FEB, RENT - 1)],
                Some((FEB, TerminationRule::TwoConsecutiveDueDates, RENT + 1)),
            ),
            (
                // Jan 800 open, Feb paid: 800 is not MORE than one month's rent (§569 Abs. 3 Nr. 1), and
                // 800 does not reach 1600 for letter b.
                "exactly one month's rent is not enough",
                vec![entry(JAN, 0), entry(FEB, RENT), entry(MAR, RENT), entry(APR, RENT)],
                None,
            ),
            (
                // Jan and Feb both unpaid: 1600 > 800 at February, letter a (it is checked first).
                "two whole months unpaid",
                vec![entry(JAN, 0), entry(FEB, 0)],
                Some((FEB, TerminationRule::TwoConsecutiveDueDates, 2 * RENT)),
            ),
            (
                // Half rent missing each month: two dates give 800 (not > 800); the total reaches
                // 400 * 4 = 1600 = two months at the April date: letter b.
                "half rent missing for four months",
                vec![entry(JAN, 40_000), entry(FEB, 40_000), entry(MAR, 40_000), entry(APR, 40_000)],
                Some((APR, TerminationRule::TwoMonthsRentOverLongerPeriod, 160_000)),
            ),
            (
                // As before but only three months: 1200 < 1600, and no pair exceeds 800.
                "half rent missing for three months: not yet",
                vec![entry(JAN, 40_000), entry(FEB, 40_000), entry(MAR, 40_000)],
                None,
            ),
            (
                // Right arises at February (1600 open); March pays 1600 (800 for March, 800 surplus to
                // January): 800 still open, so the right stays (partial payment does not remove it).
                "partial catch-up keeps the right",
                vec![entry(JAN, 0), entry(FEB, 0), entry(MAR, 2 * RENT)],
                Some((FEB, TerminationRule::TwoConsecutiveDueDates, RENT)),
            ),
            (
                // March pays 2400: everything cleared, the right is gone (§543 Abs. 2 S. 2).
                "full catch-up removes the right",
                vec![entry(JAN, 0), entry(FEB, 0), entry(MAR, 3 * RENT)],
                None,
            ),
            (
                // Cleared in March, then April and May unpaid: a new run starting at May.
                "new run after full payment",
                vec![entry(JAN, 0), entry(FEB, 0), entry(MAR, 3 * RENT), entry(APR, 0), entry(MAY, 0)],
                Some((MAY, TerminationRule::TwoConsecutiveDueDates, 2 * RENT)),
            ),
            (
                // Unpaid months with a fully paid month between: Jan 800 open, Feb paid, Mar 800 open.
                // No two consecutive dates exceed 800 (800+0, 0+800); total 1600 at March reaches two
                // months' rent over a period spanning three dates: letter b at March.
                "gap month: letter b, not letter a",
                vec![entry(JAN, 0), entry(FEB, RENT), entry(MAR, 0)],
                Some((MAR, TerminationRule::TwoMonthsRentOverLongerPeriod, 2 * RENT)),
            ),
        ];
        for (name, ledger, expected) in cases {
            let got = termination_without_notice(RENT, &ledger).map(|r| (r.since_due_date, r.rule, r.arrears_cents));
            assert_eq!(got, expected, "{name}");
        }
    }

    /// Base rent and advances booked apart on the same date add up; order of entries does not matter.
    #[test]
    fn entries_grouped_by_date_and_sorted() {
        let split = |due: Date, paid_base: i64| {
            [
                LedgerEntry { due, amount_due_cents: 60_000, amount_paid_cents: paid_base },
                LedgerEntry { due, amount_due_cents: 20_000, amount_paid_cents: 0 },
            ]
        };
        let mut ledger: Vec<LedgerEntry> = split(FEB, 0).into_iter().chain(split(JAN, 60_000)).collect();
        ledger.reverse();
        // Jan: 200 open (advances); Feb: 800 open; 1000 > 800 at February.
        let right = termination_without_notice(RENT, &ledger).expect("right");
        assert_eq!(right.since_due_date, FEB);
        assert_eq!(right.rule, TerminationRule::TwoConsecutiveDueDates);
        assert_eq!(right.arrears_cents, 100_000);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(termination_without_notice(RENT, &[]), None);
        assert_eq!(termination_without_notice(0, &[entry(JAN, 0), entry(FEB, 0)]), None);
        // A prepayment in January covers February: nothing open.
        assert_eq!(termination_without_notice(RENT, &[entry(JAN, 2 * RENT), entry(FEB, 0)]), None);
        // A single due date never gives the right, however large: letter a needs two dates, letter b more
        // than two.
        let one = LedgerEntry { due: JAN, amount_due_cents: 3 * RENT, amount_paid_cents: 0 };
        assert_eq!(termination_without_notice(RENT, &[one]), None);
    }
}
