//! The partner page's backend: what an email partner sees and does through a signed link, served
//! by the same use cases as gRPC. A link acts as its organisation (recorded with the staff marker
//! "via E-Mail-Link"), so the view shows exactly what the recipient's legal basis allows, every
//! view and action is audited, and actions emit the same events as gRPC calls.

use std::sync::Arc;

use email_adapter::token::{LinkClaims, LinkKey, Purpose};
use email_adapter::web::{
    ActionDone, ActionInput, DeskError, HistoryLine, MoveInput, MoveOption, NoteLine, PageView, PartnerDesk,
    RequestView, Section, SpecialCategory,
};
use sha2::{Digest, Sha256};

use super::dispatch::{action_label, receipt_claims};
use super::reference;
use crate::domain::FieldError;
use crate::domain::basis::LegalBasis;
use crate::domain::ids::{Actor, Cents, DataRequestId, IdempotencyKey, OrgId, ReferralId, StaffMember};
use crate::domain::org::{Delivery, Organisation};
use crate::domain::projection::CaseView;
use crate::domain::referral::{Completion, Move, Reason};
use crate::domain::vocab::{CompletionResult, DataCategory, ReasonCode};
use crate::labels;
use crate::service::{Caller, Hub, HubError, Idem, LinkAct, ReferralView};

/// The hub behind the partner page.
pub struct HubDesk {
    hub: Hub,
    key: Arc<LinkKey>,
}

impl HubDesk {
    /// A desk over `hub`, signing receipts with `key`.
    pub fn new(hub: Hub, key: Arc<LinkKey>) -> Self {
        Self { hub, key }
    }

    /// The caller a link stands for, or why the link no longer works: the organisation must still
    /// be an active email partner, and the link must not predate a change of its address.
    async fn caller(&self, link: &LinkClaims) -> Result<(Caller, ReferralId), DeskError> {
        let org_id = OrgId::parse(&link.org).map_err(|_| DeskError::NotFound)?;
        let id = ReferralId::parse(&link.referral).map_err(|_| DeskError::NotFound)?;
        let org = self.hub.organisation(&org_id).await.map_err(|_| DeskError::Unavailable)?;
        let Some(org) = org else { return Err(DeskError::Revoked) };
        let revoked = !org.active
            || !matches!(org.delivery, Delivery::Email(_))
            || org.links_valid_from.is_some_and(|from| link.issued_at_ms < from.millis());
        if revoked {
            return Err(DeskError::Revoked);
        }
        Ok((Caller::Org { org, staff: StaffMember::parse("via E-Mail-Link").ok() }, id))
    }

    /// The caller and request of a Confirm link.
    async fn request_of(&self, link: &LinkClaims) -> Result<(Caller, DataRequestId), DeskError> {
        let Purpose::Confirm { request } = &link.purpose else { return Err(DeskError::NotFound) };
        let id = DataRequestId::parse(request).map_err(|_| DeskError::NotFound)?;
        let (caller, _) = self.caller(link).await?;
        Ok((caller, id))
    }
}

/// The name of organisation `id` as people read it.
async fn org_name(hub: &Hub, id: &OrgId) -> String {
    match hub.organisation(id).await {
        Ok(Some(Organisation { name, .. })) => name,
        _ => id.to_string(),
    }
}

/// Who did something, as the recipient reads it.
async fn actor_name(hub: &Hub, a: &Actor) -> String {
    match a {
        Actor::Org { org, staff } => {
            let name = org_name(hub, org).await;
            match staff {
                Some(s) => format!("{name} ({})", s.as_str()),
                None => name,
            }
        }
        Actor::Operator { .. } => labels::OPERATOR.to_owned(),
        Actor::Hub => labels::HUB.to_owned(),
    }
}

/// One referral as its recipient sees it, through the mailed link or signed in to the partner
/// inbox: exactly the data its legal basis allows (the read is audited by the use case), the notes,
/// the history and the moves the recipient may make now.
pub async fn recipient_view(hub: &Hub, caller: &Caller, id: &ReferralId) -> Result<PageView, HubError> {
    let v = hub.get_referral(caller, id).await?;
    let notes = hub.list_notes(caller, id).await?;
    let r = &v.referral;
    let mut history = Vec::new();
    for t in &r.history {
        let who = actor_name(hub, &t.actor).await;
        let mut text = format!("{}: {}", labels::state(t.to), who);
        if let Some(reason) = &t.reason {
            if let Some(code) = reason.code {
                text.push_str(&format!(" – {}", labels::reason(code)));
            }
            if !reason.text.is_empty() {
                text.push_str(&format!(" – „{}“", reason.text));
            }
        }
        history.push(HistoryLine { at: labels::instant(t.at), text });
    }
    let mut note_lines = Vec::new();
    for n in &notes {
        note_lines.push(NoteLine {
            author: actor_name(hub, &n.author).await,
            at: labels::instant(n.created_at),
            text: n.text.clone(),
        });
    }
    let (sections, withheld) = match &v.case_view {
        Some(cv) => (
            sections(cv),
            cv.withheld.iter().filter(|c| !c.is_special()).map(|c| labels::data_category(*c).to_owned()).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let special_categories = special_categories(&v);
    Ok(PageView {
        reference: format!("{} ({})", reference(r.id.as_str()), r.id),
        category: labels::category(r.category).to_owned(),
        sender_org: org_name(hub, &r.sender).await,
        recipient_org: org_name(hub, &r.recipient).await,
        state: labels::state(r.state).to_owned(),
        reply_by: labels::day(r.reply_by),
        overdue: v.overdue,
        message: r.message.clone(),
        sections,
        withheld,
        special_categories,
        notes: note_lines,
        history,
        moves: v.allowed_moves.iter().map(|m| move_option(*m)).collect(),
        can_note: true,
    })
}

#[async_trait::async_trait]
impl PartnerDesk for HubDesk {
    async fn view(&self, link: &LinkClaims) -> Result<PageView, DeskError> {
        let (caller, id) = self.caller(link).await?;
        recipient_view(&self.hub, &caller, &id).await.map_err(desk_error)
    }

    async fn act(&self, link: &LinkClaims, input: ActionInput) -> Result<ActionDone, DeskError> {
        let Purpose::Act { action, nonce } = &link.purpose else { return Err(DeskError::NotFound) };
        let (caller, id) = self.caller(link).await?;
        let act = link_act(action, &input)?;
        let key = IdempotencyKey::parse(&format!("link-{nonce}")).map_err(|_| DeskError::NotFound)?;
        let mut h = Sha256::new();
        h.update(action.as_bytes());
        h.update([0]);
        h.update(format!("{input:?}").as_bytes());
        let idem = Idem { key, fingerprint: hex::encode(h.finalize()) };
        let (receipt, replayed) = self.hub.act_via_link(&caller, &idem, &id, act).await.map_err(desk_error)?;
        Ok(ActionDone {
            receipt: self.key.sign_receipt(&receipt_claims(&receipt)),
            done: format!("{} – Stand jetzt: {}", action_label(&receipt), labels::state(receipt.state)),
            replayed,
        })
    }

    async fn request(&self, link: &LinkClaims) -> Result<RequestView, DeskError> {
        let (caller, id) = self.request_of(link).await?;
        let r = self.hub.data_request_to(&caller, &id).await.map_err(desk_error)?;
        let sender = org_name(&self.hub, &r.owner).await;
        let mut rows = vec![
            (
                "Vermittlung".to_owned(),
                format!(
                    "{} ({}) von {sender}, {}",
                    reference(r.referral_id.as_str()),
                    labels::category(r.referral_category),
                    labels::day(r.requested_at.day())
                ),
            ),
            ("Anlass".to_owned(), labels::data_request_cause(r.cause).to_owned()),
            ("Betroffene Daten".to_owned(), labels::data_request_categories(&r.categories)),
            ("Bitte bestätigen bis".to_owned(), labels::day(r.due)),
        ];
        if r.is_overdue(self.hub.clock_today()) {
            rows.push(("Stand".to_owned(), "Die erbetene Frist ist abgelaufen.".to_owned()));
        }
        Ok(RequestView {
            heading: labels::data_request_ask(r.ask()).to_owned(),
            rows,
            confirmed: r.confirmation.as_ref().map(|c| format!("am {} Uhr", labels::instant(c.at))),
            button: format!("Als {} bestätigen", labels::data_request_done(r.ask())),
        })
    }

    async fn confirm(&self, link: &LinkClaims) -> Result<ActionDone, DeskError> {
        let (caller, id) = self.request_of(link).await?;
        let c = self.hub.confirm_data_request(&caller, &id).await.map_err(desk_error)?;
        Ok(ActionDone {
            receipt: c.receipt,
            done: format!("Als {} bestätigt", labels::data_request_done(c.request.ask())),
            replayed: c.repeated,
        })
    }
}

/// The form of a move: decline and fail ask for a reason, complete for the outcome.
fn move_option(m: Move) -> MoveOption {
    let input = match m {
        Move::Decline | Move::Fail | Move::Cancel => MoveInput::Reason {
            codes: ReasonCode::ALL
                .iter()
                .filter(|c| !c.is_hub_only())
                .map(|c| (c.as_str().to_owned(), labels::reason(*c).to_owned()))
                .collect(),
        },
        Move::Complete => MoveInput::Outcome {
            results: CompletionResult::ALL
                .iter()
                .map(|r| (r.as_str().to_owned(), labels::result(*r).to_owned()))
                .collect(),
        },
        _ => MoveInput::Plain,
    };
    MoveOption { code: m.as_str().to_owned(), label: labels::move_label(m).to_owned(), input }
}

/// Converts the form of an action into the use case's input: the transport's own shapes (German amounts
/// and dates, codes from the lists) are parsed here; every rule of a note, a move's reason and its result
/// is the domain's, checked in the use case like for the gRPC API.
pub fn link_act(action: &str, input: &ActionInput) -> Result<LinkAct, DeskError> {
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").to_owned();
    let invalid =
        |field: &str, message: &str| DeskError::Invalid { field: field.to_owned(), message: message.to_owned() };
    if action == "NOTE" {
        return Ok(LinkAct::Note { text: text(&input.text) });
    }
    let mv = Move::parse(action).ok_or_else(|| invalid("action", "Diese Aktion gibt es nicht."))?;
    let code = match text(&input.reason_code).trim() {
        "" => None,
        c => Some(
            ReasonCode::parse(c)
                .ok_or_else(|| invalid("reason_code", "Bitte wählen Sie einen Grund aus der Liste."))?,
        ),
    };
    let completion = if mv == Move::Complete {
        let result = CompletionResult::parse(text(&input.result).trim())
            .ok_or_else(|| invalid("result", "Bitte wählen Sie ein Ergebnis."))?;
        let amount = match text(&input.amount).trim() {
            "" => None,
            a => Some(
                crate::domain::notation::euro_cents(a)
                    .and_then(|c| Cents::parse(c).ok())
                    .ok_or_else(|| invalid("amount", "Bitte geben Sie einen Betrag wie 1.560,00 an."))?,
            ),
        };
        let effective_date = match text(&input.effective_date).trim() {
            "" => None,
            d => Some(
                crate::domain::notation::day(d)
                    .ok_or_else(|| invalid("effective_date", "Bitte geben Sie ein Datum wie 28.01.2026 an."))?,
            ),
        };
        Some(Completion { result, amount, effective_date, summary: text(&input.summary) })
    } else {
        None
    };
    Ok(LinkAct::Move { mv, reason: Some(Reason { code, text: text(&input.reason_text) }), completion })
}

/// The case data of a view as table sections, one per kind of data.
fn sections(v: &CaseView) -> Vec<Section> {
    let mut out = Vec::new();
    if !v.persons.is_empty() || v.persons_withheld > 0 {
        let mut rows: Vec<(String, String)> = v
            .persons
            .iter()
            .map(|p| {
                let year = p.birth_year.map(|y| format!(", geb. {y}")).unwrap_or_default();
                (
                    crate::dashboard::views::labels::role(p.role).to_owned(),
                    format!("{} {}{year}", p.given_name, p.family_name),
                )
            })
            .collect();
        match v.persons_withheld {
            0 => {}
            1 => rows.push((
                "Weitere Person".into(),
                "1 weitere Person des Haushalts hat nicht in die Weitergabe an Sie eingewilligt".into(),
            )),
            n => rows.push((
                "Weitere Personen".into(),
                format!("{n} weitere Personen des Haushalts haben nicht in die Weitergabe an Sie eingewilligt"),
            )),
        }
        out.push(Section { heading: "Personen".into(), rows });
    }
    let mut contact = Vec::new();
    if let Some(a) = &v.address {
        contact
            .push(("Anschrift".to_owned(), format!("{} {}, {} {}", a.street, a.house_number, a.postal_code, a.city)));
    }
    if v.address_withheld {
        contact.push(("Anschrift".to_owned(), "gesperrt (Auskunftssperre)".to_owned()));
    }
    if let Some(c) = &v.contact {
        if !c.phone.is_empty() {
            contact.push(("Telefon".to_owned(), c.phone.clone()));
        }
        if !c.email.is_empty() {
            contact.push(("E-Mail".to_owned(), c.email.clone()));
        }
    }
    if !contact.is_empty() {
        out.push(Section { heading: "Kontakt".into(), rows: contact });
    }
    let mut tenancy = Vec::new();
    if let Some(t) = &v.tenancy {
        if !t.reference.is_empty() {
            tenancy.push(("Mietvertrag".to_owned(), t.reference.clone()));
        }
        let rent = Cents::parse(t.rent.base.get() + t.rent.service_charge_advance.get() + t.rent.heating_advance.get())
            .map(|c| c.to_string())
            .unwrap_or_default();
        tenancy.push(("Miete gesamt".to_owned(), rent));
    }
    if let Some(b) = v.stadtbezirk {
        tenancy.push(("Stadtbezirk".to_owned(), b.as_str().to_owned()));
    }
    for s in &v.stages {
        tenancy.push(("Stufe".to_owned(), format!("{} seit {}", s.stage.as_str(), labels::day(s.date))));
    }
    if !tenancy.is_empty() {
        out.push(Section { heading: "Mietverhältnis".into(), rows: tenancy });
    }
    if let Some(a) = v.arrears {
        out.push(Section { heading: "Mietrückstand".into(), rows: vec![("Betrag".to_owned(), a.to_string())] });
    }
    // Health data (Art. 9 GDPR) is not a section: it has its own part, see `special_categories`.
    for (heading, note) in
        [("Einkommen und Leistungen", &v.income_benefits_note), ("Beratungsnotizen", &v.counselling_note)]
    {
        if !note.is_empty() {
            out.push(Section { heading: heading.into(), rows: vec![("Notiz".to_owned(), note.clone())] });
        }
    }
    if !v.outcomes.is_empty() {
        let rows = v
            .outcomes
            .iter()
            .map(|o| {
                let amount = o.amount.map(|a| format!(", {a}")).unwrap_or_default();
                let date = o.effective_date.map(|d| format!(", {}", labels::day(d))).unwrap_or_default();
                (o.topic.to_owned(), format!("{}{amount}{date}", labels::result(o.result)))
            })
            .collect();
        out.push(Section { heading: "Ergebnisse anderer Stellen".into(), rows });
    }
    out
}

/// Every special category of personal data (Art. 9 GDPR) with whether the person's separate explicit
/// consent lets the recipient see it, and the data shown. A special category is never covered by a
/// statute, and a consent covers it only with `art9_explicit` (`Consent::covers`), so a basis of it that
/// is in force is an explicit consent.
fn special_categories(v: &ReferralView) -> Vec<SpecialCategory> {
    DataCategory::ALL
        .iter()
        .filter(|c| c.is_special())
        .map(|&category| {
            let name = labels::data_category(category).to_owned();
            let disclosed = v.referral.disclosures.iter().zip(&v.in_force).find(|(d, _)| d.category == category);
            let Some((d, in_force)) = disclosed else {
                return SpecialCategory {
                    name,
                    explicit_consent: false,
                    status: "Nicht Teil dieser Vermittlung: diese Daten wurden Ihnen nicht übermittelt.".into(),
                    rows: Vec::new(),
                };
            };
            let consent = d.bases.iter().zip(in_force).find_map(|(b, ok)| match b {
                LegalBasis::Consent(id) if *ok => Some(id.to_string()),
                _ => None,
            });
            let Some(consent) = consent else {
                return SpecialCategory {
                    name,
                    explicit_consent: false,
                    status: "Die ausdrückliche Einwilligung wurde widerrufen oder ist abgelaufen. Bitte löschen \
                             Sie, was Sie davon erhalten haben."
                        .into(),
                    rows: Vec::new(),
                };
            };
            let note = match (&v.case_view, category) {
                (Some(cv), DataCategory::Health) => cv.health_note.clone(),
                _ => String::new(),
            };
            let status = match &v.case_view {
                Some(_) => format!("Übermittelt mit ausdrücklicher Einwilligung (Einwilligung {consent})."),
                None => format!(
                    "Übermittelt mit ausdrücklicher Einwilligung (Einwilligung {consent}); derzeit nicht angezeigt, \
                     weil die Verarbeitung eingeschränkt ist."
                ),
            };
            let rows = if note.is_empty() { Vec::new() } else { vec![("Notiz".to_owned(), note)] };
            SpecialCategory { name, explicit_consent: true, status, rows }
        })
        .collect()
}

/// The page's own name of a field the domain names after the API.
pub fn page_field(field: &str) -> String {
    match field {
        "outcome" | "outcome.result" => "result".to_owned(),
        "outcome.summary" => "summary".to_owned(),
        "outcome.amount" => "amount".to_owned(),
        "outcome.effective_date" => "effective_date".to_owned(),
        "reason" | "reason.code" => "reason_code".to_owned(),
        "reason.text" => "reason_text".to_owned(),
        f => f.to_owned(),
    }
}

/// The page's error for a hub error; no internal detail reaches the page.
fn desk_error(e: HubError) -> DeskError {
    match e {
        HubError::Invalid(FieldError { field, .. }) if field == "idempotency_key" => DeskError::Refused(
            "Dieses Formular wurde bereits mit anderen Angaben abgeschickt. Bitte öffnen Sie den Link aus der E-Mail neu."
                .into(),
        ),
        HubError::Invalid(FieldError { field, reason_de, .. }) => DeskError::Invalid {
            field: page_field(&field),
            message: reason_de.unwrap_or_else(|| "Diese Angabe ist nicht gültig.".into()),
        },
        HubError::FailedPrecondition(_) => DeskError::Refused(
            "Diese Aktion ist beim jetzigen Stand der Vermittlung nicht möglich. Bitte laden Sie die Seite neu.".into(),
        ),
        HubError::NotFound(_) | HubError::AlreadyExists(_) => DeskError::NotFound,
        HubError::Unauthenticated(_) | HubError::PermissionDenied(_) => DeskError::Revoked,
        HubError::Unavailable(_) => DeskError::Unavailable,
        HubError::Internal(m) => {
            tracing::error!(error = %m, "partner page action failed");
            DeskError::Internal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_parses_its_own_shapes_and_leaves_the_rules_to_the_domain() {
        let none = ActionInput::default();
        // Transport shapes: an unknown action or code, a result that is not on the list.
        assert!(matches!(link_act("EXPLODE", &none), Err(DeskError::Invalid { .. })));
        let unknown = ActionInput { reason_code: Some("NO_SUCH_CODE".into()), ..ActionInput::default() };
        assert!(
            matches!(link_act("DECLINE", &unknown), Err(DeskError::Invalid { field, .. }) if field == "reason_code")
        );
        assert!(matches!(link_act("COMPLETE", &none), Err(DeskError::Invalid { field, .. }) if field == "result"));
        // Rules (a reason for declining, a note's length) are checked by the use case, as for gRPC.
        assert!(matches!(link_act("DECLINE", &none), Ok(LinkAct::Move { mv: Move::Decline, .. })));
        assert!(matches!(link_act("NOTE", &none), Ok(LinkAct::Note { .. })));
        assert!(matches!(link_act("ACCEPT", &none), Ok(LinkAct::Move { mv: Move::Accept, .. })));
    }
}
