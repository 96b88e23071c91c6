//! Delivery of rendered mails to the SMTP relay.
//!
//! One [`SmtpSink`] per hub process, shared by all outbox workers. A delivery attempt either
//! succeeds or returns a [`SendError`] that says whether to retry, so the worker needs no
//! knowledge of SMTP.
//!
//! The SMTP dialogue (EHLO, STARTTLS, AUTH, MAIL … DATA) is lettre's ([`AsyncSmtpConnection`]),
//! but the sink opens the sockets and keeps the connections itself: lettre's transport never
//! sets TCP_NODELAY and has no hook to do so, and without it every message waits for Nagle's
//! algorithm and the relay's delayed ACK (44 ms per mail, 87 mails/s with 4 connections, in
//! `docs/benchmarks.md`). The pool is deliberately small:
//! - **Bounded**: `pool_size` permits of a semaphore. Only a holder of a permit uses, opens or
//!   parks a connection, and it opens one only when none is idle, so there are never more than
//!   `pool_size` connections, in use and idle together.
//! - **Reused while healthy**: after a successful exchange the connection is parked and the
//!   next attempt takes it (last in, first out). One idle for longer than [`IDLE_TIMEOUT`] is
//!   closed instead, before the relay's own idle timeout does it. A connection whose exchange
//!   failed in any way is closed, never parked.
//! - **One retry on a fresh connection**, only when a *reused* connection fails without any
//!   SMTP reply (reset, end of stream) or with `421`: the relay closed it while it was idle.
//!   Every other failure goes back to the outbox with its classification. If such a connection
//!   broke after the relay took the mail but before its reply arrived, the retry repeats the
//!   mail with the same Message-ID, exactly as the outbox's own retry would.
//! - **Bounded in time**: lettre puts no timeout on replies or the TLS handshake, so every
//!   attempt (from taking or opening a connection to the final reply; waiting for a permit
//!   excluded) is bounded here as a whole by `timeout_secs`. The connection belongs to the
//!   attempt, so one abandoned by a timeout is closed with it and a late reply can never answer
//!   another command; the idle connections are closed as well, as they likely share its fate.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::commands::Noop;
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Category, Code, Detail, Severity};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::{ConfigError, Security, SmtpConfig, parse_mailbox};
use crate::render::RenderedMail;
use crate::retry::SendError;

/// An idle connection older than this is closed rather than reused (lettre's default too);
/// relays close idle sessions after a few minutes (Postfix: 300 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
/// Meant to be shared (e.g. in an `Arc`) by all workers of a process; it spawns no task, so
/// creating it needs no runtime, using it needs a Tokio runtime.
pub struct SmtpSink {
    /// Where and how connections are opened.
    relay: Relay,
    /// `pool_size` permits: one per connection in use.
    permits: Semaphore,
    /// Healthy connections waiting for the next attempt, the most recently used last.
    idle: Mutex<Vec<Parked>>,
    /// Bound on the idle connections (the number of permits).
    pool_size: usize,
    /// Bound on one attempt (connect to final reply) and on a health check.
    pub(crate) attempt_timeout: Duration,
    from: Mailbox,
    domain: String,
    /// Strings that must never appear in an error message (password and its AUTH encodings).
    pub(crate) secrets: Arc<[String]>,
}

/// How to reach the relay and set up a session: everything lettre's transport builder held.
struct Relay {
    host: String,
    port: u16,
    security: Security,
    /// `Required` (STARTTLS), `Wrapper` (implicit TLS) or `None`, with the TLS settings.
    tls: Tls,
    /// The EHLO name: this machine's host name (lettre's default).
    hello: ClientId,
    credentials: Option<Credentials>,
}

/// A healthy connection and when it was parked.
struct Parked {
    conn: AsyncSmtpConnection,
    since: Instant,
}

/// What an attempt does on its connection.
pub(crate) enum Exchange<'a> {
    /// MAIL, RCPT, DATA and the message.
    Mail { envelope: &'a Envelope, raw: &'a [u8] },
    /// NOOP (the health check).
    Noop,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately no credentials, no connection internals.
        f.debug_struct("SmtpSink")
            .field("host", &self.relay.host)
            .field("port", &self.relay.port)
            .field("security", &self.relay.security)
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
    /// Errors: an invalid configuration, an unreadable or certificate-free `ca_file`.
    pub fn new(cfg: &SmtpConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let from =
            parse_mailbox(&cfg.from).ok_or_else(|| ConfigError("smtp.from is not a valid mailbox".to_owned()))?;
        let domain = from.email.domain().to_owned();
        let host = cfg.host.trim().to_owned();
        let tls = match cfg.security {
            Security::Starttls => Tls::Required(tls_parameters(&host, cfg)?),
            Security::Tls => Tls::Wrapper(tls_parameters(&host, cfg)?),
            Security::Plain => Tls::None,
        };
        let mut secrets = Vec::new();
        let mut credentials = None;
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            credentials = Some(Credentials::new(user.clone(), password.expose().to_owned()));
            let b64 = base64::engine::general_purpose::STANDARD;
            secrets.push(password.expose().to_owned());
            secrets.push(b64.encode(format!("\0{user}\0{}", password.expose()))); // AUTH PLAIN
            secrets.push(b64.encode(password.expose())); // AUTH LOGIN
        }
        let pool_size = cfg.pool_size as usize;
        Ok(Self {
            relay: Relay {
                port: cfg.port(),
                host,
                security: cfg.security,
                tls,
                hello: ClientId::default(),
                credentials,
            },
            permits: Semaphore::new(pool_size),
            idle: Mutex::new(Vec::with_capacity(pool_size)),
            pool_size,
            attempt_timeout: Duration::from_secs(cfg.timeout_secs),
            from,
            domain,
            secrets: secrets.into(),
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
        let raw = message.formatted();
        self.attempt(Exchange::Mail { envelope: message.envelope(), raw: &raw }).await
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

    /// Runs `exchange` on a pooled or new connection: waits for a permit, then bounds the rest
    /// by `timeout_secs` (see the module docs).
    pub(crate) async fn attempt(&self, exchange: Exchange<'_>) -> Result<(), SendError> {
        let _permit = self.permit().await?;
        match tokio::time::timeout(self.attempt_timeout, self.attempt_unbounded(&exchange)).await {
            Ok(result) => result,
            Err(_elapsed) => {
                self.idle().clear();
                Err(SendError::transient(format!("SMTP timeout after {} s", self.attempt_timeout.as_secs())))
            }
        }
    }

    async fn attempt_unbounded(&self, exchange: &Exchange<'_>) -> Result<(), SendError> {
        if let Some(mut conn) = self.take_idle() {
            match exchange.run(&mut conn).await {
                Ok(()) => {
                    self.park(conn);
                    return Ok(());
                }
                Err(e) if closed_while_idle(&e) => {
                    let e = SendError::from_smtp(&e, &self.secrets);
                    tracing::debug!(error = %e, "pooled SMTP connection was closed by the relay; opening a new one");
                }
                Err(e) => return Err(SendError::from_smtp(&e, &self.secrets)),
            }
        }
        let mut conn = self.relay.open(&self.secrets).await?;
        exchange.run(&mut conn).await.map_err(|e| SendError::from_smtp(&e, &self.secrets))?;
        self.park(conn);
        Ok(())
    }

    /// Waits for one of the `pool_size` connection slots.
    pub(crate) async fn permit(&self) -> Result<SemaphorePermit<'_>, SendError> {
        // The semaphore is never closed; the error arm exists only to avoid a panic path.
        self.permits.acquire().await.map_err(|_| SendError::transient("SMTP sink is shutting down"))
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Parked>> {
        // The lock is never held across an await or a panic point; a poisoned one is still consistent.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently parked connection, after closing those idle for too long.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle();
        idle.retain(|p| p.since.elapsed() < IDLE_TIMEOUT);
        idle.pop().map(|p| p.conn)
    }

    /// Keeps a connection after a successful exchange (closes it if the pool is somehow full).
    fn park(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle();
        if !conn.has_broken() && idle.len() < self.pool_size {
            idle.push(Parked { conn, since: Instant::now() });
        }
    }
}

impl Exchange<'_> {
    async fn run(&self, conn: &mut AsyncSmtpConnection) -> Result<(), smtp::Error> {
        match self {
            Self::Mail { envelope, raw } => conn.send(envelope, raw).await.map(drop),
            Self::Noop => conn.command(Noop).await.map(drop),
        }
    }
}

impl Relay {
    /// A new session: TCP with TCP_NODELAY, implicit TLS or STARTTLS as configured (with
    /// certificate check), EHLO, and AUTH if credentials are set. The caller bounds it in time.
    async fn open(&self, secrets: &[String]) -> Result<AsyncSmtpConnection, SendError> {
        let smtp_error = |e: smtp::Error| SendError::from_smtp(&e, secrets);
        let tcp = connect_tcp(&self.host, self.port)
            .await
            .map_err(|e| SendError::transient(format!("SMTP connection error: {e}")))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Tls::Wrapper(params) => Box::new(implicit_tls::handshake(tcp, params.clone()).await.map_err(smtp_error)?),
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await.map_err(smtp_error)?;
        match &self.tls {
            // Fails with a client error (permanent) if the relay does not offer STARTTLS.
            Tls::Required(params) => conn.starttls(params.clone(), &self.hello).await.map_err(smtp_error)?,
            Tls::Opportunistic(params) if conn.can_starttls() => {
                conn.starttls(params.clone(), &self.hello).await.map_err(smtp_error)?;
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await.map_err(smtp_error)?;
        }
        Ok(conn)
    }
}

/// Connects to the relay with TCP_NODELAY: SMTP is a dialogue of small writes, each of which
/// Nagle's algorithm would hold back until the previous one is acknowledged.
pub(crate) async fn connect_tcp(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Whether a reused connection failed like one the relay closed while it was idle: no SMTP
/// reply at all (reset, end of stream) or `421` (the relay closing the channel).
fn closed_while_idle(e: &smtp::Error) -> bool {
    match e.status() {
        Some(code) => code == Code::new(Severity::TransientNegativeCompletion, Category::Connections, Detail::One),
        None => !e.is_client(),
    }
}

/// Implicit TLS ("SMTPS") on the sink's own socket, with lettre's handshake and the same
/// [`TlsParameters`] as STARTTLS. lettre's `AsyncNetworkStream` is the only way to that
/// handshake; it is deprecated as "not meant to be public" in lettre 0.11 but still exported.
/// It speaks the `futures` I/O traits, while `connect_with_transport` takes a Tokio stream:
/// [`ImplicitTls`](implicit_tls::ImplicitTls) translates.
mod implicit_tls {
    #![allow(deprecated)]

    use std::io;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::task::{Context, Poll, ready};

    use futures_io::{AsyncRead as _, AsyncWrite as _};
    use lettre::transport::smtp;
    use lettre::transport::smtp::client::{AsyncNetworkStream, AsyncTokioStream, TlsParameters};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpStream;

    /// A TLS session over the sink's TCP stream.
    #[derive(Debug)]
    pub(super) struct ImplicitTls(AsyncNetworkStream);

    /// The TLS handshake (certificate and host name checked by lettre's rustls settings).
    pub(super) async fn handshake(tcp: TcpStream, params: TlsParameters) -> Result<ImplicitTls, smtp::Error> {
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        stream.upgrade_tls(params).await?;
        Ok(ImplicitTls(stream))
    }

    impl AsyncTokioStream for ImplicitTls {
        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.0.peer_addr()
        }
    }

    impl AsyncRead for ImplicitTls {
        fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            let n = ready!(Pin::new(&mut self.0).poll_read(cx, buf.initialize_unfilled()))?;
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for ImplicitTls {
        fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_close(cx)
        }
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
    use crate::retry::test_peer::scripted_peer;

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
            assert_eq!(sink.relay.port, cfg.port());
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
    fn builds_outside_a_runtime_as_it_spawns_nothing() {
        assert!(SmtpSink::new(&SmtpConfig::default()).is_ok());
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

    const EHLO: (&str, &str) = ("EHLO", "250-peer\r\n250 8BITMIME\r\n");

    #[tokio::test]
    async fn connections_have_tcp_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let tcp = connect_tcp("127.0.0.1", port).await.expect("connect");
        assert!(tcp.nodelay().expect("nodelay"), "TCP_NODELAY is set");
    }

    #[tokio::test]
    async fn one_connection_carries_mails_and_checks_one_after_another() {
        let (port, accepted) =
            scripted_peer("220 peer ESMTP\r\n", vec![EHLO, ("DATA", "354 go ahead\r\n")], false).await;
        let sink = SmtpSink::new(&plain_config(port)).expect("sink");
        for _ in 0..3 {
            sink.send(&outgoing("a@example.org")).await.expect("sent");
            sink.check().await.expect("healthy");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_connection_the_relay_closed_while_idle_is_replaced_once() {
        let (port, accepted) =
            scripted_peer("220 peer ESMTP\r\n", vec![EHLO, ("DATA", "354 go ahead\r\n")], true).await;
        let sink = SmtpSink::new(&plain_config(port)).expect("sink");
        for _ in 0..3 {
            sink.send(&outgoing("a@example.org")).await.expect("sent on a new connection");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrent_mails_share_at_most_pool_size_connections() {
        let (port, accepted) =
            scripted_peer("220 peer ESMTP\r\n", vec![EHLO, ("DATA", "354 go ahead\r\n")], false).await;
        let sink = Arc::new(SmtpSink::new(&SmtpConfig { pool_size: 2, ..plain_config(port) }).expect("sink"));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let sink = sink.clone();
            set.spawn(async move { sink.send(&outgoing("a@example.org")).await });
        }
        while let Some(r) = set.join_next().await {
            r.expect("join").expect("sent");
        }
        let opened = accepted.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=2).contains(&opened), "{opened} connections");
        assert!(sink.idle().len() <= 2);
    }

    /// An implicit-TLS relay on a std thread (rustls' blocking API) with a certificate for
    /// `localhost` from a fresh test CA; returns its port, the CA's PEM and the commands seen.
    fn implicit_tls_peer() -> (u16, String, Arc<Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Write};

        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("server certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls_pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
                )
                .expect("server config"),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (config, log) = (config.clone(), log.clone());
                std::thread::spawn(move || -> Option<()> {
                    let tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).ok()?, tcp);
                    let mut s = BufReader::new(tls);
                    s.get_mut().write_all(b"220 peer ESMTP\r\n").ok()?;
                    let (mut line, mut in_data) = (String::new(), false);
                    loop {
                        line.clear();
                        if s.read_line(&mut line).ok()? == 0 {
                            return None;
                        }
                        let cmd = line.trim_end().to_owned();
                        let reply: &[u8] = if in_data {
                            in_data = cmd != ".";
                            if in_data {
                                continue;
                            }
                            b"250 2.0.0 queued\r\n"
                        } else if cmd.starts_with("EHLO") {
                            b"250-peer\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("AUTH") {
                            b"235 2.7.0 Authentication successful\r\n"
                        } else if cmd.starts_with("DATA") {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else {
                            b"250 ok\r\n"
                        };
                        if !in_data || cmd.starts_with("DATA") {
                            log.lock().expect("log").push(cmd.clone());
                        }
                        s.get_mut().write_all(reply).ok()?;
                        s.get_mut().flush().ok()?;
                    }
                });
            }
        });
        (port, ca.pem(), seen)
    }

    #[tokio::test]
    async fn implicit_tls_with_a_private_ca_and_auth() {
        let (port, ca_pem, seen) = implicit_tls_peer();
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write");
        let cfg = SmtpConfig {
            host: "localhost".to_owned(),
            port: Some(port),
            security: Security::Tls,
            username: Some("hub".to_owned()),
            password: Some(Secret::new("geheim-synthetisch")),
            ca_file: Some(ca_file),
            timeout_secs: 5,
            ..plain_config(port)
        };
        let sink = SmtpSink::new(&cfg).expect("sink");
        sink.check().await.expect("healthy over TLS");
        sink.send(&outgoing("a@example.org")).await.expect("sent over TLS");
        sink.send(&outgoing("b@example.org")).await.expect("sent again on the same connection");
        let seen = seen.lock().expect("log").clone();
        let count = |prefix: &str| seen.iter().filter(|c| c.starts_with(prefix)).count();
        assert_eq!((count("EHLO"), count("AUTH PLAIN"), count("NOOP"), count("DATA")), (1, 1, 1, 2), "{seen:?}");

        // Without the private CA the relay's certificate is not trusted: transient, nothing sent.
        let untrusting = SmtpSink::new(&SmtpConfig { ca_file: None, ..cfg }).expect("sink");
        let e = untrusting.send(&outgoing("a@example.org")).await.expect_err("untrusted certificate");
        assert_eq!(e.retry, Retry::Transient, "{e}");
        assert!(e.message.starts_with("SMTP connection error"), "{}", e.message);
    }
}
