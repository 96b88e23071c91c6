//! Staff accounts and dashboard sessions: created by the operator (`hub staff`), used by the
//! dashboard to sign staff in. A signed-in staff member acts as their organisation with their
//! name, exactly as a gRPC client with the organisation's certificate and `x-staff-member` would,
//! so every rule and every audit record of the service layer applies unchanged.

use crate::domain::audit::{AuditAction, AuditDetail};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use super::{Caller, Hub, HubError, HubResult};
use crate::domain::ids::{OrgId, StaffMember};
use crate::domain::staff::{StaffAccount, StaffSession, Username};
use crate::domain::time::Instant;
use crate::domain::{FieldError, Refusal};
use crate::store::AuditEntry;

/// Shortest password accepted. Length beats composition rules (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A session ends after this long without a request.
pub const SESSION_IDLE_MS: i64 = 30 * 60_000;

/// A session ends this long after sign-in, however active.
pub const SESSION_MAX_MS: i64 = 10 * 3_600_000;

/// `last_seen` is written at most this often, so reading pages does not mean a commit per click.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The one answer to every failed sign-in: it must not tell whether the name exists.
pub const SIGN_IN_FAILED: &str = "Benutzername oder Passwort falsch.";

/// The answer while an account is locked after failed sign-ins, in German for the sign-in page.
fn locked_message(until: Instant, was_locked: bool) -> String {
    let first =
        if was_locked { "Dieses Konto ist gesperrt" } else { "Zu viele Fehlversuche: Das Konto ist jetzt gesperrt" };
    format!(
        "{first}, bis {} Uhr. Danach können Sie sich wieder anmelden; wenn Sie Ihr Passwort vergessen haben, \
         wenden Sie sich an die Administration.",
        crate::labels::instant(until)
    )
}

/// A new account as its administrator states it.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Sign-in name.
    pub username: String,
    /// Name in the audit trail.
    pub display_name: String,
    /// Organisation (an organisation's administrator can only name its own).
    pub org: String,
    /// Initial password.
    pub password: String,
    /// Whether the account administers its organisation's staff.
    pub admin: bool,
}

/// Who administers staff accounts. The operator (`hub staff`) manages every organisation's accounts
/// and makes each organisation's first administrator; an organisation's administrator, signed in,
/// manages only the accounts of its own organisation.
#[derive(Debug, Clone)]
pub enum AccountAdmin {
    /// The hub's operator.
    Operator,
    /// A signed-in administrator of `org`.
    Org {
        /// The organisation administered.
        org: OrgId,
        /// The administrator's own account (which it may not disable).
        username: Username,
        /// The administrator's name, for the audit trail.
        name: StaffMember,
    },
}

impl AccountAdmin {
    /// The administrator behind a dashboard session, if the account is one.
    pub fn of_session(user: &SessionUser) -> HubResult<Self> {
        if !user.account.admin {
            return Err(HubError::PermissionDenied(
                "only an administrator of the organisation manages its staff".into(),
            ));
        }
        Ok(Self::Org {
            org: user.account.org.clone(),
            username: user.account.username.clone(),
            name: user.account.display_name.clone(),
        })
    }

    /// Whether the accounts of `org` are this administrator's to manage.
    fn manages(&self, org: &OrgId) -> bool {
        match self {
            Self::Operator => true,
            Self::Org { org: own, .. } => own == org,
        }
    }

    /// The audit record of an administrative change.
    fn audit(&self, at: Instant, action: AuditAction, detail: String) -> AuditEntry {
        match self {
            Self::Operator => staff_audit(at, "operator", None, action, detail),
            Self::Org { org, name, .. } => staff_audit(at, org.as_str(), Some(name.as_str()), action, detail),
        }
    }
}

/// A successful sign-in: the token goes into the browser's cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session token (random, 256 bits, hex).
    pub token: String,
    /// The session as stored.
    pub session: StaffSession,
}

/// The staff member behind a valid session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The account.
    pub account: StaffAccount,
    /// The session.
    pub session: StaffSession,
    /// The caller the service layer sees.
    pub caller: Caller,
}

/// argon2id with the parameters OWASP recommends (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn random_bytes<const N: usize>() -> HubResult<[u8; N]> {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).map_err(|_| HubError::Internal("system random number generator failed".into()))?;
    Ok(b)
}

/// Hashes a password (argon2id, random salt) into a PHC string.
fn hash_password(password: &str) -> HubResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new("password", format!("must be at least {MIN_PASSWORD_CHARS} characters"))
            .de(format!("Das Passwort muss mindestens {MIN_PASSWORD_CHARS} Zeichen lang sein."))
            .into());
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| HubError::Internal(format!("password salt: {e}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HubError::Internal(format!("password hash: {e}")))
}

/// Whether `password` matches the stored PHC hash (a malformed hash matches nothing).
fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the name does not exist, so a failed sign-in takes as long
/// whether or not the account exists.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

/// Hex SHA-256 of a session token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn staff_audit(at: Instant, actor: &str, staff: Option<&str>, action: AuditAction, detail: String) -> AuditEntry {
    let detail = AuditDetail::words(detail);
    AuditEntry {
        at,
        actor: actor.to_owned(),
        staff: staff.map(str::to_owned),
        action,
        case_id: None,
        referral_id: None,
        legal_basis: "account administration".into(),
        detail,
    }
}

impl Hub {
    /// Creates a staff account. The organisation must be registered, and an organisation's
    /// administrator creates accounts only for its own.
    pub async fn add_staff(&self, by: &AccountAdmin, new: NewStaff) -> HubResult<StaffAccount> {
        let username = Username::parse(&new.username)?;
        let display_name = StaffMember::parse(&new.display_name).map_err(|e| {
            FieldError::new("name", e.reason).de("Bitte einen Namen mit höchstens 100 Zeichen angeben.")
        })?;
        let org = OrgId::parse(&new.org).map_err(|e| e.within("org"))?;
        if !by.manages(&org) {
            return Err(HubError::PermissionDenied(
                "an administrator manages only its own organisation's staff".into(),
            ));
        }
        let password_hash = hash_password(&new.password)?;
        let mut tx = self.store.begin().await?;
        if tx.org(&org).await?.is_none() {
            return Err(FieldError::new("org", "is not a registered organisation").into());
        }
        if tx.staff_account(&username).await?.is_some() {
            return Err(FieldError::new("username", format!("staff account '{username}' exists already"))
                .de("Diesen Benutzernamen gibt es schon; bitte einen anderen wählen.")
                .into());
        }
        let account = StaffAccount {
            username,
            display_name,
            org,
            password_hash,
            admin: new.admin,
            disabled: false,
            failed_sign_ins: 0,
            locked_until: None,
            created_at: self.now(),
        };
        tx.save_staff_account(&account).await?;
        let role = if account.admin { "administrator" } else { "staff" };
        let detail = format!("{role} account {} for {} created", account.username, account.org);
        tx.append_audit(&by.audit(self.now(), AuditAction::StaffAdd, detail)).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Sets a new password; ends the account's sessions and lifts a lock.
    pub async fn set_staff_password(&self, by: &AccountAdmin, username: &str, password: &str) -> HubResult<()> {
        let hash = hash_password(password)?;
        self.change_account(by, username, AuditAction::StaffPassword, |a| {
            a.password_hash = hash;
            a.failed_sign_ins = 0;
            a.locked_until = None;
            Ok(())
        })
        .await
    }

    /// Disables or re-enables an account; disabling ends its sessions at once. An administrator
    /// cannot disable its own account: the organisation would be left without anyone to undo it.
    pub async fn set_staff_disabled(&self, by: &AccountAdmin, username: &str, disabled: bool) -> HubResult<()> {
        let action = if disabled { AuditAction::StaffDisable } else { AuditAction::StaffEnable };
        self.change_account(by, username, action, |a| {
            if let AccountAdmin::Org { username: own, .. } = by
                && disabled
                && *own == a.username
            {
                return Err(HubError::FailedPrecondition(Refusal::new(
                    "an administrator cannot disable its own account",
                    "Ihr eigenes Konto können Sie nicht deaktivieren.",
                )));
            }
            a.disabled = disabled;
            Ok(())
        })
        .await
    }

    /// The accounts this administrator manages: every account for the operator, the
    /// organisation's own for its administrator.
    pub async fn list_staff(&self, by: &AccountAdmin) -> HubResult<Vec<StaffAccount>> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.staff_accounts().await?.into_iter().filter(|a| by.manages(&a.org)).collect())
    }

    /// Signs a staff member in. Every failure answers [`SIGN_IN_FAILED`] (as UNAUTHENTICATED) and
    /// is audited; five in a row lock the account for 15 minutes.
    pub async fn sign_in(&self, username: &str, password: &str) -> HubResult<SignedIn> {
        let failed = || HubError::Unauthenticated(SIGN_IN_FAILED.into());
        let now = self.now();
        let Ok(username) = Username::parse(username) else {
            password_matches(password, decoy_hash());
            return Err(failed());
        };
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.staff_account(&username).await? else {
            password_matches(password, decoy_hash());
            return Err(failed());
        };
        let org = tx.org(&account.org).await?;
        let was_locked = account.locked_at(now);
        let usable = !account.disabled && !was_locked && org.is_some_and(|o| o.active);
        let staff = Some(account.display_name.as_str().to_owned());
        if !usable || !password_matches(password, &account.password_hash) {
            if usable {
                account.record_failure(now);
                tx.save_staff_account(&account).await?;
            }
            let detail = format!("failed sign-in of {username}");
            tx.append_audit(&staff_audit(
                now,
                account.org.as_str(),
                staff.as_deref(),
                AuditAction::StaffSignInFailed,
                detail,
            ))
            .await?;
            tx.commit().await?;
            tracing::info!(%username, "dashboard sign-in failed");
            // A locked account says so (and until when): "wrong password" would send the caseworker
            // retrying into a lock that never ends. It only tells what five failed tries told already.
            return Err(match account.locked_until.filter(|_| !account.disabled && account.locked_at(now)) {
                Some(until) => HubError::Unauthenticated(locked_message(until, was_locked)),
                None => failed(),
            });
        }
        account.failed_sign_ins = 0;
        account.locked_until = None;
        tx.save_staff_account(&account).await?;
        let token = hex::encode(random_bytes::<32>()?);
        let session = StaffSession {
            token_hash: token_hash(&token),
            username: username.clone(),
            csrf: hex::encode(random_bytes::<16>()?),
            created_at: now,
            last_seen: now,
        };
        tx.insert_session(&session).await?;
        let detail = format!("{username} signed in to the dashboard");
        tx.append_audit(&staff_audit(now, account.org.as_str(), staff.as_deref(), AuditAction::StaffSignIn, detail))
            .await?;
        tx.purge_sessions(
            Instant::from_millis(now.millis() - SESSION_IDLE_MS),
            Instant::from_millis(now.millis() - SESSION_MAX_MS),
        )
        .await?;
        tx.commit().await?;
        Ok(SignedIn { token, session })
    }

    /// The staff member signed in with `token`, if the session is valid now: not idle for 30
    /// minutes, not older than 10 hours, the account enabled and its organisation active.
    pub async fn session_user(&self, token: &str) -> HubResult<Option<SessionUser>> {
        let now = self.now().millis();
        let hash = token_hash(token);
        let mut tx = self.store.begin_read().await?;
        let Some(session) = tx.session(&hash).await? else { return Ok(None) };
        if now - session.last_seen.millis() > SESSION_IDLE_MS || now - session.created_at.millis() > SESSION_MAX_MS {
            return Ok(None);
        }
        let Some(account) = tx.staff_account(&session.username).await? else { return Ok(None) };
        drop(tx);
        if account.disabled {
            return Ok(None);
        }
        let caller = match self
            .authenticate(super::Principal::Org(account.org.clone()), Some(account.display_name.clone()))
            .await
        {
            Ok(c) => c,
            Err(HubError::Unauthenticated(_) | HubError::PermissionDenied(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if now - session.last_seen.millis() > TOUCH_EVERY_MS {
            let mut tx = self.store.begin().await?;
            tx.touch_session(&hash, self.now()).await?;
            tx.commit().await?;
        }
        Ok(Some(SessionUser { account, session, caller }))
    }

    /// Ends the session of `token` (sign-out); audited.
    pub async fn sign_out(&self, user: &SessionUser) -> HubResult<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&user.session.token_hash).await?;
        let detail = format!("{} signed out", user.account.username);
        let staff = Some(user.account.display_name.as_str());
        tx.append_audit(&staff_audit(self.now(), user.account.org.as_str(), staff, AuditAction::StaffSignOut, detail))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_account(
        &self,
        by: &AccountAdmin,
        username: &str,
        action: AuditAction,
        change: impl FnOnce(&mut StaffAccount) -> HubResult<()>,
    ) -> HubResult<()> {
        let username = Username::parse(username)?;
        let mut tx = self.store.begin().await?;
        // Another organisation's account is answered like a missing one: its name is not the
        // administrator's to learn.
        let Some(mut account) = tx.staff_account(&username).await?.filter(|a| by.manages(&a.org)) else {
            return Err(HubError::NotFound("staff account"));
        };
        change(&mut account)?;
        tx.save_staff_account(&account).await?;
        let ended = tx.delete_sessions_of(&username).await?;
        let detail = format!("{action} {username}; {ended} session(s) ended");
        tx.append_audit(&by.audit(self.now(), action, detail)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether the account may use the dashboard at all (Fachstelle staff only).
pub fn may_use_dashboard(caller: &Caller) -> bool {
    caller.fachstelle("use the dashboard").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_a_fresh_salt_and_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert_ne!(a, b, "a fresh salt each time");
        assert!(a.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &a));
        assert!(!password_matches("correct horse batterY", &a));
        assert!(!password_matches("x", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn tokens_are_stored_hashed() {
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(token_hash("abc"), "abc");
    }
}
