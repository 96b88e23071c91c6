//! Consents (§67b SGB X, Art. 6(1)(a), 7, 9(2)(a) GDPR): who may receive which data, until when.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::case::Case;
use super::ids::{Actor, CaseId, ConsentId, OrgId, PersonId};
use super::org::Organisation;
use super::time::{Day, Instant};
use super::vocab::{ConsentForm, ConsentStatus, DataCategory, OrgKind};

/// `items` is not empty and names nothing twice; errors name `field` (and the index of a repeat), with
/// `empty` and `empty_de` saying what is missing.
pub fn nonempty_unique<T: PartialEq>(items: &[T], field: &str, empty: &str, empty_de: &str) -> Result<(), FieldError> {
    if items.is_empty() {
        return Err(FieldError::new(field, empty).de(empty_de));
    }
    match items.iter().enumerate().find(|(i, x)| items[..*i].contains(x)) {
        Some((i, _)) => Err(FieldError::new(format!("{field}[{i}]"), "is listed twice").de("Ist doppelt angegeben.")),
        None => Ok(()),
    }
}

/// A consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Id.
    pub id: ConsentId,
    /// Case.
    pub case_id: CaseId,
    /// Persons who consented.
    pub persons: Vec<PersonId>,
    /// Recipients.
    pub recipients: Vec<OrgId>,
    /// Categories covered.
    pub categories: Vec<DataCategory>,
    /// Form.
    pub form: ConsentForm,
    /// Evidence reference.
    pub evidence: String,
    /// Last valid day.
    pub valid_until: Day,
    /// Separate explicit consent for Art. 9 data.
    pub art9_explicit: bool,
    /// Release from professional secrecy.
    pub secrecy_release: bool,
    /// Stored status.
    pub status: ConsentStatus,
    /// Recorded.
    pub recorded_at: Instant,
    /// Revoked, expired, ended or replaced.
    pub ended_at: Option<Instant>,
    /// The consent this one replaces: an amendment or renewal is a new version linked to the old, so
    /// what the household agreed to stays readable version by version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ConsentId>,
    /// Who recorded it (the Fachstelle and its caseworker), so the case's history can say so; none on
    /// consents recorded before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<Actor>,
    /// Who ended it: the caseworker who recorded the revocation, the new version or the closure; the
    /// hub for an expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<Actor>,
    /// Private: a consent is made only by [`Consent::record`] (its fields stay readable).
    #[serde(skip)]
    made: Made,
}

/// The longest a consent may run: twelve months (DOMAIN.md rule 3).
pub fn latest_valid_until(recorded: Day) -> Day {
    let d = recorded.date();
    let next_year = d.year() + 1;
    let date = ::time::Date::from_calendar_date(next_year, d.month(), d.day())
        .or_else(|_| ::time::Date::from_calendar_date(next_year, d.month(), d.day() - 1))
        .unwrap_or(d);
    Day::from_date(date)
}

/// Checks a requested validity window.
pub fn check_valid_until(valid_until: Day, today: Day) -> Result<Day, FieldError> {
    if valid_until < today {
        return Err(
            FieldError::new("valid_until", "must not be in the past").de("Darf nicht in der Vergangenheit liegen.")
        );
    }
    let max = latest_valid_until(today);
    if valid_until > max {
        return Err(FieldError::new("valid_until", format!("must be at most 12 months ahead (latest {max})"))
            .de(format!("Höchstens zwölf Monate im Voraus, also spätestens am {}.", crate::labels::day(max))));
    }
    Ok(valid_until)
}

/// The mark of a value made by its module's constructor; no other code can name or build it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Made;

/// A consent as an edge submits it, before any rule is checked.
#[derive(Debug, Clone)]
pub struct ConsentDraft {
    /// Persons who consent (ids of the case's household).
    pub persons: Vec<PersonId>,
    /// Recipients.
    pub recipients: Vec<OrgId>,
    /// Categories.
    pub categories: Vec<DataCategory>,
    /// Form.
    pub form: ConsentForm,
    /// Evidence reference (where the signed slip or the electronic record is).
    pub evidence: String,
    /// Last valid day.
    pub valid_until: Day,
    /// Explicit Art. 9 consent.
    pub art9_explicit: bool,
    /// Release from professional secrecy.
    pub secrecy_release: bool,
}

/// The field naming the consent a new version replaces.
pub const REPLACES: &str = "replaces_consent_id";

/// Longest evidence reference.
const MAX_EVIDENCE: usize = 200;

impl Consent {
    /// A consent of `case` to record at `now`, with every rule of DOMAIN.md 2-3 checked here for every edge
    /// (gRPC, dashboard): at least one person of the case, one recipient and one category, each once;
    /// evidence that says something; a validity within the next 12 months; HEALTH only with the separate
    /// explicit consent; the release from professional secrecy where a recipient is bound by it (§203 StGB:
    /// its reports back to the Fachstelle depend on it); and no category a recipient may never receive (a
    /// housing company never gets income, health or counselling data), refused now rather than when a
    /// referral is made.
    /// `recipients` are the registered organisations the draft names, in its order.
    pub fn record(
        case: &Case,
        recipients: &[Organisation],
        draft: ConsentDraft,
        now: Instant,
    ) -> Result<Consent, FieldError> {
        nonempty_unique(
            &draft.persons,
            "person_ids",
            "must name at least one person who consents",
            "Bitte wählen Sie, wer eingewilligt hat.",
        )?;
        for (i, p) in draft.persons.iter().enumerate() {
            if case.details.person(p).is_none() {
                return Err(FieldError::new(format!("person_ids[{i}]"), "is not a person of this case")
                    .de("Diese Person gehört nicht zu diesem Haushalt."));
            }
        }
        nonempty_unique(
            &draft.recipients,
            "recipient_organisation_ids",
            "must name at least one recipient",
            "Bitte wählen Sie mindestens einen Empfänger.",
        )?;
        nonempty_unique(
            &draft.categories,
            "categories",
            "must name at least one data category",
            "Bitte wählen Sie mindestens eine Datenkategorie.",
        )?;
        let evidence =
            super::ids::text(&draft.evidence, 1, MAX_EVIDENCE).map_err(|e| e.within("evidence_reference"))?;
        if draft.categories.contains(&DataCategory::Health) && !draft.art9_explicit {
            return Err(FieldError::new(
                "art9_explicit",
                "must be true when HEALTH is covered: health data needs a separate explicit consent (Art. 9(2)(a) GDPR)",
            )
            .de("Gesundheitsdaten brauchen eine gesonderte ausdrückliche Einwilligung (Art. 9 Abs. 2 lit. a DSGVO)."));
        }
        if !draft.secrecy_release
            && let Some((i, org)) = recipients.iter().enumerate().find(|(_, o)| o.kind.bound_by_professional_secrecy())
        {
            return Err(FieldError::new(
                "secrecy_release",
                format!(
                    "must be true: recipient_organisation_ids[{i}] {} is bound by professional secrecy (§203 StGB), \
                     and what it reports back to the Fachstelle needs the household's release from it",
                    org.id
                ),
            )
            .de(format!(
                "{} unterliegt der Schweigepflicht (§ 203 StGB); für ihre Rückmeldungen an die Fachstelle braucht \
                 es die Schweigepflichtentbindung.",
                org.name
            )));
        }
        for (i, org) in recipients.iter().enumerate() {
            if org.kind == OrgKind::HousingCompany
                && let Some(c) = draft.categories.iter().find(|c| c.forbidden_for_housing_company())
            {
                return Err(FieldError::new(
                    "categories",
                    format!(
                        "{c} may never be disclosed to a housing company (recipient_organisation_ids[{i}] {}), \
                         whatever the consent says",
                        org.id
                    ),
                )
                .de(format!(
                    "„{}“ darf nie an ein Wohnungsunternehmen ({}) gehen, auch nicht mit Einwilligung.",
                    crate::labels::data_category(*c),
                    org.name
                )));
            }
        }
        let valid_until = check_valid_until(draft.valid_until, now.day())?;
        Ok(Consent {
            id: ConsentId::new(),
            case_id: case.id.clone(),
            persons: draft.persons,
            recipients: draft.recipients,
            categories: draft.categories,
            form: draft.form,
            evidence,
            valid_until,
            art9_explicit: draft.art9_explicit,
            secrecy_release: draft.secrecy_release,
            status: ConsentStatus::Active,
            recorded_at: now,
            ended_at: None,
            replaces: None,
            recorded_by: None,
            ended_by: None,
            made: Made,
        })
    }

    /// A new version of `old` (amended or renewed), checked like any consent by [`Consent::record`]:
    /// only a consent of the same case that is still in force can be replaced; an ended one stays ended
    /// and a new consent is recorded instead. The old version ends as superseded ([`Consent::end`]).
    pub fn amend(
        old: &Consent,
        case: &Case,
        recipients: &[Organisation],
        draft: ConsentDraft,
        now: Instant,
    ) -> Result<Consent, FieldError> {
        if old.case_id != case.id {
            return Err(FieldError::new(REPLACES, "is not a consent of this case")
                .de("Diese Einwilligung gehört nicht zu diesem Fall."));
        }
        if !old.in_force(now.day()) {
            return Err(FieldError::new(REPLACES, "is no longer in force; record a new consent instead")
                .de("Diese Einwilligung ist nicht mehr wirksam; bitte erfassen Sie eine neue Einwilligung."));
        }
        let mut consent = Consent::record(case, recipients, draft, now)?;
        consent.replaces = Some(old.id.clone());
        Ok(consent)
    }

    /// Ends this consent (revoked, expired, ended with its case or replaced) at `now`, by `by`.
    pub fn end(&mut self, status: ConsentStatus, now: Instant, by: Actor) {
        self.status = status;
        self.ended_at = Some(now);
        self.ended_by = Some(by);
    }

    /// Of `categories` that `recipient` received under this consent, those `successor` (its new
    /// version) no longer lets it have: what the recipient must delete.
    pub fn dropped_by(
        &self,
        successor: &Consent,
        recipient: &OrgId,
        categories: &[DataCategory],
        today: Day,
    ) -> Vec<DataCategory> {
        categories.iter().copied().filter(|c| !successor.covers(recipient, *c, today)).collect()
    }

    /// A consent for the domain's own unit tests, which need one without a case.
    #[cfg(test)]
    pub(crate) fn for_test(recipient: &str, categories: &[DataCategory], art9: bool, valid_until: &str) -> Self {
        Consent {
            id: ConsentId::new(),
            case_id: CaseId::new(),
            persons: vec![PersonId::new()],
            recipients: vec![OrgId::parse(recipient).expect("org id")],
            categories: categories.to_vec(),
            form: ConsentForm::Written,
            evidence: "E-1".into(),
            valid_until: Day::parse(valid_until).expect("day"),
            art9_explicit: art9,
            secrecy_release: false,
            status: ConsentStatus::Active,
            recorded_at: Instant::from_millis(0),
            ended_at: None,
            replaces: None,
            recorded_by: None,
            ended_by: None,
            made: Made,
        }
    }

    /// In force on `today`: active and not past its last valid day.
    pub fn in_force(&self, today: Day) -> bool {
        self.status == ConsentStatus::Active && today <= self.valid_until
    }

    /// Status as a reader sees it on `today` (an expired consent the sweep has not processed yet
    /// already reads as expired).
    pub fn effective_status(&self, today: Day) -> ConsentStatus {
        if self.status == ConsentStatus::Active && today > self.valid_until {
            ConsentStatus::Expired
        } else {
            self.status
        }
    }

    /// Whether this consent, on `today`, lets `recipient` receive `category`. HEALTH needs the
    /// separate explicit consent (Art. 9(2)(a) GDPR).
    pub fn covers(&self, recipient: &OrgId, category: DataCategory, today: Day) -> bool {
        self.in_force(today)
            && self.recipients.contains(recipient)
            && self.categories.contains(&category)
            && (category != DataCategory::Health || self.art9_explicit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_and_leap_day() {
        let d = Day::parse("2028-02-29").unwrap();
        assert_eq!(latest_valid_until(d).to_string(), "2029-02-28");
        let d = Day::parse("2026-01-09").unwrap();
        assert_eq!(latest_valid_until(d).to_string(), "2027-01-09");
        assert!(check_valid_until(Day::parse("2027-01-10").unwrap(), d).is_err());
        assert!(check_valid_until(Day::parse("2026-01-08").unwrap(), d).is_err());
        assert!(check_valid_until(d, d).is_ok());
    }
}
