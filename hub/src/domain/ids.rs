//! Identifiers and small value types, each parsed once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldError;

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Parses a UUID in any of its textual forms; stored in the canonical hyphenated form.
            pub fn parse(s: &str) -> Result<Self, FieldError> {
                if s.is_empty() {
                    return Err(FieldError::new("", "must not be empty"));
                }
                uuid::Uuid::parse_str(s)
                    .map(|u| Self(u.hyphenated().to_string()))
                    .map_err(|_| FieldError::new("", "is not a valid id"))
            }

            /// The canonical text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A case of the Fachstelle.
    CaseId
);
uuid_id!(
    /// A referral.
    ReferralId
);
uuid_id!(
    /// A recorded consent.
    ConsentId
);
uuid_id!(
    /// A person within a case.
    PersonId
);

impl PersonId {
    /// The id of a person an edge submitted without one: a new household member, whose id the hub
    /// assigns ([`super::case::CaseDetails::carry_person_ids`], [`super::case::Case::open`]).
    pub fn unassigned() -> Self {
        Self(uuid::Uuid::nil().hyphenated().to_string())
    }

    /// Whether the hub has yet to assign this id.
    pub fn is_unassigned(&self) -> bool {
        *self == Self::unassigned()
    }
}
uuid_id!(
    /// A note on a referral.
    NoteId
);
uuid_id!(
    /// An arrears or court notice.
    NoticeId
);
uuid_id!(
    /// A request to a recipient to erase, restrict or rectify data it received (Art. 19 GDPR).
    DataRequestId
);

/// An organisation's id: 3-64 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
/// It is also the organisation part of the client certificate's URI SAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(String);

/// Ids that name actors other than organisations and so can never be registered.
const RESERVED_ORG_IDS: &[&str] = &["hub", "operator", "email"];

impl OrgId {
    /// Parses an organisation id.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(3..=64).contains(&s.len()) || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(FieldError::new(
                "",
                "must be 3-64 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ));
        }
        if RESERVED_ORG_IDS.contains(&s) {
            return Err(FieldError::new("", "is a reserved name"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who made a change: an organisation, or the hub itself (revocation, expiry, closure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// A partner organisation, with the staff member it named (recorded, never trusted).
    Org { org: OrgId, staff: Option<StaffMember> },
    /// The hub operator (directory administration).
    Operator { staff: Option<StaffMember> },
    /// The hub, acting on a rule.
    Hub,
}

impl Actor {
    /// The id shown to clients: the organisation id, `operator` or `hub`.
    pub fn id(&self) -> &str {
        match self {
            Actor::Org { org, .. } => org.as_str(),
            Actor::Operator { .. } => "operator",
            Actor::Hub => "hub",
        }
    }

    /// The named staff member, if any.
    pub fn staff(&self) -> Option<&StaffMember> {
        match self {
            Actor::Org { staff, .. } | Actor::Operator { staff } => staff.as_ref(),
            Actor::Hub => None,
        }
    }
}

/// A staff member's name as the calling organisation states it (x-staff-member). Recorded in the
/// audit trail; never used for authorisation, because the hub cannot verify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffMember(String);

impl StaffMember {
    /// Parses a staff name: 1-100 printable characters.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
            return Err(FieldError::new("x-staff-member", "must be 1-100 printable characters"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount of money in euro cents, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(i64);

impl Cents {
    /// Upper bound that no rent or arrears figure reaches (10 million euros); catches unit mistakes.
    const MAX: i64 = 1_000_000_000;

    /// Parses a cent amount.
    pub fn parse(v: i64) -> Result<Self, FieldError> {
        if v < 0 {
            return Err(FieldError::new("", "must not be negative"));
        }
        if v > Self::MAX {
            return Err(FieldError::new("", "is implausibly large (the unit is euro cents)"));
        }
        Ok(Self(v))
    }

    /// The amount in cents.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // German notation with thousands separators ("1.234,56 €"), as every page and mail writes amounts.
        f.write_str(&deadlines::euros_de(self.0))
    }
}

/// A client's idempotency key: 1-128 printable ASCII characters, scoped to the calling organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new("idempotency_key", "must be 1-128 printable ASCII characters"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates free text: trimmed length within bounds, no control characters except newlines and tabs.
pub fn text(s: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(FieldError::new("", "must not be empty").de("Bitte ausfüllen."));
    }
    if n > max {
        return Err(FieldError::new("", format!("must be at most {max} characters"))
            .de(format!("Höchstens {max} Zeichen, bitte kürzen ({n} Zeichen).")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(FieldError::new("", "must not contain control characters")
            .de("Enthält Steuerzeichen; bitte den Text neu eingeben."));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids() {
        assert!(OrgId::parse("jobcenter-hannover").is_ok());
        for bad in ["", "ab", "Jobcenter", "-x-y", "x-y-", "a b c", "hub", &"x".repeat(65)] {
            assert!(OrgId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uuids_are_canonical() {
        let id = CaseId::parse("67E55044-10B1-426F-9247-BB680E5FE0C8").unwrap();
        assert_eq!(id.as_str(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!(CaseId::parse("nope").is_err());
    }

    #[test]
    fn cents_and_keys() {
        assert!(Cents::parse(-1).is_err());
        assert_eq!(Cents::parse(156_000).unwrap().to_string(), "1.560,00 €");
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse("k-1").is_ok());
    }
}
