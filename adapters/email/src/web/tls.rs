//! Serving the page over rustls.
//!
//! Connections are accepted by [`crate::listen`] (handshakes in their own tasks with a timeout, caps,
//! back-off). Finished handshakes are handed to axum through a channel-backed [`axum::serve::Listener`],
//! so HTTP/1.1 handling and graceful shutdown are axum's own.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::ResolvesServerCert;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::config::ConfigError;
use crate::listen::{Limits, Ready, TlsConn, accept_tls};

/// The server's TLS settings from PEM text: the certificate chain (leaf first) and its private key
/// (PKCS#8, PKCS#1 or SEC1). TLS 1.2 and 1.3 only, no client certificates (partners authenticate by
/// signed link), ALPN `http/1.1` (the page speaks nothing else).
pub fn tls_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError(format!("web TLS certificate: cannot read PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError("web TLS certificate: no CERTIFICATE block found".into()));
    }
    // The error text of a key parse never contains key material, but keep it short anyway.
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| ConfigError("web TLS key: no readable PRIVATE KEY block found".into()))?;
    let mut config = builder()?
        .with_single_cert(certs, key)
        .map_err(|e| ConfigError(format!("web TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`tls_config`] with the certificate chosen per handshake by `cert` (a server certificate the
/// caller replaces while serving, so a rotation needs no restart).
pub fn tls_config_resolved(cert: Arc<dyn ResolvesServerCert>) -> Result<Arc<ServerConfig>, ConfigError> {
    let mut config = builder()?.with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// TLS 1.2 and 1.3 with ring, no client certificates.
fn builder() -> Result<rustls::ConfigBuilder<ServerConfig, rustls::server::WantsServerCert>, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConfigError(format!("web TLS: {e}")))?
        .with_no_client_auth())
}

/// Serves `app` over TLS on `listener` until `shutdown` completes, then lets open requests finish.
///
/// Connections are accepted as [`crate::listen`] describes (handshake timeout, caps, back-off); failed
/// handshakes are logged at debug level and the loop goes on. Returns only after shutdown, or with the
/// error of `listener.local_addr()`.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let local_addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let ready = accept_tls("web", listener, TlsAcceptor::from(tls), limits, stop_rx);
    let shutdown = async move {
        shutdown.await;
        // Stop taking new connections at once, not only after open requests have finished.
        let _ = stop_tx.send(true);
    };
    axum::serve(TlsListener { ready, local_addr }, app).with_graceful_shutdown(shutdown).await
}

/// Hands connections with finished handshakes to axum.
struct TlsListener {
    ready: mpsc::Receiver<Ready>,
    local_addr: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsConn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop has stopped (shutdown): no more connections will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{Read, Write};
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ring::rand::SystemRandom;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_pki_types::{ServerName, UnixTime};

    use super::*;

    /// DER: tag, length, content.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
    }

    /// A throwaway self-signed Ed25519 certificate and key as PEM, made at test time (no key in the repo).
    /// Only as much X.509 as rustls needs to pair key and certificate; the test client trusts anything.
    pub(crate) fn self_signed() -> (String, String) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let ed25519 = der(0x30, &der(0x06, &[0x2b, 0x65, 0x70]));
        let name =
            der(0x30, &der(0x31, &der(0x30, &[der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, b"localhost")].concat())));
        let validity = der(0x30, &[der(0x17, b"250101000000Z"), der(0x17, b"491231235959Z")].concat());
        let spki =
            der(0x30, &[ed25519.clone(), der(0x03, &[&[0u8][..], pair.public_key().as_ref()].concat())].concat());
        let tbs = der(
            0x30,
            &[der(0xa0, &der(0x02, &[2])), der(0x02, &[1]), ed25519.clone(), name.clone(), validity, name, spki]
                .concat(),
        );
        let sig = pair.sign(&tbs);
        let cert = der(0x30, &[tbs, ed25519, der(0x03, &[&[0u8][..], sig.as_ref()].concat())].concat());
        (pem("CERTIFICATE", &cert), pem("PRIVATE KEY", pkcs8.as_ref()))
    }

    #[derive(Debug)]
    struct TrustAnything;

    impl ServerCertVerifier for TrustAnything {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }

    /// A blocking HTTPS GET (run in `spawn_blocking`); returns the negotiated ALPN and the raw response.
    fn https_get(addr: SocketAddr, path: &str) -> (Option<Vec<u8>>, String) {
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(TrustAnything))
                .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let conn = rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        write!(tls, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = Vec::new();
        match tls.read_to_end(&mut response) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
            Err(e) => panic!("read: {e}"),
        }
        let alpn = tls.conn.alpn_protocol().map(<[u8]>::to_vec);
        (alpn, String::from_utf8_lossy(&response).into_owned())
    }

    #[test]
    fn tls_config_accepts_a_matching_pair() {
        let (cert, key) = self_signed();
        let config = tls_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn tls_config_refuses_bad_input() {
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        assert!(tls_config("", &key).is_err());
        assert!(tls_config("no pem here", &key).is_err());
        assert!(tls_config(&cert, "").is_err());
        assert!(tls_config(&cert, &cert).is_err());
        let mismatch = tls_config(&cert, &other_key).unwrap_err();
        assert!(!mismatch.0.contains("PRIVATE KEY-----"));
        let garbage = pem("CERTIFICATE", b"garbage");
        assert!(tls_config(&garbage, &key).is_err());
    }

    #[tokio::test]
    async fn serves_https_while_a_client_stalls_and_shuts_down() {
        let (cert, key) = self_signed();
        let tls = tls_config(&cert, &key).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_tls(listener, tls, app, Limits::default(), async move {
            let _ = stop_rx.await;
        }));

        // A client that connects and says nothing, and one that sends garbage instead of a ClientHello.
        let silent = std::net::TcpStream::connect(addr).unwrap();
        let mut garbage = std::net::TcpStream::connect(addr).unwrap();
        garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();

        for _ in 0..2 {
            let (alpn, response) = tokio::task::spawn_blocking(move || https_get(addr, "/health")).await.unwrap();
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.ends_with("ok"), "{response}");
            assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
        }

        stop_tx.send(()).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
        assert!(result.is_ok());
        drop((silent, garbage));
    }
}
