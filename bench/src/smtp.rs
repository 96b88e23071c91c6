//! A minimal SMTP sink (plain, no AUTH) in this process: accepts every message and records when it
//! was accepted and the referral reference (`V-XXXXXXXX`) it names, so commit-to-accepted latency can
//! be computed. It does no parsing beyond finding that reference and costs a few microseconds per
//! message, far below either sender (checked: the reference client reaches thousands of mails per
//! second through it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// What the sink received.
#[derive(Default)]
pub struct Received {
    /// Messages accepted.
    pub count: AtomicU64,
    /// (accepted at, reference found in the message).
    pub log: Mutex<Vec<(Instant, Option<String>)>>,
}

/// A running sink.
pub struct Sink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// What it received.
    pub received: Arc<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn find_reference(data: &[u8]) -> Option<String> {
    data.windows(10).find_map(|w| {
        (w[0] == b'V' && w[1] == b'-' && w[2..].iter().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()))
            .then(|| String::from_utf8_lossy(w).into_owned())
    })
}

/// Starts a sink on a free port.
pub async fn start() -> anyhow::Result<Sink> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let received = Arc::new(Received::default());
    let r = received.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let _ = sock.set_nodelay(true);
            let r = r.clone();
            tokio::spawn(async move {
                let _ = session(sock, &r).await;
            });
        }
    });
    Ok(Sink { port, received, task })
}

async fn session(sock: tokio::net::TcpStream, r: &Received) -> std::io::Result<()> {
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    wr.write_all(b"220 bench-sink ESMTP\r\n").await?;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        if rd.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let cmd = String::from_utf8_lossy(&line).to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            b"250-bench-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
        } else if ["HELO", "MAIL", "RCPT", "RSET", "NOOP"].iter().any(|c| cmd.starts_with(c)) {
            b"250 OK\r\n"
        } else if cmd.starts_with("QUIT") {
            wr.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if cmd.starts_with("DATA") {
            wr.write_all(b"354 go ahead\r\n").await?;
            let mut data = Vec::with_capacity(8192);
            loop {
                let start = data.len();
                if rd.read_until(b'\n', &mut data).await? == 0 {
                    return Ok(());
                }
                if &data[start..] == b".\r\n" || &data[start..] == b".\n" {
                    break;
                }
            }
            let at = Instant::now();
            let reference = find_reference(&data);
            r.log.lock().await.push((at, reference));
            r.count.fetch_add(1, Ordering::SeqCst);
            b"250 OK queued\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        wr.write_all(reply).await?;
    }
}

/// A plain SMTP client: `connections` reused connections with TCP_NODELAY, one message after the
/// other on each (MAIL, RCPT, DATA, body; each reply awaited), `n` messages of about 3 KB in all.
pub async fn raw_client(port: u16, connections: usize, n: u64) -> anyhow::Result<crate::stats::Figures> {
    let body = format!(
        "From: Wohnungserhalt Hub <hub@bench.example.org>\r\nTo: beratung@bench.example.org\r\nSubject: Neue Vermittlung V-00000000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n.\r\n",
        "Referenz: V-00000000, synthetischer Text ohne personenbezogene Daten.\r\n".repeat(40)
    );
    let body: Arc<[u8]> = Arc::from(body.into_bytes());
    let mut conns = Vec::new();
    for _ in 0..connections {
        let sock = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        sock.set_nodelay(true)?;
        let (rd, mut wr) = sock.into_split();
        let mut rd = BufReader::new(rd);
        reply(&mut rd).await?;
        wr.write_all(b"EHLO bench.example.org\r\n").await?;
        reply(&mut rd).await?;
        conns.push(Arc::new(Mutex::new((rd, wr))));
    }
    crate::load::closed_loop(connections, crate::load::Stop::Ops(n), None, move |w, _| {
        let (c, body) = (conns[w].clone(), body.clone());
        async move {
            let mut c = c.lock().await;
            let (rd, wr) = &mut *c;
            for cmd in [
                &b"MAIL FROM:<hub@bench.example.org>\r\n"[..],
                b"RCPT TO:<beratung@bench.example.org>\r\n",
                b"DATA\r\n",
            ] {
                wr.write_all(cmd).await?;
                reply(rd).await?;
            }
            wr.write_all(&body).await?;
            reply(rd).await?;
            Ok(())
        }
    })
    .await
}

/// Reads one (possibly multi-line) SMTP reply; fails on 4xx/5xx.
async fn reply(rd: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if rd.read_line(&mut line).await? == 0 {
            anyhow::bail!("SMTP server closed the connection");
        }
        if line.starts_with('4') || line.starts_with('5') {
            anyhow::bail!("SMTP server refused: {}", line.trim());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_reference() {
        assert_eq!(super::find_reference(b"Referenz: V-3F9A2C71 x"), Some("V-3F9A2C71".to_owned()));
        assert_eq!(super::find_reference(b"V-3f9a2c71"), None);
    }
}
