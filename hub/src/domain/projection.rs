//! Per-recipient views (DOMAIN.md rule 4 and 7): a recipient reads only the categories whose basis
//! still holds, and never the address of a Schutzsperre case.

use super::case::{Address, Case, Contact, Person, StageEntry, Tenancy};
use super::consent::Consent;
use super::ids::{Cents, OrgId};
use super::referral::{Referral, ReferralState};
use super::time::Day;
use super::vocab::{CompletionResult, DataCategory, Stadtbezirk};

/// A result of another referral of the case, stripped to what a landlord may learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeSummary {
    /// Generic topic (hides the benefit law).
    pub topic: &'static str,
    /// Result.
    pub result: CompletionResult,
    /// Amount.
    pub amount: Option<Cents>,
    /// Effective date.
    pub effective_date: Option<Day>,
}

/// The case as one recipient may read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseView {
    /// IDENTITY: the persons a basis covers.
    pub persons: Vec<Person>,
    /// IDENTITY: household members no basis covers, withheld.
    pub persons_withheld: usize,
    /// CONTACT, never with Schutzsperre.
    pub address: Option<Address>,
    /// CONTACT.
    pub contact: Option<Contact>,
    /// Schutzsperre is set: the address is withheld.
    pub address_withheld: bool,
    /// TENANCY.
    pub stadtbezirk: Option<Stadtbezirk>,
    /// TENANCY.
    pub tenancy: Option<Tenancy>,
    /// TENANCY.
    pub stages: Vec<StageEntry>,
    /// ARREARS.
    pub arrears: Option<Cents>,
    /// INCOME_BENEFITS.
    pub income_benefits_note: String,
    /// HEALTH.
    pub health_note: String,
    /// COUNSELLING_NOTES.
    pub counselling_note: String,
    /// OUTCOME.
    pub outcomes: Vec<OutcomeSummary>,
    /// Categories shown.
    pub readable: Vec<DataCategory>,
    /// Categories disclosed but withheld now.
    pub withheld: Vec<DataCategory>,
}

/// Whether [`view_for_recipient`] needs the case's other referrals for `referral`: only their
/// results feed a view, and only when `referral` discloses OUTCOME. A case with thousands of
/// referrals is then not read (and decrypted) for a view that cannot show them.
pub fn needs_siblings(referral: &Referral) -> bool {
    referral.disclosures.iter().any(|d| d.category == DataCategory::Outcome)
}

/// Builds the view of `case` for the recipient of `referral`. `siblings` are the case's other
/// referrals (their results feed OUTCOME; see [`needs_siblings`]).
pub fn view_for_recipient(
    case: &Case,
    referral: &Referral,
    consents: &[Consent],
    siblings: &[Referral],
    recipient: &OrgId,
    today: Day,
) -> CaseView {
    let mut v = CaseView { address_withheld: case.details.schutzsperre, ..CaseView::default() };
    for d in &referral.disclosures {
        if v.readable.contains(&d.category) || v.withheld.contains(&d.category) {
            continue;
        }
        if !d.readable(consents, recipient, today) {
            v.withheld.push(d.category);
            continue;
        }
        v.readable.push(d.category);
        let det = &case.details;
        match d.category {
            DataCategory::Identity => {
                let covered = d.persons_covered(consents, recipient, today, &det.persons);
                v.persons_withheld = det.persons.len() - covered.len();
                v.persons = covered.into_iter().cloned().collect();
            }
            DataCategory::Contact => {
                v.contact = Some(det.contact.clone());
                if !det.schutzsperre {
                    v.address = Some(det.address.clone());
                }
            }
            DataCategory::Tenancy => {
                v.stadtbezirk = Some(det.stadtbezirk);
                v.tenancy = Some(det.tenancy.clone());
                v.stages.clone_from(&case.stages);
            }
            DataCategory::Arrears => v.arrears = Some(det.arrears),
            DataCategory::IncomeBenefits => v.income_benefits_note.clone_from(&det.income_benefits_note),
            DataCategory::Health => v.health_note.clone_from(&det.health_note),
            DataCategory::CounsellingNotes => v.counselling_note.clone_from(&det.counselling_note),
            DataCategory::Outcome => {
                v.outcomes = siblings
                    .iter()
                    .filter(|r| r.id != referral.id && r.state == ReferralState::Completed)
                    .filter_map(|r| {
                        let topic = r.category.outcome_topic()?;
                        r.completion.as_ref().map(|c| OutcomeSummary {
                            topic,
                            result: c.result,
                            amount: c.amount,
                            effective_date: c.effective_date,
                        })
                    })
                    .collect();
            }
        }
    }
    v
}
