//! The dashboard's pages and actions: each reads its query or form, calls the service layer as
//! the signed-in staff member, and hands the model to a view. Actions answer with a redirect to
//! their page (post/redirect/get), so reloading a page never repeats an action. Here: the shared
//! form readers and error pages, and the list pages; `case`, `notice` and `referral` hold the pages
//! and actions of one case, one notice and one referral.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::DashState;
use super::auth::{Member, Staff};
use super::form::FormData;
use super::layout::{Frame, Nav, html, message_page, page, secure_headers};
use super::views;
use crate::domain::FieldError;
use crate::domain::casework::ContactKind;
use crate::domain::consent::ConsentDraft;
use crate::domain::ids::Cents;
use crate::domain::ids::{CaseId, ConsentId, IdempotencyKey, OrgId, PersonId, ReferralId};
use crate::domain::matching::Search;
use crate::domain::notice::{CourtData, NoticeId, TenantContact};
use crate::domain::referral::{Move, Reason};
use crate::domain::staff::Username;
use crate::domain::time::Day;
use crate::domain::vocab::{
    CaseOutcome, ConsentForm, DataCategory, OrgKind, ReasonCode, ReferralCategory, RescueMeans, Stadtbezirk,
    ThreatStage,
};
use crate::reports::Format;
use crate::reports::key_figures;
use crate::service::Outage;
use crate::service::dashboard::TodayModel;
use crate::service::dashboard::{CaseFilter, HandoffFilter};
use crate::service::{HubError, Idem, NewClosure, NewConsent, NewContact, NewReferral, NewStage, TakeUpTarget, Upload};

mod accounts;
mod case;
mod inbox;
mod notice;
mod portal;
mod referral;

pub use accounts::*;
pub use case::*;
pub use inbox::*;
pub use notice::*;
pub use portal::*;
pub use referral::*;

/// The error page of a failed request. Internal details are logged, never shown.
pub fn error_page(e: HubError, frame: Option<&Frame<'_>>) -> Response {
    let (status, title, text) = error_parts(e);
    message_page(status, title, &text, frame)
}

/// Status, German title and message of a failed request. Only German reaches the page: a rule's own
/// German wording where it has one, otherwise a plain sentence; English texts (meant for API clients)
/// and internal names never do.
fn error_parts(e: HubError) -> (StatusCode, &'static str, String) {
    match e {
        HubError::Invalid(f) => (
            StatusCode::BAD_REQUEST,
            "Eingabe prüfen",
            f.reason_de.unwrap_or_else(|| "Diese Angabe ist nicht gültig.".into()),
        ),
        HubError::Unauthenticated(_) => {
            (StatusCode::UNAUTHORIZED, "Nicht angemeldet", "Bitte melden Sie sich an.".into())
        }
        HubError::PermissionDenied(_) => {
            (StatusCode::FORBIDDEN, "Kein Zugriff", "Dafür haben Sie keine Berechtigung.".into())
        }
        HubError::NotFound(_) => {
            (StatusCode::NOT_FOUND, "Nicht gefunden", "Nicht gefunden, oder Sie haben keinen Zugriff darauf.".into())
        }
        HubError::AlreadyExists(_) => (StatusCode::CONFLICT, "Schon vorhanden", "Das gibt es schon.".into()),
        HubError::FailedPrecondition(r) => (
            StatusCode::CONFLICT,
            "Nicht möglich",
            r.de.unwrap_or_else(|| "Das ist beim jetzigen Stand des Falls nicht möglich.".into()),
        ),
        HubError::Unavailable(outage) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Vorübergehend nicht möglich",
            match outage {
                Outage::Busy => "Das System ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
                Outage::Unreachable => {
                    "Die Datenbank ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal."
                }
                Outage::Full | Outage::Io => {
                    "Der Datenspeicher kann gerade nichts aufnehmen; nichts wurde gespeichert. Bitte versuchen Sie \
                     es später noch einmal und sagen Sie dem IT-Betrieb Bescheid, wenn es so bleibt."
                }
            }
            .into(),
        ),
        HubError::Internal(detail) => {
            tracing::error!(%detail, "dashboard request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Fehler",
                "Ein interner Fehler ist aufgetreten; er wurde protokolliert.".into(),
            )
        }
    }
}

/// A page with its title as the heading (unless the view brings its own, like the key figures).
fn ok_page(staff: &Member, nav: Nav, title: &str, body: &str) -> Response {
    let body = if body.contains("<h1") { body.to_owned() } else { format!("<h1>{}</h1>\n{body}", views::esc(title)) };
    html(StatusCode::OK, page(title, Some(&staff.frame(nav)), &body))
}

/// GET / : Heute for Fachstelle staff; a housing company starts at its notices, a partner's clerk
/// at its inbox.
pub async fn today(State(state): State<DashState>, member: Member) -> Response {
    let staff = match Staff::of(member) {
        Ok(s) => s,
        Err(m) => {
            let start = if m.is_housing_company() { "/rueckstaende" } else { "/eingang" };
            let mut r = Redirect::to(start).into_response();
            secure_headers(r.headers_mut());
            return r;
        }
    };
    let today = match state.hub.dash_today(&staff.user.caller).await {
        Ok(m) => state.hub.certificate_warnings(&staff.user).await.map(|certificates| TodayModel { certificates, ..m }),
        Err(e) => Err(e),
    };
    match today {
        Ok(m) => ok_page(&staff, Nav::Today, "Heute", &views::today::render(&m, &staff.ctx(&state))),
        Err(e) => error_page(e, Some(&staff.frame(Nav::Today))),
    }
}

/// Filters of the handoffs page.
#[derive(Debug, Deserialize)]
pub struct HandoffQuery {
    partner: Option<String>,
    status: Option<String>,
    #[serde(rename = "ueberfaellig")]
    overdue: Option<String>,
}

/// GET /uebergaben : Vermittlungen (every referral sent).
pub async fn handoffs(State(state): State<DashState>, staff: Staff, Query(q): Query<HandoffQuery>) -> Response {
    let filter = HandoffFilter::from_query(q.partner.as_deref(), q.status.as_deref(), q.overdue.as_deref());
    match state.hub.dash_handoffs(&staff.user.caller, filter.clone()).await {
        Ok(m) => {
            ok_page(&staff, Nav::Handoffs, "Vermittlungen", &views::handoffs::render(&m, &filter, &staff.ctx(&state)))
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Handoffs))),
    }
}

/// GET /faelle : the case list with its filters, search and pages.
pub async fn cases(State(state): State<DashState>, staff: Staff, Query(q): Query<views::cases::CaseQuery>) -> Response {
    let filter = CaseFilter {
        status: q.status(),
        stadtbezirk: q.bezirk.as_deref().and_then(Stadtbezirk::parse),
        stage: q.stufe.as_deref().and_then(ThreatStage::parse),
        search: q.suche.as_deref().and_then(Search::parse),
        assignee: q.mine().then(|| staff.user.account.username.clone()),
        sort: q.sort(),
        page: q.page(),
    };
    match state.hub.dash_cases(&staff.user.caller, &filter).await {
        Ok(m) => ok_page(&staff, Nav::Cases, "Fälle", &views::cases::render(&m, &q)),
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// The confirmation a case page shows after a redirect from a finished action.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    erledigt: Option<String>,
    /// A consent whose new version (amended or renewed) the consent form is filled in for.
    neue_fassung: Option<String>,
}

/// A date field of a form: empty is none; anything else must be a date.
fn form_day(form: &FormData, field: &str) -> Result<Option<Day>, HubError> {
    form.non_empty(field)
        .map(|v| {
            crate::domain::notation::day(&v).ok_or_else(|| {
                HubError::Invalid(FieldError::new(field, "is not a date").de("Bitte ein Datum wie 28.01.2026 angeben."))
            })
        })
        .transpose()
}

/// An amount field of a form: empty is 0 €.
fn form_cents(form: &FormData, field: &str) -> Result<Cents, HubError> {
    let raw = form.non_empty(field).unwrap_or_else(|| "0".into());
    crate::domain::notation::euro_cents(&raw).and_then(|c| Cents::parse(c).ok()).ok_or_else(|| {
        HubError::Invalid(FieldError::new(field, "is not an amount").de("Bitte einen Betrag wie 1.560,00 angeben."))
    })
}

/// GET /partner : Partner.
pub async fn partners(State(state): State<DashState>, staff: Staff) -> Response {
    match state.hub.dash_partners(&staff.user.caller).await {
        Ok(rows) => ok_page(&staff, Nav::Partners, "Partner", &views::partners::render(&rows, &staff.ctx(&state))),
        Err(e) => error_page(e, Some(&staff.frame(Nav::Partners))),
    }
}

/// The year of the key figures pages.
#[derive(Debug, Deserialize)]
pub struct YearQuery {
    #[serde(rename = "jahr")]
    year: Option<String>,
}

impl YearQuery {
    fn year(&self, today: Day) -> Result<i32, HubError> {
        match self.year.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(today.year()),
            Some(s) => s
                .parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| FieldError::new("jahr", "erwartet ein Jahr wie 2026").into()),
        }
    }
}

/// Builds the caller's key figures and records who looked at them.
async fn figures(
    state: &DashState,
    staff: &Staff,
    year: i32,
    format: Format,
) -> Result<key_figures::KeyFigures, HubError> {
    state.hub.key_figures_for(&staff.user.caller, year, format, "on the dashboard").await
}

/// GET /kennzahlen?jahr=Y
pub async fn key_figures_page(State(state): State<DashState>, staff: Staff, Query(q): Query<YearQuery>) -> Response {
    let frame = staff.frame(Nav::Figures);
    let year = match q.year(state.hub.clock_today()) {
        Ok(y) => y,
        Err(e) => return error_page(e, Some(&frame)),
    };
    match figures(&state, &staff, year, Format::Html).await {
        Ok(f) => ok_page(
            &staff,
            Nav::Figures,
            &format!("Kennzahlen {year}"),
            &views::figures::render(&f, year, &staff.ctx(&state)),
        ),
        Err(e) => error_page(e, Some(&frame)),
    }
}

/// GET /kennzahlen.csv?jahr=Y : a download.
pub async fn key_figures_csv(State(state): State<DashState>, staff: Staff, Query(q): Query<YearQuery>) -> Response {
    let year = match q.year(state.hub.clock_today()) {
        Ok(y) => y,
        Err(e) => return error_page(e, Some(&staff.frame(Nav::Figures))),
    };
    match figures(&state, &staff, year, Format::Csv).await {
        Ok(f) => {
            let mut r = (StatusCode::OK, f.to_csv_de()).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"kennzahlen-{year}.csv\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            secure_headers(h);
            r
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Figures))),
    }
}

/// An idempotency key for one form submission: a fresh key (the redirect after the action keeps a
/// reload from repeating it), fingerprinted over the form like the gRPC edge does.
fn form_idem(action: &str, form: &FormData) -> Result<Idem, HubError> {
    let key = IdempotencyKey::parse(&format!("dashboard-{}", uuid::Uuid::new_v4()))?;
    let mut h = Sha256::new();
    h.update(action.as_bytes());
    h.update(format!("{form:?}").as_bytes());
    Ok(Idem { key, fingerprint: hex::encode(h.finalize()) })
}

fn parse_all<T>(form: &FormData, field: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, HubError> {
    form.all(field)
        .iter()
        .map(|v| {
            parse(v).ok_or_else(|| {
                FieldError::new(field, format!("unknown value '{v}'"))
                    .de("Diesen Wert gibt es nicht; bitte neu wählen.")
                    .into()
            })
        })
        .collect()
}

fn parse_one<T>(form: &FormData, field: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, HubError> {
    Ok(parse_all(form, field, parse)?.into_iter().next())
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, HubError> {
    v.ok_or_else(|| FieldError::new(field, "missing").de("Bitte ausfüllen.").into())
}

/// Any other path.
pub async fn not_found() -> Response {
    message_page(StatusCode::NOT_FOUND, "Nicht gefunden", "Diese Seite gibt es nicht.", None)
}
