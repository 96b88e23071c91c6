//! Encryption at rest. Every piece of personal data belongs to a *scope*, a case (or a notice
//! before it has a case), and is sealed with that scope's own random data key (AES-256-GCM). The
//! data keys are stored in the database only wrapped by a master key that lives outside it (see
//! [`keyring`]). Destroying a scope's data key makes everything sealed under it unreadable, in the
//! database and in every copy of it, once no copy of the wrapping master key is left: that is how
//! the hub erases (crypto-shredding), since rows in backups cannot be deleted.
//!
//! Why one key per case rather than per row: erasure is per case, and a case's records are read
//! together, so one unwrap serves a whole request. Why AAD = scope: a sealed body moved to another
//! case's row does not open there.

pub mod admin;
pub mod keyring;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

pub use keyring::{Keyring, Secret};

/// Name of the environment variable that may hold the key file's text instead of a file.
pub const ENV_KEYS: &str = "HUB_MASTER_KEYS";

/// Prefix of a sealed body (format version 1).
const SEALED_PREFIX: &str = "v1.";

/// Unwrapped data keys kept in memory; the cache is emptied when it grows past this.
const CACHE_LIMIT: usize = 50_000;

/// Errors of the vault. They name keys by id and files by path, never key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Reading or writing a key file failed.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, std::io::Error),
    /// The key file (or variable) is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A data key is wrapped by a master key this hub does not have (retired, or a foreign key file).
    #[error("master key {0} is not in the key file (retired, or the wrong key file)")]
    UnknownMaster(String),
    /// Authentication of a sealed value failed: wrong key, altered or moved ciphertext.
    #[error("a sealed value does not open with its key (altered, moved, or the wrong key)")]
    Corrupt,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
}

/// Where the master keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file, re-read when it changes (rotation while running).
    File(PathBuf),
    /// The environment variable [`ENV_KEYS`], read once at start.
    Env,
    /// Keys held in memory only (tests).
    Memory,
}

/// A scope's data key, unwrapped.
#[derive(Clone)]
pub struct DataKey(Secret);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key as the database keeps it: sealed by a master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The wrapping master key's id.
    pub master_id: String,
    /// hex(nonce || ciphertext || tag).
    pub wrapped: String,
}

/// The keys of a hub process: master keys, the index key, and a cache of unwrapped data keys.
pub struct Vault {
    source: KeySource,
    ring: RwLock<Arc<Keyring>>,
    /// The key file's modification time when it was last read.
    read_mtime: Mutex<Option<std::time::SystemTime>>,
    cache: Mutex<HashMap<String, DataKey>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("source", &self.source).field("active", &self.active_master_id()).finish()
    }
}

fn lock_poisoned<T>(e: std::sync::PoisonError<T>) -> T {
    e.into_inner()
}

impl Vault {
    fn with(source: KeySource, ring: Keyring) -> Self {
        let mtime = match &source {
            KeySource::File(p) => std::fs::metadata(p).and_then(|m| m.modified()).ok(),
            _ => None,
        };
        Self {
            source,
            ring: RwLock::new(Arc::new(ring)),
            read_mtime: Mutex::new(mtime),
            cache: Mutex::new(HashMap::new()),
            rng: SystemRandom::new(),
        }
    }

    /// Keys from `HUB_MASTER_KEYS` when it is set, else from `file`, which is created with fresh
    /// keys if `create` is set and it does not exist (first start of a server; tools reading an
    /// existing database must not invent keys that cannot open it).
    pub fn load(file: &std::path::Path, create: bool) -> Result<Self, VaultError> {
        match std::env::var(ENV_KEYS) {
            Ok(text) if !text.trim().is_empty() => Ok(Self::with(KeySource::Env, Keyring::parse(&text, ENV_KEYS)?)),
            _ if create => Ok(Self::with(KeySource::File(file.to_owned()), Keyring::load_or_create(file)?)),
            _ => Ok(Self::with(KeySource::File(file.to_owned()), Keyring::read(file)?)),
        }
    }

    /// Fresh random keys held in memory only: for tests and throw-away demos.
    pub fn ephemeral() -> Self {
        Self::with(KeySource::Memory, Keyring::generate().expect("the system random number generator works"))
    }

    /// Keys given in memory (tests that reopen a database).
    pub fn from_keyring(ring: Keyring) -> Self {
        Self::with(KeySource::Memory, ring)
    }

    /// Where the keys come from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The keyring in effect.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.ring.read().unwrap_or_else(lock_poisoned).clone()
    }

    /// The id of the master key that wraps new data keys.
    pub fn active_master_id(&self) -> String {
        self.keyring().active_id().to_owned()
    }

    /// Re-reads the key file (a rotation or retirement by `hub keys`). Keeps the keys in effect
    /// when the file cannot be read: a half-edited file must not stop a running hub.
    pub fn reload(&self) {
        let KeySource::File(path) = &self.source else { return };
        let mut read_mtime = self.read_mtime.lock().unwrap_or_else(lock_poisoned);
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        match Keyring::read(path) {
            Ok(ring) => {
                let mut current = self.ring.write().unwrap_or_else(lock_poisoned);
                if **current != ring {
                    tracing::info!(active = ring.active_id(), "master keys reloaded");
                    *current = Arc::new(ring);
                }
                *read_mtime = mtime;
            }
            Err(e) => tracing::error!(error = %e, "master key file unreadable; keeping the keys in effect"),
        }
    }

    /// Re-reads the key file if its modification time changed since it was last read.
    fn reload_if_changed(&self) {
        let KeySource::File(path) = &self.source else { return };
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let known = *self.read_mtime.lock().unwrap_or_else(lock_poisoned);
        if mtime != known {
            self.reload();
        }
    }

    /// A fresh random data key.
    pub fn new_data_key(&self) -> Result<DataKey, VaultError> {
        let mut k = [0u8; 32];
        self.rng.fill(&mut k).map_err(|_| VaultError::Rng)?;
        Ok(DataKey(Secret(k)))
    }

    /// Wraps a scope's data key with the active master key.
    pub fn wrap(&self, scope: &str, key: &DataKey) -> Result<WrappedKey, VaultError> {
        // A stat per new case or notice: cheap, and no data key is wrapped by a master key that a
        // rotation already replaced (which would keep `hub keys retire` refusing).
        self.reload_if_changed();
        let ring = self.keyring();
        let id = ring.active_id();
        let master = ring.master(id).ok_or_else(|| VaultError::UnknownMaster(id.to_owned()))?;
        let wrapped = self.seal_raw(master, &wrap_aad(scope, id), &key.0.0)?;
        Ok(WrappedKey { master_id: id.to_owned(), wrapped })
    }

    /// Unwraps a scope's data key (re-reading the key file once if its master key is unknown).
    pub fn unwrap(&self, scope: &str, w: &WrappedKey) -> Result<DataKey, VaultError> {
        let mut ring = self.keyring();
        if ring.master(&w.master_id).is_none() {
            self.reload();
            ring = self.keyring();
        }
        let master = ring.master(&w.master_id).ok_or_else(|| VaultError::UnknownMaster(w.master_id.clone()))?;
        let plain = open_raw(master, &wrap_aad(scope, &w.master_id), &w.wrapped)?;
        let k: [u8; 32] = plain.try_into().map_err(|_| VaultError::Corrupt)?;
        Ok(DataKey(Secret(k)))
    }

    /// Seals `plain` for `scope`: `v1.<scope>.<hex>`.
    pub fn seal(&self, scope: &str, key: &DataKey, plain: &[u8]) -> Result<String, VaultError> {
        let payload = self.seal_raw(&key.0, scope.as_bytes(), plain)?;
        Ok(format!("{SEALED_PREFIX}{scope}.{payload}"))
    }

    /// Opens a sealed value with its scope's key.
    pub fn open(&self, sealed: &str, key: &DataKey) -> Result<Vec<u8>, VaultError> {
        let (scope, payload) = sealed_scope(sealed).ok_or(VaultError::Corrupt)?;
        open_raw(&key.0, scope.as_bytes(), payload)
    }

    /// The searchable keyed hash of `value` (HMAC-SHA256 under the index key, hex): equal values
    /// give equal hashes, and without the key the hash says nothing about the value.
    pub fn index_hash(&self, value: &str) -> String {
        let ring = self.keyring();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &ring.index.0);
        hex::encode(ring::hmac::sign(&key, value.as_bytes()).as_ref())
    }

    /// A cached unwrapped data key.
    pub fn cached(&self, scope: &str) -> Option<DataKey> {
        self.cache.lock().unwrap_or_else(lock_poisoned).get(scope).cloned()
    }

    /// Caches unwrapped data keys (only keys that are committed in the database).
    pub fn remember(&self, keys: impl IntoIterator<Item = (String, DataKey)>) {
        let mut cache = self.cache.lock().unwrap_or_else(lock_poisoned);
        if cache.len() > CACHE_LIMIT {
            cache.clear();
        }
        cache.extend(keys);
    }

    /// Drops destroyed data keys from the cache.
    pub fn forget<'a>(&self, scopes: impl IntoIterator<Item = &'a String>) {
        let mut cache = self.cache.lock().unwrap_or_else(lock_poisoned);
        for s in scopes {
            cache.remove(s);
        }
    }

    fn seal_raw(&self, key: &Secret, aad: &[u8], plain: &[u8]) -> Result<String, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| VaultError::Rng)?;
        let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key.0).map_err(|_| VaultError::Corrupt)?);
        let mut buf = plain.to_vec();
        k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
            .map_err(|_| VaultError::Corrupt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(hex::encode(out))
    }
}

/// The scope a sealed value names and its payload, or `None` if `text` is not sealed.
pub fn sealed_scope(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(SEALED_PREFIX)?;
    rest.rsplit_once('.')
}

/// Whether a stored body is sealed (bodies written before encryption at rest are plain JSON).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

fn wrap_aad(scope: &str, master_id: &str) -> Vec<u8> {
    format!("data-key|{scope}|{master_id}").into_bytes()
}

fn open_raw(key: &Secret, aad: &[u8], payload_hex: &str) -> Result<Vec<u8>, VaultError> {
    let mut bytes = hex::decode(payload_hex).map_err(|_| VaultError::Corrupt)?;
    if bytes.len() < NONCE_LEN {
        return Err(VaultError::Corrupt);
    }
    let nonce = Nonce::try_assume_unique_for_key(&bytes[..NONCE_LEN]).map_err(|_| VaultError::Corrupt)?;
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key.0).map_err(|_| VaultError::Corrupt)?);
    let plain = k.open_in_place(nonce, Aad::from(aad), &mut bytes[NONCE_LEN..]).map_err(|_| VaultError::Corrupt)?;
    Ok(plain.to_vec())
}

/// A vault shared by a store and the processes' other parts.
pub type SharedVault = Arc<Vault>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_scope() {
        let v = Vault::ephemeral();
        let k = v.new_data_key().unwrap();
        let sealed = v.seal("case-1", &k, b"Frau Beispiel").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("Beispiel"));
        assert_eq!(v.open(&sealed, &k).unwrap(), b"Frau Beispiel");
        // Another key.
        assert!(matches!(v.open(&sealed, &v.new_data_key().unwrap()), Err(VaultError::Corrupt)));
        // Moved to another scope.
        let moved = sealed.replacen("case-1", "case-2", 1);
        assert!(matches!(v.open(&moved, &k), Err(VaultError::Corrupt)));
        // One bit flipped.
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert!(v.open(std::str::from_utf8(&flipped).unwrap(), &k).is_err());
        // Two seals of the same value differ (random nonce).
        assert_ne!(v.seal("case-1", &k, b"x").unwrap(), v.seal("case-1", &k, b"x").unwrap());
    }

    #[test]
    fn wrapped_keys_unwrap_for_their_scope_until_the_master_key_is_gone() {
        let mut ring = Keyring::generate().unwrap();
        let v = Vault::from_keyring(ring.clone());
        let k = v.new_data_key().unwrap();
        let w = v.wrap("case-1", &k).unwrap();
        let sealed = v.seal("case-1", &k, b"x").unwrap();
        assert_eq!(v.open(&sealed, &v.unwrap("case-1", &w).unwrap()).unwrap(), b"x");
        assert!(matches!(v.unwrap("case-2", &w), Err(VaultError::Corrupt)));
        // Rotation: a new active key; the old one still unwraps.
        let old = ring.active_id().to_owned();
        ring.add_master().unwrap();
        let rotated = Vault::from_keyring(ring.clone());
        assert!(rotated.unwrap("case-1", &w).is_ok());
        let rewrapped = rotated.wrap("case-1", &rotated.unwrap("case-1", &w).unwrap()).unwrap();
        assert_eq!(rewrapped.master_id, rotated.active_master_id());
        // Retired: the old wrapping no longer opens; the new one does.
        ring.remove_master(&old).unwrap();
        let retired = Vault::from_keyring(ring);
        assert!(matches!(retired.unwrap("case-1", &w), Err(VaultError::UnknownMaster(id)) if id == old));
        assert_eq!(retired.open(&sealed, &retired.unwrap("case-1", &rewrapped).unwrap()).unwrap(), b"x");
    }

    #[test]
    fn index_hash_is_keyed_and_stable() {
        let ring = Keyring::generate().unwrap();
        let a = Vault::from_keyring(ring.clone());
        let b = Vault::from_keyring(ring);
        assert_eq!(a.index_hash("arrears:org:M-1"), b.index_hash("arrears:org:M-1"));
        assert_ne!(a.index_hash("arrears:org:M-1"), a.index_hash("arrears:org:M-2"));
        assert_ne!(a.index_hash("arrears:org:M-1"), Vault::ephemeral().index_hash("arrears:org:M-1"));
        assert_eq!(a.index_hash("x").len(), 64);
    }

    #[test]
    fn a_running_vault_picks_up_a_rotated_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let v = Vault::with(KeySource::File(path.clone()), Keyring::load_or_create(&path).unwrap());
        let first = v.active_master_id();
        let mut ring = Keyring::read(&path).unwrap();
        let second = ring.add_master().unwrap();
        ring.write(&path).unwrap();
        v.reload();
        assert_eq!(v.active_master_id(), second);
        assert_ne!(first, second);
        // A broken file keeps the keys in effect.
        std::fs::write(&path, "garbage").unwrap();
        v.reload();
        assert_eq!(v.active_master_id(), second);
    }
}
