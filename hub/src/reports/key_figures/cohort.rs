//! The cohort of the key figures: which cases a report counts, read from the store.
//!
//! The cohort is every case of one Fachstelle (or of all) **opened** in the year (`Case.opened_at`,
//! UTC day), whether open or closed now, plus the cases erased since (Art. 17 GDPR, §84 SGB X)
//! whose anonymous statistics ([`CaseStatistics`](crate::domain::erasure::CaseStatistics)) say
//! they were opened in that year. Cases under a restriction of processing (Art. 18 GDPR) are left
//! out: statistics are processing beyond storage, which Art. 18(2) does not allow; the report says
//! so without a count.
//!
//! Each case becomes a [`Record`] of what it contributes. An erased case's record carries only what
//! its statistics keep: no main tenant (gender, age), no Schutzsperre, no referrals beyond whether
//! one went to women's counselling, and no casework.

use std::collections::HashMap;

use super::{KeyFiguresError, OrgRef};
use crate::domain::case::Case;
use crate::domain::erasure::Erasure;
use crate::domain::ids::OrgId;
use crate::domain::referral::Referral;
use crate::domain::vocab::{
    CaseOutcome, Gender, HouseholdType, PersonRole, ReferralCategory, RescueMeans, RouteIn, Stadtbezirk, ThreatStage,
};
use crate::store::Tx;

/// What one case of the cohort contributes, live or erased.
pub(super) struct Record {
    /// The month of opening, 1 to 12.
    pub(super) month: u8,
    pub(super) route_in: RouteIn,
    pub(super) first_stage: Option<ThreatStage>,
    /// `None` while open.
    pub(super) outcome: Option<CaseOutcome>,
    pub(super) rescue_means: Option<RescueMeans>,
    pub(super) stadtbezirk: Stadtbezirk,
    pub(super) household_type: HouseholdType,
    /// The main tenant's gender and age; `None` for an erased case.
    pub(super) main_tenant: Option<(Gender, Option<i32>)>,
    /// `None` for an erased case.
    pub(super) schutzsperre: Option<bool>,
    pub(super) womens_counselling: bool,
    pub(super) referrals: Vec<Referral>,
    pub(super) erased: bool,
    /// The Fachstelle's casework; `None` for an erased case (its anonymous statistics do not keep it).
    pub(super) casework: Option<Casework>,
}

/// What the casework of one case adds to the figures.
#[derive(Debug, Clone, Default)]
pub(super) struct Casework {
    /// Days from opening to the first contact that reached the household.
    pub(super) days_to_contact: Option<i64>,
    /// The household returned after a closed case.
    pub(super) repeat: bool,
    /// The follow-ups at 3, 6 and 12 months: `None` not due or not yet checked, else whether it held.
    pub(super) held: [Option<bool>; 3],
}

impl Casework {
    fn of(case: &Case) -> Self {
        let opened = case.opened_at.day();
        let days_to_contact =
            crate::domain::casework::first_contact(&case.contacts).map(|d| opened.days_until(d).max(0));
        let mut held = [None; 3];
        for f in &case.follow_ups {
            let i = match f.months {
                3 => 0,
                6 => 1,
                _ => 2,
            };
            held[i] = f.result.map(|(_, h)| h);
        }
        Self { days_to_contact, repeat: case.repeat_of.is_some(), held }
    }
}

/// The cohort of one report: what each counted case contributes, with the directory's names.
pub(super) struct Cohort {
    /// The Fachstelle reported on, or `None` for all.
    pub(super) organisation: Option<OrgRef>,
    /// One record per case of the cohort, live or erased.
    pub(super) records: Vec<Record>,
    /// Every organisation's directory name, by id.
    pub(super) orgs: HashMap<OrgId, String>,
}

/// Loads the cohort of the cases of `org` (all Fachstellen when `None`) opened in `year` from one
/// transaction's view of the store.
pub(super) async fn load(tx: &mut dyn Tx, year: i32, org: Option<&OrgId>) -> Result<Cohort, KeyFiguresError> {
    let orgs: HashMap<OrgId, String> = tx.orgs().await?.into_iter().map(|o| (o.id.clone(), o.name)).collect();
    let organisation = match org {
        Some(id) => Some(OrgRef {
            id: id.to_string(),
            name: orgs.get(id).cloned().ok_or_else(|| KeyFiguresError::OrgNotFound(id.clone()))?,
        }),
        None => None,
    };
    let mine = |owner: &OrgId| org.is_none_or(|o| o == owner);

    let mut records = Vec::new();
    let cases: Vec<Case> = tx.cases().await?;
    for case in cases {
        if !mine(&case.owner) || case.opened_at.day().year() != year || case.restriction.is_some() {
            continue;
        }
        let referrals = tx.referrals_of_case(&case.id).await?;
        let d = &case.details;
        let main = d.persons.iter().find(|p| p.role == PersonRole::MainTenant);
        records.push(Record {
            month: u8::from(case.opened_at.day().date().month()),
            route_in: d.route_in,
            first_stage: case.stages.first().map(|s| s.stage),
            outcome: case.closure.as_ref().map(|c| c.outcome),
            rescue_means: case.closure.as_ref().and_then(|c| c.rescue_means),
            stadtbezirk: d.stadtbezirk,
            household_type: d.household_type,
            main_tenant: Some(main.map_or((Gender::Undisclosed, None), |p| (p.gender, p.birth_year.map(|b| year - b)))),
            schutzsperre: Some(d.schutzsperre),
            womens_counselling: referrals.iter().any(|r| r.category == ReferralCategory::WomensCounselling),
            referrals,
            erased: false,
            casework: Some(Casework::of(&case)),
        });
    }
    let erasures: Vec<Erasure> = tx.erasures().await?;
    let prefix = format!("{year:04}-");
    for e in erasures {
        let st = &e.statistics;
        if !mine(&e.owner) || !st.opened_month.starts_with(&prefix) {
            continue;
        }
        records.push(Record {
            month: st.opened_month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0),
            route_in: st.route_in,
            first_stage: st.first_stage,
            outcome: st.outcome,
            rescue_means: st.rescue_means,
            stadtbezirk: st.stadtbezirk,
            household_type: st.household_type,
            main_tenant: None,
            schutzsperre: None,
            womens_counselling: st.referral_categories.contains(&ReferralCategory::WomensCounselling),
            referrals: vec![],
            erased: true,
            casework: None,
        });
    }

    Ok(Cohort { organisation, records, orgs })
}
