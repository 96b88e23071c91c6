//! The mutual-TLS channel to the hub, and requests carrying the caller's metadata.
//!
//! The hub answers every API call without a client certificate with UNAUTHENTICATED, so the CA,
//! certificate and key are checked here, before connecting, with messages that name the option
//! and the file rather than a TLS alert from deep inside the handshake.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

use crate::UsageError;
use crate::args::Cli;

/// How long to wait for TCP and TLS before giving up on a connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings keep `watch` from waiting forever on a connection that died silently.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every command needs to talk to the hub.
#[derive(Clone)]
pub struct Hub {
    channel: Channel,
    staff: Option<MetadataValue<tonic::metadata::Ascii>>,
    address: String,
}

impl Hub {
    /// Connects now, so that a wrong address or certificate fails before any request is built.
    pub async fn connect(cli: &Cli) -> anyhow::Result<Self> {
        let (endpoint, address) = endpoint(cli)?;
        let channel = endpoint.connect().await.map_err(|error| {
            anyhow!(tonic::Status::unavailable(format!("cannot connect to {address}: {}", crate::error_chain(&error))))
        })?;
        Self::with_channel(cli, channel, address)
    }

    /// A channel that connects on first use and reconnects by itself; for `watch`, which must
    /// survive the hub being down at start or restarting later.
    pub fn connect_lazy(cli: &Cli) -> anyhow::Result<Self> {
        let (endpoint, address) = endpoint(cli)?;
        let channel = endpoint.connect_lazy();
        Self::with_channel(cli, channel, address)
    }

    fn with_channel(cli: &Cli, channel: Channel, address: String) -> anyhow::Result<Self> {
        let staff = match &cli.staff {
            Some(name) => Some(MetadataValue::try_from(name.as_str()).map_err(|_| {
                UsageError(format!("--staff '{name}' cannot be sent as gRPC metadata (printable ASCII only)"))
            })?),
            None => None,
        };
        Ok(Self { channel, staff, address })
    }

    /// The channel, for building service clients.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The hub address, for messages.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Wraps a message in a request that names the staff member, if one was given.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(staff) = &self.staff {
            request.metadata_mut().insert("x-staff-member", staff.clone());
        }
        request
    }
}

/// The endpoint with TLS configured, and the address as the user wrote it (for messages).
fn endpoint(cli: &Cli) -> anyhow::Result<(Endpoint, String)> {
    // rustls needs a process-wide crypto provider; a second install (tests, re-entry) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let uri = hub_uri(&cli.hub)?;
    let host = uri
        .host()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']').to_owned())
        .ok_or_else(|| UsageError(format!("--hub '{}' has no host", cli.hub)))?;
    let domain = cli.tls_name.clone().unwrap_or(host);

    let ca = read_pem(cli.ca.as_deref(), "--ca", "HUBCTL_CA", "CA certificate", "CERTIFICATE")?;
    let cert = read_pem(cli.cert.as_deref(), "--cert", "HUBCTL_CERT", "client certificate", "CERTIFICATE")?;
    let key = read_pem(cli.key.as_deref(), "--key", "HUBCTL_KEY", "private key", "PRIVATE KEY")?;

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .identity(Identity::from_pem(cert, key))
        .domain_name(domain)
        .timeout(CONNECT_TIMEOUT);
    let address = cli.hub.clone();
    let endpoint = Endpoint::from(uri)
        .user_agent(concat!("hubctl/", env!("CARGO_PKG_VERSION")))
        .context("building the user agent")?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .tls_config(tls)
        .map_err(|error| UsageError(format!("invalid TLS configuration: {}", crate::error_chain(&error))))?;
    Ok((endpoint, address))
}

/// Parses --hub; `localhost:50051` is taken as `https://localhost:50051`, and plain `http` is
/// refused because the hub only speaks mutual TLS.
fn hub_uri(raw: &str) -> Result<Uri, UsageError> {
    let with_scheme = if raw.contains("://") { raw.to_owned() } else { format!("https://{raw}") };
    let uri: Uri = with_scheme.parse().map_err(|error| UsageError(format!("invalid --hub URL '{raw}': {error}")))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        _ => Err(UsageError(format!("invalid --hub URL '{raw}': the hub speaks mutual TLS only, use https://"))),
    }
}

/// Reads a PEM file named by an option, checking it holds the expected block.
fn read_pem(path: Option<&Path>, option: &str, env: &str, what: &str, block: &str) -> anyhow::Result<Vec<u8>> {
    let path: PathBuf =
        path.ok_or_else(|| UsageError(format!("no {what} given: pass {option} FILE or set {env}")))?.to_owned();
    let pem = std::fs::read(&path)
        .map_err(|error| UsageError(format!("cannot read {what} {} ({option}): {error}", path.display())))?;
    let text = String::from_utf8_lossy(&pem);
    if !text.contains("-----BEGIN") || !text.contains(block) {
        return Err(UsageError(format!("{} ({option}) is not a PEM file with a {block} block", path.display())).into());
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls() {
        assert!(hub_uri("https://localhost:50051").is_ok());
        assert_eq!(
            hub_uri("localhost:50051").map(|uri| uri.to_string()).ok(),
            Some("https://localhost:50051/".to_owned())
        );
        assert!(hub_uri("http://localhost:50051").is_err());
    }
}
