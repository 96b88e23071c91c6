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
    /// What the organisation can take on, per category, as it says itself; a category not listed is
    /// open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CategoryCapacity>,
    /// When the organisation last said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_updated_at: Option<Instant>,
}

/// How much a partner can take on in one category: open, a waiting list, or closed for now. Gravity's
/// closed-loop referral work and Open Referral ask for it on the target: a referral to a partner that
/// cannot take anyone this month helps nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capacity {
    /// Takes new referrals.
    Open,
    /// Takes them onto a waiting list of about this many weeks (1-52).
    Waitlist {
        /// Weeks.
        weeks: u8,
    },
    /// Takes none for now.
    Closed,
}

/// The longest waiting list a partner can state, in weeks.
pub const MAX_WAITLIST_WEEKS: u8 = 52;

/// One category's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCapacity {
    /// The category.
    pub category: ReferralCategory,
    /// Its capacity.
    pub capacity: Capacity,
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
            capacity: Vec::new(),
            capacity_updated_at: None,
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

    /// Its capacity in `category` (open unless it said otherwise).
    pub fn capacity_for(&self, category: ReferralCategory) -> Capacity {
        self.capacity.iter().find(|c| c.category == category).map_or(Capacity::Open, |c| c.capacity)
    }

    /// The organisation states its capacity (replacing what it said before) and, when given, its
    /// office hours. Each category must be one it accepts, once; a waiting list runs 1-52 weeks.
    pub fn set_capacity(
        &mut self,
        capacity: Vec<CategoryCapacity>,
        office_hours: Option<String>,
        now: Instant,
    ) -> Result<(), FieldError> {
        for (i, c) in capacity.iter().enumerate() {
            let field = format!("capacities[{i}]");
            if !self.accepts(c.category) {
                return Err(FieldError::new(
                    format!("{field}.category"),
                    "is not a category this organisation accepts",
                )
                .de("Diese Art von Vermittlung nimmt die Organisation laut Verzeichnis nicht an."));
            }
            if capacity[..i].iter().any(|o| o.category == c.category) {
                return Err(
                    FieldError::new(format!("{field}.category"), "is listed twice").de("Ist doppelt angegeben.")
                );
            }
            if let Capacity::Waitlist { weeks } = c.capacity
                && !(1..=MAX_WAITLIST_WEEKS).contains(&weeks)
            {
                return Err(FieldError::new(format!("{field}.waitlist_weeks"), "must be 1-52 weeks")
                    .de("Bitte eine Wartezeit von 1 bis 52 Wochen angeben."));
            }
        }
        if let Some(hours) = office_hours {
            self.office_hours = text(&hours, 0, 200).map_err(|e| e.within("office_hours"))?;
        }
        self.capacity = capacity.into_iter().filter(|c| c.capacity != Capacity::Open).collect();
        self.capacity_updated_at = Some(now);
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_per_accepted_category_and_open_unless_said_otherwise() {
        let spec = OrgSpec {
            id: OrgId::parse("beratung-test").expect("id"),
            name: "Beratung".into(),
            kind: OrgKind::DebtCounselling,
            accepted: vec![ReferralCategory::DebtCounselling],
            delivery: Delivery::Grpc,
            office_hours: String::new(),
        };
        let mut org = Organisation::register(spec, Instant::from_millis(0));
        let c = |capacity| CategoryCapacity { category: ReferralCategory::DebtCounselling, capacity };
        assert_eq!(org.capacity_for(ReferralCategory::DebtCounselling), Capacity::Open);
        org.set_capacity(vec![c(Capacity::Waitlist { weeks: 6 })], Some("Di 9-12".into()), Instant::from_millis(1))
            .expect("valid");
        assert_eq!(org.capacity_for(ReferralCategory::DebtCounselling), Capacity::Waitlist { weeks: 6 });
        assert_eq!(org.office_hours, "Di 9-12");
        let refused = |org: &mut Organisation, entries| org.set_capacity(entries, None, Instant::from_millis(2));
        assert_eq!(
            refused(&mut org, vec![c(Capacity::Waitlist { weeks: 0 })]).unwrap_err().field,
            "capacities[0].waitlist_weeks"
        );
        assert_eq!(
            refused(&mut org, vec![c(Capacity::Waitlist { weeks: 53 })]).unwrap_err().field,
            "capacities[0].waitlist_weeks"
        );
        assert_eq!(
            refused(&mut org, vec![c(Capacity::Closed), c(Capacity::Open)]).unwrap_err().field,
            "capacities[1].category"
        );
        let other = CategoryCapacity { category: ReferralCategory::ReplacementHousing, capacity: Capacity::Closed };
        assert_eq!(refused(&mut org, vec![other]).unwrap_err().field, "capacities[0].category");
        assert_eq!(
            org.capacity_for(ReferralCategory::DebtCounselling),
            Capacity::Waitlist { weeks: 6 },
            "a refusal changes nothing"
        );
        refused(&mut org, vec![c(Capacity::Open)]).expect("open again");
        assert!(org.capacity.is_empty(), "open is not stored");
    }

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
