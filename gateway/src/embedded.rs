//! `veil up`: the embedded default. Every member's node (each on its own runtime, real BFT
//! over loopback TCP, RocksDB under the directory) and gateway, and each regulator's read-only
//! gateway, in one process, from the same configs the separate processes use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use veil_node::config::NodeConfig;
use veil_node::link::NodeLink;
use veil_node::process::NodeThread;
use veil_node::state::VerifiedEntries;

use crate::api::server::{self, GatewayServer};
use crate::consortium::config::GatewayConfig;
use crate::consortium::layout::{self, endpoints_path};
use crate::consortium::{self, InitOptions, PortLease};

/// Why an embedded consortium could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// Another `veil up` (or demo, bench) runs from this directory.
    #[error("a consortium is already running from {0}; stop it first (Ctrl-C in its terminal)")]
    AlreadyRunning(String),
    /// No free range of loopback ports for a new consortium.
    #[error("no free range of loopback ports for the consortium")]
    NoPorts,
    /// `veil init` failed.
    #[error(transparent)]
    Init(#[from] consortium::InitError),
    /// The genesis is unreadable or invalid.
    #[error(transparent)]
    Genesis(#[from] veil_node::genesis::GenesisError),
    /// A gateway's config is unreadable or invalid.
    #[error(transparent)]
    GatewayConfig(#[from] crate::consortium::config::GatewayConfigError),
    /// A gateway could not start.
    #[error(transparent)]
    Gateway(#[from] server::StartError),
    /// A member's node could not start or stop cleanly.
    #[error("node of {member}: {source}")]
    Node {
        /// The member.
        member: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The directory or `endpoints.json` could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running embedded consortium.
#[derive(Debug)]
pub struct Embedded {
    /// Its directory.
    pub dir: PathBuf,
    /// Member nodes, in genesis order.
    pub nodes: Vec<(String, NodeThread)>,
    /// Gateways (members, then regulators).
    pub gateways: Vec<(String, GatewayServer)>,
    /// The ports reserved for this consortium when this run initialized it.
    _ports: Option<PortLease>,
    /// Held while this consortium runs: a second `veil up` of the directory is refused.
    _running: std::fs::File,
}

impl Embedded {
    /// Starts the consortium in `dir`, running `veil init` first if `dir` holds none. A new
    /// consortium takes `options.base_port` if its ports are free, or else free ports
    /// elsewhere ([`consortium::lease_base_port`]), so it starts beside another one on this machine.
    pub async fn start(dir: &Path, options: &InitOptions) -> Result<Self, EmbeddedError> {
        let mut ports = None;
        if !consortium::is_initialized(dir) {
            let lease = consortium::lease_base_port(
                Some(options.base_port),
                options.banks,
                options.regulators,
            )
            .ok_or(EmbeddedError::NoPorts)?;
            let options = InitOptions {
                base_port: lease.base(),
                ..options.clone()
            };
            consortium::init(dir, &options)?;
            ports = Some(lease);
        }
        let dir = dir.canonicalize().map_err(|source| EmbeddedError::Io {
            what: dir.display().to_string(),
            source,
        })?;
        // One running consortium per directory: a second one would wait forever for the
        // first's storage and, when stopped, remove the first's endpoints.json.
        let running = dir.join(".veil-up.lock");
        let running = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&running)
            .map_err(|source| EmbeddedError::Io {
                what: running.display().to_string(),
                source,
            })?;
        if running.try_lock().is_err() {
            return Err(EmbeddedError::AlreadyRunning(dir.display().to_string()));
        }
        let _ = std::fs::remove_file(endpoints_path(&dir));
        let genesis = veil_node::genesis::Genesis::load(&layout::genesis(&dir))?;

        // The nodes share one process, one genesis and the same cores: the signature and
        // proofs of an entry one of them verified are not verified again by the others (each
        // still applies every stateful rule itself). Separate processes verify everything.
        let verified = VerifiedEntries::default();
        let mut nodes = Vec::new();
        for member in &genesis.members {
            let node_error =
                |source: Box<dyn std::error::Error + Send + Sync>| EmbeddedError::Node {
                    member: member.id.clone(),
                    source,
                };
            let config = NodeConfig::load(&layout::node_config(&dir, &member.id))
                .map_err(|e| node_error(e.into()))?;
            let verified = verified.clone();
            let node = tokio::task::block_in_place(|| NodeThread::spawn(config, 1, verified))
                .map_err(|e| node_error(e.into()))?;
            nodes.push((member.id.clone(), node));
        }
        let local = |api: std::net::SocketAddr| {
            nodes
                .iter()
                .find(|(_, node)| node.api == api)
                .map(|(_, node)| NodeLink::Local(node.local.clone()))
        };

        let mut gateways = Vec::new();
        let mut endpoints = BTreeMap::new();
        let ids = genesis
            .members
            .iter()
            .map(|m| m.id.clone())
            .chain(genesis.regulators.iter().map(|r| r.id.clone()));
        for id in ids {
            let config = GatewayConfig::load(&layout::gateway_config(&dir, &id))?;
            let link = local(config.node.api);
            let server = server::start(&config, link).await?;
            endpoints.insert(
                id.clone(),
                format!("https://127.0.0.1:{}", server.addr.port()),
            );
            gateways.push((id, server));
        }
        let endpoints =
            serde_json::to_string_pretty(&endpoints).map_err(|e| EmbeddedError::Io {
                what: "endpoints.json".into(),
                source: e.into(),
            })?;
        std::fs::write(endpoints_path(&dir), endpoints + "\n").map_err(|source| {
            EmbeddedError::Io {
                what: "endpoints.json".into(),
                source,
            }
        })?;
        Ok(Self {
            dir,
            nodes,
            gateways,
            _ports: ports,
            _running: running,
        })
    }

    /// The gateway of `id`.
    pub fn gateway(&self, id: &str) -> Option<&GatewayServer> {
        self.gateways.iter().find(|(g, _)| g == id).map(|(_, s)| s)
    }

    /// Stops every gateway, then every node.
    pub async fn stop(self) -> Result<(), EmbeddedError> {
        for (_, gateway) in self.gateways {
            gateway.stop().await;
        }
        let _ = std::fs::remove_file(endpoints_path(&self.dir));
        for (member, node) in self.nodes {
            tokio::task::block_in_place(|| node.stop()).map_err(|e| EmbeddedError::Node {
                member,
                source: e.into(),
            })?;
        }
        Ok(())
    }
}
