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
use veil_crypto::auditor::AuditorPublicKey;
use veil_crypto::encoding;
use veil_crypto::view_key::{PublishedViewKey, ViewScope};
use veil_crypto::{EncryptionPublicKey, VerifyingKey};
use veil_policies::schema::is_member_id;

use crate::pki::CaChain;

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
    /// The borrower-reference OPRF key the members share (`veil_crypto::dkg`): its public
    /// side. Without it, borrower references are keyed hashes under one shared key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oprf: Option<OprfFile>,
    /// The founding members' signatures of the genesis hash (`veil consortium sign`). Not
    /// covered by the hash. A node or gateway starts only when every member listed above has
    /// signed ([`Genesis::require_signed`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<GenesisSignatureFile>,
}

/// The public side of the members' shared OPRF key (`veil_crypto::oprf::OprfPublicKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OprfFile {
    /// Members' answers an evaluation needs.
    pub threshold: u16,
    /// The group key `K = k·G` (hex, compressed ristretto255).
    pub group_key: String,
    /// Each member's public key share `K_i` (hex), in member order (index `i` = position + 1).
    pub public_shares: Vec<String>,
    /// How many evaluations one member may ask of another per UTC day (beyond it: 429);
    /// [`DEFAULT_OPRF_DAILY_LIMIT`] if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<u64>,
}

/// The default [`OprfFile::daily_limit`]: a large bank's daily new borrowers (originations and
/// registrations of borrowers it has not seen) with room to spare — and, since every
/// evaluation answers one guess of a national id, as low as that allows.
pub const DEFAULT_OPRF_DAILY_LIMIT: u64 = 20_000;
/// The largest [`OprfFile::daily_limit`] a genesis may set.
pub const MAX_OPRF_DAILY_LIMIT: u64 = 1_000_000;

impl OprfFile {
    /// The public key it describes, checked: one share per member, every point valid, any
    /// `threshold` shares interpolating to the group key.
    ///
    /// # Errors
    /// What is wrong, in one line.
    pub fn public_key(&self, members: usize) -> Result<veil_crypto::oprf::OprfPublicKey, String> {
        let bytes = |what: &str, hex: &str| {
            encoding::from_hex_array::<32>(hex).map_err(|e| format!("oprf.{what}: {e}"))
        };
        if self.public_shares.len() != members {
            return Err("oprf.public_shares must have one share per member".into());
        }
        // A majority at least: fewer members than half could otherwise compute references.
        if self.threshold < 2 || usize::from(self.threshold) * 2 <= members {
            return Err("oprf.threshold must be at least 2 and more than half the members".into());
        }
        if let Some(limit) = self.daily_limit
            && !(1..=MAX_OPRF_DAILY_LIMIT).contains(&limit)
        {
            return Err(format!(
                "oprf.daily_limit must be 1 to {MAX_OPRF_DAILY_LIMIT}"
            ));
        }
        let shares = self
            .public_shares
            .iter()
            .map(|hex| bytes("public_shares", hex))
            .collect::<Result<Vec<_>, _>>()?;
        veil_crypto::oprf::OprfPublicKey::from_bytes(
            self.threshold,
            &bytes("group_key", &self.group_key)?,
            &shares,
        )
        .map_err(|e| format!("oprf: {e}"))
    }

    /// The file entry of `key`, with the default daily limit.
    pub fn of(key: &veil_crypto::oprf::OprfPublicKey) -> Self {
        Self {
            daily_limit: None,
            threshold: key.threshold,
            group_key: encoding::to_hex(key.group_key.compress().as_bytes()),
            public_shares: key
                .shares
                .values()
                .map(|p| encoding::to_hex(p.compress().as_bytes()))
                .collect(),
        }
    }
}

/// One founding member's signature of the genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSignatureFile {
    /// The signing member's id.
    pub member: String,
    /// Hex Ed25519 signature, by the member's `signing_key`, of the genesis hash under
    /// [`veil_crypto::labels::signature::GENESIS`].
    pub signature: String,
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
    /// Hex SHA-256 transcript hash of the verified ceremony the keys come from (`setup =
    /// "ceremony"`): every founding member checks it against the ceremony before signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
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
    fn load(file: Option<&CircuitsFile>) -> Result<Self, GenesisError> {
        let Some(file) = file else {
            return Ok(Self {
                setup: CircuitSetup::Ceremony,
                settlement: BTreeMap::new(),
                screening: None,
            });
        };
        let setup = match file.setup.as_str() {
            "ceremony" if file.transcript.is_none() => {
                return Err(invalid(
                    "circuits.setup = \"ceremony\" needs the ceremony's transcript hash \
                     (circuits.transcript), which every founding member checked before signing",
                ));
            }
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
            let slots = veil_circuits::settlement::PARTICIPANT_SLOTS;
            let shape = veil_circuits::settlement::Shape::new(key.capacity, slots)
                .map_err(|e| invalid(format!("settlement circuit: {e}")))?;
            let vk = pinned_key(
                &format!("settlement-{}", key.capacity),
                &key.sha256,
                &key.verifying_key,
            )?;
            if vk.public_inputs() != shape.public_inputs() {
                return Err(invalid(format!(
                    "settlement-{} verifying key is not for {slots} participant slots",
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
    /// The member's issuing CA, PEM, issuing CA first (see [`crate::pki`]): certificates that
    /// chain to it speak for this member and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// Hex Ed25519 signature by `signing_key` of [`MemberFile::signed_bytes`]: the member's own
    /// signature of everything the genesis says about it (its descriptor's signature, `veil
    /// member keygen`), so whoever assembles the genesis cannot alter it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl MemberFile {
    /// What the member signs about itself in consortium `consortium_id`, under
    /// [`veil_crypto::labels::signature::DESCRIPTOR`]: framed consortium id, `member`, id,
    /// name, the three keys (hex), the three addresses, the CA (PEM, empty if none).
    pub fn signed_bytes(&self, consortium_id: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(2048);
        for part in [
            consortium_id,
            "member",
            &self.id,
            &self.name,
            &self.consensus_key.to_ascii_lowercase(),
            &self.signing_key.to_ascii_lowercase(),
            &self.encryption_key.to_ascii_lowercase(),
            &self.p2p_address.to_string(),
            &self.node_api.to_string(),
            &self.gateway.to_string(),
            self.ca.as_deref().unwrap_or(""),
        ] {
            encoding::put_framed(&mut out, part.as_bytes());
        }
        out
    }
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
    /// Hex Ed25519 key that signs the regulator's publications of further view keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// Hex compressed Ristretto auditor public key ([`veil_crypto::auditor`]): every committed
    /// amount of every entry carries a decrypt handle to it and a validity proof nodes check,
    /// so the regulator can recover any amount whatever the writer's gateway wrapped. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auditor_key: Option<String>,
    /// The regulator's issuing CA, PEM (see [`MemberFile::ca`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// Hex Ed25519 signature by `signing_key` of [`RegulatorFile::signed_bytes`] (see
    /// [`MemberFile::signature`]): nobody but the regulator can change its view keys here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl RegulatorFile {
    /// What the regulator signs about itself in consortium `consortium_id`, under
    /// [`veil_crypto::labels::signature::DESCRIPTOR`]: framed consortium id, `regulator`, id,
    /// name, gateway address, each published view key (month, class, hex key), signing key
    /// (hex), CA (PEM, empty if none), auditor key (hex, empty if none).
    pub fn signed_bytes(&self, consortium_id: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        for part in [consortium_id, "regulator", &self.id, &self.name] {
            encoding::put_framed(&mut out, part.as_bytes());
        }
        encoding::put_framed(&mut out, self.gateway.to_string().as_bytes());
        out.extend_from_slice(&(self.view_keys.len() as u64).to_be_bytes());
        for key in &self.view_keys {
            encoding::put_framed(&mut out, key.scope.month().as_bytes());
            encoding::put_framed(&mut out, key.scope.class().as_bytes());
            encoding::put_framed(&mut out, &key.public_key.to_bytes());
        }
        encoding::put_framed(
            &mut out,
            self.signing_key
                .as_deref()
                .unwrap_or("")
                .to_ascii_lowercase()
                .as_bytes(),
        );
        encoding::put_framed(&mut out, self.ca.as_deref().unwrap_or("").as_bytes());
        encoding::put_framed(
            &mut out,
            self.auditor_key
                .as_deref()
                .unwrap_or("")
                .to_ascii_lowercase()
                .as_bytes(),
        );
        out
    }
}

/// Whether `signature` (hex) is `key`'s signature of `message` under `domain`.
fn signs(key: &VerifyingKey, domain: &'static [u8], message: &[u8], signature: &str) -> bool {
    encoding::from_hex_array::<{ veil_crypto::signature::SIGNATURE_LEN }>(signature)
        .ok()
        .and_then(|bytes| veil_crypto::Signature::from_bytes(&bytes).ok())
        .is_some_and(|s| key.verify(domain, message, &s).is_ok())
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
    /// The member's issuing CA, if the genesis names one.
    pub ca: Option<CaChain>,
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
    /// The key that signs the regulator's publications of further view keys.
    pub signing_key: Option<VerifyingKey>,
    /// The regulator's issuing CA, if the genesis names one.
    pub ca: Option<CaChain>,
    /// The key every committed amount carries a verifiable decrypt handle to.
    pub auditor_key: AuditorPublicKey,
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
    /// The members whose valid signature of the genesis hash the file carries, in member order.
    pub signed_by: Vec<String>,
    /// The parties (members and regulators) whose own signature of their genesis entry (their
    /// descriptor's) the file carries and verifies.
    pub self_signed: Vec<String>,
    /// The file it came from.
    pub file: ConsortiumFile,
}

fn invalid(message: impl Into<String>) -> GenesisError {
    GenesisError::Invalid(message.into())
}

/// Parses a party's CA chain (shape and algorithms; validity periods are checked where the
/// time matters: keygen, assembly, and the TLS trust at start).
fn ca_chain(id: &str, pem: Option<&str>) -> Result<Option<CaChain>, GenesisError> {
    pem.map(|pem| CaChain::from_pem(pem).map_err(|e| invalid(format!("{id}: ca: {e}"))))
        .transpose()
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
        // A reader group may be wrapped to every party (a settlement's repayments when its
        // clearing period involves every partner): each must fit in one group.
        let parties = file.members.len() + file.regulators.len();
        if parties > veil_crypto::envelope::MAX_RECIPIENTS {
            return Err(invalid(format!(
                "{parties} members and regulators: a consortium has at most {} (the recipients \
                 one reader group can be wrapped to)",
                veil_crypto::envelope::MAX_RECIPIENTS
            )));
        }
        if let Some(oprf) = &file.oprf {
            oprf.public_key(file.members.len()).map_err(invalid)?;
        }
        let policy_hash = encoding::from_hex_array(&file.policy_hash)
            .map_err(|e| invalid(format!("policy_hash: {e}")))?;
        let mut members = Vec::with_capacity(file.members.len());
        // The parties whose own signature of their genesis entry verifies.
        let mut self_signed: Vec<String> = Vec::new();
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
            if members.iter().any(|other: &Member| {
                other.signing_key == signing_key || other.encryption_key == encryption_key
            }) {
                return Err(invalid(format!(
                    "{}: a signing or encryption key another member also lists",
                    m.id
                )));
            }
            let ca = ca_chain(&m.id, m.ca.as_deref())?;
            if let Some(signature) = &m.signature {
                if !signs(
                    &signing_key,
                    veil_crypto::labels::signature::DESCRIPTOR,
                    &m.signed_bytes(&file.consortium_id),
                    signature,
                ) {
                    return Err(invalid(format!(
                        "{}: its own signature does not cover what the genesis says about it \
                         (altered after the member made its descriptor)",
                        m.id
                    )));
                }
                self_signed.push(m.id.clone());
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
                ca,
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
            let signing_key = r
                .signing_key
                .as_deref()
                .map(VerifyingKey::from_hex)
                .transpose()
                .map_err(|e| invalid(format!("{}: signing_key: {e}", r.id)))?;
            let ca = ca_chain(&r.id, r.ca.as_deref())?;
            let auditor_key = r
                .auditor_key
                .as_deref()
                .ok_or_else(|| {
                    invalid(format!(
                        "{}: no auditor_key (nodes check every amount is recoverable by each \
                         regulator; `veil regulator keygen` makes one)",
                        r.id
                    ))
                })
                .and_then(|hex| {
                    AuditorPublicKey::from_hex(hex)
                        .map_err(|e| invalid(format!("{}: auditor_key: {e}", r.id)))
                })?;
            if regulators
                .iter()
                .any(|other: &Regulator| other.auditor_key == auditor_key)
            {
                return Err(invalid(format!(
                    "{}: its auditor key is another regulator's",
                    r.id
                )));
            }
            if let Some(key) = &signing_key
                && members.iter().any(|m| m.signing_key == *key)
            {
                return Err(invalid(format!(
                    "{}: its signing key is also a member's",
                    r.id
                )));
            }
            if let (Some(key), Some(signature)) = (&signing_key, &r.signature) {
                if !signs(
                    key,
                    veil_crypto::labels::signature::DESCRIPTOR,
                    &r.signed_bytes(&file.consortium_id),
                    signature,
                ) {
                    return Err(invalid(format!(
                        "{}: its own signature does not cover what the genesis says about it \
                         (altered after the regulator made its descriptor)",
                        r.id
                    )));
                }
                self_signed.push(r.id.clone());
            }
            regulators.push(Regulator {
                id: r.id.clone(),
                name: r.name.clone(),
                gateway: r.gateway,
                view_keys,
                signing_key,
                ca,
                auditor_key,
            });
        }
        // Each issuing CA speaks for one party: two parties may not name the same CA (by
        // subject or by key), or one's certificates could be taken for the other's.
        let authorities: Vec<(&str, &CaChain)> = members
            .iter()
            .filter_map(|m| m.ca.as_ref().map(|ca| (m.id.as_str(), ca)))
            .chain(
                regulators
                    .iter()
                    .filter_map(|r| r.ca.as_ref().map(|ca| (r.id.as_str(), ca))),
            )
            .collect();
        for (i, (id, ca)) in authorities.iter().enumerate() {
            if let Some((other, _)) = authorities[..i].iter().find(|(_, earlier)| {
                earlier.anchor_subject() == ca.anchor_subject()
                    || earlier.anchor_key() == ca.anchor_key()
            }) {
                return Err(invalid(format!(
                    "{id} and {other} name the same issuing CA (subject or key): a CA speaks for \
                     one party only"
                )));
            }
        }
        let circuits = Circuits::load(file.circuits.as_ref())?;
        let hash = genesis_hash(&file);
        let mut signed_by = Vec::new();
        for signature in &file.signatures {
            let Some(member) = members.iter().find(|m| m.id == signature.member) else {
                return Err(invalid(format!(
                    "a genesis signature names {:?}, which is not a member",
                    signature.member
                )));
            };
            if signed_by.contains(&member.id) {
                return Err(invalid(format!(
                    "{} signed the genesis twice",
                    signature.member
                )));
            }
            let valid = encoding::from_hex_array::<{ veil_crypto::signature::SIGNATURE_LEN }>(
                &signature.signature,
            )
            .ok()
            .and_then(|bytes| veil_crypto::Signature::from_bytes(&bytes).ok())
            .is_some_and(|s| {
                member
                    .signing_key
                    .verify(veil_crypto::labels::signature::GENESIS, &hash, &s)
                    .is_ok()
            });
            if !valid {
                return Err(invalid(format!(
                    "{}'s signature is not a signature of this genesis (it was signed over \
                     other contents, or by another key)",
                    member.id
                )));
            }
            signed_by.push(member.id.clone());
        }
        signed_by.sort_by_key(|id| members.iter().position(|m| &m.id == id));
        Ok(Self {
            consortium_id: file.consortium_id.clone(),
            params: file.params,
            policy_hash,
            members,
            regulators,
            circuits,
            hash,
            signed_by,
            self_signed,
            file,
        })
    }

    /// Refuses a genesis that not every founding member (every member it lists) has signed:
    /// nodes and gateways call this before they start.
    ///
    /// # Errors
    /// [`GenesisError::Invalid`] naming the members whose signature is missing.
    pub fn require_signed(&self) -> Result<(), GenesisError> {
        let unsigned: Vec<&str> = self
            .members
            .iter()
            .map(|m| m.id.as_str())
            .chain(self.regulators.iter().map(|r| r.id.as_str()))
            .filter(|id| !self.self_signed.iter().any(|s| s == id))
            .collect();
        if !unsigned.is_empty() {
            return Err(invalid(format!(
                "the genesis entries of {} carry no signature of their own party (assemble the \
                 genesis from the parties' descriptors)",
                unsigned.join(", ")
            )));
        }
        let missing: Vec<&str> = self
            .members
            .iter()
            .filter(|m| !self.signed_by.contains(&m.id))
            .map(|m| m.id.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(invalid(format!(
            "the genesis lacks the signature of {} (each founding member runs `veil consortium \
             sign`)",
            missing.join(", ")
        )))
    }

    /// Every party's issuing CA, by party id (members, then regulators): the TLS trust of
    /// nodes and gateways. Parties without a CA are left out.
    pub fn certificate_authorities(&self) -> Vec<(String, CaChain)> {
        self.members
            .iter()
            .filter_map(|m| m.ca.clone().map(|ca| (m.id.clone(), ca)))
            .chain(
                self.regulators
                    .iter()
                    .filter_map(|r| r.ca.clone().map(|ca| (r.id.clone(), ca))),
            )
            .collect()
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
        // Whatever the genesis declares: the well-known dev keys are forgeable by anyone.
        let settlement =
            self.circuits.settlement.iter().map(|(capacity, vk)| {
                (format!("settlement circuit key of capacity {capacity}"), vk)
            });
        let screening = self
            .circuits
            .screening
            .iter()
            .map(|vk| ("screening circuit key".to_owned(), vk));
        for (which, vk) in settlement.chain(screening) {
            if veil_circuits::dev::is_dev_key(vk) {
                return Err(invalid(format!(
                    "the pinned {which} comes from the insecure dev setup (anyone can forge \
                     proofs under it), although the genesis says setup = \"ceremony\"; \
                     run the ceremony (docs/ceremony.md) or start with --dev for a test \
                     consortium"
                )));
            }
        }
        Ok(())
    }

    /// The members' shared borrower-reference OPRF key, if the genesis has one (checked when
    /// the genesis was read).
    pub fn oprf_key(&self) -> Option<veil_crypto::oprf::OprfPublicKey> {
        self.file
            .oprf
            .as_ref()
            .and_then(|oprf| oprf.public_key(self.members.len()).ok())
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
    // A CA as the SHA-256 of each of its certificates (the chain parsed when the file was
    // validated; an unparsable one never reaches here).
    let ca_digests = |pem: &Option<String>| -> Vec<[u8; 32]> {
        pem.as_deref()
            .and_then(|pem| CaChain::from_pem(pem).ok())
            .map(|ca| ca.fingerprints())
            .unwrap_or_default()
    };
    for m in &file.members {
        put(m.id.as_bytes());
        put(m.consensus_key.as_bytes());
        put(m.signing_key.as_bytes());
        put(m.encryption_key.as_bytes());
        if m.ca.is_some() {
            put(b"ca");
            for digest in ca_digests(&m.ca) {
                put(&digest);
            }
        }
    }
    for r in &file.regulators {
        put(r.id.as_bytes());
        for key in &r.view_keys {
            put(key.scope.month().as_bytes());
            put(key.scope.class().as_bytes());
            put(&key.public_key.to_bytes());
        }
        if let Some(key) = &r.signing_key {
            put(b"signing-key");
            put(key.as_bytes());
        }
        if let Some(key) = &r.auditor_key {
            put(b"auditor-key");
            put(key.to_ascii_lowercase().as_bytes());
        }
        if r.ca.is_some() {
            put(b"ca");
            for digest in ca_digests(&r.ca) {
                put(&digest);
            }
        }
    }
    if let Some(oprf) = &file.oprf {
        put(b"oprf");
        put(&oprf.threshold.to_be_bytes());
        if let Some(limit) = oprf.daily_limit {
            put(b"daily-limit");
            put(&limit.to_be_bytes());
        }
        put(oprf.group_key.to_ascii_lowercase().as_bytes());
        for share in &oprf.public_shares {
            put(share.to_ascii_lowercase().as_bytes());
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
        if let Some(transcript) = &circuits.transcript {
            put(b"transcript");
            put(transcript.to_ascii_lowercase().as_bytes());
        }
    }
    hasher.finalize().into()
}
