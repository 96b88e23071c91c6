//! Notices: early arrears notices from housing companies (with or without the tenant's consent),
//! court notices recorded by the Fachstelle, the housing company's status view, and triage.

use crate::domain::audit::{AuditAction, AuditDetail};
use std::collections::HashMap;

use super::dashboard::CaseLabel;
use super::{Caller, Hub, HubError, HubResult, Idem, Outcome, Pending, audit};
use crate::domain::case::{Address, Case, CaseDetails, Contact, Person, Rent, StageEntry, Tenancy};
use crate::domain::deadline::{CaseDeadline, for_notice};
use crate::domain::event::Event;
use crate::domain::ids::{CaseId, Cents, OrgId, PersonId};
use crate::domain::matching::{Suggestion, earlier_case, same_tenancy, suggestions};
use crate::domain::notice::{ArrearsData, Notice, NoticeData, NoticeId, TenantContact, key_of};
use crate::domain::referral::ReferralState;
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{
    CompletionResult, DataCategory, EventKind, Gender, HouseholdType, OrgKind, PersonRole, ReferralCategory, RouteIn,
    ThreatStage,
};
use crate::domain::{FieldError, Refusal};
use crate::store::Tx;
use crate::telemetry::metrics;

/// What happened to one submitted notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Submitted {
    /// New notice.
    Accepted,
    /// Existing notice updated (history kept).
    Updated,
    /// Identical to the stored one.
    Unchanged,
}

/// One record of a bulk submission: parsed, or rejected at the edge.
pub type BulkRecord = (String, Result<ArrearsData, FieldError>);

/// Result of one bulk record.
#[derive(Debug, Clone)]
pub struct BulkResult {
    /// The client's reference.
    pub record_ref: String,
    /// What happened, or why it was rejected.
    pub outcome: Result<(Submitted, NoticeId), FieldError>,
}

/// Progress as a reporting housing company may learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Received.
    Received,
    /// Case opened.
    ContactEstablished,
    /// A partner works on it.
    SupportInProgress,
    /// Takeover approved (with OUTCOME consent for the company).
    TakeoverApproved,
    /// Case closed.
    Closed,
}

/// A notice's status for its reporter.
#[derive(Debug, Clone)]
pub struct NoticeStatus {
    /// Notice.
    pub notice: Notice,
    /// Progress.
    pub progress: Progress,
    /// Approved amount (with TakeoverApproved).
    pub amount: Option<Cents>,
    /// Expected payment date (with TakeoverApproved).
    pub payment_date: Option<Day>,
}

/// A notice in triage with its deadlines.
#[derive(Debug, Clone)]
pub struct TriageItem {
    /// The notice.
    pub notice: Notice,
    /// Deadlines computable from it.
    pub deadlines: Vec<CaseDeadline>,
    /// The nearest hard deadline still ahead.
    pub nearest: Option<CaseDeadline>,
}

/// Where a notice goes when it is taken up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TakeUpTarget {
    /// Into the open case of the same tenancy, or a new case when there is none (the API's default).
    #[default]
    SameTenancy,
    /// Into this open case of the caller (a suggestion the caseworker accepted).
    Case(CaseId),
    /// Into a new case, even when an open case of the same tenancy exists (it is another household).
    NewCase,
}

/// One notice on the triage page: its deadlines, and the cases it may belong to.
#[derive(Debug, Clone)]
pub struct NoticeTriage {
    /// The notice and its deadlines.
    pub item: TriageItem,
    /// Cases it may belong to, strongest first, each with the case as the page shows it.
    pub suggestions: Vec<(Suggestion, SuggestedCase)>,
}

/// What the triage page shows of a suggested case: enough to recognise it, nothing more.
#[derive(Debug, Clone)]
pub struct SuggestedCase {
    /// The case and its main tenant's name (none while processing is restricted).
    pub label: CaseLabel,
    /// Opened on.
    pub opened: Day,
    /// Closed on, for a closed case.
    pub closed: Option<Day>,
    /// The tenancy reference.
    pub tenancy_reference: String,
}

/// Deadlines that decide whether a tenancy can still be saved.
const HARD_KINDS: &[&str] =
    &["SCHONFRIST", "HARDSHIP_APPLICATION", "DEFENCE_NOTICE", "RAEUMUNGSFRIST_EXTENSION_REQUEST", "EVICTION_DATE"];

/// Who a notice comes from: a reporting housing company, or the Fachstelle recording a court notice.
struct Origin<'a> {
    reporter: Option<&'a OrgId>,
    recorded_by: Option<&'a OrgId>,
}

/// Records per transaction in a bulk submission: large enough to amortise the commit (fsync),
/// small enough to keep the write lock short.
const BULK_BATCH: usize = 500;

/// A bulk intake (a daily ERP export streamed in): records are stored in transactions of
/// [`BULK_BATCH`] while the rest is still arriving, so a nationwide day of 550,000 notices is never
/// held in memory as a whole. A stream that breaks off keeps the batches already stored; sending the
/// export again is safe, since a notice is keyed by its tenancy and an identical re-send changes nothing.
pub struct BulkIntake<'a> {
    hub: &'a Hub,
    caller: &'a Caller,
    org: OrgId,
    batch: Vec<BulkRecord>,
}

impl BulkIntake<'_> {
    /// Adds a record. When that fills a batch, the batch is stored and its results are returned;
    /// otherwise the answer is empty.
    pub async fn push(&mut self, record: BulkRecord) -> HubResult<Vec<BulkResult>> {
        self.batch.push(record);
        if self.batch.len() < BULK_BATCH {
            return Ok(Vec::new());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BULK_BATCH));
        self.hub.store_bulk_batch(self.caller, &self.org, batch).await
    }

    /// Stores the records not yet stored and returns their results.
    pub async fn finish(self) -> HubResult<Vec<BulkResult>> {
        if self.batch.is_empty() {
            return Ok(Vec::new());
        }
        self.hub.store_bulk_batch(self.caller, &self.org, self.batch).await
    }
}

impl Hub {
    fn housing_company<'a>(&self, caller: &'a Caller) -> HubResult<&'a crate::domain::org::Organisation> {
        let org = caller.org()?;
        if org.kind == OrgKind::HousingCompany {
            Ok(org)
        } else {
            Err(HubError::PermissionDenied("only housing companies submit arrears notices".into()))
        }
    }

    async fn fachstellen(&self, tx: &mut dyn Tx) -> HubResult<Vec<OrgId>> {
        Ok(tx.orgs().await?.into_iter().filter(|o| o.kind == OrgKind::Fachstelle && o.active).map(|o| o.id).collect())
    }

    /// Stores one notice inside `tx`; returns what happened.
    async fn put_notice(
        &self,
        tx: &mut dyn Tx,
        p: &mut Pending,
        origin: Origin<'_>,
        data: NoticeData,
        fachstellen: &[OrgId],
        now: Instant,
    ) -> HubResult<(Submitted, Notice)> {
        let key = key_of(origin.reporter, &data);
        let (what, notice) = match tx.notice_by_key(&key).await? {
            Some(existing) if existing.unchanged_by(&data) => return Ok((Submitted::Unchanged, existing)),
            Some(existing) => (Submitted::Updated, self.update_notice(tx, &origin, existing, data, now).await?),
            None => {
                let notice = new_notice(&origin, data, now);
                tx.insert_notice(&notice).await?;
                (Submitted::Accepted, notice)
            }
        };
        announce(p, &origin, &notice, fachstellen, now);
        Ok((what, notice))
    }

    /// Stores a chunk of a bulk submission inside `tx` with a handful of statements: one look-up of
    /// every key, the changed notices updated one by one (rare in a daily batch), the new ones
    /// inserted at once. The outcome per record is what [`Self::put_notice`] would give record by
    /// record, a key repeated within the chunk included.
    async fn put_notices(
        &self,
        tx: &mut dyn Tx,
        p: &mut Pending,
        reporter: &OrgId,
        chunk: &[BulkRecord],
        fachstellen: &[OrgId],
        now: Instant,
    ) -> HubResult<Vec<BulkResult>> {
        let origin = Origin { reporter: Some(reporter), recorded_by: None };
        let keys: Vec<String> = chunk
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|a| key_of(Some(reporter), &NoticeData::Arrears(a.clone())))
            .collect();
        // Stored notices by key; `fresh` holds the chunk's new ones (by index into `fresh`).
        let mut stored: HashMap<String, Notice> =
            tx.notices_by_keys(&keys).await?.into_iter().map(|n| (n.key(), n)).collect();
        let mut fresh: Vec<Notice> = Vec::new();
        let mut fresh_at: HashMap<String, usize> = HashMap::new();
        let mut results = Vec::with_capacity(chunk.len());
        for (record_ref, parsed) in chunk {
            let data = match parsed {
                Err(e) => {
                    results.push(BulkResult { record_ref: record_ref.clone(), outcome: Err(e.clone()) });
                    continue;
                }
                Ok(a) => NoticeData::Arrears(a.clone()),
            };
            let key = key_of(Some(reporter), &data);
            let (what, notice) = if let Some(&i) = fresh_at.get(&key) {
                // Repeated within the chunk: the first is not stored yet; change it in memory.
                let n = &mut fresh[i];
                if n.data == data {
                    (Submitted::Unchanged, n.clone())
                } else {
                    n.replace(data, now);
                    (Submitted::Updated, n.clone())
                }
            } else if let Some(existing) = stored.get(&key).filter(|n| n.unchanged_by(&data)) {
                (Submitted::Unchanged, existing.clone())
            } else if let Some(existing) = stored.remove(&key) {
                let updated = self.update_notice(tx, &origin, existing, data, now).await?;
                stored.insert(key, updated.clone());
                (Submitted::Updated, updated)
            } else {
                let notice = new_notice(&origin, data, now);
                fresh_at.insert(key, fresh.len());
                fresh.push(notice.clone());
                (Submitted::Accepted, notice)
            };
            if what != Submitted::Unchanged {
                announce(p, &origin, &notice, fachstellen, now);
            }
            results.push(BulkResult { record_ref: record_ref.clone(), outcome: Ok((what, notice.id)) });
        }
        tx.insert_notices(&fresh).await?;
        Ok(results)
    }

    /// Replaces a stored notice's data (history kept); a stage change enters its open case.
    async fn update_notice(
        &self,
        tx: &mut dyn Tx,
        origin: &Origin<'_>,
        mut existing: Notice,
        data: NoticeData,
        now: Instant,
    ) -> HubResult<Notice> {
        let old_stage = existing.stage();
        existing.replace(data, now);
        tx.update_notice(&existing).await?;
        if let Some(case_id) = existing.case_id.clone()
            && existing.stage() != old_stage
            && let Some(mut case) = tx.case(&case_id).await?
            && case.closure.is_none()
        {
            let by = origin.reporter.or(origin.recorded_by).cloned().unwrap_or_else(|| case.owner.clone());
            case.stages.push(stage_of(&existing, by, now.day()));
            tx.update_case(&case).await?;
        }
        Ok(existing)
    }

    /// Submits one arrears notice.
    pub async fn submit_arrears(
        &self,
        caller: &Caller,
        idem: &Idem,
        data: ArrearsData,
    ) -> HubResult<(Submitted, NoticeId)> {
        let org = self.housing_company(caller)?.id.clone();
        let data = data.check(self.today()).inspect_err(|_| metrics::notices(0, 1))?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Notice { notice, submitted }) = self.replay(tx.as_mut(), caller, idem).await? {
            return Ok((submitted, notice));
        }
        let fachstellen = self.fachstellen(tx.as_mut()).await?;
        let mut p = Pending::new();
        let now = self.now();
        let (what, notice) = self
            .put_notice(
                tx.as_mut(),
                &mut p,
                Origin { reporter: Some(&org), recorded_by: None },
                NoticeData::Arrears(data),
                &fachstellen,
                now,
            )
            .await?;
        let out = Outcome::Notice { notice: notice.id.clone(), submitted: what };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        metrics::notices(1, 0);
        Ok((what, notice.id))
    }

    /// Submits many notices. Records rejected at the edge are reported as such; every valid record
    /// is stored, in transactions of [`BULK_BATCH`] records.
    pub async fn submit_arrears_bulk(&self, caller: &Caller, records: Vec<BulkRecord>) -> HubResult<Vec<BulkResult>> {
        let mut intake = self.bulk_intake(caller)?;
        let mut results = Vec::with_capacity(records.len());
        for record in records {
            results.extend(intake.push(record).await?);
        }
        results.extend(intake.finish().await?);
        Ok(results)
    }

    /// A bulk intake for `caller` (a housing company) that stores records while they arrive.
    pub fn bulk_intake<'a>(&'a self, caller: &'a Caller) -> HubResult<BulkIntake<'a>> {
        let org = self.housing_company(caller)?.id.clone();
        Ok(BulkIntake { hub: self, caller, org, batch: Vec::with_capacity(BULK_BATCH) })
    }

    /// Stores one batch of bulk records in one transaction.
    async fn store_bulk_batch(
        &self,
        caller: &Caller,
        org: &OrgId,
        batch: Vec<BulkRecord>,
    ) -> HubResult<Vec<BulkResult>> {
        let today = self.today();
        let batch: Vec<BulkRecord> = batch.into_iter().map(|(r, d)| (r, d.and_then(|d| d.check(today)))).collect();
        let mut tx = self.store.begin().await?;
        let fachstellen = self.fachstellen(tx.as_mut()).await?;
        let mut p = Pending::new();
        let now = self.now();
        let done = self.put_notices(tx.as_mut(), &mut p, org, &batch, &fachstellen, now).await?;
        self.finish(tx, caller, None, None, p).await?;
        let rejected = done.iter().filter(|r| r.outcome.is_err()).count();
        metrics::notices(done.len() - rejected, rejected);
        Ok(done)
    }
    /// The housing company withdraws its early notice of `tenancy_reference`: the arrears were paid.
    /// It leaves the Fachstelle's triage; one already in a case stays there, marked withdrawn, for the
    /// Fachstelle to decide. Every Fachstelle learns of the change like of any change of a notice.
    pub async fn withdraw_notice(&self, caller: &Caller, idem: &Idem, tenancy_reference: &str) -> HubResult<Notice> {
        let org = self.housing_company(caller)?.id.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Notice { notice, .. }) = self.replay(tx.as_mut(), caller, idem).await? {
            return tx.notice(&notice).await?.ok_or(HubError::NotFound("notice"));
        }
        let reference = tenancy_reference.trim();
        let mut notice = tx
            .notices_of_reporter(&org)
            .await?
            .into_iter()
            .find(|n| matches!(&n.data, NoticeData::Arrears(a) if a.tenancy_reference == reference))
            .ok_or(HubError::NotFound("notice"))?;
        let now = self.now();
        notice.withdraw(now).map_err(HubError::FailedPrecondition)?;
        tx.update_notice(&notice).await?;
        let fachstellen = self.fachstellen(tx.as_mut()).await?;
        let mut p = Pending::new();
        let origin = Origin { reporter: Some(&org), recorded_by: None };
        announce(&mut p, &origin, &notice, &fachstellen, now);
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::NoticeWithdraw,
            notice.case_id.as_ref(),
            None,
            "reporter".into(),
            AuditDetail::object(&notice.id),
        ));
        let out = Outcome::Notice { notice: notice.id.clone(), submitted: Submitted::Updated };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok(notice)
    }

    /// The caller's notices with what it may learn about them.
    pub async fn notice_statuses(&self, caller: &Caller, refs: &[String]) -> HubResult<Vec<NoticeStatus>> {
        let org = self.housing_company(caller)?.id.clone();
        let mut tx = self.store.begin_read().await?;
        let today = self.today();
        let mut out = Vec::new();
        for notice in tx.notices_of_reporter(&org).await? {
            let NoticeData::Arrears(a) = &notice.data else { continue };
            if !refs.is_empty() && !refs.contains(&a.tenancy_reference) {
                continue;
            }
            let mut status =
                NoticeStatus { notice: notice.clone(), progress: Progress::Received, amount: None, payment_date: None };
            if let Some(case_id) = &notice.case_id
                && let Some(case) = tx.case(case_id).await?
            {
                status.progress = Progress::ContactEstablished;
                let referrals = tx.referrals_of_case(case_id).await?;
                let working = referrals.iter().any(|r| {
                    matches!(
                        r.state,
                        ReferralState::Accepted
                            | ReferralState::InProgress
                            | ReferralState::OnHold
                            | ReferralState::Completed
                    )
                });
                if working {
                    status.progress = Progress::SupportInProgress;
                }
                let consents = tx.consents_of_case(case_id).await?;
                let may_learn = consents.iter().any(|c| c.covers(&org, DataCategory::Outcome, today));
                let approved = referrals.iter().find_map(|r| {
                    let takeover = matches!(
                        r.category,
                        ReferralCategory::RentDebtTakeoverSgb2 | ReferralCategory::RentDebtTakeoverSgb12
                    );
                    let c = r.completion.as_ref()?;
                    let ok = matches!(c.result, CompletionResult::ApprovedLoan | CompletionResult::ApprovedGrant);
                    (takeover && ok && r.state == ReferralState::Completed).then_some(c.clone())
                });
                if let (true, Some(c)) = (may_learn, approved) {
                    status.progress = Progress::TakeoverApproved;
                    status.amount = c.amount;
                    status.payment_date = c.effective_date;
                }
                if case.closure.is_some() {
                    status.progress = Progress::Closed;
                }
            }
            out.push(status);
        }
        Ok(out)
    }

    /// Records a court notice. An open case of the same tenancy is updated at once.
    pub async fn record_court_notice(
        &self,
        caller: &Caller,
        idem: &Idem,
        data: crate::domain::notice::CourtData,
    ) -> HubResult<(Submitted, NoticeId, Option<CaseId>)> {
        let org = caller.fachstelle("record court notices")?.id.clone();
        let data = data.check(self.today())?;
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::Court { notice, submitted, case }) = self.replay(tx.as_mut(), caller, idem).await? {
            return Ok((submitted, notice, case));
        }
        if let Some(l) = &data.landlord_org
            && tx.org(l).await?.is_none()
        {
            return Err(FieldError::new("landlord_organisation_id", "is not a registered organisation").into());
        }
        let now = self.now();
        let mut p = Pending::new();
        let (what, mut notice) = self
            .put_notice(
                tx.as_mut(),
                &mut p,
                Origin { reporter: None, recorded_by: Some(&org) },
                NoticeData::Court(data.clone()),
                std::slice::from_ref(&org),
                now,
            )
            .await?;
        let mut linked = notice.case_id.clone();
        if linked.is_none() && !data.tenancy_reference.is_empty() {
            let same = tx.cases().await?.into_iter().find(|c| {
                c.owner == org
                    && c.closure.is_none()
                    && c.details.tenancy.reference == data.tenancy_reference
                    && (data.landlord_org.is_none() || c.details.tenancy.landlord == data.landlord_org)
            });
            if let Some(mut case) = same {
                for s in court_stages(&notice, &org) {
                    case.stages.push(s);
                }
                case.notice_ids.push(notice.id.clone());
                tx.update_case(&case).await?;
                notice.case_id = Some(case.id.clone());
                tx.update_notice(&notice).await?;
                linked = Some(case.id.clone());
            }
        }
        let out = Outcome::Court { notice: notice.id.clone(), submitted: what, case: linked.clone() };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok((what, notice.id, linked))
    }

    /// Open notices, most urgent first. Audited: the list shows names where the notice carries them.
    pub async fn open_notices(&self, caller: &Caller, limit: usize) -> HubResult<Vec<TriageItem>> {
        caller.fachstelle("triage notices")?;
        let mut tx = self.store.begin().await?;
        let today = self.today();
        let mut items: Vec<TriageItem> = tx
            .open_notices()
            .await?
            .into_iter()
            // A withdrawn notice (arrears paid) needs no triage.
            .filter(|notice| notice.withdrawn_at.is_none())
            .map(|notice| {
                let deadlines = for_notice(&notice, notice.received_at.day());
                let nearest = nearest_hard(&deadlines, today);
                TriageItem { notice, deadlines, nearest }
            })
            .collect();
        items.sort_by(|a, b| {
            let key = |i: &TriageItem| {
                (
                    i.nearest.as_ref().map_or(Day::parse("9999-12-31").ok(), |d| Some(d.date)),
                    std::cmp::Reverse(i.notice.stage()),
                )
            };
            key(a).cmp(&key(b)).then(a.notice.received_at.cmp(&b.notice.received_at))
        });
        items.truncate(limit);
        let mut p = Pending::new();
        let named = items.iter().filter(|i| i.notice.identifies_tenant()).count();
        if named > 0 {
            p.audit.push(audit(
                &caller.actor(),
                self.now(),
                AuditAction::NoticeList,
                None,
                None,
                "consent or statute per notice".into(),
                AuditDetail::Count { n: named as u64, of: "notices with names".into() },
            ));
        }
        self.finish(tx, caller, None, None, p).await?;
        Ok(items)
    }

    /// One notice for triage, with the cases it may belong to (see [`crate::domain::matching`]).
    /// Audited: the notice (names where it carries them) and each suggested case's name.
    pub async fn notice_triage(&self, caller: &Caller, id: &NoticeId) -> HubResult<NoticeTriage> {
        let org = caller.fachstelle("triage notices")?.clone();
        let mut tx = self.store.begin().await?;
        let notice = tx.notice(id).await?.ok_or(HubError::NotFound("notice"))?;
        if notice.case_id.is_some() {
            return Err(HubError::FailedPrecondition(Refusal::new(
                "the notice was already taken up",
                "Diese Meldung ist schon einem Fall zugeordnet.",
            )));
        }
        let cases = tx.cases().await?;
        let found = suggestions(&notice, &cases, &org.id);
        let now = self.now();
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::NoticeRead,
            None,
            None,
            "consent or statute per notice".into(),
            AuditDetail::object(&notice.id),
        ));
        let mut shown = Vec::with_capacity(found.len());
        for s in found {
            let Some(case) = cases.iter().find(|c| c.id == s.case_id) else { continue };
            let label = CaseLabel::of(case);
            p.audit.push(audit(
                &caller.actor(),
                now,
                AuditAction::DashboardView,
                Some(&case.id),
                None,
                "owner".into(),
                AuditDetail::Listed {
                    page: "Sichtung".into(),
                    shown: if label.named() { vec!["name".into()] } else { vec![] },
                },
            ));
            let closed = case.closure.as_ref().map(|c| c.at.day());
            let detail = SuggestedCase {
                label,
                opened: case.opened_at.day(),
                closed,
                tenancy_reference: case.details.tenancy.reference.clone(),
            };
            shown.push((s, detail));
        }
        self.finish(tx, caller, None, None, p).await?;
        let deadlines = for_notice(&notice, notice.received_at.day());
        let today = self.today();
        let nearest = nearest_hard(&deadlines, today);
        Ok(NoticeTriage { item: TriageItem { notice, deadlines, nearest }, suggestions: shown })
    }

    /// Takes a notice up into a case: by default links it to the open case of the same tenancy, or
    /// opens one (from `details`, or built from the notice); `target` lets the caseworker choose a
    /// suggested case or a new one. The suggestions not chosen are recorded in the audit as declined.
    pub async fn take_up_notice(
        &self,
        caller: &Caller,
        idem: &Idem,
        id: &NoticeId,
        details: Option<CaseDetails>,
        target: TakeUpTarget,
    ) -> HubResult<(Case, bool)> {
        let org = caller.fachstelle("take up notices")?.clone();
        let mut tx = self.store.begin().await?;
        if let Some(Outcome::TakenUp { case, linked }) = self.replay(tx.as_mut(), caller, idem).await? {
            return Ok((self.owned_case(tx.as_mut(), &org.id, &case).await?, linked));
        }
        let mut notice = tx.notice(id).await?.ok_or(HubError::NotFound("notice"))?;
        if notice.case_id.is_some() {
            return Err(HubError::FailedPrecondition("the notice was already taken up".into()));
        }
        if notice.withdrawn_at.is_some() {
            return Err(withdrawn());
        }
        let now = self.now();
        let cases = tx.cases().await?;
        let offered = suggestions(&notice, &cases, &org.id);
        let existing = match &target {
            TakeUpTarget::SameTenancy => {
                cases.iter().find(|c| c.owner == org.id && c.closure.is_none() && same_tenancy(&notice, c)).cloned()
            }
            TakeUpTarget::NewCase => None,
            TakeUpTarget::Case(wanted) => {
                let case = cases
                    .iter()
                    .find(|c| &c.id == wanted && c.owner == org.id)
                    .cloned()
                    .ok_or(HubError::NotFound("case"))?;
                if case.closure.is_some() {
                    return Err(HubError::FailedPrecondition(Refusal::new(
                        "the case is closed: a notice is taken up into an open case or a new one",
                        "Dieser Fall ist abgeschlossen. Eine neue Meldung kommt in einen offenen oder einen \
                             neuen Fall.",
                    )));
                }
                Some(case)
            }
        };
        let stages = match &notice.data {
            NoticeData::Arrears(_) => {
                vec![stage_of(&notice, notice.reporter.clone().unwrap_or(org.id.clone()), now.day())]
            }
            NoticeData::Court(_) => court_stages(&notice, &org.id),
        };
        let mut p = Pending::new();
        let (case, linked) = match existing {
            Some(mut case) => {
                case.stages.extend(stages);
                case.notice_ids.push(notice.id.clone());
                tx.update_case(&case).await?;
                (case, true)
            }
            None => {
                let details = match details {
                    Some(d) => d.check(now.day()).map_err(|e| e.within("details"))?,
                    None => details_from_notice(&notice)?,
                };
                self.check_landlord(tx.as_mut(), &details).await?;
                let repeat_of = earlier_case(&details, &cases, &org.id).map(|c| c.id.clone());
                let mut case = Case::open(org.id.clone(), details, stages, vec![notice.id.clone()], now);
                case.repeat_of = repeat_of;
                tx.insert_case(&case).await?;
                p.events.push(Event {
                    notice_id: Some(notice.id.clone()),
                    ..Event::new(&org.id, EventKind::CaseOpened, &case.id, org.id.as_str(), now)
                });
                (case, false)
            }
        };
        notice.case_id = Some(case.id.clone());
        notice.updated_at = now;
        tx.update_notice(&notice).await?;
        let declined = offered.iter().filter(|s| s.case_id != case.id).map(|s| s.case_id.to_string()).collect();
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::NoticeTakeUp,
            Some(&case.id),
            None,
            "owner".into(),
            AuditDetail::TakenUp { notice: notice.id.to_string(), linked, declined },
        ));
        let out = Outcome::TakenUp { case: case.id.clone(), linked };
        self.finish(tx, caller, Some(idem), Some(&out), p).await?;
        Ok((case, linked))
    }
}

/// The nearest hard deadline still ahead of `today`.
fn nearest_hard(deadlines: &[CaseDeadline], today: Day) -> Option<CaseDeadline> {
    deadlines
        .iter()
        .filter(|d| HARD_KINDS.contains(&d.kind.as_str()) && d.date >= today)
        .min_by_key(|d| d.date)
        .cloned()
}

/// Placeholder case id for events about notices not yet in a case (the nil UUID).
/// A new notice from `origin`, not yet taken up.
fn new_notice(origin: &Origin<'_>, data: NoticeData, now: Instant) -> Notice {
    Notice {
        id: NoticeId::new(),
        reporter: origin.reporter.cloned(),
        recorded_by: origin.recorded_by.cloned(),
        data,
        history: vec![],
        case_id: None,
        withdrawn_at: None,
        received_at: now,
        updated_at: now,
    }
}

/// The events (one per Fachstelle) and the audit record of a stored or changed notice.
fn announce(p: &mut Pending, origin: &Origin<'_>, notice: &Notice, fachstellen: &[OrgId], now: Instant) {
    let from = origin.reporter.or(origin.recorded_by);
    let actor: String = from.map(ToString::to_string).unwrap_or_else(|| "court".into());
    let case_id = notice.case_id.clone().unwrap_or_else(nil_case);
    for f in fachstellen {
        p.events.push(Event {
            notice_id: Some(notice.id.clone()),
            ..Event::new(f, EventKind::NoticeReceived, &case_id, &actor, now)
        });
    }
    let basis = if notice.identifies_tenant() {
        match &notice.data {
            NoticeData::Arrears(a) => format!("consent:{}", a.consent_evidence.clone().unwrap_or_default()),
            NoticeData::Court(_) => "statute:§22 Abs. 9 SGB II".into(),
        }
    } else {
        "pseudonymous".into()
    };
    let actor = match from {
        Some(o) => crate::domain::ids::Actor::Org { org: o.clone(), staff: None },
        None => crate::domain::ids::Actor::Hub,
    };
    p.audit.push(audit(
        &actor,
        now,
        AuditAction::NoticeWrite,
        notice.case_id.as_ref(),
        None,
        basis,
        AuditDetail::object(&notice.id),
    ));
}

fn nil_case() -> CaseId {
    CaseId::parse("00000000-0000-0000-0000-000000000000").unwrap_or_else(|_| CaseId::new())
}

fn stage_of(notice: &Notice, by: OrgId, today: Day) -> StageEntry {
    let (stage, date, end, source) = match &notice.data {
        NoticeData::Arrears(a) => {
            let end = match a.stage {
                ThreatStage::Raeumungstermin => a.eviction_date,
                _ => None,
            };
            // Who reported it is `recorded_by`; the source is read by people and names no id.
            (a.stage, a.effective_stage_date(notice.received_at.day()), end, crate::labels::ARREARS_NOTICE.to_owned())
        }
        NoticeData::Court(c) => (
            notice.stage(),
            c.claim_served.unwrap_or(c.claim_received),
            None,
            format!("Mitteilung des Gerichts {}", c.court_file_number),
        ),
    };
    StageEntry { stage, date: date.min(today), end_date: end, source, recorded_by: by }
}

fn court_stages(notice: &Notice, by: &OrgId) -> Vec<StageEntry> {
    let NoticeData::Court(c) = &notice.data else { return vec![] };
    let mut out = vec![StageEntry {
        stage: ThreatStage::KlageEingereicht,
        date: c.claim_received,
        end_date: None,
        source: format!("Mitteilung des Gerichts {}", c.court_file_number),
        recorded_by: by.clone(),
    }];
    if let Some(served) = c.claim_served {
        out.push(StageEntry {
            stage: ThreatStage::Rechtshaengig,
            date: served,
            end_date: None,
            source: format!("Zustellung laut Gericht {}", c.court_file_number),
            recorded_by: by.clone(),
        });
    }
    out
}

fn person_from(t: &TenantContact, role: PersonRole) -> Option<Person> {
    (!t.family_name.is_empty()).then(|| Person {
        id: PersonId::new(),
        role,
        given_name: if t.given_name.is_empty() { "-".into() } else { t.given_name.clone() },
        family_name: t.family_name.clone(),
        gender: Gender::Undisclosed,
        birth_year: None,
    })
}

fn details_from_notice(notice: &Notice) -> HubResult<CaseDetails> {
    let need = |what: &str, was: &str| {
        HubError::FailedPrecondition(Refusal::new(
            format!("the notice has no {what}; send the household details with the request"),
            format!("In der Meldung fehlt {was}. Ohne diese Angabe lässt sich kein Fall eröffnen."),
        ))
    };
    let (tenants, stadtbezirk, rent, arrears, reference, landlord, route) = match &notice.data {
        NoticeData::Arrears(a) => {
            let t = a.tenant.clone().filter(|_| a.consent_evidence.is_some()).ok_or_else(|| {
                need(
                    "tenant name (it came without consent)",
                    "der Name der Mieterin oder des Mieters (gemeldet ohne Einwilligung)",
                )
            })?;
            (
                vec![t],
                Some(a.stadtbezirk),
                a.rent,
                a.arrears_total,
                a.tenancy_reference.clone(),
                notice.reporter.clone(),
                RouteIn::HousingCompanyNotice,
            )
        }
        NoticeData::Court(c) => (
            c.tenants.clone(),
            c.stadtbezirk,
            Rent { base: c.monthly_rent, ..Rent::default() },
            c.arrears_claimed,
            c.tenancy_reference.clone(),
            c.landlord_org.clone(),
            RouteIn::CourtNotice,
        ),
    };
    let first = tenants.first().ok_or_else(|| need("tenant", "die Mieterin oder der Mieter"))?;
    let mut persons: Vec<Person> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        let role = if i == 0 { PersonRole::MainTenant } else { PersonRole::CoTenant };
        persons.push(person_from(t, role).ok_or_else(|| need("tenant name", "ein vollständiger Name"))?);
    }
    if first.street.is_empty() || first.postal_code.len() != 5 || first.city.is_empty() {
        return Err(need("complete address", "die vollständige Anschrift"));
    }
    Ok(CaseDetails {
        persons,
        address: Address {
            street: first.street.clone(),
            house_number: if first.house_number.is_empty() { "-".into() } else { first.house_number.clone() },
            postal_code: first.postal_code.clone(),
            city: first.city.clone(),
        },
        contact: Contact { phone: first.phone.clone(), email: first.email.clone() },
        stadtbezirk: stadtbezirk.ok_or_else(|| need("Stadtbezirk", "der Stadtbezirk"))?,
        tenancy: Tenancy { landlord, reference, start: None, rent },
        arrears,
        route_in: route,
        schutzsperre: false,
        household_type: HouseholdType::Other,
        income_benefits_note: String::new(),
        health_note: String::new(),
        counselling_note: String::new(),
    })
}

/// The refusal to take up a notice its housing company withdrew.
fn withdrawn() -> HubError {
    HubError::FailedPrecondition(Refusal::new(
        "the housing company withdrew the notice (the arrears were paid)",
        "Das Wohnungsunternehmen hat die Meldung zurückgezogen: Der Rückstand ist beglichen.",
    ))
}
