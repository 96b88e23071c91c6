//! Cases: one household threatened with losing its home, owned by the Fachstelle.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::{Cents, OrgId, PersonId};
use super::time::{Day, Instant};
use super::vocab::{
    CaseOutcome, CaseStatus, DataCategory, Gender, HouseholdType, PersonRole, RescueMeans, RouteIn, Stadtbezirk,
    ThreatStage,
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

impl Rent {
    /// The monthly total of the three parts, in cents: what counts as rent for the arrears rules.
    pub fn total_cents(&self) -> i64 {
        self.base.get() + self.service_charge_advance.get() + self.heating_advance.get()
    }
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
    /// Every rule of a household's details, checked once here whoever sends them (the use cases call it
    /// for OpenCase, UpdateCase and a take-up with details; an edge only converts): 1-20 persons with
    /// exactly one main tenant, names of 1-100 characters, a birth year from 1900 to `today`'s year; a
    /// street (1-200), house number (1-20), five-digit postal code and city (1-100); a phone of up to 50
    /// characters and a valid email or none; a printable tenancy reference of up to 100; notes of up to
    /// 4000 characters each. Texts come back trimmed; field paths are relative to the details.
    pub fn check(mut self, today: Day) -> Result<Self, FieldError> {
        use super::ids::text;
        if self.persons.is_empty() || self.persons.len() > 20 {
            return Err(FieldError::new("persons", "must list 1-20 persons").de("Bitte 1 bis 20 Personen angeben."));
        }
        let this_year = today.year();
        for (i, p) in self.persons.iter_mut().enumerate() {
            let at = |f: &str| format!("persons[{i}].{f}");
            p.given_name = text(&p.given_name, 1, 100).map_err(|e| e.within(&at("given_name")))?;
            p.family_name = text(&p.family_name, 1, 100).map_err(|e| e.within(&at("family_name")))?;
            if let Some(y) = p.birth_year
                && !(1900..=this_year).contains(&y)
            {
                return Err(FieldError::new(at("birth_year"), format!("must be between 1900 and {this_year}"))
                    .de(format!("Bitte ein Geburtsjahr zwischen 1900 und {this_year} angeben.")));
            }
        }
        let main = self.persons.iter().filter(|p| p.role == PersonRole::MainTenant).count();
        if main != 1 {
            return Err(FieldError::new("persons", "exactly one person must have the role MAIN_TENANT")
                .de("Genau eine Person muss Hauptmieter/in sein."));
        }
        let a = &mut self.address;
        a.street = text(&a.street, 1, 200).map_err(|e| e.within("address.street"))?;
        a.house_number = text(&a.house_number, 1, 20).map_err(|e| e.within("address.house_number"))?;
        a.postal_code = a.postal_code.trim().to_owned();
        if a.postal_code.len() != 5 || !a.postal_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new("address.postal_code", "must be five digits").de("Fünf Ziffern, bitte."));
        }
        a.city = text(&a.city, 1, 100).map_err(|e| e.within("address.city"))?;
        let c = &mut self.contact;
        c.phone = text(&c.phone, 0, 50).map_err(|e| e.within("contact.phone"))?;
        c.email = match c.email.trim() {
            "" => String::new(),
            e => super::org::EmailAddress::parse(e).map_err(|e| e.within("contact.email"))?.as_str().to_owned(),
        };
        self.tenancy.reference =
            tenancy_reference(&self.tenancy.reference, true, 100).map_err(|e| e.within("tenancy.tenancy_reference"))?;
        self.income_benefits_note =
            text(&self.income_benefits_note, 0, 4000).map_err(|e| e.within("income_benefits_note"))?;
        self.health_note = text(&self.health_note, 0, 4000).map_err(|e| e.within("health_note"))?;
        self.counselling_note = text(&self.counselling_note, 0, 4000).map_err(|e| e.within("counselling_note"))?;
        Ok(self)
    }

    /// Finds a household member by id.
    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.persons.iter().find(|p| &p.id == id)
    }

    /// The household as it replaces `prior`: person ids are the hub's. A person submitted without an
    /// id is new and gets one; a person with an id must be one of `prior`'s persons, each at most once.
    /// Consents and the Art. 15 report address persons by these ids, so a made-up id, another case's id
    /// or the same person twice is refused.
    pub fn carry_person_ids(mut self, prior: &CaseDetails) -> Result<Self, FieldError> {
        let mut seen: Vec<&PersonId> = Vec::new();
        for (i, p) in self.persons.iter_mut().enumerate() {
            let field = || format!("persons[{i}].person_id");
            if p.id.is_unassigned() {
                p.id = PersonId::new();
                continue;
            }
            let Some(known) = prior.persons.iter().find(|q| q.id == p.id) else {
                return Err(FieldError::new(
                    field(),
                    "is not a person of this case (ids are assigned by the hub: leave it empty for a new person)",
                ));
            };
            if seen.contains(&&known.id) {
                return Err(FieldError::new(field(), "names a person listed before: each person appears once"));
            }
            seen.push(&known.id);
        }
        Ok(self)
    }
}

/// What is still running when a case is to be closed: referrals not yet finished and deadlines not yet
/// passed. Closing with any of them needs an explicit confirmation, so a case is never closed with a
/// partner still working on it, or a Schonfrist running, by mistake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenItems {
    /// Open referrals of the case.
    pub referrals: Vec<super::ids::ReferralId>,
    /// Deadlines from today on, as `(kind, date)`.
    pub deadlines: Vec<(String, Day)>,
}

impl OpenItems {
    /// The open items of `case` with its `referrals` on `today`.
    pub fn of(case: &Case, referrals: &[super::referral::Referral], today: Day) -> Self {
        Self {
            referrals: referrals.iter().filter(|r| r.state.is_open()).map(|r| r.id.clone()).collect(),
            // A rent due date recurs every month and ends nothing: only the deadlines that decide the
            // tenancy (Schonfrist, court dates, notice periods) stand in the way of closing.
            deadlines: super::deadline::for_case(case)
                .into_iter()
                .filter(|d| {
                    d.date >= today && deadlines::DeadlineKind::parse(&d.kind) != Some(deadlines::DeadlineKind::RentDue)
                })
                .map(|d| (d.kind, d.date))
                .collect(),
        }
    }

    /// Nothing is running.
    pub fn is_empty(&self) -> bool {
        self.referrals.is_empty() && self.deadlines.is_empty()
    }

    /// Refuses the close unless `confirmed` or nothing is running, naming what is.
    pub fn confirmed(&self, confirmed: bool) -> Result<(), super::Refusal> {
        if confirmed || self.is_empty() {
            return Ok(());
        }
        let mut parts = Vec::new();
        if !self.referrals.is_empty() {
            let ids: Vec<String> = self.referrals.iter().map(ToString::to_string).collect();
            parts.push(format!("{} open referral(s) ({}) would be cancelled", ids.len(), ids.join(", ")));
        }
        if !self.deadlines.is_empty() {
            let d: Vec<String> = self.deadlines.iter().map(|(k, day)| format!("{k} on {day}")).collect();
            parts.push(format!("deadline(s) still running: {}", d.join(", ")));
        }
        let en = format!("{}; set confirm_open_items to close anyway", parts.join("; "));
        let de = "Es ist noch nicht alles erledigt (siehe „Noch nicht erledigt“). Wenn Sie den Fall trotzdem \
                  abschließen wollen, setzen Sie das Häkchen „Trotzdem abschließen“.";
        Err(super::Refusal::new(en, de))
    }
}

/// A tenancy reference (the landlord's contract number, a Mietvertragsnummer): trimmed, at most `max`
/// characters, at least one unless `optional`, and printable only (no line breaks or tabs: it is a key
/// the hub matches notices and cases by, and a column of the partners' exports).
pub fn tenancy_reference(s: &str, optional: bool, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() && !optional {
        return Err(FieldError::new("", "must not be empty").de("Bitte ausfüllen."));
    }
    if t.chars().count() > max {
        return Err(FieldError::new("", format!("must be at most {max} characters"))
            .de(format!("Höchstens {max} Zeichen, bitte kürzen.")));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new("", "must contain printable characters only (no line breaks or tabs)")
            .de("Nur druckbare Zeichen, ohne Zeilenumbruch."));
    }
    Ok(t.to_owned())
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
    /// Private: a closure is made only by [`Closure::new`].
    #[serde(skip)]
    made: Made,
}

impl Closure {
    /// Checks that rescue means go with WOHNUNG_ERHALTEN and only with it, and that the note is at most
    /// 4000 characters of text.
    pub fn new(
        outcome: CaseOutcome,
        rescue_means: Option<RescueMeans>,
        note: String,
        at: Instant,
    ) -> Result<Self, FieldError> {
        let note = super::ids::text(&note, 0, 4000).map_err(|e| e.within("note"))?;
        match (outcome, rescue_means) {
            (CaseOutcome::WohnungErhalten, None) => {
                Err(FieldError::new("rescue_means", "is required with outcome WOHNUNG_ERHALTEN")
                    .de("Bitte wählen Sie, womit die Wohnung erhalten wurde."))
            }
            (o, Some(_)) if o != CaseOutcome::WohnungErhalten => {
                Err(FieldError::new("rescue_means", "is only allowed with outcome WOHNUNG_ERHALTEN")
                    .de("Ein Mittel gibt es nur beim Ergebnis „Wohnung erhalten“."))
            }
            _ => Ok(Self { outcome, rescue_means, note, at, made: Made }),
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
    /// The caseworker responsible for the case.
    #[serde(default)]
    pub assignee: Option<super::casework::Assignee>,
    /// Tries to reach the household, in the order recorded.
    #[serde(default)]
    pub contacts: Vec<super::casework::ContactAttempt>,
    /// Checks after a kept tenancy whether it held.
    #[serde(default)]
    pub follow_ups: Vec<super::casework::FollowUp>,
    /// The closed case this household returns from (a repeat case), when one was found at opening.
    #[serde(default)]
    pub repeat_of: Option<super::ids::CaseId>,
    /// Private: a case is made only by [`Case::open`] (its fields stay readable).
    #[serde(skip)]
    made: Made,
}

/// The mark of a value made by its module's constructor; no other code can name or build it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Made;

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
        let mut details = details;
        // Person ids are the hub's: whatever an edge or a notice brought, a new case's persons get new ones.
        for p in &mut details.persons {
            p.id = PersonId::new();
        }
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
            assignee: None,
            contacts: vec![],
            follow_ups: vec![],
            repeat_of: None,
            made: Made,
        }
    }

    /// Open or closed.
    pub fn status(&self) -> CaseStatus {
        if self.closure.is_some() { CaseStatus::Closed } else { CaseStatus::Open }
    }

    /// The current stage: the one reached last by date (stages may be recorded out of order, e.g. a
    /// court notice typed in after a later reminder); of two on the same day, the one recorded later.
    pub fn latest_stage(&self) -> Option<ThreatStage> {
        self.stages.iter().enumerate().max_by_key(|(i, s)| (s.date, *i)).map(|(_, s)| s.stage)
    }
}

/// The data categories whose stored data differ between the `old` and the `new` household details
/// (what a correction under Art. 16 GDPR changed), in [`DataCategory::ALL`] order. The mapping is
/// the one the per-recipient views use ([`super::projection::view_for_recipient`]): the persons
/// are IDENTITY; the address, phone and email CONTACT; district and tenancy TENANCY; the arrears
/// ARREARS; the three notes INCOME_BENEFITS, HEALTH and COUNSELLING_NOTES. Person ids are handles,
/// not data about a person, and the order of the household carries no data: both are ignored.
/// Route in, household type and the Schutzsperre flag belong to no category, and OUTCOME and the
/// threat stages are not part of the details, so they never show up here.
pub fn changed_categories(old: &CaseDetails, new: &CaseDetails) -> Vec<DataCategory> {
    DataCategory::ALL
        .iter()
        .copied()
        .filter(|c| match c {
            DataCategory::Identity => household(old) != household(new),
            DataCategory::Contact => old.address != new.address || old.contact != new.contact,
            DataCategory::Tenancy => old.stadtbezirk != new.stadtbezirk || old.tenancy != new.tenancy,
            DataCategory::Arrears => old.arrears != new.arrears,
            DataCategory::IncomeBenefits => old.income_benefits_note != new.income_benefits_note,
            DataCategory::Health => old.health_note != new.health_note,
            DataCategory::CounsellingNotes => old.counselling_note != new.counselling_note,
            DataCategory::Outcome => false,
        })
        .collect()
}

/// Of [`changed_categories`], those whose earlier content a recipient may hold, so that it must be
/// told of the correction (Art. 19 GDPR). The same list, except that an address kept back by a
/// Schutzsperre never left the hub (DOMAIN.md rule 7): correcting only that address concerns no
/// recipient, and telling one would say something about a protected address.
pub fn changed_disclosed_categories(old: &CaseDetails, new: &CaseDetails) -> Vec<DataCategory> {
    let mut changed = changed_categories(old, new);
    if old.schutzsperre && old.contact == new.contact {
        changed.retain(|c| *c != DataCategory::Contact);
    }
    changed
}

/// The household's persons without their ids, in a fixed order.
fn household(d: &CaseDetails) -> Vec<(PersonRole, &str, &str, Gender, Option<i32>)> {
    let mut persons: Vec<_> = d
        .persons
        .iter()
        .map(|p| (p.role, p.given_name.as_str(), p.family_name.as_str(), p.gender, p.birth_year))
        .collect();
    persons.sort_unstable();
    persons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> CaseDetails {
        let person = |role, given: &str, year| Person {
            id: PersonId::new(),
            role,
            given_name: given.into(),
            family_name: "Beispiel".into(),
            gender: Gender::Female,
            birth_year: year,
        };
        CaseDetails {
            persons: vec![person(PersonRole::MainTenant, "Erika", Some(1985)), person(PersonRole::Child, "Mia", None)],
            address: Address {
                street: "Musterweg".into(),
                house_number: "1".into(),
                postal_code: "30159".into(),
                city: "Hannover".into(),
            },
            contact: Contact { phone: "+49 511 0000000".into(), email: String::new() },
            stadtbezirk: Stadtbezirk::Mitte,
            tenancy: Tenancy {
                landlord: None,
                reference: "SYNTH-1".into(),
                start: None,
                rent: Rent { base: Cents::parse(50_000).unwrap(), ..Rent::default() },
            },
            arrears: Cents::parse(156_000).unwrap(),
            route_in: RouteIn::HousingCompanyNotice,
            schutzsperre: false,
            household_type: HouseholdType::SingleParent,
            income_benefits_note: "SYNTH-INCOME".into(),
            health_note: "SYNTH-HEALTH".into(),
            counselling_note: "SYNTH-COUNSEL".into(),
        }
    }

    #[test]
    fn nothing_changed_names_no_category() {
        let d = details();
        assert!(changed_categories(&d, &d.clone()).is_empty());
        // New person ids and another order of the household are no change of data.
        let mut reordered = d.clone();
        reordered.persons.reverse();
        for p in &mut reordered.persons {
            p.id = PersonId::new();
        }
        assert!(changed_categories(&d, &reordered).is_empty());
    }

    #[test]
    fn each_field_maps_to_the_category_its_view_shows_it_under() {
        let d = details();
        let changed = |f: &dyn Fn(&mut CaseDetails)| {
            let mut n = d.clone();
            f(&mut n);
            changed_categories(&d, &n)
        };
        use DataCategory as C;
        assert_eq!(changed(&|n| n.persons[0].family_name = "Berichtigt".into()), [C::Identity]);
        assert_eq!(changed(&|n| n.persons[1].birth_year = Some(2015)), [C::Identity]);
        assert_eq!(changed(&|n| n.persons.truncate(1)), [C::Identity]);
        assert_eq!(changed(&|n| n.address.house_number = "1a".into()), [C::Contact]);
        assert_eq!(changed(&|n| n.contact.email = "e@example.org".into()), [C::Contact]);
        assert_eq!(changed(&|n| n.stadtbezirk = Stadtbezirk::VahrenwaldList), [C::Tenancy]);
        assert_eq!(changed(&|n| n.tenancy.reference = "SYNTH-2".into()), [C::Tenancy]);
        assert_eq!(changed(&|n| n.tenancy.rent.heating_advance = Cents::parse(5_000).unwrap()), [C::Tenancy]);
        assert_eq!(changed(&|n| n.arrears = Cents::parse(78_000).unwrap()), [C::Arrears]);
        assert_eq!(changed(&|n| n.income_benefits_note.push('!')), [C::IncomeBenefits]);
        assert_eq!(changed(&|n| n.health_note.clear()), [C::Health]);
        assert_eq!(changed(&|n| n.counselling_note.push('!')), [C::CounsellingNotes]);
        // No view shows these: no category.
        assert!(changed(&|n| n.route_in = RouteIn::CourtNotice).is_empty());
        assert!(changed(&|n| n.household_type = HouseholdType::Single).is_empty());
        assert!(changed(&|n| n.schutzsperre = true).is_empty());
        // Several at once, in category order.
        let all = changed(&|n| {
            n.counselling_note.clear();
            n.arrears = Cents::parse(1).unwrap();
            n.persons[0].given_name = "Erica".into();
        });
        assert_eq!(all, [C::Identity, C::Arrears, C::CounsellingNotes]);
    }

    #[test]
    fn a_blocked_address_was_never_disclosed_so_its_correction_concerns_no_recipient() {
        let mut old = details();
        old.schutzsperre = true;
        let mut new = old.clone();
        new.address.street = "Anderer Weg".into();
        assert_eq!(changed_categories(&old, &new), [DataCategory::Contact], "the stored data changed");
        assert!(changed_disclosed_categories(&old, &new).is_empty(), "but no recipient ever had it");
        // Phone and email are shown despite the Schutzsperre: their correction is told.
        new.contact.phone = "+49 511 1111111".into();
        assert_eq!(changed_disclosed_categories(&old, &new), [DataCategory::Contact]);
        // An address shown before the block was set is outdated at the recipients: told.
        let open = details();
        let mut moved = open.clone();
        moved.schutzsperre = true;
        moved.address.street = "Geschützter Ort".into();
        assert_eq!(changed_disclosed_categories(&open, &moved), [DataCategory::Contact]);
    }

    #[test]
    fn an_update_keeps_the_case_s_own_person_ids_and_assigns_new_ones() {
        let prior = details();
        let mut next = prior.clone();
        next.persons[1].id = PersonId::unassigned();
        let kept = next.clone().carry_person_ids(&prior).expect("own ids and a new person");
        assert_eq!(kept.persons[0].id, prior.persons[0].id);
        assert!(!kept.persons[1].id.is_unassigned() && kept.persons[1].id != prior.persons[1].id);

        let mut made_up = prior.clone();
        made_up.persons[1].id = PersonId::new();
        let e = made_up.carry_person_ids(&prior).expect_err("a made-up id (or another case's)");
        assert_eq!(e.field, "persons[1].person_id");

        let mut twice = prior.clone();
        twice.persons[1].id = prior.persons[0].id.clone();
        let e = twice.carry_person_ids(&prior).expect_err("the main tenant's id twice");
        assert_eq!(e.field, "persons[1].person_id");
    }

    #[test]
    fn a_new_case_s_persons_get_ids_from_the_hub() {
        let d = details();
        let given = d.persons[0].id.clone();
        let case = Case::open(OrgId::parse("fachstelle-x").unwrap(), d, vec![], vec![], Instant::from_millis(0));
        assert!(case.details.persons.iter().all(|p| p.id != given && !p.id.is_unassigned()));
    }

    #[test]
    fn the_current_stage_is_the_latest_by_date_not_by_recording() {
        let org = OrgId::parse("fachstelle-x").unwrap();
        let entry = |stage, day: &str| StageEntry {
            stage,
            date: Day::parse(day).unwrap(),
            end_date: None,
            source: String::new(),
            recorded_by: org.clone(),
        };
        let mut case = Case::open(org.clone(), details(), vec![], vec![], Instant::from_millis(0));
        assert_eq!(case.latest_stage(), None);
        case.stages.push(entry(ThreatStage::KuendigungFristlos, "2026-02-01"));
        case.stages.push(entry(ThreatStage::Mahnung, "2026-01-10"));
        assert_eq!(case.latest_stage(), Some(ThreatStage::KuendigungFristlos), "recorded later, reached earlier");
        case.stages.push(entry(ThreatStage::Rechtshaengig, "2026-02-01"));
        assert_eq!(case.latest_stage(), Some(ThreatStage::Rechtshaengig), "same day: the one recorded later");
    }

    #[test]
    fn tenancy_references_are_printable() {
        assert_eq!(tenancy_reference(" WN-4711-03 ", false, 64).unwrap(), "WN-4711-03");
        for bad in ["WN-1\n2", "WN\t1", "\u{7}"] {
            assert!(tenancy_reference(bad, false, 64).is_err(), "{bad:?}");
        }
        assert!(tenancy_reference("", false, 64).is_err());
        assert_eq!(tenancy_reference("", true, 64).unwrap(), "");
        assert!(tenancy_reference(&"x".repeat(65), false, 64).is_err());
    }
}
