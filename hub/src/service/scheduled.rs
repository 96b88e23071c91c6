//! Work the hub does on its own schedule: consent expiry. Each run is one transaction, so a crash
//! mid-run repeats nothing and loses nothing; the next run picks up what is left.

use super::{Hub, HubResult, Pending, audit};
use crate::domain::ids::Actor;
use crate::domain::vocab::{ConsentStatus, EventKind};

impl Hub {
    /// Expires every active consent whose last valid day has passed; returns how many.
    pub async fn run_scheduled(&self) -> HubResult<usize> {
        let mut tx = self.store.begin().await?;
        let now = self.now();
        let expired = tx.consents_expired_before(now.day()).await?;
        if expired.is_empty() {
            return Ok(0);
        }
        let mut p = Pending::new();
        for mut c in expired.clone() {
            c.status = ConsentStatus::Expired;
            c.ended_at = Some(now);
            tx.update_consent(&c).await?;
            let owner = match tx.case(&c.case_id).await? {
                Some(case) => case.owner,
                None => continue,
            };
            self.end_consent(
                tx.as_mut(),
                &mut p,
                &c,
                &owner,
                EventKind::ConsentExpired,
                now,
            )
            .await?;
            p.audit.push(audit(
                &Actor::Hub,
                now,
                "consent.expire",
                Some(&c.case_id),
                None,
                "rule".into(),
                c.id.to_string(),
            ));
        }
        let n = expired.len();
        let caller = super::Caller::Operator { staff: None };
        self.finish(tx, &caller, None, None, p).await?;
        tracing::info!(expired = n, "consents expired");
        Ok(n)
    }
}
