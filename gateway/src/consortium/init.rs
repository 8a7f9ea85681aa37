//! `veil init`: makes a consortium directory.
//!
//! ```text
//! DIR/consortium.toml                      members, regulators, genesis, policy hash
//! DIR/ca/ca.pem, ca.key, crl.pem           consortium CA (key 0600) and its (empty) CRL
//! DIR/policies/default.cedar               the policy set the genesis hash names
//! DIR/<bank>/node.toml, gateway.toml       one config per process
//! DIR/<bank>/keys/                         node.key, signing.key, encryption.key,
//!                                          borrower-ref.key, node-api.*, node-client.*, gateway.*
//! DIR/<bank>/clients/<role>.pem, .key      roles: clerk (write+read), auditor (read)
//! DIR/<regulator>/view.key, client.pem, client.key, gateway.toml, keys/
//! DIR/circuits/settlement-<capacity>.pk    settlement proving keys (their verifying keys are
//!                                          pinned in consortium.toml)
//! ```
//!
//! Every secret file is created with mode 0600. Tests, `veil up` and `veil init` all use this
//! code.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use veil_crypto::encoding::{self, KeyAlgorithm};
use veil_crypto::{EncryptionSecretKey, MasterViewKey, SigningKey};
use veil_node::config::{ApiConfig, NodeConfig, TimingConfig};
use veil_node::genesis::{ConsortiumFile, MemberFile, ParamsFile, RegulatorFile};
use veil_policies::{FieldClass, Policies};

use super::circuit_keys::{CircuitKeysError, CircuitSource, DEFAULT_CAPACITIES, write_circuits};
use super::config::{GatewayConfig, GatewayKind, MemberKeys, NodeClient, ServerTls};
use super::files::{FileError, mkdir, write_public, write_secret};
use super::members::{CLIENT_ROLES, bank_ids, regulator_ids};
use super::pki::{Ca, PkiError, Usage};

/// A key-generation failure as an [`InitError`].
fn key_error(e: impl std::error::Error + Send + Sync + 'static) -> InitError {
    InitError::Keys(Box::new(e))
}

/// Default rate cap (`docs/api.md`: 2400 bps).
pub const DEFAULT_RATE_CAP_BPS: u64 = 2400;
/// First and last month regulators publish scoped view keys for.
pub const VIEW_KEY_MONTHS: (u32, u32) = (2025, 2031);

/// Why `init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory holds files and `--force` was not given.
    #[error("{0} is not empty (use --force to overwrite)")]
    NotEmpty(String),
    /// Bad arguments (which, and the accepted range).
    #[error("{0}")]
    Arguments(&'static str),
    /// A file or directory could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key or identifier could not be generated (no randomness), or a view key published.
    #[error("key generation: {0}")]
    Keys(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The circuits' keys.
    #[error(transparent)]
    CircuitKeys(#[from] CircuitKeysError),
    /// A config or the genesis could not be encoded.
    #[error("encoding {file}: {source}")]
    Encoding {
        /// Which file.
        file: &'static str,
        /// Why.
        #[source]
        source: toml::ser::Error,
    },
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Policies.
    #[error("policy: {0}")]
    Policy(String),
}

/// What to make.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Number of banks (1..=26).
    pub banks: usize,
    /// Number of regulators.
    pub regulators: usize,
    /// First port; bank `i` uses `base + 10i` (p2p), `+1` (node API), `+2` (gateway);
    /// regulator `j` uses `base + 500 + j`.
    pub base_port: u16,
    /// Overwrite a non-empty directory.
    pub force: bool,
    /// Consensus timing written into node configs (e.g. faster on loopback).
    pub timing: TimingConfig,
    /// Where the circuits' keys come from.
    pub circuits: CircuitSource,
    /// Whether loans are screened (KYC registry, blocklist): the genesis then pins the
    /// screening circuit and nodes refuse unscreened loans.
    pub screening: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            banks: 4,
            regulators: 1,
            base_port: 7100,
            force: false,
            timing: TimingConfig {
                leader_timeout_ms: Some(1000),
                certification_timeout_ms: Some(1500),
                timeout_retry_ms: Some(2000),
                idle_wait_ms: Some(500),
            },
            circuits: CircuitSource::Dev(DEFAULT_CAPACITIES.to_vec()),
            screening: true,
        }
    }
}

fn addr(port: u32) -> Result<SocketAddr, InitError> {
    let port = u16::try_from(port)
        .map_err(|_| InitError::Arguments("ports exceed 65535; lower --base-port"))?;
    Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

fn hosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

fn toml_text<T: serde::Serialize>(value: &T, header: &str) -> Result<String, InitError> {
    let body = toml::to_string_pretty(value).map_err(|source| InitError::Encoding {
        file: "a TOML file",
        source,
    })?;
    Ok(format!("{header}\n{body}"))
}

fn issue_pair(
    ca: &Ca,
    dir: &Path,
    name: &str,
    common_name: &str,
    usage: Usage,
) -> Result<(PathBuf, PathBuf), InitError> {
    let issued = ca.issue_now(common_name, usage, &hosts())?;
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    write_public(&cert, &issued.cert_pem)?;
    write_secret(&key, &issued.key_pem)?;
    Ok((cert, key))
}

fn relative(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// Marks a directory `init` is writing: removed once `consortium.toml` is in place, so a run
/// that was interrupted (Ctrl-C while the dev keys are made) can be started again over it.
const INCOMPLETE_MARKER: &str = ".veil-init-incomplete";

/// Checks what can be checked before anything is written.
fn check_options(options: &InitOptions) -> Result<(), InitError> {
    if options.banks == 0 || options.banks > 26 {
        return Err(InitError::Arguments("--banks must be between 1 and 26"));
    }
    if options.regulators > 9 {
        return Err(InitError::Arguments("--regulators must be at most 9"));
    }
    match &options.circuits {
        CircuitSource::Dev(capacities) => {
            if capacities.is_empty() {
                return Err(InitError::Arguments(
                    "--settlement-capacities must name at least one capacity",
                ));
            }
            for capacity in capacities {
                veil_circuits::settlement::Shape::new(*capacity, options.banks)
                    .map_err(CircuitKeysError::Circuit)?;
            }
        }
        CircuitSource::Ceremony(from) => {
            if !from.join("ceremony.json").is_file() {
                return Err(InitError::Arguments(
                    "--ceremony must name a ceremony directory (it holds ceremony.json)",
                ));
            }
        }
    }
    Ok(())
}

/// Makes the consortium directory `dir`. Returns the consortium file written.
///
/// Arguments are checked before anything is written; a directory left by an interrupted run
/// is taken over without `--force`.
pub fn init(dir: &Path, options: &InitOptions) -> Result<ConsortiumFile, InitError> {
    check_options(options)?;
    if dir.exists() && !dir.join(INCOMPLETE_MARKER).exists() {
        let non_empty = std::fs::read_dir(dir)
            .map_err(|source| FileError {
                path: dir.display().to_string(),
                source,
            })?
            .next()
            .is_some();
        if non_empty && !options.force {
            return Err(InitError::NotEmpty(dir.display().to_string()));
        }
    }
    mkdir(dir)?;
    let dir = dir.canonicalize().map_err(|source| FileError {
        path: dir.display().to_string(),
        source,
    })?;
    write_public(
        &dir.join(INCOMPLETE_MARKER),
        "veil init has not finished here\n",
    )?;

    let mut id = [0u8; 6];
    getrandom::fill(&mut id).map_err(key_error)?;
    let consortium_id = format!("veil-{}", encoding::to_hex(&id));

    // The CA and an empty CRL.
    let ca_dir = dir.join("ca");
    mkdir(&ca_dir)?;
    let ca = Ca::generate(&consortium_id)?;
    write_public(&ca_dir.join("ca.pem"), ca.cert_pem())?;
    write_secret(&ca_dir.join("ca.key"), &ca.key_pem())?;
    write_public(&ca_dir.join("crl.pem"), &ca.crl(&[], 1)?)?;

    // The policy set.
    let policy_dir = dir.join("policies");
    mkdir(&policy_dir)?;
    let policies = Policies::default_set().map_err(|e| InitError::Policy(e.to_string()))?;
    let policy_path = policy_dir.join("default.cedar");
    write_public(&policy_path, policies.text())?;

    // The consortium key of borrower references, shared by the member gateways.
    let mut borrower_ref_key = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(borrower_ref_key.as_mut()).map_err(key_error)?;
    let borrower_ref_hex = zeroize::Zeroizing::new(encoding::to_hex(borrower_ref_key.as_ref()));

    let banks = bank_ids(options.banks);
    let base = u32::from(options.base_port);
    let mut members = Vec::new();
    for (i, bank) in banks.iter().enumerate() {
        let bank_dir = dir.join(bank);
        let keys = bank_dir.join("keys");
        let clients = bank_dir.join("clients");
        mkdir(&keys)?;
        mkdir(&clients)?;
        let p2p = addr(base + 10 * i as u32)?;
        let node_api = addr(base + 10 * i as u32 + 1)?;
        let gateway = addr(base + 10 * i as u32 + 2)?;

        let consensus = SigningKey::generate().map_err(key_error)?;
        write_secret(
            &keys.join("node.key"),
            &encoding::private_key_to_pem(KeyAlgorithm::Ed25519, &consensus.to_seed()),
        )?;
        let signing = SigningKey::generate().map_err(key_error)?;
        write_secret(&keys.join("signing.key"), &signing.to_pem())?;
        let encryption = EncryptionSecretKey::generate().map_err(key_error)?;
        write_secret(&keys.join("encryption.key"), &encryption.to_pem())?;
        write_secret(&keys.join("borrower-ref.key"), &borrower_ref_hex)?;

        let (api_cert, api_key) = issue_pair(
            &ca,
            &keys,
            "node-api",
            &format!("{bank}:node"),
            Usage::Server,
        )?;
        let (node_client_cert, node_client_key) = issue_pair(
            &ca,
            &keys,
            "node-client",
            &format!("{bank}:gateway"),
            Usage::Client,
        )?;
        let (gateway_cert, gateway_key) = issue_pair(
            &ca,
            &keys,
            "gateway",
            &format!("{bank}:gateway-server"),
            Usage::Server,
        )?;
        for role in CLIENT_ROLES {
            issue_pair(
                &ca,
                &clients,
                role,
                &format!("{bank}:{role}"),
                Usage::Client,
            )?;
        }

        let node = NodeConfig {
            member: bank.clone(),
            consortium: PathBuf::from("../consortium.toml"),
            data_dir: PathBuf::from("node-data"),
            identity_key: PathBuf::from("keys/node.key"),
            p2p_listen: None,
            worker_threads: None,
            api: ApiConfig {
                listen: node_api,
                cert: relative(&api_cert, &bank_dir),
                key: relative(&api_key, &bank_dir),
                ca: PathBuf::from("../ca/ca.pem"),
                crl: Some(PathBuf::from("../ca/crl.pem")),
            },
            timing: options.timing,
        };
        write_public(
            &bank_dir.join("node.toml"),
            &toml_text(
                &node,
                &format!("# {bank}'s node: `veil node --config {bank}/node.toml`"),
            )?,
        )?;
        let gateway_config = GatewayConfig {
            kind: GatewayKind::Member,
            id: bank.clone(),
            consortium: PathBuf::from("../consortium.toml"),
            policy: PathBuf::from("../policies/default.cedar"),
            listen: gateway,
            data_dir: PathBuf::from("gateway-data"),
            tls: ServerTls {
                cert: relative(&gateway_cert, &bank_dir),
                key: relative(&gateway_key, &bank_dir),
                ca: PathBuf::from("../ca/ca.pem"),
                crl: Some(PathBuf::from("../ca/crl.pem")),
            },
            node: NodeClient {
                api: node_api,
                cert: relative(&node_client_cert, &bank_dir),
                key: relative(&node_client_key, &bank_dir),
            },
            keys: Some(MemberKeys {
                signing: PathBuf::from("keys/signing.key"),
                encryption: PathBuf::from("keys/encryption.key"),
                borrower_ref: PathBuf::from("keys/borrower-ref.key"),
            }),
            view_key: None,
        };
        write_public(
            &bank_dir.join("gateway.toml"),
            &toml_text(
                &gateway_config,
                &format!("# {bank}'s gateway: `veil gateway --config {bank}/gateway.toml`"),
            )?,
        )?;
        members.push(MemberFile {
            id: bank.clone(),
            name: format!("Bank {}", (b'A' + i as u8) as char),
            consensus_key: consensus.verifying_key().to_hex(),
            signing_key: signing.verifying_key().to_hex(),
            encryption_key: encryption.public_key().to_hex(),
            p2p_address: p2p,
            node_api,
            gateway,
        });
    }

    let months: Vec<String> = (VIEW_KEY_MONTHS.0..=VIEW_KEY_MONTHS.1)
        .flat_map(|year| (1..=12).map(move |month| format!("{year}-{month:02}")))
        .collect();
    let classes: Vec<&str> = FieldClass::ALL.iter().map(|c| c.name()).collect();
    let mut regulators = Vec::new();
    for (j, regulator) in regulator_ids(options.regulators).iter().enumerate() {
        let regulator_dir = dir.join(regulator);
        let keys = regulator_dir.join("keys");
        mkdir(&keys)?;
        let master = MasterViewKey::generate().map_err(key_error)?;
        write_secret(&regulator_dir.join("view.key"), &master.to_pem())?;
        let view_keys = master
            .publish(&consortium_id, &months, &classes)
            .map_err(key_error)?;
        issue_pair(
            &ca,
            &regulator_dir,
            "client",
            &format!("{regulator}:regulator"),
            Usage::Client,
        )?;
        let (gateway_cert, gateway_key) = issue_pair(
            &ca,
            &keys,
            "gateway",
            &format!("{regulator}:gateway-server"),
            Usage::Server,
        )?;
        let (node_client_cert, node_client_key) = issue_pair(
            &ca,
            &keys,
            "node-client",
            &format!("{regulator}:gateway"),
            Usage::Client,
        )?;
        let gateway = addr(base + 500 + j as u32)?;
        // A regulator attaches to any member's node; by default the first one.
        let node_api = members[0].node_api;
        let gateway_config = GatewayConfig {
            kind: GatewayKind::Regulator,
            id: regulator.clone(),
            consortium: PathBuf::from("../consortium.toml"),
            policy: PathBuf::from("../policies/default.cedar"),
            listen: gateway,
            data_dir: PathBuf::from("gateway-data"),
            tls: ServerTls {
                cert: relative(&gateway_cert, &regulator_dir),
                key: relative(&gateway_key, &regulator_dir),
                ca: PathBuf::from("../ca/ca.pem"),
                crl: Some(PathBuf::from("../ca/crl.pem")),
            },
            node: NodeClient {
                api: node_api,
                cert: relative(&node_client_cert, &regulator_dir),
                key: relative(&node_client_key, &regulator_dir),
            },
            keys: None,
            view_key: Some(PathBuf::from("view.key")),
        };
        write_public(
            &regulator_dir.join("gateway.toml"),
            &toml_text(
                &gateway_config,
                &format!(
                    "# {regulator}'s read-only gateway: `veil gateway --config {regulator}/gateway.toml`"
                ),
            )?,
        )?;
        regulators.push(RegulatorFile {
            id: regulator.clone(),
            name: if j == 0 {
                "Regulator".into()
            } else {
                format!("Regulator {}", j + 1)
            },
            gateway,
            view_keys,
        });
    }

    let consortium = ConsortiumFile {
        consortium_id,
        params: ParamsFile {
            rate_cap_bps: DEFAULT_RATE_CAP_BPS,
            max_amount_fen: Some(veil_node::genesis::DEFAULT_MAX_AMOUNT_FEN),
        },
        policy_hash: encoding::to_hex(&policies.hash()),
        members,
        regulators,
        circuits: Some(write_circuits(
            &dir,
            options.banks,
            &options.circuits,
            options.screening,
        )?),
    };
    write_public(
        &dir.join("consortium.toml"),
        &toml_text(
            &consortium,
            "# The consortium's genesis, written by `veil init`. Shared by every member.",
        )?,
    )?;
    std::fs::remove_file(dir.join(INCOMPLETE_MARKER)).map_err(|source| FileError {
        path: dir.join(INCOMPLETE_MARKER).display().to_string(),
        source,
    })?;
    Ok(consortium)
}

/// Whether `dir` holds a consortium made by `init`.
pub fn is_initialized(dir: &Path) -> bool {
    dir.join("consortium.toml").is_file()
}
