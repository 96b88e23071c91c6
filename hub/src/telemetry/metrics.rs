//! The hub's metrics, named once here and recorded through the `metrics` facade; the Prometheus exporter
//! renders them on the metrics listener (`[metrics] listen`). Without an installed recorder (tools, unit
//! tests) every call here costs next to nothing.
//!
//! Counters and histograms are recorded where things happen; gauges that describe state (the outbox,
//! the audit seal, the store's pool, certificates) are read when Prometheus scrapes, so they are never
//! older than the scrape.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// gRPC calls by method and status code.
pub const GRPC_REQUESTS: &str = "hub_grpc_requests_total";
/// gRPC call duration by method.
pub const GRPC_DURATION: &str = "hub_grpc_request_duration_seconds";
/// Web requests (dashboard, partner page, portal) by route and HTTP status.
pub const WEB_REQUESTS: &str = "hub_web_requests_total";
/// Web request duration by route.
pub const WEB_DURATION: &str = "hub_web_request_duration_seconds";
/// Mails waiting in the outbox (state `PENDING`).
pub const OUTBOX_PENDING: &str = "hub_outbox_pending";
/// Mails given up on (state `DEAD`): each needs a person.
pub const OUTBOX_DEAD: &str = "hub_outbox_dead";
/// Mails the relay accepted.
pub const OUTBOX_SENT: &str = "hub_outbox_sent_total";
/// From a mail's creation to the relay accepting it.
pub const OUTBOX_DELIVERY: &str = "hub_outbox_delivery_seconds";
/// Runs of the scheduled work by result (`ok`, `failed`).
pub const SCHEDULER_RUNS: &str = "hub_scheduler_runs_total";
/// Duration of a run of the scheduled work.
pub const SCHEDULER_DURATION: &str = "hub_scheduler_run_duration_seconds";
/// Time a write waited for the store's write lock.
pub const WRITE_LOCK_WAIT: &str = "hub_store_write_lock_wait_seconds";
/// Connections of the store's pools by state (`in_use`, `idle`).
pub const POOL_CONNECTIONS: &str = "hub_store_pool_connections";
/// Event streams (`EventService.Subscribe`) open now.
pub const EVENT_STREAMS: &str = "hub_event_streams_open";
/// Arrears notices stored.
pub const NOTICES_INGESTED: &str = "hub_notices_ingested_total";
/// Arrears notice records refused.
pub const NOTICES_REJECTED: &str = "hub_notices_rejected_total";
/// Days until a certificate expires, by kind (`ca`, `server`, `partner`: the soonest of the partners').
pub const CERT_EXPIRY_DAYS: &str = "hub_certificate_expiry_days";
/// Partner certificates that expire within the warning period and are not revoked.
pub const CERTS_EXPIRING: &str = "hub_partner_certificates_expiring";
/// Seconds since the audit chain was last sealed.
pub const AUDIT_SEAL_AGE: &str = "hub_audit_seal_age_seconds";
/// 1 when the hub can do its work (the store answers), else 0.
pub const READY: &str = "hub_ready";

/// Every series name above (the Grafana dashboard in `deploy/grafana/` may use these and no others).
pub const ALL: [&str; 19] = [
    GRPC_REQUESTS,
    GRPC_DURATION,
    WEB_REQUESTS,
    WEB_DURATION,
    OUTBOX_PENDING,
    OUTBOX_DEAD,
    OUTBOX_SENT,
    OUTBOX_DELIVERY,
    SCHEDULER_RUNS,
    SCHEDULER_DURATION,
    WRITE_LOCK_WAIT,
    POOL_CONNECTIONS,
    EVENT_STREAMS,
    NOTICES_INGESTED,
    NOTICES_REJECTED,
    CERT_EXPIRY_DAYS,
    CERTS_EXPIRING,
    AUDIT_SEAL_AGE,
    READY,
];

/// Bucket bounds of every `_seconds` histogram: from a cached read to a stuck database.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's metrics recorder (once; later calls return the
/// same handle) and describes every series.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder was installed first; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(GRPC_REQUESTS, "gRPC calls by method and status code");
    describe_histogram!(GRPC_DURATION, metrics::Unit::Seconds, "gRPC call duration by method");
    describe_counter!(WEB_REQUESTS, "Web requests by route and HTTP status");
    describe_histogram!(WEB_DURATION, metrics::Unit::Seconds, "Web request duration by route");
    describe_gauge!(OUTBOX_PENDING, "Mails waiting in the outbox");
    describe_gauge!(OUTBOX_DEAD, "Mails given up on; each needs a person");
    describe_counter!(OUTBOX_SENT, "Mails the relay accepted");
    describe_histogram!(OUTBOX_DELIVERY, metrics::Unit::Seconds, "From a mail's creation to the relay accepting it");
    describe_counter!(SCHEDULER_RUNS, "Runs of the scheduled work by result");
    describe_histogram!(SCHEDULER_DURATION, metrics::Unit::Seconds, "Duration of a run of the scheduled work");
    describe_histogram!(WRITE_LOCK_WAIT, metrics::Unit::Seconds, "Time a write waited for the store's write lock");
    describe_gauge!(POOL_CONNECTIONS, "Connections of the store's pools by state");
    describe_gauge!(EVENT_STREAMS, "Event streams open now");
    describe_counter!(NOTICES_INGESTED, "Arrears notices stored");
    describe_counter!(NOTICES_REJECTED, "Arrears notice records refused");
    describe_gauge!(CERT_EXPIRY_DAYS, "Days until a certificate expires (partner: the soonest)");
    describe_gauge!(CERTS_EXPIRING, "Partner certificates expiring within the warning period");
    describe_gauge!(AUDIT_SEAL_AGE, metrics::Unit::Seconds, "Seconds since the audit chain was last sealed");
    describe_gauge!(READY, "1 when the hub can do its work, else 0");
}

/// A finished gRPC call.
pub fn grpc_call(method: &str, code: &'static str, took: Duration) {
    counter!(GRPC_REQUESTS, "method" => method.to_owned(), "code" => code).increment(1);
    histogram!(GRPC_DURATION, "method" => method.to_owned()).record(took.as_secs_f64());
}

/// A finished web request.
pub fn web_request(route: &str, status: u16, took: Duration) {
    counter!(WEB_REQUESTS, "route" => route.to_owned(), "status" => status.to_string()).increment(1);
    histogram!(WEB_DURATION, "route" => route.to_owned()).record(took.as_secs_f64());
}

/// A mail the relay accepted, `age` after it was written to the outbox.
pub fn mail_sent(age: Duration) {
    counter!(OUTBOX_SENT).increment(1);
    histogram!(OUTBOX_DELIVERY).record(age.as_secs_f64());
}

/// A run of the scheduled work.
pub fn scheduler_run(ok: bool, took: Duration) {
    counter!(SCHEDULER_RUNS, "result" => if ok { "ok" } else { "failed" }).increment(1);
    histogram!(SCHEDULER_DURATION).record(took.as_secs_f64());
}

/// A write waited `took` for the store's write lock.
pub fn write_lock_wait(took: Duration) {
    histogram!(WRITE_LOCK_WAIT).record(took.as_secs_f64());
}

/// Notices stored and records refused by one submission.
pub fn notices(ingested: usize, rejected: usize) {
    counter!(NOTICES_INGESTED).increment(ingested as u64);
    counter!(NOTICES_REJECTED).increment(rejected as u64);
}

/// Counts an open event stream until dropped.
#[derive(Debug)]
#[must_use = "the stream counts as open while this lives"]
pub struct OpenStream(());

impl OpenStream {
    /// A stream opened.
    pub fn opened() -> Self {
        gauge!(EVENT_STREAMS).increment(1.0);
        Self(())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        gauge!(EVENT_STREAMS).decrement(1.0);
    }
}

/// What the hub's state looks like at a scrape (see [`crate::service::Hub::operator_figures`]).
#[derive(Debug, Clone, Default)]
pub struct StateFigures {
    /// Mails waiting.
    pub outbox_pending: u64,
    /// Mails given up on.
    pub outbox_dead: u64,
    /// Seconds since the last audit seal, if there was one.
    pub audit_seal_age_secs: Option<f64>,
    /// Store connections in use and idle.
    pub pool_in_use: u32,
    /// Idle store connections.
    pub pool_idle: u32,
    /// Whether the store answers.
    pub ready: bool,
    /// Days to expiry by kind of certificate.
    pub cert_expiry_days: Vec<(&'static str, f64)>,
    /// Partner certificates expiring within the warning period.
    pub certs_expiring: u64,
}

/// Sets the readiness gauge.
pub fn ready(yes: bool) {
    gauge!(READY).set(if yes { 1.0 } else { 0.0 });
}

/// Sets the gauges from `figures`.
pub fn state(figures: &StateFigures) {
    gauge!(OUTBOX_PENDING).set(figures.outbox_pending as f64);
    gauge!(OUTBOX_DEAD).set(figures.outbox_dead as f64);
    if let Some(age) = figures.audit_seal_age_secs {
        gauge!(AUDIT_SEAL_AGE).set(age);
    }
    gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(figures.pool_in_use));
    gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(figures.pool_idle));
    ready(figures.ready);
    for (kind, days) in &figures.cert_expiry_days {
        gauge!(CERT_EXPIRY_DAYS, "kind" => *kind).set(*days);
    }
    gauge!(CERTS_EXPIRING).set(figures.certs_expiring as f64);
}
