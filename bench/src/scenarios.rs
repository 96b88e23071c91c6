//! The benchmark scenarios, each followed by its reference in the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hub_proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::fixtures::{self, FACHSTELLE, MAIL_PARTNER, WOHNBAU};
use crate::hubproc::{self, ClientTls, HubOptions, HubProc};
use crate::load::{self, Stop};
use crate::refserver::RefProc;
use crate::report::{Report, grouped};
use crate::stats::{self, Figures, ProcWindow};
use crate::{limit, raw};

/// Run sizes.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Seconds per unary read run.
    pub read_secs: u64,
    /// Connections and concurrent requests for unary reads.
    pub read_conns: usize,
    /// Concurrent requests in flight for unary reads.
    pub read_workers: usize,
    /// Serial durable creates.
    pub create_serial: u64,
    /// Creates with 32 clients.
    pub create_parallel: u64,
    /// Raw single-row commits (SQLite).
    pub raw_single: u64,
    /// Raw rows in 100-row batches (SQLite).
    pub raw_batched: u64,
    /// Arrears notices in one stream (SQLite and PostgreSQL).
    pub arrears: u64,
    /// The nationwide-day stream on PostgreSQL (0: skipped).
    pub arrears_big: u64,
    /// Mails created with the referral benchmark (then drained) are the outbox throughput run; this
    /// many serial referrals measure commit-to-SMTP latency.
    pub mail_latency: u64,
    /// Messages the plain SMTP client sends.
    pub smtp_reference: u64,
    /// Events published per fan-out run with 1 and 100 subscribers.
    pub fanout_events: u64,
    /// Subscribers of the large fan-out run.
    pub fanout_many: usize,
    /// Referrals a partner moves, one at a time at 50 a second, while the Fachstelle subscribes.
    pub interactive_moves: u64,
    /// Events published to the large fan-out.
    pub fanout_many_events: u64,
}

impl Sizes {
    /// Defaults: the whole suite in about 15 minutes on 2 cores.
    pub fn full() -> Self {
        Self {
            read_secs: 8,
            read_conns: 4,
            read_workers: 64,
            create_serial: 400,
            create_parallel: 3_000,
            raw_single: 1_000,
            raw_batched: 50_000,
            arrears: 100_000,
            arrears_big: 550_000,
            mail_latency: 200,
            smtp_reference: 1_500,
            fanout_events: 5_000,
            fanout_many: 10_000,
            interactive_moves: 1_000,
            fanout_many_events: 50,
        }
    }

    /// A quick run (a minute or two) to check that everything works.
    pub fn quick() -> Self {
        Self {
            read_secs: 2,
            read_conns: 2,
            read_workers: 16,
            create_serial: 50,
            create_parallel: 300,
            raw_single: 100,
            raw_batched: 5_000,
            arrears: 5_000,
            arrears_big: 0,
            mail_latency: 20,
            smtp_reference: 200,
            fanout_events: 500,
            fanout_many: 500,
            interactive_moves: 100,
            fanout_many_events: 20,
        }
    }
}

/// Where things are.
pub struct Env {
    /// The `hub` binary.
    pub hub_bin: PathBuf,
    /// Scratch folder on the same disk as a real deployment's data directory.
    pub scratch: PathBuf,
    /// PostgreSQL admin URL (database `postgres`); None: PostgreSQL scenarios skipped.
    pub pg_admin: Option<String>,
    /// Scenarios to run (empty: all).
    pub only: Vec<String>,
}

/// Names of the scenarios for `--only`.
pub const SCENARIOS: [&str; 9] =
    ["memory", "unary", "creates", "outbox", "arrears", "catchup", "fanout", "interactive", "postgres"];

impl Env {
    fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == scenario)
    }
}

/// A hub with the demo network, the mail partner on the email channel, and client certificates.
struct Setup {
    hub: HubProc,
    fachstelle: ClientTls,
    wohnbau: ClientTls,
}

async fn setup(env: &Env, options: HubOptions) -> anyhow::Result<Setup> {
    let hub = HubProc::start(&env.hub_bin, &env.scratch, options).await?;
    hub.org(&["register-demo-network"])?;
    hub.org(&["set-channel", MAIL_PARTNER, "--email", "beratung@bench.example.org"])?;
    let fachstelle = ClientTls::new(&hub.pki(), hub.issue(FACHSTELLE)?)?;
    let wohnbau = ClientTls::new(&hub.pki(), hub.issue(WOHNBAU)?)?;
    Ok(Setup { hub, fachstelle, wohnbau })
}

async fn one(addr: std::net::SocketAddr, tls: &ClientTls) -> anyhow::Result<Channel> {
    Ok(hubproc::connect(addr, tls, 1).await?.remove(0))
}

/// Runs every scenario.
pub async fn run_all(env: &Env, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    // ---------------------------------------------------------------- SQLite hub
    eprintln!("== SQLite hub");
    let s = setup(env, HubOptions::default()).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    if env.wants("memory") {
        let idle = stats::sample(s.hub.pid())?;
        report.check(
            "Memory",
            "idle RSS of `hub serve` (SQLite, demo network registered)",
            format!("{:.1} MB", idle.rss as f64 / 1_048_576.0),
            "< 30 MB".into(),
            idle.rss < 30 * 1_048_576,
        );
    }

    if env.wants("unary") {
        unary_reads(&s, sizes, report).await.context("unary reads")?;
    }
    let case_id = fixtures::case_with_consent(one(s.hub.addr, &s.fachstelle).await?).await?;
    let mut s = s;
    if env.wants("creates") || env.wants("outbox") {
        let created = creates(&s, &case_id, sizes, report, "SQLite").await.context("creates on SQLite")?;
        if env.wants("creates") {
            eprintln!("== SQLite references (C library, reused prepared statement)");
            let single = report.run(
                "Create referral, SQLite",
                "reference: single-row INSERT commits, reused prepared statement (WAL, synchronous=FULL)",
                "rows",
                limit::single(&env.scratch, sizes.raw_single).await?,
            );
            let batched = report.run(
                "Create referral, SQLite",
                "reference: 100-row transactions, reused prepared statement (WAL, synchronous=FULL)",
                "rows",
                limit::batched(&env.scratch, sizes.raw_batched, 100).await?,
            );
            report.ratio(
                "Create referral, SQLite",
                "serial (1 client) / raw single-row",
                created.0.rate() / single.rate(),
                0.8,
            );
            report.ratio(
                "Create referral, SQLite",
                "32 clients / single-row commits (group commit)",
                created.1.rate() / single.rate(),
                5.0,
            );
            report.ratio(
                "Create referral, SQLite",
                "32 clients / raw 100-row batches",
                created.1.rate() / batched.rate(),
                0.5,
            );
        }
        if env.wants("outbox") {
            outbox(env, &mut s, &case_id, created.0.ops + created.1.ops, sizes, report).await.context("outbox")?;
        }
    }

    if env.wants("arrears") {
        eprintln!("== arrears stream on SQLite");
        let hub_rows = arrears(&s, "SQLite", "SQ", sizes.arrears, report).await?;
        let rows = std::sync::Arc::new(limit::hub_rows(&s.hub.data_dir.join("hub.db")).await?);
        let copy = report.run(
            &format!("Arrears stream {}, SQLite", grouped(sizes.arrears as f64)),
            &format!(
                "reference: the hub's notice + event rows (sealed body {} bytes on average), reused prepared \
                 statements, 500 notices per transaction (SQLite has no COPY)",
                rows.body_bytes
            ),
            "rows",
            limit::copy(rows.clone(), &env.scratch, 500).await?,
        );
        report.ratio(
            &format!("Arrears stream {}, SQLite", grouped(sizes.arrears as f64)),
            "hub / bulk insert of the same rows",
            hub_rows.rate() / copy.rate(),
            0.3,
        );
    }

    if env.wants("catchup") {
        catch_up(&s, report).await.context("catch-up")?;
    }
    if env.wants("fanout") {
        fan_out(&s, sizes, report).await.context("fan-out")?;
    }
    if env.wants("interactive") {
        interactive(&s, sizes, report).await.context("interactive move")?;
    }
    drop(s);

    // ---------------------------------------------------------------- PostgreSQL hub
    let Some(admin) = &env.pg_admin else {
        report.notes.push("PostgreSQL scenarios skipped (--no-postgres).".into());
        return Ok(());
    };
    if !env.wants("postgres") {
        report.notes.push(format!("Only these scenarios were run: {}.", env.only.join(", ")));
        return Ok(());
    }
    eprintln!("== PostgreSQL hub");
    let tag = format!("{}", std::process::id());
    let db = format!("hub_bench_{tag}");
    let url = raw::pg_create_db(admin, &db).await?;
    let result = async {
        let s = setup(env, HubOptions { database_url: Some(url.clone()), smtp_port: None }).await?;
        let case_id = fixtures::case_with_consent(one(s.hub.addr, &s.fachstelle).await?).await?;
        let created = creates(&s, &case_id, sizes, report, "PostgreSQL").await?;
        let r1 = report.run(
            "Create referral, PostgreSQL",
            "raw single-row INSERT, 1 client",
            "rows",
            raw::pg_single(&url, "raw_single_1", 1, sizes.create_serial.max(500)).await?,
        );
        let r32 = report.run(
            "Create referral, PostgreSQL",
            "raw single-row INSERT, 32 clients",
            "rows",
            raw::pg_single(&url, "raw_single_32", 32, sizes.create_parallel.max(5_000)).await?,
        );
        report.ratio(
            "Create referral, PostgreSQL",
            "1 client / raw INSERT, 1 client",
            created.0.rate() / r1.rate(),
            0.5,
        );
        report.ratio(
            "Create referral, PostgreSQL",
            "32 clients / raw INSERT, 32 clients (group commit)",
            created.1.rate() / r32.rate(),
            1.0,
        );
        drop(s);
        anyhow::Ok(())
    }
    .await;
    raw::pg_drop_db(admin, &db).await?;
    result?;

    for (n, label) in [(sizes.arrears, "A"), (sizes.arrears_big, "B")] {
        if n == 0 {
            report.notes.push("The 550k-notice stream was skipped (--arrears-big 0).".into());
            continue;
        }
        let db = format!("hub_bench_{tag}_{}", label.to_lowercase());
        let url = raw::pg_create_db(admin, &db).await?;
        let result = async {
            let s = setup(env, HubOptions { database_url: Some(url.clone()), smtp_port: None }).await?;
            let scenario = format!("Arrears stream {}, PostgreSQL", grouped(n as f64));
            let hub_rows = arrears(&s, "PostgreSQL", &format!("PG{label}"), n, report).await?;
            drop(s);
            let rows = raw::pg_read_rows(&url).await?;
            let copy = report.run(
                &scenario,
                &format!(
                    "reference: text COPY of the hub's notice + event rows (sealed body {} bytes on average), one \
                     transaction",
                    rows.body_bytes
                ),
                "rows",
                raw::pg_copy(&url, &rows, label).await?,
            );
            report.ratio(&scenario, "hub / COPY", hub_rows.rate() / copy.rate(), 0.5);
            if n >= 550_000 {
                report.check(
                    &scenario,
                    "wall time of the stream",
                    format!("{:.1} s", hub_rows.secs),
                    "≤ 25 s".into(),
                    hub_rows.secs <= 25.0,
                );
            }
            anyhow::Ok(())
        }
        .await;
        raw::pg_drop_db(admin, &db).await?;
        result?;
    }
    Ok(())
}

async fn unary_reads(s: &Setup, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== unary reads");
    let scenario = "Unary read (GetOrganisation)";
    let dur = Duration::from_secs(sizes.read_secs);
    let w = sizes.read_workers;
    let get = |chans: Arc<Vec<Channel>>| {
        move |worker: usize, _i: u64| {
            let ch = chans[worker % chans.len()].clone();
            async move {
                pb::directory_service_client::DirectoryServiceClient::new(ch)
                    .get_organisation(pb::GetOrganisationRequest { organisation_id: FACHSTELLE.into() })
                    .await?;
                Ok(())
            }
        }
    };
    let hub_ch = Arc::new(hubproc::connect(s.hub.addr, &s.fachstelle, sizes.read_conns).await?);
    // Warm up connections and caches.
    load::closed_loop(w, Stop::Time(Duration::from_secs(1)), None, get(hub_ch.clone())).await?;
    let hub_peak = report.run(
        scenario,
        "hub, closed loop",
        "req",
        load::closed_loop(w, Stop::Time(dur), Some(s.hub.pid()), get(hub_ch.clone())).await?,
    );

    let reference = RefProc::start(&s.hub.pki(), 1 << 20).await?;
    let ref_ch = Arc::new(hubproc::connect(reference.addr, &s.fachstelle, sizes.read_conns).await?);
    load::closed_loop(w, Stop::Time(Duration::from_secs(1)), None, get(ref_ch.clone())).await?;
    let ref_peak = report.run(
        scenario,
        "reference: bare tonic echo, same TLS, closed loop",
        "req",
        load::closed_loop(w, Stop::Time(dur), Some(reference.pid()), get(ref_ch.clone())).await?,
    );
    let hub_half = report.run(
        scenario,
        &format!("hub, paced at half of its peak ({} req/s)", grouped(hub_peak.rate() / 2.0)),
        "req",
        load::paced(w, hub_peak.rate() / 2.0, dur, Some(s.hub.pid()), get(hub_ch.clone())).await?,
    );
    report.run(
        scenario,
        &format!("reference, paced at half of its peak ({} req/s)", grouped(ref_peak.rate() / 2.0)),
        "req",
        load::paced(w, ref_peak.rate() / 2.0, dur, Some(reference.pid()), get(ref_ch)).await?,
    );
    drop(reference);
    if let (Some(h), Some(r)) = (hub_peak.per_cpu_sec(), ref_peak.per_cpu_sec()) {
        report.ratio(scenario, "hub / echo, requests per server CPU-second", h / r, 0.6);
    }
    let p99 = hub_half.p99_us.unwrap_or(u64::MAX);
    report.check(
        scenario,
        "hub p99 at half of peak",
        format!("{:.2} ms", p99 as f64 / 1e3),
        "≤ 2 ms".into(),
        p99 <= 2_000,
    );
    Ok(())
}

/// Serial and 32-client durable creates; returns their figures.
async fn creates(
    s: &Setup,
    case_id: &str,
    sizes: &Sizes,
    report: &mut Report,
    backend: &str,
) -> anyhow::Result<(Figures, Figures)> {
    eprintln!("== create referral on {backend}");
    let scenario = format!("Create referral, {backend}");
    let chans = Arc::new(hubproc::connect(s.hub.addr, &s.fachstelle, 4).await?);
    let case_id: Arc<str> = Arc::from(case_id);
    let op = |chans: Arc<Vec<Channel>>, case_id: Arc<str>| {
        move |worker: usize, _i: u64| {
            let ch = chans[worker % chans.len()].clone();
            let req = fixtures::referral(&case_id);
            async move {
                pb::referral_service_client::ReferralServiceClient::new(ch).create_referral(req).await?;
                Ok(())
            }
        }
    };
    let serial = report.run(
        &scenario,
        "hub, 1 client",
        "req",
        load::closed_loop(1, Stop::Ops(sizes.create_serial), Some(s.hub.pid()), op(chans.clone(), case_id.clone()))
            .await?,
    );
    let parallel = report.run(
        &scenario,
        "hub, 32 clients",
        "req",
        load::closed_loop(32, Stop::Ops(sizes.create_parallel), Some(s.hub.pid()), op(chans.clone(), case_id.clone()))
            .await?,
    );
    // CPU the hub spends per create, at 32 clients (release build): the work a write costs beyond the database.
    if let Some(cpu) = parallel.cpu_per_1k() {
        report.check(
            &scenario,
            "hub CPU per create, 32 clients",
            format!("{cpu:.2} ms"),
            "≤ 0.3 ms".into(),
            cpu <= 0.3,
        );
    }
    // The audited read of a referral goes through the write path (an audit record per read).
    if backend == "SQLite" {
        let r = pb::referral_service_client::ReferralServiceClient::new(chans[0].clone())
            .create_referral(fixtures::referral(&case_id))
            .await?
            .into_inner()
            .referral
            .context("no referral")?;
        let id: Arc<str> = Arc::from(r.id.as_str());
        let c = chans.clone();
        let f =
            load::closed_loop(32, Stop::Time(Duration::from_secs(sizes.read_secs)), Some(s.hub.pid()), move |w, _| {
                let ch = c[w % c.len()].clone();
                let id = id.to_string();
                async move {
                    pb::referral_service_client::ReferralServiceClient::new(ch)
                        .get_referral(pb::GetReferralRequest { referral_id: id })
                        .await?;
                    Ok(())
                }
            })
            .await?;
        report.run(
            "Unary read (GetReferral, audited)",
            "hub, 32 clients (each read commits an audit record)",
            "req",
            f,
        );
    }
    Ok((serial, parallel))
}

async fn outbox(
    env: &Env,
    s: &mut Setup,
    case_id: &str,
    queued: u64,
    sizes: &Sizes,
    report: &mut Report,
) -> anyhow::Result<()> {
    eprintln!("== outbox -> SMTP");
    let scenario = "Outbox → SMTP";
    let sink = crate::smtp::start().await?;
    // The referral runs above wrote one mail job each while the email channel was off. Turn it on
    // (a restart with [email] configured) and time the drain.
    let t0 = Instant::now();
    s.hub.restart(HubOptions { database_url: None, smtp_port: Some(sink.port) }).await?;
    let window = ProcWindow::start(Some(s.hub.pid()));
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = (0, Instant::now());
    loop {
        let n = sink.received.count.load(std::sync::atomic::Ordering::SeqCst);
        if n != last.0 {
            last = (n, Instant::now());
        }
        if n >= queued || Instant::now() > deadline || last.1.elapsed() > Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut drain = window.finish(last.0);
    drain.secs = last.1.duration_since(t0).as_secs_f64();
    report.notes.push(format!(
        "Outbox drain: {} of {} queued mails accepted by the sink; time counted from the restart with the email channel on.",
        last.0, queued
    ));
    let drained = report.run(scenario, "hub dispatcher draining the outbox (pool_size 4)", "mails", drain);

    // Commit -> SMTP accepted: serial creates, paced, each mail found by its reference.
    sink.received.log.lock().await.clear();
    let ch = one(s.hub.addr, &s.fachstelle).await?;
    let mut started = std::collections::HashMap::new();
    let window = ProcWindow::start(Some(s.hub.pid()));
    for _ in 0..sizes.mail_latency {
        let t = Instant::now();
        let r = pb::referral_service_client::ReferralServiceClient::new(ch.clone())
            .create_referral(fixtures::referral(case_id))
            .await?
            .into_inner()
            .referral
            .context("no referral")?;
        let short: String = r.id.chars().filter(char::is_ascii_hexdigit).take(8).collect();
        started.insert(format!("V-{}", short.to_ascii_uppercase()), t);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wait_until = Instant::now() + Duration::from_secs(30);
    while sink.received.log.lock().await.len() < started.len() && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut h = stats::histogram();
    for (at, reference) in sink.received.log.lock().await.iter() {
        if let Some(t) = reference.as_ref().and_then(|r| started.get(r)) {
            stats::record(&mut h, at.duration_since(*t));
        }
    }
    let lat = window.finish(h.len()).with_latency(&h);
    if lat.ops < sizes.mail_latency {
        report.notes.push(format!(
            "Commit → SMTP latency: only {} of {} mails matched by reference.",
            lat.ops, sizes.mail_latency
        ));
    }
    let lat = report.run(scenario, "hub, 1 client paced (20 ms pause): request start → SMTP accepted", "mails", lat);

    // The reference: lettre with a pooled, reused connection, 4 at a time, same sink.
    let r = smtp_reference(sink.port, sizes.smtp_reference).await?;
    let r =
        report.run(scenario, "reference: lettre (the hub's SMTP library), pooled connections, 4 at a time", "mails", r);
    report.ratio(scenario, "hub drain / lettre client, same pool size", drained.rate() / r.rate(), 0.5);
    let raw = crate::smtp::raw_client(sink.port, 4, sizes.smtp_reference * 4).await?;
    let raw = report.run(scenario, "reference: plain SMTP client (4 reused connections, TCP_NODELAY)", "mails", raw);
    report.ratio(scenario, "hub drain / plain SMTP client", drained.rate() / raw.rate(), 0.5);
    let p99 = lat.p99_us.unwrap_or(u64::MAX);
    report.check(
        scenario,
        "commit → SMTP accepted, p99",
        format!("{:.1} ms", p99 as f64 / 1e3),
        "< 100 ms".into(),
        p99 < 100_000,
    );
    let _ = env;
    Ok(())
}

async fn smtp_reference(port: u16, n: u64) -> anyhow::Result<Figures> {
    use lettre::message::{MultiPart, header::ContentType};
    use lettre::transport::smtp::PoolConfig;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let transport = Arc::new(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .pool_config(PoolConfig::new().max_size(4))
            .build(),
    );
    let text = format!(
        "Guten Tag,\n\nfür Sie liegt eine neue Vermittlung vor.\n\nReferenz: V-00000000\nKategorie: Schuldnerberatung\nStatus: angefragt\nAntwort erbeten bis: 23.01.2026\nAbsender: Fachstelle Wohnungserhalt\n\nLink: https://localhost:8443/v/V-00000000?t={}\n\nDiese Nachricht enthält keine personenbezogenen Daten.\n",
        "L1.".to_owned() + &"a".repeat(180)
    );
    let html = format!("<html><body><pre>{text}</pre></body></html>");
    let msg = Arc::new(
        Message::builder()
            .from("Wohnungserhalt Hub <hub@bench.example.org>".parse()?)
            .to("beratung@bench.example.org".parse()?)
            .subject("Neue Vermittlung V-00000000 (Schuldnerberatung) – Antwort erbeten bis 23.01.2026")
            .multipart(MultiPart::alternative_plain_html(text, html))?,
    );
    let _ = ContentType::TEXT_PLAIN;
    load::closed_loop(4, Stop::Ops(n), None, move |_, _| {
        let (t, m) = (transport.clone(), msg.clone());
        async move {
            t.send((*m).clone()).await?;
            Ok(())
        }
    })
    .await
}

/// One arrears stream of `n` notices; returns the hub's figures (rows = notices).
async fn arrears(s: &Setup, backend: &str, run: &str, n: u64, report: &mut Report) -> anyhow::Result<Figures> {
    eprintln!("== arrears stream of {n} on {backend}");
    let ch = one(s.hub.addr, &s.wohnbau).await?;
    let window = ProcWindow::start(Some(s.hub.pid()));
    let t = Instant::now();
    let stored = fixtures::stream_notices(ch, run, n).await?;
    let mut f = window.finish(stored);
    let mut h = stats::histogram();
    stats::record(&mut h, t.elapsed());
    f = f.with_latency(&h);
    Ok(report.run(
        &format!("Arrears stream {}, {backend}", grouped(n as f64)),
        "hub, one StreamArrearsNotices call (latency: the whole call)",
        "notices",
        f,
    ))
}

/// Reads the Fachstelle's whole event backlog from cursor 0.
async fn catch_up(s: &Setup, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== catch-up");
    let db = s.hub.data_dir.join("hub.db");
    let total: i64 = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new().filename(&db).read_only(true),
        )
        .await?;
        sqlx::query_scalar("SELECT count(*) FROM events WHERE audience_id = ?")
            .bind(FACHSTELLE)
            .fetch_one(&mut c)
            .await?
    };
    let total = u64::try_from(total)?;
    let ch = one(s.hub.addr, &s.fachstelle).await?;
    let window = ProcWindow::start(Some(s.hub.pid()));
    let t = Instant::now();
    let mut stream = pb::event_service_client::EventServiceClient::new(ch)
        .subscribe(pb::SubscribeRequest { after_cursor: 0 })
        .await?
        .into_inner();
    let mut n = 0;
    while n < total {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Some(r)) => {
                r?;
                n += 1;
            }
            _ => break,
        }
    }
    let mut h = stats::histogram();
    stats::record(&mut h, t.elapsed());
    let f = window.finish(n).with_latency(&h);
    let secs = f.secs;
    let scenario = format!("Catch-up of {} events from cursor 0 (SQLite)", grouped(total as f64));
    report.run(&scenario, "hub, one Subscribe stream (latency: the whole backlog)", "events", f);
    report.check(
        &scenario,
        "time to read the backlog",
        format!("{secs:.2} s"),
        "< 2 s".into(),
        n == total && secs < 2.0,
    );
    Ok(())
}

/// A subscriber task: its latency histogram, when it received its last event, and that cursor.
type Subscriber = tokio::task::JoinHandle<anyhow::Result<(hdrhistogram::Histogram<u64>, Instant, u64)>>;

/// Subscribes `n` streams (100 per connection) as the Fachstelle, after `cursor`.
async fn subscribers(
    addr: std::net::SocketAddr,
    tls: &ClientTls,
    n: usize,
    cursor: u64,
    expect: u64,
) -> anyhow::Result<Vec<Subscriber>> {
    let conns = hubproc::connect(addr, tls, n.div_ceil(100)).await?;
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let mut stream = pb::event_service_client::EventServiceClient::new(conns[i / 100].clone())
            .subscribe(pb::SubscribeRequest { after_cursor: cursor })
            .await?
            .into_inner();
        tasks.push(tokio::spawn(async move {
            let mut h = stats::histogram();
            let mut got = 0;
            let mut last = Instant::now();
            let mut last_cursor = cursor;
            while got < expect {
                match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
                    Ok(Some(r)) => {
                        let e = r?.event.unwrap_or_default();
                        last = Instant::now();
                        last_cursor = e.cursor;
                        if let Some(ts) = e.occurred_at {
                            let sent = std::time::UNIX_EPOCH
                                + Duration::new(
                                    u64::try_from(ts.seconds).unwrap_or(0),
                                    u32::try_from(ts.nanos).unwrap_or(0),
                                );
                            if let Ok(d) = std::time::SystemTime::now().duration_since(sent) {
                                stats::record(&mut h, d);
                            }
                        }
                        got += 1;
                    }
                    _ => anyhow::bail!("subscriber stalled after {got} of {expect} events"),
                }
            }
            Ok((h, last, last_cursor))
        }));
    }
    Ok(tasks)
}

async fn collect(
    tasks: Vec<Subscriber>,
    t0: Instant,
    window: ProcWindow,
    deliveries: u64,
) -> anyhow::Result<(Figures, u64)> {
    let mut h = stats::histogram();
    let mut end = t0;
    let mut cursor = 0;
    for t in tasks {
        let (th, last, c) = t.await??;
        h.add(th)?;
        end = end.max(last);
        cursor = cursor.max(c);
    }
    let mut f = window.finish(deliveries).with_latency(&h);
    f.secs = end.duration_since(t0).as_secs_f64();
    Ok((f, cursor))
}

/// The head of the Fachstelle's event stream: the last cursor a catch-up delivers before it falls quiet.
async fn head_cursor(s: &Setup) -> anyhow::Result<u64> {
    let ch = one(s.hub.addr, &s.fachstelle).await?;
    let mut st = pb::event_service_client::EventServiceClient::new(ch)
        .subscribe(pb::SubscribeRequest { after_cursor: 0 })
        .await?
        .into_inner();
    let mut c = 0;
    while let Ok(Some(Ok(r))) = tokio::time::timeout(Duration::from_millis(1500), st.next()).await {
        c = r.event.map(|e| e.cursor).unwrap_or(c);
    }
    Ok(c)
}

/// One partner acknowledges referrals one at a time, 50 a second, while the Fachstelle subscribes: how long a
/// single interactive change takes to reach the caseworker's screen. Measured from the moment the move is sent
/// (so it includes the request and its commit: an upper bound of commit → received) to the moment the
/// Fachstelle's stream delivers the state change.
async fn interactive(s: &Setup, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== interactive move");
    let scenario = "Interactive move, SQLite";
    let n = sizes.interactive_moves;
    let fachstelle = one(s.hub.addr, &s.fachstelle).await?;
    let mut referrals = pb::referral_service_client::ReferralServiceClient::new(fachstelle.clone());
    // One referral per household, as in daily work (a case has a handful of referrals, not thousands).
    let mut ids = Vec::new();
    for _ in 0..n {
        let case_id = fixtures::case_with_consent(fachstelle.clone()).await?;
        let created = referrals.create_referral(fixtures::referral(&case_id)).await?.into_inner();
        ids.push(created.referral.context("no referral")?.id);
    }
    let partner_tls = ClientTls::new(&s.hub.pki(), s.hub.issue(MAIL_PARTNER)?)?;
    let mut partner = pb::referral_service_client::ReferralServiceClient::new(one(s.hub.addr, &partner_tls).await?);
    let head = head_cursor(s).await?;
    let mut stream = pb::event_service_client::EventServiceClient::new(fachstelle)
        .subscribe(pb::SubscribeRequest { after_cursor: head })
        .await?
        .into_inner();
    let wanted: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let receiver = tokio::spawn(async move {
        let mut seen = std::collections::HashMap::new();
        while seen.len() < wanted.len() {
            let got = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
            let Ok(Some(Ok(r))) = got else {
                anyhow::bail!("the stream stalled after {} of {}", seen.len(), wanted.len())
            };
            let Some(e) = r.event else { continue };
            if e.kind == pb::EventKind::ReferralStateChanged as i32 && wanted.contains(&e.referral_id) {
                seen.entry(e.referral_id).or_insert_with(Instant::now);
            }
        }
        Ok(seen)
    });
    let window = ProcWindow::start(Some(s.hub.pid()));
    let mut sent = Vec::with_capacity(ids.len());
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for id in &ids {
        tick.tick().await;
        sent.push(Instant::now());
        partner
            .transition_referral(pb::TransitionReferralRequest {
                idempotency_key: fixtures::idem(),
                referral_id: id.clone(),
                r#move: pb::ReferralMove::Acknowledge as i32,
                ..Default::default()
            })
            .await?;
    }
    let received = receiver.await??;
    let mut h = stats::histogram();
    for (id, at) in ids.iter().zip(&sent) {
        let got = received.get(id).context("a move's event never arrived")?;
        stats::record(&mut h, got.saturating_duration_since(*at));
    }
    let mut f = window.finish(n).with_latency(&h);
    f.secs = t0.elapsed().as_secs_f64();
    report.run(scenario, "hub, 1 partner, 50 moves/s (latency: move sent → Fachstelle received)", "moves", f);
    let p99 = h.value_at_quantile(0.99) as f64 / 1e3;
    report.check(scenario, "move sent → event received, p99", format!("{p99:.1} ms"), "≤ 5 ms".into(), p99 <= 5.0);
    Ok(())
}

async fn fan_out(s: &Setup, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== fan-out");
    let mut cursor = head_cursor(s).await?;
    let reference = RefProc::start(&s.hub.pki(), 1 << 20).await?;
    let producer = one(s.hub.addr, &s.wohnbau).await?;
    let ref_ctl = one(reference.addr, &s.fachstelle).await?;
    for (round, (n, events)) in
        [(1usize, sizes.fanout_events), (100, sizes.fanout_events), (sizes.fanout_many, sizes.fanout_many_events)]
            .into_iter()
            .enumerate()
    {
        let scenario = format!("Event fan-out to {} subscribers", grouped(n as f64));
        // Hub: events are NOTICE_RECEIVED from one arrears stream (500 notices per commit).
        let tasks = subscribers(s.hub.addr, &s.fachstelle, n, cursor, events).await?;
        let open_rss = stats::sample(s.hub.pid())?.rss;
        let window = ProcWindow::start(Some(s.hub.pid()));
        let t0 = Instant::now();
        fixtures::stream_notices(producer.clone(), &format!("FAN{round}"), events).await?;
        let (f, c) = collect(tasks, t0, window, n as u64 * events).await?;
        cursor = c;
        let hub = report.run(
            &scenario,
            &format!("hub, {} events from one arrears stream (latency: commit → received)", grouped(events as f64)),
            "deliveries",
            f,
        );
        if n >= 10_000 || n == sizes.fanout_many {
            report.check(
                "Memory",
                &format!("peak RSS with {} open event streams", grouped(n as f64)),
                format!(
                    "{:.0} MB (open, idle: {:.0} MB)",
                    hub.peak_rss.unwrap_or(0) as f64 / 1_048_576.0,
                    open_rss as f64 / 1_048_576.0
                ),
                "< 500 MB".into(),
                hub.peak_rss.unwrap_or(u64::MAX) < 500 * 1_048_576,
            );
        }
        // Reference: the same number of events into a bare broadcast.
        let tasks = subscribers(reference.addr, &s.fachstelle, n, 0, events).await?;
        let window = ProcWindow::start(Some(reference.pid()));
        let t0 = Instant::now();
        pb::directory_service_client::DirectoryServiceClient::new(ref_ctl.clone())
            .register_organisation(pb::RegisterOrganisationRequest {
                idempotency_key: String::new(),
                organisation: Some(pb::OrganisationSpec {
                    id: "publish".into(),
                    name: events.to_string(),
                    office_hours: "500".into(),
                    ..Default::default()
                }),
            })
            .await?;
        let (f, _) = collect(tasks, t0, window, n as u64 * events).await?;
        let r = report.run(&scenario, "reference: tokio broadcast → tonic streams, same TLS", "deliveries", f);
        report.ratio(&scenario, "hub / broadcast, deliveries per second", hub.rate() / r.rate(), 0.5);
    }
    Ok(())
}

/// Machine, versions and sizes for the report header.
pub fn header(sizes: &Sizes, command: &str, root: &Path) -> String {
    let sh = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let version = |name: &str| {
        let pat = format!("name = \"{name}\"\nversion = \"");
        lock.find(&pat)
            .map(|i| lock[i + pat.len()..].split('"').next().unwrap_or("").to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let crates = ["tonic", "hyper", "h2", "rustls", "tokio", "sqlx", "libsqlite3-sys", "lettre", "hdrhistogram"]
        .iter()
        .map(|c| format!("{c} {}", version(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let pg = sh("psql", &["-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"]);
    format!(
        "# Benchmarks\n\nGenerated by `{command}` (crate `bench/`, binary `hub-bench`): each scenario runs against a real \
         `hub serve` process (release build) over mutual TLS, followed by its reference in the same run. Do not edit the \
         tables by hand; the `## Analysis` section at the end is kept when the file is regenerated.\n\n\
         | | |\n|---|---|\n\
         | date | {} |\n| machine | {} cores ({cpu}), {:.1} GB RAM, Linux {} |\n| rustc | {} |\n| crates | {crates} |\n\
         | PostgreSQL | {pg} (127.0.0.1:5432, default settings, fresh database per run) |\n| hub commit | {} |\n\
         | sizes | {:?} |\n",
        sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        mem_kb / 1_048_576.0,
        sh("uname", &["-r"]),
        sh("rustc", &["--version"]),
        sh("git", &["rev-parse", "--short", "HEAD"]),
        sizes,
    )
}
