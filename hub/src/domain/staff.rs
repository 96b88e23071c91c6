//! Staff accounts of the dashboard: who may sign in, for which organisation, under which name.
//! The password itself is never kept: only its argon2id hash (PHC string), made and checked in
//! `dashboard::auth`.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::{OrgId, StaffMember};
use super::time::Instant;

/// A sign-in name: 2-64 characters of `a-z`, `0-9`, `.`, `-`, `_`, lower case (so `K.Meyer` and
/// `k.meyer` cannot be two accounts).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses a sign-in name, folding it to lower case.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_lowercase();
        let ok = (2..=64).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
        if !ok {
            return Err(FieldError::new("username", "must be 2-64 characters of a-z, 0-9, '.', '-', '_'").de(
                "Bitte 2 bis 64 Zeichen: Kleinbuchstaben ohne Umlaute, Ziffern, Punkt, Bindestrich oder Unterstrich \
                 (zum Beispiel k.meyer).",
            ));
        }
        Ok(Self(s))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Failed sign-ins in a row after which an account is locked for [`LOCK_MINUTES`]: slows down
/// password guessing without letting a stranger lock an account for long.
pub const MAX_FAILED_SIGN_INS: u32 = 5;

/// Minutes an account stays locked after [`MAX_FAILED_SIGN_INS`] failures.
pub const LOCK_MINUTES: i64 = 15;

/// A staff member's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    /// Sign-in name.
    pub username: Username,
    /// The name recorded in the audit trail for every page view and change.
    pub display_name: StaffMember,
    /// The organisation the staff member acts for.
    pub org: OrgId,
    /// argon2id hash in PHC string form.
    pub password_hash: String,
    /// An administrator of its organisation manages the organisation's staff accounts (add,
    /// disable, new password) on the page "Mitarbeitende"; the operator makes the first one.
    #[serde(default)]
    pub admin: bool,
    /// A disabled account cannot sign in; its sessions end at once.
    pub disabled: bool,
    /// Failed sign-ins since the last successful one.
    pub failed_sign_ins: u32,
    /// Locked until then after too many failures.
    pub locked_until: Option<Instant>,
    /// When the account was created.
    pub created_at: Instant,
}

impl StaffAccount {
    /// Whether the account is locked at `now`.
    pub fn locked_at(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|t| t.millis() > now.millis())
    }

    /// Records a failed sign-in, locking the account after too many.
    pub fn record_failure(&mut self, now: Instant) {
        self.failed_sign_ins += 1;
        if self.failed_sign_ins >= MAX_FAILED_SIGN_INS {
            self.locked_until = Some(Instant::from_millis(now.millis() + LOCK_MINUTES * 60_000));
            self.failed_sign_ins = 0;
        }
    }
}

/// A signed-in browser. The token itself lives only in the browser's cookie; the store keeps its
/// SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    /// Whose session.
    pub username: Username,
    /// The form token that every state-changing request must carry (against cross-site requests).
    pub csrf: String,
    /// Signed in at.
    pub created_at: Instant,
    /// Last request at (updated at most once a minute).
    pub last_seen: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_and_refuse_odd_characters() {
        assert_eq!(Username::parse(" K.Meyer ").unwrap().as_str(), "k.meyer");
        assert!(Username::parse("a").is_err());
        assert!(Username::parse("k meyer").is_err());
        assert!(Username::parse("k@meyer").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn five_failures_lock_for_fifteen_minutes() {
        let now = Instant::from_millis(1_000_000);
        let mut a = StaffAccount {
            username: Username::parse("k.meyer").unwrap(),
            display_name: StaffMember::parse("K. Meyer").unwrap(),
            org: OrgId::parse("fachstelle-hannover").unwrap(),
            password_hash: String::new(),
            admin: false,
            disabled: false,
            failed_sign_ins: 0,
            locked_until: None,
            created_at: now,
        };
        for _ in 0..4 {
            a.record_failure(now);
        }
        assert!(!a.locked_at(now));
        a.record_failure(now);
        assert!(a.locked_at(now));
        assert!(!a.locked_at(Instant::from_millis(now.millis() + LOCK_MINUTES * 60_000 + 1)));
    }
}
