//! Cases: opened, updated, staged and closed by the owning Fachstelle.

use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::FieldError;
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::case::{
    Case, CaseDetails, Closure, OpenItems, Restriction, StageEntry, changed_categories, changed_disclosed_categories,
};
use crate::domain::data_request::DataRequestCause;
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, OrgId, ReferralId};
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{
    CaseOutcome, CaseStatus, ConsentStatus, DataCategory, EventKind, ReasonCode, RescueMeans, ThreatStage,
};
use crate::store::Tx;

/// A stage entry as the caller states it.
#[derive(Debug, Clone)]
pub struct NewStage {
    /// Stage.
    pub stage: ThreatStage,
    /// Date reached.
    pub date: Day,
    /// End date.
    pub end_date: Option<Day>,
    /// Source.
    pub source: String,
}

/// A case in a list.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    /// The case.
    pub case: Case,
    /// Referrals not yet closed.
    pub open_referrals: usize,
}

/// A closure as the Fachstelle asks for it.
#[derive(Debug, Clone)]
pub struct NewClosure {
    /// The outcome.
    pub outcome: CaseOutcome,
    /// Rescue means (with WOHNUNG_ERHALTEN).
    pub rescue_means: Option<RescueMeans>,
    /// Closure note.
    pub note: String,
    /// Close although referrals are open or deadlines running ([`OpenItems`]).
    pub confirm_open_items: bool,
}

/// What a closure did.
#[derive(Debug, Clone)]
pub struct ClosedCase {
    /// The closed case.
    pub case: Case,
    /// Referrals that were open and are cancelled.
    pub cancelled: Vec<ReferralId>,
    /// Consents that were in force and ended with the case.
    pub ended_consents: Vec<crate::domain::ids::ConsentId>,
}

impl Hub {
    /// Loads a case the caller owns; another organisation's case reads as missing.
    pub(super) async fn owned_case(&self, tx: &mut dyn Tx, owner: &OrgId, id: &CaseId) -> HubResult<Case> {
        match tx.case(id).await? {
            Some(c) if &c.owner == owner => Ok(c),
            _ => Err(HubError::NotFound("case")),
        }
    }

    pub(super) async fn check_landlord(&self, tx: &mut dyn Tx, details: &CaseDetails) -> HubResult<()> {
        if let Some(l) = &details.tenancy.landlord
            && tx.org(l).await?.is_none()
        {
            return Err(FieldError::new(
                "details.tenancy.landlord_organisation_id",
                "is not a registered organisation",
            )
            .into());
        }
        Ok(())
    }

    /// A threat stage as recorded: reached by `today`, ending (if at all) after it began, with a source
    /// of 1-500 characters (the court's letter, a phone call).
    fn stage_entry(new: NewStage, by: &OrgId, today: Day) -> HubResult<StageEntry> {
        if new.date > today {
            return Err(FieldError::new("date", "must not be in the future")
                .de("Darf nicht in der Zukunft liegen.")
                .into());
        }
        if new.end_date.is_some_and(|e| e < new.date) {
            return Err(FieldError::new("end_date", "must not be before the date")
                .de("Darf nicht vor dem Datum der Stufe liegen.")
                .into());
        }
        let source = crate::domain::ids::text(&new.source, 1, 500).map_err(|e| e.within("source"))?;
        Ok(StageEntry { stage: new.stage, date: new.date, end_date: new.end_date, source, recorded_by: by.clone() })
    }

    /// Opens a case. Persons get fresh ids.
    pub async fn open_case(
        &self,
        caller: &Caller,
        idem: &Idem,
        details: CaseDetails,
        initial: Option<NewStage>,
    ) -> HubResult<Case> {
        let org = caller.fachstelle("open cases")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &id).await;
        }
        let details = details.check(self.today()).map_err(|e| e.within("details"))?;
        self.check_landlord(tx.as_mut(), &details).await?;
        let now = self.now();
        let stages = match initial {
            Some(s) => vec![Self::stage_entry(s, &org.id, now.day()).map_err(|e| within(e, "initial_stage"))?],
            None => vec![],
        };
        let cases = tx.cases().await?;
        let repeat_of = crate::domain::matching::earlier_case(&details, &cases, &org.id).map(|c| c.id.clone());
        let mut case = Case::open(org.id.clone(), details, stages, vec![], now);
        case.repeat_of = repeat_of;
        tx.insert_case(&case).await?;
        let mut p = Pending::new();
        p.events.push(case_event(&org.id, EventKind::CaseOpened, &case.id, caller, now));
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::CaseOpen,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::Owner { place: "case details".into() },
        ));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        Ok(case)
    }

    /// Replaces the household details. Persons keep the ids the caller sends back; the edge gives
    /// persons sent without an id a fresh one.
    ///
    /// A change of data is a rectification (Art. 16 GDPR): it is audited as `case.rectify` with the
    /// corrected categories ([`changed_categories`]) and the recipients told, and in the same
    /// transaction every organisation that received a corrected category gets CASE_DATA_RECTIFIED
    /// per referral, naming the corrected categories it received (Art. 19 GDPR; email partners by
    /// mail), and the owner gets one naming every corrected category. A request that changes no
    /// category's data is audited as `case.update` and tells no one.
    ///
    /// Art. 16 applies as long as the data is kept, so a closed case (kept until `erase_on`) may be
    /// corrected too; an erased one is gone and reads as missing. A restricted case (Art. 18(1)(a):
    /// often restricted exactly while its accuracy is contested) may be corrected as well: nothing
    /// new is disclosed, since recipients' views stay empty while restricted, but they are told of
    /// the correction all the same.
    pub async fn update_case(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &CaseId,
        details: CaseDetails,
    ) -> HubResult<Case> {
        let org = caller.fachstelle("update cases")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &id).await;
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        let details = details
            .check(self.today())
            .and_then(|d| d.carry_person_ids(&case.details))
            .map_err(|e| e.within("details"))?;
        self.check_landlord(tx.as_mut(), &details).await?;
        let changed = changed_categories(&case.details, &details);
        let disclosed = changed_disclosed_categories(&case.details, &details);
        case.details = details;
        tx.update_case(&case).await?;
        let now = self.now();
        let mut p = Pending::new();
        if changed.is_empty() {
            p.audit.push(audit(
                &caller.actor(),
                now,
                AuditAction::CaseUpdate,
                Some(&case.id),
                None,
                "owner".into(),
                AuditDetail::Corrected { categories: Vec::new(), told: Vec::new() },
            ));
        } else {
            let mut told: Vec<&str> = Vec::new();
            let referrals = tx.referrals_of_case(&case.id).await?;
            for r in &referrals {
                let received: Vec<DataCategory> =
                    disclosed.iter().copied().filter(|c| r.disclosures.iter().any(|d| d.category == *c)).collect();
                if received.is_empty() {
                    continue;
                }
                let mut e =
                    Event::about_referral(&r.recipient, EventKind::CaseDataRectified, r, caller.actor().id(), now);
                e.categories.clone_from(&received);
                p.events.push(e);
                p.ask_recipient(&self.sla, DataRequestCause::DataRectified, r, received, now);
                if !told.contains(&r.recipient.as_str()) {
                    told.push(r.recipient.as_str());
                }
            }
            let mut e = case_event(&org.id, EventKind::CaseDataRectified, &case.id, caller, now);
            e.categories.clone_from(&changed);
            p.events.push(e);
            told.sort_unstable();
            p.audit.push(audit(
                &caller.actor(),
                now,
                AuditAction::CaseRectify,
                Some(&case.id),
                None,
                "Art. 16 GDPR".into(),
                AuditDetail::Corrected {
                    categories: changed.clone(),
                    told: told.into_iter().map(str::to_owned).collect(),
                },
            ));
        }
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        if !changed.is_empty() {
            tracing::info!(case = %case.id, categories = ?changed, "case data rectified");
        }
        Ok(case)
    }

    /// Appends a threat stage.
    pub async fn record_stage(&self, caller: &Caller, idem: &Idem, id: &CaseId, stage: NewStage) -> HubResult<Case> {
        let org = caller.fachstelle("record threat stages")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(id)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &id).await;
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        open(&case)?;
        let now = self.now();
        let entry = Self::stage_entry(stage, &org.id, now.day()).map_err(|e| within(e, "entry"))?;
        let detail = AuditDetail::Stage { stage: entry.stage.to_string() };
        case.stages.push(entry);
        tx.update_case(&case).await?;
        let mut p = Pending::new();
        p.events.push(case_event(&org.id, EventKind::ThreatStageRecorded, &case.id, caller, now));
        p.audit.push(audit(&caller.actor(), now, AuditAction::CaseStage, Some(&case.id), None, "owner".into(), detail));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        Ok(case)
    }

    /// Closes a case: open referrals are cancelled (CASE_CLOSED) and every partner that received a
    /// referral of the case is told.
    pub async fn close_case(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &CaseId,
        close: NewClosure,
    ) -> HubResult<ClosedCase> {
        let org = caller.fachstelle("close cases")?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::CaseClosed { case, cancelled, ended }) = self.replay(tx.as_mut(), caller, idem).await? {
            let case = self.owned_case(tx.as_mut(), &org.id, &case).await?;
            return Ok(ClosedCase { case, cancelled, ended_consents: ended });
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        open(&case)?;
        let now = self.now();
        let referrals = tx.referrals_of_case(&case.id).await?;
        OpenItems::of(&case, &referrals, now.day())
            .confirmed(close.confirm_open_items)
            .map_err(HubError::FailedPrecondition)?;
        case.closure = Some(Closure::new(close.outcome, close.rescue_means, close.note, now)?);
        // §84 SGB X: from now on the case is kept only for its retention period.
        case.erase_on = Some(self.retention.erase_on(close.outcome, now.day()));
        case.follow_ups = crate::domain::casework::follow_ups_after(close.outcome, now.day());
        tx.update_case(&case).await?;
        let mut p = Pending::new();
        let mut cancelled = Vec::new();
        let mut told: Vec<OrgId> = vec![org.id.clone()];
        for mut r in referrals {
            if r.state.is_open() {
                r.cancel_by_hub(ReasonCode::CaseClosed, "Fall abgeschlossen", now);
                tx.update_referral(&r).await?;
                for aud in [&r.sender, &r.recipient] {
                    p.events.push(
                        Event::about_referral(aud, EventKind::ReferralStateChanged, &r, "hub", now)
                            .with_reason(Some(ReasonCode::CaseClosed)),
                    );
                }
                cancelled.push(r.id.clone());
            }
            if !told.contains(&r.recipient) {
                told.push(r.recipient.clone());
            }
        }
        // A consent runs until the case closes at the latest (DOMAIN.md rule 3).
        let mut ended = Vec::new();
        for mut c in tx.consents_of_case(&case.id).await? {
            if c.status == ConsentStatus::Active {
                c.end(ConsentStatus::Ended, now, caller.actor());
                tx.update_consent(&c).await?;
                ended.push(c.id.clone());
            }
        }
        for aud in &told {
            p.events.push(case_event(aud, EventKind::CaseClosed, &case.id, caller, now));
        }
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::CaseClose,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::Closed { outcome: close.outcome.to_string() },
        ));
        let out = Outcome::CaseClosed { case: case.id.clone(), cancelled: cancelled.clone(), ended: ended.clone() };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok(ClosedCase { case, cancelled, ended_consents: ended })
    }

    /// Restricts (`Some(reason)`) or lifts (`None`) the processing of a case's data (Art. 18 GDPR).
    /// While restricted, the data stays stored but no partner sees it and nothing new is disclosed.
    /// Every organisation that received a referral of the case is told, per referral (Art. 19 GDPR).
    pub async fn set_restriction(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &CaseId,
        reason: Option<String>,
    ) -> HubResult<Case> {
        let org = caller.fachstelle("restrict processing")?;
        // Why the household asked: 1-500 characters.
        let reason =
            reason.map(|r| crate::domain::ids::text(&r, 1, 500).map_err(|e| e.within("reason"))).transpose()?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Case(case)) = self.replay(tx.as_mut(), caller, idem).await? {
            return self.owned_case(tx.as_mut(), &org.id, &case).await;
        }
        let mut case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        let now = self.now();
        let (kind, action, detail) = match (&reason, &case.restriction) {
            (Some(_), Some(_)) => {
                return Err(HubError::FailedPrecondition("processing of this case is already restricted".into()));
            }
            (None, None) => {
                return Err(HubError::FailedPrecondition("processing of this case is not restricted".into()));
            }
            (Some(r), None) => (
                EventKind::ProcessingRestricted,
                AuditAction::CaseRestrict,
                AuditDetail::Restricted { reason: r.clone() },
            ),
            (None, Some(_)) => (EventKind::RestrictionLifted, AuditAction::CaseLiftRestriction, AuditDetail::Nothing),
        };
        case.restriction = reason.map(|reason| Restriction { reason, since: now });
        tx.update_case(&case).await?;
        let mut p = Pending::new();
        for r in tx.referrals_of_case(&case.id).await? {
            p.events.push(Event::about_referral(&r.recipient, kind, &r, caller.actor().id(), now));
            if case.restriction.is_some() {
                p.ask_recipient(&self.sla, DataRequestCause::ProcessingRestricted, &r, Vec::new(), now);
            }
        }
        p.events.push(case_event(&org.id, kind, &case.id, caller, now));
        p.audit.push(audit(&caller.actor(), now, action, Some(&case.id), None, "Art. 18 GDPR".into(), detail));
        self.finish(tx, caller, Some(idem), Some(&Outcome::Case(case.id.clone())), p).await?;
        tracing::info!(case = %case.id, restricted = case.restriction.is_some(), "restriction of processing changed");
        Ok(case)
    }

    /// Reads a case. Audited.
    pub async fn get_case(&self, caller: &Caller, id: &CaseId) -> HubResult<Case> {
        let org = caller.fachstelle("read cases")?;
        let mut tx = self.store.begin().await?;
        let case = self.owned_case(tx.as_mut(), &org.id, id).await?;
        self.finish_case_read(tx, caller, &case.id, "case details").await?;
        Ok(case)
    }

    /// Commits `tx` with the audit record of the owning Fachstelle reading `case` (`place` says
    /// where: the API or the dashboard's case page).
    pub(super) async fn finish_case_read(
        &self,
        tx: Box<dyn Tx>,
        caller: &Caller,
        case: &CaseId,
        place: &str,
    ) -> HubResult<()> {
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            self.now(),
            AuditAction::CaseRead,
            Some(case),
            None,
            "owner".into(),
            AuditDetail::Owner { place: place.into() },
        ));
        self.finish(tx, caller, None, None, p).await
    }

    /// Lists the caller's cases, newest first (no personal data in the summary).
    pub async fn list_cases(&self, caller: &Caller, status: Option<CaseStatus>) -> HubResult<Vec<CaseSummary>> {
        let org = caller.fachstelle("list cases")?;
        let mut tx = self.store.begin_read().await?;
        let mut out = Vec::new();
        for case in tx.cases().await? {
            if case.owner != org.id || status.is_some_and(|s| s != case.status()) {
                continue;
            }
            let open_referrals = tx.referrals_of_case(&case.id).await?.iter().filter(|r| r.state.is_open()).count();
            out.push(CaseSummary { case, open_referrals });
        }
        Ok(out)
    }
}

fn open(case: &Case) -> HubResult<()> {
    if case.closure.is_some() {
        return Err(HubError::FailedPrecondition(super::referrals::case_closed()));
    }
    Ok(())
}

fn within(e: HubError, parent: &str) -> HubError {
    match e {
        HubError::Invalid(f) => HubError::Invalid(f.within(parent)),
        other => other,
    }
}

fn case_event(audience: &OrgId, kind: EventKind, case: &CaseId, caller: &Caller, at: Instant) -> Event {
    Event::new(audience, kind, case, caller.actor().id(), at)
}
