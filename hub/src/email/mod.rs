//! The email channel inside the hub: configuration, the dispatcher that drains the outbox through
//! the email adapter's SMTP sink, and the partner page's backend ([`desk`]). The adapter
//! (`adapters/email`) does SMTP, rendering, tokens and HTML; this module connects it to the hub's
//! use cases and vocabularies.

pub mod desk;
pub mod dispatch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use email_adapter::config::{DeliveryPolicy, SmtpConfig};
use serde::Deserialize;

/// Email settings (config table `[email]`, environment `HUB_EMAIL_*`, `HUB_SMTP_*`, `HUB_WEB_*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Send mails and serve the partner page. Off by default: mail jobs are still written and
    /// wait in the outbox, so nothing is lost, until an SMTP server is configured.
    pub enabled: bool,
    /// The SMTP server (table `[email.smtp]`).
    pub smtp: SmtpConfig,
    /// Retries (table `[email.delivery]`).
    pub delivery: DeliveryPolicy,
    /// The partner page (table `[email.web]`).
    pub web: WebConfig,
    /// Days a link in a mail stays valid.
    pub link_ttl_days: u32,
    /// The secret that signs links and receipts; default `<data_dir>/keys/email.key`, created on
    /// first start. Replicas must share it (like the PKI).
    pub key_file: Option<PathBuf>,
    /// Seconds between outbox polls when no commit wakes the dispatcher (retries, other replicas).
    pub poll_secs: u64,
    /// Seconds a dispatcher holds a claimed mail before another replica may take it over: the most a
    /// mail waits when the replica that claimed it dies. It must cover one round's sends (`batch` mails,
    /// `smtp.pool_size` at a time, each bounded by `smtp.timeout_secs`).
    pub lease_secs: u64,
    /// Mails claimed per round.
    pub batch: u32,
    /// Run the dispatcher in the background (default). Tests turn it off and drive it round by round.
    pub dispatch_in_background: bool,
}

/// Where the partner page listens and how links reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Listen address (`HUB_WEB_LISTEN`, default `127.0.0.1:8443`).
    pub listen: SocketAddr,
    /// The URL partners reach the page at, as written into links (`HUB_WEB_PUBLIC_URL`), e.g.
    /// `https://wohnungserhalt.example.org`; default `https://localhost:<port>`.
    pub public_url: Option<String>,
    /// Certificate chain (PEM) for the page; default the hub's server certificate. Partners'
    /// browsers do not trust the hub's private CA, so production sets a publicly trusted one.
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<PathBuf>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            smtp: SmtpConfig::default(),
            delivery: DeliveryPolicy::default(),
            web: WebConfig::default(),
            link_ttl_days: 14,
            key_file: None,
            poll_secs: 5,
            lease_secs: 30,
            batch: 50,
            dispatch_in_background: true,
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 8443)), public_url: None, tls_cert: None, tls_key: None }
    }
}

impl EmailConfig {
    /// The public URL of the partner page, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.web.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("https://localhost:{}", self.web.listen.port()),
        }
    }

    /// The key file in effect.
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| data_dir.join("keys").join("email.key"))
    }

    /// Checks the settings that would otherwise fail later, at the first mail.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        self.smtp.validate().map_err(|e| format!("email.smtp: {e}"))?;
        if self.link_ttl_days == 0 || self.link_ttl_days > 90 {
            return Err("email.link_ttl_days: must be 1-90".into());
        }
        if self.delivery.max_attempts == 0 {
            return Err("email.delivery.max_attempts: must be at least 1".into());
        }
        if self.batch == 0 || self.lease_secs == 0 {
            return Err("email.batch and email.lease_secs: must be at least 1".into());
        }
        let url = self.public_url();
        if !url.starts_with("https://") {
            return Err(format!("email.web.public_url: '{url}' must start with https://"));
        }
        if self.web.tls_cert.is_some() != self.web.tls_key.is_some() {
            return Err("email.web: tls_cert and tls_key go together".into());
        }
        Ok(())
    }
}

/// The short reference a mail names a referral by (e.g. `V-3F9A2C71`): enough to tell mails apart
/// at a glance; the page shows the full id.
pub fn reference(id: &str) -> String {
    let short: String = id.chars().filter(char::is_ascii_hexdigit).take(8).collect();
    format!("V-{}", short.to_ascii_uppercase())
}
