//! Starting a gateway: load and check its configuration, keys and policy, open its store,
//! connect to its node, and serve the API over mutual TLS with request timeouts.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use veil_node::genesis::Genesis;
use veil_node::link::{NodeLink, RemoteNode};
use veil_node::tls::{self, TlsFiles};
use veil_node::validation::Validator;
use veil_policies::Policies;

use crate::api::routes::{self, Routes};
use crate::consortium::config::{GatewayConfig, GatewayKind};
use crate::entry::circuits::ProvingKeys;
use crate::entry::keys::{MemberSecrets, load_view_keys};
use crate::service::store::GatewayStore;
use crate::service::{Gateway, Secrets};

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `gateway.toml` is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] crate::consortium::config::GatewayConfigError),
    /// The genesis is unreadable or invalid, or its circuit keys are refused.
    #[error(transparent)]
    Genesis(#[from] veil_node::genesis::GenesisError),
    /// The policy file is unreadable or invalid.
    #[error("{path}: {reason}")]
    Policy {
        /// The policy file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The configuration does not fit the genesis (a policy set, keys or an id it does not
    /// name): what.
    #[error("{0}")]
    Mismatch(String),
    /// A key file is unreadable or invalid.
    #[error(transparent)]
    Keys(#[from] crate::entry::keys::KeyError),
    /// A TLS file is unreadable or invalid.
    #[error(transparent)]
    Tls(#[from] veil_node::tls::TlsError),
    /// The gateway's store cannot be opened.
    #[error(transparent)]
    Store(#[from] crate::service::store::StoreError),
    /// A directory, socket or runtime could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being set up.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The longest any request may take (writes wait up to 30 s for finalization).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);

/// A running gateway.
#[derive(Debug)]
pub struct GatewayServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The gateway (for in-process callers such as `veil demo`).
    pub gateway: Arc<Gateway>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    follower: JoinHandle<()>,
    writes: Arc<tokio::sync::RwLock<()>>,
}

/// How long stopping a gateway waits for the writes in flight to finish.
pub const STOP_WAIT: Duration = Duration::from_secs(40);

impl GatewayServer {
    /// Stops serving and waits for in-flight connections to be dropped.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.follower.abort();
        // Until the aborted task is dropped it holds the gateway, and with it the store's
        // lock: wait for it, so the store can be opened again as soon as this returns.
        let _ = (&mut self.follower).await;
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        // Writes run to completion even when their client is gone; let them finish rather
        // than cut them off mid-way when the runtime shuts down.
        if tokio::time::timeout(STOP_WAIT, self.writes.write())
            .await
            .is_err()
        {
            tracing::warn!("stopped with writes still in flight");
        }
    }
}

/// Builds the gateway of `config`; `node` overrides the configured remote node link (as in
/// `veil up`, where the node runs in the same process).
pub fn build(config: &GatewayConfig, node: Option<NodeLink>) -> Result<Gateway, StartError> {
    let genesis = Arc::new(Genesis::load(&config.consortium)?);
    genesis.require_signed()?;
    let policy_error = |reason: String| StartError::Policy {
        path: config.policy.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&config.policy).map_err(|e| policy_error(e.to_string()))?;
    let policies = Policies::parse(&text).map_err(|e| policy_error(e.to_string()))?;
    let validator = Validator::with_policies(genesis.clone(), Arc::new(policies.clone()))
        .map_err(|e| StartError::Mismatch(format!("{}: {e}", config.policy.display())))?;
    let secrets = match config.kind {
        GatewayKind::Member => {
            if genesis.member(&config.id).is_none() {
                return Err(StartError::Mismatch(format!(
                    "{} is not a member of the consortium",
                    config.id
                )));
            }
            let keys = config
                .keys
                .as_ref()
                .ok_or_else(|| StartError::Mismatch("a member gateway needs [keys]".into()))?;
            let secrets = MemberSecrets::load(&keys.signing, &keys.encryption)?;
            let member = genesis
                .member(&config.id)
                .ok_or_else(|| StartError::Mismatch("unknown member".into()))?;
            if secrets.signing.verifying_key() != member.signing_key
                || secrets.encryption.public_key() != &member.encryption_key
            {
                return Err(StartError::Mismatch(format!(
                    "the keys of {} do not match the genesis",
                    config.id
                )));
            }
            // The member's share of the borrower-reference OPRF key, beside its other keys.
            let secrets = match genesis.oprf_key() {
                Some(key) => {
                    let index = genesis
                        .members
                        .iter()
                        .position(|m| m.id == config.id)
                        .and_then(|i| u16::try_from(i + 1).ok())
                        .ok_or_else(|| StartError::Mismatch("unknown member".into()))?;
                    let path = keys
                        .signing
                        .parent()
                        .unwrap_or(Path::new("."))
                        .join(crate::consortium::init::OPRF_SHARE_FILE);
                    secrets.with_oprf_share(&path, index, &key)?
                }
                None => {
                    return Err(StartError::Mismatch(
                        "the genesis has no borrower-reference OPRF key ([oprf]): the members \
                         make one by the DKG (`veil dkg`, docs/ceremony.md) and assemble the \
                         genesis with it (`veil consortium assemble --dkg`)"
                            .into(),
                    ));
                }
            };
            Secrets::Member(Box::new(secrets))
        }
        GatewayKind::Regulator => {
            if genesis.regulator(&config.id).is_none() {
                return Err(StartError::Mismatch(format!(
                    "{} is not a regulator of the consortium",
                    config.id
                )));
            }
            let path = config
                .view_key
                .as_ref()
                .ok_or_else(|| StartError::Mismatch("a regulator gateway needs view_key".into()))?;
            let keys = load_view_keys(path, &genesis.consortium_id)?;
            // The genesis must publish this regulator's own keys: a view key that opens none of
            // them means the genesis (or the key file) is not the regulator's.
            let regulator = genesis
                .regulator(&config.id)
                .ok_or_else(|| StartError::Mismatch("unknown regulator".into()))?;
            if let Some((scope, published)) = regulator.view_keys.iter().next()
                && keys.key_for(scope).map(|k| k.public_key().clone()) != Some(published.clone())
            {
                return Err(StartError::Mismatch(format!(
                    "{}: the genesis publishes view keys of {} that {} does not derive (another \
                     key was put in the genesis, or this is another regulator's key file)",
                    config.id,
                    scope,
                    path.display()
                )));
            }
            let keys = crate::entry::keys::RegulatorKeys::new(keys);
            if let Some(auditor) = &keys.auditor
                && auditor.public_key() != &regulator.auditor_key
            {
                return Err(StartError::Mismatch(format!(
                    "{}: the genesis names an auditor key that {} does not derive",
                    config.id,
                    path.display()
                )));
            }
            Secrets::Regulator(Box::new(keys))
        }
    };
    let node = match node {
        Some(node) => node,
        None => {
            // The node's server certificate must come from its own member's CA.
            let anchors = vec![
                config
                    .node_ca(&genesis)
                    .map_err(StartError::Mismatch)?
                    .anchor()
                    .clone(),
            ];
            let client = tls::https_client(
                &TlsFiles {
                    cert: &config.node.cert,
                    key: &config.node.key,
                    anchors: &anchors,
                },
                Duration::from_secs(60),
            )?;
            NodeLink::Remote(RemoteNode::new(client, config.node.api))
        }
    };
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::Io {
        what: config.data_dir.display().to_string(),
        source,
    })?;
    let store = GatewayStore::open(&config.data_dir)?;
    let mut gateway = Gateway::new(
        config.kind,
        config.id.clone(),
        validator,
        policies,
        node,
        secrets,
        store,
        ProvingKeys::beside(&config.consortium),
    );
    if let Some(ms) = config.disclosure_anchor_ms {
        gateway.disclosure_anchor = Duration::from_millis(ms);
    }
    if let Some(ms) = config.oprf_report_ms {
        gateway.oprf_report = Duration::from_millis(ms);
    }
    // The other members' gateways, for borrower-reference evaluations: as this member's
    // gateway identity, trusting every party's CA the genesis names.
    if config.kind == GatewayKind::Member && gateway.oprf_key.is_some() {
        let anchors = tls::anchors(&genesis.certificate_authorities());
        gateway.peers = Some(tls::https_client(
            &TlsFiles {
                cert: &config.node.cert,
                key: &config.node.key,
                anchors: &anchors,
            },
            // A peer that does not answer promptly is passed over for the next one.
            Duration::from_secs(3),
        )?);
    }
    Ok(gateway)
}

/// Starts serving the gateway of `config` (see [`build`]).
pub async fn start(
    config: &GatewayConfig,
    node: Option<NodeLink>,
) -> Result<GatewayServer, StartError> {
    let gateway = Arc::new(build(config, node)?);
    let tls_config = tls::reloading(tls::ServerFiles {
        cert: config.tls.cert.clone(),
        key: config.tls.key.clone(),
        parties: gateway.genesis.certificate_authorities(),
        crl: config.tls.crl.clone(),
    })?;
    let io = |what: String| move |source| StartError::Io { what, source };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("gateway {}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(io(format!("gateway {}", config.listen)))?;
    let writes = Arc::new(tokio::sync::RwLock::new(()));
    let router = routes::router(Routes {
        gateway: gateway.clone(),
        metrics: gateway.metrics.clone(),
        writes: writes.clone(),
    })
    .layer(
        tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(
                |method: axum::http::Method, _: tower::BoxError| async move {
                    crate::api::problem::Problem::request_timeout(
                        method == axum::http::Method::POST,
                    )
                },
            ))
            .layer(tower::timeout::TimeoutLayer::new(REQUEST_TIMEOUT)),
    );
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        // Reads in flight finish; a write cut off here still completes (see `stop`).
        tls::serve(
            listener,
            tls_config,
            router,
            async move {
                let _ = shutdown_rx.await;
            },
            Duration::from_secs(10),
        )
        .await;
    });
    let follower = tokio::spawn(gateway.clone().follow());
    tracing::info!(gateway = %config.id, %addr, "gateway started");
    Ok(GatewayServer {
        addr,
        gateway,
        shutdown: Some(shutdown_tx),
        server: Some(server),
        follower,
        writes,
    })
}

/// `veil gateway --config FILE [--dev]`: serves until SIGINT/SIGTERM. Without `dev`, a
/// genesis whose circuit keys come from the insecure dev setup is refused.
pub fn run(config_path: &Path, dev: bool) -> Result<i32, StartError> {
    let config = GatewayConfig::load(config_path)?;
    let genesis = Genesis::load(&config.consortium)?;
    genesis.require_signed()?;
    if !dev {
        genesis.require_production_circuits()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| StartError::Io {
            what: "the runtime".into(),
            source,
        })?;
    runtime.block_on(async {
        let server = start(&config, None).await?;
        veil_node::process::shutdown_signal().await;
        tracing::info!("shutting down");
        server.stop().await;
        Ok(0)
    })
}
