//! Consents: recorded by the Fachstelle; revocation and expiry stop every further disclosure at
//! once and tell every earlier recipient (Art. 7(3), Art. 19 GDPR).

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::FieldError;
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::consent::{Consent, ConsentDraft, REPLACES};
use crate::domain::data_request::DataRequestCause;
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, ConsentId, OrgId, ReferralId};
use crate::domain::time::Instant;
use crate::domain::vocab::{ConsentStatus, DataCategory, EventKind, ReasonCode};
use crate::store::Tx;

/// A consent as the Fachstelle records it: the case and the draft the domain checks ([`Consent::record`]).
#[derive(Debug, Clone)]
pub struct NewConsent {
    /// Case.
    pub case_id: CaseId,
    /// What the consent says.
    pub draft: ConsentDraft,
    /// The consent in force this one amends or renews, if it is a new version.
    pub replaces: Option<ConsentId>,
}

/// What a revocation did.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// The consent after revocation.
    pub consent: Consent,
    /// Referrals cancelled because they relied on it.
    pub cancelled: Vec<ReferralId>,
    /// Organisations told to delete what they hold.
    pub notified: Vec<OrgId>,
}

impl Hub {
    /// Records a consent.
    pub async fn record_consent(&self, caller: &Caller, idem: &Idem, new: NewConsent) -> HubResult<Consent> {
        let org = caller.fachstelle("record consent")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Consent(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.consent(&id).await?.ok_or(HubError::NotFound("consent"));
        }
        let case = self.owned_case(tx.as_mut(), &org.id, &new.case_id).await?;
        if case.closure.is_some() {
            return Err(HubError::FailedPrecondition(super::referrals::case_closed()));
        }
        let mut recipients = Vec::with_capacity(new.draft.recipients.len());
        for (i, r) in new.draft.recipients.iter().enumerate() {
            let found = tx.org(r).await?.ok_or_else(|| {
                FieldError::new(format!("recipient_organisation_ids[{i}]"), "is not a registered organisation")
            })?;
            recipients.push(found);
        }
        let now = self.now();
        let previous = match &new.replaces {
            // A consent of another organisation's case reads as unknown, like everywhere.
            Some(id) => Some(tx.consent(id).await?.filter(|c| c.case_id == case.id).ok_or_else(|| {
                FieldError::new(REPLACES, "is not a consent of this case")
                    .de("Diese Einwilligung gehört nicht zu diesem Fall.")
            })?),
            None => None,
        };
        let mut consent = match &previous {
            Some(old) => Consent::amend(old, &case, &recipients, new.draft, now)?,
            None => Consent::record(&case, &recipients, new.draft, now)?,
        };
        consent.recorded_by = Some(caller.actor());
        tx.insert_consent(&consent).await?;
        // Open referrals rest on the household's current consent too (a renewal keeps them alive).
        for mut r in tx.referrals_of_case(&case.id).await? {
            if !r.adopt_consent(&consent, now.day()).is_empty() {
                r.updated_at = now;
                tx.update_referral(&r).await?;
            }
        }
        let mut p = Pending::new();
        if let Some(mut old) = previous {
            old.end(ConsentStatus::Superseded, now, caller.actor());
            tx.update_consent(&old).await?;
            self.end_consent(tx.as_mut(), &mut p, &old, &org.id, EventKind::ConsentRevoked, now, Some(&consent))
                .await?;
        }
        p.events.push(consent_event(&org.id, EventKind::ConsentRecorded, &consent, caller.actor().id(), now, vec![]));
        let detail = match &consent.replaces {
            Some(old) => AuditDetail::Replaces { id: consent.id.to_string(), replaced: old.to_string() },
            None => AuditDetail::object(&consent.id),
        };
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::ConsentRecord,
            Some(&case.id),
            None,
            "owner".into(),
            detail,
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Consent(consent.id.clone())), p).await?;
        Ok(consent)
    }

    /// Revokes a consent.
    pub async fn revoke_consent(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &ConsentId,
        note: String,
    ) -> HubResult<Revocation> {
        let org = caller.fachstelle("revoke consent")?;
        let note = crate::domain::ids::text(&note, 0, 1000).map_err(|e| e.within("note"))?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Revoked { consent, cancelled, notified }) = self.replay(tx.as_mut(), caller, idem).await? {
            let consent = tx.consent(&consent).await?.ok_or(HubError::NotFound("consent"))?;
            return Ok(Revocation { consent, cancelled, notified });
        }
        let mut consent = tx.consent(id).await?.ok_or(HubError::NotFound("consent"))?;
        self.owned_case(tx.as_mut(), &org.id, &consent.case_id).await.map_err(|_| HubError::NotFound("consent"))?;
        if consent.status != ConsentStatus::Active {
            return Err(HubError::FailedPrecondition(format!("the consent is already {}", consent.status).into()));
        }
        let now = self.now();
        consent.end(ConsentStatus::Revoked, now, caller.actor());
        tx.update_consent(&consent).await?;
        let mut p = Pending::new();
        let (cancelled, notified) =
            self.end_consent(tx.as_mut(), &mut p, &consent, &org.id, EventKind::ConsentRevoked, now, None).await?;
        let detail = AuditDetail::Object { id: consent.id.to_string(), note: (!note.is_empty()).then(|| note.clone()) };
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::ConsentRevoke,
            Some(&consent.case_id),
            None,
            "owner".into(),
            detail,
        ));
        let out =
            Outcome::Revoked { consent: consent.id.clone(), cancelled: cancelled.clone(), notified: notified.clone() };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok(Revocation { consent, cancelled, notified })
    }

    /// Lists the consents of a case, with expiry applied as of today.
    pub async fn list_consents(&self, caller: &Caller, case_id: &CaseId) -> HubResult<Vec<Consent>> {
        let org = caller.fachstelle("read consents")?;
        let mut tx = self.store.begin_read().await?;
        self.owned_case(tx.as_mut(), &org.id, case_id).await?;
        let today = self.today();
        Ok(tx
            .consents_of_case(case_id)
            .await?
            .into_iter()
            .map(|mut c| {
                c.status = c.effective_status(today);
                c
            })
            .collect())
    }

    /// Consequences of a consent ending (revoked, expired or replaced by `successor`), inside the
    /// caller's transaction: every recipient that received data under it is told to delete what it may
    /// no longer have (with a successor: only what the new version does not cover), and open referrals
    /// follow the one rule of [`crate::domain::referral::Referral::survives_basis_loss`] (kept without
    /// the lost categories, or cancelled).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn end_consent(
        &self,
        tx: &mut dyn Tx,
        p: &mut Pending,
        consent: &Consent,
        owner: &OrgId,
        kind: EventKind,
        now: Instant,
        successor: Option<&Consent>,
    ) -> HubResult<(Vec<ReferralId>, Vec<OrgId>)> {
        let reason =
            if kind == EventKind::ConsentExpired { ReasonCode::ConsentExpired } else { ReasonCode::ConsentRevoked };
        let consents = tx.consents_of_case(&consent.case_id).await?;
        let today = now.day();
        let mut cancelled = Vec::new();
        let mut notified: Vec<OrgId> = Vec::new();
        for mut r in tx.referrals_of_case(&consent.case_id).await? {
            let mut used: Vec<DataCategory> =
                r.disclosures.iter().filter(|d| d.uses(&consent.id)).map(|d| d.category).collect();
            if let Some(next) = successor {
                used = consent.dropped_by(next, &r.recipient, &used, today);
            }
            if used.is_empty() {
                continue;
            }
            p.events.push(consent_event(&r.recipient, kind, consent, "hub", now, used.clone()));
            let cause = if kind == EventKind::ConsentExpired {
                DataRequestCause::ConsentExpired
            } else {
                DataRequestCause::ConsentRevoked
            };
            p.ask_recipient(&self.sla, cause, &r, used.clone(), now);
            if !notified.contains(&r.recipient) {
                notified.push(r.recipient.clone());
            }
            if r.state.is_open() && !r.survives_basis_loss(&consents, today) {
                r.cancel_by_hub(reason, "Rechtsgrundlage für die Datenübermittlung entfallen", now);
                tx.update_referral(&r).await?;
                for aud in [&r.sender, &r.recipient] {
                    p.events.push(Event {
                        consent_id: Some(consent.id.clone()),
                        ..Event::about_referral(aud, EventKind::ReferralStateChanged, &r, "hub", now)
                            .with_reason(Some(reason))
                    });
                }
                cancelled.push(r.id.clone());
            }
        }
        if successor.is_none() {
            // A replaced version is announced to the owner by the new version's CONSENT_RECORDED.
            p.events.push(consent_event(owner, kind, consent, "hub", now, consent.categories.clone()));
        }
        Ok((cancelled, notified))
    }
}

fn consent_event(
    audience: &OrgId,
    kind: EventKind,
    consent: &Consent,
    actor: &str,
    at: Instant,
    categories: Vec<DataCategory>,
) -> Event {
    Event {
        consent_id: Some(consent.id.clone()),
        categories,
        ..Event::new(audience, kind, &consent.case_id, actor, at)
    }
}
