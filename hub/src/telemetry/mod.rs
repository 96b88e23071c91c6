//! What the operator sees of a running hub: log lines (text or JSON), a span and a log line per request,
//! spans exported over OTLP when configured, and metrics in the Prometheus text format on their own
//! listener.

pub mod logging;
pub mod metrics;
pub mod request;

use std::net::SocketAddr;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::pki::PkiDir;
use crate::server::health::Health;
use crate::service::Hub;

/// The metrics listener: plain HTTP with `/metrics` only. The series carry no personal data (no ids,
/// no names), but the listener belongs on localhost or the monitoring network.
pub struct MetricsListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl MetricsListener {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("binding the metrics listener to {addr} ([metrics] listen): {e}"))?;
        let addr = listener.local_addr()?;
        Ok(Self { listener, addr })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `/metrics` until `closing` turns true. Each scrape first reads the hub's state gauges.
    pub fn serve(
        self,
        hub: Hub,
        health: Health,
        pki: PkiDir,
        mut closing: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let handle = metrics::install();
        let page = move || {
            let (hub, health, handle, pki) = (hub.clone(), health.clone(), handle.clone(), pki.clone());
            async move {
                match hub.operator_figures().await {
                    Ok(mut figures) => {
                        figures.ready = health.ready();
                        figures.cert_expiry_days.extend(crate::pki::expiry_days(&pki));
                        metrics::state(&figures);
                    }
                    Err(e) => {
                        // The state gauges stay as last read; readiness tells why.
                        tracing::warn!(error = %e, "metrics: the hub's state could not be read");
                        metrics::ready(health.ready());
                    }
                }
                handle.run_upkeep();
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
            }
        };
        let router = axum::Router::new().route("/metrics", get(page));
        tokio::spawn(async move {
            let stop = async move {
                let _ = closing.wait_for(|c| *c).await;
            };
            if let Err(e) = axum::serve(self.listener, router).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        })
    }
}
