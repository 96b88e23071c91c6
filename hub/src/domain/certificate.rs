//! Client certificates the hub's CA issued, as the hub keeps track of them: which organisation holds
//! one, until when it is valid, and whether it was revoked. The CA signs; this record is what lets one
//! certificate be refused without touching the organisation's others.

use serde::{Deserialize, Serialize};

use super::Refusal;
use super::ids::OrgId;
use super::time::Instant;

/// A certificate's serial number: hexadecimal, stored in lower case without separators or leading
/// zeros, so `01:A2:ff` and `1a2ff` are the same certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Serial(String);

impl Serial {
    /// Parses a serial as tools print it (colons or spaces between bytes allowed, any case).
    pub fn parse(s: &str) -> Result<Self, Refusal> {
        let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect::<String>().to_ascii_lowercase();
        if hex.is_empty() || hex.len() > 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Refusal::new(
                format!("serial '{s}' is not a certificate serial number (up to 20 bytes in hexadecimal)"),
                format!("„{s}“ ist keine Seriennummer eines Zertifikats"),
            ));
        }
        let trimmed = hex.trim_start_matches('0');
        Ok(Self(if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() }))
    }

    /// The serial of a certificate's raw DER serial bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let hex = hex::encode(bytes);
        let trimmed = hex.trim_start_matches('0');
        Self(if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() })
    }

    /// As stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One certificate the hub knows of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCertificate {
    /// Its serial number.
    pub serial: Serial,
    /// The organisation it names; `None` for a certificate known only by the serial it was revoked with
    /// (one issued before the hub kept track, e.g. by `hub pki issue`).
    pub org: Option<OrgId>,
    /// When it was signed, if known.
    pub issued_at: Option<Instant>,
    /// Its last valid instant, if known.
    pub not_after: Option<Instant>,
    /// When it was revoked.
    pub revoked_at: Option<Instant>,
}

impl IssuedCertificate {
    /// A certificate just signed for `org`.
    pub fn signed(serial: Serial, org: OrgId, issued_at: Instant, not_after: Instant) -> Self {
        Self { serial, org: Some(org), issued_at: Some(issued_at), not_after: Some(not_after), revoked_at: None }
    }

    /// A revocation of a certificate the hub has no record of: only the serial is known.
    pub fn revoked_unknown(serial: Serial, at: Instant) -> Self {
        Self { serial, org: None, issued_at: None, not_after: None, revoked_at: Some(at) }
    }

    /// Revokes it from `at` on; once is enough.
    pub fn revoke(&mut self, at: Instant) -> Result<(), Refusal> {
        if self.revoked_at.is_some() {
            return Err(Refusal::new(
                format!("certificate {} is revoked already", self.serial),
                format!("Das Zertifikat {} ist bereits gesperrt.", self.serial),
            ));
        }
        self.revoked_at = Some(at);
        Ok(())
    }

    /// Whether it is still in use at `now` (neither revoked nor expired) and expires within `days`.
    pub fn expires_within(&self, now: Instant, days: i64) -> bool {
        self.revoked_at.is_none()
            && self.not_after.is_some_and(|end| end >= now && end.millis() - now.millis() <= days * 86_400_000)
    }
}

/// How many days ahead the hub warns of a partner certificate's expiry.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_compared_as_numbers_in_hex() {
        assert_eq!(Serial::parse("01:A2:FF").unwrap(), Serial::parse("1a2ff").unwrap());
        assert_eq!(Serial::from_bytes(&[0x00, 0x1a, 0x2f]).as_str(), "1a2f");
        for bad in ["", "xyz", &"a".repeat(41)] {
            assert!(Serial::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_certificate_is_revoked_once_and_warns_only_while_in_use() {
        let now = Instant::from_millis(1_000 * 86_400_000);
        let day = |d: i64| Instant::from_millis(now.millis() + d * 86_400_000);
        let org = OrgId::parse("jobcenter-test").unwrap();
        let mut c = IssuedCertificate::signed(Serial::parse("ab").unwrap(), org, now, day(20));
        assert!(c.expires_within(now, EXPIRY_WARNING_DAYS));
        assert!(!c.expires_within(now, 10));
        c.revoke(now).unwrap();
        assert!(c.revoke(now).is_err(), "revoked twice");
        assert!(!c.expires_within(now, EXPIRY_WARNING_DAYS), "a revoked certificate needs no renewal");
    }
}
