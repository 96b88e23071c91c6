//! The server certificate, replaced while the hub runs: on SIGHUP (`systemctl reload`) and when its
//! files change. New TLS handshakes get the new certificate; connections already open keep theirs, so
//! a rotation drops no call. A pair that cannot be read, or whose key does not match the certificate
//! (e.g. read between replacing the two files), is refused with a warning and the old pair stays.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

/// How often the files are checked for a change.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The server certificate and key in use, and where they come from.
#[derive(Debug)]
pub struct ServerCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>)>,
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(PoisonError::into_inner).0.clone())
    }
}

impl ServerCert {
    /// Loads the pair; an unreadable or mismatched pair stops the start.
    pub fn load(cert: PathBuf, key: PathBuf) -> anyhow::Result<Arc<Self>> {
        let (pair, changed) = read_pair(&cert, &key)?;
        Ok(Arc::new(Self { cert, key, current: RwLock::new((pair, changed)) }))
    }

    /// Reads the files again and uses them from the next handshake on; whether the certificate changed.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let (pair, changed) = read_pair(&self.cert, &self.key)?;
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let new = current.0.cert != pair.cert;
        *current = (pair, changed);
        Ok(new)
    }

    /// When the certificate file last changed, as last loaded.
    fn loaded_at(&self) -> Option<SystemTime> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).1
    }

    /// Reloads on SIGHUP and whenever a file's modification time moves, until `closing`.
    pub fn watch(self: Arc<Self>, mut closing: watch::Receiver<bool>) {
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(s) => s.recv().await.map(|()| true).unwrap_or(false),
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<bool>();
                let asked = tokio::select! {
                    _ = closing.wait_for(|c| *c) => return,
                    asked = hup => asked,
                    () = tokio::time::sleep(CHECK_EVERY) => false,
                };
                if !asked && modified(&self.cert, &self.key) == self.loaded_at() {
                    continue;
                }
                match self.reload() {
                    Ok(true) => tracing::info!(cert = %self.cert.display(), "server certificate reloaded"),
                    Ok(false) if asked => tracing::info!("server certificate unchanged (SIGHUP)"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "server certificate not reloaded; the old one stays");
                    }
                }
            }
        });
    }
}

/// The later modification time of the two files.
fn modified(cert: &std::path::Path, key: &std::path::Path) -> Option<SystemTime> {
    let at = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    at(cert).max(at(key))
}

fn read_pair(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<(Arc<CertifiedKey>, Option<SystemTime>)> {
    let changed = modified(cert, key);
    let cert_pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
    let key_pem = std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificate {}", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", cert.display());
    let key_der =
        PrivateKeyDer::from_pem_slice(&key_pem).with_context(|| format!("reading the key {}", key.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key_der).context("unsupported server key")?;
    let pair = CertifiedKey::new(certs, signing);
    pair.keys_match().map_err(|e| anyhow::anyhow!("{} does not belong to {}: {e}", key.display(), cert.display()))?;
    Ok((Arc::new(pair), changed))
}
