//! Legal deadline engine of the Wohnungserhalt Hub.
//!
//! Computes the deadlines of a tenancy threatened by rent arrears under German civil and procedural law, with
//! the public holidays of Lower Saxony: rent due dates, the landlord's right to terminate without notice, the
//! end of an ordinary notice, the Schonfrist, the defence notice, the Räumungsfrist extension request and the
//! hardship application. Each deadline carries its legal source, a provisional flag (derived from a date not
//! yet confirmed) and warnings.
//!
//! The crate is pure: no I/O and no clock. Every function takes its dates, so the same facts always give the
//! same deadlines, and tests need no fake time.
//!
//! Where the law is genuinely ambiguous the engine takes the reading that warns the tenant earlier, and says so
//! where it does.

mod arrears;
mod calendar;
mod court;
pub mod holidays;
mod notice;
mod warning;

use serde::{Deserialize, Serialize};
use time::Date;

pub use arrears::{LedgerEntry, TerminationRight, TerminationRule, termination_without_notice};
pub use calendar::{
    add_months, is_working_day, last_day_of_month, next_working_day_on_or_after, nth_working_day,
    previous_working_day_on_or_before, rent_due_date,
};
pub use court::{
    DEFENCE_NOTICE_SOURCE, EVICTION_DATE_SOURCE, HARDSHIP_SOURCE, RAEUMUNGSFRIST_SOURCE, SCHONFRIST_SOURCE,
    announced_in_time, cure_blocks, defence_notice, eviction_date, hardship_application,
    raeumungsfrist_extension_request, schonfrist,
};
pub use holidays::is_public_holiday;
pub use notice::{ORDINARY_NOTICE_SOURCE, ordinary_notice_end};
pub use warning::{Warning, euros_de};

/// Source string of the rent due date.
pub const RENT_DUE_SOURCE: &str = "§ 556b Abs. 1 BGB";

/// What a deadline is about. Stored and sent as the text of [`DeadlineKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeadlineKind {
    /// Rent falls due (third working day of the month).
    RentDue,
    /// From this due date the landlord may terminate without notice for arrears.
    TerminationWithoutNoticePossible,
    /// The tenancy ends under an ordinary notice.
    OrdinaryNoticeEnd,
    /// Last day of the cure period after the eviction claim was served.
    Schonfrist,
    /// Last day to declare the intention to defend the claim.
    DefenceNotice,
    /// Last day to ask for a longer Räumungsfrist (time to vacate granted by the court).
    RaeumungsfristExtensionRequest,
    /// Last day to apply for protection from enforcement for hardship.
    HardshipApplication,
    /// The day the bailiff will evict.
    EvictionDate,
}

impl DeadlineKind {
    /// Every kind, in the order used to break ties between deadlines on the same day.
    pub const ALL: [DeadlineKind; 8] = [
        Self::RentDue,
        Self::TerminationWithoutNoticePossible,
        Self::OrdinaryNoticeEnd,
        Self::Schonfrist,
        Self::DefenceNotice,
        Self::RaeumungsfristExtensionRequest,
        Self::HardshipApplication,
        Self::EvictionDate,
    ];

    /// The stored and wire name, e.g. `"SCHONFRIST"` (as in the proto's `Deadline.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RentDue => "RENT_DUE",
            Self::TerminationWithoutNoticePossible => "TERMINATION_WITHOUT_NOTICE_POSSIBLE",
            Self::OrdinaryNoticeEnd => "ORDINARY_NOTICE_END",
            Self::Schonfrist => "SCHONFRIST",
            Self::DefenceNotice => "DEFENCE_NOTICE",
            Self::RaeumungsfristExtensionRequest => "RAEUMUNGSFRIST_EXTENSION_REQUEST",
            Self::HardshipApplication => "HARDSHIP_APPLICATION",
            Self::EvictionDate => "EVICTION_DATE",
        }
    }

    /// The kind named by `s` (exactly as [`DeadlineKind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for DeadlineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One computed deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// What it is about.
    pub kind: DeadlineKind,
    /// The day; for a last day to act, acting by the end of this day is in time.
    pub date: Date,
    /// Where the rule comes from, e.g. "§ 569 Abs. 3 Nr. 2 BGB".
    pub source: &'static str,
    /// Derived from a date not yet confirmed (a court notice may lack the service date), or from an assumption
    /// in place of a missing fact; it may move once confirmed.
    pub provisional: bool,
    /// Things the caseworker must check or tell the tenant (e.g. cure already used within two years), typed so
    /// that each can be shown in English ([`Warning::en`]) or German ([`Warning::de`]).
    pub warnings: Vec<Warning>,
}

/// The facts of a case the deadlines are computed from. Every field is optional: the engine computes what the
/// known facts allow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Rent plus service-charge and heating advances per month, in cents: the measure of the arrears rules.
    pub monthly_rent_cents: Option<i64>,
    /// The rent account, one entry per due date (see [`LedgerEntry`]).
    pub ledger: Vec<LedgerEntry>,
    /// The day the flat was handed over ("Überlassung"), which starts the years of §573c Abs. 1 S. 2 BGB.
    pub tenancy_start: Option<Date>,
    /// The day the landlord's ordinary notice was received.
    pub ordinary_notice_received: Option<Date>,
    /// The day the landlord's termination without notice was received.
    pub termination_without_notice_received: Option<Date>,
    /// The day the eviction claim was served (Rechtshängigkeit).
    pub claim_served: Option<Date>,
    /// Whether `claim_served` is confirmed (e.g. by the court file) rather than estimated.
    pub claim_served_confirmed: bool,
    /// The day the eviction claim reached the court, from the court notice (MiZi).
    pub claim_filed: Option<Date>,
    /// The day an earlier termination was voided by a cure (§569 Abs. 3 Nr. 2 S. 2 BGB).
    pub earlier_cure: Option<Date>,
    /// The last day of the Räumungsfrist granted by the court (§721 ZPO).
    pub raeumungsfrist_end: Option<Date>,
    /// The eviction day set by the bailiff.
    pub eviction_date: Option<Date>,
    /// The day the eviction date was served on the tenant.
    pub eviction_announced_on: Option<Date>,
}

/// Everything computable from the facts known, sorted by date (ties in [`DeadlineKind::ALL`] order).
///
/// Choices where a fact is missing, each taking the earlier or more cautious date:
/// - Service date unknown but filing date known: the claim-based deadlines (Schonfrist, defence notice) are
///   computed from the filing date, provisional. Service always follows filing, so the real deadlines can only
///   be later.
/// - Tenancy start unknown: the ordinary notice is computed with the shortest period (3 months), provisional.
/// - Termination date unknown when checking a blocked cure: the claim date stands in for it, with a warning.
///
/// Rent due dates: the next due date after the ledger's last entry, and every due date falling within the
/// Schonfrist, because rent falling due by then must be paid as well for the cure to work.
pub fn compute(f: &Facts) -> Vec<Deadline> {
    let mut out = Vec::new();

    if let Some(rent) = f.monthly_rent_cents
        && let Some(right) = termination_without_notice(rent, &f.ledger)
    {
        out.push(right.deadline());
    }

    if let Some(received) = f.ordinary_notice_received {
        match f.tenancy_start {
            Some(start) => out.push(ordinary_notice_end(received, start)),
            None => {
                // Assume a fresh tenancy: the shortest period gives the earliest end.
                let mut d = ordinary_notice_end(received, received);
                d.provisional = true;
                d.warnings.push(Warning::TenancyStartUnknown);
                out.push(d);
            }
        }
    }

    let claim = match (f.claim_served, f.claim_filed) {
        (Some(served), _) => Some((served, !f.claim_served_confirmed, None)),
        (None, Some(filed)) => Some((
            filed,
            true,
            // Service always follows filing: the real deadlines can only be later.
            Some(Warning::ServiceDateUnknown { filed }),
        )),
        (None, None) => None,
    };
    if let Some((basis, provisional, basis_warning)) = claim {
        let termination = f.termination_without_notice_received.unwrap_or(basis);
        let mut sf = schonfrist(basis, provisional, termination, f.earlier_cure, f.ordinary_notice_received.is_some());
        if f.termination_without_notice_received.is_none() {
            if let Some(cure) = f.earlier_cure {
                // The claim date stood in for the termination when checking the block.
                sf.warnings.push(Warning::TerminationDateUnknown { earlier_cure: cure });
            }
            if f.ordinary_notice_received.is_some() {
                // The Schonfrist voids only a termination without notice for arrears.
                sf.warnings.push(Warning::NoTerminationWithoutNotice);
            }
        }
        let mut dn = defence_notice(basis, provisional);
        if let Some(w) = &basis_warning {
            sf.warnings.push(w.clone());
            dn.warnings.push(w.clone());
        }
        for due in rent_due_dates_between(basis, sf.date) {
            out.push(Deadline {
                kind: DeadlineKind::RentDue,
                date: due,
                source: RENT_DUE_SOURCE,
                provisional,
                // Rent falling due by the end of the Schonfrist must be paid as well for the cure to work.
                warnings: vec![Warning::RentDueWithinSchonfrist { schonfrist_end: sf.date }],
            });
        }
        out.push(sf);
        out.push(dn);
    }

    if let Some(last) = f.ledger.iter().map(|e| e.due).max() {
        let next_month = add_months(last.replace_day(1).expect("day 1 exists"), 1);
        let due = rent_due_date(next_month.year(), next_month.month());
        if !out.iter().any(|d| d.kind == DeadlineKind::RentDue && d.date == due) {
            out.push(Deadline {
                kind: DeadlineKind::RentDue,
                date: due,
                source: RENT_DUE_SOURCE,
                provisional: false,
                warnings: Vec::new(),
            });
        }
    }

    if let Some(end) = f.raeumungsfrist_end {
        out.push(raeumungsfrist_extension_request(end));
    }
    if let Some(day) = f.eviction_date {
        out.push(hardship_application(day, f.eviction_announced_on));
        out.push(eviction_date(day));
    }

    out.sort_by_key(|d| (d.date, d.kind));
    out
}

/// Rent due dates after `from` up to and including `to`.
fn rent_due_dates_between(from: Date, to: Date) -> Vec<Date> {
    let mut dates = Vec::new();
    let mut month = from.replace_day(1).expect("day 1 exists");
    while month <= to {
        let due = rent_due_date(month.year(), month.month());
        if due > from && due <= to {
            dates.push(due);
        }
        month = add_months(month, 1);
    }
    dates
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn kinds_and_dates(ds: &[Deadline]) -> Vec<(DeadlineKind, Date)> {
        ds.iter().map(|d| (d.kind, d.date)).collect()
    }

    #[test]
    fn kind_names_round_trip() {
        for k in DeadlineKind::ALL {
            assert_eq!(DeadlineKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json_like(k), format!("\"{}\"", k.as_str()), "serde name must equal as_str");
        }
        assert_eq!(DeadlineKind::Schonfrist.as_str(), "SCHONFRIST");
        assert_eq!(DeadlineKind::parse("schonfrist"), None);
    }

    /// serde's name for a unit variant, checked by deserializing `as_str` with serde's own value deserializer.
    fn serde_json_like(k: DeadlineKind) -> String {
        use serde::de::value::{Error, StrDeserializer};
        let back = DeadlineKind::deserialize(StrDeserializer::<Error>::new(k.as_str())).expect("known name");
        format!("\"{}\"", back.as_str())
    }

    /// The DOMAIN.md case: claim served 10 Feb 2026 (confirmed), termination without notice received
    /// 5 Jan 2026 after January and February unpaid, no ordinary notice.
    #[test]
    fn compute_domain_example() {
        let f = Facts {
            monthly_rent_cents: Some(80_000),
            ledger: vec![
                LedgerEntry { due: date!(2025 - 12 - 03), amount_due_cents: 80_000, amount_paid_cents: 0 },
                LedgerEntry { due: date!(2026 - 01 - 06), amount_due_cents: 80_000, amount_paid_cents: 0 },
            ],
            termination_without_notice_received: Some(date!(2026 - 01 - 20)),
            claim_served: Some(date!(2026 - 02 - 10)),
            claim_served_confirmed: true,
            ..Facts::default()
        };
        let ds = compute(&f);
        assert_eq!(
            kinds_and_dates(&ds),
            vec![
                // December and January unpaid: 1600 > 800 at the January due date (6 Jan 2026).
                (DeadlineKind::TerminationWithoutNoticePossible, date!(2026 - 01 - 06)),
                // Next due after January: Wed 4 Feb (1st is a Sunday). Before service, so no Schonfrist note.
                (DeadlineKind::RentDue, date!(2026 - 02 - 04)),
                // 10 Feb + 14 days = Tue 24 Feb.
                (DeadlineKind::DefenceNotice, date!(2026 - 02 - 24)),
                // Due dates within (10 Feb, 10 Apr]: 4 March and 7 April (after Easter).
                (DeadlineKind::RentDue, date!(2026 - 03 - 04)),
                (DeadlineKind::RentDue, date!(2026 - 04 - 07)),
                // 10 Apr 2026, a Friday, no shift.
                (DeadlineKind::Schonfrist, date!(2026 - 04 - 10)),
            ]
        );
        assert!(ds.iter().all(|d| !d.provisional));
        let sf = ds.iter().find(|d| d.kind == DeadlineKind::Schonfrist).expect("Schonfrist");
        assert!(sf.warnings.is_empty());
        assert_eq!(sf.source, "§ 569 Abs. 3 Nr. 2 BGB");
    }

    /// Unconfirmed service makes the claim-based deadlines provisional; a confirmed one does not.
    #[test]
    fn provisional_flag_propagates() {
        let mut f =
            Facts { claim_served: Some(date!(2026 - 02 - 10)), claim_served_confirmed: false, ..Facts::default() };
        let ds = compute(&f);
        assert!(!ds.is_empty());
        assert!(ds.iter().all(|d| d.provisional), "{ds:?}");
        f.claim_served_confirmed = true;
        assert!(compute(&f).iter().all(|d| !d.provisional));
    }

    /// Only the filing date known (court notice without service date): computed from it, provisional, warned.
    #[test]
    fn filing_date_stands_in_for_service() {
        let f = Facts {
            claim_filed: Some(date!(2025 - 12 - 31)),
            earlier_cure: Some(date!(2024 - 06 - 01)),
            ordinary_notice_received: Some(date!(2025 - 11 - 04)),
            tenancy_start: Some(date!(2015 - 01 - 01)),
            ..Facts::default()
        };
        let ds = compute(&f);
        let sf = ds.iter().find(|d| d.kind == DeadlineKind::Schonfrist).expect("Schonfrist");
        // 31 Dec 2025 + 2 months -> Sat 28 Feb 2026 -> Mon 2 Mar.
        assert_eq!(sf.date, date!(2026 - 03 - 02));
        assert!(sf.provisional);
        // Blocked cure (termination unknown, claim date used: 1 Jun 2024 is within two years of 31 Dec 2025),
        // parallel ordinary termination, unknown termination date, no termination without notice, filing date.
        assert_eq!(sf.warnings.len(), 5, "{:?}", sf.warnings);
        let dn = ds.iter().find(|d| d.kind == DeadlineKind::DefenceNotice).expect("defence");
        // 31 Dec 2025 + 14 = Wed 14 Jan 2026.
        assert_eq!(dn.date, date!(2026 - 01 - 14));
        assert!(dn.provisional);
        // Ordinary notice: Nov 2025 starts on a Saturday; 3, 4, 5 Nov are the working days, so 4 Nov is
        // timely; tenancy of 10+ years -> 9 months: Nov..July -> 31 July 2026.
        let on = ds.iter().find(|d| d.kind == DeadlineKind::OrdinaryNoticeEnd).expect("notice");
        assert_eq!(on.date, date!(2026 - 07 - 31));
        assert!(!on.provisional);
        // Sorted by date.
        assert!(ds.windows(2).all(|w| w[0].date <= w[1].date));
    }

    /// Tenancy start unknown: shortest period, provisional.
    #[test]
    fn ordinary_notice_without_tenancy_start() {
        let f = Facts { ordinary_notice_received: Some(date!(2026 - 03 - 04)), ..Facts::default() };
        let ds = compute(&f);
        assert_eq!(kinds_and_dates(&ds), vec![(DeadlineKind::OrdinaryNoticeEnd, date!(2026 - 05 - 31))]);
        assert!(ds[0].provisional);
        assert_eq!(ds[0].warnings.len(), 1);
    }

    /// Eviction stage: Räumungsfrist end Tue 30 Jun 2026, eviction Wed 15 Jul 2026 announced Fri 26 Jun.
    #[test]
    fn compute_eviction_stage() {
        let f = Facts {
            raeumungsfrist_end: Some(date!(2026 - 06 - 30)),
            eviction_date: Some(date!(2026 - 07 - 15)),
            eviction_announced_on: Some(date!(2026 - 06 - 26)),
            ..Facts::default()
        };
        let ds = compute(&f);
        assert_eq!(
            kinds_and_dates(&ds),
            vec![
                // 30 Jun - 14 = Tue 16 Jun.
                (DeadlineKind::RaeumungsfristExtensionRequest, date!(2026 - 06 - 16)),
                // 15 Jul - 14 = Wed 1 Jul.
                (DeadlineKind::HardshipApplication, date!(2026 - 07 - 01)),
                (DeadlineKind::EvictionDate, date!(2026 - 07 - 15)),
            ]
        );
        // 26 Jun -> 15 Jul is 19 days: under three weeks, warned.
        assert_eq!(ds[1].warnings.len(), 1);
    }

    #[test]
    fn no_facts_no_deadlines() {
        assert!(compute(&Facts::default()).is_empty());
    }
}
