//! TLS 1.3 with client certificates, shared by the node API and the gateway.
//!
//! Every party (member bank or regulator) has its own issuing CA, named in the genesis
//! ([`crate::pki`]); there is no consortium CA. A client certificate names its holder in its
//! subject common name as `<party>:<role>` (e.g. `bank-a:clerk`, `bank-a:gateway`,
//! `regulator:regulator`); [`identity_of`] reads it after the handshake verified the chain
//! (and, where a CRL is configured, that the certificate is not revoked), and the connection is
//! kept only if the CA that issued the certificate is that party's ([`PartyVerifier`]): a
//! member's CA cannot mint another member's clerk. Private keys are
//! read only from files that are not readable by group or others.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::pki::CaChain;
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

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The parties whose certificates a server accepts: each party's id and issuing CA (from the
/// genesis, [`crate::genesis::Genesis::certificate_authorities`]).
pub type Parties = Vec<(String, CaChain)>;

/// Verifies a client certificate against each party's CA separately, so the party a
/// certificate speaks for is the one whose CA issued it ([`PartyVerifier::party_of`]).
pub struct PartyVerifier {
    parties: Vec<(String, Arc<dyn ClientCertVerifier>)>,
    hints: Vec<DistinguishedName>,
}

impl std::fmt::Debug for PartyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartyVerifier")
            .field(
                "parties",
                &self.parties.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PartyVerifier {
    /// One verifier per party whose CA is valid at `now`; a party whose CA has expired or is
    /// not yet valid is left out (and logged). `crls` apply to every party (a CRL applies only
    /// to certificates of its own issuer).
    ///
    /// # Errors
    /// [`TlsError::Config`] if no party has a usable CA.
    pub fn new(
        parties: &[(String, CaChain)],
        crls: &[CertificateRevocationListDer<'static>],
        now: std::time::SystemTime,
    ) -> Result<Self, TlsError> {
        let mut verifiers = Vec::with_capacity(parties.len());
        let mut hints = Vec::with_capacity(parties.len());
        for (id, ca) in parties {
            if let Err(error) = ca.check_validity(now) {
                tracing::error!(party = %id, %error, "this party's CA is not valid now: its certificates are refused");
                continue;
            }
            let mut roots = RootCertStore::empty();
            roots
                .add(ca.anchor().clone())
                .map_err(|e| TlsError::Config(format!("{id}'s CA: {e}")))?;
            hints.extend(roots.subjects());
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .with_crls(crls.iter().cloned())
                .allow_unknown_revocation_status()
                .build()
                .map_err(|e| TlsError::Config(format!("{id}'s CA: {e}")))?;
            verifiers.push((id.clone(), verifier));
        }
        if verifiers.is_empty() {
            return Err(TlsError::Config(
                "no party of the genesis has a valid CA: no certificate could be accepted".into(),
            ));
        }
        Ok(Self {
            parties: verifiers,
            hints,
        })
    }

    /// The verifier of the party `end_entity` names in its subject (`<party>:<role>`): a
    /// certificate is checked against the CA of the party it claims, and no other, so a
    /// certificate can never be taken for another party's, and a handshake costs one chain
    /// verification whatever the number of parties.
    fn claimed(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(&str, &Arc<dyn ClientCertVerifier>), rustls::Error> {
        if intermediates.len() > crate::pki::MAX_CHAIN {
            return Err(rustls::Error::General(
                "too many intermediate certificates".into(),
            ));
        }
        let identity = identity_of(end_entity).ok_or_else(|| {
            rustls::Error::General("the client certificate names no <party>:<role>".into())
        })?;
        self.parties
            .iter()
            .find(|(id, _)| *id == identity.member)
            .map(|(id, verifier)| (id.as_str(), verifier))
            .ok_or_else(|| rustls::Error::General("no such party with a valid CA".into()))
    }

    /// The party whose CA issued `end_entity` (with `intermediates`), if it is the party the
    /// certificate names.
    pub fn party_of(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Option<&str> {
        let (party, verifier) = self.claimed(end_entity, intermediates).ok()?;
        verifier
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
            .ok()
            .map(|_| party)
    }

    fn first(&self) -> &Arc<dyn ClientCertVerifier> {
        // `new` refuses an empty set.
        &self.parties[0].1
    }
}

impl ClientCertVerifier for PartyVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let (_, verifier) = self.claimed(end_entity, intermediates)?;
        verifier.verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.first().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.first().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.first().supported_verify_schemes()
    }
}

/// Paths of a TLS server's own material, and whom it trusts.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    /// This server's certificate chain.
    pub cert: std::path::PathBuf,
    /// This server's private key (0600).
    pub key: std::path::PathBuf,
    /// The parties whose client certificates are accepted.
    pub parties: Parties,
    /// A CRL file (optional; absent means nothing revoked), normally the own CA's.
    pub crl: Option<std::path::PathBuf>,
}

/// A server configuration and the verifier that tells which party a client is.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The rustls configuration.
    pub config: Arc<ServerConfig>,
    /// Its client certificate verifier.
    pub verifier: Arc<PartyVerifier>,
}

/// A TLS 1.3 server that requires a client certificate from one of `files.parties`' CAs.
pub fn server_config(files: &ServerFiles) -> Result<ServerTls, TlsError> {
    let crls = match &files.crl {
        Some(path) => load_crls(path)?,
        None => Vec::new(),
    };
    let verifier = Arc::new(PartyVerifier::new(
        &files.parties,
        &crls,
        std::time::SystemTime::now(),
    )?);
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(load_certs(&files.cert)?, load_key(&files.key)?)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        verifier,
    })
}

/// Paths of a TLS client's material, and the CAs it trusts for the server.
#[derive(Debug, Clone)]
pub struct TlsFiles<'a> {
    /// This client's certificate chain.
    pub cert: &'a Path,
    /// This client's private key (0600).
    pub key: &'a Path,
    /// The CAs a server certificate may chain to: the CA of the party whose server this is
    /// (or, for tools that speak to every party, every party's).
    pub anchors: &'a [CertificateDer<'static>],
}

/// A TLS 1.3 client that trusts only `files.anchors` and presents a client certificate.
pub fn client_config(files: &TlsFiles<'_>) -> Result<ClientConfig, TlsError> {
    let mut roots = RootCertStore::empty();
    for anchor in files.anchors {
        roots
            .add(anchor.clone())
            .map_err(|e| TlsError::Config(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Config("no CA to trust the server by".into()));
    }
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(load_certs(files.cert)?, load_key(files.key)?)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The trust anchors of `parties` (their issuing CAs).
pub fn anchors(parties: &[(String, CaChain)]) -> Vec<CertificateDer<'static>> {
    parties.iter().map(|(_, ca)| ca.anchor().clone()).collect()
}

/// An HTTPS client for `files` (mutual TLS), with a request timeout. It never follows a
/// redirect: a peer answering 3xx is refused, not followed (a lying peer could otherwise have
/// this party's certificate sent, with the same request, wherever it likes).
pub fn https_client(files: &TlsFiles<'_>, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(files)?)
        .redirect(reqwest::redirect::Policy::none())
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

/// How often a server looks for a new CRL.
pub const CRL_RELOAD: Duration = Duration::from_secs(2);

/// A server configuration that follows its CRL file: when the file changes, new connections
/// use a configuration with the new revocations (an unreadable new CRL keeps the old one, and
/// is logged). Runs until the receiver is dropped.
pub fn reloading(
    files: ServerFiles,
) -> Result<tokio::sync::watch::Receiver<Arc<ServerTls>>, TlsError> {
    let initial = Arc::new(server_config(&files)?);
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
            match server_config(&files) {
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
/// extension; connections whose certificate names no identity are closed. Once `shutdown`
/// resolves, requests in flight have `grace` to finish and idle connections close; when this
/// returns, no connection is left.
pub async fn serve(
    listener: TcpListener,
    config: tokio::sync::watch::Receiver<Arc<ServerTls>>,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send,
    grace: Duration,
) {
    tokio::pin!(shutdown);
    let (closing, closing_receiver) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let tls = config.borrow().clone();
        let acceptor = TlsAcceptor::from(tls.config.clone());
        let router = router.clone();
        let closing = closing_receiver.clone();
        connections.spawn(async move {
            serve_connection(
                acceptor,
                tls.verifier.clone(),
                stream,
                peer,
                router,
                closing,
            )
            .await;
        });
    }
    drop(listener);
    // Requests in flight finish; idle keep-alive connections close at once. Whatever is still
    // running after `grace` is cut off, so that once this returns no connection holds the
    // router (and what its state holds: stores, locks).
    let _ = closing.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

async fn serve_connection(
    acceptor: TlsAcceptor,
    verifier: Arc<PartyVerifier>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
        tracing::debug!(%peer, "TLS handshake failed");
        return;
    };
    let Some((end_entity, intermediates)) = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.split_first())
    else {
        return;
    };
    let Some(identity) = identity_of(end_entity) else {
        tracing::debug!(%peer, "client certificate names no identity");
        return;
    };
    // A certificate speaks for the party whose CA issued it, and no other: the handshake
    // verified it against the CA of the party it names ([`PartyVerifier`]); nothing else
    // reaches the router.
    if verifier.party_of(end_entity, intermediates) != Some(identity.member.as_str()) {
        tracing::debug!(%peer, "client certificate not issued by the CA of the party it names");
        return;
    }
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
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(15))
        .serve_connection(io, service);
    tokio::pin!(connection);
    let closed = async move {
        // The guard `wait_for` returns is not `Send`: drop it at once.
        let _ = closing.wait_for(|closing| *closing).await.is_ok();
    };
    tokio::select! {
        _ = connection.as_mut() => {}
        () = closed => {
            // Finish the request in flight, if any, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
