//! Load shapes: closed loop (N workers, each sends the next request when the last one answered)
//! and paced open loop (a fixed rate; latency counted from the scheduled send time, so a stall is
//! not hidden by coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::stats::{self, Figures, ProcWindow};

/// When a run stops.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this many operations in all.
    Ops(u64),
    /// After this long.
    Time(Duration),
}

/// Runs `op(worker, index)` on `workers` concurrent tasks until `stop`, measuring latency and the
/// server process `pid` (CPU, peak RSS). Errors abort the run.
pub async fn closed_loop<F, Fut>(workers: usize, stop: Stop, pid: Option<u32>, op: F) -> anyhow::Result<Figures>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let window = ProcWindow::start(pid);
    let deadline = match stop {
        Stop::Time(d) => Some(Instant::now() + d),
        Stop::Ops(_) => None,
    };
    let limit = match stop {
        Stop::Ops(n) => n,
        Stop::Time(_) => u64::MAX,
    };
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = stats::histogram();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let t = Instant::now();
                op(w, i).await?;
                stats::record(&mut h, t.elapsed());
            }
            anyhow::Ok(h)
        }));
    }
    let mut all = stats::histogram();
    for t in tasks {
        all.add(t.await??)?;
    }
    Ok(window.finish(all.len()).with_latency(&all))
}

/// Sends `rate` requests per second in all, spread over `workers` tasks, for `duration`.
/// Latency is measured from each request's scheduled time.
pub async fn paced<F, Fut>(
    workers: usize,
    rate: f64,
    duration: Duration,
    pid: Option<u32>,
    op: F,
) -> anyhow::Result<Figures>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let window = ProcWindow::start(pid);
    let start = Instant::now() + Duration::from_millis(20);
    let per_worker = rate / workers as f64;
    let interval = Duration::from_secs_f64(1.0 / per_worker.max(0.001));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let op = op.clone();
        // Stagger the workers across one interval.
        let first = start + interval.mul_f64(w as f64 / workers as f64);
        tasks.push(tokio::spawn(async move {
            let mut h = stats::histogram();
            let mut k: u32 = 0;
            loop {
                let due = first + interval * k;
                if due >= start + duration {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                op(w, u64::from(k)).await?;
                stats::record(&mut h, due.elapsed());
                k += 1;
            }
            anyhow::Ok(h)
        }));
    }
    let mut all: Histogram<u64> = stats::histogram();
    for t in tasks {
        all.add(t.await??)?;
    }
    Ok(window.finish(all.len()).with_latency(&all))
}
