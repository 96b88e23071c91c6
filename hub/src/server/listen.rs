//! The gRPC port's TLS and connections: a rustls configuration with optional client certificates
//! (checked by the hub's services, see [`crate::grpc::identity`]), connections accepted through the
//! adapter's hardened accept loop ([`email_adapter::listen`]), and the file-descriptor limit raised at
//! start so the connection cap, not the kernel, decides when to say no.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::Context as _;
use email_adapter::listen::TlsConn;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

/// The gRPC port's TLS: the server certificate, client certificates issued by the hub's CA accepted but
/// not required at this layer (a client without one gets UNAUTHENTICATED from the services, and health
/// and reflection stay reachable for load balancers and grpcurl), HTTP/2 only.
pub fn grpc_tls(cert: Arc<dyn ResolvesServerCert>, ca_pem: &str) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(ca.context("reading the CA certificate")?).context("adding the CA certificate")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .context("client certificate verifier")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// A gRPC connection: the adapter's TLS connection, with the peer's certificates for tonic.
pub struct GrpcConn(pub TlsConn);

impl Connected for GrpcConn {
    type ConnectInfo = TlsConnectInfo<TcpConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.get_ref().connect_info()
    }
}

impl AsyncRead for GrpcConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for GrpcConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Descriptors kept back from the connection cap: database files and connections, listeners, the SMTP
/// pool, logs and key files (100), and the handshakes that may wait on each of the three listeners.
const RESERVED_DESCRIPTORS: u64 = 100 + 3 * email_adapter::listen::MAX_PENDING_HANDSHAKES as u64;

/// Raises the soft file-descriptor limit to the hard one and returns how many connections fit under it
/// (`wanted`, or fewer when the limit is lower, with a warning).
pub fn fit_connections(wanted: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = match (limit.current, limit.maximum) {
        (Some(cur), Some(max)) if max > cur => {
            match setrlimit(Resource::Nofile, Rlimit { current: Some(max), maximum: Some(max) }) {
                Ok(()) => {
                    tracing::info!(from = cur, to = max, "raised the file-descriptor limit");
                    Some(max)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not raise the file-descriptor limit");
                    Some(cur)
                }
            }
        }
        (Some(cur), _) => Some(cur),
        (None, _) => None,
    };
    let Some(soft) = soft else { return wanted };
    let room = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS).max(1)).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            wanted,
            allowed = room,
            limit = soft,
            "connections capped by the file-descriptor limit (raise it with LimitNOFILE or ulimit -n)"
        );
    }
    wanted.min(room)
}

/// tonic answers a request above the decoding limit with OUT_OF_RANGE; gRPC's status table says
/// RESOURCE_EXHAUSTED, which is what clients retry-classify correctly. The status travels in the
/// response's headers or, after a streamed response, in its trailers: both are rewritten here.
pub fn oversized_is_resource_exhausted(
    res: axum::http::Response<tonic::body::Body>,
) -> axum::http::Response<tonic::body::Body> {
    let (mut parts, body) = res.into_parts();
    rewrite_oversized(&mut parts.headers);
    axum::http::Response::from_parts(parts, tonic::body::Body::new(OversizedTrailers(body)))
}

/// Rewrites an OUT_OF_RANGE "message length too large" status in `h` to RESOURCE_EXHAUSTED.
fn rewrite_oversized(h: &mut axum::http::HeaderMap) {
    use axum::http::HeaderValue;
    let out_of_range = h.get("grpc-status").is_some_and(|v| v == "11");
    // The message arrives percent-encoded (spaces as %20).
    let too_large = h
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.replace("%20", " ").contains("decoded message length too large"));
    if out_of_range && too_large {
        h.insert("grpc-status", HeaderValue::from_static("8"));
        h.insert(
            "grpc-message",
            HeaderValue::from_static("the request is larger than the hub accepts (max_message_bytes)"),
        );
    }
}

/// A response body whose trailers pass through [`rewrite_oversized`].
struct OversizedTrailers(tonic::body::Body);

impl http_body::Body for OversizedTrailers {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx).map(|frame| {
            frame.map(|f| {
                f.map(|f| match f.into_trailers() {
                    Ok(mut trailers) => {
                        rewrite_oversized(&mut trailers);
                        http_body::Frame::trailers(trailers)
                    }
                    Err(data) => data,
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}
