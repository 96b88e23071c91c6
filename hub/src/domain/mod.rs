//! The hub's domain: typed identifiers, vocabularies, the referral state machine and the
//! data-protection rules. Nothing here knows about gRPC or SQL.

pub mod basis;
pub mod case;
pub mod consent;
pub mod deadline;
pub mod erasure;
pub mod event;
pub mod ids;
pub mod mail;
pub mod note;
pub mod notice;
pub mod org;
pub mod projection;
pub mod referral;
pub mod staff;
pub mod time;
pub mod vocab;
pub mod workdays;

/// A value from outside the hub that does not parse. `field` is filled in by the edge that knows the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// Path of the offending field, e.g. `details.persons[0].given_name`.
    pub field: String,
    /// What is wrong, in words a client developer understands.
    pub reason: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }

    /// Prefixes the field path (used when a nested value is validated on its own).
    #[must_use]
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() { parent.to_owned() } else { format!("{parent}.{}", self.field) };
        self
    }
}
