//! Signed links for partners without API access.
//!
//! A link token is `L1.<base64url(json claims)>.<base64url(HMAC-SHA256)>`. The hub keeps no table of
//! issued links: the signature is the proof that the hub issued the link, the claims say for which
//! referral, for which organisation, until when and for what (view the page or perform one action).
//! Receipts ([`crate::receipt`]) use the same envelope with another prefix and another derived key.
//!
//! Verification order matters: length and prefix first (cheap, bounds the work an outsider can
//! cause), then the signature in constant time (before any JSON is parsed, so unauthenticated input
//! never reaches the parser), then expiry.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// Minimum length of the hub's secret in bytes (256 bits, the HMAC-SHA256 block security level).
pub const MIN_SECRET_LEN: usize = 32;

/// Longest token or receipt text accepted; longer input is rejected before any decoding, so an
/// outsider cannot make the hub decode or hash large amounts of data.
pub const MAX_TOKEN_LEN: usize = 2048;

const LINK_PREFIX: &str = "L1.";
const LINK_LABEL: &[u8] = b"wohnungserhalt link v1";
const RECEIPT_LABEL: &[u8] = b"wohnungserhalt receipt v1";
/// Length of the secret written by [`LinkKey::load_or_create`].
const GENERATED_SECRET_LEN: usize = 32;
/// A key file larger than this is certainly not a key file; refuse it instead of reading it whole.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// The hub's secret for links and receipts; two keys derived from one 32-byte secret (HMAC-SHA256 with
/// labels "wohnungserhalt link v1" / "wohnungserhalt receipt v1"), so a receipt can never pass as a link.
pub struct LinkKey {
    link: hmac::Key,
    receipt: hmac::Key,
}

impl fmt::Debug for LinkKey {
    /// Prints no key material, so a key can sit in structs that are logged with `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKey").finish_non_exhaustive()
    }
}

/// What a link allows its holder to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// Open the partner page of the referral.
    View,
    /// Perform exactly one action; `action` is a move code (e.g. "ACCEPT") or "NOTE", `nonce` (a UUID v4)
    /// is the hub's idempotency key, so posting the same form twice acts once.
    Act {
        /// Move code or "NOTE".
        action: String,
        /// Unique per issued form; the idempotency key of the action.
        nonce: String,
    },
    /// Open, and confirm, one request to erase, restrict or rectify data the organisation received
    /// (Art. 19 GDPR). Confirming twice returns the first receipt, so the link needs no nonce.
    Confirm {
        /// The hub's id of the request.
        request: String,
    },
}

/// The signed content of a link token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The referral the link is for (opaque id, never personal data).
    pub referral: String,
    /// The organisation the link was sent to; the page shows what this organisation may see.
    pub org: String,
    /// When the link was issued (Unix milliseconds).
    pub issued_at_ms: i64,
    /// The link is refused from this instant on (Unix milliseconds).
    pub expires_at_ms: i64,
    /// What the link allows.
    pub purpose: Purpose,
}

/// Why a token, receipt or secret was refused. Deliberately coarse: callers show a fixed German page per
/// variant and never echo what exactly was wrong with outside input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this kind: wrong prefix, too long, bad encoding or unreadable content.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match: forged, tampered with, or signed with another key.
    #[error("bad token signature")]
    BadSignature,
    /// The token was genuine but its validity has ended.
    #[error("token expired")]
    Expired,
    /// The secret is shorter than 32 bytes.
    #[error("secret too short: at least 32 bytes are required")]
    WeakKey,
}

impl LinkKey {
    /// Derives the link and receipt keys from the hub's secret; refuses secrets shorter than 32 bytes.
    pub fn from_secret(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakKey);
        }
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, label).as_ref());
        Ok(Self { link: derive(LINK_LABEL), receipt: derive(RECEIPT_LABEL) })
    }

    /// A fresh random key (ring's `SystemRandom`), e.g. for tests or a hub that needs no stable links.
    ///
    /// # Panics
    /// If the operating system's random source fails, which leaves nothing safe to continue with.
    pub fn generate() -> Self {
        let secret = random_secret().expect("the system random number generator failed");
        Self::from_secret(&secret).expect("a generated secret has the minimum length")
    }

    /// Loads the secret from a hex file, or creates the file with a fresh secret (mode 0600 on unix) if it
    /// does not exist, so links stay valid across restarts and replicas sharing the file.
    ///
    /// The file is created atomically (written to a temporary file, then hard-linked into place), so two
    /// processes starting at once end up with the same key. A file whose secret is shorter than 32 bytes,
    /// or that is not hex, is refused (`InvalidData`).
    pub fn load_or_create(path: &Path) -> io::Result<Self> {
        match read_key_file(path) {
            Ok(key) => return Ok(key),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let secret = random_secret().map_err(|_| io::Error::other("the system random number generator failed"))?;
        let mut text = to_hex(&secret);
        text.push('\n');
        match create_atomically(path, text.as_bytes()) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created a new link key file");
                Self::from_secret(&secret).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            // Another process created it in the meantime: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_key_file(path),
            Err(e) => Err(e),
        }
    }

    /// Signs link claims into a token text for a URL (only `[A-Za-z0-9_.-]`, no escaping needed).
    pub fn sign(&self, claims: &LinkClaims) -> String {
        seal(&self.link, LINK_PREFIX, claims)
    }

    /// Checks a link token: length and prefix, the signature (constant time, before parsing), then
    /// expiry against `now_ms` (a token is refused from `expires_at_ms` on).
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<LinkClaims, TokenError> {
        let claims: LinkClaims = open(&self.link, LINK_PREFIX, token)?;
        if now_ms >= claims.expires_at_ms {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The key for receipts; used by [`crate::receipt`].
    pub(crate) fn receipt_key(&self) -> &hmac::Key {
        &self.receipt
    }
}

/// Serialises `value` and wraps it as `<prefix><base64url(json)>.<base64url(hmac)>`; the MAC covers the
/// prefix too.
pub(crate) fn seal<T: Serialize>(key: &hmac::Key, prefix: &str, value: &T) -> String {
    // Serialising plain structs of strings and integers cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut text = String::with_capacity(prefix.len() + json.len() * 2 + 48);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&json, &mut text);
    let tag = hmac::sign(key, text.as_bytes());
    text.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut text);
    text
}

/// Reverses [`seal`]: length, prefix, shape, signature (constant time), and only then the JSON.
pub(crate) fn open<T: for<'de> Deserialize<'de>>(key: &hmac::Key, prefix: &str, text: &str) -> Result<T, TokenError> {
    if text.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let rest = text.strip_prefix(prefix).ok_or(TokenError::Malformed)?;
    let (payload, tag) = rest.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.is_empty() || tag.contains('.') {
        return Err(TokenError::Malformed);
    }
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
    let signed = &text[..prefix.len() + payload.len()];
    hmac::verify(key, signed.as_bytes(), &tag).map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

fn random_secret() -> Result<[u8; GENERATED_SECRET_LEN], ring::error::Unspecified> {
    let mut secret = [0u8; GENERATED_SECRET_LEN];
    SystemRandom::new().fill(&mut secret)?;
    Ok(secret)
}

fn read_key_file(path: &Path) -> io::Result<LinkKey> {
    let file = std::fs::File::open(path)?;
    warn_if_readable_by_others(&file, path);
    let mut text = String::new();
    file.take(MAX_KEY_FILE_LEN + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "link key file is too large"));
    }
    let secret =
        from_hex(text.trim()).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "link key file is not hex"))?;
    LinkKey::from_secret(&secret).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("link key file: {e}")))
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &std::fs::File, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "link key file is accessible by group or others; use mode 0600");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &std::fs::File, _path: &Path) {}

/// Writes `content` to a fresh temporary file next to `path` (0600 on unix), then hard-links it to `path`,
/// which fails with `AlreadyExists` instead of overwriting. Readers never see a half-written key.
fn create_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = file_name.to_os_string();
    tmp_name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let tmp = path.with_file_name(tmp_name);
    let result = write_new_private(&tmp, content).and_then(|()| std::fs::hard_link(&tmp, path));
    // The temporary name is unique; removing it fails only if it was never created.
    let _ = std::fs::remove_file(&tmp);
    result
}

fn write_new_private(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes().chunks_exact(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkKey {
        LinkKey::from_secret(&[7u8; 32]).unwrap()
    }

    fn claims(purpose: Purpose) -> LinkClaims {
        LinkClaims {
            referral: "ref-1".into(),
            org: "org-a".into(),
            issued_at_ms: 1_000,
            expires_at_ms: 10_000,
            purpose,
        }
    }

    fn act() -> Purpose {
        Purpose::Act { action: "ACCEPT".into(), nonce: "6f1c0d7e-9a43-4f7e-8f5e-2b1d3c4a5b6c".into() }
    }

    #[test]
    fn round_trip_view_and_act() {
        let k = key();
        for c in [claims(Purpose::View), claims(act())] {
            let t = k.sign(&c);
            assert!(t.starts_with("L1."));
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)), "{t}");
            assert_eq!(k.verify(&t, 5_000), Ok(c));
        }
    }

    #[test]
    fn expiry_is_checked_after_signature() {
        let k = key();
        let t = k.sign(&claims(Purpose::View));
        assert!(k.verify(&t, 9_999).is_ok());
        assert_eq!(k.verify(&t, 10_000), Err(TokenError::Expired));
        // A forged, expired token is reported as forged, not as expired.
        let other = LinkKey::from_secret(&[8u8; 32]).unwrap();
        assert_eq!(other.verify(&t, 20_000), Err(TokenError::BadSignature));
    }

    #[test]
    fn forged_signature_is_refused() {
        let k = key();
        let t = k.sign(&claims(Purpose::View));
        let other = LinkKey::from_secret(&[8u8; 32]).unwrap();
        assert_eq!(other.verify(&t, 5_000), Err(TokenError::BadSignature));
        // A changed last signature character.
        let mut forged = t.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'Q' } else { 'A' });
        assert!(matches!(k.verify(&forged, 5_000), Err(TokenError::BadSignature | TokenError::Malformed)));
        // A signature of the right length but wrong content.
        let (head, _) = t.rsplit_once('.').unwrap();
        let zero = format!("{head}.{}", URL_SAFE_NO_PAD.encode([0u8; 32]));
        assert_eq!(k.verify(&zero, 5_000), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let k = key();
        let t = k.sign(&claims(Purpose::View));
        let (_, tag) = t.rsplit_once('.').unwrap();
        let mut changed = claims(Purpose::View);
        changed.referral = "ref-2".into();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&changed).unwrap());
        let tampered = format!("L1.{payload}.{tag}");
        assert_eq!(k.verify(&tampered, 5_000), Err(TokenError::BadSignature));
        // Upgrading a view link to an action link is refused as well.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(act())).unwrap());
        assert_eq!(k.verify(&format!("L1.{payload}.{tag}"), 5_000), Err(TokenError::BadSignature));
    }

    #[test]
    fn wrong_prefix_and_shape_are_malformed() {
        let k = key();
        let t = k.sign(&claims(Purpose::View));
        let rest = t.strip_prefix("L1.").unwrap();
        for bad in [
            format!("L2.{rest}"),
            format!("Q1.{rest}"),
            rest.to_string(),
            String::new(),
            "L1.".into(),
            "L1..".into(),
            "L1.abc".into(),
            format!("{t}.x"),
            format!("{t}!"),
            "L1.ä.ö".into(),
        ] {
            assert!(matches!(k.verify(&bad, 5_000), Err(TokenError::Malformed | TokenError::BadSignature)), "{bad:?}");
        }
        assert_eq!(k.verify(&format!("L2.{rest}"), 5_000), Err(TokenError::Malformed));
    }

    #[test]
    fn too_long_input_is_refused_before_decoding() {
        let k = key();
        let mut c = claims(Purpose::View);
        c.referral = "x".repeat(MAX_TOKEN_LEN);
        let t = k.sign(&c);
        assert!(t.len() > MAX_TOKEN_LEN);
        assert_eq!(k.verify(&t, 5_000), Err(TokenError::Malformed));
        assert_eq!(k.verify(&"L1.".repeat(10_000), 5_000), Err(TokenError::Malformed));
    }

    #[test]
    fn signed_garbage_json_is_malformed() {
        let k = key();
        let t = seal(&k.link, LINK_PREFIX, &serde_json::json!({"referral": 5}));
        assert_eq!(k.verify(&t, 5_000), Err(TokenError::Malformed));
    }

    #[test]
    fn weak_secret_is_refused() {
        assert_eq!(LinkKey::from_secret(&[1u8; 31]).unwrap_err(), TokenError::WeakKey);
        assert!(LinkKey::from_secret(&[1u8; 64]).is_ok());
    }

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(format!("{:?}", key()), "LinkKey { .. }");
    }

    #[test]
    fn generated_keys_differ() {
        let c = claims(Purpose::View);
        let t = LinkKey::generate().sign(&c);
        assert_eq!(LinkKey::generate().verify(&t, 5_000), Err(TokenError::BadSignature));
    }

    #[test]
    fn hex_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert_eq!(from_hex("0A0b").unwrap(), vec![10, 11]);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
        assert!(from_hex("éé").is_none());
    }

    #[test]
    fn key_file_round_trip_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        let first = LinkKey::load_or_create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let second = LinkKey::load_or_create(&path).unwrap();
        let t = first.sign(&claims(Purpose::View));
        assert!(second.verify(&t, 5_000).is_ok());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "an existing file is not rewritten");
    }

    #[test]
    fn key_file_with_short_or_bad_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.key");
        std::fs::write(&short, format!("{}\n", to_hex(&[1u8; 31]))).unwrap();
        assert_eq!(LinkKey::load_or_create(&short).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, "not a key").unwrap();
        assert_eq!(LinkKey::load_or_create(&bad).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let empty = dir.path().join("empty.key");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(LinkKey::load_or_create(&empty).unwrap_err().kind(), io::ErrorKind::InvalidData);
        // The files are left as they were.
        assert_eq!(std::fs::read_to_string(&bad).unwrap(), "not a key");
    }

    #[test]
    fn key_file_in_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("link.key");
        assert!(LinkKey::load_or_create(&path).is_err());
    }
}
