//! Request handling: token checks, the calls into the [`PartnerDesk`], and the mapping of every failure to
//! a status code and a German page that never reveals internal details.

use std::sync::Arc;

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use serde::Deserialize;

use super::html::{self, FormTokens};
use super::{ActionInput, DeskError, PartnerDesk, encode_path_segment};
use crate::token::{LinkClaims, LinkKey, Purpose, TokenError};

/// Largest accepted request body; the forms carry two tokens and a few short texts.
const BODY_LIMIT: usize = 16 * 1024;
/// Action name of the note form's token.
const NOTE_ACTION: &str = "NOTE";

/// Everything the handlers need, shared by all requests.
pub(super) struct AppState {
    pub desk: Arc<dyn PartnerDesk>,
    pub key: Arc<LinkKey>,
    pub now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    pub link_ttl_ms: i64,
}

type Shared = State<Arc<AppState>>;

pub(super) fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v/{referral}", get(show).post(act))
        .route("/b/{request}", get(show_request).post(confirm_request))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Last, so it also covers the fallback, extractor rejections and the body limit.
        .layer(middleware::map_response(security_headers))
        .with_state(Arc::new(state))
}

/// Headers on every response: nothing is cached (the page shows personal data), no referrer leaks the
/// token, no framing, no MIME sniffing, no scripts.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    );
    res
}

async fn health() -> &'static str {
    "ok"
}

async fn not_found() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "Seite nicht gefunden", "Diese Seite gibt es nicht.")
}

#[derive(Debug, Deserialize)]
struct ViewQuery {
    t: Option<String>,
}

/// `GET /v/{referral}?t=<view token>`: the referral page with a fresh Act token per form.
async fn show(
    State(st): Shared,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ViewQuery>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let Path(referral) = path.map_err(|_| PageError::bad_request())?;
    let Query(query) = query.map_err(|_| PageError::bad_request())?;
    let token = query.t.ok_or_else(PageError::invalid_link)?;
    let now = (st.now_ms)();
    let claims = st.key.verify(&token, now).map_err(PageError::from_token)?;
    if claims.referral != referral || claims.purpose != Purpose::View {
        return Err(PageError::wrong_link());
    }
    let view = st.desk.view(&claims).await.map_err(|e| PageError::from_desk(e, None))?;

    let act_token = |action: &str| {
        st.key.sign(&LinkClaims {
            referral: claims.referral.clone(),
            org: claims.org.clone(),
            issued_at_ms: now,
            expires_at_ms: now.saturating_add(st.link_ttl_ms).min(claims.expires_at_ms),
            purpose: Purpose::Act { action: action.to_string(), nonce: uuid::Uuid::new_v4().to_string() },
        })
    };
    let tokens = FormTokens {
        moves: view.moves.iter().map(|m| act_token(&m.code)).collect(),
        note: view.can_note.then(|| act_token(NOTE_ACTION)),
        view: token,
    };
    Ok(Html(html::page(&view, &action_url(&referral), &tokens)))
}

/// The fields of a posted form: the Act token `t`, the view token `v` (for the link back) and the input.
#[derive(Debug, Deserialize)]
struct ActForm {
    t: Option<String>,
    v: Option<String>,
    #[serde(flatten)]
    input: ActionInput,
}

/// `POST /v/{referral}`: performs the action of the form's Act token and shows the receipt.
async fn act(
    State(st): Shared,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Path(referral) = path.map_err(|_| PageError::bad_request())?;
    let Form(form) = form.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "Eingabe zu lang", "Die Eingaben sind zu lang.")
        } else {
            PageError::bad_request()
        }
    })?;
    let token = form.t.ok_or_else(PageError::invalid_link)?;
    let now = (st.now_ms)();
    let claims = st.key.verify(&token, now).map_err(PageError::from_token)?;
    if claims.referral != referral || !matches!(claims.purpose, Purpose::Act { .. }) {
        return Err(PageError::wrong_link());
    }
    let back = form.v.filter(|v| is_view_link_for(&st.key, v, &claims, now)).map(|v| back_url(&referral, &v));

    match st.desk.act(&claims, normalize(form.input)).await {
        Ok(done) => {
            let status = if done.replayed { StatusCode::CONFLICT } else { StatusCode::OK };
            Ok((status, Html(html::receipt(&done, back.as_deref()))).into_response())
        }
        Err(e) => Err(PageError::from_desk(e, back)),
    }
}

/// The verified claims of a Confirm link for `request`.
fn confirm_claims(st: &AppState, request: &str, token: Option<String>) -> Result<LinkClaims, PageError> {
    let token = token.ok_or_else(PageError::invalid_link)?;
    let claims = st.key.verify(&token, (st.now_ms)()).map_err(PageError::from_token)?;
    match &claims.purpose {
        Purpose::Confirm { request: r } if r == request => Ok(claims),
        _ => Err(PageError::wrong_link()),
    }
}

/// `GET /b/{request}?t=<confirm token>`: what the organisation is asked to do, with the form that
/// confirms it (posting the same token back).
async fn show_request(
    State(st): Shared,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ViewQuery>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let Path(request) = path.map_err(|_| PageError::bad_request())?;
    let Query(query) = query.map_err(|_| PageError::bad_request())?;
    let token = query.t.clone();
    let claims = confirm_claims(&st, &request, query.t)?;
    let view = st.desk.request(&claims).await.map_err(|e| PageError::from_desk(e, None))?;
    Ok(Html(html::request(&view, &format!("./{}", encode_path_segment(&request)), &token.unwrap_or_default())))
}

/// The form of a request page: its Confirm token.
#[derive(Debug, Deserialize)]
struct ConfirmForm {
    t: Option<String>,
}

/// `POST /b/{request}`: confirms the request and shows the receipt.
async fn confirm_request(
    State(st): Shared,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Path(request) = path.map_err(|_| PageError::bad_request())?;
    let Form(form) = form.map_err(|_| PageError::bad_request())?;
    let claims = confirm_claims(&st, &request, form.t)?;
    match st.desk.confirm(&claims).await {
        Ok(done) => {
            let status = if done.replayed { StatusCode::CONFLICT } else { StatusCode::OK };
            Ok((status, Html(html::receipt(&done, None))).into_response())
        }
        Err(e) => Err(PageError::from_desk(e, None)),
    }
}

/// Whether `v` is a still valid View token for the same referral and organisation as the Act token, so the
/// receipt page may link back with it.
fn is_view_link_for(key: &LinkKey, v: &str, act: &LinkClaims, now: i64) -> bool {
    key.verify(v, now).is_ok_and(|c| c.purpose == Purpose::View && c.referral == act.referral && c.org == act.org)
}

/// The forms post to the referral's own path, relative to the page, so it works behind a proxy prefix.
fn action_url(referral: &str) -> String {
    format!("./{}", encode_path_segment(referral))
}

fn back_url(referral: &str, view_token: &str) -> String {
    format!("{}?t={view_token}", action_url(referral))
}

/// Trims every field and turns blank ones into `None`; an empty form field means "not given".
fn normalize(input: ActionInput) -> ActionInput {
    fn clean(s: Option<String>) -> Option<String> {
        s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }
    ActionInput {
        reason_code: clean(input.reason_code),
        reason_text: clean(input.reason_text),
        result: clean(input.result),
        amount: clean(input.amount),
        effective_date: clean(input.effective_date),
        summary: clean(input.summary),
        text: clean(input.text),
    }
}

/// A German error page with its status code.
#[derive(Debug)]
struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    back: Option<String>,
}

impl PageError {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self { status, title, message: message.into(), back: None }
    }

    fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden.")
    }

    fn invalid_link() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Dieser Link ist ungültig",
            "Der Link ist unvollständig oder wurde verändert. Bitte öffnen Sie ihn direkt aus der E-Mail.",
        )
    }

    fn wrong_link() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Link passt nicht zu dieser Seite",
            "Dieser Link gehört zu einer anderen Vermittlung oder ist für diese Seite nicht bestimmt. \
             Bitte öffnen Sie den Link direkt aus der E-Mail.",
        )
    }

    fn from_token(e: TokenError) -> Self {
        tracing::debug!(error = %e, "partner page: link refused");
        match e {
            TokenError::Expired => Self::new(
                StatusCode::GONE,
                "Dieser Link ist abgelaufen",
                "Der Link ist abgelaufen. Bitte verwenden Sie den Link aus einer neueren E-Mail oder wenden Sie \
                 sich an die vermittelnde Stelle.",
            ),
            TokenError::Malformed | TokenError::BadSignature | TokenError::WeakKey => Self::invalid_link(),
        }
    }

    fn from_desk(e: DeskError, back: Option<String>) -> Self {
        tracing::debug!(error = %e, "partner page: desk refused");
        let page = match e {
            DeskError::Invalid { field, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Angaben unvollständig oder fehlerhaft",
                format!("{field}: {message}"),
            ),
            DeskError::Refused(message) => Self::new(StatusCode::CONFLICT, "Aktion nicht möglich", message),
            DeskError::Revoked => Self::new(
                StatusCode::GONE,
                "Zugang nicht mehr gültig",
                "Der Zugang zu dieser Vermittlung ist nicht mehr gültig, zum Beispiel weil die Einwilligung \
                 widerrufen oder die Vermittlung beendet wurde.",
            ),
            DeskError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "Nicht gefunden", "Diese Vermittlung wurde nicht gefunden.")
            }
            DeskError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Vorübergehend nicht verfügbar",
                "Der Dienst ist vorübergehend nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.",
            ),
            DeskError::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Ein Fehler ist aufgetreten",
                "Ihre Anfrage konnte nicht bearbeitet werden. Bitte versuchen Sie es später erneut.",
            ),
        };
        Self { back, ..page }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = Html(html::error(self.title, &self.message, self.back.as_deref()));
        let mut res = (self.status, body).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_trims_and_drops_blanks() {
        let n = normalize(ActionInput {
            reason_code: Some(" FULL ".into()),
            reason_text: Some("   ".into()),
            text: Some("Hallo\nWelt".into()),
            ..ActionInput::default()
        });
        assert_eq!(n.reason_code.as_deref(), Some("FULL"));
        assert_eq!(n.reason_text, None);
        assert_eq!(n.text.as_deref(), Some("Hallo\nWelt"));
        assert_eq!(n.amount, None);
    }

    #[test]
    fn every_desk_error_has_its_status() {
        let cases = [
            (DeskError::Invalid { field: "Grund".into(), message: "fehlt".into() }, 422),
            (DeskError::Refused("schon angenommen".into()), 409),
            (DeskError::Revoked, 410),
            (DeskError::NotFound, 404),
            (DeskError::Unavailable, 503),
            (DeskError::Internal, 500),
        ];
        for (e, status) in cases {
            assert_eq!(PageError::from_desk(e, None).status.as_u16(), status);
        }
        assert_eq!(PageError::from_token(TokenError::Expired).status, StatusCode::GONE);
        assert_eq!(PageError::from_token(TokenError::BadSignature).status, StatusCode::FORBIDDEN);
        assert_eq!(PageError::from_token(TokenError::Malformed).status, StatusCode::FORBIDDEN);
    }
}
