//! Referrals and their lifecycle, modelled on FHIR Task: the recipient moves the work forward, the
//! sender only cancels or reopens, and every move is kept as a handoff with its time.

use serde::{Deserialize, Serialize};

use super::basis::Disclosure;
use super::ids::{Actor, CaseId, Cents, OrgId, ReferralId};
use super::time::{Day, Instant};
use super::vocab::{CompletionResult, DataCategory, ReasonCode, ReferralCategory, text_enum};

text_enum!(
    /// State of a referral.
    ReferralState {
        /// Sent.
        Requested = "REQUESTED",
        /// Acknowledged.
        Received = "RECEIVED",
        /// Accepted.
        Accepted = "ACCEPTED",
        /// Declined (closed).
        Declined = "DECLINED",
        /// In progress.
        InProgress = "IN_PROGRESS",
        /// On hold.
        OnHold = "ON_HOLD",
        /// Completed (closed).
        Completed = "COMPLETED",
        /// Failed (closed).
        Failed = "FAILED",
        /// Cancelled (closed).
        Cancelled = "CANCELLED",
    }
);

text_enum!(
    /// A move on a referral.
    Move {
        /// REQUESTED -> RECEIVED.
        Acknowledge = "ACKNOWLEDGE",
        /// RECEIVED -> ACCEPTED.
        Accept = "ACCEPT",
        /// RECEIVED -> DECLINED.
        Decline = "DECLINE",
        /// ACCEPTED | ON_HOLD -> IN_PROGRESS.
        Start = "START",
        /// IN_PROGRESS -> ON_HOLD.
        Hold = "HOLD",
        /// IN_PROGRESS | ON_HOLD -> COMPLETED.
        Complete = "COMPLETE",
        /// IN_PROGRESS | ON_HOLD -> FAILED.
        Fail = "FAIL",
        /// Open -> CANCELLED (sender).
        Cancel = "CANCEL",
        /// Closed -> REQUESTED (sender).
        Reopen = "REOPEN",
    }
);

/// Which side of a referral the caller is on. Decides who may make which move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The organisation that sent the referral.
    Sender,
    /// The organisation it is addressed to.
    Recipient,
}

impl ReferralState {
    /// Open states: the referral still asks for something.
    pub fn is_open(self) -> bool {
        !self.is_closed()
    }

    /// Closed states.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Declined | Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The recipient has not decided yet; such a referral can be overdue.
    pub fn awaits_decision(self) -> bool {
        matches!(self, Self::Requested | Self::Received)
    }

    /// The state a move leads to from here, for the given side, or `None` if the move is illegal.
    /// This table is the whole lifecycle.
    pub fn after(self, mv: Move, side: Side) -> Option<ReferralState> {
        use Move as M;
        use ReferralState as S;
        match (side, self, mv) {
            (Side::Recipient, S::Requested, M::Acknowledge) => Some(S::Received),
            (Side::Recipient, S::Received, M::Accept) => Some(S::Accepted),
            (Side::Recipient, S::Received, M::Decline) => Some(S::Declined),
            (Side::Recipient, S::Accepted | S::OnHold, M::Start) => Some(S::InProgress),
            (Side::Recipient, S::InProgress, M::Hold) => Some(S::OnHold),
            (Side::Recipient, S::InProgress | S::OnHold, M::Complete) => Some(S::Completed),
            (Side::Recipient, S::InProgress | S::OnHold, M::Fail) => Some(S::Failed),
            (Side::Sender, s, M::Cancel) if s.is_open() => Some(S::Cancelled),
            (Side::Sender, s, M::Reopen) if s.is_closed() => Some(S::Requested),
            _ => None,
        }
    }

    /// Moves the given side may make from this state.
    pub fn allowed_moves(self, side: Side) -> Vec<Move> {
        Move::ALL.iter().copied().filter(|m| self.after(*m, side).is_some()).collect()
    }
}

/// Why a move was refused: the current state and what would have been allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalMove {
    /// The move asked for.
    pub requested: Move,
    /// The referral's state.
    pub current: ReferralState,
    /// Moves the caller may make now.
    pub allowed: Vec<Move>,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allowed = if self.allowed.is_empty() {
            "none".to_owned()
        } else {
            self.allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        };
        write!(
            f,
            "move {} is not allowed: the referral is {}; moves allowed to you: {allowed}",
            self.requested, self.current
        )
    }
}

/// Reason for a decline, failure or cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Coded reason.
    pub code: Option<ReasonCode>,
    /// Text.
    pub text: String,
}

/// Outcome reported on completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The result.
    pub result: CompletionResult,
    /// Amount, if any.
    pub amount: Option<Cents>,
    /// Payment or effective date.
    pub effective_date: Option<Day>,
    /// Free text for the sender.
    pub summary: String,
}

/// One handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// State before (`None` for creation).
    pub from: Option<ReferralState>,
    /// State after.
    pub to: ReferralState,
    /// The move, `None` for creation.
    pub mv: Option<Move>,
    /// Who made it.
    pub actor: Actor,
    /// When.
    pub at: Instant,
    /// Reason, where one applies.
    pub reason: Option<Reason>,
}

/// A referral with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// Id.
    pub id: ReferralId,
    /// Case.
    pub case_id: CaseId,
    /// Sender.
    pub sender: OrgId,
    /// Recipient.
    pub recipient: OrgId,
    /// What is asked.
    pub category: ReferralCategory,
    /// Each disclosed category with the legal basis it was disclosed on.
    pub disclosures: Vec<Disclosure>,
    /// Message to the recipient.
    pub message: String,
    /// Reply-by day.
    pub reply_by: Day,
    /// Current state.
    pub state: ReferralState,
    /// Outcome, once completed.
    pub completion: Option<Completion>,
    /// Every handoff, oldest first.
    pub history: Vec<Transition>,
    /// Created.
    pub created_at: Instant,
    /// Last change.
    pub updated_at: Instant,
    /// Reply-by date passed and the sender was told (set once, so a restart never repeats it).
    #[serde(default)]
    pub overdue_announced: bool,
    /// Escalated at the second threshold (set once).
    #[serde(default)]
    pub escalation_announced: bool,
    /// An email recipient was reminded before the reply-by date (set once).
    #[serde(default)]
    pub reminded: bool,
    /// Private: a referral is made only by [`Referral::request`] (its fields stay readable).
    #[serde(skip)]
    made: Made,
}

/// The mark of a value made by its module's constructor; no other code can name or build it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Made;

/// What a new referral asks and discloses, after [`check_request`] and the legal bases.
#[derive(Debug, Clone)]
pub struct ReferralDraft {
    /// Case.
    pub case_id: CaseId,
    /// Sender.
    pub sender: OrgId,
    /// Recipient.
    pub recipient: OrgId,
    /// What is asked.
    pub category: ReferralCategory,
    /// Each disclosed category with its bases.
    pub disclosures: Vec<Disclosure>,
    /// Message to the recipient.
    pub message: String,
    /// Reply-by day.
    pub reply_by: Day,
}

/// What a move says for itself, checked once here for every edge (gRPC, the partner page): a reason text
/// of at most 2000 characters; no reason code the hub keeps for itself; a coded reason for declining,
/// failing and cancelling, a text with OTHER and for reopening; a result exactly with COMPLETE, its
/// summary at most 4000 characters. Returns the reason (none when neither code nor text is given) and
/// the completion, trimmed.
pub fn check_move(
    mv: Move,
    code: Option<ReasonCode>,
    text: &str,
    completion: Option<Completion>,
) -> Result<(Option<Reason>, Option<Completion>), super::FieldError> {
    use super::FieldError;
    let text = super::ids::text(text, 0, 2000).map_err(|e| e.within("reason_text"))?;
    if code.is_some_and(ReasonCode::is_hub_only) {
        return Err(FieldError::new("reason_code", "is set by the hub only")
            .de("Diesen Grund setzt nur der Hub; bitte wählen Sie einen anderen."));
    }
    if matches!(mv, Move::Decline | Move::Fail | Move::Cancel) && code.is_none() {
        return Err(FieldError::new("reason_code", format!("is required for {mv}")).de("Bitte wählen Sie einen Grund."));
    }
    if code == Some(ReasonCode::Other) && text.is_empty() {
        return Err(FieldError::new("reason_text", "is required with reason code OTHER")
            .de("Bitte beschreiben Sie den Grund „Sonstiges“ kurz."));
    }
    if mv == Move::Reopen && text.is_empty() {
        return Err(
            FieldError::new("reason_text", "is required for REOPEN").de("Bitte begründen Sie das Wiederöffnen.")
        );
    }
    let completion = match (mv, completion) {
        (Move::Complete, None) => {
            return Err(FieldError::new("outcome", "is required for COMPLETE").de("Bitte wählen Sie ein Ergebnis."));
        }
        (Move::Complete, Some(c)) => {
            let summary = super::ids::text(&c.summary, 0, 4000).map_err(|e| e.within("outcome.summary"))?;
            Some(Completion { summary, ..c })
        }
        (_, Some(_)) => {
            return Err(FieldError::new("outcome", "is only allowed with COMPLETE")
                .de("Ein Ergebnis gibt es nur beim Abschließen."));
        }
        (_, None) => None,
    };
    let reason = (code.is_some() || !text.is_empty()).then_some(Reason { code, text });
    Ok((reason, completion))
}

/// A note's text: 1 to 4000 characters (checked here for every edge).
pub fn note_text(text: &str) -> Result<String, super::FieldError> {
    super::ids::text(text, 1, 4000).map_err(|e| e.within("text"))
}

/// The furthest ahead a referral's reply-by date may lie: about three months. A partner asked to answer
/// later than that is not asked at all, and a typo such as 2099 must not hide a referral from the
/// overdue list for decades.
pub const MAX_REPLY_DAYS: i64 = 92;

/// Longest message to the recipient.
const MAX_MESSAGE: usize = 4000;

/// What a new referral asks, checked once here for every edge before anything is disclosed: at least one
/// data category, each once; a message of at most 4000 characters; a reply-by date from today to
/// [`MAX_REPLY_DAYS`] ahead (none: the SLA default). Returns the trimmed message.
pub fn check_request(
    data: &[DataCategory],
    message: &str,
    reply_by: Option<Day>,
    today: Day,
) -> Result<String, super::FieldError> {
    super::consent::nonempty_unique(
        data,
        "data_categories",
        "must name at least one data category",
        "Bitte wählen Sie mindestens eine Datenkategorie.",
    )?;
    let message = super::ids::text(message, 0, MAX_MESSAGE).map_err(|e| e.within("message"))?;
    if let Some(d) = reply_by {
        check_reply_by(d, today)?;
    }
    Ok(message)
}

/// A reply-by date, for a new referral or a new one of an open referral: from today to
/// [`MAX_REPLY_DAYS`] ahead.
pub fn check_reply_by(d: Day, today: Day) -> Result<Day, super::FieldError> {
    use super::FieldError;
    if d < today {
        return Err(
            FieldError::new("reply_by", "must not be in the past").de("Darf nicht in der Vergangenheit liegen.")
        );
    }
    let latest = today.plus_days(MAX_REPLY_DAYS);
    if d > latest {
        return Err(FieldError::new(
            "reply_by",
            format!("must be at most {MAX_REPLY_DAYS} days ahead (latest {latest})"),
        )
        .de(format!("Höchstens {MAX_REPLY_DAYS} Tage im Voraus, also spätestens am {}.", crate::labels::day(latest))));
    }
    Ok(d)
}

impl Referral {
    /// A new referral in REQUESTED, with its first handoff by `actor` at `now`: the only way to make one.
    pub fn request(draft: ReferralDraft, actor: Actor, now: Instant) -> Self {
        Self {
            id: ReferralId::new(),
            case_id: draft.case_id,
            sender: draft.sender,
            recipient: draft.recipient,
            category: draft.category,
            disclosures: draft.disclosures,
            message: draft.message,
            reply_by: draft.reply_by,
            state: ReferralState::Requested,
            completion: None,
            history: vec![Transition {
                from: None,
                to: ReferralState::Requested,
                mv: None,
                actor,
                at: now,
                reason: None,
            }],
            created_at: now,
            updated_at: now,
            overdue_announced: false,
            escalation_announced: false,
            reminded: false,
            made: Made,
        }
    }

    /// The open referral among `others` that asks `recipient` for the same `category`, if any: a second
    /// one is usually a mistake (a double click, a colleague's referral overlooked) and is sent only when
    /// the caseworker confirms it.
    pub fn open_duplicate<'a>(
        others: &'a [Referral],
        recipient: &OrgId,
        category: ReferralCategory,
    ) -> Option<&'a Referral> {
        others.iter().find(|r| r.state.is_open() && &r.recipient == recipient && r.category == category)
    }

    /// The one rule for a referral whose consent ends (revoked or expired), chosen for the household's
    /// benefit (DOMAIN.md rule 5): an open referral stays open, without the categories that lost every
    /// basis (they are withheld from then on), as long as what remains still serves its purpose: every
    /// essential category it was sent with ([`ReferralCategory::essential_data`]) keeps a basis, and at
    /// least one category does. Otherwise it is cancelled with CONSENT_REVOKED or CONSENT_EXPIRED.
    pub fn survives_basis_loss(&self, consents: &[super::consent::Consent], today: Day) -> bool {
        let readable = |c: DataCategory| {
            self.disclosures.iter().any(|d| d.category == c && d.readable(consents, &self.recipient, today))
        };
        let essential_kept = self
            .category
            .essential_data()
            .iter()
            .filter(|c| self.disclosures.iter().any(|d| d.category == **c))
            .all(|c| readable(*c));
        essential_kept && self.disclosures.iter().any(|d| readable(d.category))
    }

    /// The side `org` is on, if any. The Fachstelle sending to itself is treated as sender.
    pub fn side_of(&self, org: &OrgId) -> Option<Side> {
        if &self.recipient == org && &self.sender != org {
            Some(Side::Recipient)
        } else if &self.sender == org {
            Some(Side::Sender)
        } else {
            None
        }
    }

    /// Overdue: the reply-by day has passed and the recipient has not decided.
    pub fn is_overdue(&self, today: Day) -> bool {
        self.state.awaits_decision() && self.reply_by < today
    }

    /// The latest reason given (decline, fail, cancel, reopen).
    pub fn last_reason(&self) -> Option<&Reason> {
        self.history.last().and_then(|t| t.reason.as_ref())
    }

    /// Takes a newly recorded consent as a further basis of every disclosure it covers, so an open
    /// referral goes on resting on the household's current consent (a renewal before the old one
    /// expires keeps the referral alive). Returns the categories that gained the basis.
    pub fn adopt_consent(&mut self, consent: &super::consent::Consent, today: Day) -> Vec<DataCategory> {
        let basis = super::basis::LegalBasis::Consent(consent.id.clone());
        let mut gained = Vec::new();
        if !self.state.is_open() {
            return gained;
        }
        for d in &mut self.disclosures {
            if consent.covers(&self.recipient, d.category, today) && !d.bases.contains(&basis) {
                d.bases.push(basis.clone());
                gained.push(d.category);
            }
        }
        gained
    }

    /// The data categories disclosed.
    pub fn categories(&self) -> impl Iterator<Item = DataCategory> + '_ {
        self.disclosures.iter().map(|d| d.category)
    }

    /// Applies a move, recording the handoff. Returns the refusal if the move is illegal for `side`.
    pub fn apply(
        &mut self,
        mv: Move,
        side: Side,
        actor: Actor,
        at: Instant,
        reason: Option<Reason>,
        completion: Option<Completion>,
    ) -> Result<(), IllegalMove> {
        let to = self.state.after(mv, side).ok_or_else(|| IllegalMove {
            requested: mv,
            current: self.state,
            allowed: self.state.allowed_moves(side),
        })?;
        self.history.push(Transition { from: Some(self.state), to, mv: Some(mv), actor, at, reason });
        if mv == Move::Complete {
            self.completion = completion;
        } else if mv == Move::Reopen {
            self.completion = None;
        }
        self.state = to;
        self.updated_at = at;
        Ok(())
    }

    /// Cancels the referral on the hub's own authority (consent revoked or expired, case closed).
    /// Bypasses the side rules on purpose: the hub must be able to stop a disclosure.
    pub fn cancel_by_hub(&mut self, code: ReasonCode, text: &str, at: Instant) {
        if self.state.is_closed() {
            return;
        }
        self.history.push(Transition {
            from: Some(self.state),
            to: ReferralState::Cancelled,
            mv: Some(Move::Cancel),
            actor: Actor::Hub,
            at,
            reason: Some(Reason { code: Some(code), text: text.to_owned() }),
        });
        self.state = ReferralState::Cancelled;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_says_what_it_needs_for_every_edge() {
        let done = |summary: &str| Completion {
            result: CompletionResult::ApprovedLoan,
            amount: None,
            effective_date: None,
            summary: summary.into(),
        };
        let field = |r: Result<(Option<Reason>, Option<Completion>), crate::domain::FieldError>| r.unwrap_err().field;
        assert_eq!(field(check_move(Move::Decline, None, "", None)), "reason_code");
        assert_eq!(field(check_move(Move::Decline, Some(ReasonCode::Other), "  ", None)), "reason_text");
        assert_eq!(field(check_move(Move::Decline, Some(ReasonCode::CaseClosed), "", None)), "reason_code");
        assert_eq!(field(check_move(Move::Reopen, None, "", None)), "reason_text");
        assert_eq!(field(check_move(Move::Accept, None, &"x".repeat(2001), None)), "reason_text");
        assert_eq!(field(check_move(Move::Complete, None, "", None)), "outcome");
        assert_eq!(field(check_move(Move::Accept, None, "", Some(done("")))), "outcome");
        assert_eq!(field(check_move(Move::Complete, None, "", Some(done(&"s".repeat(4001))))), "outcome.summary");
        let (reason, completion) = check_move(Move::Complete, None, "  ", Some(done(" bewilligt "))).unwrap();
        assert_eq!((reason, completion.map(|c| c.summary)), (None, Some("bewilligt".into())));
        assert!(check_move(Move::Decline, Some(ReasonCode::NotResponsible), "", None).unwrap().0.is_some());
        assert!(note_text(" ").is_err() && note_text(&"n".repeat(4001)).is_err() && note_text("ok").is_ok());
    }
    use ReferralState as S;

    #[test]
    fn recipient_path_to_completion() {
        let mut s = S::Requested;
        for mv in [Move::Acknowledge, Move::Accept, Move::Start, Move::Hold, Move::Start, Move::Complete] {
            s = s.after(mv, Side::Recipient).unwrap_or_else(|| panic!("{mv} from {s}"));
        }
        assert_eq!(s, S::Completed);
    }

    #[test]
    fn sender_only_cancels_or_reopens() {
        for s in S::ALL {
            let moves = s.allowed_moves(Side::Sender);
            if s.is_open() {
                assert_eq!(moves, vec![Move::Cancel], "{s}");
            } else {
                assert_eq!(moves, vec![Move::Reopen], "{s}");
            }
        }
    }

    #[test]
    fn recipient_never_cancels_or_reopens_and_closed_states_are_final_for_it() {
        for s in S::ALL {
            let moves = s.allowed_moves(Side::Recipient);
            assert!(!moves.contains(&Move::Cancel) && !moves.contains(&Move::Reopen));
            if s.is_closed() {
                assert!(moves.is_empty(), "{s}");
            }
        }
    }

    #[test]
    fn illegal_move_names_state_and_allowed_moves() {
        let e = IllegalMove { requested: Move::Accept, current: S::Requested, allowed: vec![Move::Acknowledge] };
        let msg = e.to_string();
        assert!(msg.contains("REQUESTED") && msg.contains("ACKNOWLEDGE") && msg.contains("ACCEPT"));
    }
}
