//! Connecting to a hub as an organisation or the operator (used by the demo, the operator CLI and
//! the test kit).

use anyhow::Context;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Opens an mTLS channel. `domain` is the name checked against the server certificate.
pub async fn connect(url: &str, domain: &str, ca_pem: &str, identity: Option<(&str, &str)>) -> anyhow::Result<Channel> {
    crate::server::install_crypto();
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)).domain_name(domain);
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let ep = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("bad hub URL '{url}'"))?
        .tls_config(tls)?
        .connect_timeout(std::time::Duration::from_secs(10));
    ep.connect().await.with_context(|| format!("connecting to {url}"))
}
