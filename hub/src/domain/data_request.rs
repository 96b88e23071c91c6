//! What a recipient is asked to do with the data it received when the data or its legal basis
//! changes (Art. 19 GDPR), and the recipient's confirmation. After a consent ends, a case is erased,
//! its processing restricted or its data rectified, every organisation that received data of the
//! case is told per referral; the request records that, and the confirmation ("gelöscht",
//! "eingeschränkt", "berichtigt") with its signed receipt is the Fachstelle's evidence that the
//! recipient did it. A request holds no personal data (ids, categories, dates), so it outlives the
//! erasure of its case.

use serde::{Deserialize, Serialize};

use super::Refusal;
use super::ids::{Actor, CaseId, DataRequestId, OrgId, ReferralId};
use super::referral::Referral;
use super::time::{Day, Instant};
use super::vocab::{DataCategory, ReferralCategory, text_enum};
use super::workdays;

text_enum!(
    /// Why a recipient is asked to act on data it received.
    DataRequestCause {
        /// The household revoked the consent the data was sent under.
        ConsentRevoked = "CONSENT_REVOKED",
        /// The consent the data was sent under expired.
        ConsentExpired = "CONSENT_EXPIRED",
        /// The case was erased (on request, or at the end of its retention period).
        CaseErased = "CASE_ERASED",
        /// The processing of the case's data was restricted (Art. 18 GDPR).
        ProcessingRestricted = "PROCESSING_RESTRICTED",
        /// Data sent was wrong and has been rectified (Art. 16 GDPR).
        DataRectified = "DATA_RECTIFIED",
    }
);

text_enum!(
    /// What the recipient is asked to do, and confirms it did.
    DataRequestAsk {
        /// Erase what it received.
        Erase = "ERASE",
        /// Restrict its processing: keep, but neither use nor pass on.
        Restrict = "RESTRICT",
        /// Replace it with the rectified data.
        Rectify = "RECTIFY",
    }
);

impl DataRequestCause {
    /// What the cause asks of the recipient.
    pub fn ask(self) -> DataRequestAsk {
        match self {
            Self::ConsentRevoked | Self::ConsentExpired | Self::CaseErased => DataRequestAsk::Erase,
            Self::ProcessingRestricted => DataRequestAsk::Restrict,
            Self::DataRectified => DataRequestAsk::Rectify,
        }
    }
}

/// The recipient's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// When it was recorded.
    pub at: Instant,
    /// Who confirmed (organisation and staff member).
    pub by: Actor,
    /// The signed receipt handed to the recipient, kept so that asking again returns the same one.
    pub receipt: String,
}

/// A request to one recipient about the data of one referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRequest {
    /// Id.
    pub id: DataRequestId,
    /// The Fachstelle that sent the data (and owns the case).
    pub owner: OrgId,
    /// The organisation asked.
    pub recipient: OrgId,
    /// The case (its id only).
    pub case_id: CaseId,
    /// The referral the data was sent with.
    pub referral_id: ReferralId,
    /// What the referral was about, so the recipient recognises it after the case is erased.
    pub referral_category: ReferralCategory,
    /// Why.
    pub cause: DataRequestCause,
    /// The kinds of data concerned; empty means all the recipient received with the referral.
    pub categories: Vec<DataCategory>,
    /// When the recipient was told.
    pub requested_at: Instant,
    /// Confirmation expected by this day.
    pub due: Day,
    /// The recipient's confirmation, once given.
    pub confirmation: Option<Confirmation>,
}

impl DataRequest {
    /// The request that telling `referral`'s recipient of `cause` opens, due `working_days` working
    /// days after `now`.
    pub fn new(
        cause: DataRequestCause,
        referral: &Referral,
        categories: Vec<DataCategory>,
        now: Instant,
        working_days: u32,
    ) -> Self {
        Self {
            id: DataRequestId::new(),
            owner: referral.sender.clone(),
            recipient: referral.recipient.clone(),
            case_id: referral.case_id.clone(),
            referral_id: referral.id.clone(),
            referral_category: referral.category,
            cause,
            categories,
            requested_at: now,
            due: workdays::add_working_days(now.day(), working_days),
            confirmation: None,
        }
    }

    /// What the recipient is asked to do.
    pub fn ask(&self) -> DataRequestAsk {
        self.cause.ask()
    }

    /// Not confirmed yet.
    pub fn is_open(&self) -> bool {
        self.confirmation.is_none()
    }

    /// Not confirmed by its due day, as of `today`.
    pub fn is_overdue(&self, today: Day) -> bool {
        self.is_open() && self.due < today
    }

    /// Records the confirmation. A request is confirmed once; the edge answers a repeated confirmation
    /// with the first receipt instead.
    pub fn confirm(&mut self, by: Actor, at: Instant, receipt: String) -> Result<(), Refusal> {
        if self.confirmation.is_some() {
            return Err(Refusal::new("the request is already confirmed", "Diese Bitte ist bereits bestätigt."));
        }
        self.confirmation = Some(Confirmation { at, by, receipt });
        Ok(())
    }
}

/// What a receipt for a confirmation states, signed with the hub's audit seal key (Ed25519): the
/// recipient can show it, and anyone with the hub's public key can check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationReceipt {
    /// The request confirmed.
    pub request: String,
    /// The organisation that confirmed.
    pub org: String,
    /// The case (id only).
    pub case: String,
    /// The referral.
    pub referral: String,
    /// What was confirmed (`ERASE`, `RESTRICT`, `RECTIFY`).
    pub done: String,
    /// The categories concerned.
    pub categories: Vec<String>,
    /// When the confirmation was recorded (Unix milliseconds).
    pub at_ms: i64,
}

impl ConfirmationReceipt {
    /// The receipt's content for `request` confirmed at `at` by `org`.
    pub fn of(request: &DataRequest, org: &OrgId, at: Instant) -> Self {
        Self {
            request: request.id.to_string(),
            org: org.to_string(),
            case: request.case_id.to_string(),
            referral: request.referral_id.to_string(),
            done: request.ask().as_str().to_owned(),
            categories: request.categories.iter().map(|c| c.as_str().to_owned()).collect(),
            at_ms: at.millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_ask_the_right_thing() {
        assert_eq!(DataRequestCause::ConsentRevoked.ask(), DataRequestAsk::Erase);
        assert_eq!(DataRequestCause::ConsentExpired.ask(), DataRequestAsk::Erase);
        assert_eq!(DataRequestCause::CaseErased.ask(), DataRequestAsk::Erase);
        assert_eq!(DataRequestCause::ProcessingRestricted.ask(), DataRequestAsk::Restrict);
        assert_eq!(DataRequestCause::DataRectified.ask(), DataRequestAsk::Rectify);
    }
}
