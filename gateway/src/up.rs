//! `veil up`: the embedded default. Every member's node (each on its own runtime, real BFT
//! over loopback TCP, RocksDB under the directory) and gateway, and each regulator's read-only
//! gateway, in one process, from the same configs the separate processes use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use veil_node::config::NodeConfig;
use veil_node::link::NodeLink;
use veil_node::process::NodeThread;
use veil_node::state::VerifiedEntries;

use crate::config::GatewayConfig;
use crate::init::{self, InitOptions};
use crate::server::{self, GatewayServer};

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
    _ports: Option<init::PortLease>,
}

/// `DIR/endpoints.json`: every gateway's URL.
pub fn endpoints_path(dir: &Path) -> PathBuf {
    dir.join("endpoints.json")
}

impl Embedded {
    /// Starts the consortium in `dir`, running `veil init` first if `dir` holds none. A new
    /// consortium takes `options.base_port` if its ports are free, or else free ports
    /// elsewhere ([`init::lease_base_port`]), so it starts beside another one on this machine.
    pub async fn start(dir: &Path, options: &InitOptions) -> Result<Self, String> {
        let mut ports = None;
        if !init::is_initialized(dir) {
            let lease =
                init::lease_base_port(Some(options.base_port), options.banks, options.regulators)
                    .ok_or("no free range of loopback ports for the consortium")?;
            let options = InitOptions {
                base_port: lease.base(),
                ..options.clone()
            };
            init::init(dir, &options).map_err(|e| e.to_string())?;
            ports = Some(lease);
        }
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(endpoints_path(&dir));
        let genesis = veil_node::genesis::Genesis::load(&dir.join("consortium.toml"))
            .map_err(|e| e.to_string())?;

        // The nodes share one process, one genesis and the same cores: the signature and
        // proofs of an entry one of them verified are not verified again by the others (each
        // still applies every stateful rule itself). Separate processes verify everything.
        let verified = VerifiedEntries::default();
        let mut nodes = Vec::new();
        for member in &genesis.members {
            let config = NodeConfig::load(&dir.join(&member.id).join("node.toml"))
                .map_err(|e| e.to_string())?;
            let verified = verified.clone();
            let node = tokio::task::block_in_place(|| NodeThread::spawn(config, 1, verified))?;
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
            let config = GatewayConfig::load(&dir.join(&id).join("gateway.toml"))
                .map_err(|e| e.to_string())?;
            let link = local(config.node.api);
            let server = server::start(&config, link).await?;
            endpoints.insert(
                id.clone(),
                format!("https://127.0.0.1:{}", server.addr.port()),
            );
            gateways.push((id, server));
        }
        let endpoints = serde_json::to_string_pretty(&endpoints).map_err(|e| e.to_string())?;
        std::fs::write(endpoints_path(&dir), endpoints + "\n")
            .map_err(|e| format!("endpoints.json: {e}"))?;
        Ok(Self {
            dir,
            nodes,
            gateways,
            _ports: ports,
        })
    }

    /// The gateway of `id`.
    pub fn gateway(&self, id: &str) -> Option<&GatewayServer> {
        self.gateways.iter().find(|(g, _)| g == id).map(|(_, s)| s)
    }

    /// Stops every gateway, then every node.
    pub async fn stop(self) -> Result<(), String> {
        for (_, gateway) in self.gateways {
            gateway.stop().await;
        }
        let _ = std::fs::remove_file(endpoints_path(&self.dir));
        for (_, node) in self.nodes {
            tokio::task::block_in_place(|| node.stop())?;
        }
        Ok(())
    }
}
