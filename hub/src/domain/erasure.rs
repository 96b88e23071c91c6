//! Erasure of a case (Art. 17 GDPR, §84 SGB X): when, why, and what may outlive it. A closed case
//! is due for erasure after the retention period of its outcome; the person may ask for it earlier.
//! What remains is written down in an [`Erasure`]: anonymous statistics, and each record kept with
//! its legal basis and the day it goes too. Nothing in it identifies a person.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::case::Case;
use super::ids::{CaseId, OrgId};
use super::time::{Day, Instant};
use super::vocab::text_enum;
use super::vocab::{CaseOutcome, HouseholdType, ReferralCategory, RescueMeans, RouteIn, Stadtbezirk, ThreatStage};

text_enum!(
    /// Why a case was erased.
    ErasureReason {
        /// The retention period after closure ended (§84 Abs. 2 SGB X).
        RetentionEnded = "RETENTION_ENDED",
        /// The person asked for it (Art. 17 Abs. 1 GDPR).
        Request = "REQUEST",
    }
);

/// How long a closed case is kept, per outcome, in days after the closing day. DOMAIN.md names no
/// figure; the defaults are a proposal for the data protection officer: three years where help was
/// given or the home was lost (the regular limitation period of §195 BGB covers claims from loans
/// and agreements made in the case), one year where nothing came of it (a new notice within a year
/// still finds the history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days for outcomes not listed in `outcomes`.
    #[serde(default = "default_days")]
    pub default_days: u32,
    /// Days per outcome (`WOHNUNG_ERHALTEN = 1095`).
    #[serde(default = "default_outcomes")]
    pub outcomes: BTreeMap<String, u32>,
    /// Days a notice that was never taken up into a case is kept after its last update. Without a
    /// case nobody works on it; a later notice of the same tenancy starts afresh.
    #[serde(default = "default_untaken_notice_days")]
    pub untaken_notice_days: u32,
}

fn default_untaken_notice_days() -> u32 {
    365
}

fn default_days() -> u32 {
    1095
}

fn default_outcomes() -> BTreeMap<String, u32> {
    use CaseOutcome::*;
    [
        (WohnungErhalten, 1095),
        (Ersatzwohnraum, 1095),
        (VerlustUnterbringung, 1095),
        (VerlustPrivat, 1095),
        (KeinKontakt, 365),
        (KontaktAbgebrochen, 365),
        (HilfeAbgelehnt, 365),
        (VerzogenUnbekannt, 365),
        (KeinHandlungsbedarf, 365),
    ]
    .into_iter()
    .map(|(o, d)| (o.as_str().to_owned(), d))
    .collect()
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            default_days: default_days(),
            outcomes: default_outcomes(),
            untaken_notice_days: default_untaken_notice_days(),
        }
    }
}

/// The longest retention accepted (ten years): a typo must not keep data for ever.
const MAX_RETENTION_DAYS: u32 = 3653;

impl Retention {
    /// Checks outcome names and bounds; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_RETENTION_DAYS).contains(&self.default_days) {
            return Err(format!("retention.default_days must be 1..={MAX_RETENTION_DAYS}"));
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&self.untaken_notice_days) {
            return Err(format!("retention.untaken_notice_days must be 1..={MAX_RETENTION_DAYS}"));
        }
        for (name, days) in &self.outcomes {
            if CaseOutcome::parse(name).is_none() {
                return Err(format!("retention.outcomes.{name}: not an outcome (e.g. WOHNUNG_ERHALTEN)"));
            }
            if !(1..=MAX_RETENTION_DAYS).contains(days) {
                return Err(format!("retention.outcomes.{name} must be 1..={MAX_RETENTION_DAYS}"));
            }
        }
        Ok(())
    }

    /// Days kept after closing with `outcome`.
    pub fn days(&self, outcome: CaseOutcome) -> u32 {
        self.outcomes.get(outcome.as_str()).copied().unwrap_or(self.default_days)
    }

    /// The day a case closed on `closed` with `outcome` is due for erasure.
    pub fn erase_on(&self, outcome: CaseOutcome, closed: Day) -> Day {
        closed.plus_days(i64::from(self.days(outcome)))
    }
}

/// How long the day of a Schonfrist cure is kept: §569 Abs. 3 Nr. 2 S. 2 BGB looks back two years.
pub const CURE_KEPT_DAYS: i64 = 731;

/// A record that outlives the case, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRecord {
    /// What is kept, in words (no personal data).
    pub what: String,
    /// The legal basis for keeping it.
    pub legal_basis: String,
    /// The day it goes too (`None`: kept as long as the audit log / the statistics).
    pub keep_until: Option<Day>,
}

/// Anonymous statistics of an erased case (annual key figures; no cell identifies a person).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStatistics {
    /// Year and month opened, `2026-11`.
    pub opened_month: String,
    /// Year and month closed.
    pub closed_month: Option<String>,
    /// How the case came in.
    pub route_in: RouteIn,
    /// Stage at first contact.
    pub first_stage: Option<ThreatStage>,
    /// Outcome.
    pub outcome: Option<CaseOutcome>,
    /// Rescue means with WOHNUNG_ERHALTEN.
    pub rescue_means: Option<RescueMeans>,
    /// District.
    pub stadtbezirk: Stadtbezirk,
    /// Household type.
    pub household_type: HouseholdType,
    /// Categories of the case's referrals.
    pub referral_categories: Vec<ReferralCategory>,
}

/// What remains of an erased case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The case's id (an opaque id; nothing can be looked up with it any more).
    pub case_id: CaseId,
    /// The Fachstelle that owned it.
    pub owner: OrgId,
    /// When.
    pub erased_at: Instant,
    /// Why.
    pub reason: ErasureReason,
    /// What was kept, each with its legal basis.
    pub kept: Vec<KeptRecord>,
    /// Anonymous statistics.
    pub statistics: CaseStatistics,
}

fn month(day: Day) -> String {
    let s = day.to_string();
    s.get(..7).unwrap_or(&s).to_owned()
}

/// The day a Schonfrist cure was used in `case`, if it was: the case closed with the home kept
/// after the eviction claim was served (Rechtshängigkeit), which is when the Schonfrist runs.
pub fn cure_day(case: &Case) -> Option<Day> {
    let closure = case.closure.as_ref()?;
    let served =
        case.stages.iter().any(|s| matches!(s.stage, ThreatStage::Rechtshaengig | ThreatStage::Raeumungstermin));
    (closure.outcome == CaseOutcome::WohnungErhalten && served).then(|| closure.at.day())
}

/// The key a cure is kept under: the tenancy (landlord and reference), hashed by the store.
pub fn cure_subject(case: &Case) -> String {
    let t = &case.details.tenancy;
    format!("tenancy:{}:{}", t.landlord.as_ref().map(OrgId::as_str).unwrap_or_default(), t.reference)
}

impl Erasure {
    /// The erasure record of `case`, erased at `now` for `reason`, its referrals having had
    /// `categories`.
    pub fn of(case: &Case, reason: ErasureReason, now: Instant, categories: Vec<ReferralCategory>) -> Self {
        let mut kept = vec![
            KeptRecord {
                what: "Protokolleinträge (nur Kennungen, Datenkategorien, Rechtsgrundlagen)".into(),
                legal_basis: "Art. 5 Abs. 2 DSGVO (Rechenschaftspflicht), §67b SGB X".into(),
                keep_until: None,
            },
            KeptRecord {
                what: "Anonyme Statistik (Zugangsweg, Stufe, Ergebnis, Stadtbezirk, Haushaltstyp)".into(),
                legal_basis: "keine personenbezogenen Daten (ErwG 26 DSGVO)".into(),
                keep_until: None,
            },
        ];
        // Only while it can still matter: a cure blocks another for two years.
        if let Some(day) = cure_day(case).filter(|d| d.plus_days(CURE_KEPT_DAYS) >= now.day()) {
            kept.push(KeptRecord {
                what: format!("Tag der Nutzung der Schonfrist ({day}) zum Mietverhältnis (als Schlüsselhash)"),
                legal_basis: "§569 Abs. 3 Nr. 2 S. 2 BGB (Sperrfrist zwei Jahre), §84 Abs. 2 SGB X".into(),
                keep_until: Some(day.plus_days(CURE_KEPT_DAYS)),
            });
        }
        let closure = case.closure.as_ref();
        Self {
            case_id: case.id.clone(),
            owner: case.owner.clone(),
            erased_at: now,
            reason,
            kept,
            statistics: CaseStatistics {
                opened_month: month(case.opened_at.day()),
                closed_month: closure.map(|c| month(c.at.day())),
                route_in: case.details.route_in,
                first_stage: case.stages.first().map(|s| s.stage),
                outcome: closure.map(|c| c.outcome),
                rescue_means: closure.and_then(|c| c.rescue_means),
                stadtbezirk: case.details.stadtbezirk,
                household_type: case.details.household_type,
                referral_categories: categories,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_every_outcome_and_validate() {
        let r = Retention::default();
        r.validate().unwrap();
        for o in CaseOutcome::ALL {
            assert!(r.outcomes.contains_key(o.as_str()), "{o}");
        }
        assert_eq!(r.days(CaseOutcome::KeinKontakt), 365);
        assert_eq!(r.days(CaseOutcome::WohnungErhalten), 1095);
    }

    #[test]
    fn bad_retention_names_the_key() {
        let mut r = Retention::default();
        r.outcomes.insert("KEPT".into(), 10);
        assert!(r.validate().unwrap_err().contains("retention.outcomes.KEPT"));
        let mut r = Retention::default();
        r.outcomes.insert("KEIN_KONTAKT".into(), 0);
        assert!(r.validate().unwrap_err().contains("KEIN_KONTAKT"));
        let r = Retention { default_days: 100_000, ..Retention::default() };
        assert!(r.validate().unwrap_err().contains("default_days"));
    }

    #[test]
    fn erase_on_adds_the_outcome_days() {
        let r = Retention::default();
        let closed = Day::parse("2026-03-01").unwrap();
        assert_eq!(r.erase_on(CaseOutcome::KeinKontakt, closed).to_string(), "2027-03-01");
    }
}
