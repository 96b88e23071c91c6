//! The email outbox as a use case: which changes become mails (written in the transaction of the
//! change, see [`Hub::finish`]), claiming due mails for a dispatcher, recording what sending did,
//! and the Fachstelle's view of deliveries with re-queueing of dead letters.

use crate::domain::audit::{AuditAction, AuditDetail};
use std::collections::HashMap;

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, OrgId, ReferralId};
use crate::domain::mail::{JobStatus, MailJob, MailKind};
use crate::domain::org::{Delivery, EmailAddress, Organisation};
use crate::domain::referral::Referral;
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{EventKind, OrgKind, ReferralCategory};
use crate::store::{MailQuery, Tx};

/// Most deliveries one listing returns.
const MAX_PAGE: u32 = 1000;

/// What sending a claimed mail did.
#[derive(Debug, Clone)]
pub enum DeliveryResult {
    /// The SMTP server accepted it; sent by this dispatcher.
    Sent {
        /// The dispatcher's name.
        by: String,
    },
    /// It failed; retry at the given instant, or give up (dead letter) when `None`.
    Failed {
        /// Why, in words safe to store and show.
        error: String,
        /// When to try again.
        retry_at: Option<Instant>,
    },
}

/// What the dispatcher needs to address and render a mail. No personal data: names of
/// organisations, the category and codes only.
#[derive(Debug, Clone)]
pub struct MailFacts {
    /// Where to send it (the organisation's current address).
    pub to: EmailAddress,
    /// The recipient organisation's display name.
    pub recipient_name: String,
    /// The referral's category, if the mail is about a referral.
    pub category: Option<ReferralCategory>,
    /// Display name of the organisation that sent the referral (or owns the case).
    pub sender_name: String,
    /// The referral a DATA_REQUEST mail is about (it may be erased with its case already).
    pub referral: Option<ReferralId>,
}

/// What a use case already holds that the mails of its events need: read once per transaction at
/// most, and not at all when the use case read it itself.
#[derive(Default)]
pub(super) struct Known {
    /// Whether an organisation is reached by mail.
    email_partners: HashMap<OrgId, bool>,
    /// The reply-by date of a referral as the use case leaves it.
    reply_by: HashMap<ReferralId, Day>,
}

impl Known {
    /// Notes an organisation the use case read.
    pub(super) fn org(&mut self, org: &Organisation) {
        self.email_partners.insert(org.id.clone(), matches!(org.delivery, Delivery::Email(_)));
    }

    /// Notes a referral as the use case leaves it.
    pub(super) fn referral(&mut self, r: &Referral) {
        self.reply_by.insert(r.id.clone(), r.reply_by);
    }

    async fn email_partner(&mut self, tx: &mut dyn Tx, org: &OrgId) -> HubResult<bool> {
        if let Some(v) = self.email_partners.get(org) {
            return Ok(*v);
        }
        let v = tx.org(org).await?.is_some_and(|o| matches!(o.delivery, Delivery::Email(_)));
        self.email_partners.insert(org.clone(), v);
        Ok(v)
    }

    async fn reply_by(&mut self, tx: &mut dyn Tx, id: &ReferralId) -> HubResult<Option<Day>> {
        if let Some(d) = self.reply_by.get(id) {
            return Ok(Some(*d));
        }
        Ok(tx.referral(id).await?.map(|r| r.reply_by))
    }
}

/// Filter of a delivery listing.
#[derive(Debug, Clone, Default)]
pub struct ListDeliveries {
    /// Only this state.
    pub status: Option<JobStatus>,
    /// Only to this organisation.
    pub org: Option<OrgId>,
    /// Only about this referral.
    pub referral: Option<ReferralId>,
    /// Page size (0: 100).
    pub page_size: u32,
}

/// The mail an event becomes for an email partner, if any. The partner's own actions (through a
/// link) are confirmed by an ACTION_CONFIRMED mail instead, and events only the Fachstelle
/// receives (which must use gRPC) have none.
fn mail_for_event(e: &Event) -> Option<MailJob> {
    if e.actor == e.audience.as_str() {
        return None;
    }
    let kind = match e.kind {
        EventKind::ReferralCreated => MailKind::NewReferral,
        EventKind::ReferralStateChanged => MailKind::StateChanged,
        EventKind::NoteAdded => MailKind::NoteAdded,
        EventKind::ConsentRevoked | EventKind::ConsentExpired => MailKind::ConsentEnded,
        EventKind::CaseClosed => MailKind::CaseClosed,
        EventKind::ReferralOverdue | EventKind::ReferralEscalated => MailKind::Overdue,
        EventKind::ProcessingRestricted => MailKind::ProcessingRestricted,
        EventKind::RestrictionLifted => MailKind::RestrictionLifted,
        // Art. 19 GDPR: every recipient learns of the erasure; the referral is gone by then, so the
        // mail carries no link.
        EventKind::CaseErased => MailKind::CaseErased,
        // Art. 19 GDPR: a recipient of corrected data is told; only recipients get this event (the
        // owner's own copy is filtered out above, its actor being the owner).
        EventKind::CaseDataRectified => MailKind::CaseDataRectified,
        EventKind::CaseOpened
        | EventKind::ConsentRecorded
        | EventKind::ThreatStageRecorded
        | EventKind::DeadlineApproaching
        | EventKind::NoticeReceived
        | EventKind::DeliveryFailed => return None,
    };
    let mut job = MailJob::new(&e.audience, kind, &e.case_id, e.at);
    job.referral_id = e.referral_id.clone();
    job.state = e.state;
    Some(job)
}

/// The Fachstelle that owns `case`, or owned it before it was erased (its CASE_ERASED mails
/// outlive it; a dead one is reported to, listed for and re-queued by that Fachstelle).
async fn case_owner(tx: &mut dyn Tx, case: &CaseId) -> HubResult<Option<OrgId>> {
    if let Some(c) = tx.case(case).await? {
        return Ok(Some(c.owner));
    }
    Ok(tx.erasure(case).await?.map(|e| e.owner))
}

impl Hub {
    /// Turns the pending events addressed to email partners into mail jobs and writes every mail
    /// job of `p`, inside the change's transaction.
    pub(super) async fn enqueue_mails(&self, tx: &mut dyn Tx, p: &mut Pending) -> HubResult<usize> {
        let known = &mut p.known;
        let mut jobs: Vec<MailJob> = Vec::new();
        for e in &p.events {
            let Some(mut job) = mail_for_event(e) else { continue };
            if !known.email_partner(tx, &e.audience).await? {
                continue;
            }
            if let Some(id) = &job.referral_id {
                job.reply_by = known.reply_by(tx, id).await?;
            }
            jobs.push(job);
        }
        // Every request to an email partner comes with a mail that links to it, so a partner without
        // an account confirms it too.
        for r in &p.requests {
            if known.email_partner(tx, &r.recipient).await? {
                jobs.push(MailJob::about_data_request(r, r.requested_at));
            }
        }
        for job in jobs.iter().chain(&p.mails) {
            tx.insert_mail(job).await?;
        }
        Ok(jobs.len() + p.mails.len())
    }

    /// Claims up to `limit` due mails for the dispatcher `owner`, leased for `lease_secs`.
    pub async fn claim_mails(&self, owner: &str, lease_secs: u64, limit: u32) -> HubResult<Vec<MailJob>> {
        let now = self.now();
        Ok(self.store.claim_mails(owner, now, lease_end(now, lease_secs), limit).await?)
    }

    /// Extends the leases of the dispatcher `owner` by `lease_secs` from now, while it is still sending.
    pub async fn renew_mail_leases(&self, owner: &str, lease_secs: u64) -> HubResult<u64> {
        Ok(self.store.renew_mail_leases(owner, lease_end(self.now(), lease_secs)).await?)
    }

    /// Frees the leases of the dispatcher `owner` on mail it has not sent (at shutdown).
    pub async fn release_mail_leases(&self, owner: &str) -> HubResult<u64> {
        Ok(self.store.release_mail_leases(owner).await?)
    }

    /// Where and what to send for `job`; `Err(reason)` inside when it cannot be sent at all (the
    /// organisation is no longer an email partner or is deactivated), which dead-letters it. A
    /// CASE_ERASED mail outlives its referral and case: its sender is the erased case's owner.
    pub async fn mail_facts(&self, job: &MailJob) -> HubResult<Result<MailFacts, String>> {
        let mut tx = self.store.begin_read().await?;
        let Some(org) = tx.org(&job.org).await? else {
            return Ok(Err("the organisation is not registered".into()));
        };
        let to = match (&org.delivery, org.active) {
            (_, false) => return Ok(Err("the organisation is deactivated".into())),
            (Delivery::Grpc, _) => return Ok(Err("the organisation is no longer an email partner".into())),
            (Delivery::Email(a), true) => a.clone(),
        };
        let mut referral = None;
        let request = match &job.data_request {
            Some(id) => match tx.data_request(id).await? {
                Some(r) => Some(r),
                None => return Ok(Err("the request does not exist".into())),
            },
            None => None,
        };
        let (category, sender) = match &job.referral_id {
            // A request outlives its referral and case: it names both itself.
            _ if let Some(r) = request => {
                referral = Some(r.referral_id);
                (Some(r.referral_category), r.owner)
            }
            _ if job.kind == MailKind::CaseErased => match case_owner(tx.as_mut(), &job.case_id).await? {
                Some(owner) => (None, owner),
                None => return Ok(Err("the case was neither found nor erased".into())),
            },
            Some(id) => match tx.referral(id).await? {
                Some(r) => (Some(r.category), r.sender),
                None => return Ok(Err("the referral does not exist".into())),
            },
            None => match tx.case(&job.case_id).await? {
                Some(c) => (None, c.owner),
                None => return Ok(Err("the case does not exist".into())),
            },
        };
        let sender_name = tx.org(&sender).await?.map(|o| o.name).unwrap_or_else(|| sender.to_string());
        Ok(Ok(MailFacts { to, recipient_name: org.name, category, sender_name, referral }))
    }

    /// Records what sending `job_id` did (see [`Self::record_deliveries`]).
    pub async fn record_delivery(&self, job_id: &str, result: DeliveryResult) -> HubResult<MailJob> {
        let mut jobs = self.record_deliveries(vec![(job_id.to_owned(), result)]).await?;
        jobs.pop().ok_or(HubError::NotFound("delivery"))
    }

    /// Records what sending each job did, all in one transaction (one commit for a dispatcher's
    /// round instead of one per mail). A dead letter raises DELIVERY_FAILED to the case's owner in
    /// the same transaction. A job another dispatcher finished meanwhile (its lease ran out and it
    /// was claimed again) is left as that dispatcher recorded it. Returns the jobs as stored, in
    /// order; a job that no longer exists (erased with its case) is left out.
    pub async fn record_deliveries(&self, results: Vec<(String, DeliveryResult)>) -> HubResult<Vec<MailJob>> {
        let mut tx = self.store.begin().await?;
        let now = self.now();
        let mut p = Pending::new();
        let mut out = Vec::with_capacity(results.len());
        for (job_id, result) in results {
            let Some(mut job) = tx.mail(&job_id).await? else { continue };
            if job.status != JobStatus::Pending {
                out.push(job);
                continue;
            }
            match result {
                DeliveryResult::Sent { by } => job.sent(&by, now),
                DeliveryResult::Failed { error, retry_at } => {
                    job.failed(error, retry_at, now);
                    if job.status == JobStatus::Dead {
                        let Some(owner) = case_owner(tx.as_mut(), &job.case_id).await? else {
                            return Err(HubError::Internal(format!("mail job {} without case", job.id)));
                        };
                        p.events.push(Event {
                            referral_id: job.referral_id.clone(),
                            delivery_id: Some(job.id.clone()),
                            ..Event::new(&owner, EventKind::DeliveryFailed, &job.case_id, "hub", now)
                        });
                        tracing::warn!(delivery = %job.id, org = %job.org, attempts = job.attempts, "mail dead-lettered");
                    }
                }
            }
            tx.update_mail(&job).await?;
            out.push(job);
        }
        self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
        Ok(out)
    }

    /// Lists deliveries: the operator sees all, a Fachstelle those of its cases.
    pub async fn list_deliveries(&self, caller: &Caller, q: ListDeliveries) -> HubResult<Vec<MailJob>> {
        let owner = self.delivery_viewer(caller)?;
        let limit = match q.page_size {
            0 => 100,
            n => n.min(MAX_PAGE),
        };
        let mut tx = self.store.begin_read().await?;
        let query = MailQuery { org: q.org, status: q.status, referral: q.referral, limit };
        let jobs = tx.mails(&query).await?;
        let Some(owner) = owner else { return Ok(jobs) };
        let mut out = Vec::new();
        for j in jobs {
            if case_owner(tx.as_mut(), &j.case_id).await?.is_some_and(|o| o == owner) {
                out.push(j);
            }
        }
        Ok(out)
    }

    /// Puts a dead delivery back in the queue (after its address was fixed). Fachstelle of the
    /// case or operator.
    pub async fn requeue_delivery(&self, caller: &Caller, idem: &Idem, id: &str) -> HubResult<MailJob> {
        let owner = self.delivery_viewer(caller)?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Requeued(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.mail(&id).await?.ok_or(HubError::NotFound("delivery"));
        }
        let mut job = tx.mail(id).await?.ok_or(HubError::NotFound("delivery"))?;
        if let Some(owner) = &owner
            && case_owner(tx.as_mut(), &job.case_id).await?.is_none_or(|o| &o != owner)
        {
            return Err(HubError::NotFound("delivery"));
        }
        if job.status != JobStatus::Dead {
            return Err(HubError::FailedPrecondition(
                format!("only a failed (DEAD) delivery can be re-queued; this one is {}", job.status).into(),
            ));
        }
        let now = self.now();
        job.requeue(now);
        tx.update_mail(&job).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::DeliveryRequeue,
            Some(&job.case_id),
            job.referral_id.as_ref(),
            "owner".into(),
            AuditDetail::words(format!("delivery {} to {}", job.id, job.org)),
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Requeued(job.id.clone())), p).await?;
        tracing::info!(delivery = %job.id, org = %job.org, "delivery re-queued");
        Ok(job)
    }

    /// `None` for the operator (sees every delivery), the Fachstelle's id for a Fachstelle.
    fn delivery_viewer(&self, caller: &Caller) -> HubResult<Option<OrgId>> {
        match caller {
            Caller::Operator { .. } => Ok(None),
            Caller::Org { org, .. } if org.kind == OrgKind::Fachstelle => Ok(Some(org.id.clone())),
            Caller::Org { .. } => Err(HubError::PermissionDenied("only the Fachstelle may see mail deliveries".into())),
        }
    }
}

/// The end of a lease of `lease_secs` taken at `now`.
fn lease_end(now: Instant, lease_secs: u64) -> Instant {
    Instant::from_millis(
        now.millis().saturating_add(i64::try_from(lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::referral::ReferralState;

    fn erased_event(audience: &str, actor: &str) -> Event {
        let mut e = Event::new(
            &OrgId::parse(audience).unwrap(),
            EventKind::CaseErased,
            &CaseId::new(),
            actor,
            Instant::from_millis(1_767_225_600_000),
        );
        e.referral_id = Some(ReferralId::new());
        e.state = Some(ReferralState::Completed);
        e
    }

    #[test]
    fn an_erasure_becomes_a_case_erased_mail_about_the_referral() {
        let e = erased_event("schuldnerberatung", "fachstelle");
        let job = mail_for_event(&e).expect("a mail for the recipient of the referral");
        assert_eq!(job.kind, MailKind::CaseErased);
        assert_eq!(job.org, e.audience);
        assert_eq!(job.case_id, e.case_id);
        assert_eq!(job.referral_id, e.referral_id, "the reference of the mail is the referral's");
        assert_eq!(job.status, JobStatus::Pending);
    }

    #[test]
    fn no_erasure_mail_to_the_organisation_that_erased() {
        assert!(mail_for_event(&erased_event("fachstelle", "fachstelle")).is_none());
    }
}
