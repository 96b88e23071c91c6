//! Configuration of the email adapter: how to reach the SMTP relay ([`SmtpConfig`]) and how
//! patiently to retry a mail that could not be delivered ([`DeliveryPolicy`]).
//!
//! The hub parses its TOML file and hands the `[email.smtp]`/`[email.delivery]` tables to serde;
//! this module only declares the shape, the defaults and the rules ([`SmtpConfig::validate`]).
//! Every field has a default, so an empty table describes a local relay on `localhost:587`.

use std::fmt;
use std::path::PathBuf;

use lettre::message::Mailbox;
use serde::Deserialize;

/// A secret from configuration (the SMTP password).
///
/// `Debug` and `Display` print `***`, so a configuration struct can be logged or shown in an
/// error without leaking the secret; only [`Secret::expose`] gives the value, at the one place
/// that hands it to the SMTP client.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value (e.g. read from an environment variable by the hub).
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret value; call only where it is handed to the transport, never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the connection to the relay is protected.
///
/// STARTTLS on the submission port is the default because it is what most relays offer;
/// `Plain` exists only for a relay on the same host and must be chosen explicitly (and then
/// refuses credentials, see [`SmtpConfig::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS; the upgrade is required, never opportunistic,
    /// so a man in the middle cannot strip it.
    #[default]
    Starttls,
    /// Implicit TLS from the first byte ("SMTPS", RFC 8314).
    Tls,
    /// No encryption at all: only for a local relay (e.g. a Postfix on `localhost`).
    Plain,
}

/// Where and how to deliver mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name of the relay; also the name its TLS certificate must carry.
    pub host: String,
    /// Port of the relay; `None` picks the standard port for [`SmtpConfig::security`]
    /// (see [`SmtpConfig::port`]).
    pub port: Option<u16>,
    /// Transport protection.
    pub security: Security,
    /// Login name for SMTP AUTH; set together with `password` or not at all.
    pub username: Option<String>,
    /// Password for SMTP AUTH; never printed (see [`Secret`]).
    pub password: Option<Secret>,
    /// Sender mailbox (`From`); its domain also names the hub's Message-IDs.
    pub from: String,
    /// Extra PEM root certificate(s) for a relay with a private CA. They are trusted in
    /// addition to the built-in web PKI roots, not instead of them.
    pub ca_file: Option<PathBuf>,
    /// Upper bound on simultaneous SMTP connections (and on connections kept open for reuse).
    pub pool_size: u32,
    /// Bound on one delivery attempt or health check as a whole (connect, TLS, AUTH, all
    /// commands and the final reply), in seconds. A timeout counts as a transient failure.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: None,
            security: Security::default(),
            username: None,
            password: None,
            from: "Wohnungserhalt Hub <hub@localhost>".to_owned(),
            ca_file: None,
            pool_size: 4,
            timeout_secs: 30,
        }
    }
}

impl SmtpConfig {
    /// The port to connect to: the configured one, else the standard port of the chosen
    /// security (587 submission with STARTTLS, 465 submissions with implicit TLS, 25 plain),
    /// so the usual case needs no port in the file.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::Plain => 25,
        })
    }

    /// Checks the rules that serde cannot express, so a bad configuration stops the hub at
    /// start-up instead of dead-lettering every mail later.
    ///
    /// Rules: a non-empty host; `from` is one valid mailbox; username and password are given
    /// both or neither (and are not empty); no credentials over [`Security::Plain`] (a password
    /// is never sent in clear); `pool_size >= 1`; `timeout_secs >= 1`; no port 0.
    /// Messages name the offending field but never contain the password.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err(ConfigError("smtp.host must not be empty".to_owned()));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError("smtp.host must not contain spaces or control characters".to_owned()));
        }
        if self.port == Some(0) {
            return Err(ConfigError("smtp.port must not be 0".to_owned()));
        }
        if parse_mailbox(&self.from).is_none() {
            return Err(ConfigError(
                "smtp.from is not a valid mailbox (expected e.g. \"Wohnungserhalt Hub <hub@example.org>\")".to_owned(),
            ));
        }
        match (&self.username, &self.password) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(ConfigError("smtp.username is set but smtp.password is missing".to_owned()));
            }
            (None, Some(_)) => {
                return Err(ConfigError("smtp.password is set but smtp.username is missing".to_owned()));
            }
            (Some(user), Some(password)) => {
                if user.trim().is_empty() {
                    return Err(ConfigError("smtp.username must not be empty".to_owned()));
                }
                if password.expose().is_empty() {
                    return Err(ConfigError("smtp.password must not be empty".to_owned()));
                }
                if self.security == Security::Plain {
                    return Err(ConfigError(
                        "smtp credentials require security \"starttls\" or \"tls\": a password is never sent in clear"
                            .to_owned(),
                    ));
                }
            }
        }
        if self.pool_size == 0 {
            return Err(ConfigError("smtp.pool_size must be at least 1".to_owned()));
        }
        if self.timeout_secs == 0 {
            return Err(ConfigError("smtp.timeout_secs must be at least 1".to_owned()));
        }
        Ok(())
    }
}

/// How often and how patiently a mail is retried after a transient failure.
///
/// The delay before attempt `n` grows as `retry_base_secs * 2^(n-1)` up to `retry_max_secs`
/// (see [`crate::retry::backoff`]); after `max_attempts` the job is dead-lettered.
/// The defaults (8 attempts, 30 s doubling, capped at one hour) span about 1.5 hours, long
/// enough to ride out a relay restart or greylisting, short enough that a caseworker learns
/// the same day that a partner was not reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// Delay after the first failed attempt, in seconds.
    pub retry_base_secs: u64,
    /// Upper bound of any single delay, in seconds.
    pub retry_max_secs: u64,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self { max_attempts: 8, retry_base_secs: 30, retry_max_secs: 3600 }
    }
}

impl DeliveryPolicy {
    /// Checks that the policy can ever deliver and retry sensibly: at least one attempt,
    /// a base delay of at least one second and a cap not below the base.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError("delivery.max_attempts must be at least 1".to_owned()));
        }
        if self.retry_base_secs == 0 {
            return Err(ConfigError("delivery.retry_base_secs must be at least 1".to_owned()));
        }
        if self.retry_max_secs < self.retry_base_secs {
            return Err(ConfigError("delivery.retry_max_secs must not be below delivery.retry_base_secs".to_owned()));
        }
        Ok(())
    }
}

/// An invalid adapter configuration; the message names the field and is safe to print
/// (it never contains a secret).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Parses exactly one mailbox (`Name <user@domain>` or `user@domain`); `None` for anything
/// else, including lists and control characters. Shared by config validation and the sink so
/// both accept the same addresses.
pub(crate) fn parse_mailbox(s: &str) -> Option<Mailbox> {
    if s.chars().any(char::is_control) {
        return None;
    }
    s.trim().parse::<Mailbox>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_credentials(security: Security) -> SmtpConfig {
        SmtpConfig {
            security,
            username: Some("hub".to_owned()),
            password: Some(Secret::new("s3cr3t-pw")),
            ..SmtpConfig::default()
        }
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = SmtpConfig::default();
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, None);
        assert_eq!(c.security, Security::Starttls);
        assert!(c.username.is_none() && c.password.is_none() && c.ca_file.is_none());
        assert_eq!(c.from, "Wohnungserhalt Hub <hub@localhost>");
        assert_eq!(c.pool_size, 4);
        assert_eq!(c.timeout_secs, 30);
        assert!(c.validate().is_ok());

        let p = DeliveryPolicy::default();
        assert_eq!((p.max_attempts, p.retry_base_secs, p.retry_max_secs), (8, 30, 3600));
        assert!(p.validate().is_ok());
    }

    #[test]
    fn port_defaults_follow_security_and_explicit_port_wins() {
        let mut c = SmtpConfig::default();
        assert_eq!(c.port(), 587);
        c.security = Security::Tls;
        assert_eq!(c.port(), 465);
        c.security = Security::Plain;
        assert_eq!(c.port(), 25);
        c.port = Some(2525);
        assert_eq!(c.port(), 2525);
    }

    #[test]
    fn secret_hides_itself() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
        let c = with_credentials(Security::Starttls);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t-pw"), "{dbg}");
        assert!(dbg.contains("***"));
    }

    #[test]
    fn validate_refuses_empty_host() {
        for host in ["", "   ", "smtp example.org"] {
            let c = SmtpConfig { host: host.to_owned(), ..SmtpConfig::default() };
            let e = c.validate().expect_err(host);
            assert!(e.0.contains("smtp.host"), "{e}");
        }
    }

    #[test]
    fn validate_requires_a_single_valid_from_mailbox() {
        for from in ["", "not an address", "a@b.de, c@d.de", "Hub <hub@example.org>\r\nBcc: x@y.de"] {
            let c = SmtpConfig { from: from.to_owned(), ..SmtpConfig::default() };
            let e = c.validate().expect_err(from);
            assert!(e.0.contains("smtp.from"), "{e}");
        }
        for from in ["hub@example.org", "Wohnungserhalt Hub <hub@example.org>", "\"Hub, Hannover\" <hub@example.org>"] {
            let c = SmtpConfig { from: from.to_owned(), ..SmtpConfig::default() };
            assert!(c.validate().is_ok(), "{from}");
        }
    }

    #[test]
    fn validate_requires_username_and_password_together() {
        let only_user = SmtpConfig { username: Some("hub".to_owned()), ..SmtpConfig::default() };
        assert!(only_user.validate().unwrap_err().0.contains("smtp.password"));
        let only_password = SmtpConfig { password: Some(Secret::new("pw")), ..SmtpConfig::default() };
        assert!(only_password.validate().unwrap_err().0.contains("smtp.username"));
        assert!(with_credentials(Security::Starttls).validate().is_ok());
        assert!(with_credentials(Security::Tls).validate().is_ok());

        let empty_user = SmtpConfig { username: Some(" ".to_owned()), ..with_credentials(Security::Tls) };
        assert!(empty_user.validate().is_err());
        let empty_pw = SmtpConfig { password: Some(Secret::new("")), ..with_credentials(Security::Tls) };
        assert!(empty_pw.validate().is_err());
    }

    #[test]
    fn validate_refuses_credentials_in_clear_without_leaking_them() {
        let e = with_credentials(Security::Plain).validate().unwrap_err();
        assert!(e.0.contains("never sent in clear"), "{e}");
        assert!(!e.0.contains("s3cr3t-pw"));
        // Plain without credentials is fine for a local relay.
        let local = SmtpConfig { security: Security::Plain, ..SmtpConfig::default() };
        assert!(local.validate().is_ok());
    }

    #[test]
    fn validate_refuses_zero_pool_timeout_and_port() {
        let c = SmtpConfig { pool_size: 0, ..SmtpConfig::default() };
        assert!(c.validate().unwrap_err().0.contains("pool_size"));
        let c = SmtpConfig { timeout_secs: 0, ..SmtpConfig::default() };
        assert!(c.validate().unwrap_err().0.contains("timeout_secs"));
        let c = SmtpConfig { port: Some(0), ..SmtpConfig::default() };
        assert!(c.validate().unwrap_err().0.contains("smtp.port"));
    }

    #[test]
    fn delivery_policy_validation() {
        let p = DeliveryPolicy { max_attempts: 0, ..DeliveryPolicy::default() };
        assert!(p.validate().is_err());
        let p = DeliveryPolicy { retry_base_secs: 0, ..DeliveryPolicy::default() };
        assert!(p.validate().is_err());
        let p = DeliveryPolicy { retry_base_secs: 60, retry_max_secs: 30, ..DeliveryPolicy::default() };
        assert!(p.validate().is_err());
    }

    #[test]
    fn deserialises_with_defaults_and_lowercase_security() {
        let c: SmtpConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port(), 587);

        let c: SmtpConfig = serde_json::from_str(
            r#"{"host":"mail.example.org","security":"tls","username":"hub","password":"pw",
                "from":"Hub <hub@example.org>","ca_file":"/etc/hub/relay-ca.pem","pool_size":2,"timeout_secs":10}"#,
        )
        .unwrap();
        assert_eq!(c.host, "mail.example.org");
        assert_eq!(c.security, Security::Tls);
        assert_eq!(c.port(), 465);
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(c.ca_file, Some(PathBuf::from("/etc/hub/relay-ca.pem")));
        assert_eq!((c.pool_size, c.timeout_secs), (2, 10));
        assert!(c.validate().is_ok());

        for (text, want) in
            [("\"starttls\"", Security::Starttls), ("\"tls\"", Security::Tls), ("\"plain\"", Security::Plain)]
        {
            assert_eq!(serde_json::from_str::<Security>(text).unwrap(), want);
        }
        assert!(serde_json::from_str::<Security>("\"STARTTLS\"").is_err());
        assert!(serde_json::from_str::<Security>("\"ssl\"").is_err());
    }

    #[test]
    fn deserialisation_refuses_unknown_fields() {
        assert!(serde_json::from_str::<SmtpConfig>(r#"{"hots":"typo"}"#).is_err());
        assert!(serde_json::from_str::<DeliveryPolicy>(r#"{"max_attempt":3}"#).is_err());
        let p: DeliveryPolicy = serde_json::from_str(r#"{"max_attempts":3}"#).unwrap();
        assert_eq!((p.max_attempts, p.retry_base_secs, p.retry_max_secs), (3, 30, 3600));
    }
}
