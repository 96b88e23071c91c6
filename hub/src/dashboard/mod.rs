//! The Fachstelle dashboard: server-rendered German HTML pages served by the hub itself over HTTPS,
//! for caseworkers who do not speak gRPC. Staff sign in with the hub's own accounts (argon2id,
//! `hub staff add`); every page acts through the service layer as the staff member's organisation
//! with the staff member's name, so authorisation and audit are exactly those of the gRPC API.
//!
//! Why accounts and not client certificates in the browser: the Fachstelle's eleven caseworkers
//! share a city network and city PCs; installing and renewing a personal certificate in every
//! browser is the step that would make them fall back to email. Partner systems keep mutual TLS.
//!
//! Pages: `/` (Heute), `/meldungen/{id}` (triage of a new notice), `/uebergaben`, `/faelle`,
//! `/faelle/{id}` (with the refer, consent, revoke and close forms), `/vermittlungen/{id}` (follow-up of
//! one referral: notes, withdrawal), `/partner`, `/kennzahlen` (and `.csv`). Only staff of a Fachstelle see any of them; any
//! other account gets "Kein Zugriff", a signed-out browser the sign-in page.
//!
//! Partners' clerks sign in the same way and work through `/eingang` (the referrals addressed to their
//! organisation) and `/eingang/{id}` (one referral: what its legal basis allows to show, its moves and
//! notes). An organisation's administrators manage its accounts at `/mitarbeitende`.

pub mod assets;
pub mod auth;
pub mod form;
pub mod handlers;
pub mod layout;
pub mod views;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::service::Hub;

/// Dashboard settings (config table `[dashboard]`, environment `HUB_DASHBOARD_*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// Serve the dashboard (`HUB_DASHBOARD_ENABLED`, default true). Nobody can sign in before an
    /// account exists (`hub staff add`).
    pub enabled: bool,
    /// Listen address (`HUB_DASHBOARD_LISTEN`, default `127.0.0.1:8444`).
    pub listen: SocketAddr,
    /// Certificate chain (PEM); default the hub's server certificate (signed by the hub's own CA:
    /// browsers warn until that CA is installed or a publicly trusted certificate is set here).
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<PathBuf>,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self { enabled: true, listen: SocketAddr::from(([127, 0, 0, 1], 8444)), tls_cert: None, tls_key: None }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct DashState {
    /// The hub's use cases.
    pub hub: Hub,
}

/// The dashboard's routes.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/anmelden", get(auth::sign_in_form).post(auth::sign_in))
        .route("/abmelden", post(auth::sign_out))
        .route("/", get(handlers::today))
        .route("/uebergaben", get(handlers::handoffs))
        .route("/faelle", get(handlers::cases))
        .route("/faelle/{id}", get(handlers::case_page))
        .route("/faelle/{id}/ueberweisen", post(handlers::refer))
        .route("/faelle/{id}/einwilligung", post(handlers::consent))
        .route("/faelle/{id}/druck", get(handlers::case_print))
        .route(
            "/faelle/{id}/dokumente",
            post(handlers::upload)
                .layer(DefaultBodyLimit::max(crate::domain::document::MAX_DOCUMENT_BYTES + 64 * 1024)),
        )
        .route("/faelle/{id}/dokumente/{doc}", get(handlers::download))
        .route("/faelle/{id}/widerruf", post(handlers::revoke))
        .route("/faelle/{id}/stufe", post(handlers::stage))
        .route("/faelle/{id}/zustaendig", post(handlers::assign))
        .route("/faelle/{id}/kontakt", post(handlers::contact))
        .route("/faelle/{id}/wiedervorlage", post(handlers::follow_up))
        .route("/faelle/{id}/abschliessen", post(handlers::close))
        .route("/gericht/neu", get(handlers::court_form).post(handlers::record_court))
        .route("/meldungen/{id}", get(handlers::notice_page))
        .route("/meldungen/{id}/uebernehmen", post(handlers::take_up))
        .route("/vermittlungen/{id}", get(handlers::referral_page))
        .route("/vermittlungen/{id}/notiz", post(handlers::referral_note))
        .route("/vermittlungen/{id}/frist", post(handlers::referral_reply_by))
        .route("/vermittlungen/{id}/erinnern", post(handlers::remind))
        .route("/vermittlungen/{id}/zurueckziehen", post(handlers::withdraw))
        .route("/partner", get(handlers::partners))
        .route("/eingang", get(handlers::inbox))
        .route("/eingang/{id}", get(handlers::inbox_referral))
        .route("/eingang/{id}/aktion", post(handlers::inbox_action))
        .route("/eingang/bitten/{id}", get(handlers::data_request_page).post(handlers::confirm_data_request))
        .route("/rueckstaende", get(handlers::portal).post(handlers::report_arrears))
        .route("/rueckstaende/zurueckziehen", post(handlers::withdraw_arrears))
        .route(
            "/rueckstaende/datei",
            post(handlers::upload_export).layer(DefaultBodyLimit::max(handlers::MAX_EXPORT_BYTES + 64 * 1024)),
        )
        .route(
            "/rueckstaende/abgelehnt.csv",
            post(handlers::rejected_rows).layer(DefaultBodyLimit::max(handlers::MAX_EXPORT_BYTES * 3)),
        )
        .route("/mitarbeitende", get(handlers::accounts).post(handlers::add_account))
        .route("/mitarbeitende/{user}/deaktivieren", post(handlers::disable_account))
        .route("/mitarbeitende/{user}/aktivieren", post(handlers::enable_account))
        .route("/mitarbeitende/{user}/passwort", post(handlers::reset_password))
        .route("/kennzahlen", get(handlers::key_figures_page))
        .route("/kennzahlen.csv", get(handlers::key_figures_csv))
        .route("/static/{*name}", get(assets::serve))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(form::MAX_FORM_BYTES))
        .with_state(DashState { hub })
}
