//! TLS for the gRPC port and the public HTTP port (rustls with the aws-lc-rs provider the object
//! store's S3 client already builds, so no second crypto library enters the tree).
//!
//! One certificate source serves both ports: [`ReloadingCert`] re-reads the certificate and key
//! files when their modification time, size or inode changes, checked on every handshake, so a
//! renewed certificate (cert-manager, a Kubernetes Secret update, `mv` of new files) is in effect
//! for the next connection without a restart; connections already open keep the certificate they
//! were made with. A replacement that cannot be read or whose key does not match keeps the
//! previous certificate in service (and is logged once). The client CA (`--tls-client-ca`) is read
//! at start only.
//!
//! Handshakes run in a task per connection, so a slow or silent client never holds up the accept
//! loop; finished handshakes are handed to tonic (as a stream) or axum (as a `Listener`).

use std::fs::Metadata;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

use crate::server::StartError;

/// How long a client may take to complete the TLS handshake before its connection is closed:
/// long enough for a mobile network, short enough that idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them.
const ACCEPT_QUEUE: usize = 128;

/// The crypto provider: aws-lc-rs, the one rustls is already built with in this tree.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider())
}

/// What identifies one version of the certificate and key files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    cert: FileStamp,
    key: FileStamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self { modified: meta.modified().ok(), len: meta.len(), inode }
    }
}

fn stamp(cert: &Path, key: &Path) -> std::io::Result<Stamp> {
    Ok(Stamp { cert: FileStamp::of(&std::fs::metadata(cert)?), key: FileStamp::of(&std::fs::metadata(key)?) })
}

/// Reads a PEM certificate chain and private key and checks that they belong together.
fn load_certified_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the TLS certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("the TLS certificate file {} holds no certificate", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the TLS private key {}: {e}", key.display()))?;
    CertifiedKey::from_der(chain, private, provider)
        .map_err(|e| format!("the TLS key {} does not fit the certificate {}: {e}", key.display(), cert.display()))
}

/// The server certificate, re-read from its files when they change (see the module comment).
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    state: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    stamp: Stamp,
    key: Arc<CertifiedKey>,
    /// The files' version that last failed to load, so a bad replacement is logged once.
    failed: Option<Stamp>,
}

impl ReloadingCert {
    /// Loads the certificate and key; a start-up error if they cannot be read or do not match.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, StartError> {
        let provider = provider();
        let stamp = stamp(cert, key).map_err(|e| format!("cannot read the TLS certificate or key: {e}"))?;
        let loaded = load_certified_key(cert, key, &provider)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            provider,
            state: Mutex::new(Loaded { stamp, key: Arc::new(loaded), failed: None }),
        })
    }

    /// The certificate in effect, reloaded first if the files changed.
    fn current(&self) -> Arc<CertifiedKey> {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Two `stat` calls per handshake: negligible next to the handshake's own cryptography.
        if let Ok(now) = stamp(&self.cert, &self.key)
            && now != state.stamp
            && state.failed != Some(now)
        {
            match load_certified_key(&self.cert, &self.key, &self.provider) {
                Ok(key) => {
                    state.key = Arc::new(key);
                    state.stamp = now;
                    state.failed = None;
                    tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                }
                Err(error) => {
                    state.failed = Some(now);
                    tracing::warn!(%error, "the changed TLS certificate files cannot be used; keeping the previous certificate");
                }
            }
        }
        Arc::clone(&state.key)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// TLS settings of both ports: one certificate source, one client verifier (gRPC only).
#[derive(Clone)]
pub struct Tls {
    /// For the gRPC port: ALPN `h2`, client certificates required when a client CA is configured.
    pub grpc: TlsAcceptor,
    /// For the public HTTP port: ALPN `http/1.1`, never a client certificate (the feed is public).
    pub http: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the certificate, key and optional client CA, with errors worded for the operator.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Self, StartError> {
        let resolver = Arc::new(ReloadingCert::load(cert, key)?);
        let provider = provider();
        let builder = || {
            ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS configuration: {e}"))
        };
        let mut grpc = match client_ca {
            None => builder()?.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(ca)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("cannot read the TLS client CA {}: {e}", ca.display()))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(format!("the TLS client CA file {} holds no usable certificate", ca.display()).into());
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("TLS client CA {}: {e}", ca.display()))?;
                builder()?.with_client_cert_verifier(verifier)
            }
        }
        .with_cert_resolver(resolver.clone());
        grpc.alpn_protocols = vec![b"h2".to_vec()];
        let mut http = builder()?.with_no_client_auth().with_cert_resolver(resolver);
        http.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { grpc: TlsAcceptor::from(Arc::new(grpc)), http: TlsAcceptor::from(Arc::new(http)) })
    }
}

/// Connections accepted on a TCP listener whose TLS handshake has completed: a `Stream` for
/// tonic's `serve_with_incoming_shutdown` and an axum `Listener`.
pub struct TlsIncoming {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsIncoming {
    /// Starts accepting on `listener`; accepting stops when this value is dropped.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(ACCEPT_QUEUE);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = tx.closed() => return,
                    accepted = listener.accept() => accepted,
                };
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Without TCP_NODELAY, Nagle and delayed acknowledgements add ~40 ms to small responses.
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake refused"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { rx, local })
    }
}

impl std::fmt::Debug for TlsIncoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIncoming").field("local", &self.local).finish_non_exhaustive()
    }
}

impl futures::Stream for TlsIncoming {
    type Item = std::io::Result<TlsStream<TcpStream>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|next| next.map(|(stream, _)| Ok(stream)))
    }
}

impl axum::serve::Listener for TlsIncoming {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(next) => next,
            // The accept task only ends when this listener is dropped, so this is unreachable in
            // practice; waiting forever is what a listener with no more connections does.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
