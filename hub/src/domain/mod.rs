//! The hub's domain: typed identifiers, vocabularies, the referral state machine and the
//! data-protection rules. Nothing here knows about gRPC or SQL.

pub mod audit;
pub mod basis;
pub mod case;
pub mod casework;
pub mod certificate;
pub mod consent;
pub mod data_request;
pub mod deadline;
pub mod document;
pub mod erasure;
pub mod event;
pub mod ids;
pub mod mail;
pub mod matching;
pub mod notation;
pub mod note;
pub mod notice;
pub mod org;
pub mod phonetic;
pub mod projection;
pub mod referral;
pub mod staff;
pub mod time;
pub mod vocab;
pub mod workdays;

/// A value from outside the hub that does not parse. `field` is filled in by the edge that knows the path.
/// A rule states itself twice: in English for client developers (gRPC, naming the proto field) and, where
/// people meet it on a page, in German for them ([`FieldError::de`]); each edge shows its own language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// Path of the offending field, e.g. `details.persons[0].given_name`.
    pub field: String,
    /// What is wrong, in words a client developer understands.
    pub reason: String,
    /// The same in German, for the people using the pages (without field names: the page shows the message
    /// at the field).
    pub reason_de: Option<String>,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into(), reason_de: None }
    }

    /// Adds the German wording of the rule.
    #[must_use]
    pub fn de(mut self, reason: impl Into<String>) -> Self {
        self.reason_de = Some(reason.into());
        self
    }

    /// Prefixes the field path (used when a nested value is validated on its own).
    #[must_use]
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() { parent.to_owned() } else { format!("{parent}.{}", self.field) };
        self
    }
}

/// A request the current state of things forbids (FAILED_PRECONDITION), in English for client developers
/// and, where people meet it on a page, in German.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is refused and why, naming proto fields where it helps.
    pub en: String,
    /// The same in German, for the pages.
    pub de: Option<String>,
}

impl Refusal {
    /// A refusal stated in both languages.
    pub fn new(en: impl Into<String>, de: impl Into<String>) -> Self {
        Self { en: en.into(), de: Some(de.into()) }
    }
}

impl From<String> for Refusal {
    fn from(en: String) -> Self {
        Self { en, de: None }
    }
}

impl From<&str> for Refusal {
    fn from(en: &str) -> Self {
        Self { en: en.to_owned(), de: None }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}
