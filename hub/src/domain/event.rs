//! Events: what happened, addressed to one organisation each. They carry ids and codes, never
//! personal data, so a stream can be handed to any integration without a legal basis of its own.

use super::ids::{CaseId, ConsentId, OrgId, ReferralId};
use super::referral::ReferralState;
use super::time::Instant;
use super::vocab::{DataCategory, EventKind, ReasonCode};

/// An event for one audience organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Position in the global stream (0 until stored).
    pub cursor: u64,
    /// The organisation that may see it.
    pub audience: OrgId,
    /// Kind.
    pub kind: EventKind,
    /// Case.
    pub case_id: CaseId,
    /// Referral, if any.
    pub referral_id: Option<ReferralId>,
    /// Consent, if any.
    pub consent_id: Option<ConsentId>,
    /// Referral state after the change.
    pub state: Option<ReferralState>,
    /// Reason code.
    pub reason: Option<ReasonCode>,
    /// Actor id (organisation, `hub`).
    pub actor: String,
    /// When committed.
    pub at: Instant,
    /// Categories concerned (consent events).
    pub categories: Vec<DataCategory>,
    /// The deadline concerned (DEADLINE_APPROACHING).
    #[serde(default)]
    pub deadline: Option<super::deadline::CaseDeadline>,
    /// The notice concerned (NOTICE_RECEIVED).
    #[serde(default)]
    pub notice_id: Option<super::ids::NoticeId>,
    /// The mail job concerned (DELIVERY_FAILED).
    #[serde(default)]
    pub delivery_id: Option<String>,
}

impl Event {
    /// An event about a case for one audience; everything else empty.
    pub fn new(audience: &OrgId, kind: EventKind, case_id: &CaseId, actor: &str, at: Instant) -> Self {
        Self {
            cursor: 0,
            audience: audience.clone(),
            kind,
            case_id: case_id.clone(),
            referral_id: None,
            consent_id: None,
            state: None,
            reason: None,
            actor: actor.to_owned(),
            at,
            categories: vec![],
            deadline: None,
            notice_id: None,
            delivery_id: None,
        }
    }

    /// An event about a referral (its id and state after the change) for one audience.
    pub fn about_referral(
        audience: &OrgId,
        kind: EventKind,
        r: &super::referral::Referral,
        actor: &str,
        at: Instant,
    ) -> Self {
        Self {
            referral_id: Some(r.id.clone()),
            state: Some(r.state),
            ..Self::new(audience, kind, &r.case_id, actor, at)
        }
    }

    /// Sets the reason code.
    #[must_use]
    pub fn with_reason(mut self, reason: Option<ReasonCode>) -> Self {
        self.reason = reason;
        self
    }
}
