//! Self-test of the SMTP sink harness (`mailsink/`): a raw SMTP dialogue over TCP, then the parsed
//! message as the sink stored it. Proves the sink decodes what the mail tests rely on and answers
//! RCPT, MAIL and AUTH as configured.

use crate::mailsink;

use std::time::Duration;

use mailsink::{MailSink, SinkOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const WAIT: Duration = Duration::from_secs(10);
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One SMTP client connection, speaking line by line.
struct Smtp {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl Smtp {
    /// Connects and reads the 220 greeting.
    async fn connect(port: u16) -> Self {
        let s = TcpStream::connect(("127.0.0.1", port)).await.expect("connect to the sink");
        let (r, w) = s.into_split();
        let mut c = Self { r: BufReader::new(r), w };
        let greeting = c.reply().await;
        assert!(greeting.starts_with("220 "), "greeting: {greeting}");
        c
    }

    /// Reads one reply (all lines of a multi-line reply, joined by '\n').
    async fn reply(&mut self) -> String {
        let mut all = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(REPLY_TIMEOUT, self.r.read_line(&mut line))
                .await
                .expect("the sink answers in time")
                .expect("read from the sink");
            assert!(n > 0, "the sink closed the connection; so far: {all:?}");
            let line = line.trim_end().to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            all.push(line);
            if last {
                return all.join("\n");
            }
        }
    }

    /// Sends one command line and returns the reply.
    async fn cmd(&mut self, line: &str) -> String {
        self.w.write_all(format!("{line}\r\n").as_bytes()).await.expect("write to the sink");
        self.reply().await
    }

    /// Sends a command and asserts the reply's code.
    async fn expect(&mut self, line: &str, code: &str) -> String {
        let reply = self.cmd(line).await;
        assert!(reply.starts_with(code), "{line} -> {reply} (expected {code})");
        reply
    }

    /// DATA with the given message (lines joined by CRLF, dot-stuffed), expecting 250.
    async fn data(&mut self, message: &[&str]) {
        self.expect("DATA", "354").await;
        let mut body = String::new();
        for l in message {
            if l.starts_with('.') {
                body.push('.');
            }
            body.push_str(l);
            body.push_str("\r\n");
        }
        body.push_str(".\r\n");
        self.w.write_all(body.as_bytes()).await.expect("write the message");
        let reply = self.reply().await;
        assert!(reply.starts_with("250"), "end of DATA -> {reply}");
    }
}

/// A multipart/alternative message with an RFC 2047 subject, a quoted-printable text part and a
/// base64 HTML part, all with umlauts.
const MESSAGE: &[&str] = &[
    "From: Wohnungserhalt Hub <hub@hub.example>",
    "To: fachstelle@partner.example",
    "Subject: =?utf-8?q?Neue_Vermittlung_=C3=BCber_den_Hub?=",
    "Message-ID: <selftest-1@hub.example>",
    "MIME-Version: 1.0",
    "Content-Type: multipart/alternative; boundary=\"b1\"",
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Guten Tag,",
    "bitte pr=C3=BCfen Sie die Vermittlung.",
    ".Zeile mit Punkt",
    "",
    "--b1",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    // "<p>Grüße</p>"
    "PHA+R3LDvMOfZTwvcD4=",
    "",
    "--b1--",
];

#[tokio::test]
async fn a_message_is_received_and_decoded() {
    let sink = MailSink::start(SinkOptions::default()).await.expect("the sink starts");
    assert_eq!(sink.messages(), vec![], "a new sink holds no mail");

    let mut c = Smtp::connect(sink.port()).await;
    c.expect("EHLO client.example", "250").await;
    c.expect("MAIL FROM:<hub@hub.example>", "250").await;
    c.expect("RCPT TO:<fachstelle@partner.example>", "250").await;
    c.expect("RCPT TO:<jobcenter@partner.example>", "250").await;
    c.data(MESSAGE).await;
    c.expect("QUIT", "221").await;

    let mails = sink.wait_for(1, WAIT).await.expect("one mail arrives");
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.message_id, "<selftest-1@hub.example>");
    assert_eq!(m.from, "hub@hub.example");
    assert_eq!(m.to, vec!["fachstelle@partner.example", "jobcenter@partner.example"]);
    assert_eq!(m.subject, "Neue Vermittlung über den Hub");
    assert_eq!(m.text, "Guten Tag,\nbitte prüfen Sie die Vermittlung.\n.Zeile mit Punkt\n");
    assert_eq!(m.html, "<p>Grüße</p>");
    assert!(m.raw.starts_with("From: Wohnungserhalt Hub <hub@hub.example>\r\n"), "raw: {}", m.raw);
    assert!(m.raw.contains("\r\n.Zeile mit Punkt\r\n"), "the sink removes the dot-stuffing: {}", m.raw);
    assert!(!m.tls && !m.authenticated);
}

#[tokio::test]
async fn rcpt_reject_and_tempfail() {
    let opts = SinkOptions { reject: Some("unknown".into()), tempfail: Some("busy".into()), ..Default::default() };
    let sink = MailSink::start(opts).await.expect("the sink starts");

    let mut c = Smtp::connect(sink.port()).await;
    c.expect("HELO client.example", "250").await;
    c.expect("MAIL FROM:<hub@hub.example>", "250").await;
    let rejected = c.expect("RCPT TO:<unknown-user@partner.example>", "550").await;
    assert_eq!(rejected, "550 5.1.1 mailbox unavailable");
    let deferred = c.expect("RCPT TO:<busy@partner.example>", "451").await;
    assert_eq!(deferred, "451 4.3.0 try again later");
    c.expect("RCPT TO:<fachstelle@partner.example>", "250").await;
    c.data(&["Subject: nur einer", "", "Text"]).await;
    c.expect("QUIT", "221").await;

    let mails = sink.wait_for(1, WAIT).await.expect("one mail arrives");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["fachstelle@partner.example"], "only the accepted recipient is listed");
    assert_eq!(mails[0].subject, "nur einer");
    assert_eq!(mails[0].text, "Text\n");
    assert_eq!(mails[0].html, "");
}

#[tokio::test]
async fn auth_is_required_when_configured() {
    let opts = SinkOptions { auth: Some(("user".into(), "pass".into())), ..Default::default() };
    let sink = MailSink::start(opts).await.expect("the sink starts");

    let mut c = Smtp::connect(sink.port()).await;
    c.expect("EHLO client.example", "250").await;
    c.expect("MAIL FROM:<hub@hub.example>", "530").await;
    // AUTH PLAIN with "\0user\0wrong", then "\0user\0pass".
    c.expect("AUTH PLAIN AHVzZXIAd3Jvbmc=", "535").await;
    c.expect("AUTH PLAIN AHVzZXIAcGFzcw==", "235").await;
    c.expect("MAIL FROM:<hub@hub.example>", "250").await;
    c.expect("RCPT TO:<fachstelle@partner.example>", "250").await;
    c.data(&["Subject: angemeldet", "", "Text"]).await;
    c.expect("QUIT", "221").await;

    let mails = sink.wait_for(1, WAIT).await.expect("one mail arrives");
    assert!(mails[0].authenticated && !mails[0].tls);
}

#[tokio::test]
async fn a_stopped_sink_restarts_on_its_port_and_wait_for_reports_what_arrived() {
    let mut sink = MailSink::start(SinkOptions::default()).await.expect("the sink starts");
    let port = sink.port();
    sink.stop().await;
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err(), "a stopped sink refuses connections");
    let err = sink.wait_for(1, WAIT).await.expect_err("a stopped sink receives nothing");
    assert!(err.to_string().contains("received none"), "{err:#}");
    sink.stop().await; // twice is harmless

    let again = MailSink::start_on(port, SinkOptions::default()).await.expect("the sink starts on the same port");
    assert_eq!(again.port(), port);
    let mut c = Smtp::connect(port).await;
    c.expect("QUIT", "221").await;
    let err = again.wait_for(1, Duration::from_millis(200)).await.expect_err("no mail was sent");
    assert!(err.to_string().contains("timed out"), "{err:#}");
}

#[tokio::test]
async fn a_sink_that_cannot_start_says_why() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = busy.local_addr().expect("local address").port();
    let err = match MailSink::start_on(port, SinkOptions::default()).await {
        Ok(_) => panic!("a second server on port {port} started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("exited before it was ready"), "{err}");
    assert!(err.to_lowercase().contains("address already in use"), "the error shows the sink's stderr: {err}");
}
