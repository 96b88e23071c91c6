//! Referrals: created by the Fachstelle on a legal basis, moved by the recipient, read through a
//! per-recipient view, discussed in a note thread.

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::FieldError;
use crate::domain::Refusal as Refusal2;
use crate::domain::audit::{AuditAction, AuditDetail, NoCaseData};
use crate::domain::basis::{Disclosure, Refusal, bases_for};
use crate::domain::consent::Consent;
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, NoteId, OrgId, ReferralId};
use crate::domain::mail::{LinkReceipt, MailJob, MailKind};
use crate::domain::note::Note;
use crate::domain::org::Capacity;
use crate::domain::projection::{CaseView, needs_siblings, view_for_recipient};
use crate::domain::referral::{
    Completion, Move, Reason, Referral, ReferralDraft, ReferralState, Side, check_move, check_request, note_text,
};
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{DataCategory, EventKind, OrgKind, ReferralCategory};
use crate::store::{ReferralQuery, Tx};

/// What an email partner does through a link.
#[derive(Debug, Clone)]
pub enum LinkAct {
    /// A move, with its reason or outcome where the move needs one.
    Move {
        /// The move.
        mv: Move,
        /// Reason (decline, fail).
        reason: Option<Reason>,
        /// Outcome (complete).
        completion: Option<Completion>,
    },
    /// A note.
    Note {
        /// The text.
        text: String,
    },
}

/// A referral as the Fachstelle asks for it.
#[derive(Debug, Clone)]
pub struct NewReferral {
    /// Case.
    pub case_id: CaseId,
    /// Recipient.
    pub recipient: OrgId,
    /// Category.
    pub category: ReferralCategory,
    /// Categories to disclose (non-empty, no duplicates).
    pub data: Vec<DataCategory>,
    /// Message.
    pub message: String,
    /// Reply-by day; `None` for the SLA default.
    pub reply_by: Option<Day>,
    /// Send even though an open referral of the same category to the same recipient exists.
    pub confirm_duplicate: bool,
    /// Send even though the recipient states it takes no referrals of this category for now.
    pub confirm_closed: bool,
}

/// A referral as one caller sees it.
#[derive(Debug, Clone)]
pub struct ReferralView {
    /// The referral.
    pub referral: Referral,
    /// Moves the caller may make.
    pub allowed_moves: Vec<Move>,
    /// Case data for the recipient.
    pub case_view: Option<CaseView>,
    /// Overdue as of today.
    pub overdue: bool,
    /// Whether each disclosure's bases hold today, in the order of `referral.disclosures`.
    pub in_force: Vec<Vec<bool>>,
}

/// Which referrals to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    /// Addressed to the caller.
    Inbox,
    /// Sent by the caller.
    Outbox,
    /// All (Fachstelle).
    All,
}

/// A listing request.
#[derive(Debug, Clone)]
pub struct ListReferrals {
    /// Mailbox.
    pub mailbox: Mailbox,
    /// States.
    pub states: Vec<ReferralState>,
    /// Partner.
    pub partner: Option<OrgId>,
    /// Overdue only.
    pub overdue_only: bool,
    /// Minimum age in days.
    pub min_age_days: u32,
    /// Case.
    pub case_id: Option<CaseId>,
    /// Page size.
    pub page_size: u32,
    /// Start after this position.
    pub after: i64,
}

/// One page of referrals.
#[derive(Debug, Clone)]
pub struct ReferralPage {
    /// Referrals with their overdue flag.
    pub referrals: Vec<(Referral, bool)>,
    /// Position to continue from, if there may be more.
    pub next: Option<i64>,
}

impl Hub {
    /// Loads a referral the caller is party to; anything else reads as missing.
    async fn party_referral(&self, tx: &mut dyn Tx, org: &OrgId, id: &ReferralId) -> HubResult<(Referral, Side)> {
        let r = tx.referral(id).await?.ok_or(HubError::NotFound("referral"))?;
        let side = r.side_of(org).ok_or(HubError::NotFound("referral"))?;
        Ok((r, side))
    }

    /// Computes the disclosures under the case's `consents`, or the list of (recipient, category)
    /// pairs without a basis.
    fn disclosures(
        sender: OrgKind,
        recipient: &crate::domain::org::Organisation,
        consents: &[Consent],
        data: &[DataCategory],
        today: Day,
    ) -> HubResult<Vec<Disclosure>> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        let mut forbidden = Vec::new();
        for &category in data {
            match bases_for(sender, recipient, category, consents, today) {
                Ok(bases) => out.push(Disclosure { category, bases }),
                Err(Refusal::Missing) => missing.push(category),
                Err(Refusal::Forbidden) => forbidden.push(category),
            }
        }
        let pairs =
            |cs: &[DataCategory]| cs.iter().map(|c| format!("{}/{c}", recipient.id)).collect::<Vec<_>>().join(", ");
        let german = |cs: &[DataCategory]| {
            cs.iter().map(|c| format!("„{}“", crate::labels::data_category(*c))).collect::<Vec<_>>().join(", ")
        };
        if !forbidden.is_empty() {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                format!("never disclosed to a housing company: {}", pairs(&forbidden)),
                format!(
                    "{} darf nie an ein Wohnungsunternehmen gehen, auch nicht mit Einwilligung.",
                    german(&forbidden)
                ),
            )));
        }
        if !missing.is_empty() {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                format!("no legal basis (consent or statute) for: {}", pairs(&missing)),
                format!(
                    "Für {} an {} gibt es keine Rechtsgrundlage (weder Einwilligung noch Gesetz). Bitte erfassen Sie \
                     zuerst die Einwilligung oder wählen Sie weniger Daten.",
                    german(&missing),
                    recipient.name
                ),
            )));
        }
        Ok(out)
    }

    /// Creates a referral.
    pub async fn create_referral(&self, caller: &Caller, idem: &Idem, new: NewReferral) -> HubResult<ReferralView> {
        let org = caller.fachstelle("create referrals")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Referral(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.render(tx, caller, &id, false).await;
        }
        let case = self.owned_case(tx.as_mut(), &org.id, &new.case_id).await?;
        if case.closure.is_some() {
            return Err(HubError::FailedPrecondition(case_closed()));
        }
        restricted(&case)?;
        let recipient = tx
            .org(&new.recipient)
            .await?
            .ok_or_else(|| FieldError::new("recipient_organisation_id", "is not a registered organisation"))?;
        if !recipient.active {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                format!("recipient '{}' is deactivated", recipient.id),
                format!("{} ist deaktiviert und nimmt keine Vermittlungen an.", recipient.name),
            )));
        }
        if recipient.id == org.id {
            return Err(FieldError::new("recipient_organisation_id", "must not be the sender").into());
        }
        if !recipient.accepts(new.category) {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                format!("recipient '{}' does not accept referrals of category {}", recipient.id, new.category),
                format!("{} nimmt keine Vermittlungen „{}“ an.", recipient.name, crate::labels::category(new.category)),
            )));
        }
        if !new.confirm_closed && recipient.capacity_for(new.category) == Capacity::Closed {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                format!(
                    "recipient '{}' takes no referrals of category {} for now (its capacity); set \
                     confirm_closed_capacity to send anyway",
                    recipient.id, new.category
                ),
                format!(
                    "{} nimmt derzeit keine Vermittlungen „{}“ an. Wenn Sie trotzdem senden wollen, setzen Sie das \
                     Häkchen „Trotzdem senden“.",
                    recipient.name,
                    crate::labels::category(new.category)
                ),
            )));
        }
        let now = self.now();
        let message = check_request(&new.data, &new.message, new.reply_by, now.day())?;
        if !new.confirm_duplicate
            && let Some(open) =
                Referral::open_duplicate(&tx.referrals_of_case(&case.id).await?, &recipient.id, new.category)
        {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                format!(
                    "referral {} of category {} to '{}' is still open; set confirm_duplicate to send a second one",
                    open.id, new.category, recipient.id
                ),
                format!(
                    "An {} ist schon eine Vermittlung „{}“ offen (gesendet am {}). Wenn Sie wirklich eine zweite senden \
                     wollen, setzen Sie das Häkchen „Auch senden, wenn schon eine offene Vermittlung … besteht“.",
                    recipient.name,
                    crate::labels::category(new.category),
                    crate::labels::day(open.created_at.day())
                ),
            )));
        }
        let reply_by = match new.reply_by {
            Some(d) => d,
            None => self.sla.reply_by(new.category, now.day(), &crate::domain::deadline::for_case(&case)),
        };
        let consents = tx.consents_of_case(&case.id).await?;
        let disclosures = Self::disclosures(org.kind, &recipient, &consents, &new.data, now.day())?;
        let actor = caller.actor();
        let referral = Referral::request(
            ReferralDraft {
                case_id: case.id.clone(),
                sender: org.id.clone(),
                recipient: recipient.id.clone(),
                category: new.category,
                disclosures,
                message,
                reply_by,
            },
            actor.clone(),
            now,
        );
        tx.insert_referral(&referral).await?;
        let mut p = Pending::new();
        p.known.org(&recipient);
        push_referral_events(&mut p, &referral, EventKind::ReferralCreated, actor.id(), now);
        p.audit.push(audit(
            &actor,
            now,
            AuditAction::ReferralDisclose,
            Some(&case.id),
            Some(&referral.id),
            bases_text(&referral.disclosures),
            AuditDetail::Disclosed { recipient: recipient.id.to_string(), categories: referral.categories().collect() },
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Referral(referral.id.clone())), p).await?;
        tracing::info!(referral = %referral.id, recipient = %referral.recipient, category = %referral.category, "referral created");
        // The answer is the sender's view of what was just written, composed from what this use case
        // already holds: no read-back (the referral as inserted, the consents its disclosures were
        // checked against).
        Ok(compose_view(referral, Side::Sender, &consents, None, now.day()))
    }

    /// Reads a referral as the caller may see it. Audited when it shows case data.
    pub async fn get_referral(&self, caller: &Caller, id: &ReferralId) -> HubResult<ReferralView> {
        let tx = self.store.begin().await?;
        self.render(tx, caller, id, true).await
    }

    /// Builds the caller's view inside `tx`, auditing the read of personal data when `audited`.
    async fn render(
        &self,
        mut tx: Box<dyn Tx>,
        caller: &Caller,
        id: &ReferralId,
        audited: bool,
    ) -> HubResult<ReferralView> {
        let (view, p) = self.view(tx.as_mut(), caller, id, audited).await?;
        self.finish(tx, caller, None, None, p).await?;
        Ok(view)
    }

    /// The caller's view read inside `tx`, and the audit record of the read when `audited` (to be
    /// written with the transaction).
    async fn view(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        id: &ReferralId,
        audited: bool,
    ) -> HubResult<(ReferralView, Pending)> {
        let org = caller.org()?;
        let (referral, side) = self.party_referral(tx, &org.id, id).await?;
        let now = self.now();
        let today = now.day();
        let consents = tx.consents_of_case(&referral.case_id).await?;
        let case_view = if side == Side::Recipient {
            let case = tx.case(&referral.case_id).await?.ok_or(HubError::NotFound("referral"))?;
            // Restricted processing (Art. 18 GDPR): the data stays stored, the recipient sees none.
            if case.restriction.is_some() {
                None
            } else {
                let siblings =
                    if needs_siblings(&referral) { tx.referrals_of_case(&referral.case_id).await? } else { Vec::new() };
                Some(view_for_recipient(&case, &referral, &consents, &siblings, &org.id, today))
            }
        } else {
            None
        };
        let mut p = Pending::new();
        if audited {
            let (basis, detail) = match &case_view {
                Some(v) => {
                    let readable: Vec<&Disclosure> =
                        referral.disclosures.iter().filter(|d| v.readable.contains(&d.category)).collect();
                    (bases_text(readable.iter().copied()), AuditDetail::Shown { categories: v.readable.clone() })
                }
                None if side == Side::Recipient => {
                    ("Art. 18 GDPR".to_owned(), AuditDetail::NoCaseData { why: NoCaseData::Restricted })
                }
                None => ("sender".to_owned(), AuditDetail::NoCaseData { why: NoCaseData::SenderView }),
            };
            p.audit.push(audit(
                &caller.actor(),
                now,
                AuditAction::ReferralRead,
                Some(&referral.case_id),
                Some(&referral.id),
                basis,
                detail,
            ));
        }
        Ok((compose_view(referral, side, &consents, case_view, today), p))
    }

    /// Lists referrals.
    pub async fn list_referrals(&self, caller: &Caller, q: ListReferrals) -> HubResult<ReferralPage> {
        let org = caller.org()?;
        let now = self.now();
        let mut query = ReferralQuery {
            states: q.states,
            case_id: q.case_id,
            partner: q.partner,
            after_seq: q.after,
            limit: q.page_size,
            overdue_on: q.overdue_only.then(|| now.day()),
            created_before: (q.min_age_days > 0)
                .then(|| Instant::from_millis(now.millis() - i64::from(q.min_age_days) * 86_400_000)),
            ..ReferralQuery::default()
        };
        match q.mailbox {
            Mailbox::Inbox => query.recipient = Some(org.id.clone()),
            Mailbox::Outbox => query.sender = Some(org.id.clone()),
            Mailbox::All => {
                // Every referral of the Fachstelle's own cases, which it sent (only the owner of a case
                // refers it), in any state and to any partner; never another Fachstelle's.
                caller.fachstelle("list all referrals")?;
                query.sender = Some(org.id.clone());
            }
        }
        let mut tx = self.store.begin_read().await?;
        let rows = tx.referrals(&query).await?;
        drop(tx);
        let next = if rows.len() == q.page_size as usize { rows.last().map(|(seq, _)| *seq) } else { None };
        let today = now.day();
        Ok(ReferralPage {
            referrals: rows
                .into_iter()
                .map(|(_, r)| {
                    let overdue = r.is_overdue(today);
                    (r, overdue)
                })
                .collect(),
            next,
        })
    }

    /// Makes a move.
    pub async fn transition(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &ReferralId,
        mv: Move,
        reason: Option<Reason>,
        completion: Option<Completion>,
    ) -> HubResult<ReferralView> {
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Referral(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.render(tx, caller, &id, false).await;
        }
        let mut p = Pending::new();
        let referral = self.apply_move(tx.as_mut(), caller, id, mv, reason, completion, &mut p).await?;
        self.finish(tx, caller, Some(idem), Some(&Outcome::Referral(referral.id.clone())), p).await?;
        self.answer(caller, &referral.id).await
    }

    /// The answer to a change just committed: the caller's view (not audited: the party reads back
    /// what it wrote) from a read snapshot, which sees the commit. Not in the write transaction nor
    /// in a second one: rendering there would keep the single writer busy (32 creating clients:
    /// 993-1,054 creates/s this way against 728-840 rendering inside the write, 720 with a second
    /// write transaction, hub-bench --only creates).
    async fn answer(&self, caller: &Caller, id: &ReferralId) -> HubResult<ReferralView> {
        let mut tx = self.store.begin_read().await?;
        let (view, _) = self.view(tx.as_mut(), caller, id, false).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Applies a move inside `tx`, collecting its events and audit record in `p`.
    #[allow(clippy::too_many_arguments)]
    async fn apply_move(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        id: &ReferralId,
        mv: Move,
        reason: Option<Reason>,
        completion: Option<Completion>,
        p: &mut Pending,
    ) -> HubResult<Referral> {
        let (code, text) = reason.map(|r| (r.code, r.text)).unwrap_or_default();
        let (reason, completion) = check_move(mv, code, &text, completion)?;
        let org = caller.org()?;
        let (mut referral, side) = self.party_referral(tx, &org.id, id).await?;
        let now = self.now();
        if mv == Move::Reopen && referral.state.is_closed() && side == Side::Sender {
            let case = tx.case(&referral.case_id).await?.ok_or(HubError::NotFound("referral"))?;
            if case.closure.is_some() {
                return Err(HubError::FailedPrecondition(case_closed()));
            }
            restricted(&case)?;
            let recipient = tx.org(&referral.recipient).await?.ok_or(HubError::NotFound("referral"))?;
            if !recipient.active {
                return Err(HubError::FailedPrecondition(
                    format!("recipient '{}' is deactivated", recipient.id).into(),
                ));
            }
            let data: Vec<DataCategory> = referral.categories().collect();
            let consents = tx.consents_of_case(&referral.case_id).await?;
            referral.disclosures = Self::disclosures(org.kind, &recipient, &consents, &data, now.day())?;
            if referral.reply_by < now.day() {
                referral.reply_by = now.day();
            }
        }
        let actor = caller.actor();
        referral
            .apply(mv, side, actor.clone(), now, reason, completion)
            .map_err(|e| HubError::FailedPrecondition(e.to_string().into()))?;
        tx.update_referral(&referral).await?;
        push_referral_events(p, &referral, EventKind::ReferralStateChanged, actor.id(), now);
        p.audit.push(audit(
            &actor,
            now,
            AuditAction::ReferralMove,
            Some(&referral.case_id),
            Some(&referral.id),
            if side == Side::Sender && mv == Move::Reopen { bases_text(&referral.disclosures) } else { "party".into() },
            AuditDetail::Moved { change: mv.to_string(), state: referral.state.to_string() },
        ));
        Ok(referral)
    }

    /// Adds a note to the thread.
    pub async fn add_note(&self, caller: &Caller, idem: &Idem, id: &ReferralId, text: String) -> HubResult<Note> {
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Note { referral, note }) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.notes(&referral).await?.into_iter().find(|n| n.id == note).ok_or(HubError::NotFound("note"));
        }
        let mut p = Pending::new();
        let (referral, note) = self.write_note(tx.as_mut(), caller, id, text, &mut p).await?;
        let out = Outcome::Note { referral: referral.id.clone(), note: note.id.clone() };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok(note)
    }

    /// The sender sets a new reply-by date on an open referral (a follow-up of an overdue one) and
    /// tells the partner with a note in the thread, which reaches it like any note (event, mail).
    /// The overdue and reminder announcements start afresh for the new date.
    pub async fn change_reply_by(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &ReferralId,
        reply_by: Day,
        message: String,
    ) -> HubResult<ReferralView> {
        let org = caller.org()?.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Referral(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.render(tx, caller, &id, false).await;
        }
        let today = self.today();
        let reply_by = crate::domain::referral::check_reply_by(reply_by, today)?;
        let (mut referral, side) = self.party_referral(tx.as_mut(), &org.id, id).await?;
        if side != Side::Sender {
            return Err(HubError::PermissionDenied("only the sender sets the reply-by date".into()));
        }
        if !referral.state.is_open() {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                "the referral is no longer open",
                "Die Vermittlung ist nicht mehr offen; eine neue Antwortfrist hat keine Wirkung.",
            )));
        }
        let before = referral.reply_by;
        referral.reply_by = reply_by;
        referral.overdue_announced = false;
        referral.escalation_announced = false;
        referral.reminded = false;
        referral.updated_at = self.now();
        tx.update_referral(&referral).await?;
        let words = crate::domain::ids::text(&message, 0, 3000).map_err(|e| e.within("message"))?;
        let text = format!(
            "Neue Antwortfrist: {} (bisher {}).{}{}",
            crate::labels::day(reply_by),
            crate::labels::day(before),
            if words.is_empty() { "" } else { " " },
            words
        );
        let mut p = Pending::new();
        self.write_note(tx.as_mut(), caller, id, text, &mut p).await?;
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::ReferralReplyBy,
            Some(&referral.case_id),
            Some(&referral.id),
            "sender".into(),
            AuditDetail::Object { id: referral.id.to_string(), note: Some(reply_by.to_string()) },
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Referral(referral.id.clone())), p).await?;
        self.answer(caller, &referral.id).await
    }

    /// The sender reminds the partner of an open referral's reply-by date: a note in the thread, which
    /// reaches the partner like any note (event, mail).
    pub async fn remind_partner(&self, caller: &Caller, idem: &Idem, id: &ReferralId) -> HubResult<Note> {
        let org = caller.org()?.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Note { referral, note }) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.notes(&referral).await?.into_iter().find(|n| n.id == note).ok_or(HubError::NotFound("note"));
        }
        let (referral, side) = self.party_referral(tx.as_mut(), &org.id, id).await?;
        if side != Side::Sender {
            return Err(HubError::PermissionDenied("only the sender sends reminders".into()));
        }
        if !referral.state.is_open() {
            return Err(HubError::FailedPrecondition(Refusal2::new(
                "the referral is no longer open",
                "Die Vermittlung ist nicht mehr offen; eine Erinnerung ist nicht nötig.",
            )));
        }
        let when = crate::labels::day(referral.reply_by);
        let text = if referral.reply_by < self.today() {
            format!("Erinnerung: Die Antwortfrist ist am {when} abgelaufen. Bitte melden Sie sich zum Stand.")
        } else {
            format!("Erinnerung: Bitte antworten Sie bis zum {when}.")
        };
        let mut p = Pending::new();
        let (referral, note) = self.write_note(tx.as_mut(), caller, id, text, &mut p).await?;
        let out = Outcome::Note { referral: referral.id.clone(), note: note.id.clone() };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok(note)
    }

    /// Writes a note inside `tx`, collecting its events and audit record in `p`.
    async fn write_note(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        id: &ReferralId,
        text: String,
        p: &mut Pending,
    ) -> HubResult<(Referral, Note)> {
        let text = note_text(&text)?;
        let org = caller.org()?;
        let (referral, _) = self.party_referral(tx, &org.id, id).await?;
        let now = self.now();
        let actor = caller.actor();
        let note =
            Note { id: NoteId::new(), referral_id: referral.id.clone(), author: actor.clone(), text, created_at: now };
        tx.insert_note(&note).await?;
        push_referral_events(p, &referral, EventKind::NoteAdded, actor.id(), now);
        p.audit.push(audit(
            &actor,
            now,
            AuditAction::NoteWrite,
            Some(&referral.case_id),
            Some(&referral.id),
            "party".into(),
            AuditDetail::object(&note.id),
        ));
        Ok((referral, note))
    }

    /// An action taken through an email link: a move or a note, recorded exactly like the gRPC
    /// call (same events, same audit), plus a confirmation mail with a receipt, in one
    /// transaction. The idempotency key comes from the link's action token, so a second submission
    /// of the same form returns the first receipt with `true` and changes nothing.
    pub async fn act_via_link(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &ReferralId,
        act: LinkAct,
    ) -> HubResult<(LinkReceipt, bool)> {
        let org = caller.org()?.clone();
        let mut tx = self.store.begin().await?;
        match self.replay(tx.as_mut(), caller, idem).await? {
            Some(Outcome::ViaLink(receipt)) => return Ok((receipt, true)),
            Some(_) => {
                return Err(FieldError::new("idempotency_key", "was already used with a different request").into());
            }
            None => {}
        }
        let mut p = Pending::new();
        let (referral, action) = match act {
            LinkAct::Move { mv, reason, completion } => {
                (self.apply_move(tx.as_mut(), caller, id, mv, reason, completion, &mut p).await?, mv.as_str())
            }
            LinkAct::Note { text } => (self.write_note(tx.as_mut(), caller, id, text, &mut p).await?.0, "NOTE"),
        };
        let now = self.now();
        let receipt = LinkReceipt {
            id: uuid::Uuid::new_v4().to_string(),
            referral: referral.id.clone(),
            org: org.id.clone(),
            action: action.to_owned(),
            state: referral.state,
            at: now,
        };
        p.mails.push(MailJob {
            receipt: Some(receipt.clone()),
            ..MailJob::about_referral(&org.id, MailKind::ActionConfirmed, &referral, now)
        });
        self.finish(tx, caller, Some(idem), Some(&Outcome::ViaLink(receipt.clone())), p).await?;
        tracing::info!(referral = %referral.id, org = %org.id, action, "action taken through an email link");
        Ok((receipt, false))
    }

    /// Lists the notes of a referral. Audited.
    pub async fn list_notes(&self, caller: &Caller, id: &ReferralId) -> HubResult<Vec<Note>> {
        let org = caller.org()?;
        let mut tx = self.store.begin().await?;
        let (referral, _) = self.party_referral(tx.as_mut(), &org.id, id).await?;
        let notes = tx.notes(&referral.id).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::NoteRead,
            Some(&referral.case_id),
            Some(&referral.id),
            "party".into(),
            AuditDetail::Count { n: notes.len() as u64, of: "notes".into() },
        ));
        self.finish(tx, caller, None, None, p).await?;
        Ok(notes)
    }
}

/// Refuses a disclosure while the case's processing is restricted (Art. 18 GDPR).
fn restricted(case: &crate::domain::case::Case) -> HubResult<()> {
    match &case.restriction {
        Some(_) => Err(HubError::FailedPrecondition(Refusal2::new(
            "processing of this case is restricted (Art. 18 GDPR): nothing is disclosed until the restriction is lifted",
            "Die Verarbeitung dieses Falls ist eingeschränkt (Art. 18 DSGVO): Es wird nichts weitergegeben, bis die \
             Einschränkung aufgehoben ist.",
        ))),
        None => Ok(()),
    }
}

fn push_referral_events(p: &mut Pending, r: &Referral, kind: EventKind, actor: &str, at: Instant) {
    let reason = r.last_reason().and_then(|x| x.code).filter(|_| kind == EventKind::ReferralStateChanged);
    for aud in [&r.sender, &r.recipient] {
        p.events.push(Event::about_referral(aud, kind, r, actor, at).with_reason(reason));
    }
    p.known.referral(r);
}

fn bases_text<'a>(ds: impl IntoIterator<Item = &'a Disclosure>) -> String {
    ds.into_iter()
        .map(|d| format!("{}={}", d.category, d.bases.iter().map(|b| b.describe()).collect::<Vec<_>>().join("|")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The refusal of any change to a closed case.
pub(super) fn case_closed() -> Refusal2 {
    Refusal2::new("the case is closed", "Der Fall ist abgeschlossen; er kann nicht mehr geändert werden.")
}

/// A party's view of `referral` on `today`: its moves, whether it is overdue, and whether each basis
/// of each disclosure is still in force under the case's `consents`.
fn compose_view(
    referral: Referral,
    side: Side,
    consents: &[Consent],
    case_view: Option<CaseView>,
    today: Day,
) -> ReferralView {
    let in_force = referral
        .disclosures
        .iter()
        .map(|d| d.bases.iter().map(|b| b.in_force(consents, &referral.recipient, d.category, today)).collect())
        .collect();
    ReferralView {
        allowed_moves: referral.state.allowed_moves(side),
        overdue: referral.is_overdue(today),
        case_view,
        in_force,
        referral,
    }
}
