//! The hub's audit seal key: Ed25519 (ring), stored as PKCS#8 in `<data_dir>/keys/audit-seal.key`
//! (mode 0600, created on first start) with the public key in `audit-seal.pub` (hex) next to it,
//! so `hub audit verify` can check seals with the public key alone. The key never enters the
//! database: someone who can rewrite the database cannot make a valid seal. Several replicas must
//! share the key file, like the PKI.

use std::io;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::seal_message;
use crate::domain::time::Instant;
use crate::keyfile::{create_private, read_limited, warn_if_readable_by_others, write_replacing};
use crate::store::AuditSeal;

/// Largest key file read (a PKCS#8 Ed25519 key is 83-85 bytes; a public key file 65).
const MAX_KEY_FILE_LEN: u64 = 4096;

/// The private key file in a data directory.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("audit-seal.key")
}

/// The public key file in a data directory.
pub fn public_key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("audit-seal.pub")
}

/// Errors of loading or creating the seal key.
#[derive(Debug, thiserror::Error)]
pub enum SealKeyError {
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A key file exists but does not hold a key.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SealKeyError + '_ {
    move |source| SealKeyError::Io { path: path.to_owned(), source }
}

/// Signs the audit chain's head.
pub struct AuditSealer {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for AuditSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("AuditSealer").field("public_key", &self.public_key().to_hex()).finish()
    }
}

impl AuditSealer {
    /// A fresh key pair and its PKCS#8 document.
    pub fn generate() -> Result<(Self, Vec<u8>), SealKeyError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| SealKeyError::Rng)?;
        let pkcs8 = doc.as_ref().to_vec();
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| SealKeyError::Rng)?;
        Ok((Self { pair }, pkcs8))
    }

    /// Loads the key from `key_file` (PKCS#8), creating it (0600) if it does not exist, and writes
    /// the public key next to it (`.pub`) when that file is missing or differs.
    pub fn load_or_create(key_file: &Path) -> Result<Self, SealKeyError> {
        if let Some(dir) = key_file.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let sealer = match read_limited(key_file, MAX_KEY_FILE_LEN) {
            Ok(bytes) => Self::from_pkcs8(key_file, &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (sealer, pkcs8) = Self::generate()?;
                match create_private(key_file, &pkcs8) {
                    Ok(()) => {
                        tracing::info!(path = %key_file.display(), "created a new audit seal key");
                        sealer
                    }
                    // Another process (replica) created it in the meantime: use theirs.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::from_pkcs8(
                        key_file,
                        &read_limited(key_file, MAX_KEY_FILE_LEN).map_err(io_err(key_file))?,
                    )?,
                    Err(e) => return Err(SealKeyError::Io { path: key_file.to_owned(), source: e }),
                }
            }
            Err(e) => return Err(SealKeyError::Io { path: key_file.to_owned(), source: e }),
        };
        warn_if_readable_by_others(key_file, "audit seal key");
        let pub_file = key_file.with_extension("pub");
        let text = format!("{}\n", sealer.public_key().to_hex());
        if std::fs::read_to_string(&pub_file).ok().as_deref() != Some(text.as_str()) {
            write_replacing(&pub_file, text.as_bytes()).map_err(io_err(&pub_file))?;
        }
        Ok(sealer)
    }

    fn from_pkcs8(path: &Path, bytes: &[u8]) -> Result<Self, SealKeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes).map_err(|e| SealKeyError::Invalid {
            path: path.to_owned(),
            reason: format!("not a PKCS#8 Ed25519 key ({e})"),
        })?;
        Ok(Self { pair })
    }

    /// The public key.
    pub fn public_key(&self) -> SealPublicKey {
        let mut k = [0u8; 32];
        k.copy_from_slice(self.pair.public_key().as_ref());
        SealPublicKey(k)
    }

    /// Signs `claims` as a receipt: `WHQ1.<base64url(JSON)>.<base64url(Ed25519 signature)>`, ASCII and
    /// safe to show, mail and paste. Whoever holds the hub's public key checks it with
    /// [`SealPublicKey::open_receipt`]; the signed message is domain-separated from the audit seals.
    pub fn sign_receipt<T: serde::Serialize>(&self, claims: &T) -> String {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // Serialising plain structs of strings and integers cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let sig = self.pair.sign(&receipt_message(&json));
        format!("{RECEIPT_PREFIX}{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// Seals the record at `seq` whose hash is `hash`, at `now`.
    pub fn seal(&self, seq: i64, hash: &str, now: Instant) -> AuditSeal {
        let sig = self.pair.sign(&seal_message(seq, hash, now.millis()));
        AuditSeal { seq, hash: hash.to_owned(), sealed_at: now, signature: hex::encode(sig.as_ref()) }
    }
}

/// What starts every receipt the hub signs.
const RECEIPT_PREFIX: &str = "WHQ1.";

/// The message signed for a receipt: its JSON under a label no audit seal message starts with.
fn receipt_message(json: &[u8]) -> Vec<u8> {
    let mut m = b"wohnungserhalt-hub receipt v1\n".to_vec();
    m.extend_from_slice(json);
    m
}

/// The public half of the seal key: checks seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealPublicKey([u8; 32]);

impl SealPublicKey {
    /// Parses 64 hex digits.
    pub fn parse_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s.trim()).ok()?;
        let k: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(k))
    }

    /// Reads a public key file (`audit-seal.pub`).
    pub fn load(path: &Path) -> Result<Self, SealKeyError> {
        let bytes = read_limited(path, MAX_KEY_FILE_LEN).map_err(io_err(path))?;
        let text = String::from_utf8(bytes).map_err(|_| SealKeyError::Invalid {
            path: path.to_owned(),
            reason: "not a public key (expected 64 hex digits)".into(),
        })?;
        Self::parse_hex(&text).ok_or_else(|| SealKeyError::Invalid {
            path: path.to_owned(),
            reason: "not a public key (expected 64 hex digits)".into(),
        })
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The claims of a receipt made by [`AuditSealer::sign_receipt`], if its signature is this key's.
    pub fn open_receipt<T: serde::de::DeserializeOwned>(&self, text: &str) -> Option<T> {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (payload, sig) = text.trim().strip_prefix(RECEIPT_PREFIX)?.split_once('.')?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        UnparsedPublicKey::new(&ED25519, &self.0).verify(&receipt_message(&json), &sig).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// Whether `seal`'s signature is this key's over its position, hash and time.
    pub fn verify(&self, seal: &AuditSeal) -> bool {
        let Ok(sig) = hex::decode(&seal.signature) else { return false };
        let msg = seal_message(seal.seq, &seal.hash, seal.sealed_at.millis());
        UnparsedPublicKey::new(&ED25519, &self.0).verify(&msg, &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_verify_with_the_public_key_only_when_untouched() {
        let (sealer, _) = AuditSealer::generate().unwrap();
        let (other, _) = AuditSealer::generate().unwrap();
        let text = sealer.sign_receipt(&serde_json::json!({"request": "r-1", "done": "ERASE"}));
        assert!(text.starts_with("WHQ1.") && text.is_ascii());
        let claims: serde_json::Value = sealer.public_key().open_receipt(&text).expect("valid");
        assert_eq!(claims["done"], "ERASE");
        assert!(other.public_key().open_receipt::<serde_json::Value>(&text).is_none(), "another key");
        let forged = sealer.sign_receipt(&serde_json::json!({"request": "r-1", "done": "RECTIFY"}));
        let (head, _) = forged.rsplit_once('.').unwrap();
        let (_, sig) = text.rsplit_once('.').unwrap();
        assert!(sealer.public_key().open_receipt::<serde_json::Value>(&format!("{head}.{sig}")).is_none());
    }

    #[test]
    fn key_is_created_once_with_its_public_key_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let file = key_file(dir.path());
        let a = AuditSealer::load_or_create(&file).unwrap();
        let b = AuditSealer::load_or_create(&file).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        let public = SealPublicKey::load(&public_key_file(dir.path())).unwrap();
        assert_eq!(public, a.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let seal = a.seal(3, &"ab".repeat(32), Instant::from_millis(1));
        assert!(public.verify(&seal));
        assert!(!public.verify(&AuditSeal { seq: 4, ..seal.clone() }));
        assert!(!public.verify(&AuditSeal { signature: "zz".into(), ..seal }));
    }

    #[test]
    fn a_broken_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = key_file(dir.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"not a key").unwrap();
        assert!(matches!(AuditSealer::load_or_create(&file), Err(SealKeyError::Invalid { .. })));
        assert!(SealPublicKey::parse_hex("abc").is_none());
    }
}
