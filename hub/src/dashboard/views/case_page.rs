//! The case page: household, address (unless a Schutzsperre blocks it), deadlines, consents,
//! referrals, the timeline of everything that happened, and the forms of what the Fachstelle may
//! do next (refer, record consent, close). The markup lives in the templates under
//! `templates/dashboard/case/`, one per section or form, so the page and its print view share the
//! sections and askama escapes whatever a person or partner typed; this module computes what they
//! show: which forms a case still offers, which values a form sent back keeps, and where its message
//! goes.

use std::fmt::Write as _;

use super::super::form::FormData;
use super::{Choice, Ctx, choices, labels};
use crate::dashboard::views as v;
use crate::domain::casework::ContactKind;
use crate::domain::consent::Consent;
use crate::domain::deadline::CaseDeadline;
use crate::domain::document::{DocumentMeta, DocumentType};
use crate::domain::referral::Reason;
use crate::domain::time::Day;
use crate::domain::vocab::{
    CaseOutcome, ConsentForm, ConsentStatus, DataCategory, ReferralCategory, RescueMeans, ThreatStage,
};
use crate::service::dashboard::{CasePageModel, CaseReferral, TimelineEntry, TimelineEvent};

/// What the address paragraph says under a Schutzsperre (§51 BMG).
pub const ADDRESS_BLOCKED: &str = "Auskunftssperre (Schutzsperre): Die Adresse sieht nur die Fachstelle. Sie geht an \
                                   keinen Partner, auch nicht mit Einwilligung, und steht in keiner Liste.";

/// The page title as plain text (the layout escapes it): "Fall " and the main tenant's name, or
/// the case id while processing is restricted.
pub fn title(m: &CasePageModel) -> String {
    let label = crate::service::dashboard::CaseLabel::of(&m.case);
    match label.name {
        Some(n) => format!("Fall {n}"),
        None => format!("Fall {}", m.case.id),
    }
}

/// The body of the case page.
pub fn render(m: &CasePageModel, ctx: &Ctx) -> String {
    render_with(m, ctx, None)
}

/// The body of the case page after an action succeeded: the confirmation of what was saved at the
/// top of the section the action belongs to (the redirect's `#section` scrolls there).
pub fn render_done(m: &CasePageModel, ctx: &Ctx, done: Option<&str>) -> String {
    let done = done.and_then(|key| Some((section_of(key), done_message(key)?)));
    super::render_template(&Page { view: View { m, ctx, echo: None, print: false, done } })
}

/// The section of the case page an action belongs to, by its key.
pub fn section_of(key: &str) -> &'static str {
    match key {
        "ueberweisen" => "vermittlungen",
        "einwilligung" | "widerruf" => "einwilligungen",
        "stufe" | "gericht" => "fristen",
        "zustaendig" | "kontakt" | "wiedervorlage" => "kontakt",
        "dokument" => "dokumente",
        _ => "haushalt",
    }
}

/// The confirmation of a finished action, by the key its redirect names (`?erledigt=…`).
fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "meldung" => "Die Meldung ist diesem Fall zugeordnet.",
        "gericht" => {
            "Die Mitteilung des Gerichts ist gespeichert und diesem Fall zugeordnet; die Fristen sind neu berechnet."
        }
        "stufe" => "Die Stufe ist eingetragen; die Fristen sind neu berechnet.",
        "zustaendig" => "Die Zuständigkeit ist gespeichert.",
        "dokument" => "Das Dokument ist gespeichert.",
        "kontakt" => "Der Kontaktversuch ist gespeichert.",
        "wiedervorlage" => "Das Ergebnis der Wiedervorlage ist gespeichert.",
        "einwilligung" => "Die Einwilligung ist gespeichert.",
        "ueberweisen" => "Die Vermittlung ist gesendet; der Partner wird benachrichtigt.",
        "abschliessen" => "Der Fall ist abgeschlossen.",
        "widerruf" => "Der Widerruf ist gespeichert; betroffene Partner werden benachrichtigt.",
        _ => return None,
    })
}

/// The body of the case page, with a form sent back by a rule (`echo`): a summary at the top, the
/// caseworker's input kept, the message at its field.
pub fn render_with(m: &CasePageModel, ctx: &Ctx, echo: Option<&FormEcho>) -> String {
    super::render_template(&Page { view: View { m, ctx, echo, print: false, done: None } })
}

/// The case for the paper file: everything the page shows, without forms, headed with the day of
/// printing, who printed it and the case's number.
pub fn render_print(m: &CasePageModel, ctx: &Ctx) -> String {
    super::render_template(&Print { view: View { m, ctx, echo: None, print: true, done: None } })
}

/// The case page (`templates/dashboard/case/page.html`).
#[derive(askama::Template)]
#[template(path = "dashboard/case/page.html")]
struct Page<'a> {
    view: View<'a>,
}

/// The print view (`templates/dashboard/case/print.html`): the same sections, without forms.
#[derive(askama::Template)]
#[template(path = "dashboard/case/print.html")]
struct Print<'a> {
    view: View<'a>,
}

/// What the section templates see, on the page and in the print view alike.
struct View<'a> {
    m: &'a CasePageModel,
    ctx: &'a Ctx,
    /// The form a rule sent back, if one did.
    echo: Option<&'a FormEcho>,
    /// The print view: no forms, due follow-ups say so instead of offering buttons.
    print: bool,
    /// The confirmation of a finished action and the section it belongs to.
    done: Option<(&'static str, &'static str)>,
}

/// A request to a recipient, with the recipient's name.
struct DataRequestRow {
    recipient: String,
    row: super::inbox::RequestRow,
}

/// A deadline in words; `notes` is plain text the template escapes.
struct DeadlineRow<'a> {
    date: Day,
    past: bool,
    kind: String,
    source: &'a str,
    notes: String,
}

/// A consent in words.
struct ConsentRow<'a> {
    c: &'a Consent,
    /// When the consent it replaced was recorded, if it is a new version.
    replaces: Option<String>,
    recipients: String,
    categories: String,
    status: &'static str,
    /// Whether it may still be changed or extended.
    renew: bool,
}

/// The error summary above the page.
struct Summary<'a> {
    what: &'static str,
    target: String,
    label: Option<&'static str>,
    message: &'a str,
}

impl<'a> View<'a> {
    /// Whether this rendering offers forms: not in print, not on a closed case.
    fn forms(&self) -> bool {
        !self.print && self.m.case.closure.is_none()
    }

    /// The confirmation when it belongs at the top of `section`.
    fn done_in(&self, section: &str) -> Option<&'static str> {
        self.done.filter(|(s, _)| *s == section).map(|(_, text)| text)
    }

    /// The state of `form` while it is rendered: the echo when it is the one sent back.
    fn state(&self, form: &'static str) -> FormState<'a> {
        FormState { form, echo: self.echo.filter(|e| e.form == form) }
    }

    /// The summary above the page when a form came back refused (a form filled in advance, a
    /// consent to renew, has no message and no summary).
    fn summary(&self) -> Option<Summary<'a>> {
        let echo = self.echo.filter(|e| !e.message.is_empty())?;
        let what = match echo.form {
            "ueberweisen" => "Die Vermittlung",
            "einwilligung" => "Die Einwilligung",
            "widerruf" => "Der Widerruf",
            "stufe" => "Die Stufe",
            "zustaendig" => "Die Zuständigkeit",
            "dokument" => "Das Dokument",
            "kontakt" => "Der Kontaktversuch",
            "wiedervorlage" => "Die Wiedervorlage",
            _ => "Der Abschluss",
        };
        let target = match echo.field {
            Some(f) => format!("{}-{f}", echo.form),
            None => echo.form.to_owned(),
        };
        Some(Summary { what, target, label: echo.label, message: &echo.message })
    }

    /// The next deadline from today on.
    fn next_deadline(&self) -> Option<&'a CaseDeadline> {
        self.m.deadlines.iter().find(|d| d.date >= self.ctx.today)
    }

    /// How many referrals wait past their reply date.
    fn overdue(&self) -> usize {
        self.m.referrals.iter().filter(|r| r.overdue).count()
    }

    /// The overdue referrals in words.
    fn overdue_text(&self) -> String {
        super::count(self.overdue(), "Vermittlung wartet auf Antwort", "Vermittlungen warten auf Antwort")
    }

    /// The day the household was first reached.
    fn first_contact(&self) -> Option<Day> {
        crate::domain::casework::first_contact(&self.m.case.contacts)
    }

    /// The case's facts besides persons and address, as label and plain text.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let c = &self.m.case;
        let d = &c.details;
        let mut out = Vec::new();
        if !d.contact.phone.is_empty() {
            out.push(("Telefon", d.contact.phone.clone()));
        }
        if !d.contact.email.is_empty() {
            out.push(("E-Mail", d.contact.email.clone()));
        }
        out.push(("Stadtbezirk", labels::district(d.stadtbezirk).to_owned()));
        out.push(("Haushalt", labels::household(d.household_type).to_owned()));
        out.push(("Zugang", labels::route_in(d.route_in).to_owned()));
        if let Some(l) = &d.tenancy.landlord {
            out.push(("Vermieter", self.m.org_name(l).to_owned()));
        }
        if !d.tenancy.reference.is_empty() {
            out.push(("Mietvertragsnummer", d.tenancy.reference.clone()));
        }
        let rent = d.tenancy.rent.total_cents();
        if rent > 0 {
            out.push(("Miete (warm)", super::euros(rent)));
        }
        out.push(("Mietrückstand", super::euros(d.arrears.get())));
        if let Some(s) = c.latest_stage() {
            out.push(("Aktuelle Stufe", labels::stage(s).to_owned()));
        }
        out
    }

    /// The deadlines with their notes.
    fn deadlines(&self) -> Vec<DeadlineRow<'a>> {
        let today = self.ctx.today;
        self.m
            .deadlines
            .iter()
            .map(|d| {
                let mut notes: Vec<String> = Vec::new();
                if d.date < today {
                    notes.push("Abgelaufen.".into());
                }
                if d.provisional {
                    notes.push("Vorläufig (Datum nicht bestätigt).".into());
                }
                notes.extend(d.warnings.iter().map(|w| w.de()));
                DeadlineRow {
                    date: d.date,
                    past: d.date < today,
                    kind: labels::deadline_kind(&d.kind).clone(),
                    source: &d.source,
                    notes: notes.join(" "),
                }
            })
            .collect()
    }

    /// The consents in words.
    fn consents(&self) -> Vec<ConsentRow<'a>> {
        let m = self.m;
        m.consents
            .iter()
            .map(|c| {
                let recipients: Vec<&str> = c.recipients.iter().map(|o| m.org_name(o)).collect();
                let mut cats: Vec<&str> = c.categories.iter().map(|d| labels::data_category(*d)).collect();
                if c.categories.iter().any(|d| d.is_special()) {
                    cats.push(crate::labels::explicit_consent(c.art9_explicit));
                }
                if c.secrecy_release {
                    cats.push("mit Schweigepflichtentbindung");
                }
                let status = c.effective_status(self.ctx.today);
                ConsentRow {
                    c,
                    replaces: c
                        .replaces
                        .as_ref()
                        .and_then(|old| m.consents.iter().find(|o| &o.id == old))
                        .map(|old| super::instant(old.recorded_at)),
                    recipients: recipients.join(", "),
                    categories: cats.join(", "),
                    status: labels::consent_status(status),
                    renew: status == ConsentStatus::Active && m.case.closure.is_none(),
                }
            })
            .collect()
    }

    /// The consents in force, which the revocation form offers.
    fn active_consents(&self) -> Vec<&'a Consent> {
        self.m.consents.iter().filter(|c| c.effective_status(self.ctx.today) == ConsentStatus::Active).collect()
    }

    /// A referral's result in words (plain text) and the day it takes effect; none while it runs.
    fn result(&self, cr: &CaseReferral) -> Option<(String, Option<Day>)> {
        let c = cr.referral.completion.as_ref()?;
        let mut s = labels::result(c.result).to_owned();
        if let Some(a) = c.amount {
            let _ = write!(s, ", {a}");
        }
        Some((s, c.effective_date))
    }

    /// The last event of a referral (HTML, escaped by the shared helper).
    fn last_event(&self, cr: &CaseReferral) -> String {
        super::handoffs::last_event(cr.last_event.as_ref())
    }

    /// A document's type in words.
    /// The requests to recipients (Art. 19 GDPR): who, what, why, when told, and whether confirmed.
    fn data_requests(&self) -> Vec<DataRequestRow> {
        self.m
            .data_requests
            .iter()
            .map(|r| DataRequestRow {
                recipient: self.m.org_name(&r.recipient).to_owned(),
                row: super::inbox::RequestRow::of(r, self.m.today),
            })
            .collect()
    }

    fn document_kind(&self, d: &DocumentMeta) -> &'static str {
        match d.kind {
            DocumentType::Pdf => "PDF",
            DocumentType::Jpeg => "JPEG-Bild",
            DocumentType::Png => "PNG-Bild",
        }
    }

    /// A document's size in whole kilobytes, rounded up.
    fn kilobytes(&self, d: &DocumentMeta) -> usize {
        d.size.div_ceil(1024)
    }

    /// The colleagues the case can be given to, the one responsible chosen.
    fn colleagues(&self) -> Vec<Choice> {
        let current = self.m.case.assignee.as_ref().map(|a| a.username.as_str());
        self.m
            .colleagues
            .iter()
            .map(|c| Choice {
                value: c.username.as_str().to_owned(),
                label: c.name.clone(),
                selected: current == Some(c.username.as_str()),
            })
            .collect()
    }

    /// The earliest day a contact attempt may be dated.
    fn earliest_contact(&self) -> Day {
        self.m.case.opened_at.day().plus_days(-crate::domain::casework::EARLIEST_CONTACT_DAYS)
    }

    /// The latest reply date a referral may ask for.
    fn latest_reply(&self) -> Day {
        self.ctx.today.plus_days(crate::domain::referral::MAX_REPLY_DAYS)
    }

    /// The latest day a consent recorded today may run to.
    fn latest_consent(&self) -> Day {
        crate::domain::consent::latest_valid_until(self.ctx.today)
    }

    /// The earliest day a stage may be dated: ten years before the case opened.
    fn earliest_stage(&self) -> Day {
        self.m.case.opened_at.day().plus_days(-3650)
    }

    /// The latest end a stage may have: ten years from today.
    fn latest_stage_end(&self) -> Day {
        self.ctx.today.plus_days(3650)
    }

    /// The partners to refer to, the one sent back chosen.
    /// The partners that said they are not open in some category: name, category and capacity, in
    /// words; and whether any of them is closed (the form then offers "Trotzdem senden").
    fn limited_partners(&self) -> (Vec<(String, &'static str, String)>, bool) {
        let mut closed = false;
        let lines = self
            .m
            .partners
            .iter()
            .flat_map(|p| p.capacity.iter().map(move |c| (p, c)))
            .map(|(p, c)| {
                closed |= c.capacity == crate::domain::org::Capacity::Closed;
                (p.name.clone(), labels::category(c.category), labels::capacity(c.capacity))
            })
            .collect();
        (lines, closed)
    }

    fn recipients(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.m
            .partners
            .iter()
            .map(|p| Choice {
                value: p.id.as_str().to_owned(),
                label: format!("{} ({})", p.name, labels::org_kind(p.kind)),
                selected: f.selected("empfaenger", p.id.as_str()),
            })
            .collect()
    }

    /// The consents in force to revoke, the one sent back chosen.
    fn revocable(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.active_consents()
            .into_iter()
            .map(|c| {
                let recipients: Vec<&str> = c.recipients.iter().map(|o| self.m.org_name(o)).collect();
                Choice {
                    value: c.id.as_str().to_owned(),
                    label: format!(
                        "{} – erfasst am {}, gültig bis {}",
                        recipients.join(", "),
                        super::day(c.recorded_at.day()),
                        super::day(c.valid_until)
                    ),
                    selected: f.selected("einwilligung", c.id.as_str()),
                }
            })
            .collect()
    }

    /// The consent a renewal replaces, when the consent form was filled in from it.
    fn replaces(&self, f: &FormState<'_>) -> Option<&'a Consent> {
        let id = f.value("ersetzt")?;
        self.m.consents.iter().find(|c| c.id.as_str() == id)
    }

    /// The open referrals, above the close button, in words.
    fn open_referrals(&self) -> Option<String> {
        match self.m.open_items.referrals.len() {
            0 => None,
            1 => Some(
                "1 offene Vermittlung – sie wird beim Abschluss storniert und der Partner benachrichtigt".to_owned(),
            ),
            n => Some(format!(
                "{n} offene Vermittlungen – sie werden beim Abschluss storniert und die Partner benachrichtigt"
            )),
        }
    }

    /// A vocabulary's options for `name` in form `f`, the value sent back chosen.
    fn options<T: Copy + PartialEq>(
        &self,
        f: &FormState<'_>,
        name: &str,
        items: &[T],
        parse: fn(&str) -> Option<T>,
        value: fn(T) -> &'static str,
        label: fn(T) -> &'static str,
    ) -> Vec<Choice> {
        choices(items, value, label, f.value(name).as_deref().and_then(parse))
    }

    fn contact_kinds(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.options(f, "wie", ContactKind::ALL, ContactKind::parse, ContactKind::as_str, labels::contact_kind)
    }

    fn categories(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.options(
            f,
            "kategorie",
            ReferralCategory::ALL,
            ReferralCategory::parse,
            ReferralCategory::as_str,
            labels::category,
        )
    }

    fn consent_forms(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.options(f, "form", ConsentForm::ALL, ConsentForm::parse, ConsentForm::as_str, labels::consent_form)
    }

    fn stages(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.options(f, "stufe", ThreatStage::ALL, ThreatStage::parse, ThreatStage::as_str, labels::stage)
    }

    fn outcomes(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.options(f, "ergebnis", CaseOutcome::ALL, CaseOutcome::parse, CaseOutcome::as_str, labels::outcome)
    }

    fn rescue_means(&self, f: &FormState<'_>) -> Vec<Choice> {
        self.options(f, "mittel", RescueMeans::ALL, RescueMeans::parse, RescueMeans::as_str, labels::rescue_means)
    }

    /// The data categories as boxes, as sent back.
    fn data_categories(&self, f: &FormState<'_>) -> Vec<Choice> {
        DataCategory::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str().to_owned(),
                label: labels::data_category(*c).to_owned(),
                selected: f.checked("daten", c.as_str(), false),
            })
            .collect()
    }

    /// The day of a timeline entry known only to the day.
    fn day_of(&self, e: &TimelineEntry) -> Day {
        e.at.day()
    }

    /// A timeline entry's kind, referral and text (HTML).
    /// The event's kind (a stable token for tests and styling) and the referral it concerns.
    fn event_kind(&self, e: &TimelineEntry) -> (&'static str, Option<String>) {
        match &e.event {
            TimelineEvent::CaseOpened => ("fall-eroeffnet", None),
            TimelineEvent::NoticeReceived { .. } => ("meldung", None),
            TimelineEvent::NoticeWithdrawn { .. } => ("meldung-zurueckgezogen", None),
            TimelineEvent::Stage(_) => ("stufe", None),
            TimelineEvent::ConsentGiven { .. } => ("einwilligung", None),
            TimelineEvent::ConsentEnded { .. } => ("einwilligung-ende", None),
            TimelineEvent::ReferralCreated { referral_id, .. } => ("vermittlung", Some(referral_id.to_string())),
            TimelineEvent::ReferralMoved { referral_id, .. } => ("bewegung", Some(referral_id.to_string())),
            TimelineEvent::NoteAdded { referral_id, .. } => ("notiz", Some(referral_id.to_string())),
            TimelineEvent::MailSent { referral_id, .. } => ("mail", referral_id.as_ref().map(ToString::to_string)),
            TimelineEvent::MailFailed { referral_id, .. } => {
                ("mail-fehler", referral_id.as_ref().map(ToString::to_string))
            }
            TimelineEvent::Restricted { .. } => ("einschraenkung", None),
            TimelineEvent::Closed(_) => ("abschluss", None),
        }
    }

    /// How a consent ended, in words.
    fn consent_ended(&self, status: &ConsentStatus) -> &'static str {
        match status {
            ConsentStatus::Revoked => "Einwilligung widerrufen",
            ConsentStatus::Expired => "Einwilligung abgelaufen",
            ConsentStatus::Ended => "Einwilligung mit dem Abschluss des Falls beendet",
            ConsentStatus::Superseded => "Einwilligung durch eine neue Fassung ersetzt",
            ConsentStatus::Active => "Einwilligung beendet",
        }
    }

    /// A move's reason: its code in words, then what the person wrote.
    fn reason_text(&self, r: &Reason) -> String {
        match (r.code.map(labels::reason), r.text.is_empty()) {
            (Some(code), true) => code.to_owned(),
            (Some(code), false) => format!("{code} – {}", r.text),
            (None, _) => r.text.clone(),
        }
    }
}

/// A form sent back because a rule refused it: what the caseworker entered (shown again), and the
/// message, at the field it concerns (`field`, the form's own name) or at the top of the form.
pub struct FormEcho {
    /// Which form (`ueberweisen`, `einwilligung`, `abschliessen`).
    pub form: &'static str,
    /// The values as sent.
    pub values: FormData,
    /// The field the message belongs to, if it belongs to one.
    pub field: Option<&'static str>,
    /// That field's label.
    pub label: Option<&'static str>,
    /// The message, German.
    pub message: String,
}

/// The state of one form while it is rendered: the echo when it is the one sent back.
struct FormState<'a> {
    form: &'static str,
    echo: Option<&'a FormEcho>,
}

impl FormState<'_> {
    /// The value sent for `name`, when this form comes back.
    fn value(&self, name: &str) -> Option<String> {
        self.echo.and_then(|e| e.values.one(name))
    }

    /// The value sent for `name`, or nothing.
    fn text(&self, name: &str) -> String {
        self.value(name).unwrap_or_default()
    }

    /// Whether the box `name`=`value` is ticked: as sent when this form comes back, else `default`.
    fn checked(&self, name: &str, value: &str, default: bool) -> bool {
        match self.echo {
            Some(e) => e.values.all(name).iter().any(|v| v == value),
            None => default,
        }
    }

    /// Whether `value` was the choice sent for `name`.
    fn selected(&self, name: &str, value: &str) -> bool {
        self.value(name).as_deref() == Some(value)
    }

    /// The message at `field`, if it belongs there.
    fn message_at(&self, field: &str) -> Option<&str> {
        self.echo.filter(|e| e.field == Some(field) && !e.message.is_empty()).map(|e| e.message.as_str())
    }

    /// The message at the top of the form, when it belongs to no field.
    fn message_on_form(&self) -> Option<&str> {
        self.echo.filter(|e| e.field.is_none() && !e.message.is_empty()).map(|e| e.message.as_str())
    }

    /// Whether the input of `field` is the one the message is about (`aria-invalid`, `aria-describedby`).
    fn invalid(&self, field: &str) -> bool {
        self.echo.is_some_and(|e| e.field == Some(field))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::case::{Address, Case, CaseDetails, Contact, Person, Rent, StageEntry, Tenancy};
    use crate::domain::deadline::CaseDeadline;
    use crate::domain::ids::{Actor, Cents, OrgId, PersonId};
    use crate::domain::referral::{Move, Referral, ReferralState, Transition};
    use crate::domain::time::{Day, Instant};
    use crate::domain::vocab::{
        Gender, HouseholdType, OrgKind, PersonRole, ReferralCategory, RouteIn, Stadtbezirk, ThreatStage,
    };
    use crate::service::dashboard::{PartnerOption, PartnerRef, Who};

    fn fachstelle() -> OrgId {
        OrgId::parse("fachstelle").unwrap()
    }

    fn case(schutzsperre: bool) -> Case {
        let details = CaseDetails {
            persons: vec![Person {
                id: PersonId::new(),
                role: PersonRole::MainTenant,
                given_name: "Anna".into(),
                family_name: "K<i>".into(),
                gender: Gender::Female,
                birth_year: Some(1985),
            }],
            address: Address {
                street: "Musterweg".into(),
                house_number: "7".into(),
                postal_code: "30159".into(),
                city: "Hannover".into(),
            },
            contact: Contact::default(),
            stadtbezirk: Stadtbezirk::Mitte,
            tenancy: Tenancy {
                landlord: None,
                reference: "SYNTH-1".into(),
                start: None,
                rent: Rent { base: Cents::parse(78_000).unwrap(), ..Rent::default() },
            },
            arrears: Cents::parse(156_000).unwrap(),
            route_in: RouteIn::HousingCompanyNotice,
            schutzsperre,
            household_type: HouseholdType::SingleParent,
            income_benefits_note: String::new(),
            health_note: String::new(),
            counselling_note: String::new(),
        };
        let stage = StageEntry {
            stage: ThreatStage::Mahnung,
            date: Day::parse("2025-12-08").unwrap(),
            end_date: None,
            source: "Wohnungsunternehmen".into(),
            recorded_by: fachstelle(),
        };
        Case::open(fachstelle(), details, vec![stage], vec![], Instant::from_millis(1_766_400_000_000))
    }

    fn model(schutzsperre: bool) -> CasePageModel {
        let case = case(schutzsperre);
        let jc = PartnerRef { id: OrgId::parse("jobcenter").unwrap(), name: "Jobcenter".into() };
        let created = Instant::from_millis(1_767_949_200_000);
        let acked = Instant::from_millis(1_768_035_600_000);
        let actor = Actor::Org { org: jc.id.clone(), staff: None };
        let mut referral = Referral::request(
            crate::domain::referral::ReferralDraft {
                case_id: case.id.clone(),
                sender: fachstelle(),
                recipient: jc.id.clone(),
                category: ReferralCategory::RentDebtTakeoverSgb2,
                disclosures: vec![],
                message: String::new(),
                reply_by: Day::parse("2026-01-16").unwrap(),
            },
            Actor::Org { org: fachstelle(), staff: None },
            created,
        );
        referral.state = ReferralState::Received;
        referral.history = vec![
            Transition {
                from: None,
                to: ReferralState::Requested,
                mv: None,
                actor: Actor::Org { org: fachstelle(), staff: None },
                at: created,
                reason: None,
            },
            Transition {
                from: Some(ReferralState::Requested),
                to: ReferralState::Received,
                mv: Some(Move::Acknowledge),
                actor,
                at: acked,
                reason: None,
            },
        ];
        referral.updated_at = acked;
        let who_jc = Who::Org { org: jc.clone(), staff: Some("Frau <M>".into()) };
        let timeline = vec![
            TimelineEntry { at: case.opened_at, day_only: false, who: None, event: TimelineEvent::CaseOpened },
            TimelineEntry {
                at: created,
                day_only: false,
                who: None,
                event: TimelineEvent::ReferralCreated {
                    referral_id: referral.id.clone(),
                    partner: jc.clone(),
                    category: referral.category,
                },
            },
            TimelineEntry {
                at: acked,
                day_only: false,
                who: Some(who_jc.clone()),
                event: TimelineEvent::ReferralMoved {
                    referral_id: referral.id.clone(),
                    partner: jc.clone(),
                    mv: Some(Move::Acknowledge),
                    to: ReferralState::Received,
                    reason: None,
                },
            },
            TimelineEntry {
                at: acked,
                day_only: false,
                who: Some(who_jc),
                event: TimelineEvent::NoteAdded {
                    referral_id: referral.id.clone(),
                    partner: jc.clone(),
                    text: "<script>alert(1)</script>".into(),
                },
            },
        ];
        let mut org_names = BTreeMap::new();
        org_names.insert(jc.id.clone(), jc.name.clone());
        CasePageModel {
            open_items: crate::domain::case::OpenItems::default(),
            today: Day::parse("2026-01-20").unwrap(),
            deadlines: vec![CaseDeadline {
                kind: "SCHONFRIST".into(),
                date: Day::parse("2026-04-10").unwrap(),
                source: "§569 Abs. 3 Nr. 2 BGB".into(),
                provisional: false,
                warnings: vec![],
            }],
            consents: vec![],
            referrals: vec![CaseReferral {
                partner: jc.clone(),
                overdue: true,
                notes: vec![],
                last_event: None,
                referral,
            }],
            mails: vec![],
            timeline,
            partners: vec![PartnerOption {
                id: jc.id.clone(),
                name: jc.name.clone(),
                kind: OrgKind::Jobcenter,
                accepted: vec![ReferralCategory::RentDebtTakeoverSgb2],
                capacity: vec![],
            }],
            org_names,
            colleagues: vec![],
            documents: vec![],
            data_requests: vec![],
            case,
        }
    }

    fn ctx() -> Ctx {
        Ctx { today: Day::parse("2026-01-20").unwrap(), csrf: "tok\"en".into(), staff_name: "S".into() }
    }

    #[test]
    fn address_shown_without_schutzsperre() {
        let html = render(&model(false), &ctx());
        assert!(html.contains("<p id=\"adresse\">Musterweg 7, 30159 Hannover</p>"), "{html}");
        assert!(!html.contains(ADDRESS_BLOCKED));
    }

    #[test]
    fn schutzsperre_marks_the_address_for_fachstelle_staff() {
        let html = render(&model(true), &ctx());
        assert!(html.contains(&format!("<p id=\"auskunftssperre\" class=\"warnung\">{ADDRESS_BLOCKED}</p>")), "{html}");
        assert!(html.contains("<p id=\"adresse\" class=\"gesperrt\">Musterweg 7, 30159 Hannover</p>"), "{html}");
    }

    #[test]
    fn sections_forms_and_hooks() {
        let m = model(false);
        let html = render(&m, &ctx());
        for hook in [
            "<section id=\"zeitleiste\">",
            "<section id=\"fristen\">",
            "id=\"ueberweisen\"",
            "id=\"einwilligung\"",
            "id=\"abschliessen\"",
        ] {
            assert!(html.contains(hook), "{hook}");
        }
        let id = m.case.id.as_str();
        assert!(html.contains(&format!("action=\"/faelle/{id}/ueberweisen\"")));
        assert!(html.contains(&format!("action=\"/faelle/{id}/einwilligung\"")));
        assert!(html.contains(&format!("action=\"/faelle/{id}/abschliessen\"")));
        assert!(html.contains(&format!("action=\"/faelle/{id}/stufe\"")));
        // Responsible caseworker, contact attempt, document, refer, consent, stage and close (the
        // revocation form only with a consent in force).
        assert_eq!(html.matches("<input type=\"hidden\" name=\"csrf\" value=\"tok&#34;en\">").count(), 7);
        for field in [
            "name=\"empfaenger\"",
            "name=\"kategorie\"",
            "name=\"daten\" value=\"IDENTITY\"",
            "name=\"antwort_bis\"",
            "name=\"nachricht\"",
            "name=\"form\"",
            "name=\"nachweis\"",
            "name=\"gueltig_bis\"",
            "name=\"schweigepflicht\" value=\"on\"",
            "name=\"ausdruecklich\" value=\"on\"",
            "name=\"personen\"",
            "name=\"ergebnis\"",
            "name=\"mittel\"",
            "name=\"notiz\"",
        ] {
            assert!(html.contains(field), "{field}");
        }
        assert!(html.contains("<option value=\"WOHNUNG_ERHALTEN\">Wohnung erhalten</option>"));
        assert!(html.contains("<option value=\"jobcenter\">Jobcenter (Jobcenter)</option>"));
        let rid = m.referrals[0].referral.id.as_str();
        assert!(html.contains(&format!("<tr class=\"ueberweisung ueberfaellig\" data-referral=\"{rid}\">")));
        assert!(
            html.contains("<td class=\"status\">eingegangen</td>")
                && html.contains("<td class=\"partner\">Jobcenter</td>")
        );
        assert_eq!(html.matches("<li class=\"ereignis\"").count(), 4);
        assert!(html.contains("Jobcenter: Eingang bestätigt (Status: eingegangen)"));
        assert!(html.contains("– Jobcenter (Frau &lt;M&gt;)"));
        assert!(html.contains("Ende der Schonfrist") && html.contains("10.04.2026"));
        assert!(html.contains("Fall eröffnet"));
    }

    #[test]
    fn user_text_is_escaped() {
        let html = render(&model(false), &ctx());
        assert!(!html.contains("<script>") && !html.contains("<i>"), "{html}");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "the template escapes: {html}");
        assert!(html.contains("K&#60;i&#62;, Anna"));
    }

    #[test]
    fn a_closed_case_offers_no_forms() {
        let mut m = model(false);
        m.case.closure = Some(
            crate::domain::case::Closure::new(CaseOutcome::KeinKontakt, None, String::new(), Instant::from_millis(0))
                .unwrap(),
        );
        let html = render(&m, &ctx());
        assert!(!html.contains("<form"), "{html}");
        assert!(html.contains("Abgeschlossen am"));
    }

    #[test]
    fn title_names_the_tenant_unless_restricted() {
        let mut m = model(false);
        assert_eq!(title(&m), "Fall K<i>, Anna");
        m.case.restriction =
            Some(crate::domain::case::Restriction { reason: "Art. 18".into(), since: Instant::from_millis(0) });
        assert_eq!(title(&m), format!("Fall {}", m.case.id));
    }
}
