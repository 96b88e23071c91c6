//! `NoticeService`: conversions of notices at the edge and the service implementation.

use hub_proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert as cv;
use super::services::{Api, idem, invalid};
use crate::domain::FieldError;
use crate::domain::case::Rent;
use crate::domain::ids::{CaseId, Cents};
use crate::domain::notice::{ArrearsData, CourtData, LedgerLine, NoticeId, TenantContact};
use crate::domain::time::Day;
use crate::service::{BulkResult, Progress, Submitted, TakeUpTarget, TriageItem};

/// Most records one bulk stream may carry: a nationwide day is about 550,000; more is a client bug.
const MAX_BULK_RECORDS: usize = 1_000_000;

/// A tenant's contact data as sent; its rules are the domain's ([`TenantContact::check`]).
fn tenant(t: &pb::TenantContact) -> TenantContact {
    TenantContact {
        family_name: t.family_name.clone(),
        given_name: t.given_name.clone(),
        street: t.street.clone(),
        house_number: t.house_number.clone(),
        postal_code: t.postal_code.clone(),
        city: t.city.clone(),
        phone: t.phone.clone(),
        email: t.email.clone(),
    }
}

fn month(s: &str) -> Result<Option<String>, FieldError> {
    if s.is_empty() {
        return Ok(None);
    }
    Day::parse(&format!("{s}-01"))
        .map(|_| Some(s.to_owned()))
        .map_err(|_| FieldError::new("oldest_unpaid_month", "must be of the form YYYY-MM"))
}

/// An arrears notice from proto: only the conversion (enums, amounts, dates, the consent's two fields
/// into one). Its rules are the domain's ([`ArrearsData::check`]), applied by the use case.
pub fn arrears(n: Option<pb::ArrearsNotice>) -> Result<ArrearsData, FieldError> {
    let n = n.ok_or_else(|| FieldError::new("notice", "must be set"))?;
    let rent = n.rent.unwrap_or_default();
    let ledger = n
        .ledger
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let p = format!("ledger[{i}]");
            Ok(LedgerLine {
                due: cv::day(&l.due_date, &format!("{p}.due_date"))?,
                due_amount: cv::cents(l.amount_due_cents, &format!("{p}.amount_due_cents"))?,
                paid: cv::cents(l.amount_paid_cents, &format!("{p}.amount_paid_cents"))?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    let consent_evidence = match (n.tenant_consented, n.consent_evidence.trim()) {
        (true, "") => return Err(FieldError::new("consent_evidence", "is required when tenant_consented is true")),
        (true, e) => Some(e.to_owned()),
        (false, "") => None,
        (false, _) => return Err(FieldError::new("consent_evidence", "is only allowed when tenant_consented is true")),
    };
    Ok(ArrearsData {
        tenancy_reference: n.tenancy_reference,
        stadtbezirk: cv::stadtbezirk(n.stadtbezirk, "stadtbezirk")?,
        rent: Rent {
            base: cv::cents(rent.base_rent_cents, "rent.base_rent_cents")?,
            service_charge_advance: cv::cents(rent.service_charge_advance_cents, "rent.service_charge_advance_cents")?,
            heating_advance: cv::cents(rent.heating_advance_cents, "rent.heating_advance_cents")?,
        },
        ledger,
        arrears_total: cv::cents(n.arrears_total_cents, "arrears_total_cents")?,
        oldest_unpaid_month: month(&n.oldest_unpaid_month)?,
        stage: cv::threat_stage(n.stage, "stage")?,
        stage_date: cv::day_opt(&n.stage_date, "stage_date")?,
        termination_date: cv::day_opt(&n.termination_date, "termination_date")?,
        claim_served: cv::day_opt(&n.claim_served_date, "claim_served_date")?,
        eviction_date: cv::day_opt(&n.eviction_date, "eviction_date")?,
        consent_evidence,
        tenant: n.tenant.as_ref().map(tenant),
        remark: n.remark,
    })
}

/// A court notice from proto: only the conversion; its rules are the domain's ([`CourtData::check`]).
fn court(n: Option<pb::CourtNotice>) -> Result<CourtData, FieldError> {
    let n = n.ok_or_else(|| FieldError::new("notice", "must be set"))?;
    Ok(CourtData {
        court_file_number: n.court_file_number,
        claim_received: cv::day(&n.claim_received_date, "claim_received_date")?,
        claim_served: cv::day_opt(&n.claim_served_date, "claim_served_date")?,
        tenants: n.tenants.iter().map(tenant).collect(),
        landlord_name: n.landlord_name,
        landlord_org: if n.landlord_organisation_id.is_empty() {
            None
        } else {
            Some(cv::org_id(&n.landlord_organisation_id, "landlord_organisation_id")?)
        },
        monthly_rent: cv::cents(n.monthly_rent_cents, "monthly_rent_cents")?,
        arrears_claimed: cv::cents(n.arrears_claimed_cents, "arrears_claimed_cents")?,
        use_compensation: cv::cents(n.use_compensation_cents, "use_compensation_cents")?,
        hearing: cv::day_opt(&n.hearing_date, "hearing_date")?,
        stadtbezirk: cv::optional(n.stadtbezirk, cv::stadtbezirk, "stadtbezirk")?,
        tenancy_reference: n.tenancy_reference,
    })
}

fn outcome_pb(s: Submitted) -> i32 {
    match s {
        Submitted::Accepted => pb::NoticeOutcome::Accepted as i32,
        Submitted::Updated => pb::NoticeOutcome::Updated as i32,
        Submitted::Unchanged => pb::NoticeOutcome::Unchanged as i32,
    }
}

fn result_pb(record_ref: String, r: &Result<(Submitted, NoticeId), FieldError>) -> pb::NoticeResult {
    match r {
        Ok((s, id)) => {
            pb::NoticeResult { record_ref, outcome: outcome_pb(*s), notice_id: id.to_string(), violations: vec![] }
        }
        Err(e) => pb::NoticeResult {
            record_ref,
            outcome: pb::NoticeOutcome::Rejected as i32,
            notice_id: String::new(),
            violations: vec![pb::FieldViolation { field: e.field.clone(), reason: e.reason.clone() }],
        },
    }
}

fn progress_pb(p: Progress) -> i32 {
    match p {
        Progress::Received => pb::NoticeProgress::Received as i32,
        Progress::ContactEstablished => pb::NoticeProgress::ContactEstablished as i32,
        Progress::SupportInProgress => pb::NoticeProgress::SupportInProgress as i32,
        Progress::TakeoverApproved => pb::NoticeProgress::TakeoverApproved as i32,
        Progress::Closed => pb::NoticeProgress::Closed as i32,
    }
}

fn open_notice_pb(i: &TriageItem) -> pb::OpenNotice {
    use crate::domain::notice::NoticeData;
    let n = &i.notice;
    let (source, reported_by, reference, bezirk, name) = match &n.data {
        NoticeData::Arrears(a) => (
            pb::NoticeSource::HousingCompany,
            n.reporter.as_ref().map(ToString::to_string).unwrap_or_default(),
            a.tenancy_reference.clone(),
            Some(a.stadtbezirk),
            a.tenant
                .as_ref()
                .filter(|_| a.consent_evidence.is_some())
                .map(TenantContact::display_name)
                .unwrap_or_default(),
        ),
        NoticeData::Court(c) => (
            pb::NoticeSource::Court,
            "court".to_owned(),
            c.court_file_number.clone(),
            c.stadtbezirk,
            c.tenants.first().map(TenantContact::display_name).unwrap_or_default(),
        ),
    };
    pb::OpenNotice {
        notice_id: n.id.to_string(),
        source: source as i32,
        reported_by,
        reference,
        stadtbezirk: bezirk.map_or(0, cv::bezirk_pb),
        stage: cv::stage_pb(n.stage()),
        arrears_cents: n.arrears().get(),
        consented: n.identifies_tenant(),
        nearest_deadline: i.nearest.as_ref().map(cv::deadline_to_pb),
        deadlines: i.deadlines.iter().map(cv::deadline_to_pb).collect(),
        received_at: cv::ts(n.received_at),
        tenant_name: name,
    }
}

#[tonic::async_trait]
impl pb::notice_service_server::NoticeService for Api {
    async fn submit_arrears_notice(
        &self,
        req: Request<pb::SubmitArrearsNoticeRequest>,
    ) -> Result<Response<pb::SubmitArrearsNoticeResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("SubmitArrearsNotice", &mut m, |m| &mut m.idempotency_key)?;
        let data = arrears(m.notice).map_err(|e| invalid(e.within_notice()))?;
        let (what, id) = self.hub().submit_arrears(&caller, &idem, data).await.map_err(within_notice)?;
        Ok(Response::new(pb::SubmitArrearsNoticeResponse { result: Some(result_pb(String::new(), &Ok((what, id)))) }))
    }

    async fn stream_arrears_notices(
        &self,
        req: Request<Streaming<pb::StreamArrearsNoticesRequest>>,
    ) -> Result<Response<pb::StreamArrearsNoticesResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut stream = req.into_inner();
        // Stored in batches while the stream arrives; only the answers are kept (as their proto form).
        let mut intake = self.hub().bulk_intake(&caller)?;
        let mut answer =
            pb::StreamArrearsNoticesResponse { summary: Some(pb::NoticeSummary::default()), ..Default::default() };
        let mut received = 0_usize;
        while let Some(msg) = stream.next().await {
            let msg = msg?;
            if received >= MAX_BULK_RECORDS {
                return Err(Status::resource_exhausted(format!("at most {MAX_BULK_RECORDS} records per stream")));
            }
            received += 1;
            let record_ref = if msg.record_ref.is_empty() { received.to_string() } else { msg.record_ref };
            let done = intake.push((record_ref, arrears(msg.notice))).await?;
            tally(&mut answer, &done);
        }
        tally(&mut answer, &intake.finish().await?);
        Ok(Response::new(answer))
    }

    async fn list_notice_statuses(
        &self,
        req: Request<pb::ListNoticeStatusesRequest>,
    ) -> Result<Response<pb::ListNoticeStatusesResponse>, Status> {
        let caller = self.caller(&req).await?;
        let statuses = self.hub().notice_statuses(&caller, &req.get_ref().tenancy_references).await?;
        Ok(Response::new(pb::ListNoticeStatusesResponse {
            statuses: statuses
                .iter()
                .map(|s| pb::NoticeStatus {
                    notice_id: s.notice.id.to_string(),
                    tenancy_reference: match &s.notice.data {
                        crate::domain::notice::NoticeData::Arrears(a) => a.tenancy_reference.clone(),
                        crate::domain::notice::NoticeData::Court(c) => c.tenancy_reference.clone(),
                    },
                    progress: progress_pb(s.progress),
                    approved_amount_cents: s.amount.map(Cents::get),
                    expected_payment_date: s.payment_date.map(|d| d.to_string()).unwrap_or_default(),
                    updated_at: cv::ts(s.notice.updated_at),
                    withdrawn_at: s.notice.withdrawn_at.and_then(cv::ts),
                })
                .collect(),
        }))
    }

    async fn withdraw_arrears_notice(
        &self,
        req: Request<pb::WithdrawArrearsNoticeRequest>,
    ) -> Result<Response<pb::WithdrawArrearsNoticeResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("WithdrawArrearsNotice", &mut m, |m| &mut m.idempotency_key)?;
        let notice = self.hub().withdraw_notice(&caller, &idem, &m.tenancy_reference).await?;
        Ok(Response::new(pb::WithdrawArrearsNoticeResponse {
            notice_id: notice.id.to_string(),
            withdrawn_at: notice.withdrawn_at.and_then(cv::ts),
        }))
    }

    async fn record_court_notice(
        &self,
        req: Request<pb::RecordCourtNoticeRequest>,
    ) -> Result<Response<pb::RecordCourtNoticeResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RecordCourtNotice", &mut m, |m| &mut m.idempotency_key)?;
        let data = court(m.notice).map_err(|e| invalid(e.within_notice()))?;
        let (what, id, case) = self.hub().record_court_notice(&caller, &idem, data).await.map_err(within_notice)?;
        Ok(Response::new(pb::RecordCourtNoticeResponse {
            result: Some(result_pb(String::new(), &Ok((what, id)))),
            case_id: case.map(|c| c.to_string()).unwrap_or_default(),
        }))
    }

    async fn list_open_notices(
        &self,
        req: Request<pb::ListOpenNoticesRequest>,
    ) -> Result<Response<pb::ListOpenNoticesResponse>, Status> {
        let caller = self.caller(&req).await?;
        let limit = match req.get_ref().limit {
            0 => 200,
            n @ 1..=1000 => n.unsigned_abs() as usize,
            _ => return Err(invalid(FieldError::new("limit", "must be between 1 and 1000"))),
        };
        let items = self.hub().open_notices(&caller, limit).await?;
        Ok(Response::new(pb::ListOpenNoticesResponse { notices: items.iter().map(open_notice_pb).collect() }))
    }

    async fn take_up_notice(
        &self,
        req: Request<pb::TakeUpNoticeRequest>,
    ) -> Result<Response<pb::TakeUpNoticeResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("TakeUpNotice", &mut m, |m| &mut m.idempotency_key)?;
        let id = NoticeId::parse(&m.notice_id).map_err(|e| invalid(e.within("notice_id")))?;
        let details = match m.details {
            Some(d) if d != pb::CaseDetails::default() => Some(cv::case_details(Some(d), "details").map_err(invalid)?),
            _ => None,
        };
        let target = match (m.case_id.trim(), m.open_new_case) {
            ("", false) => TakeUpTarget::SameTenancy,
            ("", true) => TakeUpTarget::NewCase,
            (_, true) => {
                return Err(invalid(FieldError::new("open_new_case", "must be false when case_id is set")));
            }
            (case, false) => TakeUpTarget::Case(CaseId::parse(case).map_err(|e| invalid(e.within("case_id")))?),
        };
        let (case, linked) = self.hub().take_up_notice(&caller, &idem, &id, details, target).await?;
        Ok(Response::new(pb::TakeUpNoticeResponse { case: Some(cv::case_to_pb(&case)), linked_existing: linked }))
    }
}

/// A single submission's error, its field named under `notice.` as the request nests it.
fn within_notice(e: crate::service::HubError) -> Status {
    match e {
        crate::service::HubError::Invalid(f) => invalid(f.within_notice()),
        e => e.into(),
    }
}

trait WithinNotice {
    fn within_notice(self) -> Self;
}

impl WithinNotice for FieldError {
    /// Single submissions name fields under `notice.`, as the request nests them.
    fn within_notice(self) -> Self {
        self.within("notice")
    }
}

/// Adds the results of a stored batch to a stream's answer: each record's result and the summary.
fn tally(answer: &mut pb::StreamArrearsNoticesResponse, done: &[BulkResult]) {
    let summary = answer.summary.get_or_insert_with(Default::default);
    for r in done {
        summary.received += 1;
        match &r.outcome {
            Ok((Submitted::Accepted, _)) => summary.accepted += 1,
            Ok((Submitted::Updated, _)) => summary.updated += 1,
            Ok((Submitted::Unchanged, _)) => summary.unchanged += 1,
            Err(_) => summary.rejected += 1,
        }
        answer.results.push(result_pb(r.record_ref.clone(), &r.outcome));
    }
}
