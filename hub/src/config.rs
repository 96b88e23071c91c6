//! Layered configuration: defaults, then an optional TOML file, then `HUB_*` environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Hub configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory: SQLite database and PKI (`HUB_DATA_DIR`, default `./hub-data`).
    pub data_dir: PathBuf,
    /// Listen address (`HUB_LISTEN`, default `127.0.0.1:50051`).
    pub listen: SocketAddr,
    /// Database URL (`HUB_DATABASE_URL`); default `sqlite://<data_dir>/hub.db`.
    pub database_url: Option<String>,
    /// Whether `hub serve` applies pending migrations on start (`HUB_AUTO_MIGRATE`, default true).
    /// When false it applies none and refuses to start while any are pending: run `hub migrate`
    /// first, then roll out the replicas.
    pub auto_migrate: bool,
    /// Largest accepted request message in bytes (`HUB_MAX_MESSAGE_BYTES`, default 4 MiB).
    pub max_message_bytes: usize,
    /// Seconds between runs of the scheduled work (`HUB_SCHEDULER_INTERVAL_SECS`, default 60).
    pub scheduler_interval_secs: u64,
    /// Response SLAs (table `[sla]`).
    pub sla: crate::service::sla::Sla,
    /// The email channel: SMTP, the partner page, links (table `[email]`).
    pub email: crate::email::EmailConfig,
    /// The Fachstelle dashboard (table `[dashboard]`).
    pub dashboard: crate::dashboard::DashboardConfig,
    /// How long closed cases are kept before erasure, per outcome (table `[retention]`).
    pub retention: crate::domain::erasure::Retention,
    /// The master key file (`HUB_MASTER_KEYS_FILE`, default `<data_dir>/keys/master.keys`). The
    /// variable `HUB_MASTER_KEYS` may hold the keys themselves instead. Never inside the database.
    pub master_keys_file: Option<PathBuf>,
    /// Database timeouts (table `[database]`).
    pub database: DatabaseConfig,
    /// How often health is checked (table `[health]`).
    pub health: HealthConfig,
    /// Limits of the listeners (table `[connections]`).
    pub connections: ConnectionsConfig,
    /// The metrics listener (table `[metrics]`).
    pub metrics: MetricsConfig,
}

/// The metrics listener (table `[metrics]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where Prometheus scrapes `/metrics` over plain HTTP (`HUB_METRICS_LISTEN`, e.g. `127.0.0.1:9464`);
    /// off when unset. The series carry no personal data; keep the address on localhost or the
    /// monitoring network all the same.
    pub listen: Option<SocketAddr>,
}

/// Database timeouts (table `[database]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Seconds a call waits for a database connection (PostgreSQL: connecting, a pooled connection, this
    /// replica's writer queue) before it fails with "the hub's database is unreachable" or "busy"
    /// (`HUB_DATABASE_CONNECT_TIMEOUT_SECS`, default 5).
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { connect_timeout_secs: 5 }
    }
}

/// How often health is checked (table `[health]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Seconds between probes of the database (`HUB_HEALTH_STORE_PROBE_SECS`, default 5).
    pub store_probe_secs: u64,
    /// Seconds between checks of the SMTP relay (`HUB_HEALTH_SMTP_CHECK_SECS`, default 30).
    pub smtp_check_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self { store_probe_secs: 5, smtp_check_secs: 30 }
    }
}

/// Limits of the listeners (table `[connections]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// Established connections of all listeners together (`HUB_MAX_CONNECTIONS`, default 1000); lowered at
    /// start to fit the process's file-descriptor limit.
    pub max_open: usize,
    /// Seconds a peer has to complete the TLS handshake (`HUB_HANDSHAKE_TIMEOUT_SECS`, default 10).
    pub handshake_timeout_secs: u64,
    /// Seconds between HTTP/2 keep-alive pings on idle gRPC connections; a peer that does not answer
    /// within 20 s is dropped (default 60).
    pub http2_keepalive_secs: u64,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self { max_open: 1_000, handshake_timeout_secs: 10, http2_keepalive_secs: 60 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("hub-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: None,
            auto_migrate: true,
            max_message_bytes: 4 * 1024 * 1024,
            scheduler_interval_secs: 60,
            sla: crate::service::sla::Sla::default(),
            email: crate::email::EmailConfig::default(),
            dashboard: crate::dashboard::DashboardConfig::default(),
            retention: crate::domain::erasure::Retention::default(),
            master_keys_file: None,
            database: DatabaseConfig::default(),
            health: HealthConfig::default(),
            connections: ConnectionsConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut c = match file {
            Some(f) => {
                let text =
                    std::fs::read_to_string(f).with_context(|| format!("reading config file {}", f.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config file {}", f.display()))?
            }
            None => Config::default(),
        };
        c.apply_env(|k| std::env::var(k).ok())?;
        c.sla.validate().map_err(anyhow::Error::msg)?;
        c.email.validate().map_err(anyhow::Error::msg)?;
        c.retention.validate().map_err(anyhow::Error::msg)?;
        c.validate_limits().map_err(anyhow::Error::msg)?;
        Ok(c)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("HUB_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HUB_LISTEN") {
            self.listen =
                v.parse().with_context(|| format!("HUB_LISTEN: '{v}' is not an address like 127.0.0.1:50051"))?;
        }
        if let Some(v) = get("HUB_METRICS_LISTEN") {
            let addr = v
                .parse()
                .with_context(|| format!("HUB_METRICS_LISTEN: '{v}' is not an address like 127.0.0.1:9464"))?;
            self.metrics.listen = Some(addr);
        }
        if let Some(v) = get("HUB_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("HUB_AUTO_MIGRATE") {
            self.auto_migrate = parse_bool("HUB_AUTO_MIGRATE", &v).map_err(anyhow::Error::msg)?;
        }
        if let Some(v) = get("HUB_MAX_MESSAGE_BYTES") {
            self.max_message_bytes =
                v.parse().with_context(|| format!("HUB_MAX_MESSAGE_BYTES: '{v}' is not a number"))?;
        }
        if let Some(v) = get("HUB_SCHEDULER_INTERVAL_SECS") {
            self.scheduler_interval_secs =
                v.parse().with_context(|| format!("HUB_SCHEDULER_INTERVAL_SECS: '{v}' is not a number"))?;
        }
        if let Some(v) = get("HUB_MASTER_KEYS_FILE") {
            self.master_keys_file = Some(PathBuf::from(v));
        }
        let number = |k: &str, v: String| -> anyhow::Result<u64> {
            v.trim().parse().with_context(|| format!("{k}: '{v}' is not a number"))
        };
        if let Some(v) = get("HUB_DATABASE_CONNECT_TIMEOUT_SECS") {
            self.database.connect_timeout_secs = number("HUB_DATABASE_CONNECT_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("HUB_HEALTH_STORE_PROBE_SECS") {
            self.health.store_probe_secs = number("HUB_HEALTH_STORE_PROBE_SECS", v)?;
        }
        if let Some(v) = get("HUB_HEALTH_SMTP_CHECK_SECS") {
            self.health.smtp_check_secs = number("HUB_HEALTH_SMTP_CHECK_SECS", v)?;
        }
        if let Some(v) = get("HUB_MAX_CONNECTIONS") {
            self.connections.max_open = usize::try_from(number("HUB_MAX_CONNECTIONS", v)?).unwrap_or(usize::MAX);
        }
        if let Some(v) = get("HUB_HANDSHAKE_TIMEOUT_SECS") {
            self.connections.handshake_timeout_secs = number("HUB_HANDSHAKE_TIMEOUT_SECS", v)?;
        }
        self.email.apply_env(&get).map_err(anyhow::Error::msg)?;
        self.dashboard.apply_env(&get).map_err(anyhow::Error::msg)?;
        Ok(())
    }

    /// Limits that must be positive to make sense.
    fn validate_limits(&self) -> Result<(), String> {
        let positive = [
            ("database.connect_timeout_secs", self.database.connect_timeout_secs),
            ("health.store_probe_secs", self.health.store_probe_secs),
            ("health.smtp_check_secs", self.health.smtp_check_secs),
            ("connections.max_open", u64::try_from(self.connections.max_open).unwrap_or(u64::MAX)),
            ("connections.handshake_timeout_secs", self.connections.handshake_timeout_secs),
            ("connections.http2_keepalive_secs", self.connections.http2_keepalive_secs),
        ];
        match positive.iter().find(|(_, v)| *v == 0) {
            Some((k, _)) => Err(format!("{k}: must be at least 1")),
            None => Ok(()),
        }
    }

    /// The store's timeouts.
    pub fn store_timeouts(&self) -> crate::store::StoreTimeouts {
        crate::store::StoreTimeouts { connect: std::time::Duration::from_secs(self.database.connect_timeout_secs) }
    }

    /// The master key file in effect (see [`crate::vault::keyring`]).
    pub fn master_keys_path(&self) -> PathBuf {
        self.master_keys_file.clone().unwrap_or_else(|| self.data_dir.join("keys").join("master.keys"))
    }

    /// Loads the master keys (`HUB_MASTER_KEYS`, else the key file, created if `create` is set).
    pub fn vault(&self, create: bool) -> anyhow::Result<std::sync::Arc<crate::vault::Vault>> {
        let path = self.master_keys_path();
        let vault = crate::vault::Vault::load(&path, create)
            .with_context(|| format!("loading the master keys {}", path.display()))?;
        Ok(std::sync::Arc::new(vault))
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hub.db").display()))
    }
}

/// Parses a boolean setting (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`).
pub fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{name}: '{v}' is not a boolean (true or false)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_values() {
        let mut c: Config = toml::from_str("listen = \"127.0.0.1:6000\"\ndata_dir = \"/tmp/x\"").unwrap();
        c.apply_env(|k| (k == "HUB_LISTEN").then(|| "127.0.0.1:7000".to_owned())).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.database_url(), "sqlite:///tmp/x/hub.db");
        assert!(c.apply_env(|k| (k == "HUB_LISTEN").then(|| "nope".to_owned())).is_err());
        assert!(toml::from_str::<Config>("unknown = 1").is_err());
    }

    #[test]
    fn auto_migrate_defaults_on_and_is_set_by_file_or_env() {
        assert!(Config::default().auto_migrate);
        let mut c: Config = toml::from_str("auto_migrate = false").unwrap();
        assert!(!c.auto_migrate);
        c.apply_env(|k| (k == "HUB_AUTO_MIGRATE").then(|| "true".to_owned())).unwrap();
        assert!(c.auto_migrate);
        c.apply_env(|k| (k == "HUB_AUTO_MIGRATE").then(|| "0".to_owned())).unwrap();
        assert!(!c.auto_migrate);
        assert!(c.apply_env(|k| (k == "HUB_AUTO_MIGRATE").then(|| "maybe".to_owned())).is_err());
    }
}
