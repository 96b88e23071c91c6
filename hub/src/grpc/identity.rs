//! Identity from mutual TLS. An interceptor reads the client certificate's URI SAN and puts a typed
//! [`Identity`] into the request extensions; handlers turn it into a `Caller` by checking the
//! directory. The staff member named in metadata is carried along, never trusted.
//!
//! The principal of a certificate is a pure function of its DER bytes, so it is parsed once and
//! remembered (per certificate, not per call): every call on a connection presents the same leaf
//! certificate, which rustls has verified against the hub's CA at the handshake. Whether the
//! organisation may still call is decided per call by the directory (`Hub::authenticate`).

use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use tonic::{Request, Status};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::domain::certificate::Serial;
use crate::domain::ids::{OrgId, StaffMember};
use crate::service::Principal;

/// URI SAN prefix naming an organisation: `urn:wohnungserhalt:org:<org-id>`.
pub const ORG_URI_PREFIX: &str = "urn:wohnungserhalt:org:";
/// URI SAN of the operator certificate.
pub const OPERATOR_URI: &str = "urn:wohnungserhalt:operator";
/// Metadata key for the acting staff member.
pub const STAFF_HEADER: &str = "x-staff-member";

/// What the certificate and metadata say about the caller.
#[derive(Debug, Clone)]
pub struct Identity {
    /// From the certificate.
    pub principal: Principal,
    /// The certificate's serial number (checked against the revocations on every call).
    pub serial: Serial,
    /// From `x-staff-member`.
    pub staff: Option<StaffMember>,
}

/// Reads the principal from a DER certificate's URI SANs, and its serial number.
pub fn principal_from_der(der: &[u8]) -> Result<(Principal, Serial), String> {
    let (_, cert) =
        x509_parser::certificate::X509Certificate::from_der(der).map_err(|_| "unreadable client certificate")?;
    let serial = Serial::from_bytes(cert.raw_serial());
    let san = cert
        .subject_alternative_name()
        .map_err(|_| "malformed subjectAltName")?
        .ok_or("the client certificate has no subjectAltName")?;
    for name in &san.value.general_names {
        if let GeneralName::URI(uri) = name {
            if *uri == OPERATOR_URI {
                return Ok((Principal::Operator, serial));
            }
            if let Some(id) = uri.strip_prefix(ORG_URI_PREFIX) {
                return OrgId::parse(id)
                    .map(|org| (Principal::Org(org), serial))
                    .map_err(|_| format!("invalid organisation id in certificate: '{id}'"));
            }
        }
    }
    Err(format!("the client certificate names no organisation (URI SAN {ORG_URI_PREFIX}<id>)"))
}

/// Certificates remembered at most; beyond this the memory is cleared (about 10k partner offices
/// with a certificate or two each fit; the bound only stops growth without limit).
const PRINCIPALS_MAX: usize = 65_536;

/// Principals of the certificates seen so far, by DER bytes.
static PRINCIPALS: LazyLock<RwLock<HashMap<Box<[u8]>, Presented>>> = LazyLock::new(Default::default);

/// Who a certificate names, and its serial number.
type Presented = (Principal, Serial);

/// [`principal_from_der`], parsed once per certificate. Unreadable certificates are not remembered.
fn principal_of(der: &[u8]) -> Result<Presented, String> {
    if let Some(p) = PRINCIPALS.read().unwrap_or_else(PoisonError::into_inner).get(der) {
        return Ok(p.clone());
    }
    let principal = principal_from_der(der)?;
    let mut known = PRINCIPALS.write().unwrap_or_else(PoisonError::into_inner);
    if known.len() >= PRINCIPALS_MAX {
        known.clear();
    }
    known.insert(der.into(), principal.clone());
    Ok(principal)
}

/// Interceptor for every hub service: no certificate, no call.
pub fn identify(mut req: Request<()>) -> Result<Request<()>, Status> {
    let certs =
        req.peer_certs().ok_or_else(|| Status::unauthenticated("a client certificate is required (mutual TLS)"))?;
    let leaf = certs.first().ok_or_else(|| Status::unauthenticated("a client certificate is required (mutual TLS)"))?;
    let (principal, serial) = principal_of(leaf.as_ref()).map_err(Status::unauthenticated)?;
    let staff = match req.metadata().get(STAFF_HEADER) {
        None => None,
        Some(v) => {
            let s = v.to_str().map_err(|_| Status::invalid_argument("x-staff-member: must be ASCII text"))?;
            Some(StaffMember::parse(s).map_err(|e| Status::invalid_argument(e.to_string()))?)
        }
    };
    let org = match &principal {
        Principal::Org(id) => id.as_str(),
        Principal::Operator => "operator",
    };
    crate::telemetry::request::record_caller(org, staff.as_ref().map(StaffMember::as_str));
    req.extensions_mut().insert(Identity { principal, serial, staff });
    Ok(req)
}
