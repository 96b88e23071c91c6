//! The hub's state as the operator's metrics show it, read at each scrape.

use super::{Hub, HubResult};
use crate::domain::certificate::EXPIRY_WARNING_DAYS;
use crate::telemetry::metrics::StateFigures;

impl Hub {
    /// The outbox, the audit seal's age, the partner certificates' expiry and the store's pools, read now (in a read transaction, so a
    /// scrape never waits for the write lock).
    pub async fn operator_figures(&self) -> HubResult<StateFigures> {
        let mut tx = self.store.begin_read().await?;
        let outbox = tx.outbox_counts().await?;
        let seal = tx.last_audit_seal().await?;
        let certificates = tx.certificates().await?;
        drop(tx);
        let now = self.now();
        let in_use =
            certificates.iter().filter(|c| c.revoked_at.is_none() && c.not_after.is_some_and(|end| end >= now));
        let soonest = in_use.filter_map(|c| c.not_after).min();
        let certs_expiring = certificates.iter().filter(|c| c.expires_within(now, EXPIRY_WARNING_DAYS)).count() as u64;
        let now = now.millis();
        let pool = self.store.pool_usage();
        Ok(StateFigures {
            cert_expiry_days: soonest
                .map(|end| ("partner", (end.millis() - now) as f64 / 86_400_000.0))
                .into_iter()
                .collect(),
            certs_expiring,
            outbox_pending: outbox.pending,
            outbox_dead: outbox.dead,
            audit_seal_age_secs: seal.map(|s| (now - s.sealed_at.millis()).max(0) as f64 / 1000.0),
            pool_in_use: pool.in_use,
            pool_idle: pool.idle,
            ..StateFigures::default()
        })
    }
}
