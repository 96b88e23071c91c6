//! Mail jobs: the outbox of the email channel. A job is written in the same transaction as the
//! change it announces, so a commit without its mail (or a mail without its commit) cannot happen.
//! Jobs carry ids, codes and dates only; what a mail says is rendered at sending time from these
//! and never includes personal data (DSK guidance on unencrypted email).

use serde::{Deserialize, Serialize};

use super::ids::{CaseId, OrgId, ReferralId};
use super::referral::ReferralState;
use super::time::{Day, Instant};
use super::vocab::text_enum;

text_enum!(
    /// What a mail announces.
    MailKind {
        /// A new referral to the organisation.
        NewReferral = "NEW_REFERRAL",
        /// A referral to or from the organisation changed state (by someone else).
        StateChanged = "STATE_CHANGED",
        /// Someone else wrote a note on the referral.
        NoteAdded = "NOTE_ADDED",
        /// The referral is still unanswered and its reply-by date is near.
        Reminder = "REMINDER",
        /// The reply-by date passed without a decision.
        Overdue = "OVERDUE",
        /// A consent the organisation relied on was revoked or expired.
        ConsentEnded = "CONSENT_ENDED",
        /// The case was closed.
        CaseClosed = "CASE_CLOSED",
        /// Confirmation of an action the organisation took through a link, with its receipt.
        ActionConfirmed = "ACTION_CONFIRMED",
        /// Processing of the case's data was restricted (Art. 18 GDPR): do not use it for now.
        ProcessingRestricted = "PROCESSING_RESTRICTED",
        /// The restriction was lifted.
        RestrictionLifted = "RESTRICTION_LIFTED",
        /// The case was erased (Art. 17 GDPR): the recipient should erase what it received (Art. 19
        /// GDPR). Carries no link: the partner page is gone with the case.
        CaseErased = "CASE_ERASED",
        /// Data the organisation received was corrected (Art. 16 GDPR): use the corrected data from
        /// the page and correct its own records (Art. 19 GDPR).
        CaseDataRectified = "CASE_DATA_RECTIFIED",
        /// The recipient is asked to confirm that it erased, restricted or rectified data it received
        /// (Art. 19 GDPR); the mail links to the request (which outlives an erased case).
        DataRequest = "DATA_REQUEST",
    }
);

text_enum!(
    /// Delivery state of a mail job.
    JobStatus {
        /// Waiting for its next attempt.
        Pending = "PENDING",
        /// Accepted by the SMTP server.
        Sent = "SENT",
        /// Given up (permanent failure or retries exhausted); the Fachstelle was told and may re-queue.
        Dead = "DEAD",
    }
);

/// A receipt for an action taken through a link: what the hub confirms it recorded. Signed by the
/// email adapter when shown or mailed; the signature is deterministic, so the page and the mail
/// show the same text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReceipt {
    /// Receipt id (derived from the action token's nonce, so a repeated submission has the same receipt).
    pub id: String,
    /// Referral acted on.
    pub referral: ReferralId,
    /// Organisation that acted.
    pub org: OrgId,
    /// The move code (e.g. `ACCEPT`) or `NOTE`.
    pub action: String,
    /// Referral state after the action.
    pub state: ReferralState,
    /// When the hub recorded it.
    pub at: Instant,
}

/// One mail to one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    /// Job id; also the local part of the Message-ID, so retries of one job are one message to the receiver.
    pub id: String,
    /// Recipient organisation; the address is read when sending, so a corrected address applies to a re-queued job.
    pub org: OrgId,
    /// What it announces.
    pub kind: MailKind,
    /// The case (for the DELIVERY_FAILED event to its owner).
    pub case_id: CaseId,
    /// The referral, if the mail is about one (then it carries a link to the partner page).
    pub referral_id: Option<ReferralId>,
    /// Referral state when the change happened.
    pub state: Option<ReferralState>,
    /// Reply-by day when the change happened.
    pub reply_by: Option<Day>,
    /// The receipt, for ACTION_CONFIRMED.
    pub receipt: Option<LinkReceipt>,
    /// The request to confirm, for DATA_REQUEST.
    #[serde(default)]
    pub data_request: Option<super::ids::DataRequestId>,
    /// Delivery state.
    pub status: JobStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this instant.
    pub next_attempt_at: Instant,
    /// Last failure, in words safe to show (no credentials, no personal data).
    pub last_error: Option<String>,
    /// Created.
    pub created_at: Instant,
    /// Last changed.
    pub updated_at: Instant,
    /// Accepted by the SMTP server.
    pub sent_at: Option<Instant>,
    /// The dispatcher that sent it (replica and process), for operations.
    #[serde(default)]
    pub sent_by: Option<String>,
}

impl MailJob {
    /// A new pending job, due now.
    pub fn new(org: &OrgId, kind: MailKind, case_id: &CaseId, now: Instant) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            org: org.clone(),
            kind,
            case_id: case_id.clone(),
            referral_id: None,
            state: None,
            reply_by: None,
            receipt: None,
            data_request: None,
            status: JobStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            updated_at: now,
            sent_at: None,
            sent_by: None,
        }
    }

    /// A job about a referral, with its state and reply-by day as they are now.
    pub fn about_referral(org: &OrgId, kind: MailKind, r: &super::referral::Referral, now: Instant) -> Self {
        Self {
            referral_id: Some(r.id.clone()),
            state: Some(r.state),
            reply_by: Some(r.reply_by),
            ..Self::new(org, kind, &r.case_id, now)
        }
    }

    /// The mail asking `request`'s recipient to confirm it (Art. 19 GDPR).
    pub fn about_data_request(request: &super::data_request::DataRequest, now: Instant) -> Self {
        Self {
            data_request: Some(request.id.clone()),
            ..Self::new(&request.recipient, MailKind::DataRequest, &request.case_id, now)
        }
    }

    /// Records a failed attempt: due again at `retry_at`, or dead when `retry_at` is `None`.
    pub fn failed(&mut self, error: String, retry_at: Option<Instant>, now: Instant) {
        self.attempts += 1;
        self.last_error = Some(error);
        self.updated_at = now;
        match retry_at {
            Some(at) => self.next_attempt_at = at,
            None => self.status = JobStatus::Dead,
        }
    }

    /// Records delivery by dispatcher `by`.
    pub fn sent(&mut self, by: &str, now: Instant) {
        self.attempts += 1;
        self.sent_by = Some(by.to_owned());
        self.status = JobStatus::Sent;
        self.sent_at = Some(now);
        self.last_error = None;
        self.updated_at = now;
    }

    /// Puts a dead job back in the queue with fresh attempts (after the address was fixed).
    pub fn requeue(&mut self, now: Instant) {
        self.status = JobStatus::Pending;
        self.attempts = 0;
        self.next_attempt_at = now;
        self.updated_at = now;
    }
}
