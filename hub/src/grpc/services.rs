//! The gRPC services: authenticate, convert the request, call the hub, convert the answer.

use std::pin::Pin;

use hub_proto::v1 as pb;
use prost::Message;
use sha2::{Digest, Sha256};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::convert as cv;
use super::identity::Identity;
use crate::domain::FieldError;
use crate::domain::consent::{ConsentDraft, REPLACES};
use crate::domain::ids::{CaseId, ConsentId, DataRequestId, IdempotencyKey, ReferralId};
use crate::domain::referral::{Move, Reason};
use crate::service::{Caller, Hub, HubError, Idem, ListReferrals, Mailbox, NewClosure, NewConsent, NewReferral};

/// Implements every hub service over one [`Hub`].
#[derive(Clone)]
pub struct Api {
    hub: Hub,
}

impl Api {
    /// Wraps a hub.
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }

    /// The hub.
    pub(super) fn hub(&self) -> &Hub {
        &self.hub
    }

    pub(super) async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let id = req
            .extensions()
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("a client certificate is required (mutual TLS)"))?;
        Ok(self.hub.authenticate_certificate(id.principal, &id.serial, id.staff).await?)
    }
}

/// Takes the idempotency key out of a request and fingerprints the rest, so the same key with a
/// different request can be told apart from a retry.
pub(super) fn idem<M: Message>(
    rpc: &str,
    msg: &mut M,
    key: impl FnOnce(&mut M) -> &mut String,
) -> Result<Idem, Status> {
    let key = IdempotencyKey::parse(&std::mem::take(key(msg))).map_err(|e| Status::from(HubError::Invalid(e)))?;
    let mut h = Sha256::new();
    h.update(rpc.as_bytes());
    h.update([0]);
    h.update(msg.encode_to_vec());
    Ok(Idem { key, fingerprint: hex::encode(h.finalize()) })
}

pub(super) fn invalid(e: FieldError) -> Status {
    HubError::Invalid(e).into()
}

fn case_id(s: &str, field: &str) -> Result<CaseId, Status> {
    CaseId::parse(s).map_err(|e| invalid(e.within(field)))
}

fn referral_id(s: &str) -> Result<ReferralId, Status> {
    ReferralId::parse(s).map_err(|e| invalid(e.within("referral_id")))
}

#[tonic::async_trait]
impl pb::directory_service_server::DirectoryService for Api {
    async fn register_organisation(
        &self,
        req: Request<pb::RegisterOrganisationRequest>,
    ) -> Result<Response<pb::RegisterOrganisationResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RegisterOrganisation", &mut m, |m| &mut m.idempotency_key)?;
        let spec = cv::org_spec(m.organisation, true).map_err(invalid)?;
        let org = self.hub.register_org(&caller, &idem, spec).await?;
        Ok(Response::new(pb::RegisterOrganisationResponse { organisation: Some(cv::org_to_pb(&org)) }))
    }

    async fn update_organisation(
        &self,
        req: Request<pb::UpdateOrganisationRequest>,
    ) -> Result<Response<pb::UpdateOrganisationResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("UpdateOrganisation", &mut m, |m| &mut m.idempotency_key)?;
        let spec = cv::org_spec(m.organisation, false).map_err(invalid)?;
        let org = self.hub.update_org(&caller, &idem, spec).await?;
        Ok(Response::new(pb::UpdateOrganisationResponse { organisation: Some(cv::org_to_pb(&org)) }))
    }

    async fn set_capacity(
        &self,
        req: Request<pb::SetCapacityRequest>,
    ) -> Result<Response<pb::SetCapacityResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("SetCapacity", &mut m, |m| &mut m.idempotency_key)?;
        let capacity = m
            .capacities
            .iter()
            .enumerate()
            .map(|(i, c)| cv::capacity(c, &format!("capacities[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let org = self.hub.set_capacity(&caller, &idem, capacity, m.office_hours).await?;
        Ok(Response::new(pb::SetCapacityResponse { organisation: Some(cv::org_to_pb(&org)) }))
    }

    async fn deactivate_organisation(
        &self,
        req: Request<pb::DeactivateOrganisationRequest>,
    ) -> Result<Response<pb::DeactivateOrganisationResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("DeactivateOrganisation", &mut m, |m| &mut m.idempotency_key)?;
        let id = cv::org_id(&m.organisation_id, "organisation_id").map_err(invalid)?;
        let org = self.hub.set_org_active(&caller, &idem, &id, false).await?;
        Ok(Response::new(pb::DeactivateOrganisationResponse { organisation: Some(cv::org_to_pb(&org)) }))
    }

    async fn reactivate_organisation(
        &self,
        req: Request<pb::ReactivateOrganisationRequest>,
    ) -> Result<Response<pb::ReactivateOrganisationResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("ReactivateOrganisation", &mut m, |m| &mut m.idempotency_key)?;
        let id = cv::org_id(&m.organisation_id, "organisation_id").map_err(invalid)?;
        let org = self.hub.set_org_active(&caller, &idem, &id, true).await?;
        Ok(Response::new(pb::ReactivateOrganisationResponse { organisation: Some(cv::org_to_pb(&org)) }))
    }

    async fn get_organisation(
        &self,
        req: Request<pb::GetOrganisationRequest>,
    ) -> Result<Response<pb::GetOrganisationResponse>, Status> {
        let caller = self.caller(&req).await?;
        let id = cv::org_id(&req.get_ref().organisation_id, "organisation_id").map_err(invalid)?;
        let org = self.hub.get_org(&caller, &id).await?;
        Ok(Response::new(pb::GetOrganisationResponse { organisation: Some(cv::org_to_pb(&org)) }))
    }

    async fn list_organisations(
        &self,
        req: Request<pb::ListOrganisationsRequest>,
    ) -> Result<Response<pb::ListOrganisationsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let m = req.into_inner();
        let kind = cv::optional(m.kind, cv::org_kind, "kind").map_err(invalid)?;
        let orgs = self.hub.list_orgs(&caller, kind, m.include_inactive).await?;
        Ok(Response::new(pb::ListOrganisationsResponse { organisations: orgs.iter().map(cv::org_to_pb).collect() }))
    }
}

#[tonic::async_trait]
impl pb::case_service_server::CaseService for Api {
    async fn restrict_processing(
        &self,
        req: Request<pb::RestrictProcessingRequest>,
    ) -> Result<Response<pb::RestrictProcessingResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RestrictProcessing", &mut m, |m| &mut m.idempotency_key)?;
        let id = case_id(&m.case_id, "case_id")?;
        let case = self.hub.set_restriction(&caller, &idem, &id, Some(std::mem::take(&mut m.reason))).await?;
        Ok(Response::new(pb::RestrictProcessingResponse { case: Some(cv::case_to_pb(&case)) }))
    }

    async fn lift_restriction(
        &self,
        req: Request<pb::LiftRestrictionRequest>,
    ) -> Result<Response<pb::LiftRestrictionResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("LiftRestriction", &mut m, |m| &mut m.idempotency_key)?;
        let id = case_id(&m.case_id, "case_id")?;
        let case = self.hub.set_restriction(&caller, &idem, &id, None).await?;
        Ok(Response::new(pb::LiftRestrictionResponse { case: Some(cv::case_to_pb(&case)) }))
    }

    async fn erase_case(&self, req: Request<pb::EraseCaseRequest>) -> Result<Response<pb::EraseCaseResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("EraseCase", &mut m, |m| &mut m.idempotency_key)?;
        let id = case_id(&m.case_id, "case_id")?;
        let erasure = self.hub.erase_case(&caller, &idem, &id).await?;
        Ok(Response::new(cv::erasure_to_pb(&erasure)))
    }

    async fn open_case(&self, req: Request<pb::OpenCaseRequest>) -> Result<Response<pb::OpenCaseResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("OpenCase", &mut m, |m| &mut m.idempotency_key)?;
        let details = cv::case_details(m.details, "details").map_err(invalid)?;
        let initial =
            m.initial_stage.as_ref().map(|e| cv::new_stage(e, "initial_stage")).transpose().map_err(invalid)?;
        let case = self.hub.open_case(&caller, &idem, details, initial).await?;
        Ok(Response::new(pb::OpenCaseResponse { case: Some(cv::case_to_pb(&case)) }))
    }

    async fn update_case(
        &self,
        req: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("UpdateCase", &mut m, |m| &mut m.idempotency_key)?;
        let id = case_id(&m.case_id, "case_id")?;
        let details = cv::case_details(m.details, "details").map_err(invalid)?;
        let case = self.hub.update_case(&caller, &idem, &id, details).await?;
        Ok(Response::new(pb::UpdateCaseResponse { case: Some(cv::case_to_pb(&case)) }))
    }

    async fn record_threat_stage(
        &self,
        req: Request<pb::RecordThreatStageRequest>,
    ) -> Result<Response<pb::RecordThreatStageResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RecordThreatStage", &mut m, |m| &mut m.idempotency_key)?;
        let id = case_id(&m.case_id, "case_id")?;
        let entry = m.entry.as_ref().ok_or_else(|| invalid(FieldError::new("entry", "must be set")))?;
        let stage = cv::new_stage(entry, "entry").map_err(invalid)?;
        let case = self.hub.record_stage(&caller, &idem, &id, stage).await?;
        Ok(Response::new(pb::RecordThreatStageResponse { case: Some(cv::case_to_pb(&case)) }))
    }

    async fn close_case(&self, req: Request<pb::CloseCaseRequest>) -> Result<Response<pb::CloseCaseResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("CloseCase", &mut m, |m| &mut m.idempotency_key)?;
        let id = case_id(&m.case_id, "case_id")?;
        let outcome = cv::case_outcome(m.outcome, "outcome").map_err(invalid)?;
        let means = cv::optional(m.rescue_means, cv::rescue_means, "rescue_means").map_err(invalid)?;
        let close = NewClosure {
            outcome,
            rescue_means: means,
            note: std::mem::take(&mut m.note),
            confirm_open_items: m.confirm_open_items,
        };
        let closed = self.hub.close_case(&caller, &idem, &id, close).await?;
        Ok(Response::new(pb::CloseCaseResponse {
            case: Some(cv::case_to_pb(&closed.case)),
            cancelled_referral_ids: closed.cancelled.iter().map(ToString::to_string).collect(),
            ended_consent_ids: closed.ended_consents.iter().map(ToString::to_string).collect(),
        }))
    }

    async fn get_case(&self, req: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        let caller = self.caller(&req).await?;
        let id = case_id(&req.get_ref().case_id, "case_id")?;
        let case = self.hub.get_case(&caller, &id).await?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(cv::case_to_pb(&case)) }))
    }

    async fn list_cases(&self, req: Request<pb::ListCasesRequest>) -> Result<Response<pb::ListCasesResponse>, Status> {
        let caller = self.caller(&req).await?;
        let status = cv::optional(req.get_ref().status, cv::case_status, "status").map_err(invalid)?;
        let cases = self.hub.list_cases(&caller, status).await?;
        Ok(Response::new(pb::ListCasesResponse { cases: cases.iter().map(cv::case_summary_to_pb).collect() }))
    }
}

#[tonic::async_trait]
impl pb::consent_service_server::ConsentService for Api {
    async fn record_consent(
        &self,
        req: Request<pb::RecordConsentRequest>,
    ) -> Result<Response<pb::RecordConsentResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RecordConsent", &mut m, |m| &mut m.idempotency_key)?;
        let parse = || -> Result<NewConsent, FieldError> {
            cv::optional(
                m.purpose,
                |v, f| {
                    if v == pb::ConsentPurpose::Wohnungssicherung as i32 {
                        Ok(())
                    } else {
                        Err(FieldError::new(f, "unknown purpose"))
                    }
                },
                "purpose",
            )?
            .ok_or_else(|| FieldError::new("purpose", "must be CONSENT_PURPOSE_WOHNUNGSSICHERUNG"))?;
            Ok(NewConsent {
                case_id: CaseId::parse(&m.case_id).map_err(|e| e.within("case_id"))?,
                draft: ConsentDraft {
                    persons: m
                        .person_ids
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            crate::domain::ids::PersonId::parse(p).map_err(|e| e.within(&format!("person_ids[{i}]")))
                        })
                        .collect::<Result<_, _>>()?,
                    recipients: m
                        .recipient_organisation_ids
                        .iter()
                        .enumerate()
                        .map(|(i, r)| cv::org_id(r, &format!("recipient_organisation_ids[{i}]")))
                        .collect::<Result<_, _>>()?,
                    categories: m
                        .categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| cv::data_category(*c, &format!("categories[{i}]")))
                        .collect::<Result<_, _>>()?,
                    form: cv::consent_form(m.form, "form")?,
                    evidence: m.evidence_reference.clone(),
                    valid_until: cv::day(&m.valid_until, "valid_until")?,
                    art9_explicit: m.art9_explicit,
                    secrecy_release: m.secrecy_release,
                },
                replaces: (!m.replaces_consent_id.is_empty())
                    .then(|| ConsentId::parse(&m.replaces_consent_id).map_err(|e| e.within(REPLACES)))
                    .transpose()?,
            })
        };
        let new = parse().map_err(invalid)?;
        let consent = self.hub.record_consent(&caller, &idem, new).await?;
        let today = self.hub.clock_today();
        Ok(Response::new(pb::RecordConsentResponse { consent: Some(cv::consent_to_pb(&consent, today)) }))
    }

    async fn revoke_consent(
        &self,
        req: Request<pb::RevokeConsentRequest>,
    ) -> Result<Response<pb::RevokeConsentResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("RevokeConsent", &mut m, |m| &mut m.idempotency_key)?;
        let id = ConsentId::parse(&m.consent_id).map_err(|e| invalid(e.within("consent_id")))?;
        let note = std::mem::take(&mut m.note);
        let r = self.hub.revoke_consent(&caller, &idem, &id, note).await?;
        let today = self.hub.clock_today();
        Ok(Response::new(pb::RevokeConsentResponse {
            consent: Some(cv::consent_to_pb(&r.consent, today)),
            cancelled_referral_ids: r.cancelled.iter().map(ToString::to_string).collect(),
            notified_organisation_ids: r.notified.iter().map(ToString::to_string).collect(),
        }))
    }

    async fn list_consents(
        &self,
        req: Request<pb::ListConsentsRequest>,
    ) -> Result<Response<pb::ListConsentsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let id = case_id(&req.get_ref().case_id, "case_id")?;
        let consents = self.hub.list_consents(&caller, &id).await?;
        let today = self.hub.clock_today();
        Ok(Response::new(pb::ListConsentsResponse {
            consents: consents.iter().map(|c| cv::consent_to_pb(c, today)).collect(),
        }))
    }
}

#[tonic::async_trait]
impl pb::referral_service_server::ReferralService for Api {
    async fn create_referral(
        &self,
        req: Request<pb::CreateReferralRequest>,
    ) -> Result<Response<pb::CreateReferralResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("CreateReferral", &mut m, |m| &mut m.idempotency_key)?;
        let parse = || -> Result<NewReferral, FieldError> {
            Ok(NewReferral {
                case_id: CaseId::parse(&m.case_id).map_err(|e| e.within("case_id"))?,
                recipient: cv::org_id(&m.recipient_organisation_id, "recipient_organisation_id")?,
                category: cv::referral_category(m.category, "category")?,
                data: m
                    .data_categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| cv::data_category(*c, &format!("data_categories[{i}]")))
                    .collect::<Result<_, _>>()?,
                message: m.message.clone(),
                reply_by: cv::day_opt(&m.reply_by, "reply_by")?,
                confirm_duplicate: m.confirm_duplicate,
                confirm_closed: m.confirm_closed_capacity,
            })
        };
        let new = parse().map_err(invalid)?;
        let view = self.hub.create_referral(&caller, &idem, new).await?;
        Ok(Response::new(pb::CreateReferralResponse { referral: Some(cv::referral_to_pb(&view)) }))
    }

    async fn get_referral(
        &self,
        req: Request<pb::GetReferralRequest>,
    ) -> Result<Response<pb::GetReferralResponse>, Status> {
        let caller = self.caller(&req).await?;
        let id = referral_id(&req.get_ref().referral_id)?;
        let view = self.hub.get_referral(&caller, &id).await?;
        Ok(Response::new(pb::GetReferralResponse { referral: Some(cv::referral_to_pb(&view)) }))
    }

    async fn list_referrals(
        &self,
        req: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let m = req.into_inner();
        let parse = || -> Result<ListReferrals, FieldError> {
            let mailbox = match pb::Mailbox::try_from(m.mailbox) {
                Ok(pb::Mailbox::Unspecified | pb::Mailbox::Inbox) => Mailbox::Inbox,
                Ok(pb::Mailbox::Outbox) => Mailbox::Outbox,
                Ok(pb::Mailbox::All) => Mailbox::All,
                Err(_) => {
                    return Err(FieldError::new("mailbox", "must be one of the defined values"));
                }
            };
            let page_size = match m.page_size {
                0 => 100,
                n @ 1..=500 => n.unsigned_abs(),
                _ => return Err(FieldError::new("page_size", "must be between 1 and 500")),
            };
            let after = if m.page_token.is_empty() {
                0
            } else {
                m.page_token
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| FieldError::new("page_token", "is not a token this hub issued"))?
            };
            Ok(ListReferrals {
                mailbox,
                states: cv::enum_list(&m.states, cv::state, "states")?,
                partner: if m.partner_organisation_id.is_empty() {
                    None
                } else {
                    Some(cv::org_id(&m.partner_organisation_id, "partner_organisation_id")?)
                },
                overdue_only: m.overdue_only,
                min_age_days: u32::try_from(m.min_age_days)
                    .map_err(|_| FieldError::new("min_age_days", "must not be negative"))?,
                case_id: if m.case_id.is_empty() {
                    None
                } else {
                    Some(CaseId::parse(&m.case_id).map_err(|e| e.within("case_id"))?)
                },
                page_size,
                after,
            })
        };
        let q = parse().map_err(invalid)?;
        let page = self.hub.list_referrals(&caller, q).await?;
        Ok(Response::new(pb::ListReferralsResponse {
            referrals: page.referrals.iter().map(|(r, overdue)| cv::referral_summary_to_pb(r, *overdue)).collect(),
            next_page_token: page.next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn transition_referral(
        &self,
        req: Request<pb::TransitionReferralRequest>,
    ) -> Result<Response<pb::TransitionReferralResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("TransitionReferral", &mut m, |m| &mut m.idempotency_key)?;
        let parse = || -> Result<(ReferralId, Move, Option<Reason>, Option<crate::domain::referral::Completion>), FieldError> {
            let id = ReferralId::parse(&m.referral_id).map_err(|e| e.within("referral_id"))?;
            let mv = cv::referral_move(m.r#move, "move")?;
            let code = cv::optional(m.reason_code, cv::reason, "reason_code")?;
            let completion = cv::completion(m.outcome.clone())?;
            // The rules of a move's reason and result are the domain's (checked in the use case).
            let reason = Some(Reason { code, text: m.reason_text.clone() });
            Ok((id, mv, reason, completion))
        };
        let (id, mv, reason, completion) = parse().map_err(invalid)?;
        let view = self.hub.transition(&caller, &idem, &id, mv, reason, completion).await?;
        Ok(Response::new(pb::TransitionReferralResponse { referral: Some(cv::referral_to_pb(&view)) }))
    }

    async fn add_note(&self, req: Request<pb::AddNoteRequest>) -> Result<Response<pb::AddNoteResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("AddNote", &mut m, |m| &mut m.idempotency_key)?;
        let id = referral_id(&m.referral_id)?;
        let note = self.hub.add_note(&caller, &idem, &id, std::mem::take(&mut m.text)).await?;
        Ok(Response::new(pb::AddNoteResponse { note: Some(cv::note_to_pb(&note)) }))
    }

    async fn change_reply_by(
        &self,
        req: Request<pb::ChangeReplyByRequest>,
    ) -> Result<Response<pb::ChangeReplyByResponse>, Status> {
        let caller = self.caller(&req).await?;
        let mut m = req.into_inner();
        let idem = idem("ChangeReplyBy", &mut m, |m| &mut m.idempotency_key)?;
        let id = referral_id(&m.referral_id)?;
        let day = cv::day(&m.reply_by, "reply_by").map_err(invalid)?;
        let view = self.hub.change_reply_by(&caller, &idem, &id, day, std::mem::take(&mut m.message)).await?;
        Ok(Response::new(pb::ChangeReplyByResponse { referral: Some(cv::referral_to_pb(&view)) }))
    }

    async fn list_data_requests(
        &self,
        req: Request<pb::ListDataRequestsRequest>,
    ) -> Result<Response<pb::ListDataRequestsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let requests = self.hub.data_requests_to(&caller, !req.get_ref().include_confirmed).await?;
        Ok(Response::new(pb::ListDataRequestsResponse {
            data_requests: requests.iter().map(cv::data_request_to_pb).collect(),
        }))
    }

    async fn confirm_data_request(
        &self,
        req: Request<pb::ConfirmDataRequestRequest>,
    ) -> Result<Response<pb::ConfirmDataRequestResponse>, Status> {
        let caller = self.caller(&req).await?;
        let id =
            DataRequestId::parse(&req.get_ref().data_request_id).map_err(|e| invalid(e.within("data_request_id")))?;
        let done = self.hub.confirm_data_request(&caller, &id).await?;
        Ok(Response::new(pb::ConfirmDataRequestResponse {
            data_request: Some(cv::data_request_to_pb(&done.request)),
            receipt: done.receipt,
            already_confirmed: done.repeated,
        }))
    }

    async fn list_notes(&self, req: Request<pb::ListNotesRequest>) -> Result<Response<pb::ListNotesResponse>, Status> {
        let caller = self.caller(&req).await?;
        let id = referral_id(&req.get_ref().referral_id)?;
        let notes = self.hub.list_notes(&caller, &id).await?;
        Ok(Response::new(pb::ListNotesResponse { notes: notes.iter().map(cv::note_to_pb).collect() }))
    }
}

/// Stream of events for one subscriber.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl pb::event_service_server::EventService for Api {
    type SubscribeStream = EventStream;

    /// The caller's events after `after_cursor`, in cursor order, without gaps or repeats (see
    /// [`crate::service::events`]); each converted to proto here.
    async fn subscribe(&self, req: Request<pb::SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        use tokio_stream::StreamExt as _;
        let caller = self.caller(&req).await?;
        let events = self.hub.subscribe_events(&caller, req.get_ref().after_cursor)?;
        // Counted as open for as long as the stream lives.
        let open = crate::telemetry::metrics::OpenStream::opened();
        let stream = tokio_stream::wrappers::ReceiverStream::new(events).map(move |item| {
            let _open = &open;
            item.map(|e| pb::SubscribeResponse { event: Some(cv::event_to_pb(&e)) }).map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
