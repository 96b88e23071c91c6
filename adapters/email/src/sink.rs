//! Delivery of rendered mails to the SMTP relay.
//!
//! One [`SmtpSink`] per hub process: a pooled lettre transport over rustls, shared by all outbox
//! workers. A delivery attempt either succeeds or returns a [`SendError`] that says whether to
//! retry, so the worker needs no knowledge of SMTP.
//!
//! Two facts about lettre 0.11 shape this module:
//! - its async transport applies the configured timeout only to the TCP connect; replies and
//!   the TLS handshake are awaited without limit. Every attempt is therefore bounded here as a
//!   whole, and after such a timeout the connection pool is replaced, so a connection abandoned
//!   mid-exchange is never reused (a late reply would answer the next command).
//! - its pool bounds only the connections kept idle, not those in use. A semaphore of
//!   `pool_size` permits bounds concurrent connections, so a burst of mails does not open a
//!   connection per mail.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::{ConfigError, Security, SmtpConfig, parse_mailbox};
use crate::render::RenderedMail;
use crate::retry::SendError;

/// One mail ready for delivery.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// Complete `Message-ID` header value, e.g. `<d41f…@hub.example.org>`. The hub derives it
    /// from the outbox job, so every retry of a job carries the same id and a receiver (or the
    /// relay) can drop the duplicate if an earlier attempt did arrive after all.
    pub message_id: String,
    /// Recipient mailbox (`user@domain` or `Name <user@domain>`); an invalid one is a
    /// permanent failure.
    pub to: String,
    /// Subject and bodies.
    pub mail: RenderedMail,
}

/// The SMTP delivery service: pooled, TLS by default, bounded in time and concurrency.
///
/// Must be created inside a Tokio runtime (lettre's pool spawns a cleanup task) and is meant to
/// be shared (e.g. in an `Arc`) by all workers of a process.
pub struct SmtpSink {
    /// Current transport; replaced after a timeout (see the module docs).
    transport: RwLock<AsyncSmtpTransport<Tokio1Executor>>,
    /// Builds a fresh transport with the same settings.
    builder: AsyncSmtpTransportBuilder,
    /// `pool_size` permits: one per connection in use.
    permits: Semaphore,
    /// Bound on one attempt (connect to final reply) and on a health check.
    pub(crate) attempt_timeout: Duration,
    from: Mailbox,
    domain: String,
    /// Strings that must never appear in an error message (password and its AUTH encodings).
    pub(crate) secrets: Arc<[String]>,
    host: String,
    port: u16,
    security: Security,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately no credentials, no transport internals.
        f.debug_struct("SmtpSink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

/// RFC 3834: marks the mail as sent by a machine, so auto-responders (out of office) stay quiet.
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");
/// The same request in the dialect of Microsoft Exchange, common at public bodies.
const AUTO_RESPONSE_SUPPRESS: HeaderName = HeaderName::new_from_ascii_str("X-Auto-Response-Suppress");

impl SmtpSink {
    /// Builds the sink from a configuration ([`SmtpConfig::validate`] is applied first).
    ///
    /// `Starttls` requires the upgrade (never opportunistic), `Tls` speaks TLS from the first
    /// byte, `Plain` uses no encryption (validated to carry no credentials). TLS trusts the
    /// web PKI roots plus every certificate in `ca_file`. No connection is opened here; use
    /// [`SmtpSink::check`] to probe the relay at start-up.
    ///
    /// Errors: an invalid configuration, an unreadable or certificate-free `ca_file`, or no
    /// Tokio runtime (instead of lettre's panic).
    pub fn new(cfg: &SmtpConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConfigError(
                "SmtpSink::new must be called inside a Tokio runtime (the connection pool spawns a task)".to_owned(),
            ));
        }
        let from =
            parse_mailbox(&cfg.from).ok_or_else(|| ConfigError("smtp.from is not a valid mailbox".to_owned()))?;
        let domain = from.email.domain().to_owned();
        let host = cfg.host.trim().to_owned();
        let port = cfg.port();
        let timeout = Duration::from_secs(cfg.timeout_secs);

        let tls = match cfg.security {
            Security::Starttls => Tls::Required(tls_parameters(&host, cfg)?),
            Security::Tls => Tls::Wrapper(tls_parameters(&host, cfg)?),
            Security::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(cfg.pool_size));
        let mut secrets = Vec::new();
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            let b64 = base64::engine::general_purpose::STANDARD;
            secrets.push(password.expose().to_owned());
            secrets.push(b64.encode(format!("\0{user}\0{}", password.expose()))); // AUTH PLAIN
            secrets.push(b64.encode(password.expose())); // AUTH LOGIN
        }
        let transport = builder.clone().build();
        Ok(Self {
            transport: RwLock::new(transport),
            builder,
            permits: Semaphore::new(cfg.pool_size as usize),
            attempt_timeout: timeout,
            from,
            domain,
            secrets: secrets.into(),
            host,
            port,
            security: cfg.security,
        })
    }

    /// Domain part of the configured `from` address: the right-hand side of the hub's
    /// Message-IDs, so they are unique to this sender (RFC 5322 §3.6.4).
    pub fn message_id_domain(&self) -> &str {
        &self.domain
    }

    /// Delivers one mail as `multipart/alternative` (UTF-8 text and HTML) with `From`, `To`,
    /// `Subject`, `Date` and `Message-ID` = `mail.message_id` exactly.
    ///
    /// An invalid recipient or Message-ID is a [`Retry::Permanent`](crate::retry::Retry)
    /// error (retrying cannot fix it); the attempt is bounded by `timeout_secs` and a timeout is
    /// transient. Waiting for a free connection slot is not counted against the timeout.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.build_message(mail)?;
        let _permit = self.permit().await?;
        let transport = self.current_transport();
        match tokio::time::timeout(self.attempt_timeout, transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(e)) => Err(SendError::from_smtp(&e, &self.secrets)),
            Err(_elapsed) => Err(self.timed_out()),
        }
    }

    /// Builds the MIME message; every failure here is the mail's fault, hence permanent.
    pub(crate) fn build_message(&self, mail: &OutgoingMail) -> Result<Message, SendError> {
        let to = parse_mailbox(&mail.to).ok_or_else(|| SendError::permanent("invalid recipient address"))?;
        if !valid_message_id(&mail.message_id) {
            return Err(SendError::permanent("invalid Message-ID (expected <local@domain>)"));
        }
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.mail.subject.clone())
            .message_id(Some(mail.message_id.clone()))
            .date(SystemTime::now())
            .raw_header(HeaderValue::new(AUTO_SUBMITTED, "auto-generated".to_owned()))
            .raw_header(HeaderValue::new(AUTO_RESPONSE_SUPPRESS, "All".to_owned()))
            .multipart(MultiPart::alternative_plain_html(mail.mail.text.clone(), mail.mail.html.clone()))
            .map_err(|e| SendError::permanent(format!("invalid message: {e}")))
    }

    /// Waits for one of the `pool_size` connection slots.
    pub(crate) async fn permit(&self) -> Result<SemaphorePermit<'_>, SendError> {
        // The semaphore is never closed; the error arm exists only to avoid a panic path.
        self.permits.acquire().await.map_err(|_| SendError::transient("SMTP sink is shutting down"))
    }

    /// A handle to the current transport (an `Arc` clone; cheap).
    pub(crate) fn current_transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        match self.transport.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the pool after a timeout (see the module docs) and describes the failure.
    pub(crate) fn timed_out(&self) -> SendError {
        let fresh = self.builder.clone().build();
        match self.transport.write() {
            Ok(mut t) => *t = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        SendError::transient(format!("SMTP timeout after {} s", self.attempt_timeout.as_secs()))
    }
}

/// TLS settings for `host`: rustls with the web PKI roots (lettre's default store) plus each
/// certificate of `ca_file`.
fn tls_parameters(host: &str, cfg: &SmtpConfig) -> Result<TlsParameters, ConfigError> {
    let mut params = TlsParameters::builder(host.to_owned());
    if let Some(path) = &cfg.ca_file {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| ConfigError(format!("cannot read smtp.ca_file {shown}: {e}")))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError(format!("smtp.ca_file {shown} is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(ConfigError(format!("smtp.ca_file {shown} contains no certificate")));
        }
        for cert in certs {
            let cert = Certificate::from_der(cert.to_vec())
                .map_err(|e| ConfigError(format!("smtp.ca_file {shown}: unusable certificate: {e}")))?;
            params = params.add_root_certificate(cert);
        }
    }
    params.build().map_err(|e| ConfigError(format!("invalid TLS settings for smtp.host: {e}")))
}

/// Checks the shape `<local@domain>` with RFC 5322 `atext` characters (the domain may be a
/// `[literal]`), so a malformed id from a bug never reaches a header.
fn valid_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let Some((local, domain)) = inner.split_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    let literal = domain.starts_with('[') && domain.ends_with(']') && domain.len() > 2;
    id.len() <= 250
        && !local.is_empty()
        && !domain.is_empty()
        && local.chars().all(atext)
        && if literal {
            domain[1..domain.len() - 1].chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':'))
        } else {
            domain.chars().all(atext)
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::retry::Retry;

    fn plain_config(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: Some(port),
            security: Security::Plain,
            from: "Wohnungserhalt Hub <hub@hub.example.org>".to_owned(),
            timeout_secs: 5,
            ..SmtpConfig::default()
        }
    }

    fn outgoing(to: &str) -> OutgoingMail {
        OutgoingMail {
            message_id: "<3f9a2c71.job-17@hub.example.org>".to_owned(),
            to: to.to_owned(),
            mail: RenderedMail {
                subject: "Neue Vermittlung V-3F9A2C71 (Schuldnerberatung) – Antwort erbeten bis 23.01.2026".to_owned(),
                text: "Sehr geehrtes Team,\nVorgang öffnen\n".to_owned(),
                html: "<p>Vorgang öffnen</p>".to_owned(),
            },
        }
    }

    /// A self-signed CA certificate (CN "email-adapter test CA", P-256, valid until 2126), made
    /// once with openssl for these tests. Public data only; its key was discarded.
    const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBljCCAT2gAwIBAgIUDMGI16xyv3Ozszz2fsFxoABOV1wwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVZW1haWwtYWRhcHRlciB0ZXN0IENBMCAXDTI2MTEyNDE5MzAx
N1oYDzIxMjYxMDMxMTkzMDE3WjAgMR4wHAYDVQQDDBVlbWFpbC1hZGFwdGVyIHRl
c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATij47iB4bj0Jv+iAG8Fzed
+BFV0NUP38PaO+ytp4zmXDR038yfX/YB6e7ayr8EbEiZImNKjj0CuMeNTvNf2faH
o1MwUTAdBgNVHQ4EFgQUOgxJLzwcBfLwl1w2vMJ8GDTjwFUwHwYDVR0jBBgwFoAU
OgxJLzwcBfLwl1w2vMJ8GDTjwFUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNHADBEAiBD+NRX4E4qOpQLHEyg/lFrji23cpBghf1de4yG/Xw2ZQIgL6uecx2i
yPnvaVc40n9PpiGJ0W4aLCb58Wxa/Fn8xt0=
-----END CERTIFICATE-----
";

    #[tokio::test]
    async fn builds_for_every_security_without_connecting() {
        for security in [Security::Starttls, Security::Tls, Security::Plain] {
            let cfg = SmtpConfig { security, host: "mail.example.org".to_owned(), ..SmtpConfig::default() };
            let sink = SmtpSink::new(&cfg).expect("sink");
            assert_eq!(sink.port, cfg.port());
            assert_eq!(sink.message_id_domain(), "localhost");
        }
        let with_auth = SmtpConfig {
            username: Some("hub".to_owned()),
            password: Some(Secret::new("s3cr3t-pw")),
            from: "Hub <hub@hub.example.org>".to_owned(),
            ..SmtpConfig::default()
        };
        let sink = SmtpSink::new(&with_auth).expect("sink");
        assert_eq!(sink.message_id_domain(), "hub.example.org");
        let dbg = format!("{sink:?}");
        assert!(!dbg.contains("s3cr3t-pw") && !dbg.contains("hub@"), "{dbg}");
        assert!(sink.secrets.iter().any(|s| s == "s3cr3t-pw"));
    }

    #[tokio::test]
    async fn refuses_an_invalid_config() {
        let cfg = SmtpConfig { pool_size: 0, ..SmtpConfig::default() };
        assert!(SmtpSink::new(&cfg).is_err());
    }

    #[test]
    fn refuses_to_build_outside_a_runtime_instead_of_panicking() {
        let e = SmtpSink::new(&SmtpConfig::default()).expect_err("no runtime");
        assert!(e.0.contains("Tokio runtime"), "{e}");
    }

    #[tokio::test]
    async fn ca_file_is_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, format!("{TEST_CA_PEM}{TEST_CA_PEM}")).expect("write");
        let cfg = SmtpConfig { ca_file: Some(good), ..SmtpConfig::default() };
        assert!(SmtpSink::new(&cfg).is_ok());

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        let cfg = SmtpConfig { ca_file: Some(empty), ..SmtpConfig::default() };
        assert!(SmtpSink::new(&cfg).expect_err("empty").0.contains("no certificate"));

        let missing = SmtpConfig { ca_file: Some(dir.path().join("missing.pem")), ..SmtpConfig::default() };
        assert!(SmtpSink::new(&missing).expect_err("missing").0.contains("cannot read smtp.ca_file"));

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
            .expect("write");
        let cfg = SmtpConfig { ca_file: Some(garbage), ..SmtpConfig::default() };
        assert!(SmtpSink::new(&cfg).is_err());
    }

    #[tokio::test]
    async fn message_has_the_required_headers_and_alternative_parts() {
        let sink = SmtpSink::new(&plain_config(25)).expect("sink");
        let mail = outgoing("Schuldnerberatung Diakonie <beratung@diakonie.example>");
        let raw = String::from_utf8(sink.build_message(&mail).expect("message").formatted()).expect("ascii");
        assert!(raw.contains("\r\nMessage-ID: <3f9a2c71.job-17@hub.example.org>\r\n"), "{raw}");
        assert!(raw.starts_with("From: \"Wohnungserhalt Hub\" <hub@hub.example.org>\r\n"), "{raw}");
        assert!(raw.contains("\r\nTo: \"Schuldnerberatung Diakonie\" <beratung@diakonie.example>\r\n"), "{raw}");
        assert!(raw.contains("\r\nSubject: Neue Vermittlung V-3F9A2C71 (Schuldnerberatung) =?utf-8?b?4oCT?="), "{raw}");
        assert!(raw.contains("\r\nDate: "), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(raw.contains("Content-Type: multipart/alternative;"), "{raw}");
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
        assert!(raw.contains("Content-Type: text/html; charset=utf-8"), "{raw}");
        // Non-ASCII is transfer-encoded: the message is 7-bit and needs no 8BITMIME.
        assert!(raw.is_ascii());
        // Same job, same id: a retry builds a message with the identical Message-ID.
        let again = String::from_utf8(sink.build_message(&mail).expect("message").formatted()).expect("ascii");
        assert!(again.contains("\r\nMessage-ID: <3f9a2c71.job-17@hub.example.org>\r\n"));
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_permanent_not_a_panic() {
        let sink = SmtpSink::new(&plain_config(25)).expect("sink");
        for to in ["", "not an address", "a@b.de, c@d.de", "a@b.de\r\nBcc: x@y.de", "@example.org"] {
            let e = sink.send(&outgoing(to)).await.expect_err(to);
            assert_eq!(e.retry, Retry::Permanent, "{to:?}");
            assert_eq!(e.message, "invalid recipient address");
        }
    }

    #[tokio::test]
    async fn an_invalid_message_id_is_permanent() {
        let sink = SmtpSink::new(&plain_config(25)).expect("sink");
        for id in ["", "abc@example.org", "<abc>", "<@example.org>", "<a b@example.org>", "<a@b@c>", "<a@ex\r\nample>"]
        {
            let mut mail = outgoing("a@example.org");
            mail.message_id = id.to_owned();
            let e = sink.send(&mail).await.expect_err(id);
            assert_eq!(e.retry, Retry::Permanent, "{id:?}");
        }
        assert!(valid_message_id("<1.2.3@[127.0.0.1]>"));
        assert!(valid_message_id("<job+17@hub.example.org>"));
    }

    #[tokio::test]
    async fn a_closed_port_is_transient() {
        // Bind and drop to get a local port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let sink = SmtpSink::new(&plain_config(port)).expect("sink");
        let e = sink.send(&outgoing("a@example.org")).await.expect_err("closed port");
        assert_eq!(e.retry, Retry::Transient, "{e}");
        assert!(e.message.starts_with("SMTP connection error"), "{}", e.message);
    }
}
