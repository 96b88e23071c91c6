//! Measurement primitives: latency histograms (HDR, microseconds) and a process's CPU time and
//! memory read from `/proc/<pid>`.

use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;

/// A latency histogram in microseconds, 1 µs to one hour, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Records one latency.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).clamp(1, 3_600_000_000);
    h.saturating_record(us);
}

/// CPU time and memory of one process, read from `/proc`.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    /// User plus system CPU seconds since the process started.
    pub cpu_secs: f64,
    /// Peak resident set (VmHWM) in bytes since start or the last [`reset_peak`].
    pub peak_rss: u64,
    /// Current resident set (VmRSS) in bytes.
    pub rss: u64,
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Reads `/proc/<pid>/stat` (utime + stime) and `/proc/<pid>/status` (VmHWM, VmRSS).
pub fn sample(pid: u32) -> anyhow::Result<ProcSample> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("reading stat of {pid}"))?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11).and_then(|v| v.parse().ok()).context("utime")?;
    let stime: f64 = f.get(12).and_then(|v| v.parse().ok()).context("stime")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
            * 1024
    };
    Ok(ProcSample { cpu_secs: (utime + stime) / clock_ticks(), peak_rss: kb("VmHWM:"), rss: kb("VmRSS:") })
}

/// Resets the peak RSS (VmHWM) of a process to its current RSS (`echo 5 > /proc/<pid>/clear_refs`).
pub fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// The summary of one measured run.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Operations (or rows, mails, events) completed.
    pub ops: u64,
    /// Wall time.
    pub secs: f64,
    /// Latency percentiles in microseconds (None: not measured per operation).
    pub p50_us: Option<u64>,
    /// 99th percentile.
    pub p99_us: Option<u64>,
    /// 99.9th percentile.
    pub p999_us: Option<u64>,
    /// CPU seconds of the measured server process during the run (None: no separate process).
    pub server_cpu: Option<f64>,
    /// Peak RSS of the server process during the run.
    pub peak_rss: Option<u64>,
}

impl Figures {
    /// Throughput in operations per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 { self.ops as f64 / self.secs } else { 0.0 }
    }

    /// Server CPU seconds per 1,000 operations.
    pub fn cpu_per_1k(&self) -> Option<f64> {
        self.server_cpu.filter(|_| self.ops > 0).map(|c| c * 1000.0 / self.ops as f64)
    }

    /// Operations per server CPU-second.
    pub fn per_cpu_sec(&self) -> Option<f64> {
        self.server_cpu.filter(|c| *c > 0.0).map(|c| self.ops as f64 / c)
    }

    /// Fills the percentiles from a histogram.
    pub fn with_latency(mut self, h: &Histogram<u64>) -> Self {
        if !h.is_empty() {
            self.p50_us = Some(h.value_at_quantile(0.50));
            self.p99_us = Some(h.value_at_quantile(0.99));
            self.p999_us = Some(h.value_at_quantile(0.999));
        }
        self
    }
}

/// Measures a server process around a piece of work: CPU seconds and peak RSS during it.
pub struct ProcWindow {
    pid: Option<u32>,
    start: Option<ProcSample>,
    t0: std::time::Instant,
}

impl ProcWindow {
    /// Starts a window (resetting the peak RSS of `pid`).
    pub fn start(pid: Option<u32>) -> Self {
        if let Some(p) = pid {
            reset_peak(p);
        }
        Self { pid, start: pid.and_then(|p| sample(p).ok()), t0: std::time::Instant::now() }
    }

    /// Ends the window: figures for `ops` operations.
    pub fn finish(self, ops: u64) -> Figures {
        let secs = self.t0.elapsed().as_secs_f64();
        let end = self.pid.and_then(|p| sample(p).ok());
        let (server_cpu, peak_rss) = match (self.start, end) {
            (Some(a), Some(b)) => (Some(b.cpu_secs - a.cpu_secs), Some(b.peak_rss)),
            _ => (None, None),
        };
        Figures { ops, secs, server_cpu, peak_rss, ..Default::default() }
    }
}
