//! The sink's health check: can the relay be reached and does it accept us?
//!
//! Used at start-up (fail fast on a wrong host, port, certificate or password instead of
//! dead-lettering the first mails) and by the hub's health reporting. The answer uses the same
//! [`SendError`] classification as delivery, so a caller can tell "relay down for now"
//! (transient) from "configuration wrong" (permanent).

use crate::retry::SendError;
use crate::sink::{Exchange, SmtpSink};

impl SmtpSink {
    /// Sends `NOOP` on a pooled connection, or on a new one if none is idle.
    ///
    /// A new connection goes through the full set-up (connect, greeting, EHLO, STARTTLS or TLS
    /// handshake with certificate check, AUTH), so a passing check means mail can be handed
    /// over; a reused pooled connection only proves the relay still answers. Bounded by
    /// `timeout_secs` and by the same connection limit as [`SmtpSink::send`], and like a
    /// delivery it replaces a pooled connection the relay closed while it was idle.
    pub async fn check(&self) -> Result<(), SendError> {
        self.attempt(Exchange::Noop).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpListener;

    use crate::config::{Security, SmtpConfig};
    use crate::retry::Retry;
    use crate::retry::test_peer::{Conn, scripted};
    use crate::sink::SmtpSink;

    fn sink(port: u16, timeout_secs: u64) -> SmtpSink {
        let cfg = SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: Some(port),
            security: Security::Plain,
            timeout_secs,
            ..SmtpConfig::default()
        };
        SmtpSink::new(&cfg).expect("sink")
    }

    const EHLO: (&str, &str) = ("EHLO", "250-peer\r\n250 8BITMIME\r\n");

    #[tokio::test]
    async fn a_healthy_relay_passes_twice_with_pooling() {
        let s = sink(scripted("220 peer ESMTP\r\n", vec![EHLO]).await, 5);
        s.check().await.expect("healthy");
        // The second check may reuse the pooled connection.
        s.check().await.expect("still healthy");
    }

    #[tokio::test]
    async fn a_closed_port_is_transient() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let e = sink(port, 5).check().await.expect_err("closed");
        assert_eq!(e.retry, Retry::Transient, "{e}");
    }

    #[tokio::test]
    async fn a_refusing_relay_is_permanent() {
        let e = sink(scripted("554 5.7.1 not for you\r\n", vec![]).await, 5).check().await.expect_err("refused");
        assert_eq!(e.retry, Retry::Permanent, "{e}");
        assert!(e.message.starts_with("permanent SMTP error: 554"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_silent_relay_times_out_and_the_sink_recovers() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let s = sink(port, 1);
        let holder = tokio::spawn(async move {
            // First connection: accept and say nothing. Second: behave.
            let silent = listener.accept().await;
            let (stream, _) = listener.accept().await.expect("second accept");
            let mut conn = Conn::new(stream);
            let _ = conn.write(b"220 peer\r\n").await;
            while let Ok(Some(_)) = conn.line().await {
                if conn.write(b"250 ok\r\n").await.is_err() {
                    break;
                }
            }
            drop(silent);
        });
        let e = s.check().await.expect_err("silent");
        assert_eq!(e.retry, Retry::Transient, "{e}");
        assert_eq!(e.message, "SMTP timeout after 1 s");
        tokio::time::timeout(Duration::from_secs(5), s.check()).await.expect("no hang").expect("recovered");
        holder.abort();
    }
}
