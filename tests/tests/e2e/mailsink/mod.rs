//! A real SMTP server for the end-to-end mail tests: `tests/smtp/mailsink.py` (aiosmtpd) run as a
//! child process on a loopback port, each accepted message stored as one JSON file in a temporary
//! directory and read back as [`ReceivedMail`].
//!
//! Needs the workspace's `.venv` with the pinned test packages (`scripts/ensure-venv.sh`), or
//! `HUB_TEST_PYTHON=/path/to/python` of an interpreter with aiosmtpd. Without it the tests fail with
//! an error naming the command to run; they never skip.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// How long the sink may take from spawn to `READY <port>`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`MailSink::stop`] waits after SIGTERM before it kills.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Poll interval of [`MailSink::wait_for`].
const POLL: Duration = Duration::from_millis(25);

/// How the sink behaves. `Default` is a plain SMTP server that accepts everything.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// PEM certificate chain and key: offer STARTTLS and require it before MAIL.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// User and password: require AUTH PLAIN/LOGIN with these before MAIL (after STARTTLS with `tls`).
    pub auth: Option<(String, String)>,
    /// RCPT TO whose address contains this gets `550 5.1.1 mailbox unavailable`.
    pub reject: Option<String>,
    /// RCPT TO whose address contains this gets `451 4.3.0 try again later`.
    pub tempfail: Option<String>,
    /// Answer each message's DATA only after this long, like a busy server (per connection).
    pub delay: Option<Duration>,
}

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The Message-ID header, with its angle brackets ("" if none).
    pub message_id: String,
    /// The envelope sender (MAIL FROM).
    pub from: String,
    /// The accepted envelope recipients (RCPT TO), in order; rejected ones are not listed.
    pub to: Vec<String>,
    /// The Subject header, RFC 2047-decoded.
    pub subject: String,
    /// The decoded text/plain part, `\n` line ends ("" if none).
    pub text: String,
    /// The decoded text/html part, `\n` line ends ("" if none).
    pub html: String,
    /// The whole message as received (CRLF line ends).
    pub raw: String,
    /// The session had switched to TLS (STARTTLS) before DATA.
    pub tls: bool,
    /// The session had authenticated (AUTH) before DATA.
    pub authenticated: bool,
}

impl ReceivedMail {
    fn from_json(v: &serde_json::Value) -> anyhow::Result<Self> {
        let s = |k: &str| -> anyhow::Result<String> {
            v.get(k).and_then(|x| x.as_str()).map(str::to_owned).ok_or_else(|| anyhow!("no string '{k}'"))
        };
        let b = |k: &str| -> anyhow::Result<bool> {
            v.get(k).and_then(|x| x.as_bool()).ok_or_else(|| anyhow!("no bool '{k}'"))
        };
        let to = v
            .get("to")
            .and_then(|x| x.as_array())
            .ok_or_else(|| anyhow!("no list 'to'"))?
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| anyhow!("'to' holds a non-string")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            message_id: s("message_id")?,
            from: s("from")?,
            to,
            subject: s("subject")?,
            text: s("text")?,
            html: s("html")?,
            raw: s("raw")?,
            tls: b("tls")?,
            authenticated: b("authenticated")?,
        })
    }
}

/// The sink process. Dropping it kills the process and deletes the received messages.
pub struct MailSink {
    child: Mutex<Option<Child>>,
    port: u16,
    /// Holds `messages/` (the JSON files) and `mailsink.log` (the sink's stderr).
    dir: tempfile::TempDir,
}

/// The workspace root (the tests crate's parent).
fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or_else(|| manifest.join(".."), Path::to_path_buf)
}

/// The Python interpreter that runs the sink: `HUB_TEST_PYTHON`, else `<workspace>/.venv/bin/python`.
/// Fails, saying what to run, when it is missing or cannot import aiosmtpd. Checked once per test
/// binary.
pub fn python() -> anyhow::Result<PathBuf> {
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CHECKED.get_or_init(|| find_python().map_err(|e| format!("{e:#}"))).clone().map_err(|e| anyhow!(e))
}

fn find_python() -> anyhow::Result<PathBuf> {
    let ws = workspace();
    let ensure = format!(
        "run `scripts/ensure-venv.sh` in {} (creates .venv with aiosmtpd from tests/python/requirements.txt)",
        ws.display()
    );
    let (py, origin, fix) = match std::env::var_os("HUB_TEST_PYTHON") {
        Some(p) => (
            PathBuf::from(p),
            "HUB_TEST_PYTHON",
            format!(
                "install tests/python/requirements.txt into that interpreter, or unset HUB_TEST_PYTHON and {ensure}"
            ),
        ),
        None => {
            let venv_python = if cfg!(windows) { "Scripts/python.exe" } else { "bin/python" };
            (ws.join(".venv").join(venv_python), "the workspace venv", ensure)
        }
    };
    if !py.exists() {
        bail!("the SMTP sink needs Python with aiosmtpd, but {} ({origin}) does not exist: {fix}", py.display());
    }
    let out = Command::new(&py)
        .args(["-c", "import aiosmtpd.smtp"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} ({origin}); {fix}", py.display()))?;
    if !out.status.success() {
        bail!(
            "{} ({origin}) cannot import aiosmtpd ({}): {fix}",
            py.display(),
            String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("no output")
        );
    }
    Ok(py)
}

/// `tests/smtp/mailsink.py`.
fn script() -> PathBuf {
    workspace().join("tests").join("smtp").join("mailsink.py")
}

impl MailSink {
    /// Starts a sink on a free port (the sink binds port 0 and reports the port it got).
    pub async fn start(opts: SinkOptions) -> anyhow::Result<Self> {
        Self::start_on(0, opts).await
    }

    /// Starts a sink on the given port, e.g. to bring a stopped sink back on the port the hub is
    /// configured with. Port 0 picks a free one.
    pub async fn start_on(port: u16, opts: SinkOptions) -> anyhow::Result<Self> {
        let py = python()?;
        let dir = tempfile::Builder::new().prefix("hub-mailsink-").tempdir().context("creating the sink's temp dir")?;
        let messages = dir.path().join("messages");
        std::fs::create_dir(&messages).with_context(|| format!("creating {}", messages.display()))?;
        let log_path = dir.path().join("mailsink.log");
        let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;

        let mut cmd = Command::new(&py);
        cmd.arg(script()).arg("--port").arg(port.to_string()).arg("--dir").arg(&messages);
        if let Some((cert, key)) = &opts.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        if let Some((user, pass)) = &opts.auth {
            cmd.arg("--auth").arg(format!("{user}:{pass}"));
        }
        if let Some(s) = &opts.reject {
            cmd.arg("--reject").arg(s);
        }
        if let Some(s) = &opts.tempfail {
            cmd.arg("--tempfail").arg(s);
        }
        if let Some(d) = opts.delay {
            cmd.arg("--delay-ms").arg(d.as_millis().to_string());
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log).env("PYTHONUNBUFFERED", "1");
        let mut child = cmd.spawn().with_context(|| format!("starting {} {}", py.display(), script().display()))?;

        // A thread reads stdout (blocking) and hands over the first line; it then drains until the
        // sink exits, so the sink can never block on a full pipe.
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("the sink's stdout is not piped"))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<Option<String>>();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            for _ in lines.by_ref() {}
        });

        let mut sink = Self { child: Mutex::new(Some(child)), port: 0, dir };
        let first = match tokio::time::timeout(READY_TIMEOUT, rx).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => {
                // Stdout closed: the sink is exiting. Give it a moment so the error can show its status.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
                while sink.gone().is_none() && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(POLL).await;
                }
                bail!("the SMTP sink exited before it was ready{}", sink.diagnosis())
            }
            Err(_) => bail!("the SMTP sink sent no READY line within {READY_TIMEOUT:?}{}", sink.diagnosis()),
        };
        sink.port = first
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| *p != 0 && (port == 0 || *p == port))
            .ok_or_else(|| anyhow!("the SMTP sink said {first:?} instead of READY <port>{}", sink.diagnosis()))?;
        Ok(sink)
    }

    /// The port the sink listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the message files.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().join("messages")
    }

    /// The messages received so far, in arrival order. A file that cannot be read or parsed (none
    /// should exist: the sink writes atomically) is skipped with a note on stderr.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let Ok(entries) = std::fs::read_dir(self.dir()) else { return Vec::new() };
        let mut files: Vec<(u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let n = name.strip_suffix(".json")?.parse::<u64>().ok()?;
                Some((n, e.path()))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| {
                let parsed = std::fs::read(&path)
                    .map_err(anyhow::Error::from)
                    .and_then(|bytes| Ok(serde_json::from_slice::<serde_json::Value>(&bytes)?))
                    .and_then(|v| ReceivedMail::from_json(&v));
                parsed.map_err(|e| eprintln!("mailsink: skipping {}: {e:#}", path.display())).ok()
            })
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns all of them (arrival order). On
    /// timeout, or if the sink died, the error lists what did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<ReceivedMail>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return Ok(got);
            }
            let gone = self.gone();
            if gone.is_some() || tokio::time::Instant::now() >= deadline {
                let why = gone.unwrap_or_else(|| format!("timed out after {timeout:?}"));
                bail!(
                    "expected {n} mail(s) on port {}, {why}; received {}{}",
                    self.port,
                    summary(&got),
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops the sink: SIGTERM, then kill after a grace period; waits for it to exit. The received
    /// messages stay readable until the `MailSink` is dropped. Stopping twice is harmless.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.get_mut().unwrap_or_else(|p| p.into_inner()).take() else { return };
        if matches!(child.try_wait(), Ok(None)) {
            // std has no SIGTERM; the `kill` utility does. Without it the grace period ends in a kill.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = tokio::time::Instant::now() + STOP_GRACE;
            while matches!(child.try_wait(), Ok(None)) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(POLL).await;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Why the sink can receive no more mail ("stopped", "exited ..."), or `None` while it runs.
    fn gone(&self) -> Option<String> {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            None => Some("the sink was stopped".to_owned()),
            Some(c) => c.try_wait().ok().flatten().map(|s| format!("the sink exited ({s})")),
        }
    }

    /// Whether the sink is gone, and its stderr, for error messages.
    fn diagnosis(&self) -> String {
        let status = self.gone().map(|s| format!("; {s}")).unwrap_or_default();
        format!("{status}{}", self.stderr_tail())
    }

    /// "; its stderr: ..." with the last lines the sink logged, or "" if it logged nothing.
    fn stderr_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("mailsink.log")).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(30).collect();
        if tail.is_empty() {
            return String::new();
        }
        tail.reverse();
        format!("; its stderr:\n    {}", tail.join("\n    "))
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// "N mail(s): [to] subject; ..." for error messages.
fn summary(mails: &[ReceivedMail]) -> String {
    if mails.is_empty() {
        return "none".to_owned();
    }
    let each: Vec<String> = mails.iter().map(|m| format!("{:?} {:?}", m.to, m.subject)).collect();
    format!("{}: {}", mails.len(), each.join("; "))
}
