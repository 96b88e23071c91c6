//! Partner organisations of the directory.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::{OrgId, text};
use super::time::Instant;
use super::vocab::{Channel, OrgKind, ReferralCategory};

/// An email address, checked for shape only (the mail server is the final judge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses `local@domain.tld`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let bad = || FieldError::new("", "is not a valid email address");
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.len() <= 254
            && s.chars().all(|c| c.is_ascii_graphic());
        if ok { Ok(Self(s.to_owned())) } else { Err(bad()) }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the hub reaches an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// The organisation calls the hub.
    Grpc,
    /// Email notices to this address.
    Email(EmailAddress),
}

impl Delivery {
    /// The channel kind.
    pub fn channel(&self) -> Channel {
        match self {
            Delivery::Grpc => Channel::Grpc,
            Delivery::Email(_) => Channel::Email,
        }
    }

    /// The address, empty for gRPC.
    pub fn address(&self) -> &str {
        match self {
            Delivery::Grpc => "",
            Delivery::Email(a) => a.as_str(),
        }
    }
}

/// The writable part of an organisation, already validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSpec {
    /// Id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: OrgKind,
    /// Accepted referral categories.
    pub accepted: Vec<ReferralCategory>,
    /// Delivery.
    pub delivery: Delivery,
    /// Office hours.
    pub office_hours: String,
}

impl OrgSpec {
    /// The spec with its texts checked: a name of 1-200 characters and office hours of at most 200
    /// (both shown to the Fachstelle and in mails), trimmed.
    pub fn check(mut self) -> Result<Self, FieldError> {
        self.name = text(&self.name, 1, 200).map_err(|e| e.within("name"))?;
        self.office_hours = text(&self.office_hours, 0, 200).map_err(|e| e.within("office_hours"))?;
        Ok(self)
    }
}

/// A registered organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: OrgKind,
    /// Accepted referral categories.
    pub accepted: Vec<ReferralCategory>,
    /// Delivery.
    pub delivery: Delivery,
    /// Office hours.
    pub office_hours: String,
    /// Active flag; a deactivated organisation's certificate is refused.
    pub active: bool,
    /// Registered.
    pub created_at: Instant,
    /// Last changed.
    pub updated_at: Instant,
    /// Email links issued before this instant are refused (set when the address changes, so links
    /// that went to a wrong address stop working).
    #[serde(default)]
    pub links_valid_from: Option<Instant>,
}

impl Organisation {
    /// A new active organisation from a spec.
    pub fn register(spec: OrgSpec, now: Instant) -> Self {
        Self {
            id: spec.id,
            name: spec.name,
            kind: spec.kind,
            accepted: spec.accepted,
            delivery: spec.delivery,
            office_hours: spec.office_hours,
            active: true,
            created_at: now,
            updated_at: now,
            links_valid_from: None,
        }
    }

    /// Applies an update; the kind stays what it was registered as (it decides legal bases). A
    /// changed delivery address revokes the links sent so far.
    pub fn update(&mut self, spec: OrgSpec, now: Instant) {
        if spec.delivery != self.delivery {
            self.links_valid_from = Some(now);
        }
        self.name = spec.name;
        self.accepted = spec.accepted;
        self.delivery = spec.delivery;
        self.office_hours = spec.office_hours;
        self.updated_at = now;
    }

    /// Whether the organisation takes referrals of this category.
    pub fn accepts(&self, category: ReferralCategory) -> bool {
        self.accepted.contains(&category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses() {
        assert!(EmailAddress::parse("beratung@example.org").is_ok());
        for bad in ["", "no-at", "a@b", "a@.b", "a b@c.de", "a@b@c.de"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_spec_needs_a_name_and_short_office_hours() {
        let spec = |name: &str, hours: &str| OrgSpec {
            id: OrgId::parse("beratung-test").expect("id"),
            name: name.into(),
            kind: OrgKind::DebtCounselling,
            accepted: vec![],
            delivery: Delivery::Grpc,
            office_hours: hours.into(),
        };
        assert_eq!(spec("  Beratung  ", "").check().expect("valid").name, "Beratung");
        assert_eq!(spec("   ", "").check().expect_err("blank name").field, "name");
        assert_eq!(spec("Beratung", &"x".repeat(201)).check().expect_err("long hours").field, "office_hours");
    }
}
