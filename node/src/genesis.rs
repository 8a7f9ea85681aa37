//! The consortium's genesis: members and their keys, regulators and their published view keys,
//! consortium parameters and the policy hash, read from `consortium.toml`.
//!
//! The *genesis hash* commits to everything that defines the ledger — consortium id,
//! parameters, policy hash, every member's keys, every regulator's view-key directory — and not
//! to network addresses, which operators may change. It seeds the genesis block, so nodes with
//! different genesis documents never agree on a chain.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use commonware_codec::DecodeExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use veil_crypto::encoding;
use veil_crypto::view_key::{PublishedViewKey, ViewScope};
use veil_crypto::{EncryptionPublicKey, VerifyingKey};
use veil_policies::schema::is_member_id;

/// Why a consortium file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a consortium (unknown keys are refused).
    #[error("invalid consortium file: {0}")]
    Parse(String),
    /// The file parses but is inconsistent.
    #[error("invalid consortium: {0}")]
    Invalid(String),
}

/// `consortium.toml`, as written by `veil init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsortiumFile {
    /// The consortium id, bound into every ciphertext and signature context.
    pub consortium_id: String,
    /// Consortium-wide rules.
    pub params: ParamsFile,
    /// Hex SHA-256 of the canonical policy set.
    pub policy_hash: String,
    /// The member banks, each running a node and a gateway.
    pub members: Vec<MemberFile>,
    /// The regulators.
    #[serde(default)]
    pub regulators: Vec<RegulatorFile>,
    /// The circuits' verifying keys, pinned by hash.
    #[serde(default)]
    pub circuits: Option<CircuitsFile>,
}

/// `[circuits]`: where the circuit keys came from and the verifying keys themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitsFile {
    /// `"ceremony"` (a verified multi-party setup) or `"dev"` (deterministic and insecure:
    /// refused unless the node or gateway runs with `--dev`).
    pub setup: String,
    /// One settlement circuit per capacity.
    pub settlement: Vec<CircuitKeyFile>,
    /// The borrower screening circuit. When present, every `loan.originated` must carry a
    /// screening proof against the registry at its height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening: Option<ScreeningKeyFile>,
}

/// The screening circuit's verifying key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningKeyFile {
    /// Hex SHA-256 of the verifying key's canonical encoding.
    pub sha256: String,
    /// Hex of the verifying key (arkworks compressed encoding).
    pub verifying_key: String,
}

/// One circuit's verifying key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitKeyFile {
    /// Repayment slots of the circuit.
    pub capacity: usize,
    /// Hex SHA-256 of the verifying key's canonical encoding.
    pub sha256: String,
    /// Hex of the verifying key (arkworks compressed encoding).
    pub verifying_key: String,
}

/// Where a consortium's circuit keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitSetup {
    /// A verified multi-party ceremony.
    Ceremony,
    /// The deterministic development setup: anyone can forge proofs.
    Dev,
}

/// The consortium's circuits: settlement verifying keys by capacity, in genesis bank order.
#[derive(Debug, Clone)]
pub struct Circuits {
    /// Where the keys came from.
    pub setup: CircuitSetup,
    /// Verifying keys by capacity.
    pub settlement: BTreeMap<usize, std::sync::Arc<veil_circuits::VerifyingKey>>,
    /// The screening circuit's verifying key, if the consortium screens borrowers.
    pub screening: Option<std::sync::Arc<veil_circuits::VerifyingKey>>,
}

/// Decodes a pinned verifying key and checks it against its hash.
fn pinned_key(
    name: &str,
    sha256: &str,
    hex: &str,
) -> Result<veil_circuits::VerifyingKey, GenesisError> {
    let pinned: [u8; 32] =
        encoding::from_hex_array(sha256).map_err(|e| invalid(format!("{name} sha256: {e}")))?;
    let bytes = encoding::from_hex(hex, 4096).map_err(|e| invalid(format!("{name} key: {e}")))?;
    let vk = veil_circuits::VerifyingKey::from_bytes(&bytes)
        .map_err(|e| invalid(format!("{name} key: {e}")))?;
    if vk.digest() != pinned {
        return Err(invalid(format!(
            "{name} verifying key does not match its pinned sha256"
        )));
    }
    Ok(vk)
}

impl Circuits {
    fn load(file: Option<&CircuitsFile>, banks: usize) -> Result<Self, GenesisError> {
        let Some(file) = file else {
            return Ok(Self {
                setup: CircuitSetup::Ceremony,
                settlement: BTreeMap::new(),
                screening: None,
            });
        };
        let setup = match file.setup.as_str() {
            "ceremony" => CircuitSetup::Ceremony,
            "dev" => CircuitSetup::Dev,
            other => {
                return Err(invalid(format!(
                    "circuits.setup {other:?} is not ceremony or dev"
                )));
            }
        };
        let mut settlement = BTreeMap::new();
        for key in &file.settlement {
            let shape = veil_circuits::settlement::Shape::new(key.capacity, banks)
                .map_err(|e| invalid(format!("settlement circuit: {e}")))?;
            let vk = pinned_key(
                &format!("settlement-{}", key.capacity),
                &key.sha256,
                &key.verifying_key,
            )?;
            if vk.public_inputs() != shape.public_inputs() {
                return Err(invalid(format!(
                    "settlement-{} verifying key is not for {banks} banks",
                    key.capacity
                )));
            }
            if settlement
                .insert(key.capacity, std::sync::Arc::new(vk))
                .is_some()
            {
                return Err(invalid(format!("settlement-{} listed twice", key.capacity)));
            }
        }
        let screening = match &file.screening {
            Some(key) => {
                let vk = pinned_key("screening", &key.sha256, &key.verifying_key)?;
                if vk.public_inputs() != veil_circuits::screening::PUBLIC_INPUTS {
                    return Err(invalid(
                        "the screening verifying key is for another circuit",
                    ));
                }
                Some(std::sync::Arc::new(vk))
            }
            None => None,
        };
        Ok(Self {
            setup,
            settlement,
            screening,
        })
    }
}

/// Consortium-wide rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsFile {
    /// Highest annual rate a loan may carry, in basis points.
    pub rate_cap_bps: u64,
    /// Largest value any one amount (a principal, a funding, a repayment or either of its
    /// parts) may carry, in fen; 1 to [`MAX_AMOUNT_LIMIT`], [`DEFAULT_MAX_AMOUNT_FEN`] if
    /// absent. Bounding every amount bounds every sum the ledger forms: a settlement of up to
    /// [`crate::ledger::entry::MAX_REFERENCES`] repayments still totals below 2⁶⁴.
    /// Absent in consortium files written before it existed; their genesis hash stays what
    /// it was (the hash covers the field only when it is present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount_fen: Option<u64>,
}

impl ParamsFile {
    /// [`ParamsFile::max_amount_fen`], or [`DEFAULT_MAX_AMOUNT_FEN`] if absent.
    pub fn max_amount(&self) -> u64 {
        self.max_amount_fen.unwrap_or(DEFAULT_MAX_AMOUNT_FEN)
    }
}

/// The default [`ParamsFile::max_amount_fen`]: 10¹² fen (ten billion yuan).
pub const DEFAULT_MAX_AMOUNT_FEN: u64 = 1_000_000_000_000;

/// The highest [`ParamsFile::max_amount_fen`] a consortium may choose: 2⁵² − 1 fen, so that
/// every amount is an integer any JSON reader holds exactly (I-JSON, RFC 7493 §2.2) and
/// [`crate::ledger::entry::MAX_REFERENCES`] (2¹²) of them sum below 2⁶⁴.
pub const MAX_AMOUNT_LIMIT: u64 = (1 << 52) - 1;

/// One member bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFile {
    /// Member id, e.g. `bank-a`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Hex Ed25519 public key of the member's node (consensus and peer identity).
    pub consensus_key: String,
    /// Hex Ed25519 public key that signs the member's entries (held by its gateway).
    pub signing_key: String,
    /// Hex X25519 public key that field data keys are wrapped to.
    pub encryption_key: String,
    /// Where the member's node accepts peer connections.
    pub p2p_address: SocketAddr,
    /// Where the member's node serves its API to gateways (mTLS).
    pub node_api: SocketAddr,
    /// Where the member's gateway serves clients (mTLS).
    pub gateway: SocketAddr,
}

/// One regulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegulatorFile {
    /// Regulator id, e.g. `regulator`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where the regulator's read-only gateway serves clients.
    pub gateway: SocketAddr,
    /// The published scoped view keys (one per month and field class).
    pub view_keys: Vec<PublishedViewKey>,
}

/// A member, with decoded keys.
#[derive(Debug, Clone)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The node's consensus identity.
    pub consensus_key: commonware_cryptography::ed25519::PublicKey,
    /// The key that signs the member's entries.
    pub signing_key: VerifyingKey,
    /// The key data keys are wrapped to.
    pub encryption_key: EncryptionPublicKey,
    /// Peer address.
    pub p2p_address: SocketAddr,
    /// Node API address.
    pub node_api: SocketAddr,
    /// Gateway address.
    pub gateway: SocketAddr,
}

/// A regulator, with its view-key directory indexed by scope.
#[derive(Debug, Clone)]
pub struct Regulator {
    /// Regulator id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Gateway address.
    pub gateway: SocketAddr,
    /// Published scoped public keys.
    pub view_keys: BTreeMap<ViewScope, EncryptionPublicKey>,
}

/// The validated genesis.
#[derive(Debug, Clone)]
pub struct Genesis {
    /// The consortium id.
    pub consortium_id: String,
    /// Consortium-wide rules.
    pub params: ParamsFile,
    /// The policy hash.
    pub policy_hash: [u8; 32],
    /// Members, in file order.
    pub members: Vec<Member>,
    /// Regulators, in file order.
    pub regulators: Vec<Regulator>,
    /// The circuits' verifying keys.
    pub circuits: Circuits,
    /// The genesis hash.
    pub hash: [u8; 32],
    /// The file it came from.
    pub file: ConsortiumFile,
}

fn invalid(message: impl Into<String>) -> GenesisError {
    GenesisError::Invalid(message.into())
}

impl Genesis {
    /// Reads and validates `consortium.toml`.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses and validates the TOML text of a consortium file.
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        let file: ConsortiumFile =
            toml::from_str(text).map_err(|e| GenesisError::Parse(e.message().to_owned()))?;
        Self::from_file(file)
    }

    /// Validates a parsed consortium file.
    pub fn from_file(file: ConsortiumFile) -> Result<Self, GenesisError> {
        if file.consortium_id.is_empty() || file.consortium_id.len() > 64 {
            return Err(invalid("consortium_id must be 1 to 64 characters"));
        }
        if !(1..=MAX_AMOUNT_LIMIT).contains(&file.params.max_amount()) {
            return Err(invalid(format!(
                "params.max_amount_fen must be 1 to {MAX_AMOUNT_LIMIT}"
            )));
        }
        if file.members.is_empty() {
            return Err(invalid("at least one member is required"));
        }
        let policy_hash = encoding::from_hex_array(&file.policy_hash)
            .map_err(|e| invalid(format!("policy_hash: {e}")))?;
        let mut members = Vec::with_capacity(file.members.len());
        for m in &file.members {
            if !is_member_id(&m.id) {
                return Err(invalid(format!("member id {:?} is not a valid id", m.id)));
            }
            if members.iter().any(|other: &Member| other.id == m.id)
                || file.regulators.iter().any(|r| r.id == m.id)
            {
                return Err(invalid(format!("duplicate id {:?}", m.id)));
            }
            let consensus_bytes: [u8; 32] = encoding::from_hex_array(&m.consensus_key)
                .map_err(|e| invalid(format!("{}: consensus_key: {e}", m.id)))?;
            let consensus_key =
                commonware_cryptography::ed25519::PublicKey::decode(consensus_bytes.to_vec())
                    .map_err(|_| invalid(format!("{}: consensus_key is not a valid key", m.id)))?;
            let signing_key = VerifyingKey::from_hex(&m.signing_key)
                .map_err(|e| invalid(format!("{}: signing_key: {e}", m.id)))?;
            let encryption_key = EncryptionPublicKey::from_hex(&m.encryption_key)
                .map_err(|e| invalid(format!("{}: encryption_key: {e}", m.id)))?;
            if members
                .iter()
                .any(|other: &Member| other.consensus_key == consensus_key)
            {
                return Err(invalid(format!("{}: consensus key used twice", m.id)));
            }
            members.push(Member {
                id: m.id.clone(),
                name: m.name.clone(),
                consensus_key,
                signing_key,
                encryption_key,
                p2p_address: m.p2p_address,
                node_api: m.node_api,
                gateway: m.gateway,
            });
        }
        let mut regulators = Vec::with_capacity(file.regulators.len());
        for r in &file.regulators {
            if !is_member_id(&r.id) {
                return Err(invalid(format!(
                    "regulator id {:?} is not a valid id",
                    r.id
                )));
            }
            if regulators.iter().any(|other: &Regulator| other.id == r.id) {
                return Err(invalid(format!("duplicate regulator {:?}", r.id)));
            }
            let mut view_keys = BTreeMap::new();
            for key in &r.view_keys {
                if view_keys
                    .insert(key.scope.clone(), key.public_key.clone())
                    .is_some()
                {
                    return Err(invalid(format!(
                        "{}: view key {} listed twice",
                        r.id, key.scope
                    )));
                }
            }
            regulators.push(Regulator {
                id: r.id.clone(),
                name: r.name.clone(),
                gateway: r.gateway,
                view_keys,
            });
        }
        let circuits = Circuits::load(file.circuits.as_ref(), members.len())?;
        let hash = genesis_hash(&file);
        Ok(Self {
            consortium_id: file.consortium_id.clone(),
            params: file.params,
            policy_hash,
            members,
            regulators,
            circuits,
            hash,
            file,
        })
    }

    /// The member with id `id`.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The regulator with id `id`.
    pub fn regulator(&self, id: &str) -> Option<&Regulator> {
        self.regulators.iter().find(|r| r.id == id)
    }

    /// The member whose node has consensus key `key`.
    pub fn member_by_consensus_key(
        &self,
        key: &commonware_cryptography::ed25519::PublicKey,
    ) -> Option<&Member> {
        self.members.iter().find(|m| &m.consensus_key == key)
    }

    /// The bank slot of member `id` in circuits (its position in the genesis).
    pub fn bank_slot(&self, id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id == id)
    }

    /// Refuses development circuit keys: processes started without `--dev` call this.
    pub fn require_production_circuits(&self) -> Result<(), GenesisError> {
        if self.circuits.setup == CircuitSetup::Dev {
            return Err(invalid(
                "this consortium's circuit keys come from the insecure dev setup; run the \
                 ceremony (docs/ceremony.md) or start with --dev for a test consortium",
            ));
        }
        Ok(())
    }

    /// The proof-plan parameters.
    pub fn plan_params(&self) -> veil_policies::Params {
        veil_policies::Params {
            rate_cap_bps: self.params.rate_cap_bps,
        }
    }
}

/// SHA-256 over a canonical, address-free rendering of the genesis.
fn genesis_hash(file: &ConsortiumFile) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut put = |bytes: &[u8]| {
        hasher.update((bytes.len() as u32).to_be_bytes());
        hasher.update(bytes);
    };
    put(veil_crypto::labels::GENESIS);
    put(file.consortium_id.as_bytes());
    put(&file.params.rate_cap_bps.to_be_bytes());
    if let Some(max) = file.params.max_amount_fen {
        put(&max.to_be_bytes());
    }
    put(file.policy_hash.as_bytes());
    for m in &file.members {
        put(m.id.as_bytes());
        put(m.consensus_key.as_bytes());
        put(m.signing_key.as_bytes());
        put(m.encryption_key.as_bytes());
    }
    for r in &file.regulators {
        put(r.id.as_bytes());
        for key in &r.view_keys {
            put(key.scope.month().as_bytes());
            put(key.scope.class().as_bytes());
            put(&key.public_key.to_bytes());
        }
    }
    if let Some(circuits) = &file.circuits {
        put(b"circuits");
        put(circuits.setup.as_bytes());
        for key in &circuits.settlement {
            put(&(key.capacity as u64).to_be_bytes());
            put(key.sha256.to_ascii_lowercase().as_bytes());
        }
        if let Some(key) = &circuits.screening {
            put(b"screening");
            put(key.sha256.to_ascii_lowercase().as_bytes());
        }
    }
    hasher.finalize().into()
}
