//! Requests to recipients to erase, restrict or rectify data (Art. 19 GDPR): the recipient lists the
//! requests addressed to it and confirms each (over gRPC, in its inbox or through the mailed link),
//! receiving a receipt signed with the hub's seal key; the Fachstelle sees per case what is confirmed
//! and what is outstanding. The requests themselves are opened where the recipient is told (consent
//! ended, case erased, processing restricted, data rectified), in the same transaction.

use super::{Caller, Hub, HubError, HubResult, Pending, audit};
use crate::domain::audit::{AuditAction, AuditDetail};
use crate::domain::data_request::{ConfirmationReceipt, DataRequest};
use crate::domain::ids::{CaseId, DataRequestId};
use crate::store::DataRequestQuery;

/// A confirmed request with the receipt handed back.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// The request, confirmed.
    pub request: DataRequest,
    /// The signed receipt (the same on every repetition).
    pub receipt: String,
    /// The request had been confirmed before: nothing changed.
    pub repeated: bool,
}

impl Hub {
    /// The requests addressed to the caller's organisation, oldest first: the open ones, or all.
    pub async fn data_requests_to(&self, caller: &Caller, open_only: bool) -> HubResult<Vec<DataRequest>> {
        let org = caller.org()?;
        let mut tx = self.store.begin_read().await?;
        let q = DataRequestQuery { recipient: Some(org.id.clone()), open_only, ..DataRequestQuery::default() };
        Ok(tx.data_requests(&q).await?)
    }

    /// One request addressed to the caller's organisation; anybody else's is not found.
    pub async fn data_request_to(&self, caller: &Caller, id: &DataRequestId) -> HubResult<DataRequest> {
        let org = caller.org()?;
        let mut tx = self.store.begin_read().await?;
        tx.data_request(id).await?.filter(|r| r.recipient == org.id).ok_or(HubError::NotFound("data request"))
    }

    /// The requests about one of the caller's (a Fachstelle's) cases, also after the case was erased.
    pub async fn data_requests_of_case(&self, caller: &Caller, case: &CaseId) -> HubResult<Vec<DataRequest>> {
        let org = caller.fachstelle("read the requests to recipients")?;
        let mut tx = self.store.begin_read().await?;
        let q = DataRequestQuery {
            owner: Some(org.id.clone()),
            case_id: Some(case.clone()),
            open_only: false,
            ..DataRequestQuery::default()
        };
        Ok(tx.data_requests(&q).await?)
    }

    /// The requests of the caller's (a Fachstelle's) cases still unconfirmed after their due day.
    pub async fn outstanding_data_requests(&self, caller: &Caller) -> HubResult<Vec<DataRequest>> {
        let org = caller.fachstelle("read the requests to recipients")?;
        let today = self.today();
        let mut tx = self.store.begin_read().await?;
        let q = DataRequestQuery { owner: Some(org.id.clone()), open_only: true, ..DataRequestQuery::default() };
        Ok(tx.data_requests(&q).await?.into_iter().filter(|r| r.is_overdue(today)).collect())
    }

    /// The recipient confirms it did what `id` asks. A request of another organisation is not found;
    /// confirming again changes nothing and returns the first receipt. Audited.
    pub async fn confirm_data_request(&self, caller: &Caller, id: &DataRequestId) -> HubResult<Confirmed> {
        let org = caller.org()?.clone();
        let sealer = self
            .sealer
            .clone()
            .ok_or_else(|| HubError::Internal("no seal key to sign receipts with is configured".into()))?;
        let mut tx = self.store.begin().await?;
        let mut request =
            tx.data_request(id).await?.filter(|r| r.recipient == org.id).ok_or(HubError::NotFound("data request"))?;
        if let Some(c) = &request.confirmation {
            let receipt = c.receipt.clone();
            drop(tx);
            return Ok(Confirmed { request, receipt, repeated: true });
        }
        let now = self.now();
        let receipt = sealer.sign_receipt(&ConfirmationReceipt::of(&request, &org.id, now));
        request.confirm(caller.actor(), now, receipt.clone()).map_err(HubError::FailedPrecondition)?;
        tx.update_data_request(&request).await?;
        let mut p = Pending::new();
        p.audit.push(audit(
            &caller.actor(),
            now,
            AuditAction::DataRequestConfirm,
            Some(&request.case_id),
            Some(&request.referral_id),
            "Art. 19 GDPR".into(),
            AuditDetail::Object { id: request.id.to_string(), note: Some(request.ask().as_str().to_owned()) },
        ));
        self.finish(tx, caller, None, None, p).await?;
        tracing::info!(request = %request.id, org = %org.id, "data request confirmed");
        Ok(Confirmed { request, receipt, repeated: false })
    }
}
