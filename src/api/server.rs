//! The HTTP server loop: accepts connections up to `server.max_connections` (the next one gets a
//! 503 and is closed), finishes TLS handshakes and request heads within
//! `server.header_read_timeout_seconds` (which also closes idle keep-alive connections), tags each
//! request with the client's address, and on shutdown stops accepting and lets the requests in
//! flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::gate::RemoteAddr;
use crate::config::ServerSettings;
use crate::metrics as m;

/// How long shutdown waits for requests in flight before it closes their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What a full server answers before closing a new connection (plain HTTP only).
fn full_answer(max_connections: usize) -> Vec<u8> {
    let body = serde_json::json!({"error": {
        "status": 503,
        "message": format!("the server has {max_connections} connections open, the limit server.max_connections; retry later"),
    }})
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Why TLS could not be set up; names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("server.tls_cert {path}: {message}")]
    Cert { path: String, message: String },
    #[error("server.tls_key {path}: {message}")]
    Key { path: String, message: String },
    #[error("server.tls_cert and server.tls_key do not go together: {0}")]
    Mismatch(String),
}

/// Reads a PEM certificate chain and its private key into a TLS acceptor (TLS 1.2 and 1.3,
/// HTTP/1.1 by ALPN).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let cert_error = |message: String| TlsError::Cert {
        path: cert.display().to_string(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("no PEM certificate in the file".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.display().to_string(),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &ServerSettings,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let header_timeout = Duration::from_secs(settings.header_read_timeout_seconds);
    let graceful = GracefulShutdown::new();
    let full = Arc::new(full_answer(settings.max_connections));
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!(m::CONNECTIONS_REFUSED).increment(1);
            if tls.is_none() {
                tokio::spawn(refuse(stream, full.clone()));
            }
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            metrics::gauge!(m::CONNECTIONS_OPEN).increment(1.0);
            let _ = stream.set_nodelay(true);
            match tls {
                None => connection(stream, remote, app, header_timeout, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            connection(stream, remote, app, header_timeout, watcher).await
                        }
                        Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
            metrics::gauge!(m::CONNECTIONS_OPEN).decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; closing them");
    }
    Ok(())
}

async fn connection<I>(
    io: I,
    remote: SocketAddr,
    app: Router,
    header_timeout: Duration,
    graceful: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(RemoteAddr(remote));
        app.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let connection = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
    if let Err(error) = connection.await {
        tracing::debug!(%remote, %error, "connection ended with an error");
    }
}

async fn refuse(mut stream: TcpStream, answer: Arc<Vec<u8>>) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
