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
        let text = match file {
            Some(f) => std::fs::read_to_string(f).with_context(|| format!("reading config file {}", f.display()))?,
            None => String::new(),
        };
        let what = file.map_or_else(|| "the defaults".to_owned(), |f| format!("config file {}", f.display()));
        let c = Self::layered(&text, &what, |k| std::env::var(k).ok())?;
        c.sla.validate().map_err(anyhow::Error::msg)?;
        c.email.validate().map_err(anyhow::Error::msg)?;
        c.retention.validate().map_err(anyhow::Error::msg)?;
        c.validate_limits().map_err(anyhow::Error::msg)?;
        Ok(c)
    }

    /// The TOML `text` (named `what` in errors) with the environment (`get`) laid over it, read into one
    /// `Config`: the variables become values of the same table the file fills, so a setting has one
    /// name in the file, one variable, and one place where it is read.
    fn layered(text: &str, what: &str, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut table: toml::Table = toml::from_str(text).with_context(|| format!("parsing {what}"))?;
        let mut from_env = Vec::new();
        for (var, path, kind) in ENVIRONMENT {
            if let Some(v) = get(var) {
                let value = kind.value(var, &v).map_err(anyhow::Error::msg)?;
                set_path(&mut table, path, value).with_context(|| format!("{var}: {path} in {what} is not a table"))?;
                from_env.push(*var);
            }
        }
        let read = toml::Value::Table(table).try_into();
        let vars = if from_env.is_empty() { String::new() } else { format!(" and {}", from_env.join(", ")) };
        read.with_context(|| format!("parsing {what}{vars}"))
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

/// What an environment variable holds; checked with a message naming the variable before it joins the table.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Flag,
    Number,
    /// A socket address; `example` is shown when the value is not one.
    Address {
        example: &'static str,
    },
    OneOf(&'static [&'static str]),
}

/// Every `HUB_*` variable that overrides a setting, and the setting's dotted path in `hub.toml`. (Variables
/// that are not settings, such as `HUB_MASTER_KEYS` or `HUB_LOG_FORMAT`, are read where they are used.)
const ENVIRONMENT: &[(&str, &str, Kind)] = &[
    ("HUB_DATA_DIR", "data_dir", Kind::Text),
    ("HUB_LISTEN", "listen", Kind::Address { example: "127.0.0.1:50051" }),
    ("HUB_DATABASE_URL", "database_url", Kind::Text),
    ("HUB_AUTO_MIGRATE", "auto_migrate", Kind::Flag),
    ("HUB_MAX_MESSAGE_BYTES", "max_message_bytes", Kind::Number),
    ("HUB_SCHEDULER_INTERVAL_SECS", "scheduler_interval_secs", Kind::Number),
    ("HUB_MASTER_KEYS_FILE", "master_keys_file", Kind::Text),
    ("HUB_METRICS_LISTEN", "metrics.listen", Kind::Address { example: "127.0.0.1:9464" }),
    ("HUB_DATABASE_CONNECT_TIMEOUT_SECS", "database.connect_timeout_secs", Kind::Number),
    ("HUB_HEALTH_STORE_PROBE_SECS", "health.store_probe_secs", Kind::Number),
    ("HUB_HEALTH_SMTP_CHECK_SECS", "health.smtp_check_secs", Kind::Number),
    ("HUB_MAX_CONNECTIONS", "connections.max_open", Kind::Number),
    ("HUB_HANDSHAKE_TIMEOUT_SECS", "connections.handshake_timeout_secs", Kind::Number),
    ("HUB_EMAIL_ENABLED", "email.enabled", Kind::Flag),
    ("HUB_EMAIL_LEASE_SECS", "email.lease_secs", Kind::Number),
    ("HUB_EMAIL_KEY_FILE", "email.key_file", Kind::Text),
    ("HUB_SMTP_HOST", "email.smtp.host", Kind::Text),
    ("HUB_SMTP_PORT", "email.smtp.port", Kind::Number),
    ("HUB_SMTP_SECURITY", "email.smtp.security", Kind::OneOf(&["starttls", "tls", "plain"])),
    ("HUB_SMTP_USERNAME", "email.smtp.username", Kind::Text),
    ("HUB_SMTP_PASSWORD", "email.smtp.password", Kind::Text),
    ("HUB_SMTP_FROM", "email.smtp.from", Kind::Text),
    ("HUB_SMTP_CA_FILE", "email.smtp.ca_file", Kind::Text),
    ("HUB_WEB_LISTEN", "email.web.listen", Kind::Address { example: "127.0.0.1:8443" }),
    ("HUB_WEB_PUBLIC_URL", "email.web.public_url", Kind::Text),
    ("HUB_DASHBOARD_ENABLED", "dashboard.enabled", Kind::Flag),
    ("HUB_DASHBOARD_LISTEN", "dashboard.listen", Kind::Address { example: "127.0.0.1:8444" }),
];

impl Kind {
    /// The TOML value of variable `var` set to `v`, or why it is not one.
    fn value(self, var: &str, v: &str) -> Result<toml::Value, String> {
        match self {
            Kind::Text => Ok(toml::Value::String(v.to_owned())),
            Kind::Flag => parse_bool(var, v).map(toml::Value::Boolean),
            Kind::Number => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(toml::Value::Integer)
                .ok_or_else(|| format!("{var}: '{v}' is not a number")),
            Kind::Address { example } => match v.trim().parse::<SocketAddr>() {
                Ok(a) => Ok(toml::Value::String(a.to_string())),
                Err(_) => Err(format!("{var}: '{v}' is not an address like {example}")),
            },
            Kind::OneOf(allowed) => {
                let folded = v.trim().to_ascii_lowercase();
                if allowed.contains(&folded.as_str()) {
                    Ok(toml::Value::String(folded))
                } else {
                    Err(format!("{var}: '{v}' is not one of {}", allowed.join(", ")))
                }
            }
        }
    }
}

/// Sets the dotted `path` in `table` to `value`, creating the tables on the way; `None` when a value that
/// is not a table stands where a table belongs.
fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) -> Option<()> {
    let (parents, leaf) = path.rsplit_once('.').map_or((None, path), |(p, l)| (Some(p), l));
    let mut at = table;
    for key in parents.into_iter().flat_map(|p| p.split('.')) {
        at = at.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new())).as_table_mut()?;
    }
    at.insert(leaf.to_owned(), value);
    Some(())
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

    fn with_env(text: &str, var: &str, value: &str) -> anyhow::Result<Config> {
        Config::layered(text, "test.toml", |k| (k == var).then(|| value.to_owned()))
    }

    #[test]
    fn env_overrides_file_values() {
        let file = "listen = \"127.0.0.1:6000\"\ndata_dir = \"/tmp/x\"";
        let c = with_env(file, "HUB_LISTEN", "127.0.0.1:7000").unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.database_url(), "sqlite:///tmp/x/hub.db");
        let refused = with_env(file, "HUB_LISTEN", "nope").unwrap_err().to_string();
        assert_eq!(refused, "HUB_LISTEN: 'nope' is not an address like 127.0.0.1:50051");
        assert!(with_env("unknown = 1", "HUB_LISTEN", "127.0.0.1:7000").is_err());
    }

    #[test]
    fn auto_migrate_defaults_on_and_is_set_by_file_or_env() {
        assert!(Config::default().auto_migrate);
        assert!(!with_env("auto_migrate = false", "-", "").unwrap().auto_migrate);
        assert!(with_env("auto_migrate = false", "HUB_AUTO_MIGRATE", "true").unwrap().auto_migrate);
        assert!(!with_env("auto_migrate = true", "HUB_AUTO_MIGRATE", "0").unwrap().auto_migrate);
        assert!(with_env("", "HUB_AUTO_MIGRATE", "maybe").is_err());
    }

    #[test]
    fn variables_reach_nested_tables_beside_the_file() {
        let file = "[email]\nenabled = true\n[email.smtp]\nhost = \"relay.example.invalid\"\nport = 25\n";
        let c = with_env(file, "HUB_SMTP_PORT", "587").unwrap();
        assert_eq!((c.email.smtp.host.as_str(), c.email.smtp.port), ("relay.example.invalid", Some(587)));
        assert!(c.email.enabled, "the rest of the file stays");
        let c = with_env("", "HUB_SMTP_SECURITY", " TLS ").unwrap();
        assert_eq!(c.email.smtp.security, email_adapter::config::Security::Tls);
        assert_eq!(
            with_env("", "HUB_SMTP_SECURITY", "ssl").unwrap_err().to_string(),
            "HUB_SMTP_SECURITY: 'ssl' is not one of starttls, tls, plain"
        );
        assert_eq!(with_env("", "HUB_DASHBOARD_LISTEN", "127.0.0.1:9000").unwrap().dashboard.listen.port(), 9000);
        assert_eq!(with_env("", "HUB_MAX_CONNECTIONS", "12").unwrap().connections.max_open, 12);
        assert!(with_env("", "HUB_SMTP_PORT", "70000").is_err(), "a port is at most 65535");
        assert!(with_env("[email]\nsmtp = 1", "HUB_SMTP_HOST", "x").is_err(), "a value where a table belongs");
    }

    #[test]
    fn every_variable_is_named_once_and_documented() {
        let readme = include_str!("../../README.md");
        for (i, (var, path, _)) in ENVIRONMENT.iter().enumerate() {
            assert!(ENVIRONMENT[i + 1..].iter().all(|(v, p, _)| v != var && p != path), "{var} twice");
            assert!(readme.contains(var), "{var} is not in the README");
        }
    }
}
