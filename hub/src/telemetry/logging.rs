//! Logs to stderr and, when configured, spans to an OpenTelemetry collector.
//!
//! - `HUB_LOG` filters the log lines (default `info`), `HUB_LOG_FORMAT` chooses `text` (for people, the
//!   default; colour only on a terminal, so files and the journal get no escape codes) or `json` (one
//!   object per line for central logging; the fields of the request span ride along).
//! - Spans go over OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//!   is set (the standard variables: the exporter also reads `..._HEADERS`, `..._TIMEOUT`,
//!   `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`), unless `OTEL_TRACES_EXPORTER=none`. Only the
//!   `grpc` protocol is built in; asking for another one stops the hub at start instead of exporting
//!   nothing. The export has its own level (`info`), independent of `HUB_LOG`.

use anyhow::bail;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines look (`HUB_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line with the time, level, target, message, fields and the current span.
    Json,
}

impl LogFormat {
    /// The format `HUB_LOG_FORMAT` asks for; a value the hub does not know is an error at start, not a
    /// silent fallback that central logging would then fail to parse.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("HUB_LOG_FORMAT") {
            Err(_) => Ok(LogFormat::Text),
            Ok(v) => match v.trim() {
                "" | "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                other => bail!("HUB_LOG_FORMAT: '{other}' is not a log format; use text or json"),
            },
        }
    }
}

/// Keeps the span export running; dropping it sends what is still buffered.
#[must_use = "dropping the guard stops the span export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("hub: the last spans were not exported: {e}");
        }
    }
}

/// Installs the log output (and the span export when configured) for this process. Call once, inside
/// the Tokio runtime (the exporter's connection lives there).
pub fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUB_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).boxed(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).boxed(),
    };
    let provider = otlp_provider()?;
    let spans = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer().with_tracer(p.tracer("wohnungserhalt-hub")).with_filter(LevelFilter::INFO)
    });
    tracing_subscriber::registry().with(logs.with_filter(filter)).with(spans).try_init()?;
    Ok(Telemetry { provider })
}

/// The span exporter the `OTEL_*` variables ask for, if any.
fn otlp_provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    let set = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() && set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none() {
        return Ok(None);
    }
    if set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none") {
        return Ok(None);
    }
    let protocol = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
    if let Some(p) = protocol.filter(|p| p.trim() != "grpc") {
        bail!("OTEL_EXPORTER_OTLP_PROTOCOL: '{p}' is not supported by the hub; use grpc");
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|e| anyhow::anyhow!("OTLP span exporter: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name()).build();
    Ok(Some(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build()))
}

/// `OTEL_SERVICE_NAME` when set, else the hub's name.
fn service_name() -> String {
    std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "wohnungserhalt-hub".to_owned())
}
