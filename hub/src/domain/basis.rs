//! Legal bases for disclosure (DOMAIN.md, data protection rules 1-4). No basis, no disclosure.

use serde::{Deserialize, Serialize};

use super::consent::Consent;
use super::ids::{ConsentId, OrgId};
use super::org::Organisation;
use super::time::Day;
use super::vocab::{DataCategory, OrgKind};

/// Statutes the hub accepts as a basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Statute {
    /// §69(1) Nr.1 SGB X: transfer between social benefit bodies for their statutory tasks.
    Sgb10Section69,
}

impl Statute {
    /// The citation shown to users.
    pub fn citation(self) -> &'static str {
        match self {
            Statute::Sgb10Section69 => "§69 Abs. 1 Nr. 1 SGB X",
        }
    }
}

/// A legal basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegalBasis {
    /// A recorded consent.
    Consent(ConsentId),
    /// A statute.
    Statute(Statute),
}

impl LegalBasis {
    /// Text for the audit trail.
    pub fn describe(&self) -> String {
        match self {
            LegalBasis::Consent(id) => format!("consent:{id}"),
            LegalBasis::Statute(s) => format!("statute:{}", s.citation()),
        }
    }

    /// Still in force on `today`, given the case's consents.
    pub fn in_force(&self, consents: &[Consent], recipient: &OrgId, category: DataCategory, today: Day) -> bool {
        match self {
            LegalBasis::Statute(_) => true,
            LegalBasis::Consent(id) => consents.iter().any(|c| &c.id == id && c.covers(recipient, category, today)),
        }
    }
}

/// One disclosed category with every basis that covered it when disclosed. The data stays readable
/// while any of them is in force; a revocation only cuts off what relied on that consent alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Category.
    pub category: DataCategory,
    /// Bases, consent first.
    pub bases: Vec<LegalBasis>,
}

/// Categories a statute lets social benefit bodies exchange. HEALTH (Art. 9 GDPR) and counselling
/// notes (professional secrecy) need consent even between public bodies.
const STATUTORY_CATEGORIES: &[DataCategory] = &[
    DataCategory::Identity,
    DataCategory::Contact,
    DataCategory::Tenancy,
    DataCategory::Arrears,
    DataCategory::IncomeBenefits,
    DataCategory::Outcome,
];

/// Why a category cannot be disclosed to a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No consent and no statute covers it.
    Missing,
    /// Never disclosed to this kind of recipient, whatever the consent says.
    Forbidden,
}

/// Every basis for disclosing `category` from an organisation of kind `sender` to `recipient`.
pub fn bases_for(
    sender: OrgKind,
    recipient: &Organisation,
    category: DataCategory,
    consents: &[Consent],
    today: Day,
) -> Result<Vec<LegalBasis>, Refusal> {
    if recipient.kind == OrgKind::HousingCompany && category.forbidden_for_housing_company() {
        return Err(Refusal::Forbidden);
    }
    let mut bases: Vec<LegalBasis> = consents
        .iter()
        .filter(|c| c.covers(&recipient.id, category, today))
        .map(|c| LegalBasis::Consent(c.id.clone()))
        .collect();
    if sender.is_social_benefit_body()
        && recipient.kind.is_social_benefit_body()
        && STATUTORY_CATEGORIES.contains(&category)
    {
        bases.push(LegalBasis::Statute(Statute::Sgb10Section69));
    }
    if bases.is_empty() { Err(Refusal::Missing) } else { Ok(bases) }
}

impl Disclosure {
    /// Readable on `today`: some basis still holds.
    pub fn readable(&self, consents: &[Consent], recipient: &OrgId, today: Day) -> bool {
        self.bases.iter().any(|b| b.in_force(consents, recipient, self.category, today))
    }

    /// The household members this disclosure covers for `recipient` on `today`: all of `household` when
    /// a statute is among its bases (a statute covers the household), otherwise the persons who gave a
    /// consent among its bases that is still in force (a consent covers those who gave it, DOMAIN.md
    /// rule 5), in the household's order.
    pub fn persons_covered<'a>(
        &self,
        consents: &[Consent],
        recipient: &OrgId,
        today: Day,
        household: &'a [super::case::Person],
    ) -> Vec<&'a super::case::Person> {
        if self.bases.iter().any(|b| matches!(b, LegalBasis::Statute(_))) {
            return household.iter().collect();
        }
        let givers: Vec<&super::ids::PersonId> = consents
            .iter()
            .filter(|c| self.uses(&c.id) && c.covers(recipient, self.category, today))
            .flat_map(|c| c.persons.iter())
            .collect();
        household.iter().filter(|p| givers.contains(&&p.id)).collect()
    }

    /// Whether this disclosure, as made, covered `person`: a statute covers everyone, a consent those
    /// who gave it (for the Art. 15 report, which tells a person what was disclosed about them).
    pub fn covered_when_made(&self, consents: &[Consent], person: &super::ids::PersonId) -> bool {
        self.bases.iter().any(|b| match b {
            LegalBasis::Statute(_) => true,
            LegalBasis::Consent(id) => consents.iter().any(|c| &c.id == id && c.persons.contains(person)),
        })
    }

    /// Relies on nothing but `consent` (so revoking it cuts this category off).
    pub fn relies_only_on(&self, consent: &ConsentId) -> bool {
        self.bases.iter().all(|b| matches!(b, LegalBasis::Consent(id) if id == consent))
    }

    /// Mentions `consent` among its bases.
    pub fn uses(&self, consent: &ConsentId) -> bool {
        self.bases.iter().any(|b| matches!(b, LegalBasis::Consent(id) if id == consent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::org::Delivery;
    use crate::domain::time::Instant;

    fn org(id: &str, kind: OrgKind) -> Organisation {
        Organisation {
            id: OrgId::parse(id).unwrap(),
            name: id.into(),
            kind,
            accepted: vec![],
            delivery: Delivery::Grpc,
            office_hours: String::new(),
            active: true,
            created_at: Instant::from_millis(0),
            updated_at: Instant::from_millis(0),
            links_valid_from: None,
            capacity: Vec::new(),
            capacity_updated_at: None,
        }
    }

    fn consent(to: &str, cats: &[DataCategory], art9: bool) -> Consent {
        Consent::for_test(to, cats, art9, "2026-06-30")
    }

    #[test]
    fn statute_between_social_benefit_bodies_only() {
        let today = Day::parse("2026-01-09").unwrap();
        let jc = org("jobcenter-x", OrgKind::Jobcenter);
        let sb = org("schuldner-x", OrgKind::DebtCounselling);
        assert!(bases_for(OrgKind::Fachstelle, &jc, DataCategory::Arrears, &[], today).is_ok());
        assert_eq!(bases_for(OrgKind::Fachstelle, &jc, DataCategory::Health, &[], today), Err(Refusal::Missing));
        assert_eq!(
            bases_for(OrgKind::Fachstelle, &jc, DataCategory::CounsellingNotes, &[], today),
            Err(Refusal::Missing)
        );
        assert_eq!(bases_for(OrgKind::Fachstelle, &sb, DataCategory::Arrears, &[], today), Err(Refusal::Missing));
    }

    #[test]
    fn consent_covers_private_recipients_and_health_needs_art9() {
        let today = Day::parse("2026-01-09").unwrap();
        let sb = org("schuldner-x", OrgKind::DebtCounselling);
        let c = consent("schuldner-x", &[DataCategory::Arrears, DataCategory::Health], false);
        assert!(bases_for(OrgKind::Fachstelle, &sb, DataCategory::Arrears, std::slice::from_ref(&c), today).is_ok());
        assert!(bases_for(OrgKind::Fachstelle, &sb, DataCategory::Health, std::slice::from_ref(&c), today).is_err());
        let c9 = consent("schuldner-x", &[DataCategory::Health], true);
        assert!(bases_for(OrgKind::Fachstelle, &sb, DataCategory::Health, &[c9], today).is_ok());
        let late = Day::parse("2026-07-01").unwrap();
        assert!(bases_for(OrgKind::Fachstelle, &sb, DataCategory::Arrears, &[c], late).is_err());
    }

    #[test]
    fn housing_company_never_gets_benefits_health_or_counselling() {
        let today = Day::parse("2026-01-09").unwrap();
        let wb = org("wohnbau-x", OrgKind::HousingCompany);
        let c = consent("wohnbau-x", DataCategory::ALL, true);
        for cat in [DataCategory::IncomeBenefits, DataCategory::Health, DataCategory::CounsellingNotes] {
            assert_eq!(
                bases_for(OrgKind::Fachstelle, &wb, cat, std::slice::from_ref(&c), today),
                Err(Refusal::Forbidden)
            );
        }
        assert!(bases_for(OrgKind::Fachstelle, &wb, DataCategory::Outcome, &[c], today).is_ok());
    }
}
