//! The page frame every dashboard page shares (`templates/base.html`): German, no JavaScript, KERN's
//! stylesheet and the dashboard's own (see [`super::assets`]), the main menu, who is signed in and the
//! sign-out button. Views render only the body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::views::esc;

/// The main menu entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Today.
    Today,
    /// Handoffs.
    Handoffs,
    /// Cases.
    Cases,
    /// Partners.
    Partners,
    /// Key figures.
    Figures,
    /// A partner's inbox of referrals.
    Inbox,
    /// A housing company's early notices.
    Notices,
    /// The organisation's staff accounts (administrators only).
    Accounts,
    /// No menu entry (sign-in, errors).
    None,
}

const FACHSTELLE_MENU: &[MenuItem] = &[
    MenuItem { nav: Nav::Today, href: "/", label: "Heute" },
    MenuItem { nav: Nav::Handoffs, href: "/uebergaben", label: "Vermittlungen" },
    MenuItem { nav: Nav::Cases, href: "/faelle", label: "Fälle" },
    MenuItem { nav: Nav::Partners, href: "/partner", label: "Partner" },
    MenuItem { nav: Nav::Figures, href: "/kennzahlen", label: "Kennzahlen" },
];

const PARTNER_MENU: &[MenuItem] = &[MenuItem { nav: Nav::Inbox, href: "/eingang", label: "Eingang" }];

const HOUSING_MENU: &[MenuItem] = &[
    MenuItem { nav: Nav::Notices, href: "/rueckstaende", label: "Mietrückstände" },
    MenuItem { nav: Nav::Inbox, href: "/eingang", label: "Eingang" },
];

const ACCOUNTS: MenuItem = MenuItem { nav: Nav::Accounts, href: "/mitarbeitende", label: "Mitarbeitende" };

/// Which menu a signed-in account sees: the Fachstelle's pages or a partner's inbox, and the staff
/// administration for its organisation's administrators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Menu {
    /// Staff of a Fachstelle.
    pub fachstelle: bool,
    /// Staff of a housing company.
    pub housing: bool,
    /// An administrator of its organisation.
    pub admin: bool,
}

impl Menu {
    fn items(self) -> Vec<&'static MenuItem> {
        let main = match (self.fachstelle, self.housing) {
            (true, _) => FACHSTELLE_MENU,
            (false, true) => HOUSING_MENU,
            (false, false) => PARTNER_MENU,
        };
        main.iter().chain(self.admin.then_some(&ACCOUNTS)).collect()
    }
}

/// Who is signed in, as the frame shows it.
pub struct Frame<'a> {
    /// The staff member's name.
    pub staff_name: &'a str,
    /// The form token for the sign-out button.
    pub csrf: &'a str,
    /// Active menu entry.
    pub nav: Nav,
    /// The account's menu.
    pub menu: Menu,
}

/// The page frame as a template (`templates/base.html`).
#[derive(askama::Template)]
#[template(path = "base.html")]
struct Base<'a> {
    title: &'a str,
    frame: Option<&'a Frame<'a>>,
    menu: Vec<&'static MenuItem>,
    body: &'a str,
    kern_css: &'static str,
    hub_css: &'static str,
}

/// A main menu entry.
struct MenuItem {
    nav: Nav,
    href: &'static str,
    label: &'static str,
}

/// A whole page: head, menu (when signed in), `body`.
pub fn page(title: &str, frame: Option<&Frame<'_>>, body: &str) -> String {
    use askama::Template as _;
    let body = scroll_tables(body);
    let base = Base {
        title,
        frame,
        menu: frame.map(|f| f.menu.items()).unwrap_or_default(),
        body: &body,
        kern_css: super::assets::KERN_CSS,
        hub_css: super::assets::HUB_CSS,
    };
    // Rendering writes into a String; it fails only if a value's Display fails, which ours never do.
    base.render().unwrap_or_else(|e| format!("<!DOCTYPE html><title>Fehler</title><p>{}</p>", esc(&e.to_string())))
}

/// Puts every table in its own scroll box: a wide table scrolls inside the page at 390 px instead of
/// making the whole page scroll sideways. The box is focusable so keyboard users can scroll it too.
pub(crate) fn scroll_tables(body: &str) -> String {
    body.replace("<table", "<div class=\"tabelle\" tabindex=\"0\"><table").replace("</table>", "</table></div>")
}

/// An HTML response with the headers every dashboard page carries: no caching of personal data,
/// no scripts at all, no framing, no referrer leaving the hub.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure_headers(h);
    r
}

/// Security headers of every dashboard response.
pub fn secure_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self' 'unsafe-inline'; font-src 'self'; img-src data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A message page's body (`templates/dashboard/message.html`), with a sign-out button when
/// `sign_out` carries the session's form token.
#[derive(askama::Template)]
#[template(path = "dashboard/message.html")]
struct Message<'a> {
    title: &'a str,
    text: &'a str,
    sign_out: Option<&'a str>,
}

/// The body of a message page.
pub fn message_body(title: &str, text: &str, sign_out: Option<&str>) -> String {
    super::views::render_template(&Message { title, text, sign_out })
}

/// A page showing a message only (errors, "Kein Zugriff").
pub fn message_page(status: StatusCode, title: &str, text: &str, frame: Option<&Frame<'_>>) -> Response {
    let body = message_body(title, text, None);
    html(status, page(title, frame, &body))
}
