//! Sealing of stored bodies, shared by both backends (see [`crate::vault`]). A backend's transaction
//! implements [`KeyTable`] (reading and writing the `data_keys` table); the functions here do the
//! rest: find or create a scope's data key, seal and open bodies, re-wrap keys on rotation.
//!
//! Keys created in a transaction are cached only after it commits, so a rolled-back case never
//! leaves a cached key that the database does not have.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::vault::{DataKey, Vault, VaultError, WrappedKey};

/// Per-transaction sealing state.
pub(super) struct Sealing {
    pub(super) vault: Arc<Vault>,
    /// Keys read or created in this transaction.
    local: HashMap<String, DataKey>,
    /// Scopes whose keys were created here (cached after commit).
    created: Vec<String>,
    /// Scopes whose keys were destroyed here (dropped from the cache after commit).
    destroyed: Vec<String>,
}

impl Sealing {
    pub(super) fn new(vault: Arc<Vault>) -> Self {
        Self { vault, local: HashMap::new(), created: Vec::new(), destroyed: Vec::new() }
    }

    /// After a successful commit: cache the new keys, forget the destroyed ones.
    pub(super) fn committed(self) {
        let Sealing { vault, mut local, created, destroyed } = self;
        vault.remember(created.into_iter().filter_map(|s| local.remove(&s).map(|k| (s, k))));
        vault.forget(&destroyed);
    }

    /// Records that a scope's key was deleted in this transaction.
    pub(super) fn destroyed(&mut self, scope: &str) {
        self.local.remove(scope);
        self.created.retain(|s| s != scope);
        self.destroyed.push(scope.to_owned());
    }
}

fn vault_err(e: VaultError) -> StoreError {
    tracing::error!(error = %e, "sealing failed");
    match e {
        VaultError::UnknownMaster(id) => StoreError::Other(format!("data key wrapped by unknown master key {id}")),
        other => StoreError::Other(format!("sealing: {other}")),
    }
}

/// The `data_keys` table as a backend's transaction reaches it.
#[async_trait]
pub(super) trait KeyTable: Send {
    /// This transaction's sealing state.
    fn sealing(&mut self) -> &mut Sealing;
    /// The wrapped key of a scope.
    async fn load_key(&mut self, scope: &str) -> Result<Option<WrappedKey>, StoreError>;
    /// Stores a new wrapped key.
    async fn insert_key(&mut self, scope: &str, key: &WrappedKey) -> Result<(), StoreError>;
    /// Replaces a wrapped key (rotation).
    async fn replace_key(&mut self, scope: &str, key: &WrappedKey) -> Result<(), StoreError>;
    /// Up to `limit` keys not wrapped by `master_id`.
    async fn keys_not_wrapped_by(
        &mut self,
        master_id: &str,
        limit: u32,
    ) -> Result<Vec<(String, WrappedKey)>, StoreError>;
    /// Deletes a scope's key; whether there was one.
    async fn delete_key(&mut self, scope: &str) -> Result<bool, StoreError>;
    /// Stores new wrapped keys (see [`seal_fresh`]). The default stores one at a time.
    async fn insert_keys(&mut self, keys: &[(String, WrappedKey)]) -> Result<(), StoreError> {
        for (scope, k) in keys {
            self.insert_key(scope, k).await?;
        }
        Ok(())
    }
    /// The wrapped keys of these scopes (scopes without a key are left out). The default reads one
    /// at a time.
    async fn load_keys(&mut self, scopes: &[String]) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        let mut out = Vec::with_capacity(scopes.len());
        for s in scopes {
            if let Some(k) = self.load_key(s).await? {
                out.push((s.clone(), k));
            }
        }
        Ok(out)
    }
}

/// The data key of `scope`, created (and stored wrapped) if it has none and `create` is set.
async fn key_for<T: KeyTable + ?Sized>(tx: &mut T, scope: &str, create: bool) -> Result<Option<DataKey>, StoreError> {
    if let Some(k) = tx.sealing().local.get(scope) {
        return Ok(Some(k.clone()));
    }
    if let Some(k) = tx.sealing().vault.cached(scope) {
        return Ok(Some(k));
    }
    if let Some(w) = tx.load_key(scope).await? {
        let vault = tx.sealing().vault.clone();
        let k = vault.unwrap(scope, &w).map_err(vault_err)?;
        // Committed (or created earlier in this transaction, which would be in `local`).
        vault.remember([(scope.to_owned(), k.clone())]);
        return Ok(Some(k));
    }
    if !create {
        return Ok(None);
    }
    let vault = tx.sealing().vault.clone();
    let k = vault.new_data_key().map_err(vault_err)?;
    let w = vault.wrap(scope, &k).map_err(vault_err)?;
    tx.insert_key(scope, &w).await?;
    let s = tx.sealing();
    s.local.insert(scope.to_owned(), k.clone());
    s.created.push(scope.to_owned());
    Ok(Some(k))
}

/// Serialises `value` and seals it under `scope`'s data key (created on first use).
pub(super) async fn seal<T: KeyTable + ?Sized, V: Serialize + Sync>(
    tx: &mut T,
    scope: &str,
    value: &V,
) -> Result<String, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Other(format!("encode: {e}")))?;
    let key = key_for(tx, scope, true).await?.ok_or_else(|| StoreError::Other("no data key".into()))?;
    tx.sealing().vault.seal(scope, &key, &json).map_err(vault_err)
}

/// Seals `value` under a data key created for `scope`, a scope that is new in this transaction (a
/// fresh notice's id), without looking for an existing key. The wrapped key is returned, not stored:
/// the caller stores it with [`KeyTable::insert_keys`] in the same transaction, many at once (a
/// scope that had a key after all then fails there as a conflict, and nothing commits).
pub(super) fn seal_fresh<T: KeyTable + ?Sized, V: Serialize>(
    tx: &mut T,
    scope: &str,
    value: &V,
) -> Result<(String, WrappedKey), StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Other(format!("encode: {e}")))?;
    let vault = tx.sealing().vault.clone();
    let k = vault.new_data_key().map_err(vault_err)?;
    let w = vault.wrap(scope, &k).map_err(vault_err)?;
    let body = vault.seal(scope, &k, &json).map_err(vault_err)?;
    let s = tx.sealing();
    s.local.insert(scope.to_owned(), k);
    s.created.push(scope.to_owned());
    Ok((body, w))
}

/// Opens a stored body: a sealed one with its scope's key, a plain one (written before encryption
/// at rest) as it is.
pub(super) async fn open<T: KeyTable + ?Sized, V: DeserializeOwned>(tx: &mut T, body: &str) -> Result<V, StoreError> {
    let plain = if let Some((scope, _)) = crate::vault::sealed_scope(body) {
        let scope = scope.to_owned();
        let key = key_for(tx, &scope, false).await?.ok_or_else(|| {
            tracing::error!(scope = %scope, "sealed row without a data key (erased?)");
            StoreError::Other("sealed row without a data key".into())
        })?;
        tx.sealing().vault.open(body, &key).map_err(vault_err)?
    } else {
        body.as_bytes().to_vec()
    };
    serde_json::from_slice(&plain).map_err(|e| {
        tracing::error!(error = %e, "undecodable row");
        StoreError::Other(format!("decode: {e}"))
    })
}

/// Milliseconds since the epoch, for `data_keys.created_at` (bookkeeping only; the hub's clock is
/// not needed for it).
pub(super) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Opens many bodies. The keys of their scopes that are neither in this transaction nor cached are
/// read in one go first, so a page of rows sealed under many scopes (notices) costs one key query.
pub(super) async fn open_all<T: KeyTable + ?Sized, V: DeserializeOwned>(
    tx: &mut T,
    bodies: Vec<String>,
) -> Result<Vec<V>, StoreError> {
    let mut missing: HashSet<String> = HashSet::new();
    for b in &bodies {
        if let Some((scope, _)) = crate::vault::sealed_scope(b) {
            let s = tx.sealing();
            if !s.local.contains_key(scope) && s.vault.cached(scope).is_none() {
                missing.insert(scope.to_owned());
            }
        }
    }
    if missing.len() > 1 {
        let vault = tx.sealing().vault.clone();
        let missing: Vec<String> = missing.into_iter().collect();
        for (scope, w) in tx.load_keys(&missing).await? {
            let k = vault.unwrap(&scope, &w).map_err(vault_err)?;
            tx.sealing().local.insert(scope, k);
        }
    }
    let mut out = Vec::with_capacity(bodies.len());
    for b in bodies {
        out.push(open(tx, &b).await?);
    }
    Ok(out)
}

/// Destroys a scope's data key: whatever was sealed under it can no longer be opened.
pub(super) async fn destroy_key<T: KeyTable + ?Sized>(tx: &mut T, scope: &str) -> Result<bool, StoreError> {
    let existed = tx.delete_key(scope).await?;
    tx.sealing().destroyed(scope);
    Ok(existed)
}

/// Re-wraps up to `limit` data keys with the active master key; returns how many.
pub(super) async fn rewrap<T: KeyTable + ?Sized>(tx: &mut T, limit: u32) -> Result<usize, StoreError> {
    let vault = tx.sealing().vault.clone();
    vault.reload();
    let active = vault.active_master_id();
    let stale = tx.keys_not_wrapped_by(&active, limit).await?;
    for (scope, w) in &stale {
        let k = vault.unwrap(scope, w).map_err(vault_err)?;
        let new = vault.wrap(scope, &k).map_err(vault_err)?;
        tx.replace_key(scope, &new).await?;
    }
    Ok(stale.len())
}

/// A `data_keys` row as (scope, wrapped key), on either backend.
pub(crate) fn scoped_key<'r, R>(r: &'r R) -> Result<(String, WrappedKey), StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let text = |col: &'r str| r.try_get::<String, _>(col).map_err(|e| StoreError::Other(format!("data key row: {e}")));
    Ok((text("scope")?, WrappedKey { master_id: text("master_id")?, wrapped: text("wrapped")? }))
}
