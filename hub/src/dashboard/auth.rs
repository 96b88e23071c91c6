//! Sign-in, sign-out and the [`Staff`] extractor that guards every other page.
//!
//! The session token lives only in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict, path
//! `/`); the store keeps its hash. Every state-changing form also carries the session's CSRF token,
//! checked in constant time, so a request from another site cannot act even if a browser ignored
//! SameSite.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::DashState;
use super::form::FormData;
use super::layout::{Frame, Menu, Nav, html, message_page, page, secure_headers};
use super::views::Ctx;
use crate::service::HubError;
use crate::service::staff::{SessionUser, may_use_dashboard};

/// The session cookie's name. `__Host-` makes browsers refuse it unless Secure, path `/` and no
/// Domain: no other host or path can set or shadow it.
pub const COOKIE: &str = "__Host-wh_session";

/// A signed-in account of any organisation: a partner's clerk sees its inbox, an administrator the
/// organisation's staff accounts, and everybody can sign out.
pub struct Member {
    /// The session's staff member and the caller the service layer sees.
    pub user: SessionUser,
}

impl Member {
    /// What every view needs.
    pub fn ctx(&self, state: &DashState) -> Ctx {
        Ctx {
            today: state.hub.clock_today(),
            csrf: self.user.session.csrf.clone(),
            staff_name: self.user.account.display_name.as_str().to_owned(),
        }
    }

    /// The page frame for this account, with its organisation's menu.
    pub fn frame(&self, nav: Nav) -> Frame<'_> {
        Frame {
            staff_name: self.user.account.display_name.as_str(),
            csrf: &self.user.session.csrf,
            nav,
            menu: Menu {
                fachstelle: may_use_dashboard(&self.user.caller),
                housing: self.is_housing_company(),
                admin: self.user.account.admin,
            },
        }
    }

    /// Whether the account's organisation is a housing company (its start page is the portal).
    pub fn is_housing_company(&self) -> bool {
        self.user.caller.org().is_ok_and(|o| o.kind == crate::domain::vocab::OrgKind::HousingCompany)
    }

    /// Checks the form's CSRF token against the session's.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), Box<Response>> {
        let sent = form.one("csrf").unwrap_or_default();
        if same_token(&sent, &self.user.session.csrf) {
            Ok(())
        } else {
            Err(Box::new(message_page(
                StatusCode::FORBIDDEN,
                "Formular abgelaufen",
                "Das Formular war nicht mehr gültig. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
                Some(&self.frame(Nav::None)),
            )))
        }
    }
}

/// A signed-in staff member of a Fachstelle: the only kind of user the Fachstelle's pages (cases,
/// referrals sent, key figures) are served to.
pub struct Staff(Member);

impl Staff {
    /// The Fachstelle staff member behind `member`, or the member back if it is not one.
    pub fn of(member: Member) -> Result<Self, Box<Member>> {
        if may_use_dashboard(&member.user.caller) { Ok(Self(member)) } else { Err(Box::new(member)) }
    }
}

impl std::ops::Deref for Staff {
    type Target = Member;

    fn deref(&self) -> &Member {
        &self.0
    }
}

/// Compares two tokens in time independent of where they differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session token sent in the cookie, if any.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

impl FromRequestParts<DashState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &DashState) -> Result<Self, Self::Rejection> {
        // A page opened from a link (a mail, a colleague's note) comes back after signing in.
        let back = (parts.method == axum::http::Method::GET).then(|| parts.uri.path_and_query()).flatten();
        let back = back.map(|p| p.as_str()).filter(|p| *p != "/");
        let Some(token) = session_token(&parts.headers) else { return Err(to_sign_in(back)) };
        match state.hub.session_user(&token).await {
            Ok(Some(user)) => {
                let account = &user.account;
                crate::telemetry::request::record_caller(account.org.as_str(), Some(account.username.as_str()));
                Ok(Member { user })
            }
            Ok(None) => Err(to_sign_in(back)),
            Err(e) => Err(super::handlers::error_page(e, None)),
        }
    }
}

impl FromRequestParts<DashState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &DashState) -> Result<Self, Self::Rejection> {
        let member = Member::from_request_parts(parts, state).await?;
        Staff::of(member).map_err(|m| {
            tracing::info!(user = %m.user.account.username, org = %m.user.account.org, "Fachstelle page refused: not Fachstelle staff");
            no_access(&m)
        })
    }
}

/// The answer to a signed-in account that is not Fachstelle staff on a Fachstelle page: no data,
/// only its own menu.
fn no_access(member: &Member) -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "Kein Zugriff",
        "Diese Seite steht nur den Mitarbeitenden der Fachstelle Wohnungserhalt zur Verfügung. Die Vermittlungen \
         an Ihre Stelle finden Sie unter „Eingang“.",
        Some(&member.frame(Nav::None)),
    )
}

/// The sign-in page, remembering the page `back` the browser asked for.
fn to_sign_in(back: Option<&str>) -> Response {
    let to = match back.and_then(local_path) {
        Some(p) => format!("/anmelden?weiter={}", form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()),
        None => "/anmelden".to_owned(),
    };
    let mut r = Redirect::to(&to).into_response();
    secure_headers(r.headers_mut());
    r
}

/// `p` when it is a path of this dashboard (never another site: no scheme, no `//host`, no
/// backslash or control character a browser might read as one), and not the sign-in page itself.
fn local_path(p: &str) -> Option<&str> {
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/anmelden")
        && p.len() <= 512
        && !p.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    ok.then_some(p)
}

/// Where the sign-in page was asked to go afterwards.
#[derive(Debug, serde::Deserialize)]
pub struct SignInQuery {
    weiter: Option<String>,
}

/// The sign-in page as its template (`templates/dashboard/sign_in.html`) sees it.
#[derive(askama::Template)]
#[template(path = "dashboard/sign_in.html")]
struct SignInPage<'a> {
    error: Option<&'a str>,
    username: &'a str,
    back: Option<&'a str>,
}

fn sign_in_page(status: StatusCode, error: Option<&str>, username: &str, back: Option<&str>) -> Response {
    let body = super::views::render_template(&SignInPage { error, username, back: back.and_then(local_path) });
    html(status, page("Anmelden", None, &body))
}

/// GET /anmelden
pub async fn sign_in_form(axum::extract::Query(q): axum::extract::Query<SignInQuery>) -> Response {
    sign_in_page(StatusCode::OK, None, "", q.weiter.as_deref())
}

/// POST /anmelden
pub async fn sign_in(State(state): State<DashState>, form: FormData) -> Response {
    let username = form.one("benutzer").unwrap_or_default();
    let password = form.one("passwort").unwrap_or_default();
    let back = form.one("weiter");
    match state.hub.sign_in(&username, &password).await {
        Ok(signed) => {
            let mut r = Redirect::to(back.as_deref().and_then(local_path).unwrap_or("/")).into_response();
            let cookie = format!("{COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict", signed.token);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            secure_headers(r.headers_mut());
            r
        }
        // The service's refusal is the German sentence for this page (wrong credentials, or locked until when).
        Err(HubError::Unauthenticated(why)) => {
            sign_in_page(StatusCode::UNAUTHORIZED, Some(&why), &username, back.as_deref())
        }
        Err(e) => super::handlers::error_page(e, None),
    }
}

/// POST /abmelden: ends the session and clears the cookie.
pub async fn sign_out(State(state): State<DashState>, Member { user }: Member, form: FormData) -> Response {
    let sent = form.one("csrf").unwrap_or_default();
    if !same_token(&sent, &user.session.csrf) {
        return message_page(StatusCode::FORBIDDEN, "Formular abgelaufen", "Bitte laden Sie die Seite neu.", None);
    }
    if let Err(e) = state.hub.sign_out(&user).await {
        return super::handlers::error_page(e, None);
    }
    let mut r = Redirect::to("/anmelden").into_response();
    let clear = format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    secure_headers(r.headers_mut());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; __Host-wh_session=abc; b=2"));
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("wh_session=abc"));
        assert_eq!(session_token(&h), None);
    }

    #[test]
    fn only_a_path_of_this_dashboard_is_followed_after_sign_in() {
        for ok in ["/faelle/abc", "/uebergaben?status=OVERDUE", "/kennzahlen?jahr=2026"] {
            assert_eq!(local_path(ok), Some(ok));
        }
        for bad in
            ["//evil.example/x", "https://evil.example/", "/\\evil.example", "faelle", "/a b", "/a\nb", "/anmelden"]
        {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}
