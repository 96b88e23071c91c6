//! The partner page: a small German HTTPS page where an organisation without API access looks at a
//! referral and acts on it, reached only through a signed link from a mail ([`crate::token`]).
//!
//! The adapter knows nothing of referrals: the hub implements [`PartnerDesk`], hands over display strings
//! (already German) and decides what the link's organisation may see and do. This module checks the
//! links, renders the page ([`html`]), routes the requests ([`routes`]) and serves them over rustls
//! ([`tls`]).
//!
//! Every form on the page carries its own single-use Act token (its nonce is the hub's idempotency key),
//! which doubles as protection against cross-site request forgery: a form cannot be posted without a
//! token that only the page itself hands out.

use std::sync::Arc;

use serde::Deserialize;

use crate::token::{LinkClaims, LinkKey};

mod html;
mod routes;
pub(crate) mod tls;

#[cfg(test)]
mod tests;

pub use tls::{serve_tls, tls_config, tls_config_resolved};

/// What the hub does for the page. Implemented by the hub; the adapter only calls it with verified claims.
#[async_trait::async_trait]
pub trait PartnerDesk: Send + Sync + 'static {
    /// The referral as the link's organisation may see it (the hub audits the view).
    async fn view(&self, link: &LinkClaims) -> Result<PageView, DeskError>;
    /// Performs the action of an Act token. The hub uses the token's nonce as idempotency key: the same
    /// token again returns the first result with `replayed = true` and changes nothing.
    async fn act(&self, link: &LinkClaims, input: ActionInput) -> Result<ActionDone, DeskError>;
    /// The request of a Confirm link (what to erase, restrict or rectify, and whether confirmed).
    async fn request(&self, link: &LinkClaims) -> Result<RequestView, DeskError>;
    /// Confirms the request of a Confirm link; confirming again returns the first receipt with
    /// `replayed = true`.
    async fn confirm(&self, link: &LinkClaims) -> Result<ActionDone, DeskError>;
}

/// A request to erase, restrict or rectify data (Art. 19 GDPR), as German display strings.
#[derive(Debug, Clone, Default)]
pub struct RequestView {
    /// What is asked, e.g. "Bitte löschen".
    pub heading: String,
    /// The facts as (label, value): referral, reason, data concerned, dates.
    pub rows: Vec<(String, String)>,
    /// When (and by whom) it was confirmed; `None` while open.
    pub confirmed: Option<String>,
    /// The label of the button, e.g. "Als gelöscht bestätigen".
    pub button: String,
}

/// Everything the page shows, as German display strings; the page escapes every value.
#[derive(Debug, Clone, Default)]
pub struct PageView {
    /// Opaque referral reference, e.g. "V-3F9A2C71".
    pub reference: String,
    /// Category label, e.g. "Schuldnerberatung".
    pub category: String,
    /// Organisation the referral comes from.
    pub sender_org: String,
    /// Organisation the link was sent to.
    pub recipient_org: String,
    /// Current state label, e.g. "offen".
    pub state: String,
    /// Date by which an answer is expected, e.g. "23.01.2026" (empty if none).
    pub reply_by: String,
    /// Whether `reply_by` has passed without an answer; the page marks it "überfällig".
    pub overdue: bool,
    /// The sender's message to the recipient.
    pub message: String,
    /// Details shared with the recipient (each consented category a section). Never data of a special
    /// category (Art. 9 GDPR): that goes into `special_categories`.
    pub sections: Vec<Section>,
    /// Categories no longer shown because consent was withdrawn or expired; named so the partner knows
    /// something is missing rather than wondering. Special categories are not named here but in
    /// `special_categories`.
    pub withheld: Vec<String>,
    /// The special categories of personal data (Art. 9 GDPR, e.g. health data), one entry per category
    /// whether it was disclosed or not. The page shows them in a part of their own under
    /// [`SPECIAL_CATEGORIES_HEADING`], each with whether the person's separate explicit consent lets this
    /// organisation see it.
    pub special_categories: Vec<SpecialCategory>,
    /// Notes exchanged on the referral.
    pub notes: Vec<NoteLine>,
    /// What happened so far.
    pub history: Vec<HistoryLine>,
    /// State changes the organisation may make now; one form each.
    pub moves: Vec<MoveOption>,
    /// Whether the organisation may add a note.
    pub can_note: bool,
}

/// A titled table of label/value rows.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Heading of the table.
    pub heading: String,
    /// Label and value per row.
    pub rows: Vec<(String, String)>,
}

/// Heading of the part of the page (and of the hub's other documents) that shows the special categories
/// of personal data (Art. 9 GDPR) apart from all other data.
pub const SPECIAL_CATEGORIES_HEADING: &str = "Besondere Kategorien (Art. 9 DSGVO) – ausdrückliche Einwilligung";

/// One special category of personal data (Art. 9 GDPR) as the page shows it.
#[derive(Debug, Clone, Default)]
pub struct SpecialCategory {
    /// German name of the category, e.g. "Gesundheitsdaten".
    pub name: String,
    /// Whether the person's separate explicit consent (Art. 9(2)(a) GDPR) covers this category for this
    /// organisation and referral now. Without it nothing of the category is shown, and `status` says why.
    pub explicit_consent: bool,
    /// What that means for this referral, German, e.g. "Nicht Teil dieser Vermittlung.".
    pub status: String,
    /// The data of this category shared with the organisation (label, value); empty when none is shown.
    pub rows: Vec<(String, String)>,
}

/// A note as shown on the page.
#[derive(Debug, Clone, Default)]
pub struct NoteLine {
    /// Who wrote it (organisation or person as the hub chooses to show).
    pub author: String,
    /// When, as display text.
    pub at: String,
    /// The note.
    pub text: String,
}

/// One entry of the referral's history.
#[derive(Debug, Clone, Default)]
pub struct HistoryLine {
    /// When, as display text.
    pub at: String,
    /// What happened, German.
    pub text: String,
}

/// A state change the organisation may make, rendered as one form.
#[derive(Debug, Clone)]
pub struct MoveOption {
    /// The hub's move code (e.g. "ACCEPT"); becomes the Act token's `action`.
    pub code: String,
    /// German label of the button, e.g. "Annehmen".
    pub label: String,
    /// Which extra fields the form asks for.
    pub input: MoveInput,
}

/// Extra fields of a move's form.
#[derive(Debug, Clone)]
pub enum MoveInput {
    /// Just a button.
    Plain,
    /// A reason from a list (code, German label) plus an optional explanation (`reason_code`, `reason_text`).
    Reason {
        /// Selectable reasons as (code, label).
        codes: Vec<(String, String)>,
    },
    /// An outcome from a list (code, German label) plus amount, effective date and summary
    /// (`result`, `amount`, `effective_date`, `summary`).
    Outcome {
        /// Selectable results as (code, label).
        results: Vec<(String, String)>,
    },
}

/// Form fields of a POST (all optional; the desk validates what the action needs).
///
/// Fields left empty in the form arrive as `None`, and values are trimmed, so the desk need not tell
/// "absent" from "blank".
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionInput {
    /// Selected reason code (Reason moves).
    pub reason_code: Option<String>,
    /// Free-text explanation of the reason.
    pub reason_text: Option<String>,
    /// Selected result code (Outcome moves).
    pub result: Option<String>,
    /// Amount as typed, e.g. "1.234,56" (the desk parses it).
    pub amount: Option<String>,
    /// Effective date as sent by the browser's date field ("2026-01-23").
    pub effective_date: Option<String>,
    /// Summary of the outcome.
    pub summary: Option<String>,
    /// Note text (NOTE action).
    pub text: Option<String>,
}

/// The result of an action, shown on the receipt page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDone {
    /// The signed receipt text ([`LinkKey::sign_receipt`]).
    pub receipt: String,
    /// What was done, German, e.g. "Vermittlung angenommen".
    pub done: String,
    /// True if this token was used before; nothing changed, `receipt` is the first one.
    pub replayed: bool,
}

/// Why the desk could not show or do something; each maps to a status code and a German page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// A form field is missing or wrong; `field` is its German name, `message` says what is wrong (German).
    /// Shown to the partner (422).
    #[error("invalid input in {field}")]
    Invalid {
        /// German name of the field.
        field: String,
        /// German explanation.
        message: String,
    },
    /// The action is not possible in the referral's current state; German explanation shown (409).
    #[error("action refused")]
    Refused(String),
    /// The organisation's access ended (consent withdrawn, referral withdrawn); 410.
    #[error("access revoked")]
    Revoked,
    /// No such referral (for this organisation); 404.
    #[error("not found")]
    NotFound,
    /// The hub cannot answer right now (e.g. database down); 503, worth trying again.
    #[error("temporarily unavailable")]
    Unavailable,
    /// Anything else; 500 with a generic page. The hub logs the details, the page never shows them.
    #[error("internal error")]
    Internal,
}

/// Settings of the page.
#[derive(Debug, Clone)]
pub struct PageConfig {
    /// Public base URL of the page (e.g. "https://hub.example.org"), used by [`view_url`] for links in
    /// mails. The page itself links relatively, so it also works behind a proxy path prefix.
    pub public_url: String,
    /// Lifetime of the Act tokens in the page's forms (never beyond the view link's own expiry).
    pub link_ttl_ms: i64,
}

/// The page's routes: `GET /v/{referral}?t=<view token>`, `POST /v/{referral}`, `GET` and `POST
/// /b/{request}` (a request to confirm, [`confirm_url`]) and `GET /health`,
/// with security headers on every response and a 16 KiB body limit. `now_ms` is the clock (Unix
/// milliseconds), injected so tests can expire links without waiting.
pub fn router(
    desk: Arc<dyn PartnerDesk>,
    key: Arc<LinkKey>,
    now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    cfg: PageConfig,
) -> axum::Router {
    routes::router(routes::AppState { desk, key, now_ms, link_ttl_ms: cfg.link_ttl_ms })
}

/// The link for a mail: `"{public_url}/v/{referral}?t={token}"` (a trailing `/` of `public_url` is
/// ignored, the referral is percent-encoded).
pub fn view_url(public_url: &str, key: &LinkKey, claims: &LinkClaims) -> String {
    format!("{}/v/{}?t={}", public_url.trim_end_matches('/'), encode_path_segment(&claims.referral), key.sign(claims))
}

/// The link to a request for a mail: `"{public_url}/b/{request}?t={token}"`; `claims` carries
/// [`crate::token::Purpose::Confirm`].
pub fn confirm_url(public_url: &str, key: &LinkKey, claims: &LinkClaims, request: &str) -> String {
    format!("{}/b/{}?t={}", public_url.trim_end_matches('/'), encode_path_segment(request), key.sign(claims))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so any referral id is one path segment.
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod unit_tests {
    use super::*;
    use crate::token::Purpose;

    #[test]
    fn view_url_shape() {
        let key = LinkKey::from_secret(&[3u8; 32]).unwrap();
        let claims = LinkClaims {
            referral: "ref 1/ä".into(),
            org: "o".into(),
            issued_at_ms: 0,
            expires_at_ms: 100,
            purpose: Purpose::View,
        };
        let url = view_url("https://hub.example.org/", &key, &claims);
        let token = url.split_once("?t=").unwrap().1;
        assert!(url.starts_with("https://hub.example.org/v/ref%201%2F%C3%A4?t=L1."), "{url}");
        assert_eq!(key.verify(token, 50).unwrap(), claims);
    }

    #[test]
    fn path_segment_encoding() {
        assert_eq!(encode_path_segment("abc-1_2.3~"), "abc-1_2.3~");
        assert_eq!(encode_path_segment("a:b?c#d"), "a%3Ab%3Fc%23d");
    }
}
