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

use sha2::{Digest as _, Sha256};

use veil_crypto::encoding::{self, KeyAlgorithm};
use veil_crypto::{EncryptionSecretKey, MasterViewKey, SigningKey};
use veil_node::config::{ApiConfig, NodeConfig, TimingConfig};
use veil_node::genesis::{ConsortiumFile, MemberFile, ParamsFile, RegulatorFile};
use veil_policies::{FieldClass, Policies};

use crate::config::{GatewayConfig, GatewayKind, MemberKeys, NodeClient, ServerTls};
use crate::pki::{Ca, PkiError, Usage};

/// Default rate cap (CONTRACT: 2400 bps).
pub const DEFAULT_RATE_CAP_BPS: u64 = 2400;
/// Roles of member client certificates.
pub const CLIENT_ROLES: [&str; 2] = ["clerk", "auditor"];
/// First and last month regulators publish scoped view keys for.
pub const VIEW_KEY_MONTHS: (u32, u32) = (2025, 2031);

/// Why `init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory holds files and `--force` was not given.
    #[error("{0} is not empty (use --force to overwrite)")]
    NotEmpty(String),
    /// Bad arguments.
    #[error("{0}")]
    Arguments(String),
    /// A file could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// File.
        path: String,
        /// Why.
        reason: String,
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

/// Where `init` gets the settlement circuit's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CircuitSource {
    /// The deterministic, insecure development setup, for these capacities. Nodes and
    /// gateways refuse these keys unless started with `--dev` (`veil up` is always dev).
    Dev(Vec<usize>),
    /// The final keys of the verified ceremony in this directory (docs/ceremony.md).
    Ceremony(PathBuf),
}

/// The capacities `veil init` and `veil up` make keys for unless told otherwise.
pub const DEFAULT_CAPACITIES: [usize; 3] = veil_circuits::settlement::CAPACITIES;

/// Writes `DIR/circuits/settlement-<capacity>.pk` and `DIR/circuits/screening.pk`, and returns
/// the genesis section.
fn write_circuits(
    dir: &Path,
    banks: usize,
    source: &CircuitSource,
    screens: bool,
) -> Result<veil_node::genesis::CircuitsFile, InitError> {
    use crate::ceremony::CeremonyCircuit;
    use veil_circuits::settlement::Shape;
    let out = dir.join("circuits");
    mkdir(&out)?;
    let circuit_error = |e: veil_circuits::CircuitError| InitError::Arguments(e.to_string());
    let (setup, keys) = match source {
        CircuitSource::Dev(capacities) => {
            let mut keys = Vec::new();
            for capacity in capacities {
                let shape = Shape::new(*capacity, banks).map_err(circuit_error)?;
                keys.push((CeremonyCircuit::Settlement(*capacity), dev_key(shape)?));
            }
            if screens {
                keys.push((CeremonyCircuit::Screening, dev_screening_key()?));
            }
            ("dev", keys)
        }
        CircuitSource::Ceremony(from) => {
            let keys = crate::ceremony::final_keys(from, banks)
                .map_err(|e| InitError::Arguments(format!("ceremony: {e}")))?;
            ("ceremony", keys)
        }
    };
    let mut settlement = Vec::new();
    let mut screening = None;
    for (circuit, bytes) in keys {
        let key = veil_circuits::ProvingKey::from_trusted_bytes(&bytes).map_err(circuit_error)?;
        let vk = key.verifying_key();
        let sha256 = encoding::to_hex(&vk.digest());
        let verifying_key = encoding::to_hex(&vk.to_bytes());
        let path = match circuit {
            CeremonyCircuit::Settlement(capacity) => {
                settlement.push(veil_node::genesis::CircuitKeyFile {
                    capacity,
                    sha256,
                    verifying_key,
                });
                crate::circuits::settlement_key_path(&out, capacity)
            }
            CeremonyCircuit::Screening if !screens => continue,
            CeremonyCircuit::Screening => {
                screening = Some(veil_node::genesis::ScreeningKeyFile {
                    sha256,
                    verifying_key,
                });
                crate::circuits::screening_key_path(&out)
            }
        };
        std::fs::write(&path, &bytes).map_err(|e| io(&path, e))?;
    }
    if screens && screening.is_none() {
        return Err(InitError::Arguments(
            "the ceremony has no screening circuit; run a new ceremony (`veil ceremony new`)"
                .into(),
        ));
    }
    Ok(veil_node::genesis::CircuitsFile {
        setup: setup.into(),
        settlement,
        screening,
    })
}

/// A dev key for `shape`: the same for every consortium of that shape and circuit version, so
/// it is made once per machine and kept in `$XDG_CACHE_HOME/veil/dev-circuits` (or
/// `~/.cache/…`).
///
/// A cached key is named by the shape and by the circuits' source id (`VEIL_CIRCUITS_ID`,
/// see `gateway/build.rs`), so a changed circuit never loads a key made for an older one, and
/// it is stored behind the SHA-256 of its bytes, so a truncated or damaged file is made again
/// instead of being used. Keys of other circuit versions are removed when a new one is cached.
fn dev_key(shape: veil_circuits::settlement::Shape) -> Result<Vec<u8>, InitError> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|c| c.join("veil").join("dev-circuits"));
    let version = env!("VEIL_CIRCUITS_ID");
    let name = format!("settlement-{}-{}-{version}.pk", shape.capacity, shape.banks);
    if let Some(cached) = cache.as_ref().map(|c| c.join(&name))
        && let Ok(file) = std::fs::read(&cached)
        && let Some(bytes) = checked_cache_contents(&file)
    {
        return Ok(bytes.to_vec());
    }
    if shape.capacity >= 256 {
        eprintln!(
            "making dev settlement keys for {} repayments and {} banks (once per machine)...",
            shape.capacity, shape.banks
        );
    }
    let key = veil_circuits::dev::setup(
        veil_circuits::settlement::SettlementCircuit::blank(shape),
        "veil-dev",
    )
    .map_err(|e| InitError::Arguments(e.to_string()))?;
    let bytes = key.to_bytes();
    if let Some(cache) = cache {
        // Best effort: a cache that cannot be written only costs time next run.
        let temporary = cache.join(format!("{name}.{}", std::process::id()));
        let mut file = Sha256::digest(&bytes).to_vec();
        file.extend_from_slice(&bytes);
        if std::fs::create_dir_all(&cache).is_ok() && std::fs::write(&temporary, &file).is_ok() {
            let _ = std::fs::rename(&temporary, cache.join(&name));
            remove_other_versions(&cache, version);
        }
    }
    Ok(bytes)
}

/// The key bytes of a cache file (SHA-256 of the key, then the key), or `None` if the digest
/// does not match.
fn checked_cache_contents(file: &[u8]) -> Option<&[u8]> {
    let (digest, bytes) = file.split_at_checked(32)?;
    (Sha256::digest(bytes).as_slice() == digest).then_some(bytes)
}

/// Removes cached dev keys made for other circuit versions than `version`.
fn remove_other_versions(cache: &Path, version: &str) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("settlement-") && name.ends_with(".pk") && !name.contains(version) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The dev key of the screening circuit (a fraction of a second: not cached).
fn dev_screening_key() -> Result<Vec<u8>, InitError> {
    veil_circuits::dev::setup(
        veil_circuits::screening::ScreeningCircuit::blank(),
        "veil-dev-screening",
    )
    .map(|key| key.to_bytes())
    .map_err(|e| InitError::Arguments(e.to_string()))
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

/// The member ids `bank-a`, `bank-b`, ...
pub fn bank_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("bank-{}", (b'a' + i as u8) as char))
        .collect()
}

/// The regulator ids `regulator`, `regulator-2`, ...
pub fn regulator_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|j| {
            if j == 0 {
                "regulator".to_owned()
            } else {
                format!("regulator-{}", j + 1)
            }
        })
        .collect()
}

fn io(path: &Path, e: impl std::fmt::Display) -> InitError {
    InitError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn mkdir(path: &Path) -> Result<(), InitError> {
    std::fs::create_dir_all(path).map_err(|e| io(path, e))
}

/// Writes a public file (0644).
pub fn write_public(path: &Path, contents: &str) -> Result<(), InitError> {
    std::fs::write(path, contents).map_err(|e| io(path, e))
}

/// Writes a secret file (0600, created so; an existing file is replaced).
pub fn write_secret(path: &Path, contents: &str) -> Result<(), InitError> {
    use std::io::Write as _;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| io(path, e))?;
    file.write_all(contents.as_bytes()).map_err(|e| io(path, e))
}

fn addr(port: u32) -> Result<SocketAddr, InitError> {
    let port = u16::try_from(port)
        .map_err(|_| InitError::Arguments("ports exceed 65535; lower --base-port".into()))?;
    Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

fn hosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

fn toml_text<T: serde::Serialize>(value: &T, header: &str) -> Result<String, InitError> {
    let body = toml::to_string_pretty(value).map_err(|e| InitError::Arguments(e.to_string()))?;
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

/// Makes the consortium directory `dir`. Returns the consortium file written.
pub fn init(dir: &Path, options: &InitOptions) -> Result<ConsortiumFile, InitError> {
    if options.banks == 0 || options.banks > 26 {
        return Err(InitError::Arguments(
            "--banks must be between 1 and 26".into(),
        ));
    }
    if options.regulators > 9 {
        return Err(InitError::Arguments(
            "--regulators must be at most 9".into(),
        ));
    }
    if dir.exists() {
        let non_empty = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .next()
            .is_some();
        if non_empty && !options.force {
            return Err(InitError::NotEmpty(dir.display().to_string()));
        }
    }
    mkdir(dir)?;
    let dir = dir.canonicalize().map_err(|e| io(dir, e))?;

    let mut id = [0u8; 6];
    getrandom::fill(&mut id).map_err(|e| InitError::Arguments(e.to_string()))?;
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
    getrandom::fill(borrower_ref_key.as_mut()).map_err(|e| InitError::Arguments(e.to_string()))?;
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

        let consensus = SigningKey::generate().map_err(|e| InitError::Arguments(e.to_string()))?;
        write_secret(
            &keys.join("node.key"),
            &encoding::private_key_to_pem(KeyAlgorithm::Ed25519, &consensus.to_seed()),
        )?;
        let signing = SigningKey::generate().map_err(|e| InitError::Arguments(e.to_string()))?;
        write_secret(&keys.join("signing.key"), &signing.to_pem())?;
        let encryption =
            EncryptionSecretKey::generate().map_err(|e| InitError::Arguments(e.to_string()))?;
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
        let master = MasterViewKey::generate().map_err(|e| InitError::Arguments(e.to_string()))?;
        write_secret(&regulator_dir.join("view.key"), &master.to_pem())?;
        let view_keys = master
            .publish(&consortium_id, &months, &classes)
            .map_err(|e| InitError::Arguments(e.to_string()))?;
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
    Ok(consortium)
}

/// Whether `dir` holds a consortium made by `init`.
pub fn is_initialized(dir: &Path) -> bool {
    dir.join("consortium.toml").is_file()
}

/// The ports [`init`] assigns from `base` to `banks` banks (node consensus, node API,
/// gateway: `base + 10 i` .. `+ 2`) and `regulators` regulators (`base + 500 + j`).
fn assigned_ports(base: u16, banks: usize, regulators: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = (0..banks as u16)
        .flat_map(|i| [base + 10 * i, base + 10 * i + 1, base + 10 * i + 2])
        .collect();
    ports.extend((0..regulators as u16).map(|j| base + 500 + j));
    ports
}

/// A range of loopback ports reserved for one consortium on this machine: every port
/// [`init`] assigns from [`PortLease::base`] was free when leased, and no other lease taken on
/// this machine (by any process) overlaps it until this one is dropped.
///
/// The reservation is an advisory lock (`flock`) on one file per ten ports under
/// `$TMPDIR/veil-ports/`, released by the kernel when the process exits, so a crashed run
/// leaves nothing behind. Processes that do not lease (anything else on the machine) are
/// detected by binding each port before the lease is granted.
#[derive(Debug)]
pub struct PortLease {
    base: u16,
    _locks: Vec<std::fs::File>,
}

impl PortLease {
    /// The base port to pass to [`init`] (`--base-port`).
    pub fn base(&self) -> u16 {
        self.base
    }
}

/// Leases a base port such that every port [`init`] assigns from it (for `banks` banks and
/// `regulators` regulators) is free on loopback and reserved against other leases: `preferred`
/// if it is, or else one drawn at random; `None` if no such range was found.
///
/// Random bases are drawn from 20000..31800 so that, with the regulators at `base + 500`,
/// every port stays below Linux's default ephemeral range (32768 and up), where outgoing
/// connections would otherwise take them between this check and the bind.
pub fn lease_base_port(
    preferred: Option<u16>,
    banks: usize,
    regulators: usize,
) -> Option<PortLease> {
    if banks > 50 || regulators > 10 {
        return None;
    }
    let locks_dir = std::env::temp_dir().join("veil-ports");
    std::fs::create_dir_all(&locks_dir).ok()?;
    let mut seed = [0u8; 8];
    let _ = getrandom::fill(&mut seed);
    let seed = u64::from_le_bytes(seed);
    let random = (0..500u64).map(|attempt| {
        let slot = seed.wrapping_add(attempt.wrapping_mul(7919)) % 1_180;
        20_000 + slot as u16 * 10
    });
    let preferred = preferred.filter(|p| u32::from(*p) + 1_000 <= u32::from(u16::MAX));
    for base in preferred.into_iter().chain(random) {
        let ports = assigned_ports(base, banks, regulators);
        let mut slots: Vec<u16> = ports.iter().map(|p| p / 10).collect();
        slots.sort_unstable();
        slots.dedup();
        let Some(locks) = lock_slots(&locks_dir, &slots) else {
            continue;
        };
        if ports
            .iter()
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            return Some(PortLease {
                base,
                _locks: locks,
            });
        }
    }
    None
}

/// Exclusive locks on the files of `slots`, or `None` if another lease holds one of them.
fn lock_slots(dir: &Path, slots: &[u16]) -> Option<Vec<std::fs::File>> {
    let mut locks = Vec::with_capacity(slots.len());
    for slot in slots {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{slot}.lock")))
            .ok()?;
        file.try_lock().ok()?;
        locks.push(file);
    }
    Some(locks)
}
