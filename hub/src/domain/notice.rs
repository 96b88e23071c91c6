//! Notices: early arrears notices from housing companies and court notices (MiZi). A notice reaches
//! the Fachstelle before any case exists; triage by urgency turns it into a case.
//!
//! Without the tenant's consent an early notice has no clear statutory basis (LDI NRW 2025), so it
//! is kept pseudonymous: tenancy reference, district, amounts, stage and dates, nothing that names
//! the tenant. A court notice is received under §22 Abs. 9 SGB II / §36 Abs. 2 SGB XII.

use serde::{Deserialize, Serialize};

use super::case::Rent;
use super::ids::{CaseId, Cents, OrgId};
use super::time::{Day, Instant};
use super::vocab::{Stadtbezirk, ThreatStage};
use super::{FieldError, Refusal};

/// Id of a notice.
pub use super::ids::NoticeId;

/// Name and contact of a tenant as a notice carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TenantContact {
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Street.
    pub street: String,
    /// House number.
    pub house_number: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// Phone.
    pub phone: String,
    /// Email.
    pub email: String,
}

impl TenantContact {
    /// Whether anything at all is filled in.
    pub fn is_empty(&self) -> bool {
        *self == TenantContact::default()
    }

    /// "Given Family", as the API's triage lists show a tenant.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name).trim().to_owned()
    }

    /// "Family, Given", as every dashboard list and case title writes a person.
    pub fn list_name(&self) -> String {
        match (self.family_name.trim(), self.given_name.trim()) {
            (family, "") => family.to_owned(),
            ("", given) => given.to_owned(),
            (family, given) => format!("{family}, {given}"),
        }
    }

    /// Every rule of a tenant's contact data: names (up to 100), street (200), house number (20), city
    /// (100) and phone (50) as text, a postal code of five digits and a valid email where given. Texts
    /// come back trimmed; field paths are relative to the contact.
    pub fn check(mut self) -> Result<Self, FieldError> {
        use super::ids::text;
        self.family_name = text(&self.family_name, 0, 100).map_err(|e| e.within("family_name"))?;
        self.given_name = text(&self.given_name, 0, 100).map_err(|e| e.within("given_name"))?;
        self.street = text(&self.street, 0, 200).map_err(|e| e.within("street"))?;
        self.house_number = text(&self.house_number, 0, 20).map_err(|e| e.within("house_number"))?;
        self.city = text(&self.city, 0, 100).map_err(|e| e.within("city"))?;
        self.phone = text(&self.phone, 0, 50).map_err(|e| e.within("phone"))?;
        self.postal_code = self.postal_code.trim().to_owned();
        if !self.postal_code.is_empty()
            && (self.postal_code.len() != 5 || !self.postal_code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(FieldError::new("postal_code", "must be five digits").de("Fünf Ziffern, bitte."));
        }
        self.email = match self.email.trim() {
            "" => String::new(),
            e => super::org::EmailAddress::parse(e).map_err(|e| e.within("email"))?.as_str().to_owned(),
        };
        Ok(self)
    }
}

/// `d` unless it lies after `today`: a notice reports what happened, not what will.
fn not_future(d: Option<Day>, field: &str, today: Day) -> Result<Option<Day>, FieldError> {
    match d {
        Some(x) if x > today => {
            Err(FieldError::new(field, "must not be in the future").de("Darf nicht in der Zukunft liegen."))
        }
        other => Ok(other),
    }
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    /// Due date.
    pub due: Day,
    /// Amount due.
    pub due_amount: Cents,
    /// Amount paid.
    pub paid: Cents,
}

/// Stages an early notice may report.
pub const REPORTABLE_STAGES: &[ThreatStage] = &[
    ThreatStage::Rueckstand,
    ThreatStage::Mahnung,
    ThreatStage::KuendigungAngedroht,
    ThreatStage::KuendigungFristlos,
    ThreatStage::KuendigungOrdentlich,
    ThreatStage::KlageEingereicht,
    ThreatStage::Rechtshaengig,
    ThreatStage::Raeumungstermin,
];

/// An early arrears notice, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsData {
    /// The company's tenancy reference.
    pub tenancy_reference: String,
    /// District.
    pub stadtbezirk: Stadtbezirk,
    /// Rent.
    pub rent: Rent,
    /// Ledger.
    pub ledger: Vec<LedgerLine>,
    /// Total arrears.
    pub arrears_total: Cents,
    /// Oldest unpaid month, `YYYY-MM`.
    pub oldest_unpaid_month: Option<String>,
    /// Stage reached.
    pub stage: ThreatStage,
    /// Date the stage was reached.
    pub stage_date: Option<Day>,
    /// Termination served on.
    pub termination_date: Option<Day>,
    /// Claim served on.
    pub claim_served: Option<Day>,
    /// Eviction date.
    pub eviction_date: Option<Day>,
    /// Consent evidence, when the tenant consented.
    pub consent_evidence: Option<String>,
    /// Tenant's name and contact (only with consent).
    pub tenant: Option<TenantContact>,
    /// Remark (only with consent).
    pub remark: String,
}

impl ArrearsData {
    /// Every rule of an early notice, checked once here (the use cases call it for single and bulk
    /// submissions): a printable tenancy reference (1-64), evidence of consent (1-200) where given, a
    /// remark of up to 2000 characters, no reported date in the future, the tenant's contact data, and
    /// the cross-field rules: identifying data needs consent; totals follow from the ledger.
    pub fn check(mut self, today: Day) -> Result<Self, FieldError> {
        self.tenancy_reference = super::case::tenancy_reference(&self.tenancy_reference, false, 64)
            .map_err(|e| e.within("tenancy_reference"))?;
        self.consent_evidence = match self.consent_evidence.take() {
            Some(e) => Some(super::ids::text(&e, 1, 200).map_err(|e| e.within("consent_evidence"))?),
            None => None,
        };
        self.remark = super::ids::text(&self.remark, 0, 2000).map_err(|e| e.within("remark"))?;
        self.stage_date = not_future(self.stage_date, "stage_date", today)?;
        self.termination_date = not_future(self.termination_date, "termination_date", today)?;
        self.claim_served = not_future(self.claim_served, "claim_served_date", today)?;
        self.tenant = match self.tenant.take() {
            Some(t) => Some(t.check().map_err(|e| e.within("tenant"))?).filter(|t| !t.is_empty()),
            None => None,
        };
        if self.consent_evidence.is_none() {
            if self.tenant.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(FieldError::new(
                    "tenant",
                    "names or contact data are only allowed with the tenant's consent (tenant_consented and consent_evidence)",
                )
                .de("Namen und Kontaktdaten nur mit Einwilligung: bitte den Nachweis der Einwilligung angeben oder \
                     diese Felder leer lassen."));
            }
            if !self.remark.is_empty() {
                return Err(FieldError::new(
                    "remark",
                    "is only allowed with the tenant's consent (free text may identify the tenant)",
                )
                .de(
                    "Eine Bemerkung nur mit Einwilligung (sie kann die Person erkennbar machen): bitte den Nachweis \
                     angeben oder die Bemerkung leer lassen.",
                ));
            }
        }
        if !REPORTABLE_STAGES.contains(&self.stage) {
            return Err(FieldError::new("stage", "is not a stage a housing company reports")
                .de("Diese Stufe meldet ein Wohnungsunternehmen nicht."));
        }
        let owed: i64 = self.ledger.iter().map(|l| (l.due_amount.get() - l.paid.get()).max(0)).sum();
        if self.arrears_total.get() == 0 {
            if owed == 0 {
                return Err(FieldError::new(
                    "arrears_total_cents",
                    "must be positive, or a ledger with unpaid rent given",
                )
                .de("Bitte den Rückstand angeben (mehr als 0,00 €)."));
            }
            self.arrears_total = Cents::parse(owed).map_err(|e| e.within("arrears_total_cents"))?;
        }
        if self.oldest_unpaid_month.is_none() {
            self.oldest_unpaid_month = self
                .ledger
                .iter()
                .filter(|l| l.paid < l.due_amount)
                .map(|l| l.due)
                .min()
                .map(|d| d.to_string()[..7].to_owned());
        }
        Ok(self)
    }

    /// The date the reported stage was reached: given, or the date that defines it.
    pub fn effective_stage_date(&self, received: Day) -> Day {
        self.stage_date
            .or(match self.stage {
                ThreatStage::KuendigungFristlos | ThreatStage::KuendigungOrdentlich => self.termination_date,
                ThreatStage::Rechtshaengig => self.claim_served,
                _ => None,
            })
            .unwrap_or(received)
    }
}

/// A court notice, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourtData {
    /// Aktenzeichen.
    pub court_file_number: String,
    /// Claim received by the court.
    pub claim_received: Day,
    /// Claim served on the tenant; `None` makes the dependent deadlines provisional.
    pub claim_served: Option<Day>,
    /// Defendants.
    pub tenants: Vec<TenantContact>,
    /// Landlord as named.
    pub landlord_name: String,
    /// Landlord organisation.
    pub landlord_org: Option<OrgId>,
    /// Monthly rent.
    pub monthly_rent: Cents,
    /// Arrears claimed.
    pub arrears_claimed: Cents,
    /// Use compensation claimed.
    pub use_compensation: Cents,
    /// Hearing date.
    pub hearing: Option<Day>,
    /// District.
    pub stadtbezirk: Option<Stadtbezirk>,
    /// Tenancy reference.
    pub tenancy_reference: String,
}

impl CourtData {
    /// Every rule of a court notice, checked once here (the use case calls it; today the gRPC API feeds
    /// it, the dashboard's form will too): at least one defendant with a family name, each with valid
    /// contact data; a file number (Aktenzeichen, 1-64), a landlord name of up to 200 characters, claim
    /// dates not in the future and a printable tenancy reference. Field paths are relative to the notice.
    pub fn check(mut self, today: Day) -> Result<Self, FieldError> {
        if self.tenants.is_empty() {
            return Err(FieldError::new("tenants", "must name at least one tenant")
                .de("Bitte mindestens eine beklagte Person angeben."));
        }
        let mut tenants = Vec::with_capacity(self.tenants.len());
        for (i, t) in std::mem::take(&mut self.tenants).into_iter().enumerate() {
            let t = t.check().map_err(|e| e.within(&format!("tenants[{i}]")))?;
            if t.family_name.is_empty() {
                return Err(FieldError::new(format!("tenants[{i}].family_name"), "must not be empty")
                    .de("Bitte den Familiennamen angeben."));
            }
            tenants.push(t);
        }
        self.tenants = tenants;
        self.court_file_number =
            super::ids::text(&self.court_file_number, 1, 64).map_err(|e| e.within("court_file_number"))?;
        self.landlord_name = super::ids::text(&self.landlord_name, 0, 200).map_err(|e| e.within("landlord_name"))?;
        if self.claim_received > today {
            return Err(FieldError::new("claim_received_date", "must not be in the future")
                .de("Darf nicht in der Zukunft liegen."));
        }
        self.claim_served = not_future(self.claim_served, "claim_served_date", today)?;
        self.tenancy_reference = super::case::tenancy_reference(&self.tenancy_reference, true, 64)
            .map_err(|e| e.within("tenancy_reference"))?;
        Ok(self)
    }
}

/// What a notice reports. Not boxed: notices are handled one at a time, so the size difference
/// between the variants costs nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoticeData {
    /// From a housing company.
    Arrears(ArrearsData),
    /// From a court.
    Court(CourtData),
}

/// A stored notice with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Id.
    pub id: NoticeId,
    /// Reporting housing company; `None` for a court notice (recorded by the Fachstelle).
    pub reporter: Option<OrgId>,
    /// The Fachstelle that recorded a court notice.
    pub recorded_by: Option<OrgId>,
    /// Current content.
    pub data: NoticeData,
    /// Earlier versions, oldest first, with the time each was replaced.
    pub history: Vec<(Instant, NoticeData)>,
    /// The case it was taken up into.
    pub case_id: Option<CaseId>,
    /// When the housing company withdrew it because the arrears were paid; a new report of the same
    /// tenancy brings it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Instant>,
    /// First received.
    pub received_at: Instant,
    /// Last changed.
    pub updated_at: Instant,
}

impl Notice {
    /// The unique key: one notice per tenancy and reporter, one per court file.
    pub fn key(&self) -> String {
        key_of(self.reporter.as_ref(), &self.data)
    }

    /// Whether it carries names lawfully (consent, or a court notice under statute).
    pub fn identifies_tenant(&self) -> bool {
        match &self.data {
            NoticeData::Arrears(a) => a.consent_evidence.is_some() && a.tenant.is_some(),
            NoticeData::Court(_) => true,
        }
    }

    /// Current stage.
    pub fn stage(&self) -> ThreatStage {
        match &self.data {
            NoticeData::Arrears(a) => a.stage,
            NoticeData::Court(c) => {
                if c.claim_served.is_some() {
                    ThreatStage::Rechtshaengig
                } else {
                    ThreatStage::KlageEingereicht
                }
            }
        }
    }

    /// Arrears reported.
    pub fn arrears(&self) -> Cents {
        match &self.data {
            NoticeData::Arrears(a) => a.arrears_total,
            NoticeData::Court(c) => c.arrears_claimed,
        }
    }

    /// Replaces the content, keeping the old one in the history. Without consent in the new
    /// version, identifying data is also removed from the history.
    pub fn replace(&mut self, data: NoticeData, at: Instant) {
        self.withdrawn_at = None;
        let old = std::mem::replace(&mut self.data, data);
        self.history.push((self.updated_at, old));
        if let NoticeData::Arrears(a) = &self.data
            && a.consent_evidence.is_none()
        {
            for (_, h) in &mut self.history {
                if let NoticeData::Arrears(old) = h {
                    old.tenant = None;
                    old.remark.clear();
                    old.consent_evidence = None;
                }
            }
        }
        self.updated_at = at;
    }
}

impl Notice {
    /// Whether reporting `data` again changes nothing: the same content, and not withdrawn (a report
    /// of a withdrawn notice's tenancy brings it back, the arrears being due again).
    pub fn unchanged_by(&self, data: &NoticeData) -> bool {
        self.data == *data && self.withdrawn_at.is_none()
    }

    /// The housing company withdraws its early notice: the arrears were paid. A court notice is not
    /// the company's to withdraw, and a notice is withdrawn once.
    pub fn withdraw(&mut self, at: Instant) -> Result<(), Refusal> {
        if matches!(self.data, NoticeData::Court(_)) {
            return Err(Refusal::new(
                "a court notice cannot be withdrawn",
                "Eine Mitteilung des Gerichts kann nicht zurückgezogen werden.",
            ));
        }
        if self.withdrawn_at.is_some() {
            return Err(Refusal::new("the notice is already withdrawn", "Die Meldung ist bereits zurückgezogen."));
        }
        self.withdrawn_at = Some(at);
        self.updated_at = at;
        Ok(())
    }
}

/// The unique key of a notice's content from a reporter.
pub fn key_of(reporter: Option<&OrgId>, data: &NoticeData) -> String {
    match (reporter, data) {
        (Some(org), NoticeData::Arrears(a)) => format!("arrears:{org}:{}", a.tenancy_reference),
        (_, NoticeData::Arrears(a)) => format!("arrears::{}", a.tenancy_reference),
        (_, NoticeData::Court(c)) => format!("court:{}", c.court_file_number),
    }
}
