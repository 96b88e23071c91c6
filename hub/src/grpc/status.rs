//! The one mapping from service errors to gRPC status. Internal errors get a generic message and a
//! correlation id that also appears in the log line, so support can find the cause without the
//! caller ever seeing internals.

use tonic::{Code, Status};

use crate::service::HubError;

impl From<HubError> for Status {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Invalid(f) => Status::invalid_argument(f.to_string()),
            HubError::Unauthenticated(m) => Status::unauthenticated(m),
            HubError::PermissionDenied(m) => Status::permission_denied(m),
            e @ HubError::NotFound(_) => Status::not_found(e.to_string()),
            HubError::AlreadyExists(m) => Status::already_exists(m),
            HubError::FailedPrecondition(m) => Status::failed_precondition(m),
            HubError::Unavailable => {
                Status::new(Code::Unavailable, "the hub is busy; retry with the same idempotency key")
            }
            HubError::Internal(detail) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(correlation_id = %id, %detail, "internal error");
                Status::internal(format!("internal error (correlation id {id})"))
            }
        }
    }
}
