//! The hub under test as a separate process: `hub pki init`, a configuration file, `hub serve`,
//! `hub org ...` and `hub pki issue`, exactly as an operator would run them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to start a hub.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// `postgres://...`; None: the default SQLite file in the data directory.
    pub database_url: Option<String>,
    /// SMTP sink port: enables the email channel with plain SMTP to 127.0.0.1:port.
    pub smtp_port: Option<u16>,
}

/// A running `hub serve`.
pub struct HubProc {
    bin: PathBuf,
    /// Data directory (PKI, keys, SQLite file, log).
    pub data_dir: PathBuf,
    /// gRPC address.
    pub addr: SocketAddr,
    child: Option<Child>,
    /// `perf record` attached to the hub (only with `HUB_BENCH_PERF`; see [`attach_perf`]).
    perf: Option<Child>,
    options: HubOptions,
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl HubProc {
    /// Creates the PKI in a fresh data directory under `parent` and starts the hub.
    pub async fn start(bin: &Path, parent: &Path, options: HubOptions) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new().prefix("hub-bench-").tempdir_in(parent)?.keep();
        run(Command::new(bin).args(["pki", "init", "--data-dir"]).arg(&data_dir))?;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let mut hub = Self { bin: bin.to_owned(), data_dir, addr, child: None, perf: None, options };
        hub.spawn().await?;
        Ok(hub)
    }

    fn write_config(&self) -> anyhow::Result<PathBuf> {
        let mut toml = format!(
            "data_dir = \"{}\"\nlisten = \"{}\"\n# The scheduled work (expiry, overdue, seals) stays out of the measurements.\nscheduler_interval_secs = 3600\n",
            self.data_dir.display(),
            self.addr
        );
        if let Some(url) = &self.options.database_url {
            toml.push_str(&format!("database_url = \"{url}\"\n"));
        }
        if let Some(port) = self.options.smtp_port {
            toml.push_str(&format!(
                "\n[email]\nenabled = true\n\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nfrom = \"Wohnungserhalt Hub <hub@bench.example.org>\"\n\n[email.web]\nlisten = \"127.0.0.1:{}\"\n",
                free_port()?
            ));
        }
        let path = self.data_dir.join("hub.toml");
        std::fs::write(&path, toml)?;
        Ok(path)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let config = self.write_config()?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.data_dir.join("hub.log"))?;
        let child = Command::new(&self.bin)
            .args(["serve", "--config"])
            .arg(&config)
            // The dashboard is not measured; a free port keeps it out of the way.
            .env("HUB_DASHBOARD_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting hub serve")?;
        self.perf = attach_perf(child.id());
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("hub serve exited with {status}; see {}", self.data_dir.join("hub.log").display());
            }
            if std::time::Instant::now() > deadline {
                bail!("hub serve did not listen within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the hub (SIGTERM through `kill`, then waits).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            for _ in 0..100 {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(mut p) = self.perf.take() {
            // `perf record -p` ends by itself once the hub has exited; give it time to write.
            for _ in 0..600 {
                if p.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = Command::new("kill").arg("-INT").arg(p.id().to_string()).status();
            let _ = p.wait();
        }
    }

    /// Restarts with other options (same data directory, PKI and database).
    pub async fn restart(&mut self, options: HubOptions) -> anyhow::Result<()> {
        self.stop();
        self.options = options;
        self.spawn().await
    }

    /// The process id of `hub serve`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Runs `hub org ARGS` against this hub with the operator certificate.
    pub fn org(&self, args: &[&str]) -> anyhow::Result<String> {
        run(Command::new(&self.bin)
            .arg("org")
            .args(args)
            .arg("--hub")
            .arg(format!("https://localhost:{}", self.addr.port()))
            .arg("--data-dir")
            .arg(&self.data_dir))
    }

    /// Issues an organisation's certificate with `hub pki issue` and returns (cert, key) PEM.
    pub fn issue(&self, org: &str) -> anyhow::Result<(String, String)> {
        run(Command::new(&self.bin).args(["pki", "issue", org, "--data-dir"]).arg(&self.data_dir))?;
        let dir = self.data_dir.join("pki/clients");
        Ok((
            std::fs::read_to_string(dir.join(format!("{org}.pem")))?,
            std::fs::read_to_string(dir.join(format!("{org}.key")))?,
        ))
    }

    /// The PKI folder.
    pub fn pki(&self) -> PathBuf {
        self.data_dir.join("pki")
    }
}

/// With `HUB_BENCH_PERF=DIR` (set by `scripts/profile.sh`), samples the hub process `pid` with
/// `perf record` (99 Hz, DWARF call graphs) into `DIR/hub-PID.data` until it exits. Profiling
/// changes the figures a little (the sampling costs the hub CPU); profile runs are not benchmark
/// runs.
fn attach_perf(pid: u32) -> Option<Child> {
    let dir = std::env::var_os("HUB_BENCH_PERF")?;
    let out = Path::new(&dir).join(format!("hub-{pid}.data"));
    let log = std::fs::File::create(Path::new(&dir).join(format!("perf-{pid}.log"))).ok()?;
    match Command::new("perf")
        .args(["record", "-F", "99", "--call-graph", "dwarf,8192", "-p", &pid.to_string(), "-o"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(log.try_clone().ok()?)
        .stderr(log)
        .spawn()
    {
        Ok(c) => {
            eprintln!("perf: sampling hub {pid} into {}", out.display());
            std::thread::sleep(Duration::from_millis(500));
            Some(c)
        }
        Err(e) => {
            eprintln!("perf: cannot start perf record ({e}); not profiling");
            None
        }
    }
}

impl Drop for HubProc {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Client TLS material: the hub's CA and one organisation's certificate.
#[derive(Clone)]
pub struct ClientTls {
    /// CA certificate PEM.
    pub ca: String,
    /// Client certificate PEM.
    pub cert: String,
    /// Client key PEM.
    pub key: String,
}

impl ClientTls {
    /// The CA of a PKI folder and an identity.
    pub fn new(pki: &Path, (cert, key): (String, String)) -> anyhow::Result<Self> {
        Ok(Self { ca: std::fs::read_to_string(pki.join("ca.pem"))?, cert, key })
    }
}

/// Opens `n` separate mTLS connections (HTTP/2) to `addr`, the server checked as `localhost`.
pub async fn connect(addr: SocketAddr, tls: &ClientTls, n: usize) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let cfg = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&tls.ca))
            .identity(Identity::from_pem(&tls.cert, &tls.key))
            .domain_name("localhost");
        let ep = Endpoint::from_shared(format!("https://127.0.0.1:{}", addr.port()))?
            .tls_config(cfg)?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10));
        out.push(ep.connect().await.with_context(|| format!("connecting to {addr}"))?);
    }
    Ok(out)
}
