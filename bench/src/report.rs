//! The Markdown report: machine and versions, every measured run (hub and reference), and each
//! target with its ratio and whether it is met.

use std::fmt::Write as _;
use std::path::Path;

use crate::stats::Figures;

/// One measured run.
pub struct Run {
    /// Scenario.
    pub scenario: String,
    /// What ran: `hub` or the reference.
    pub subject: String,
    /// Unit of the throughput (req, rows, mails, events).
    pub unit: &'static str,
    /// The figures.
    pub figures: Figures,
}

/// One target of the issue.
pub struct Check {
    /// Scenario.
    pub scenario: String,
    /// What is compared, e.g. `hub / raw single-row commits`.
    pub measure: String,
    /// The measured value, formatted (ratio or absolute).
    pub value: String,
    /// The target, formatted.
    pub target: String,
    /// Met?
    pub met: bool,
}

/// Everything one suite run produced.
#[derive(Default)]
pub struct Report {
    /// Measured runs in order.
    pub runs: Vec<Run>,
    /// Targets.
    pub checks: Vec<Check>,
    /// Free-form notes produced during the run (setup facts, sizes).
    pub notes: Vec<String>,
}

impl Report {
    /// Adds a run and prints it.
    pub fn run(&mut self, scenario: &str, subject: &str, unit: &'static str, figures: Figures) -> Figures {
        let r = Run { scenario: scenario.to_owned(), subject: subject.to_owned(), unit, figures: figures.clone() };
        eprintln!("  {}", row(&r));
        self.runs.push(r);
        figures
    }

    /// Adds a ratio target: `value >= min`.
    pub fn ratio(&mut self, scenario: &str, measure: &str, value: f64, min: f64) {
        self.check(scenario, measure, format!("{value:.2}×"), format!("≥ {min}×"), value >= min);
    }

    /// Adds any target.
    pub fn check(&mut self, scenario: &str, measure: &str, value: String, target: String, met: bool) {
        eprintln!("  target {scenario} / {measure}: {value} (target {target}) {}", if met { "met" } else { "MISSED" });
        self.checks.push(Check { scenario: scenario.to_owned(), measure: measure.to_owned(), value, target, met });
    }
}

fn us(v: Option<u64>) -> String {
    match v {
        None => "–".to_owned(),
        Some(v) if v < 1_000 => format!("{v} µs"),
        Some(v) if v < 1_000_000 => format!("{:.1} ms", v as f64 / 1e3),
        Some(v) => format!("{:.2} s", v as f64 / 1e6),
    }
}

/// Thousands separators.
pub fn grouped(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn row(r: &Run) -> String {
    let f = &r.figures;
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        r.scenario,
        r.subject,
        grouped(f.ops as f64),
        format_args!("{} {}/s", grouped(f.rate()), r.unit),
        us(f.p50_us),
        us(f.p99_us),
        us(f.p999_us),
        f.cpu_per_1k().map(|c| format!("{c:.3}")).unwrap_or_else(|| "–".into()),
        f.peak_rss.map(|b| format!("{:.0} MB", b as f64 / 1_048_576.0)).unwrap_or_else(|| "–".into()),
    )
}

/// Writes the report to `path`, keeping a hand-written `## Analysis` section of an existing file.
pub fn write(path: &Path, header: &str, report: &Report) -> anyhow::Result<()> {
    let analysis = std::fs::read_to_string(path)
        .ok()
        .and_then(|old| old.find("\n## Analysis").map(|i| old[i..].to_owned()))
        .unwrap_or_default();
    let mut s = String::new();
    s.push_str(header);
    s.push_str("\n## Targets\n\n| scenario | measure | value | target | met? |\n|---|---|---|---|---|\n");
    for c in &report.checks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            c.scenario,
            c.measure,
            c.value,
            c.target,
            if c.met { "met" } else { "**missed**" }
        );
    }
    s.push_str(
        "\n## Figures\n\nThroughput is operations (requests, rows, mails or event deliveries) per wall-clock second. \
         Latency percentiles are per operation (per commit for batched references). \"CPU s / 1k\" is the CPU \
         time (user + system, `/proc/<pid>/stat`) of the server process (`hub serve` or the reference server) per \
         1,000 operations; \"peak RSS\" is its VmHWM during the run (reset before each run). \"–\": not applicable \
         (the reference runs inside the load generator).\n\n\
         | scenario | run | ops | throughput | p50 | p99 | p99.9 | CPU s / 1k | peak RSS |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &report.runs {
        s.push_str(&row(r));
        s.push('\n');
    }
    if !report.notes.is_empty() {
        s.push_str("\n## Notes from this run\n\n");
        for n in &report.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s.push_str(&analysis);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, s)?;
    Ok(())
}
