//! Cases: one household threatened with losing its home, owned by the Fachstelle.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::{Cents, OrgId, PersonId};
use super::time::{Day, Instant};
use super::vocab::{
    CaseOutcome, CaseStatus, Gender, HouseholdType, PersonRole, RescueMeans, RouteIn, Stadtbezirk, ThreatStage,
};

/// A household member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Id, stable across updates.
    pub id: PersonId,
    /// Role.
    pub role: PersonRole,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Gender.
    pub gender: Gender,
    /// Year of birth, if known (a notice rarely says).
    pub birth_year: Option<i32>,
}

/// Address of the flat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street.
    pub street: String,
    /// House number.
    pub house_number: String,
    /// Five-digit postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
}

/// Phone and email, both optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// Phone.
    pub phone: String,
    /// Email.
    pub email: String,
}

/// Monthly rent components. Only these count as rent for §543(2) Nr.3 BGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rent {
    /// Grundmiete.
    pub base: Cents,
    /// Nebenkostenvorauszahlung.
    pub service_charge_advance: Cents,
    /// Heizkostenvorauszahlung.
    pub heating_advance: Cents,
}

/// The tenancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenancy {
    /// The landlord, if it takes part in the hub.
    pub landlord: Option<OrgId>,
    /// The landlord's reference.
    pub reference: String,
    /// Start of the tenancy.
    pub start: Option<Day>,
    /// Rent.
    pub rent: Rent,
}

/// The household details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetails {
    /// Members; exactly one main tenant.
    pub persons: Vec<Person>,
    /// Address.
    pub address: Address,
    /// Contact.
    pub contact: Contact,
    /// District.
    pub stadtbezirk: Stadtbezirk,
    /// Tenancy.
    pub tenancy: Tenancy,
    /// Arrears.
    pub arrears: Cents,
    /// Route in.
    pub route_in: RouteIn,
    /// Schutzsperre: the address never leaves the hub.
    pub schutzsperre: bool,
    /// Household type.
    pub household_type: HouseholdType,
    /// INCOME_BENEFITS.
    pub income_benefits_note: String,
    /// HEALTH.
    pub health_note: String,
    /// COUNSELLING_NOTES.
    pub counselling_note: String,
}

impl CaseDetails {
    /// Cross-field rules, after each field parsed on its own.
    pub fn check(self) -> Result<Self, FieldError> {
        let main = self.persons.iter().filter(|p| p.role == PersonRole::MainTenant).count();
        if main != 1 {
            return Err(FieldError::new("persons", "exactly one person must have the role MAIN_TENANT"));
        }
        Ok(self)
    }

    /// Finds a household member by id.
    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.persons.iter().find(|p| &p.id == id)
    }
}

/// One threat stage entry (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEntry {
    /// Stage.
    pub stage: ThreatStage,
    /// Date reached.
    pub date: Day,
    /// End date, where the stage has one.
    pub end_date: Option<Day>,
    /// Source of the information.
    pub source: String,
    /// Recording organisation.
    pub recorded_by: OrgId,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// Outcome.
    pub outcome: CaseOutcome,
    /// Rescue means (only with WOHNUNG_ERHALTEN).
    pub rescue_means: Option<RescueMeans>,
    /// Note.
    pub note: String,
    /// When.
    pub at: Instant,
}

impl Closure {
    /// Checks that rescue means go with WOHNUNG_ERHALTEN and only with it.
    pub fn new(
        outcome: CaseOutcome,
        rescue_means: Option<RescueMeans>,
        note: String,
        at: Instant,
    ) -> Result<Self, FieldError> {
        match (outcome, rescue_means) {
            (CaseOutcome::WohnungErhalten, None) => {
                Err(FieldError::new("rescue_means", "is required with outcome WOHNUNG_ERHALTEN"))
            }
            (o, Some(_)) if o != CaseOutcome::WohnungErhalten => {
                Err(FieldError::new("rescue_means", "is only allowed with outcome WOHNUNG_ERHALTEN"))
            }
            _ => Ok(Self { outcome, rescue_means, note, at }),
        }
    }
}

/// A case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Id.
    pub id: super::ids::CaseId,
    /// Owning Fachstelle.
    pub owner: OrgId,
    /// Household details.
    pub details: CaseDetails,
    /// Stage history.
    pub stages: Vec<StageEntry>,
    /// Closure, once closed.
    pub closure: Option<Closure>,
    /// Opened.
    pub opened_at: Instant,
    /// Notices taken up into this case.
    #[serde(default)]
    pub notice_ids: Vec<super::ids::NoticeId>,
    /// Deadlines already announced as approaching (`KIND:date`), so each is announced once.
    #[serde(default)]
    pub announced_deadlines: Vec<String>,
    /// Set while processing is restricted (Art. 18 GDPR): the data is kept, nothing is disclosed.
    #[serde(default)]
    pub restriction: Option<Restriction>,
    /// The day the closed case is due for erasure (closing day + retention of its outcome).
    #[serde(default)]
    pub erase_on: Option<Day>,
}

/// A restriction of processing (Art. 18 GDPR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    /// Why, as the household asked.
    pub reason: String,
    /// Since when.
    pub since: Instant,
}

impl Case {
    /// A new open case owned by `owner`.
    pub fn open(
        owner: OrgId,
        details: CaseDetails,
        stages: Vec<StageEntry>,
        notice_ids: Vec<super::ids::NoticeId>,
        at: Instant,
    ) -> Self {
        Self {
            id: super::ids::CaseId::new(),
            owner,
            details,
            stages,
            closure: None,
            opened_at: at,
            notice_ids,
            announced_deadlines: vec![],
            restriction: None,
            erase_on: None,
        }
    }

    /// Open or closed.
    pub fn status(&self) -> CaseStatus {
        if self.closure.is_some() { CaseStatus::Closed } else { CaseStatus::Open }
    }

    /// The latest stage recorded.
    pub fn latest_stage(&self) -> Option<ThreatStage> {
        self.stages.last().map(|s| s.stage)
    }
}
