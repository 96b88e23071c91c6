//! Which delivery failures are worth another attempt, and when to make it.
//!
//! The outbox worker asks two questions after a failed send: retry or dead-letter
//! ([`classify`], carried in [`SendError::retry`]) and how long to wait ([`backoff`]).
//! Like every adapter, this one decides for its own errors (see STYLE.md, "Adapters shaped
//! alike"): SMTP says it plainly with 4xx (try again later) and 5xx (do not).

use std::time::Duration;

use lettre::transport::smtp;

use crate::config::DeliveryPolicy;

/// Whether a failed delivery may succeed if tried again unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Worth retrying after [`backoff`]: 4xx replies, network trouble, timeouts, TLS handshakes.
    Transient,
    /// Retrying the same mail cannot help: 5xx replies, invalid addresses or message; the job is
    /// dead-lettered so a person can look at it.
    Permanent,
}

/// A failed delivery (or health check).
///
/// `message` is short, English and safe to store in the outbox row and to log: it carries the
/// SMTP status and the server's text but never credentials, and mail addresses the server
/// echoes are replaced by `<address>`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Retry or dead-letter.
    pub retry: Retry,
    /// What went wrong, e.g. `permanent SMTP error: 550 5.1.1 <address>: user unknown`.
    pub message: String,
}

/// Longest [`SendError::message`] in characters; server texts can be long multi-line replies.
const MAX_MESSAGE_CHARS: usize = 200;

impl SendError {
    pub(crate) fn transient(message: impl Into<String>) -> Self {
        Self { retry: Retry::Transient, message: clip(&message.into()) }
    }

    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        Self { retry: Retry::Permanent, message: clip(&message.into()) }
    }

    /// Classifies a lettre error and describes it safely. `secrets` are literal strings
    /// (credentials and their base64 forms) that must never appear in the message, in case a
    /// server echoes a command line back.
    pub(crate) fn from_smtp(e: &smtp::Error, secrets: &[String]) -> Self {
        let retry = classify(e);
        let what = if let Some(code) = e.status() {
            match retry {
                Retry::Transient => format!("transient SMTP error: {code}"),
                Retry::Permanent => format!("permanent SMTP error: {code}"),
            }
        } else if e.is_timeout() {
            "SMTP timeout".to_owned()
        } else if e.is_tls() {
            "SMTP TLS error".to_owned()
        } else if e.is_client() {
            "SMTP client error".to_owned()
        } else if e.is_response() {
            "invalid SMTP response".to_owned()
        } else if e.is_transport_shutdown() {
            "SMTP transport shut down".to_owned()
        } else {
            "SMTP connection error".to_owned()
        };
        // lettre's source chain holds the server's reply text or the io/TLS error; nested
        // lettre errors are skipped (their Display would repeat "Connection error").
        let mut detail = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if s.downcast_ref::<smtp::Error>().is_none() {
                let text = s.to_string();
                if !text.is_empty() && !detail.contains(&text) {
                    if !detail.is_empty() {
                        detail.push_str(": ");
                    }
                    detail.push_str(&text);
                }
            }
            source = s.source();
        }
        let detail = detail.trim();
        let message = match (detail.is_empty(), e.status().is_some()) {
            (true, _) => what,
            (false, true) => format!("{what} {detail}"),
            (false, false) => format!("{what}: {detail}"),
        };
        Self { retry, message: clip(&redact(&message, secrets)) }
    }
}

/// Classifies a lettre SMTP error.
///
/// 4xx replies, timeouts, connection, network and TLS errors and a garbled response are
/// [`Retry::Transient`]: the relay or the network may recover. 5xx replies and client-side
/// errors (no STARTTLS offered although required, no usable AUTH mechanism, a message the
/// relay cannot take) are [`Retry::Permanent`]: the same attempt would fail the same way.
/// Invalid addresses never reach lettre's transport; the sink reports them as permanent itself.
pub fn classify(e: &smtp::Error) -> Retry {
    if e.is_permanent() {
        Retry::Permanent
    } else if e.is_transient() || e.is_timeout() || e.is_tls() || e.is_response() || e.is_transport_shutdown() {
        Retry::Transient
    } else if e.is_client() {
        Retry::Permanent
    } else {
        // Connection and network errors (refused, reset, DNS) have no predicate of their own.
        Retry::Transient
    }
}

/// The delay before retry attempt `attempt` (1 = the first retry; 0 is treated as 1).
///
/// Exponential: `retry_base_secs * 2^(attempt-1)`, capped at `retry_max_secs`, then spread to
/// 50 %..100 % of that value by a jitter derived from `seed` (e.g. a hash of the job id), so
/// mails that failed together do not all retry in the same second, yet a given job always
/// gets the same delay for the same attempt (reproducible in tests and logs).
/// Never zero: a policy of zeros still waits at least half a second, so a worker cannot spin.
pub fn backoff(policy: &DeliveryPolicy, attempt: u32, seed: u64) -> Duration {
    let attempt = attempt.max(1);
    let base_ms = policy.retry_base_secs.max(1).saturating_mul(1000);
    let cap_ms = policy.retry_max_secs.max(1).saturating_mul(1000);
    let factor = 1u64.checked_shl(attempt - 1).unwrap_or(u64::MAX);
    let full_ms = base_ms.saturating_mul(factor).min(cap_ms);
    let half = full_ms / 2;
    let spread = full_ms - half; // so that half + spread == full_ms
    let jitter = mix(seed ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % (spread + 1);
    Duration::from_millis((half + jitter).max(1))
}

/// SplitMix64 finaliser: a cheap, well-spread hash of the seed (not for security).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Removes what must not be stored or logged: the given secrets, and mail addresses
/// (personal data) that servers like to echo (`550 <jane@example.org>: unknown`).
/// Also flattens multi-line replies into one line.
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret.as_str(), "***");
    }
    out.split_whitespace()
        .map(|word| if word.contains('@') { redact_address(word) } else { word.to_owned() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces the address in a word but keeps punctuation around it, e.g. `<a@b.de>:` -> `<address>:`.
fn redact_address(word: &str) -> String {
    let start = word.find(|c: char| !matches!(c, '<' | '(' | '[' | '"' | '\'')).unwrap_or(0);
    let end = word
        .rfind(|c: char| !matches!(c, '>' | ')' | ']' | '"' | '\'' | ':' | ',' | ';' | '.'))
        .map_or(word.len(), |i| i + 1);
    if start >= end {
        return "<address>".to_owned();
    }
    let prefix = word[..start].trim_start_matches('<');
    let suffix = word[end..].trim_start_matches('>');
    format!("{prefix}<address>{suffix}")
}

/// Cuts a message to [`MAX_MESSAGE_CHARS`] characters (on a char boundary).
fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_MESSAGE_CHARS - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_peer::scripted;
    use super::*;
    use crate::config::{Security, SmtpConfig};
    use crate::render::RenderedMail;
    use crate::sink::{OutgoingMail, SmtpSink};
    use tokio::net::TcpListener;

    fn policy(base: u64, max: u64) -> DeliveryPolicy {
        DeliveryPolicy { max_attempts: 8, retry_base_secs: base, retry_max_secs: max }
    }

    #[test]
    fn backoff_stays_within_half_and_full_of_the_exponential_value() {
        let p = policy(30, 3600);
        for seed in [0u64, 1, 42, u64::MAX, 0xDEAD_BEEF] {
            for attempt in 1..=12u32 {
                let full = (30_000u64 << (attempt - 1)).min(3_600_000);
                let d = backoff(&p, attempt, seed).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt} seed {seed}: {d} not in [{}, {full}]", full / 2);
            }
        }
    }

    #[test]
    fn backoff_respects_the_cap_and_never_overflows() {
        let p = policy(30, 3600);
        for attempt in [8u32, 9, 20, 63, 64, 65, 1000, u32::MAX] {
            for seed in 0..50u64 {
                assert!(backoff(&p, attempt, seed) <= Duration::from_secs(3600), "attempt {attempt}");
                assert!(backoff(&p, attempt, seed) >= Duration::from_secs(1800), "attempt {attempt}");
            }
        }
        let huge = policy(u64::MAX, u64::MAX);
        assert!(backoff(&huge, u32::MAX, 7) > Duration::ZERO);
    }

    #[test]
    fn backoff_grows_monotonically_in_its_bounds() {
        // Lower bound of attempt n+1 equals the upper bound of attempt n until the cap.
        let p = policy(30, 3600);
        for seed in 0..100u64 {
            let mut prev_upper = 0u128;
            for attempt in 1..=8u32 {
                let d = backoff(&p, attempt, seed).as_millis();
                assert!(d * 2 >= prev_upper, "seed {seed} attempt {attempt}");
                prev_upper = d.max(prev_upper);
            }
        }
        // On average later attempts wait longer.
        let mean = |a| (0..200u64).map(|s| backoff(&p, a, s).as_millis()).sum::<u128>() / 200;
        assert!(mean(1) < mean(2) && mean(2) < mean(3) && mean(3) < mean(5));
    }

    #[test]
    fn backoff_treats_attempt_zero_as_one_and_is_deterministic() {
        let p = DeliveryPolicy::default();
        for seed in 0..20u64 {
            assert_eq!(backoff(&p, 0, seed), backoff(&p, 1, seed));
            assert_eq!(backoff(&p, 3, seed), backoff(&p, 3, seed));
        }
    }

    #[test]
    fn backoff_spreads_jobs_with_different_seeds() {
        let p = DeliveryPolicy::default();
        let distinct: std::collections::HashSet<_> = (0..100u64).map(|s| backoff(&p, 1, s)).collect();
        assert!(distinct.len() > 50, "only {} distinct delays", distinct.len());
    }

    #[test]
    fn backoff_is_never_zero() {
        for (base, max) in [(0, 0), (0, 10), (10, 0), (1, 1)] {
            for attempt in 0..5u32 {
                for seed in 0..20u64 {
                    assert!(backoff(&policy(base, max), attempt, seed) >= Duration::from_millis(500));
                }
            }
        }
    }

    #[test]
    fn redaction_removes_secrets_and_addresses() {
        let secrets = vec!["hunter2".to_owned(), "AGh1YgBodW50ZXIy".to_owned()];
        let r = redact("500 unknown command AGh1YgBodW50ZXIy (pw hunter2)", &secrets);
        assert!(!r.contains("hunter2") && !r.contains("AGh1YgBodW50ZXIy"), "{r}");
        let r = redact("550 5.1.1 <jane.doe@example.org>: Recipient address rejected:\r\n  user unknown", &[]);
        assert_eq!(r, "550 5.1.1 <address>: Recipient address rejected: user unknown");
        assert_eq!(redact("rejected jane@example.org.", &[]), "rejected <address>.");
        assert_eq!(redact("to=(x@y.de)", &[]), "<address>)");
        assert_eq!(redact("ok", &[String::new()]), "ok");
    }

    #[test]
    fn messages_are_clipped() {
        let e = SendError::transient("x".repeat(1000));
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(SendError::permanent("short").message, "short");
        assert_eq!(SendError::permanent("short").to_string(), "short");
    }

    // ---- classification of real lettre errors ----------------------------------------------
    // lettre's error constructors are private, so these tests provoke real errors from an
    // in-process scripted peer on 127.0.0.1:0 (no external server needed).

    fn sink_to(port: u16, timeout_secs: u64) -> SmtpSink {
        let cfg = SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: Some(port),
            security: Security::Plain,
            from: "Hub <hub@example.org>".to_owned(),
            timeout_secs,
            ..SmtpConfig::default()
        };
        SmtpSink::new(&cfg).expect("sink")
    }

    fn mail() -> OutgoingMail {
        OutgoingMail {
            message_id: "<job-1@example.org>".to_owned(),
            to: "Beratung <beratung@example.net>".to_owned(),
            mail: RenderedMail {
                subject: "Test".to_owned(),
                text: "Hallo".to_owned(),
                html: "<p>Hallo</p>".to_owned(),
            },
        }
    }

    const EHLO_PLAIN: &str = "250-peer\r\n250 8BITMIME\r\n";

    #[tokio::test]
    async fn a_5xx_recipient_reply_is_permanent_and_hides_the_address() {
        let port = scripted(
            "220 peer ESMTP\r\n",
            vec![("EHLO", EHLO_PLAIN), ("RCPT", "550 5.1.1 <beratung@example.net>: Recipient address rejected\r\n")],
        )
        .await;
        let e = sink_to(port, 5).send(&mail()).await.expect_err("must fail");
        assert_eq!(e.retry, Retry::Permanent, "{e}");
        assert!(e.message.starts_with("permanent SMTP error: 550"), "{}", e.message);
        assert!(!e.message.contains("beratung@example.net"), "{}", e.message);
        assert!(e.message.contains("<address>"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_4xx_reply_is_transient() {
        let port = scripted(
            "220 peer ESMTP\r\n",
            vec![("EHLO", EHLO_PLAIN), ("RCPT", "451 4.7.1 Greylisted, please try again later\r\n")],
        )
        .await;
        let e = sink_to(port, 5).send(&mail()).await.expect_err("must fail");
        assert_eq!(e.retry, Retry::Transient, "{e}");
        assert!(e.message.starts_with("transient SMTP error: 451"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_5xx_greeting_is_permanent() {
        let port = scripted("554 5.3.2 no service here\r\n", vec![]).await;
        let e = sink_to(port, 5).send(&mail()).await.expect_err("must fail");
        assert_eq!(e.retry, Retry::Permanent, "{e}");
    }

    #[tokio::test]
    async fn a_garbled_reply_is_transient() {
        let port = scripted("hello, I am not an SMTP server\r\n", vec![]).await;
        let e = sink_to(port, 5).send(&mail()).await.expect_err("must fail");
        assert_eq!(e.retry, Retry::Transient, "{e}");
    }

    #[tokio::test]
    async fn a_silent_peer_times_out_transiently() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // Accept and hold the connection without ever greeting.
        let holder = tokio::spawn(async move {
            let conn = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(conn);
        });
        let e = sink_to(port, 1).send(&mail()).await.expect_err("must fail");
        holder.abort();
        assert_eq!(e.retry, Retry::Transient, "{e}");
        assert!(e.message.contains("timeout") || e.message.contains("timed out"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_successful_exchange_sends() {
        let port = scripted("220 peer ESMTP\r\n", vec![("EHLO", EHLO_PLAIN), ("DATA", "354 go ahead\r\n")]).await;
        sink_to(port, 5).send(&mail()).await.expect("sent");
    }
}

/// An in-process scripted SMTP peer for unit tests (lettre's error constructors are private, so
/// real errors are provoked from a real exchange). Uses only tokio's `net` feature.
#[cfg(test)]
pub(crate) mod test_peer {
    use std::io;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::net::{TcpListener, TcpStream};

    /// One accepted connection with a line buffer.
    pub(crate) struct Conn {
        stream: TcpStream,
        buf: Vec<u8>,
    }

    impl Conn {
        pub(crate) fn new(stream: TcpStream) -> Self {
            Self { stream, buf: Vec::new() }
        }

        pub(crate) async fn write(&self, data: &[u8]) -> io::Result<()> {
            let mut off = 0;
            while off < data.len() {
                self.stream.writable().await?;
                match self.stream.try_write(&data[off..]) {
                    Ok(n) => off += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }

        /// The next line without its line ending; `None` at end of stream.
        pub(crate) async fn line(&mut self) -> io::Result<Option<String>> {
            loop {
                if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.buf.drain(..=i).collect();
                    return Ok(Some(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned()));
                }
                self.stream.readable().await?;
                let mut chunk = [0u8; 4096];
                match self.stream.try_read(&mut chunk) {
                    Ok(0) => return Ok(None),
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// Serves every connection on a fresh `127.0.0.1` port: greets with `greeting`, then answers
    /// each command with the reply of the first rule whose prefix matches (default `250 ok`).
    /// After a `354` reply to DATA, the message up to "." is swallowed and acknowledged.
    pub(crate) async fn scripted(greeting: &'static str, rules: Vec<(&'static str, &'static str)>) -> u16 {
        scripted_peer(greeting, rules, false).await.0
    }

    /// Like [`scripted`], and also counts the connections it accepted. With `hang_up_after_mail`
    /// it closes a connection right after acknowledging a mail, as a relay closes an idle one.
    pub(crate) async fn scripted_peer(
        greeting: &'static str,
        rules: Vec<(&'static str, &'static str)>,
        hang_up_after_mail: bool,
    ) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let rules = rules.clone();
                tokio::spawn(async move {
                    let mut conn = Conn::new(stream);
                    if conn.write(greeting.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut in_data = false;
                    while let Ok(Some(line)) = conn.line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                let _ = conn.write(b"250 2.0.0 queued\r\n").await;
                                if hang_up_after_mail {
                                    return;
                                }
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply = rules.iter().find(|(p, _)| upper.starts_with(p)).map_or("250 ok\r\n", |(_, r)| *r);
                        in_data = upper.starts_with("DATA") && reply.starts_with("354");
                        if conn.write(reply.as_bytes()).await.is_err() || upper.starts_with("QUIT") {
                            return;
                        }
                    }
                });
            }
        });
        (port, accepted)
    }
}
