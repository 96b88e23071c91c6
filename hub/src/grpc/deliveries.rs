//! `DeliveryService`: the email outbox as the Fachstelle and the operator see it.

use hub_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::convert as cv;
use super::services::{Api, idem, invalid};
use crate::domain::FieldError;
use crate::domain::ids::ReferralId;
use crate::service::ListDeliveries;

/// A delivery id: the UUID the hub gave the mail job.
fn delivery_id(s: &str) -> Result<String, Status> {
    uuid::Uuid::parse_str(s.trim())
        .map(|u| u.to_string())
        .map_err(|_| invalid(FieldError::new("delivery_id", "must be a delivery id (UUID)")))
}

#[tonic::async_trait]
impl pb::delivery_service_server::DeliveryService for Api {
    async fn list_deliveries(
        &self,
        req: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let caller = self.caller(&req).await?;
        let m = req.into_inner();
        let status = match m.status {
            0 => None,
            v => Some(cv::delivery_status(v, "status").map_err(invalid)?),
        };
        let org = if m.organisation_id.is_empty() {
            None
        } else {
            Some(cv::org_id(&m.organisation_id, "organisation_id").map_err(invalid)?)
        };
        let referral = if m.referral_id.is_empty() {
            None
        } else {
            Some(ReferralId::parse(&m.referral_id).map_err(|e| invalid(e.within("referral_id")))?)
        };
        if m.page_size > 1000 {
            return Err(invalid(FieldError::new("page_size", "must be at most 1000")));
        }
        let q = ListDeliveries { status, org, referral, page_size: m.page_size };
        let jobs = self.hub().list_deliveries(&caller, q).await?;
        Ok(Response::new(pb::ListDeliveriesResponse { deliveries: jobs.iter().map(cv::delivery_to_pb).collect() }))
    }

    async fn requeue_delivery(
        &self,
        req: Request<pb::RequeueDeliveryRequest>,
    ) -> Result<Response<pb::RequeueDeliveryResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RequeueDelivery", &mut m, |m| &mut m.idempotency_key)?;
        let id = delivery_id(&m.delivery_id)?;
        let job = self.hub().requeue_delivery(&caller, &idem, &id).await?;
        Ok(Response::new(pb::RequeueDeliveryResponse { delivery: Some(cv::delivery_to_pb(&job)) }))
    }
}
