//! `hub keys`: master key rotation and retirement while the hub runs.
//!
//! Rotation is two steps that can both run under load: a new active master key is written to the
//! key file (running hubs notice within seconds and wrap new data keys with it), then every data
//! key is re-wrapped, a batch per short transaction. Retiring an old master key afterwards is what
//! makes old backups unreadable; it is refused while any data key still depends on it.

use std::sync::Arc;

use crate::store::Store;

use super::{KeySource, Keyring, Vault};

/// Data keys re-wrapped per transaction: short transactions keep writers flowing during rotation.
pub const REWRAP_BATCH: u32 = 500;

/// What `hub keys status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// Where the keys come from, in words.
    pub source: String,
    /// The active master key.
    pub active: String,
    /// Every master key with the number of data keys it wraps (the active one first).
    pub masters: Vec<(String, u64)>,
    /// Data keys wrapped by a master key the key file does not have (unreadable data).
    pub orphaned: Vec<(String, u64)>,
}

fn source_text(v: &Vault) -> String {
    match v.source() {
        KeySource::File(p) => format!("file {}", p.display()),
        KeySource::Env => format!("environment variable {}", super::ENV_KEYS),
        KeySource::Memory => "memory (tests)".into(),
    }
}

/// The key status of a store.
pub async fn status(store: &dyn Store, vault: &Vault) -> anyhow::Result<KeyStatus> {
    let mut tx = store.begin_read().await.map_err(|e| anyhow::anyhow!("reading data keys: {e}"))?;
    let census = tx.data_key_census().await.map_err(|e| anyhow::anyhow!("reading data keys: {e}"))?;
    let ring = vault.keyring();
    let ids = ring.master_ids();
    let count = |id: &str| census.iter().find(|(m, _)| m == id).map_or(0, |(_, n)| *n);
    Ok(KeyStatus {
        source: source_text(vault),
        active: ring.active_id().to_owned(),
        masters: ids.iter().map(|id| (id.clone(), count(id))).collect(),
        orphaned: census.into_iter().filter(|(m, _)| !ids.contains(m)).collect(),
    })
}

/// Adds a new active master key to the key file (file source only); returns its id.
pub fn add_master_key(vault: &Vault) -> anyhow::Result<String> {
    let KeySource::File(path) = vault.source() else {
        anyhow::bail!(
            "the master keys come from {}: put a new `master` line first there, restart the replicas one by one, then \
             run `hub keys rotate --rewrap-only`",
            source_text(vault)
        );
    };
    let mut ring = Keyring::read(path)?;
    let id = ring.add_master()?;
    ring.write(path)?;
    vault.reload();
    Ok(id)
}

/// Re-wraps every data key with the active master key; returns how many were re-wrapped.
pub async fn rewrap_all(store: &Arc<dyn Store>) -> anyhow::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut tx = store.begin().await.map_err(|e| anyhow::anyhow!("re-wrapping data keys: {e}"))?;
        let n = tx.rewrap_data_keys(REWRAP_BATCH).await.map_err(|e| anyhow::anyhow!("re-wrapping data keys: {e}"))?;
        tx.commit().await.map_err(|e| anyhow::anyhow!("re-wrapping data keys: {e}"))?;
        total += n as u64;
        if n == 0 {
            return Ok(total);
        }
    }
}

/// Removes master key `id` from the key file, refused while any data key is wrapped by it.
pub async fn retire(store: &dyn Store, vault: &Vault, id: &str) -> anyhow::Result<()> {
    let KeySource::File(path) = vault.source() else {
        anyhow::bail!("the master keys come from {}: remove the `master {id}` entry there", source_text(vault));
    };
    let st = status(store, vault).await?;
    match st.masters.iter().find(|(m, _)| m == id) {
        None => anyhow::bail!("there is no master key {id} in {}", path.display()),
        Some((_, n)) if *n > 0 => anyhow::bail!(
            "{n} data key(s) are still wrapped by {id}: run `hub keys rotate --rewrap-only` first (retiring now would \
             make their cases unreadable)"
        ),
        Some(_) => {}
    }
    let mut ring = Keyring::read(path)?;
    ring.remove_master(id)?;
    ring.write(path)?;
    vault.reload();
    Ok(())
}
