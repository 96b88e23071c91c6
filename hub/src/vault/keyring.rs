//! The master key file: which keys wrap the per-case data keys, and the index key of the searchable
//! hashes. Plain text, one key per line, so an operator can read it, back it up and hand it to replicas:
//!
//! ```text
//! # comments
//! master mk-20261124-3f9a01c2 <64 hex digits>   <- the first master line is the active one
//! master mk-20260101-0a1b2c3d <64 hex digits>   <- older ones only unwrap, until retired
//! index <64 hex digits>
//! ```
//!
//! The same text may come from the environment (`HUB_MASTER_KEYS`, lines separated by `;` or
//! newlines). It never enters the database: a copy of the database (a backup) is useless without it.

use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};

use super::VaultError;

/// A 256-bit secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) [u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// 32 fresh random bytes.
    pub fn generate() -> Result<Self, VaultError> {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).map_err(|_| VaultError::Rng)?;
        Ok(Self(k))
    }

    fn parse(hex_text: &str) -> Option<Self> {
        let bytes = hex::decode(hex_text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

/// The parsed key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    /// Master keys, the active one first.
    pub(super) masters: Vec<(String, Secret)>,
    /// Key of the searchable hashes.
    pub(super) index: Secret,
}

impl Keyring {
    /// A fresh keyring: one master key and an index key.
    pub fn generate() -> Result<Self, VaultError> {
        Ok(Self { masters: vec![(new_master_id()?, Secret::generate()?)], index: Secret::generate()? })
    }

    /// Parses the key file text; `origin` names it in errors (a path or the variable name). Errors
    /// name the entry (its position among the non-comment entries), never its content.
    pub fn parse(text: &str, origin: &str) -> Result<Self, VaultError> {
        let bad = |line: usize, why: &str| VaultError::Invalid(format!("{origin} entry {line}: {why}"));
        let mut masters: Vec<(String, Secret)> = Vec::new();
        let mut index = None;
        // Entries are separated by newlines or `;` (the environment form); a comment runs to the end
        // of its line. Errors count entries, which are lines in a file.
        let entries = text.lines().filter(|l| !l.trim_start().starts_with('#')).flat_map(|l| l.split(';'));
        for (n, line) in entries.enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["master", id, key] => {
                    if !valid_id(id) {
                        return Err(bad(n + 1, "a master key id is 1-64 letters, digits, '-' or '_'"));
                    }
                    if masters.iter().any(|(m, _)| m == id) {
                        return Err(bad(n + 1, "duplicate master key id"));
                    }
                    let secret = Secret::parse(key).ok_or_else(|| bad(n + 1, "a key is 64 hex digits"))?;
                    masters.push(((*id).to_owned(), secret));
                }
                ["index", key] => {
                    if index.is_some() {
                        return Err(bad(n + 1, "a second index key"));
                    }
                    index = Some(Secret::parse(key).ok_or_else(|| bad(n + 1, "a key is 64 hex digits"))?);
                }
                _ => return Err(bad(n + 1, "expected `master <id> <hex>` or `index <hex>`")),
            }
        }
        if masters.is_empty() {
            return Err(VaultError::Invalid(format!("{origin}: no master key")));
        }
        let index = index.ok_or_else(|| VaultError::Invalid(format!("{origin}: no index key")))?;
        Ok(Self { masters, index })
    }

    /// The key file text.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# Wohnungserhalt Hub master keys. Keep this file out of database backups and share it with every replica.\n\
             # The first master key wraps new data keys; older ones only unwrap until `hub keys retire`.\n",
        );
        for (id, secret) in &self.masters {
            out.push_str(&format!("master {id} {}\n", hex::encode(secret.0)));
        }
        out.push_str(&format!("index {}\n", hex::encode(self.index.0)));
        out
    }

    /// The active master key's id.
    pub fn active_id(&self) -> &str {
        &self.masters[0].0
    }

    /// Master key ids, the active one first.
    pub fn master_ids(&self) -> Vec<String> {
        self.masters.iter().map(|(id, _)| id.clone()).collect()
    }

    pub(super) fn master(&self, id: &str) -> Option<&Secret> {
        self.masters.iter().find(|(m, _)| m == id).map(|(_, s)| s)
    }

    /// A new active master key in front of the others; returns its id.
    pub fn add_master(&mut self) -> Result<String, VaultError> {
        let id = new_master_id()?;
        self.masters.insert(0, (id.clone(), Secret::generate()?));
        Ok(id)
    }

    /// Removes a master key that is not the active one.
    pub fn remove_master(&mut self, id: &str) -> Result<(), VaultError> {
        if self.active_id() == id {
            return Err(VaultError::Invalid(format!("{id} is the active master key; rotate first")));
        }
        let before = self.masters.len();
        self.masters.retain(|(m, _)| m != id);
        if self.masters.len() == before {
            return Err(VaultError::Invalid(format!("there is no master key {id}")));
        }
        Ok(())
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self, VaultError> {
        let bytes = crate::keyfile::read_limited(path, 64 * 1024).map_err(|e| VaultError::Io(path.to_owned(), e))?;
        let text =
            String::from_utf8(bytes).map_err(|_| VaultError::Invalid(format!("{}: not UTF-8 text", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Replaces the key file atomically (mode 0600).
    pub fn write(&self, path: &Path) -> Result<(), VaultError> {
        let io = |e| VaultError::Io(path.to_owned(), e);
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let result = crate::keyfile::write_new(&tmp, self.render().as_bytes(), true)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(io);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Reads the key file, creating it with fresh keys if it does not exist (first start). Two
    /// processes starting at once end up with the same file.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| VaultError::Io(dir.to_owned(), e))?;
        }
        match Self::read(path) {
            Err(VaultError::Io(_, e)) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = Self::generate()?;
                match crate::keyfile::create_private(path, ring.render().as_bytes()) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created new master keys");
                        Ok(ring)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(path),
                    Err(e) => Err(VaultError::Io(path.to_owned(), e)),
                }
            }
            other => {
                crate::keyfile::warn_if_readable_by_others(path, "master keys");
                other
            }
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `mk-<yyyymmdd>-<8 random hex>`: sortable by creation day for people, unique by the random part.
fn new_master_id() -> Result<String, VaultError> {
    let mut r = [0u8; 4];
    SystemRandom::new().fill(&mut r).map_err(|_| VaultError::Rng)?;
    let day = time::OffsetDateTime::now_utc().date();
    Ok(format!("mk-{:04}{:02}{:02}-{}", day.year(), u8::from(day.month()), day.day(), hex::encode(r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_parse_round_trip() {
        let mut ring = Keyring::generate().unwrap();
        let old = ring.active_id().to_owned();
        let new = ring.add_master().unwrap();
        let back = Keyring::parse(&ring.render(), "test").unwrap();
        assert_eq!(back, ring);
        assert_eq!(back.active_id(), new);
        assert_eq!(back.master_ids(), vec![new, old]);
    }

    #[test]
    fn environment_form_uses_semicolons() {
        let ring = Keyring::generate().unwrap();
        let one_line = ring.render().lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join(";");
        assert_eq!(Keyring::parse(&one_line, "HUB_MASTER_KEYS").unwrap(), ring);
    }

    #[test]
    fn bad_files_are_refused_naming_the_line_not_the_key() {
        let k = "ab".repeat(32);
        let cases = [
            (String::new(), "no master key"),
            (format!("master a {k}"), "no index key"),
            (format!("master a {k}\nmaster a {k}\nindex {k}"), "entry 2: duplicate"),
            (format!("master a {}\nindex {k}", "zz".repeat(32)), "entry 1: a key is 64 hex digits"),
            (format!("master a/b {k}\nindex {k}"), "entry 1: a master key id"),
            (format!("master a {k}\nindex {k}\nindex {k}"), "entry 3: a second index key"),
            (format!("secret {k}"), "entry 1: expected"),
        ];
        for (text, want) in cases {
            let err = Keyring::parse(&text, "f").unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains(&"zz".repeat(32)) && !err.contains(&k), "key material in {err}");
        }
    }

    #[test]
    fn the_active_key_cannot_be_removed() {
        let mut ring = Keyring::generate().unwrap();
        let first = ring.active_id().to_owned();
        assert!(ring.remove_master(&first).is_err());
        ring.add_master().unwrap();
        ring.remove_master(&first).unwrap();
        assert!(ring.remove_master(&first).unwrap_err().to_string().contains("no master key"));
    }

    #[test]
    fn load_or_create_creates_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("master.keys");
        let a = Keyring::load_or_create(&path).unwrap();
        let b = Keyring::load_or_create(&path).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
