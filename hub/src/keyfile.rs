//! Key files in the data directory (`keys/`): written so that readers never see half a key, private
//! ones with mode 0600, and read with a size limit. Shared by the audit seal key and the master keys.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub(crate) fn read_limited(path: &Path, max_len: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    file.take(max_len + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max_len {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "key file is too large"));
    }
    Ok(out)
}

#[cfg(unix)]
pub(crate) fn warn_if_readable_by_others(path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), key = what, "key file is accessible by group or others; use mode 0600");
    }
}

#[cfg(not(unix))]
pub(crate) fn warn_if_readable_by_others(_path: &Path, _what: &str) {}

fn temp_next_to(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

pub(crate) fn write_new(path: &Path, content: &[u8], private: bool) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

/// Writes a fresh temporary file (0600) and hard-links it to `path`, which fails with
/// `AlreadyExists` instead of overwriting: readers never see half a key, and two replicas starting
/// at once end up with one key.
pub(crate) fn create_private(path: &Path, content: &[u8]) -> io::Result<()> {
    let tmp = temp_next_to(path);
    let result = write_new(&tmp, content, true).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Replaces `path` atomically (the public key: derived from the private one, so rewriting is safe).
pub(crate) fn write_replacing(path: &Path, content: &[u8]) -> io::Result<()> {
    let tmp = temp_next_to(path);
    let result = write_new(&tmp, content, false).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
