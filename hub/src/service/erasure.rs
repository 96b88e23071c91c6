//! Erasure of cases (Art. 17 GDPR, §84 SGB X): on the household's request, or when a closed case's
//! retention period ends. Erasing destroys the case's data key (so every copy of its sealed rows,
//! backups included, becomes unreadable once the wrapping master key is retired; see
//! [`crate::vault`]), removes its rows, keeps only what a later decision legally needs, and tells
//! every recipient of a referral (Art. 19 GDPR). One transaction per case: an erasure is complete or
//! has not happened.

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::case::Case;
use crate::domain::data_request::DataRequestCause;
use crate::domain::erasure::{CURE_KEPT_DAYS, Erasure, ErasureReason, cure_day, cure_subject};
use crate::domain::event::Event;
use crate::domain::ids::{Actor, CaseId, OrgId};
use crate::domain::time::Instant;
use crate::domain::vocab::EventKind;
use crate::store::Tx;

/// Cases erased per scheduled run at most (the rest follow in the next run).
const ERASE_PER_RUN: u32 = 100;

impl Hub {
    /// Erases a closed case of the caller's Fachstelle at the household's request (Art. 17 Abs. 1
    /// GDPR), before its retention period ends.
    pub async fn erase_case(&self, caller: &Caller, idem: &Idem, id: &CaseId) -> HubResult<Erasure> {
        let org = caller.fachstelle("erase cases")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Erased(case)) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.erasure(&case).await?.ok_or(HubError::NotFound("case"));
        }
        let case = match tx.case(id).await? {
            Some(c) if c.owner == org.id => c,
            _ => {
                return match tx.erasure(id).await? {
                    Some(e) if e.owner == org.id => Err(HubError::FailedPrecondition(
                        format!("the case was erased already on {}", e.erased_at.day()).into(),
                    )),
                    _ => Err(HubError::NotFound("case")),
                };
            }
        };
        if case.closure.is_none() {
            return Err(HubError::FailedPrecondition(
                "the case is open: close it first (CloseCase), so its referrals end before their data goes".into(),
            ));
        }
        let (erasure, p) = self.erase_in(tx.as_mut(), &case, ErasureReason::Request, &caller.actor()).await?;
        self.finish(tx, caller, Some(idem), Some(&Outcome::Erased(case.id.clone())), p).await?;
        tracing::info!(case = %case.id, "case erased on request");
        Ok(erasure)
    }

    /// Erases the closed cases whose retention ended; returns how many. A case under a restriction
    /// of processing (Art. 18 GDPR) is kept: the household may need it to assert a claim, and the
    /// restriction was asked for instead of erasure. It is erased once the restriction is lifted.
    pub(super) async fn erase_due_cases(&self) -> HubResult<usize> {
        let today = self.today();
        let due = {
            let mut tx = self.store.begin_read().await?;
            tx.cases_due_for_erasure(today, ERASE_PER_RUN).await?
        };
        let mut erased = 0;
        for id in due {
            let mut tx = self.store.begin().await?;
            // Read again in the write transaction: another replica may have erased it meanwhile.
            let Some(case) = tx.case(&id).await? else { continue };
            if case.erase_on.is_none_or(|d| d > today) {
                continue;
            }
            if case.restriction.is_some() {
                tracing::warn!(case = %id, "retention ended but processing is restricted (Art. 18): kept");
                continue;
            }
            let hub = Actor::Hub;
            let (_, p) = self.erase_in(tx.as_mut(), &case, ErasureReason::RetentionEnded, &hub).await?;
            self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
            tracing::info!(case = %id, "case erased: retention ended");
            erased += 1;
        }
        let mut tx = self.store.begin().await?;
        let purged = tx.purge_cures(today).await?;
        tx.commit().await?;
        if purged > 0 {
            tracing::info!(purged, "kept Schonfrist cure days past two years deleted");
        }
        Ok(erased + self.erase_untaken_notices().await?)
    }

    /// Erases notices never taken up into a case within `retention.untaken_notice_days` of their
    /// last update, in batches, each with one audit record.
    async fn erase_untaken_notices(&self) -> HubResult<usize> {
        let days = i64::from(self.retention.untaken_notice_days);
        let before = Instant::from_millis(self.now().millis() - days * 86_400_000);
        let mut total = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let n = tx.erase_untaken_notices(before, ERASE_PER_RUN * 10).await?;
            if n == 0 {
                return Ok(total);
            }
            let mut p = Pending::new();
            p.audit.push(audit(
                &Actor::Hub,
                self.now(),
                AuditAction::NoticeErase,
                None,
                None,
                "§84 Abs. 2 SGB X (retention period ended)".into(),
                AuditDetail::Count {
                    n: n as u64,
                    of: format!(
                        "notices not taken up into a case within {days} days of their last update, with their data keys"
                    ),
                },
            ));
            self.finish(tx, &Caller::Operator { staff: None }, None, None, p).await?;
            tracing::info!(erased = n, "notices never taken up erased");
            total += usize::try_from(n).unwrap_or(usize::MAX);
        }
    }

    /// Erases `case` inside `tx`: keeps a Schonfrist cure day, deletes the rows and the data key,
    /// stores the erasure record; returns it with the events and audit record to write.
    async fn erase_in(
        &self,
        tx: &mut dyn Tx,
        case: &Case,
        reason: ErasureReason,
        actor: &Actor,
    ) -> HubResult<(Erasure, Pending)> {
        let now = self.now();
        let referrals = tx.referrals_of_case(&case.id).await?;
        let mut categories: Vec<_> = referrals.iter().map(|r| r.category).collect();
        categories.sort_unstable();
        categories.dedup();
        let erasure = Erasure::of(case, reason, now, categories);
        if let Some(day) = cure_day(case).filter(|d| d.plus_days(CURE_KEPT_DAYS) >= now.day()) {
            tx.keep_cure(&cure_subject(case), day, day.plus_days(CURE_KEPT_DAYS)).await?;
        }
        let rows = tx.erase_case(&erasure).await?;
        let mut p = Pending::new();
        // Art. 19: every recipient learns, per referral, that the data it received is erased.
        for r in &referrals {
            for aud in [&r.recipient, &r.sender] {
                if aud != &case.owner {
                    p.events.push(Event::about_referral(aud, EventKind::CaseErased, r, actor.id(), now));
                }
            }
            if r.recipient != case.owner {
                p.ask_recipient(&self.sla, DataRequestCause::CaseErased, r, Vec::new(), now);
            }
        }
        let owner: &OrgId = &case.owner;
        p.events.push(Event::new(owner, EventKind::CaseErased, &case.id, actor.id(), now));
        let basis = match reason {
            ErasureReason::Request => "Art. 17 Abs. 1 GDPR (request of the data subject)",
            ErasureReason::RetentionEnded => "§84 Abs. 2 SGB X (retention period ended)",
        };
        let kept: Vec<String> = erasure.kept.iter().map(|k| k.what.clone()).collect();
        p.audit.push(audit(
            actor,
            now,
            AuditAction::CaseErase,
            Some(&case.id),
            None,
            basis.into(),
            AuditDetail::Erased { rows: rows as u64, kept },
        ));
        Ok((erasure, p))
    }
}
