//! The one mapping from service errors to gRPC status. Internal errors get a generic message and a
//! correlation id that also appears in the log line, so support can find the cause without the
//! caller ever seeing internals.

use tonic::{Code, Status};

use crate::service::{HubError, Outage};

/// The status of a call the store could not serve: what happened, that the same request may be sent
/// again, and when (the `grpc-retry-pushback-ms` trailer of gRPC's retry design).
fn unavailable(outage: Outage) -> Status {
    let (code, message, wait_ms) = match outage {
        Outage::Busy => (Code::Unavailable, "the hub is busy", 200),
        Outage::Unreachable => (Code::Unavailable, "the hub's database is unreachable", 2_000),
        Outage::Io => (Code::Unavailable, "the hub's database reported an I/O error", 2_000),
        Outage::Full => (Code::ResourceExhausted, "the hub's storage is full", 10_000),
    };
    let mut status = Status::new(code, format!("{message}; retry with the same idempotency key"));
    status.metadata_mut().insert("grpc-retry-pushback-ms", tonic::metadata::MetadataValue::from(wait_ms));
    status
}

impl From<HubError> for Status {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Invalid(f) => Status::invalid_argument(f.to_string()),
            HubError::Unauthenticated(m) => Status::unauthenticated(m),
            HubError::PermissionDenied(m) => Status::permission_denied(m),
            e @ HubError::NotFound(_) => Status::not_found(e.to_string()),
            HubError::AlreadyExists(m) => Status::already_exists(m),
            HubError::FailedPrecondition(r) => Status::failed_precondition(r.en),
            HubError::Unavailable(outage) => unavailable(outage),
            HubError::Internal(detail) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(correlation_id = %id, %detail, "internal error");
                Status::internal(format!("internal error (correlation id {id})"))
            }
        }
    }
}
