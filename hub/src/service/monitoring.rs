//! The hub's state as the operator's metrics show it, read at each scrape.

use super::{Hub, HubResult};
use crate::telemetry::metrics::StateFigures;

impl Hub {
    /// The outbox, the audit seal's age and the store's pools, read now (in a read transaction, so a
    /// scrape never waits for the write lock).
    pub async fn operator_figures(&self) -> HubResult<StateFigures> {
        let mut tx = self.store.begin_read().await?;
        let outbox = tx.outbox_counts().await?;
        let seal = tx.last_audit_seal().await?;
        drop(tx);
        let now = self.now().millis();
        let pool = self.store.pool_usage();
        Ok(StateFigures {
            outbox_pending: outbox.pending,
            outbox_dead: outbox.dead,
            audit_seal_age_secs: seal.map(|s| (now - s.sealed_at.millis()).max(0) as f64 / 1000.0),
            pool_in_use: pool.in_use,
            pool_idle: pool.idle,
            ..StateFigures::default()
        })
    }
}
