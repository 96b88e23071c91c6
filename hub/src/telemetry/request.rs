//! A span, a log line and metrics for every request, gRPC and web alike, so an operator can follow one
//! request from the partner's log (`x-request-id`) to the hub's, and see rates, errors and latency.
//!
//! The span is named `request` and carries the request id, the edge, the gRPC method or the web route,
//! (filled in by the edge once it knows them) the organisation and the staff member, and at the end the
//! status (`otel.status_code = ERROR` when the hub, not the caller, failed). When the
//! response body ends (a gRPC status arrives in the trailers; a stream ends only when it closes), one
//! `request finished` event is logged inside the span with the status and the duration, and the
//! request's metrics are recorded. A body dropped before its end (the client went away) finishes as
//! `cancelled`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;

/// The request id's header, read from the caller when it sends a usable one and always answered.
pub const REQUEST_ID: &str = "x-request-id";

/// The package prefix of the hub's gRPC services, left out of method labels.
const PACKAGE: &str = "wohnungserhalt.hub.v1.";

/// Which edge a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The gRPC API.
    Grpc,
    /// The dashboard, the partner page and the portal.
    Web,
}

impl Edge {
    fn as_str(self) -> &'static str {
        match self {
            Edge::Grpc => "grpc",
            Edge::Web => "web",
        }
    }
}

/// Records the organisation and the staff member on the current request's span (no-op outside one).
pub fn record_caller(org: &str, staff: Option<&str>) {
    let span = Span::current();
    span.record("org", org);
    if let Some(staff) = staff {
        span.record("staff", staff);
    }
}

/// Tower layer observing every request of an edge.
#[derive(Debug, Clone, Copy)]
pub struct ObserveLayer(Edge);

impl ObserveLayer {
    /// For the gRPC server (put outside the routes, so every call is seen).
    pub fn grpc() -> Self {
        Self(Edge::Grpc)
    }
    /// For an axum router (put with `Router::layer`, so the matched route is known).
    pub fn web() -> Self {
        Self(Edge::Web)
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;
    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner, edge: self.0 }
    }
}

/// See [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    edge: Edge,
}

impl<S, B, RB> Service<Request<B>> for Observe<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: Body,
{
    type Response = Response<Observed<RB>>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let id = request_id(&req);
        let what = match self.edge {
            Edge::Grpc => req.uri().path().trim_start_matches('/').trim_start_matches(PACKAGE).to_owned(),
            Edge::Web => {
                let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
                format!("{} {}", req.method(), route.as_deref().unwrap_or("unmatched"))
            }
        };
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            edge = self.edge.as_str(),
            method = %what,
            org = Empty,
            staff = Empty,
            status = Empty,
            otel.status_code = Empty,
        );
        let inner = {
            let _in = span.enter();
            self.inner.call(req)
        };
        ObserveFuture {
            inner,
            done: Some(Finish { span, edge: self.edge, what, id, start: Instant::now(), status: None }),
        }
    }
}

/// The caller's request id when it is short and plain, else a new one.
fn request_id<B>(req: &Request<B>) -> String {
    let given = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::trim);
    match given {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            id.to_owned()
        }
        _ => uuid::Uuid::new_v4().simple().to_string(),
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Observe`].
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        done: Option<Finish>,
    }
}

impl<F, RB, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    RB: Body,
{
    type Output = Result<Response<Observed<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _in = this.done.as_ref().map(|d| d.span.enter());
            ready!(this.inner.poll(cx))
        };
        let Some(mut done) = this.done.take() else {
            // Polled after completion: the inner future decides what that means.
            return Poll::Ready(polled.map(|r| r.map(|inner| Observed { inner, done: None })));
        };
        Poll::Ready(match polled {
            Ok(mut res) => {
                if let Ok(v) = HeaderValue::from_str(&done.id) {
                    res.headers_mut().insert(REQUEST_ID, v);
                }
                done.status = match done.edge {
                    Edge::Web => Some(Status::Http(res.status().as_u16())),
                    // A trailers-only answer (every error of a unary call) has its status in the headers.
                    Edge::Grpc => res.headers().get("grpc-status").map(Status::grpc),
                };
                let done = (done.status.is_none() || !res.body().is_end_stream()).then_some(done);
                Ok(res.map(|inner| Observed { inner, done }))
            }
            Err(e) => {
                done.status = Some(Status::Failed);
                Err(e)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that finishes its request's observation when it ends.
    pub struct Observed<B> {
        #[pin]
        inner: B,
        done: Option<Finish>,
    }
}

impl<B: Body> Body for Observed<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(done) = this.done.as_mut() {
            match &frame {
                Some(Ok(f)) => {
                    if let Some(status) = f.trailers_ref().and_then(|t| t.get("grpc-status")) {
                        done.status = Some(Status::grpc(status));
                    }
                }
                Some(Err(_)) => done.status = Some(Status::Failed),
                None => {}
            }
        }
        if frame.is_none() || matches!(frame, Some(Err(_))) || this.inner.is_end_stream() {
            // Dropping it logs the line and records the metrics.
            this.done.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy)]
enum Status {
    Http(u16),
    Grpc(tonic::Code),
    /// The service or the body failed (the connection is closed).
    Failed,
}

impl Status {
    fn grpc(v: &HeaderValue) -> Self {
        let code = v.to_str().ok().and_then(|s| s.parse::<i32>().ok()).unwrap_or(2);
        Status::Grpc(tonic::Code::from_i32(code))
    }
}

/// What is known of a request until it finishes; finishing is dropping it.
struct Finish {
    span: Span,
    edge: Edge,
    what: String,
    id: String,
    start: Instant,
    status: Option<Status>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let took = self.start.elapsed();
        let ms = duration_ms(took);
        let _in = self.span.enter();
        match (self.edge, self.status) {
            (Edge::Web, status) => {
                let code = match status {
                    Some(Status::Http(c)) => c,
                    // The client left before the page was sent (499 as nginx writes it).
                    None => 499,
                    Some(_) => 500,
                };
                self.span.record("status", code);
                if code >= 500 {
                    self.span.record("otel.status_code", "ERROR");
                }
                tracing::info!(target: "hub::request", status = code, duration_ms = ms, "request finished");
                super::metrics::web_request(&self.what, code, took);
            }
            (Edge::Grpc, status) => {
                let code = match status {
                    Some(Status::Grpc(c)) => code_name(c),
                    None => "CANCELLED",
                    Some(_) => "INTERNAL",
                };
                self.span.record("status", code);
                if SERVER_FAULTS.contains(&code) {
                    self.span.record("otel.status_code", "ERROR");
                }
                tracing::info!(target: "hub::request", status = code, duration_ms = ms, "request finished");
                // Method names the caller chose are bounded by what the hub serves.
                let method = if code == "UNIMPLEMENTED" { "unknown" } else { self.what.as_str() };
                super::metrics::grpc_call(method, code, took);
            }
        }
    }
}

/// gRPC codes that say the hub failed, not the caller (the rest are answers: not found, refused, ...);
/// their spans are marked as errors for the trace backend.
const SERVER_FAULTS: [&str; 5] = ["UNKNOWN", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "DEADLINE_EXCEEDED"];

fn duration_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

/// The canonical name of a gRPC status code, as gRPC's own tools print it.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_id_is_kept_and_anything_else_replaced() {
        let with = |v: &str| request_id(&Request::builder().header(REQUEST_ID, v).body(()).unwrap());
        assert_eq!(with("abc-123_x.y"), "abc-123_x.y");
        for bad in ["", "a b", "x".repeat(65).as_str(), "ü"] {
            let id = with(bad);
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32, "{id}");
        }
    }
}
