//! Directory administration (operator) and reading (everyone authenticated).

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::ids::OrgId;
use crate::domain::org::{OrgSpec, Organisation};
use crate::domain::vocab::OrgKind;

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
        p.audit.push(audit(&caller.actor(), now, "org.register", None, None, "operator".into(), org.id.to_string()));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Org(org.id.clone())), p).await?;
        tracing::info!(org = %org.id, kind = %org.kind, "organisation registered");
        Ok(org)
    }

    /// Updates an organisation's mutable fields.
    pub async fn update_org(&self, caller: &Caller, idem: &Idem, spec: OrgSpec) -> HubResult<Organisation> {
        caller.operator()?;
        let id = spec.id.clone();
        self.change_org(caller, idem, &id, "org.update", move |org, now| {
            org.update(spec, now);
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
        let action = if active { "org.reactivate" } else { "org.deactivate" };
        self.change_org(caller, idem, id, action, move |org, now| {
            if org.active == active {
                let state = if active { "active" } else { "deactivated" };
                return Err(HubError::FailedPrecondition(format!("organisation '{}' is already {state}", org.id)));
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
        action: &str,
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
        p.audit.push(audit(&caller.actor(), now, action, None, None, "operator".into(), org.id.to_string()));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Org(org.id.clone())), p).await?;
        tracing::info!(org = %org.id, action, "organisation changed");
        Ok(org)
    }

    /// Reads one organisation.
    pub async fn get_org(&self, _caller: &Caller, id: &OrgId) -> HubResult<Organisation> {
        self.store.org_by_id(id).await?.ok_or(HubError::NotFound("organisation"))
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
