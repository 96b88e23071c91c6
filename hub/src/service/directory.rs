//! Directory administration (operator) and reading (everyone authenticated).
//!
//! # The directory in memory
//!
//! Every call looks its caller's organisation up ([`Hub::authenticate`]), so the hub keeps the
//! organisations it has read in memory ([`OrgCache`]) instead of asking the store each time. An
//! entry is trusted for [`DIRECTORY_TTL`] after the read that produced it began; then the next call
//! reads the organisation again. A directory write through this hub (register, update, deactivate,
//! reactivate) replaces the entry as soon as it has committed, so on one hub a deactivation takes
//! effect with the next call. A write through *another* replica on the same database reaches this
//! one within [`DIRECTORY_TTL`] (1 s): for at most that long a deactivated organisation can still be
//! served by a replica that did not make the change.

use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::org::CategoryCapacity;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::ids::OrgId;
use crate::domain::org::{OrgSpec, Organisation};
use crate::domain::vocab::OrgKind;
use crate::store::StoreError;

/// How long an organisation read from the store is trusted: the bound on how late a directory change
/// made through another replica takes effect here.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(1);

/// Entries kept at most (unknown ids are remembered too; the bound only stops growth without limit).
const CACHE_MAX: usize = 65_536;

/// Organisations by id as last read (`None`: not registered), with when that read began.
#[derive(Default)]
pub(super) struct OrgCache {
    inner: RwLock<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    /// Bumped by every write through this hub, so a read that began before a write cannot put the
    /// older state back after it.
    generation: u64,
    orgs: HashMap<OrgId, (std::time::Instant, Option<Organisation>)>,
}

impl OrgCache {
    /// The organisation, from memory if read less than [`DIRECTORY_TTL`] ago, else from `read`.
    pub(super) async fn get<F, R>(&self, id: &OrgId, read: R) -> Result<Option<Organisation>, StoreError>
    where
        R: FnOnce() -> F,
        F: Future<Output = Result<Option<Organisation>, StoreError>>,
    {
        let generation = {
            let c = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, org)) = c.orgs.get(id)
                && at.elapsed() < DIRECTORY_TTL
            {
                return Ok(org.clone());
            }
            c.generation
        };
        let began = std::time::Instant::now();
        let org = read().await?;
        let mut c = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if c.generation == generation {
            if c.orgs.len() >= CACHE_MAX {
                c.orgs.clear();
            }
            c.orgs.insert(id.clone(), (began, org.clone()));
        }
        Ok(org)
    }

    /// Puts the state a committed directory write left.
    pub(super) fn put(&self, org: &Organisation) {
        let mut c = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        c.generation += 1;
        c.orgs.insert(org.id.clone(), (std::time::Instant::now(), Some(org.clone())));
    }
}

impl Caller {
    fn operator(&self) -> HubResult<()> {
        match self {
            Caller::Operator { .. } => Ok(()),
            Caller::Org { .. } => {
                Err(HubError::PermissionDenied("only the hub operator may change the directory".into()))
            }
        }
    }
}

impl Hub {
    /// Registers an organisation.
    pub async fn register_org(&self, caller: &Caller, idem: &Idem, spec: OrgSpec) -> HubResult<Organisation> {
        caller.operator()?;
        let spec = spec.check().map_err(|e| e.within("organisation"))?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Org(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.org(&id).await?.ok_or(HubError::NotFound("organisation"));
        }
        if tx.org(&spec.id).await?.is_some() {
            return Err(HubError::AlreadyExists(format!("organisation '{}' is already registered", spec.id)));
        }
        let now = self.now();
        let org = Organisation::register(spec, now);
        tx.insert_org(&org).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::OrgRegister,
            None,
            None,
            "operator".into(),
            AuditDetail::object(&org.id),
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Org(org.id.clone())), p).await?;
        self.directory.put(&org);
        tracing::info!(org = %org.id, kind = %org.kind, "organisation registered");
        Ok(org)
    }

    /// Updates an organisation's mutable fields.
    pub async fn update_org(&self, caller: &Caller, idem: &Idem, spec: OrgSpec) -> HubResult<Organisation> {
        caller.operator()?;
        let spec = spec.check().map_err(|e| e.within("organisation"))?;
        let id = spec.id.clone();
        self.change_org(caller, idem, &id, AuditAction::OrgUpdate, move |org, now| {
            org.update(spec, now);
            Ok(())
        })
        .await
    }

    /// The calling organisation states its capacity per category and, when given, its office hours
    /// ([`Organisation::set_capacity`]); only for itself, never the operator.
    pub async fn set_capacity(
        &self,
        caller: &Caller,
        idem: &Idem,
        capacity: Vec<CategoryCapacity>,
        office_hours: Option<String>,
    ) -> HubResult<Organisation> {
        let id = caller.org()?.id.clone();
        self.change_org(caller, idem, &id, AuditAction::OrgCapacity, move |org, now| {
            org.set_capacity(capacity, office_hours, now)?;
            Ok(())
        })
        .await
    }

    /// Activates or deactivates an organisation.
    pub async fn set_org_active(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &OrgId,
        active: bool,
    ) -> HubResult<Organisation> {
        caller.operator()?;
        let action = if active { AuditAction::OrgReactivate } else { AuditAction::OrgDeactivate };
        self.change_org(caller, idem, id, action, move |org, now| {
            if org.active == active {
                let state = if active { "active" } else { "deactivated" };
                return Err(HubError::FailedPrecondition(
                    format!("organisation '{}' is already {state}", org.id).into(),
                ));
            }
            org.active = active;
            org.updated_at = now;
            Ok(())
        })
        .await
    }

    async fn change_org(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &OrgId,
        action: AuditAction,
        change: impl FnOnce(&mut Organisation, crate::domain::time::Instant) -> HubResult<()>,
    ) -> HubResult<Organisation> {
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Org(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.org(&id).await?.ok_or(HubError::NotFound("organisation"));
        }
        let mut org = tx.org(id).await?.ok_or(HubError::NotFound("organisation"))?;
        let now = self.now();
        change(&mut org, now)?;
        tx.update_org(&org).await?;
        let mut p = Pending::new();
        p.audit.push(audit(&caller.actor(), now, action, None, None, "operator".into(), AuditDetail::object(&org.id)));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Org(org.id.clone())), p).await?;
        self.directory.put(&org);
        tracing::info!(org = %org.id, action = action.as_str(), "organisation changed");
        Ok(org)
    }

    /// Reads one organisation (from the directory in memory: at most [`DIRECTORY_TTL`] old when
    /// another replica changed it).
    pub async fn get_org(&self, _caller: &Caller, id: &OrgId) -> HubResult<Organisation> {
        self.org_cached(id).await?.ok_or(HubError::NotFound("organisation"))
    }

    /// One organisation through the directory in memory.
    pub(super) async fn org_cached(&self, id: &OrgId) -> HubResult<Option<Organisation>> {
        Ok(self.directory.get(id, || self.store.org_by_id(id)).await?)
    }

    /// Lists organisations.
    pub async fn list_orgs(
        &self,
        _caller: &Caller,
        kind: Option<OrgKind>,
        include_inactive: bool,
    ) -> HubResult<Vec<Organisation>> {
        let mut tx = self.store.begin_read().await?;
        let orgs = tx.orgs().await?;
        drop(tx);
        Ok(orgs.into_iter().filter(|o| kind.is_none_or(|k| o.kind == k) && (include_inactive || o.active)).collect())
    }
}
