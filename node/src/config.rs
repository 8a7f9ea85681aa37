//! `node.toml`: one node process's configuration, as `veil init` writes it.
//!
//! Paths are relative to the file's directory. Secrets (the consensus key, TLS keys) are
//! referenced by path and must be readable only by their owner. Unknown keys are refused, so
//! a typo is an error rather than a silently ignored setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::consensus::Timing;

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The TOML is invalid or has unknown keys.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The node API endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address (mutual TLS).
    pub listen: SocketAddr,
    /// Server certificate.
    pub cert: PathBuf,
    /// Server private key (0600).
    pub key: PathBuf,
    /// CRL of the member's own CA (optional). Client certificates are trusted by the CAs the
    /// genesis names, each for its own party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<PathBuf>,
}

/// Consensus timing overrides (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TimingConfig {
    /// How long validators wait for a proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_timeout_ms: Option<u64>,
    /// How long validators wait for certification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_timeout_ms: Option<u64>,
    /// Retry interval of timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_retry_ms: Option<u64>,
    /// How long an idle leader waits for entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_wait_ms: Option<u64>,
}

impl TimingConfig {
    /// The timing, defaults filled in.
    pub fn timing(&self) -> Timing {
        let default = Timing::default();
        let ms =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_millis);
        Timing {
            leader_timeout: ms(self.leader_timeout_ms, default.leader_timeout),
            certification_timeout: ms(self.certification_timeout_ms, default.certification_timeout),
            timeout_retry: ms(self.timeout_retry_ms, default.timeout_retry),
            idle_wait: ms(self.idle_wait_ms, default.idle_wait),
        }
    }
}

/// `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The member this node belongs to.
    pub member: String,
    /// The consortium file.
    pub consortium: PathBuf,
    /// Where the node keeps its ledger and consensus state.
    pub data_dir: PathBuf,
    /// The node's consensus key (PKCS#8 PEM Ed25519, 0600).
    pub identity_key: PathBuf,
    /// Where to accept peer connections (defaults to the member's `p2p_address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_listen: Option<SocketAddr>,
    /// Worker threads of the runtime (defaults to the number of cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<usize>,
    /// The API for gateways.
    pub api: ApiConfig,
    /// Consensus timing.
    #[serde(default)]
    pub timing: TimingConfig,
    /// The policy file the genesis' policy hash names, if it is not the built-in default set
    /// (nodes compute every field's recipients from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PathBuf>,
}

impl NodeConfig {
    /// Reads a config file; relative paths are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.message().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve(base);
        Ok(config)
    }

    fn resolve(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut self.consortium);
        join(&mut self.data_dir);
        join(&mut self.identity_key);
        join(&mut self.api.cert);
        join(&mut self.api.key);
        if let Some(policy) = &mut self.policy {
            join(policy);
        }
        if let Some(crl) = &mut self.api.crl {
            join(crl);
        }
    }
}
