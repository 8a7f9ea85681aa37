//! `gateway.toml`: one gateway process's configuration, as `veil init` writes it.
//!
//! A member's gateway holds the member's signing and encryption keys and the consortium's
//! borrower-reference key; a regulator's read-only gateway holds the regulator's view key and
//! signing key.
//! Paths are relative to the file's directory; secrets must be readable only by their owner;
//! unknown keys are refused.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Whose gateway this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    /// A member bank's gateway (reads and writes).
    Member,
    /// A regulator's read-only gateway.
    Regulator,
}

/// The gateway's own TLS server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// Server certificate.
    pub cert: PathBuf,
    /// Server key (0600).
    pub key: PathBuf,
    /// CRL of the party's own CA; revoked client certificates are refused. Client
    /// certificates are trusted by the CAs the genesis names, each for its own party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<PathBuf>,
}

/// How the gateway reaches its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClient {
    /// The node API address.
    pub api: SocketAddr,
    /// The member whose node this is: its CA (from the genesis) is the only one trusted for the
    /// node's server certificate. The gateway's own member if absent (required for a
    /// regulator's gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Client certificate (`<id>:gateway`).
    pub cert: PathBuf,
    /// Client key (0600).
    pub key: PathBuf,
}

/// A member gateway's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberKeys {
    /// Ed25519 key signing the member's entries (PKCS#8 PEM, 0600).
    pub signing: PathBuf,
    /// X25519 key receiving the member's data keys (PKCS#8 PEM, 0600). The member's share of
    /// the borrower-reference OPRF key lies beside `signing` (`oprf.share`).
    pub encryption: PathBuf,
}

/// `gateway.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Member or regulator gateway.
    pub kind: GatewayKind,
    /// The member or regulator id.
    pub id: String,
    /// The consortium file.
    pub consortium: PathBuf,
    /// The policy file (its hash must be the genesis policy hash).
    pub policy: PathBuf,
    /// Where the gateway serves HTTPS.
    pub listen: SocketAddr,
    /// Idempotency keys and the disclosure log.
    pub data_dir: PathBuf,
    /// TLS server material.
    pub tls: ServerTls,
    /// The node.
    pub node: NodeClient,
    /// Member keys (member gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<MemberKeys>,
    /// The master view key (regulator gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_key: Option<PathBuf>,
    /// The regulator's Ed25519 key signing its publications of further view keys (PKCS#8 PEM,
    /// 0600; regulator gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<PathBuf>,
    /// How often, at most, a member gateway anchors its disclosure log's head on the ledger
    /// (a `disclosures.anchored` entry, when the log grew since the last anchor), in ms: 1,000
    /// to 86,400,000 (a day, so every clearing period is anchored). Default 600,000 (ten
    /// minutes). A record appended since the last anchor is protected from the next one on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure_anchor_ms: Option<u64>,
    /// How often, at most, a member gateway reports on the ledger how many borrower-reference
    /// OPRF evaluations it answered each other member today (an `oprf.evaluations` entry, when
    /// the counts moved since the last report), in ms: 1,000 to 86,400,000. Default 600,000
    /// (ten minutes). A day's final counts are reported once the day is over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oprf_report_ms: Option<u64>,
}

/// The default [`GatewayConfig::disclosure_anchor_ms`].
pub const DEFAULT_DISCLOSURE_ANCHOR_MS: u64 = 600_000;
/// The default [`GatewayConfig::oprf_report_ms`].
pub const DEFAULT_OPRF_REPORT_MS: u64 = 600_000;
/// The range [`GatewayConfig::disclosure_anchor_ms`] and [`GatewayConfig::oprf_report_ms`]
/// may take.
pub const DISCLOSURE_ANCHOR_MS: std::ops::RangeInclusive<u64> = 1_000..=86_400_000;

/// Why a gateway config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GatewayConfigError {
    /// Unreadable.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
    /// Invalid TOML or unknown keys.
    #[error("{path}: {reason}")]
    Parse {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
}

impl GatewayConfig {
    /// The CA of the member whose node this gateway uses (`node.member`, or the gateway's own
    /// member): the only one trusted for the node's server certificate.
    ///
    /// # Errors
    /// What is wrong, in one line: that member is not in the genesis or has no CA there.
    pub fn node_ca<'g>(
        &self,
        genesis: &'g veil_node::genesis::Genesis,
    ) -> Result<&'g veil_node::pki::CaChain, String> {
        let member = self.node.member.as_deref().unwrap_or(&self.id);
        genesis
            .member(member)
            .and_then(|m| m.ca.as_ref())
            .ok_or_else(|| format!("node.member {member} is not a member with a CA in the genesis"))
    }

    /// Reads a config file; relative paths are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, GatewayConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| GatewayConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut config: Self = toml::from_str(&text).map_err(|e| GatewayConfigError::Parse {
            path: path.display().to_string(),
            reason: e.message().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut config.consortium);
        join(&mut config.policy);
        join(&mut config.data_dir);
        join(&mut config.tls.cert);
        join(&mut config.tls.key);
        if let Some(crl) = &mut config.tls.crl {
            join(crl);
        }
        join(&mut config.node.cert);
        join(&mut config.node.key);
        if let Some(keys) = &mut config.keys {
            join(&mut keys.signing);
            join(&mut keys.encryption);
        }
        if let Some(view_key) = &mut config.view_key {
            join(view_key);
        }
        if let Some(signing_key) = &mut config.signing_key {
            join(signing_key);
        }
        for (name, value) in [
            ("disclosure_anchor_ms", config.disclosure_anchor_ms),
            ("oprf_report_ms", config.oprf_report_ms),
        ] {
            if let Some(ms) = value
                && !DISCLOSURE_ANCHOR_MS.contains(&ms)
            {
                return Err(GatewayConfigError::Parse {
                    path: path.display().to_string(),
                    reason: format!(
                        "{name} must be {} to {} (ms), not {ms}",
                        DISCLOSURE_ANCHOR_MS.start(),
                        DISCLOSURE_ANCHOR_MS.end()
                    ),
                });
            }
        }
        Ok(config)
    }
}
