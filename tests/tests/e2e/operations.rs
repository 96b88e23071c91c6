//! What the operator's tools see of a real `hub serve` process (the built binary, SQLite): Prometheus
//! scrapes `/metrics` on the metrics listener and sees the named series move under a short load; the
//! JSON log holds one line per request with its request id, method, organisation, status and duration;
//! and the request spans reach an OTLP collector (a small OTLP/gRPC receiver run by the test) when the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` names it.

use crate::process;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub::pki::PkiDir;
use hub_proto::v1::case_service_client::CaseServiceClient;
use hub_proto::v1::event_service_client::EventServiceClient;
use hub_proto::v1::*;
use hub_testkit::orgs;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use process::{Replica, bounded, case_with_consent, hub_binary, org_cert, prepare_sqlite, register_network, said};

/// The request id the test sends with one call and looks for in the log and the spans.
const REQUEST_ID: &str = "ops-test-4711";

/// A span as the test's collector received it: its name and string attributes.
type Span = (String, HashMap<String, String>);

/// A minimal OTLP trace collector: keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().expect("spans");
        for scope in req.into_inner().resource_spans.into_iter().flat_map(|r| r.scope_spans) {
            for span in scope.spans {
                let attrs = span
                    .attributes
                    .into_iter()
                    .filter_map(|kv| match kv.value.and_then(|v| v.value) {
                        Some(Value::StringValue(s)) => Some((kv.key, s)),
                        Some(Value::IntValue(i)) => Some((kv.key, i.to_string())),
                        _ => None,
                    })
                    .collect();
                kept.push((span.name, attrs));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

impl Collector {
    /// Serves OTLP/gRPC on a free loopback port; returns the endpoint URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the collector");
        let addr = listener.local_addr().expect("collector address");
        let svc = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .expect("the collector serves");
        });
        format!("http://{addr}")
    }

    fn spans(&self) -> Vec<Span> {
        self.0.lock().expect("spans").clone()
    }
}

/// The address a start-up line names after `prefix` (e.g. "metrics on http://").
fn address_after(replica: &Replica, prefix: &str) -> String {
    replica
        .log()
        .iter()
        .filter_map(|l| said(l))
        .find_map(|m| m.strip_prefix(prefix).map(|r| r.split(['/', ' ']).next().unwrap_or_default().to_owned()))
        .unwrap_or_else(|| panic!("no start-up line '{prefix}…': {:#?}", replica.log()))
}

/// Scrapes `/metrics` and returns each sample line's value by its series (name and labels).
async fn scrape(client: &reqwest::Client, metrics: &str) -> HashMap<String, f64> {
    let resp = client.get(format!("http://{metrics}/metrics")).send().await.expect("scrape /metrics");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let text = resp.text().await.expect("metrics text");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| v.parse().ok().map(|v| (k.to_owned(), v))))
        .collect()
}

/// The value of the first series whose name and labels contain every part of `parts`, or 0.
fn value(samples: &HashMap<String, f64>, parts: &[&str]) -> f64 {
    samples.iter().filter(|(k, _)| parts.iter().all(|p| k.contains(p))).map(|(_, v)| *v).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_request_logs_and_spans_follow_a_short_load() {
    let bin = hub_binary();
    let root = tempfile::tempdir().expect("temp dir");
    let url = prepare_sqlite(&bin, root.path());
    let collector = Collector::default();
    let endpoint = collector.start().await;
    let hub = Replica::start_with(
        "ops",
        &bin,
        root.path(),
        &url,
        &[
            ("HUB_METRICS_LISTEN", "127.0.0.1:0"),
            ("HUB_LOG", "info"),
            ("HUB_LOG_FORMAT", "json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            // Batches leave every 200 ms instead of every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    );
    let metrics = address_after(&hub, "metrics on http://");
    let dashboard = address_after(&hub, "dashboard on https://");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let before = scrape(&http, &metrics).await;
    assert_eq!(value(&before, &["hub_ready"]), 1.0, "ready before the load: {before:#?}");

    let ca = hub::pki::load_ca(&PkiDir::in_data_dir(root.path())).expect("load the CA");
    register_network(hub.channel(&ca, &hub::pki::operator_cert(&ca).expect("operator")).await, |_| {}).await;
    let fachstelle = hub.channel(&ca, &org_cert(&ca, orgs::FACHSTELLE)).await;
    let mut stream = bounded(
        "Subscribe",
        EventServiceClient::new(fachstelle.clone()).subscribe(SubscribeRequest { after_cursor: 0 }),
    )
    .await
    .expect("Subscribe")
    .into_inner();
    for _ in 0..3 {
        case_with_consent(fachstelle.clone(), orgs::JOBCENTER, &[DataCategory::Identity]).await;
    }
    let mut cases = CaseServiceClient::new(fachstelle.clone());
    let mut named = tonic::Request::new(ListCasesRequest::default());
    named.metadata_mut().insert("x-request-id", REQUEST_ID.parse().expect("ASCII"));
    let answer = bounded("ListCases", cases.list_cases(named)).await.expect("ListCases");
    assert_eq!(answer.metadata().get("x-request-id").and_then(|v| v.to_str().ok()), Some(REQUEST_ID));
    let missing = bounded("GetCase", cases.get_case(GetCaseRequest { case_id: "F-kein-Fall".to_owned() })).await;
    let refused = missing.expect_err("an unknown case is refused").code();
    let web = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.as_bytes()).expect("CA certificate"))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTPS client");
    let health = web.get(format!("https://{dashboard}/healthz")).send().await.expect("GET /healthz");
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"), "the web answer carries its request id");
    health.text().await.expect("the body is read to its end");
    let _ = tokio::time::timeout(Duration::from_millis(500), stream.message()).await;

    // Prometheus sees the series move.
    let after = scrape(&http, &metrics).await;
    let opened = value(&after, &["hub_grpc_requests_total", "method=\"CaseService/OpenCase\"", "code=\"OK\""]);
    assert!(opened >= 3.0, "three OpenCase calls counted: {after:#?}");
    let code_name = match refused {
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        other => panic!("GetCase of an unknown case: {other:?}"),
    };
    let code = format!("code=\"{code_name}\"");
    assert_eq!(value(&after, &["hub_grpc_requests_total", "CaseService/GetCase", &code]), 1.0, "{after:#?}");
    assert!(
        value(&after, &["hub_grpc_request_duration_seconds_count", "ConsentService/RecordConsent"]) >= 3.0,
        "{after:#?}"
    );
    assert!(
        value(&after, &["hub_store_write_lock_wait_seconds_count"])
            > value(&before, &["hub_store_write_lock_wait_seconds_count"])
    );
    assert_eq!(value(&after, &["hub_event_streams_open"]), 1.0, "one open stream: {after:#?}");
    assert!(value(&after, &["hub_store_pool_connections", "idle"]) >= 1.0, "{after:#?}");
    assert!(after.keys().any(|k| k.starts_with("hub_outbox_pending")), "{after:#?}");
    assert!(after.keys().any(|k| k.starts_with("hub_outbox_dead")), "{after:#?}");
    assert!(value(&after, &["hub_scheduler_runs_total", "result=\"ok\""]) >= 1.0, "the start-up run: {after:#?}");
    assert!(after.keys().any(|k| k.starts_with("hub_certificate_expiry_days{kind=\"server\"")), "{after:#?}");
    assert_eq!(value(&after, &["hub_web_requests_total", "route=\"GET /healthz\"", "status=\"200\""]), 1.0);
    drop(stream);

    // One JSON line per request, with the request id the caller sent.
    let log = hub.log();
    let finished: Vec<serde_json::Value> = log
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "request finished")
        .collect();
    assert!(finished.len() >= 10, "a line per request: {log:#?}");
    let line = finished
        .iter()
        .find(|v| v["span"]["request_id"] == REQUEST_ID)
        .unwrap_or_else(|| panic!("no request line with id {REQUEST_ID}: {log:#?}"));
    assert_eq!(line["span"]["method"], "CaseService/ListCases", "{line}");
    assert_eq!(line["span"]["org"], orgs::FACHSTELLE, "{line}");
    assert_eq!(line["fields"]["status"], "OK", "{line}");
    assert!(line["fields"]["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert!(finished.iter().any(|v| v["fields"]["status"] == code_name), "the refused GetCase is logged");

    // The spans reach the collector.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let spans = collector.spans();
        if let Some((_, attrs)) = spans
            .iter()
            .find(|(name, attrs)| name == "request" && attrs.get("request_id").map(String::as_str) == Some(REQUEST_ID))
        {
            assert_eq!(attrs.get("method").map(String::as_str), Some("CaseService/ListCases"), "{attrs:?}");
            assert_eq!(attrs.get("org").map(String::as_str), Some(orgs::FACHSTELLE), "{attrs:?}");
            assert_eq!(attrs.get("status").map(String::as_str), Some("OK"), "{attrs:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no span with the request id reached the collector: {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn the_grafana_dashboard_uses_only_series_the_hub_exports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/wohnungserhalt-hub.json");
    let board: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the dashboard file")).expect("JSON");
    let mut exprs = Vec::new();
    collect_exprs(&board, &mut exprs);
    assert!(exprs.len() >= 20, "panels with queries: {}", exprs.len());
    let mut used = std::collections::BTreeSet::new();
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("hub_") {
            let name: String =
                rest[at..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit()).collect();
            rest = &rest[at + name.len()..];
            let series = ["_bucket", "_sum", "_count"].iter().fold(name.clone(), |n, s| {
                if hub::telemetry::metrics::ALL.contains(&n.as_str()) { n } else { n.trim_end_matches(s).to_owned() }
            });
            assert!(hub::telemetry::metrics::ALL.contains(&series.as_str()), "{name} in {expr:?} is not exported");
            used.insert(series);
        }
    }
    for name in hub::telemetry::metrics::ALL {
        assert!(used.contains(name), "the dashboard shows nothing of {name}");
    }
}

/// Every `expr` of the panels' targets.
fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(e)) = m.get("expr") {
                out.push(e.clone());
            }
            m.values().for_each(|v| collect_exprs(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}
