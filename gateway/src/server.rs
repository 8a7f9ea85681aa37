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
use veil_policies::Policies;

use crate::app::{Gateway, Secrets};
use crate::circuits::ProvingKeys;
use crate::config::{GatewayConfig, GatewayKind};
use crate::keys::{MemberSecrets, load_view_keys};
use crate::metrics::GatewayMetrics;
use crate::routes::{self, Routes};
use crate::store::GatewayStore;

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
}

impl GatewayServer {
    /// Stops serving and waits for in-flight connections to be dropped.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.follower.abort();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Builds the gateway of `config`; `node` overrides the configured remote node link (as in
/// `veil up`, where the node runs in the same process).
pub fn build(config: &GatewayConfig, node: Option<NodeLink>) -> Result<Gateway, String> {
    let genesis = Arc::new(Genesis::load(&config.consortium).map_err(|e| e.to_string())?);
    let text = std::fs::read_to_string(&config.policy)
        .map_err(|e| format!("{}: {e}", config.policy.display()))?;
    let policies =
        Policies::parse(&text).map_err(|e| format!("{}: {e}", config.policy.display()))?;
    if policies.hash() != genesis.policy_hash {
        return Err(format!(
            "{}: this policy set is not the one the genesis names (hash mismatch)",
            config.policy.display()
        ));
    }
    let secrets = match config.kind {
        GatewayKind::Member => {
            if genesis.member(&config.id).is_none() {
                return Err(format!("{} is not a member of the consortium", config.id));
            }
            let keys = config
                .keys
                .as_ref()
                .ok_or("a member gateway needs [keys]")?;
            let secrets = MemberSecrets::load(&keys.signing, &keys.encryption, &keys.borrower_ref)
                .map_err(|e| e.to_string())?;
            let member = genesis.member(&config.id).ok_or("unknown member")?;
            if secrets.signing.verifying_key() != member.signing_key
                || secrets.encryption.public_key() != &member.encryption_key
            {
                return Err(format!(
                    "the keys of {} do not match the genesis",
                    config.id
                ));
            }
            Secrets::Member(Box::new(secrets))
        }
        GatewayKind::Regulator => {
            if genesis.regulator(&config.id).is_none() {
                return Err(format!(
                    "{} is not a regulator of the consortium",
                    config.id
                ));
            }
            let path = config
                .view_key
                .as_ref()
                .ok_or("a regulator gateway needs view_key")?;
            Secrets::Regulator(
                load_view_keys(path, &genesis.consortium_id).map_err(|e| e.to_string())?,
            )
        }
    };
    let node = match node {
        Some(node) => node,
        None => {
            let client = tls::https_client(
                &TlsFiles {
                    cert: &config.node.cert,
                    key: &config.node.key,
                    ca: &config.tls.ca,
                    crl: None,
                },
                Duration::from_secs(60),
            )
            .map_err(|e| e.to_string())?;
            NodeLink::Remote(RemoteNode::new(client, config.node.api))
        }
    };
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let store = GatewayStore::open(&config.data_dir).map_err(|e| e.to_string())?;
    Ok(Gateway::new(
        config.kind,
        config.id.clone(),
        genesis,
        policies,
        node,
        secrets,
        store,
        ProvingKeys::beside(&config.consortium),
    ))
}

/// Starts serving the gateway of `config` (see [`build`]).
pub async fn start(
    config: &GatewayConfig,
    node: Option<NodeLink>,
) -> Result<GatewayServer, String> {
    let gateway = Arc::new(build(config, node)?);
    let tls_config = tls::reloading(tls::ServerFiles {
        cert: config.tls.cert.clone(),
        key: config.tls.key.clone(),
        ca: config.tls.ca.clone(),
        crl: config.tls.crl.clone(),
    })
    .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("gateway {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = routes::router(Routes {
        gateway: gateway.clone(),
        metrics: Arc::new(GatewayMetrics::default()),
    })
    .layer(
        tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(
                |_: tower::BoxError| async { crate::problem::Problem::timeout() },
            ))
            .layer(tower::timeout::TimeoutLayer::new(REQUEST_TIMEOUT)),
    );
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        tls::serve(listener, tls_config, router, async move {
            let _ = shutdown_rx.await;
        })
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
    })
}

/// `veil gateway --config FILE [--dev]`: serves until SIGINT/SIGTERM. Without `dev`, a
/// genesis whose circuit keys come from the insecure dev setup is refused.
pub fn run(config_path: &Path, dev: bool) -> Result<i32, String> {
    let config = GatewayConfig::load(config_path).map_err(|e| e.to_string())?;
    if !dev {
        Genesis::load(&config.consortium)
            .and_then(|g| g.require_production_circuits())
            .map_err(|e| e.to_string())?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let server = start(&config, None).await?;
        veil_node::process::shutdown_signal().await;
        tracing::info!("shutting down");
        server.stop().await;
        Ok(0)
    })
}
