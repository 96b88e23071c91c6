//! Work the hub does on its own schedule: consent expiry, overdue and escalated referrals, and
//! approaching deadlines. Each step is one transaction that marks what it announced (consent
//! status, flags on the referral, announced keys on the case) together with the events, so a crash
//! or restart neither loses nor repeats an announcement.

use super::{Caller, Hub, HubResult, Pending, audit};
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::deadline::for_case;
use crate::domain::event::Event;
use crate::domain::ids::Actor;
use crate::domain::ids::OrgId;
use crate::domain::mail::{MailJob, MailKind};
use crate::domain::org::Delivery;
use crate::domain::referral::ReferralState;
use crate::domain::vocab::{ConsentStatus, EventKind};
use crate::domain::workdays::{add_working_days, working_days_between};
use crate::store::{AuditHead, ReferralQuery, Tx};

/// Referrals examined per page while looking for overdue ones.
const PAGE: u32 = 500;

impl Hub {
    /// Runs every scheduled job once; returns how many announcements or expiries it made. Last it
    /// seals the audit chain, so the seal covers the records the jobs wrote.
    pub async fn run_scheduled(&self) -> HubResult<usize> {
        let n = self.expire_consents().await?
            + self.announce_overdue().await?
            + self.announce_deadlines().await?
            + self.remind_email_partners().await?
            + self.erase_due_cases().await?;
        self.seal_audit().await?;
        // Logged once per certificate and process; the metrics and `hub pki list` show them always.
        self.expiring_certificates().await?;
        Ok(n)
    }

    /// Signs the audit chain's head when records were added since the last seal; returns whether
    /// it sealed. In a write transaction, so replicas running this at once seal a head once.
    pub async fn seal_audit(&self) -> HubResult<bool> {
        let Some(sealer) = &self.sealer else { return Ok(false) };
        let mut tx = self.store.begin().await?;
        // Only a chained head can be sealed (a log of legacy records only has nothing to seal).
        let Some(AuditHead { seq, hash: Some(hash) }) = tx.audit_head().await? else { return Ok(false) };
        if tx.last_audit_seal().await?.is_some_and(|last| last.seq >= seq) {
            return Ok(false);
        }
        let seal = sealer.seal(seq, &hash, self.now());
        tx.insert_audit_seal(&seal).await?;
        tx.commit().await?;
        // The log line puts the head outside the database too: keep it to compare with later.
        tracing::info!(seq, hash = %hash, "audit chain sealed");
        Ok(true)
    }

    /// Expires every active consent whose last valid day has passed.
    async fn expire_consents(&self) -> HubResult<usize> {
        let mut tx = self.store.begin().await?;
        let now = self.now();
        let expired = tx.consents_expired_before(now.day()).await?;
        if expired.is_empty() {
            return Ok(0);
        }
        let mut p = Pending::new();
        for mut c in expired.clone() {
            c.end(ConsentStatus::Expired, now, crate::domain::ids::Actor::Hub);
            tx.update_consent(&c).await?;
            let owner = match tx.case(&c.case_id).await? {
                Some(case) => case.owner,
                None => continue,
            };
            self.end_consent(tx.as_mut(), &mut p, &c, &owner, EventKind::ConsentExpired, now, None).await?;
            p.audit.push(audit(
                &Actor::Hub,
                now,
                AuditAction::ConsentExpire,
                Some(&c.case_id),
                None,
                "rule".into(),
                AuditDetail::object(&c.id),
            ));
        }
        let n = expired.len();
        self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
        tracing::info!(expired = n, "consents expired");
        Ok(n)
    }

    /// Tells the sender when a referral's reply-by date has passed without a decision, and again
    /// when it is still undecided `escalate_after_days` working days later.
    async fn announce_overdue(&self) -> HubResult<usize> {
        let mut tx = self.store.begin().await?;
        let now = self.now();
        let today = now.day();
        let mut p = Pending::new();
        let mut n = 0;
        let mut after = 0;
        loop {
            let q =
                ReferralQuery { overdue_on: Some(today), after_seq: after, limit: PAGE, ..ReferralQuery::default() };
            let page = tx.referrals(&q).await?;
            let full = page.len() == PAGE as usize;
            for (seq, mut r) in page {
                after = seq;
                let escalate = add_working_days(r.reply_by, self.sla.escalate_after_days) < today;
                let mut kinds = Vec::new();
                if !r.overdue_announced {
                    r.overdue_announced = true;
                    kinds.push(EventKind::ReferralOverdue);
                }
                if escalate && !r.escalation_announced {
                    r.escalation_announced = true;
                    kinds.push(EventKind::ReferralEscalated);
                }
                if kinds.is_empty() {
                    continue;
                }
                tx.update_referral(&r).await?;
                if kinds.contains(&EventKind::ReferralOverdue) && is_email(tx.as_mut(), &r.recipient).await? {
                    p.mails.push(MailJob::about_referral(&r.recipient, MailKind::Overdue, &r, now));
                }
                for kind in kinds {
                    n += 1;
                    p.events.push(Event::about_referral(&r.sender, kind, &r, "hub", now));
                }
            }
            if !full {
                break;
            }
        }
        if n > 0 {
            self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
        }
        Ok(n)
    }

    /// Tells the owning Fachstelle, once per deadline, when a Schonfrist ends within
    /// `schonfrist_warning_days` working days or an eviction date is within `eviction_warning_days`.
    async fn announce_deadlines(&self) -> HubResult<usize> {
        let mut tx = self.store.begin().await?;
        let now = self.now();
        let today = now.day();
        let mut p = Pending::new();
        let mut n = 0;
        for mut case in tx.cases().await? {
            if case.closure.is_some() {
                continue;
            }
            let mut changed = false;
            for d in for_case(&case) {
                let window = match d.kind.as_str() {
                    "SCHONFRIST" => self.sla.schonfrist_warning_days,
                    "EVICTION_DATE" => self.sla.eviction_warning_days,
                    _ => continue,
                };
                let key = d.announcement_key();
                if d.date < today
                    || working_days_between(today, d.date) > window
                    || case.announced_deadlines.contains(&key)
                {
                    continue;
                }
                case.announced_deadlines.push(key);
                changed = true;
                n += 1;
                p.events.push(Event {
                    deadline: Some(d),
                    ..Event::new(&case.owner, EventKind::DeadlineApproaching, &case.id, "hub", now)
                });
            }
            if changed {
                tx.update_case(&case).await?;
            }
        }
        if n > 0 {
            self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
        }
        Ok(n)
    }
}

impl Hub {
    /// Reminds email partners of referrals they have not decided on, once, `remind_days_before`
    /// working days before the reply-by date (gRPC partners see their inbox; a mail is easier to miss).
    async fn remind_email_partners(&self) -> HubResult<usize> {
        let mut tx = self.store.begin().await?;
        let now = self.now();
        let today = now.day();
        let mut p = Pending::new();
        let mut email: std::collections::HashMap<OrgId, bool> = std::collections::HashMap::new();
        let mut after = 0;
        loop {
            let q = ReferralQuery {
                states: vec![ReferralState::Requested, ReferralState::Received],
                after_seq: after,
                limit: PAGE,
                ..ReferralQuery::default()
            };
            let page = tx.referrals(&q).await?;
            let full = page.len() == PAGE as usize;
            for (seq, mut r) in page {
                after = seq;
                if r.reminded
                    || r.reply_by < today
                    || working_days_between(today, r.reply_by) > self.sla.remind_days_before
                {
                    continue;
                }
                let to_email = match email.get(&r.recipient) {
                    Some(v) => *v,
                    None => {
                        let v = is_email(tx.as_mut(), &r.recipient).await?;
                        email.insert(r.recipient.clone(), v);
                        v
                    }
                };
                if !to_email {
                    continue;
                }
                r.reminded = true;
                tx.update_referral(&r).await?;
                p.mails.push(MailJob::about_referral(&r.recipient, MailKind::Reminder, &r, now));
            }
            if !full {
                break;
            }
        }
        let n = p.mails.len();
        if n > 0 {
            self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
            tracing::info!(reminders = n, "email partners reminded");
        }
        Ok(n)
    }
}

/// Whether the organisation is reached by email.
async fn is_email(tx: &mut dyn Tx, org: &OrgId) -> HubResult<bool> {
    Ok(tx.org(org).await?.is_some_and(|o| matches!(o.delivery, Delivery::Email(_))))
}
