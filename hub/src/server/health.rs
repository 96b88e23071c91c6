//! Health that tells the truth: the store's condition (the outcome of the last write, and a periodic
//! probe that notices recovery when no write comes) and the SMTP relay's (a periodic check, and every
//! mail the relay accepted) drive `grpc.health.v1` for the whole server and per service, and the HTTP
//! endpoints `/healthz` (the process answers) and `/readyz` (it can do its work) on the dashboard and
//! the partner page. Nothing here needs a restart to turn healthy again.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use email_adapter::sink::SmtpSink;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::service::Hub;
use crate::store::Condition;

/// What the hub last knew of its SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    /// Not checked yet.
    Unchecked,
    /// The last check passed, or a mail was accepted since.
    Reachable,
    /// The last check failed (mails wait in the outbox and are retried).
    Unreachable,
}

/// The hub's health as the checks see it; cheap to clone and to read.
#[derive(Clone)]
pub struct Health {
    store: watch::Receiver<Condition>,
    relay: Arc<watch::Sender<Option<Relay>>>,
}

impl Health {
    /// Health following `hub`'s store; the relay is reported once [`Health::watch_relay`] runs.
    pub fn new(hub: &Hub) -> Self {
        Self { store: hub.store_condition(), relay: Arc::new(watch::channel(None).0) }
    }

    /// Ready: the store's last write or probe succeeded. The relay does not decide readiness (mail waits
    /// in the outbox and nothing is lost), but it is reported beside it.
    pub fn ready(&self) -> bool {
        *self.store.borrow() == Condition::Ready
    }

    /// Records that the relay accepted a mail.
    pub fn relay_accepted_mail(&self) {
        self.relay.send_if_modified(|r| replace(r, Some(Relay::Reachable)));
    }

    /// Checks the relay now and every `every` until `closing`.
    pub fn watch_relay(&self, sink: Arc<SmtpSink>, every: Duration, mut closing: watch::Receiver<bool>) {
        let relay = self.relay.clone();
        relay.send_if_modified(|r| replace(r, Some(Relay::Unchecked)));
        tokio::spawn(async move {
            loop {
                let now = match sink.check().await {
                    Ok(()) => Relay::Reachable,
                    Err(e) => {
                        tracing::warn!(error = %e.message, "SMTP relay check failed; mails wait in the outbox");
                        Relay::Unreachable
                    }
                };
                relay.send_if_modified(|r| replace(r, Some(now)));
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = closing.wait_for(|c| *c) => return,
                }
            }
        });
    }

    /// Probes `store` every `every` until `closing`, so a recovered database is noticed without a write.
    pub fn probe_store(hub: Hub, every: Duration, mut closing: watch::Receiver<bool>) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = closing.wait_for(|c| *c) => return,
                }
                // The outcome is recorded in the store's condition; errors are logged there.
                let _ = hub.probe_store().await;
            }
        });
    }

    /// Keeps `reporter` in step: the overall status ("") and every name in `services` follow the store,
    /// `email_service` (when the email channel runs) follows the relay.
    pub fn report_to(&self, reporter: HealthReporter, services: Vec<&'static str>, email_service: &'static str) {
        let mut store = self.store.clone();
        let mut relay = self.relay.subscribe();
        tokio::spawn(async move {
            loop {
                let store_status = serving(*store.borrow_and_update() == Condition::Ready);
                for name in std::iter::once("").chain(services.iter().copied()) {
                    reporter.set_service_status(name, store_status).await;
                }
                let relay_now = *relay.borrow_and_update();
                let relay_status = match relay_now {
                    None => None,
                    Some(Relay::Unchecked) => Some(ServingStatus::Unknown),
                    Some(r) => Some(serving(r == Relay::Reachable)),
                };
                if let Some(status) = relay_status {
                    reporter.set_service_status(email_service, status).await;
                }
                tokio::select! {
                    changed = store.changed() => if changed.is_err() { return },
                    changed = relay.changed() => if changed.is_err() { return },
                }
            }
        });
    }

    /// `/healthz` and `/readyz`, without sign-in (they disclose no data).
    pub fn routes(&self) -> axum::Router {
        let me = self.clone();
        axum::Router::new().route("/healthz", get(|| async { "ok\n" })).route(
            "/readyz",
            get(move || {
                let me = me.clone();
                async move { me.readiness() }
            }),
        )
    }

    /// 200 when ready, 503 when not; the body names the state of the store and of the relay.
    fn readiness(&self) -> axum::response::Response {
        let store = match *self.store.borrow() {
            Condition::Ready => "ready".to_owned(),
            Condition::Failing(o) => o.to_string(),
        };
        let relay = match *self.relay.borrow() {
            None => "not configured",
            Some(Relay::Unchecked) => "not checked yet",
            Some(Relay::Reachable) => "reachable",
            Some(Relay::Unreachable) => "unreachable (mail waits in the outbox)",
        };
        let ready = self.ready();
        let body = serde_json::json!({ "ready": ready, "database": store, "smtp": relay });
        let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], format!("{body}\n"))
            .into_response()
    }
}

fn serving(yes: bool) -> ServingStatus {
    if yes { ServingStatus::Serving } else { ServingStatus::NotServing }
}

/// Sets `slot` to `next`; whether it changed.
fn replace(slot: &mut Option<Relay>, next: Option<Relay>) -> bool {
    if *slot == next {
        return false;
    }
    *slot = next;
    true
}
