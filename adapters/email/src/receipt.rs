//! Signed receipts for actions taken on the partner page.
//!
//! A partner who accepts or declines a referral by email link has no API log of their own; the receipt
//! (`Q1.<base64url(json)>.<base64url(HMAC-SHA256)>`) is their proof of what they did and when. It is
//! signed with the receipt key derived from the hub's secret, which differs from the link key, so a
//! receipt never works as a link and a link never passes as a receipt. Receipts do not expire.

use serde::{Deserialize, Serialize};

use crate::token::{LinkKey, TokenError, open, seal};

const RECEIPT_PREFIX: &str = "Q1.";

/// The signed content of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptClaims {
    /// The hub's id of the recorded action (e.g. the event id), so a receipt can be matched to the log.
    pub id: String,
    /// The referral acted on.
    pub referral: String,
    /// The organisation that acted.
    pub org: String,
    /// What was done: the move code or "NOTE".
    pub action: String,
    /// The referral's state after the action (the hub's code).
    pub state: String,
    /// When the action was recorded (Unix milliseconds).
    pub at_ms: i64,
}

impl LinkKey {
    /// Signs a receipt; the text is ASCII (`[A-Za-z0-9_.-]`) and safe to show, mail and paste.
    pub fn sign_receipt(&self, r: &ReceiptClaims) -> String {
        seal(self.receipt_key(), RECEIPT_PREFIX, r)
    }

    /// Checks a receipt text (length, prefix, then the signature in constant time before parsing). Surrounding
    /// whitespace, as left by copying from a mail or page, is ignored.
    pub fn verify_receipt(&self, receipt: &str) -> Result<ReceiptClaims, TokenError> {
        open(self.receipt_key(), RECEIPT_PREFIX, receipt.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{LinkClaims, MAX_TOKEN_LEN, Purpose};

    fn key() -> LinkKey {
        LinkKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn receipt() -> ReceiptClaims {
        ReceiptClaims {
            id: "evt-42".into(),
            referral: "ref-1".into(),
            org: "org-a".into(),
            action: "ACCEPT".into(),
            state: "ACCEPTED".into(),
            at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trip() {
        let k = key();
        let text = k.sign_receipt(&receipt());
        assert!(text.starts_with("Q1."));
        assert_eq!(k.verify_receipt(&text), Ok(receipt()));
        assert_eq!(k.verify_receipt(&format!("  {text}\n")), Ok(receipt()));
    }

    #[test]
    fn forged_and_tampered_receipts_are_refused() {
        let k = key();
        let text = k.sign_receipt(&receipt());
        let other = LinkKey::from_secret(&[9u8; 32]).unwrap();
        assert_eq!(other.verify_receipt(&text), Err(TokenError::BadSignature));
        let (_, tag) = text.rsplit_once('.').unwrap();
        let mut changed = receipt();
        changed.action = "DECLINE".into();
        let tampered = other.sign_receipt(&changed);
        let (head, _) = tampered.rsplit_once('.').unwrap();
        assert_eq!(k.verify_receipt(&format!("{head}.{tag}")), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_receipt_is_never_a_link_and_vice_versa() {
        let k = key();
        let text = k.sign_receipt(&receipt());
        assert_eq!(k.verify(&text, 0), Err(TokenError::Malformed));
        // Even with the prefix swapped, the receipt key's signature does not pass as a link.
        let swapped = format!("L1.{}", text.strip_prefix("Q1.").unwrap());
        assert_eq!(k.verify(&swapped, 0), Err(TokenError::BadSignature));

        let link = k.sign(&LinkClaims {
            referral: "ref-1".into(),
            org: "org-a".into(),
            issued_at_ms: 0,
            expires_at_ms: i64::MAX,
            purpose: Purpose::View,
        });
        assert_eq!(k.verify_receipt(&link), Err(TokenError::Malformed));
        let swapped = format!("Q1.{}", link.strip_prefix("L1.").unwrap());
        assert_eq!(k.verify_receipt(&swapped), Err(TokenError::BadSignature));
    }

    #[test]
    fn too_long_or_malformed_receipts_are_refused() {
        let k = key();
        let mut long = receipt();
        long.id = "x".repeat(MAX_TOKEN_LEN);
        assert_eq!(k.verify_receipt(&k.sign_receipt(&long)), Err(TokenError::Malformed));
        for bad in ["", "Q1.", "Q1.a", "Q1.a.b.c", "Quittung"] {
            assert!(matches!(k.verify_receipt(bad), Err(TokenError::Malformed | TokenError::BadSignature)), "{bad}");
        }
    }
}
