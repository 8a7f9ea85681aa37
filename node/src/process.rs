//! Running a node for real: commonware's tokio runtime, authenticated TCP peers
//! (`commonware-p2p` lookup with SAKE handshakes and encrypted streams), RocksDB, the node API
//! over mutual TLS, and graceful shutdown on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use commonware_codec::DecodeExt as _;
use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{
    Handle, Metrics as _, Runner as _, Spawner as _, Supervisor as _, tokio as runtime,
};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::NZUsize;
use commonware_utils::ordered::Map;
use veil_crypto::EncodingError;
use veil_crypto::encoding::{self, KeyAlgorithm};

use crate::config::{ConfigError, NodeConfig};
use crate::consensus::{self, Channels, PrivateKey, channel};
use crate::genesis::{Genesis, GenesisError};
use crate::link::LocalNode;
use crate::runner::{self, NodeChannels, StartError};
use crate::state::{NodeMetrics, NodeState, VerifiedEntries};
use crate::store::StoreError;
use crate::store::rocks::RocksStore;
use crate::tls::{self, TlsError};
use crate::validation::Validator;
use veil_policies::Policies;

/// Why a node process could not start or stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The consortium file is unusable.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// A key or certificate file is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The consensus key file does not hold an Ed25519 key.
    #[error("{}: {problem}", path.display())]
    Identity {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        problem: IdentityError,
    },
    /// The configured member is not in the consortium.
    #[error("member {0:?} is not in the consortium")]
    UnknownMember(String),
    /// The consensus key is not the member's in the genesis.
    #[error("{}: this key is not {member}'s consensus key in the genesis", path.display())]
    WrongKey {
        /// The key file.
        path: PathBuf,
        /// The configured member.
        member: String,
    },
    /// The data directory cannot be created.
    #[error("{}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Two members share a p2p identity.
    #[error("duplicate peers in the genesis")]
    DuplicatePeers,
    /// The policy set cannot be used.
    #[error("{path}: {reason}")]
    Policy {
        /// The policy file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Gossip or consensus could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The node API or the peer listener cannot listen (e.g. another process holds the port).
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The configured address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The node's thread cannot be started.
    #[error("{0}")]
    Thread(std::io::Error),
    /// The node's thread ended before the node started.
    #[error("node thread exited during start")]
    ThreadExited,
    /// The node's thread panicked.
    #[error("node thread panicked")]
    ThreadPanicked,
}

/// What is wrong with a consensus key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// It is not text.
    #[error("not PEM")]
    NotPem,
    /// It is not a PKCS#8 Ed25519 private key.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// Its seed is not an Ed25519 key.
    #[error("not an Ed25519 key")]
    NotEd25519,
}

/// Reads a node's consensus key (PKCS#8 PEM Ed25519, owner-only permissions).
pub fn load_identity(path: &Path) -> Result<PrivateKey, NodeError> {
    let identity = |problem: IdentityError| NodeError::Identity {
        path: path.to_owned(),
        problem,
    };
    let pem = tls::read_private(path)?;
    let text = std::str::from_utf8(&pem).map_err(|_| identity(IdentityError::NotPem))?;
    let seed = encoding::private_key_from_pem(KeyAlgorithm::Ed25519, text)
        .map_err(|e| identity(e.into()))?;
    PrivateKey::decode(seed.to_vec()).map_err(|_| identity(IdentityError::NotEd25519))
}

/// The validator of `genesis`, with the policy set of `policy` (the built-in default set if
/// `None`), which must be the one the genesis names.
fn validator(genesis: Arc<Genesis>, policy: Option<&Path>) -> Result<Validator, NodeError> {
    let Some(path) = policy else {
        return Validator::new(genesis).map_err(|e| NodeError::Policy {
            path: "the built-in default policy set".into(),
            reason: format!("{e} (set `policy = \"...\"` in node.toml)"),
        });
    };
    let policy_error = |reason: String| NodeError::Policy {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| policy_error(e.to_string()))?;
    let policies = Policies::parse(&text).map_err(|e| policy_error(e.to_string()))?;
    Validator::with_policies(genesis, Arc::new(policies)).map_err(|e| policy_error(e.to_string()))
}

fn create_data_dir(path: &Path) -> Result<(), NodeError> {
    std::fs::create_dir_all(path).map_err(|source| NodeError::DataDir {
        path: path.to_owned(),
        source,
    })
}

/// A started node: its in-process handle, the API address, and its tasks.
pub struct StartedNode {
    /// The in-process link for a gateway in the same process.
    pub local: LocalNode,
    /// Where the API listens.
    pub api: SocketAddr,
    /// Every task.
    pub handles: Vec<Handle<()>>,
}

impl std::fmt::Debug for StartedNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedNode")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// Starts the node of `config` on `context`: store, p2p network, consensus, API.
/// `verified` is its cache of verified entries (shared only among nodes of one consortium in
/// one process; see [`VerifiedEntries`]).
pub async fn start(
    context: runtime::Context,
    config: &NodeConfig,
    verified: VerifiedEntries,
) -> Result<StartedNode, NodeError> {
    let genesis = Arc::new(Genesis::load(&config.consortium)?);
    genesis.require_signed()?;
    let member = genesis
        .member(&config.member)
        .ok_or_else(|| NodeError::UnknownMember(config.member.clone()))?
        .clone();
    let signer = load_identity(&config.identity_key)?;
    if signer.public_key() != member.consensus_key {
        return Err(NodeError::WrongKey {
            path: config.identity_key.clone(),
            member: member.id,
        });
    }
    create_data_dir(&config.data_dir)?;
    let store = RocksStore::open(&config.data_dir.join("ledger"))?;
    let validator = validator(genesis.clone(), config.policy.as_deref())?;
    let state = Arc::new(NodeState::with_verified(
        validator,
        member.id.clone(),
        Arc::new(store),
        NodeMetrics::register(&context.child("veil")),
        verified,
    ));

    // Both listening ports first: a port another process holds is a clear error here, not a
    // panic inside the peer network's listener task.
    let listen = |source| NodeError::Listen {
        address: config.api.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .map_err(listen)?;
    let api = listener.local_addr().map_err(listen)?;
    let p2p_listen = config.p2p_listen.unwrap_or(member.p2p_address);
    drop(
        std::net::TcpListener::bind(p2p_listen).map_err(|source| NodeError::Listen {
            address: p2p_listen,
            source,
        })?,
    );

    // Peers: every member's node at its genesis address, authenticated by its consensus key.
    let validators = genesis.members.len() as u32;
    let max_message_size = consensus::max_message_size(validators);
    let mut p2p = lookup::Config::recommended(
        Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: signer.clone(),
                synchrony_bound: Duration::from_secs(10),
                max_handshake_age: Duration::from_secs(20),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        ),
        consensus::P2P_NAMESPACE,
        p2p_listen,
        NZUsize!(genesis.members.len()),
        max_message_size,
        NZUsize!(4096),
    );
    p2p.allow_private_ips = true;
    p2p.dial_frequency = Duration::from_millis(500);
    p2p.peer_connection_cooldown = Duration::from_secs(1);
    p2p.ping_frequency = Duration::from_secs(5);
    // One peer set for the ledger's life (the genesis members): the network sizes its queues
    // for every peer of every tracked set, so tracking more would only hold memory.
    p2p.tracked_peer_sets = NZUsize!(1);
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
    let peers: Map<_, Address> = genesis
        .members
        .iter()
        .map(|m| (m.consensus_key.clone(), Address::from(m.p2p_address)))
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| NodeError::DuplicatePeers)?;
    let _ = oracle.track(0, peers);
    let mut pair = |id| network.register(id, consensus::quota(id));
    let channels = NodeChannels {
        consensus: Channels {
            votes: pair(channel::VOTES),
            certificates: pair(channel::CERTIFICATES),
            resolver: pair(channel::RESOLVER),
            backfill: pair(channel::BACKFILL),
            broadcast: pair(channel::BROADCAST),
        },
        gossip: pair(channel::GOSSIP),
    };
    let network_handle = network.start();
    let running = runner::start(
        context.child("node"),
        state.clone(),
        signer,
        oracle.clone(),
        oracle,
        channels,
        config.timing.timing(),
        "veil".to_owned(),
    )
    .await?;

    // The API for gateways.
    let local = LocalNode {
        state: state.clone(),
        gossip: running.gossip.clone(),
    };
    let tls_config = tls::reloading(tls::ServerFiles {
        cert: config.api.cert.clone(),
        key: config.api.key.clone(),
        parties: genesis.certificate_authorities(),
        crl: config.api.crl.clone(),
    })?;
    let metrics_context = context.child("api");
    let router = crate::api::router(local.clone(), Arc::new(move || metrics_context.encode()));
    let stopped = context.stopped();
    let api_handle = context.child("api_server").spawn(move |_| async move {
        // A stopping node finalizes nothing more: waiting submissions are cut off soon.
        tls::serve(
            listener,
            tls_config,
            router,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(2),
        )
        .await;
    });

    let mut handles = running.handles;
    handles.push(network_handle);
    handles.push(api_handle);
    tracing::info!(member = %member.id, %api, p2p = %member.p2p_address, "node started");
    Ok(StartedNode {
        local,
        api,
        handles,
    })
}

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Exit status of a node that halted (see its logs).
pub const EXIT_HALTED: i32 = 3;

/// `veil node --config FILE [--dev]`: runs one node until SIGINT/SIGTERM. Returns the exit
/// code. Without `dev`, a genesis whose circuit keys come from the insecure dev setup is
/// refused.
pub fn run(config_path: &Path, dev: bool) -> Result<i32, NodeError> {
    let config = NodeConfig::load(config_path)?;
    let genesis = Genesis::load(&config.consortium)?;
    genesis.require_signed()?;
    if !dev {
        genesis.require_production_circuits()?;
    }
    create_data_dir(&config.data_dir)?;
    let mut runtime_config =
        runtime::Config::new().with_storage_directory(config.data_dir.join("consensus"));
    let threads = config
        .worker_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    runtime_config = runtime_config.with_worker_threads(threads.max(2));
    let executor = runtime::Runner::new(runtime_config);
    executor.start(|context| async move {
        let node = match start(
            context.child("veil_node"),
            &config,
            VerifiedEntries::default(),
        )
        .await
        {
            Ok(node) => node,
            Err(error) => return Err(error),
        };
        let state = node.local.state.clone();
        let halted = async {
            loop {
                if state.halted().is_some() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        let code = tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                0
            }
            _ = halted => EXIT_HALTED,
        };
        let _ = context.stop(code, Some(Duration::from_secs(10))).await;
        Ok(code)
    })
}

/// A node running on its own runtime in a thread of this process (as `veil up` runs them).
pub struct NodeThread {
    /// The in-process link to it.
    pub local: LocalNode,
    /// Where its API listens.
    pub api: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for NodeThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeThread")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl NodeThread {
    /// Starts the node of `config` in a new thread and waits until it is running. Nodes of
    /// one consortium started in one process may share `verified`.
    pub fn spawn(
        config: NodeConfig,
        worker_threads: usize,
        verified: VerifiedEntries,
    ) -> Result<Self, NodeError> {
        create_data_dir(&config.data_dir)?;
        let (started_tx, started_rx) =
            std::sync::mpsc::channel::<Result<(LocalNode, SocketAddr), NodeError>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("node-{}", config.member))
            .spawn(move || {
                let runtime_config = runtime::Config::new()
                    .with_storage_directory(config.data_dir.join("consensus"))
                    .with_worker_threads(worker_threads.max(1));
                runtime::Runner::new(runtime_config).start(|context| async move {
                    let node = match start(context.child("veil_node"), &config, verified).await {
                        Ok(node) => node,
                        Err(error) => {
                            // `spawn` returns the error to its caller.
                            let _ = started_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok((node.local.clone(), node.api)));
                    let _ = stop_rx.await;
                    let _ = context.stop(0, Some(Duration::from_secs(10))).await;
                })
            })
            .map_err(NodeError::Thread)?;
        let (local, api) = started_rx.recv().map_err(|_| NodeError::ThreadExited)??;
        Ok(Self {
            local,
            api,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Stops the node and waits for its thread.
    pub fn stop(mut self) -> Result<(), NodeError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), NodeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().map_err(|_| NodeError::ThreadPanicked)?;
        }
        Ok(())
    }
}

impl Drop for NodeThread {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
