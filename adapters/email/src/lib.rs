//! The email adapter: the first of the hub's adapters, shaped like every later one (see STYLE.md):
//! configuration ([`config`]), the sink that delivers ([`sink`]), its health check ([`health`]) and
//! its own classification of which failures are worth retrying ([`retry`]). Partners without API
//! access receive German mails that carry no personal data ([`render`]), follow signed links
//! ([`token`]) to a small HTTPS page ([`web`]) and get a signed receipt for every action ([`receipt`]).
//!
//! The adapter knows nothing of the hub's domain: the hub hands it strings to render and implements
//! [`web::PartnerDesk`] for the page.

pub mod config;
pub mod health;
pub mod listen;
pub mod receipt;
pub mod render;
pub mod retry;
pub mod sink;
pub mod token;
pub mod web;
