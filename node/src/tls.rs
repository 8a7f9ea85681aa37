//! TLS 1.3 with client certificates, shared by the node API and the gateway.
//!
//! Every certificate is issued by the consortium CA. A client certificate names its holder in
//! its subject common name as `<member>:<role>` (e.g. `bank-a:clerk`, `bank-a:gateway`,
//! `regulator:regulator`); [`identity_of`] reads it after the handshake verified the chain
//! (and, where a CRL is configured, that the certificate is not revoked). Private keys are
//! read only from files that are not readable by group or others.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A private key file other users can read.
    #[error("{path} must not be readable by group or others (chmod 600)")]
    Permissions {
        /// The file.
        path: String,
    },
    /// The PEM contents are not what was expected.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Who is on the other end of a verified connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// Member (bank) or regulator id.
    pub member: String,
    /// Role, e.g. `clerk`, `auditor`, `gateway`, `regulator`.
    pub role: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.member, self.role)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Refuses a secret file that group or others can read.
pub fn check_private(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = std::fs::metadata(path).map_err(|e| TlsError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(TlsError::Permissions {
                path: path.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Reads a secret file after checking its permissions.
pub fn read_private(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, TlsError> {
    check_private(path)?;
    Ok(zeroize::Zeroizing::new(read(path)?))
}

/// The certificates of a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.display().to_string(),
            reason: "no certificate".into(),
        });
    }
    Ok(certs)
}

/// The private key of a PEM file (permissions checked).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_private(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The CRLs of a PEM file, or none if the file does not exist.
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = read(path)?;
    CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

fn roots(ca: &Path) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in load_certs(ca)? {
        store
            .add(cert)
            .map_err(|e| TlsError::Config(format!("CA certificate: {e}")))?;
    }
    Ok(store)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Paths of a TLS endpoint's material.
#[derive(Debug, Clone)]
pub struct TlsFiles<'a> {
    /// This endpoint's certificate chain.
    pub cert: &'a Path,
    /// This endpoint's private key (0600).
    pub key: &'a Path,
    /// The consortium CA certificate.
    pub ca: &'a Path,
    /// A CRL file of the consortium CA (optional; absent means nothing revoked).
    pub crl: Option<&'a Path>,
}

/// A TLS 1.3 server that requires a client certificate from the consortium CA.
pub fn server_config(files: &TlsFiles<'_>) -> Result<ServerConfig, TlsError> {
    let crls = match files.crl {
        Some(path) => load_crls(path)?,
        None => Vec::new(),
    };
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(files.ca)?), provider())
            .with_crls(crls)
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(files.cert)?, load_key(files.key)?)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A TLS 1.3 client that trusts only the consortium CA and presents a client certificate.
pub fn client_config(files: &TlsFiles<'_>) -> Result<ClientConfig, TlsError> {
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots(files.ca)?)
        .with_client_auth_cert(load_certs(files.cert)?, load_key(files.key)?)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// An HTTPS client for `files` (mutual TLS), with a request timeout.
pub fn https_client(files: &TlsFiles<'_>, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(files)?)
        .timeout(timeout)
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The `<member>:<role>` identity in a certificate's subject common name.
pub fn identity_of(cert: &CertificateDer<'_>) -> Option<Identity> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let common_name = parsed.subject().iter_common_name().next()?.as_str().ok()?;
    let (member, role) = common_name.split_once(':')?;
    let valid = |s: &str| veil_policies::schema::is_member_id(s);
    if !valid(member) || !valid(role) {
        return None;
    }
    Some(Identity {
        member: member.to_owned(),
        role: role.to_owned(),
    })
}

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Owned paths of a server's TLS material, for reloading.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    /// Certificate chain.
    pub cert: std::path::PathBuf,
    /// Private key.
    pub key: std::path::PathBuf,
    /// Consortium CA.
    pub ca: std::path::PathBuf,
    /// CRL (optional).
    pub crl: Option<std::path::PathBuf>,
}

impl ServerFiles {
    fn files(&self) -> TlsFiles<'_> {
        TlsFiles {
            cert: &self.cert,
            key: &self.key,
            ca: &self.ca,
            crl: self.crl.as_deref(),
        }
    }
}

/// How often a server looks for a new CRL.
pub const CRL_RELOAD: Duration = Duration::from_secs(2);

/// A server configuration that follows its CRL file: when the file changes, new connections
/// use a configuration with the new revocations (an unreadable new CRL keeps the old one, and
/// is logged). Runs until the receiver is dropped.
pub fn reloading(
    files: ServerFiles,
) -> Result<tokio::sync::watch::Receiver<Arc<ServerConfig>>, TlsError> {
    let initial = Arc::new(server_config(&files.files())?);
    let (sender, receiver) = tokio::sync::watch::channel(initial);
    let modified = |path: &Option<std::path::PathBuf>| {
        path.as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok())
    };
    let mut seen = modified(&files.crl);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CRL_RELOAD).await;
            if sender.is_closed() {
                break;
            }
            let now = modified(&files.crl);
            if now == seen {
                continue;
            }
            seen = now;
            match server_config(&files.files()) {
                Ok(config) => {
                    tracing::info!("certificate revocation list reloaded");
                    let _ = sender.send(Arc::new(config));
                }
                Err(error) => tracing::error!(%error, "new CRL refused; keeping the previous one"),
            }
        }
    });
    Ok(receiver)
}

/// Serves `router` over mutual TLS on `listener` until `shutdown` resolves, with the latest
/// configuration `config` holds. Each request carries the client's [`Identity`] as an
/// extension; connections whose certificate names no identity are closed.
pub async fn serve(
    listener: TcpListener,
    config: tokio::sync::watch::Receiver<Arc<ServerConfig>>,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let acceptor = TlsAcceptor::from(config.borrow().clone());
        let router = router.clone();
        tokio::spawn(async move {
            serve_connection(acceptor, stream, peer, router).await;
        });
    }
}

async fn serve_connection(
    acceptor: TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: axum::Router,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
        tracing::debug!(%peer, "TLS handshake failed");
        return;
    };
    let identity = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(identity_of);
    let Some(identity) = identity else {
        tracing::debug!(%peer, "client certificate names no identity");
        return;
    };
    let service = tower::ServiceExt::map_request(
        router,
        move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(identity.clone());
            request
        },
    );
    let service = hyper_util::service::TowerToHyperService::new(service);
    let io = hyper_util::rt::TokioIo::new(crate::problem::ProblemFraming::new(tls));
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(15))
        .serve_connection(io, service)
        .await;
}
