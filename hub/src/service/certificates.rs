//! Client certificates: the record of what the CA signed, revocation of one certificate, and the
//! check every gRPC call makes.
//!
//! # Revocation on every replica
//!
//! A revocation is a row in the store. Each hub keeps the set of revoked serials in memory and rereads
//! it when it is older than [`REVOCATIONS_TTL`] (1 s, like the directory): a certificate revoked
//! through `hub pki revoke` is refused by every replica on the database at the latest a second later,
//! also on connections that were open before. Reading fails closed: when the set cannot be read, calls
//! fail as the store does, rather than letting a revoked certificate through.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use super::{Hub, HubError, HubResult};
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::certificate::{EXPIRY_WARNING_DAYS, IssuedCertificate, Serial};
use crate::store::AuditEntry;

/// How long the set of revoked serials read from the store is trusted.
pub const REVOCATIONS_TTL: Duration = Duration::from_secs(1);

/// The revoked serials as last read, and when that read began.
#[derive(Default)]
pub(super) struct Revocations {
    inner: RwLock<Option<(std::time::Instant, Arc<HashSet<Serial>>)>>,
    /// Serials whose expiry this process has warned of already (one log line each, not one a minute).
    warned: std::sync::Mutex<HashSet<Serial>>,
}

/// The audit record of an operator's certificate command.
fn operator_audit(at: crate::domain::time::Instant, action: AuditAction, detail: String) -> AuditEntry {
    AuditEntry {
        at,
        actor: "operator".to_owned(),
        staff: None,
        action,
        case_id: None,
        referral_id: None,
        legal_basis: "certificate administration".into(),
        detail: AuditDetail::words(detail),
    }
}

impl Hub {
    /// Records a certificate the CA just signed (`hub pki sign`).
    pub async fn record_certificate(&self, cert: &IssuedCertificate) -> HubResult<()> {
        let org = cert.org.as_ref().map_or("unknown", |o| o.as_str());
        let mut tx = self.store.begin().await?;
        if tx.certificate(&cert.serial).await?.is_some() {
            return Err(HubError::AlreadyExists(format!("certificate {} is recorded already", cert.serial)));
        }
        tx.save_certificate(cert).await?;
        let detail = format!("serial {} for {org}", cert.serial);
        tx.append_audit(&operator_audit(self.now(), AuditAction::CertificateSign, detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes the certificate with `serial` (`hub pki revoke`): every replica refuses it from its next
    /// call on. A serial the hub has no record of is revoked all the same (a certificate from before the
    /// hub kept track); revoking twice is refused.
    pub async fn revoke_certificate(&self, serial: &Serial) -> HubResult<IssuedCertificate> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let cert = match tx.certificate(serial).await? {
            Some(mut c) => {
                c.revoke(now).map_err(HubError::FailedPrecondition)?;
                c
            }
            None => IssuedCertificate::revoked_unknown(serial.clone(), now),
        };
        tx.save_certificate(&cert).await?;
        let org = cert.org.as_ref().map_or("unknown", |o| o.as_str());
        let detail = format!("serial {serial} of {org}");
        tx.append_audit(&operator_audit(now, AuditAction::CertificateRevoke, detail)).await?;
        tx.commit().await?;
        // This hub refuses it at once; the others within REVOCATIONS_TTL.
        *self.revocations.inner.write().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(cert)
    }

    /// Every certificate the hub knows, oldest first (`hub pki list`).
    pub async fn certificates(&self) -> HubResult<Vec<IssuedCertificate>> {
        Ok(self.store.begin_read().await?.certificates().await?)
    }

    /// Refuses a call made with a revoked certificate.
    pub(super) async fn check_not_revoked(&self, serial: &Serial) -> HubResult<()> {
        let fresh = {
            let r = self.revocations.inner.read().unwrap_or_else(PoisonError::into_inner);
            r.as_ref().filter(|(at, _)| at.elapsed() < REVOCATIONS_TTL).map(|(_, set)| set.clone())
        };
        let revoked = match fresh {
            Some(set) => set,
            None => {
                let began = std::time::Instant::now();
                let all = self.store.begin_read().await?.certificates().await?;
                let set: Arc<HashSet<Serial>> =
                    Arc::new(all.into_iter().filter(|c| c.revoked_at.is_some()).map(|c| c.serial).collect());
                *self.revocations.inner.write().unwrap_or_else(PoisonError::into_inner) = Some((began, set.clone()));
                set
            }
        };
        if revoked.contains(serial) {
            return Err(HubError::Unauthenticated(format!(
                "the client certificate {serial} was revoked; ask the hub's operator for a new one"
            )));
        }
        Ok(())
    }

    /// Partner certificates in use that expire within [`EXPIRY_WARNING_DAYS`], soonest first. Each one
    /// is logged as a warning the first time this process sees it.
    pub async fn expiring_certificates(&self) -> HubResult<Vec<IssuedCertificate>> {
        let now = self.now();
        let mut soon: Vec<IssuedCertificate> =
            self.certificates().await?.into_iter().filter(|c| c.expires_within(now, EXPIRY_WARNING_DAYS)).collect();
        soon.sort_by_key(|c| c.not_after);
        let mut warned = self.revocations.warned.lock().unwrap_or_else(PoisonError::into_inner);
        for c in &soon {
            if warned.insert(c.serial.clone()) {
                let days = c.not_after.map_or(0, |end| (end.millis() - now.millis()) / 86_400_000);
                let org = c.org.as_ref().map_or("unknown", |o| o.as_str());
                tracing::warn!(serial = %c.serial, org, days, "a partner certificate expires in {days} days; sign a new one (hub pki sign)");
            }
        }
        Ok(soon)
    }
}
