//! `veil member keygen`, `veil member issue` and `veil regulator keygen`: one party makes its
//! own secrets, in its own directory only, and a signed public [descriptor](super::descriptor)
//! for the others.
//!
//! ```text
//! MEMBER/member.json                       the signed public descriptor
//! MEMBER/keys/node.key                     consensus key (Ed25519)
//! MEMBER/keys/signing.key                  entry signing key (Ed25519)
//! MEMBER/keys/encryption.key               data-key encryption key (X25519)
//! MEMBER/keys/node-api.*, node-client.*, gateway.*     TLS certificates and keys
//! MEMBER/ca/ca.pem, ca.key, crl.pem        the member's own issuing CA (absent with --ca-chain)
//! MEMBER/clients/<role>.pem, .key          client certificates (`veil member issue`)
//! MEMBER/node.toml, gateway.toml           the process configs
//!
//! REGULATOR/regulator.json                 the signed public descriptor (scoped view keys)
//! REGULATOR/view.key                       the master view key
//! REGULATOR/keys/signing.key               signs publications of further months
//! REGULATOR/keys/gateway.*, node-client.*  TLS certificates and keys
//! REGULATOR/ca/ca.pem, ca.key, crl.pem     the regulator's issuing CA
//! REGULATOR/client.pem, client.key         the regulator's client certificate
//! REGULATOR/gateway.toml                   the read-only gateway's config
//! ```
//!
//! Every secret file is created with mode 0600. The configs name the genesis (and the policy
//! set and circuit keys beside it) at a path chosen at keygen: by default `consortium.toml`
//! in the party's directory, where each host puts the signed genesis it receives.
//!
//! With `--ca-chain`, the member brings its own PKI: the descriptor names that CA chain and the
//! member's PKI issues the TLS certificates (`keys/node-api.pem`, ...; the configs name them).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use veil_crypto::encoding::{self, KeyAlgorithm};
use veil_crypto::{EncryptionSecretKey, MasterViewKey, SigningKey};
use veil_node::config::{ApiConfig, NodeConfig, TimingConfig};
use veil_node::pki::CaChain;
use veil_policies::FieldClass;
use veil_policies::schema::is_member_id;

use super::config::{GatewayConfig, GatewayKind, MemberKeys, NodeClient, ServerTls};
use super::descriptor::{Descriptor, FORMAT, PartyKind};
use super::files::{FileError, mkdir, write_public, write_secret};
use super::members::CLIENT_ROLES;
use super::pki::{Ca, PkiError, Usage};

/// Why a party's keys could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// Bad arguments: which, and what is accepted.
    #[error("{0}")]
    Arguments(String),
    /// The directory already holds a party's keys.
    #[error("{0} already holds keys (member.json or regulator.json); use another directory")]
    Exists(String),
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// No randomness for a key.
    #[error("key generation: {0}")]
    Keys(String),
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The CA chain brought with `--ca-chain` is refused.
    #[error("--ca-chain {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A config could not be encoded.
    #[error("encoding {0}")]
    Encoding(String),
}

fn keys_error(e: impl std::fmt::Display) -> KeygenError {
    KeygenError::Keys(e.to_string())
}

/// Where a party's configs find the genesis and the policy set.
#[derive(Debug, Clone)]
pub struct GenesisPaths {
    /// The genesis, relative to the party's directory (the circuits' keys are beside it).
    pub genesis: PathBuf,
    /// The policy set, relative to the party's directory.
    pub policy: PathBuf,
}

impl Default for GenesisPaths {
    fn default() -> Self {
        Self {
            genesis: PathBuf::from("consortium.toml"),
            policy: PathBuf::from("policies/default.cedar"),
        }
    }
}

/// What `veil member keygen` makes.
#[derive(Debug, Clone)]
pub struct MemberOptions {
    /// The member's id, `[a-z][a-z0-9-]{0,31}`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The consortium id it joins.
    pub consortium: String,
    /// The node's peer address.
    pub p2p_address: SocketAddr,
    /// The node API address.
    pub node_api: SocketAddr,
    /// The gateway address.
    pub gateway: SocketAddr,
    /// Host names and IP addresses in the server certificates.
    pub hosts: Vec<String>,
    /// An existing CA chain (PEM, issuing CA first) instead of a new CA.
    pub ca_chain: Option<PathBuf>,
    /// The issuing CA's private key (PKCS#8 PEM), if the bank lets `veil` issue its Veil
    /// certificates; without it the bank's PKI issues them.
    pub ca_key: Option<PathBuf>,
    /// Where the configs find the genesis.
    pub paths: GenesisPaths,
    /// Consensus timing written into the node config.
    pub timing: TimingConfig,
}

/// What `veil regulator keygen` makes.
#[derive(Debug, Clone)]
pub struct RegulatorOptions {
    /// The regulator's id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The consortium id it joins (the scoped view keys are bound to it).
    pub consortium: String,
    /// The read-only gateway's address.
    pub gateway: SocketAddr,
    /// The member whose node the gateway reads from, and that node's API address.
    pub node: (String, SocketAddr),
    /// Months whose scoped view keys the descriptor publishes (`YYYY-MM`, in order).
    pub months: Vec<String>,
    /// Host names and IP addresses in the server certificate.
    pub hosts: Vec<String>,
    /// Where the config finds the genesis.
    pub paths: GenesisPaths,
}

/// The party directory `dir`, created if needed; refused if it already holds a party.
fn fresh_dir(dir: &Path) -> Result<(), KeygenError> {
    for name in ["member.json", "regulator.json"] {
        if dir.join(name).exists() {
            return Err(KeygenError::Exists(dir.display().to_string()));
        }
    }
    Ok(mkdir(dir)?)
}

fn check_id(id: &str) -> Result<(), KeygenError> {
    if !is_member_id(id) {
        return Err(KeygenError::Arguments(format!(
            "--id {id:?}: an id is a lowercase letter then up to 31 lowercase letters, digits \
             or '-' ([a-z][a-z0-9-]{{0,31}})"
        )));
    }
    Ok(())
}

fn issue_pair(
    ca: &Ca,
    dir: &Path,
    name: &str,
    common_name: &str,
    usage: Usage,
    hosts: &[String],
) -> Result<(), KeygenError> {
    let issued = ca.issue_now(common_name, usage, hosts)?;
    write_public(&dir.join(format!("{name}.pem")), &issued.cert_pem)?;
    write_secret(&dir.join(format!("{name}.key")), &issued.key_pem)?;
    Ok(())
}

/// A new issuing CA for `id`, written to `dir/ca/`, with an empty CRL.
fn new_ca(dir: &Path, id: &str) -> Result<Ca, KeygenError> {
    let ca_dir = dir.join("ca");
    mkdir(&ca_dir)?;
    let ca = Ca::generate(id)?;
    write_public(&ca_dir.join("ca.pem"), ca.cert_pem())?;
    write_secret(&ca_dir.join("ca.key"), &ca.key_pem())?;
    Ok(ca)
}

fn toml_text<T: serde::Serialize>(value: &T, header: &str) -> Result<String, KeygenError> {
    let body = toml::to_string_pretty(value).map_err(|e| KeygenError::Encoding(e.to_string()))?;
    Ok(format!("{header}\n{body}"))
}

fn json_text(descriptor: &Descriptor) -> Result<String, KeygenError> {
    serde_json::to_string_pretty(descriptor)
        .map(|text| text + "\n")
        .map_err(|e| KeygenError::Encoding(e.to_string()))
}

/// Makes member `options.id`'s secrets, certificates, configs and signed descriptor in `dir`
/// (and nowhere else). Returns the descriptor.
///
/// # Errors
/// [`KeygenError`]: a bad id, a directory that already holds a party, a refused `--ca-chain`
/// (unparsable, not a CA, a refused key algorithm, expired or not yet valid), a file that
/// cannot be written.
pub fn member_keygen(dir: &Path, options: &MemberOptions) -> Result<Descriptor, KeygenError> {
    check_id(&options.id)?;
    let addresses = [options.p2p_address, options.node_api, options.gateway];
    if (1..3).any(|i| addresses[..i].contains(&addresses[i])) {
        return Err(KeygenError::Arguments(
            "--p2p, --node-api and --gateway must be three different addresses".into(),
        ));
    }
    if options.ca_key.is_some() && options.ca_chain.is_none() {
        return Err(KeygenError::Arguments(
            "--ca-key needs --ca-chain (the certificate of that key first)".into(),
        ));
    }
    // A chain brought with --ca-chain is published re-encoded from its parsed certificates
    // (nothing else its file held); its key, if given, must be its issuing CA's. Both are
    // checked before anything is written.
    let chain_text = match &options.ca_chain {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| KeygenError::Ca {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let chain = CaChain::from_pem(&text)
                .and_then(|chain| chain.check_validity(SystemTime::now()).map(|()| chain))
                .map_err(|e| KeygenError::Ca {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
            if let Some(key_path) = &options.ca_key {
                let key = veil_node::tls::read_private(key_path).map_err(|e| KeygenError::Ca {
                    path: key_path.display().to_string(),
                    reason: e.to_string(),
                })?;
                let key =
                    rcgen::KeyPair::from_pem(&String::from_utf8_lossy(&key)).map_err(|e| {
                        KeygenError::Ca {
                            path: key_path.display().to_string(),
                            reason: format!("not a private key rcgen can sign with ({e})"),
                        }
                    })?;
                if rcgen::PublicKeyData::subject_public_key_info(&key) != chain.anchor_key() {
                    return Err(KeygenError::Ca {
                        path: key_path.display().to_string(),
                        reason: "not the key of the chain's issuing CA (its first certificate)"
                            .into(),
                    });
                }
            }
            Some(chain.to_pem())
        }
        None => None,
    };
    fresh_dir(dir)?;
    let keys = dir.join("keys");
    mkdir(&keys)?;

    let consensus = SigningKey::generate().map_err(keys_error)?;
    write_secret(
        &keys.join("node.key"),
        &encoding::private_key_to_pem(KeyAlgorithm::Ed25519, &consensus.to_seed()),
    )?;
    let signing = SigningKey::generate().map_err(keys_error)?;
    write_secret(&keys.join("signing.key"), &signing.to_pem())?;
    let encryption = EncryptionSecretKey::generate().map_err(keys_error)?;
    write_secret(&keys.join("encryption.key"), &encryption.to_pem())?;

    let id = &options.id;
    // The CA that issues the member's Veil certificates here: a new one, or the bank's own
    // issuing CA when its key is given. Without the key, the bank's PKI issues them.
    let ca = match (&chain_text, &options.ca_key) {
        (None, _) => Some(new_ca(dir, id)?),
        (Some(text), Some(key_path)) => {
            let key = veil_node::tls::read_private(key_path).map_err(|e| KeygenError::Ca {
                path: key_path.display().to_string(),
                reason: e.to_string(),
            })?;
            let ca_dir = dir.join("ca");
            mkdir(&ca_dir)?;
            write_public(&ca_dir.join("ca.pem"), text)?;
            write_secret(&ca_dir.join("ca.key"), &String::from_utf8_lossy(&key))?;
            Some(Ca::load(&ca_dir.join("ca.pem"), &ca_dir.join("ca.key"))?)
        }
        (Some(_), None) => None,
    };
    let ca_pem = match ca {
        None => chain_text.unwrap_or_default(),
        Some(ca) => {
            let hosts = &options.hosts;
            issue_pair(
                &ca,
                &keys,
                "node-api",
                &format!("{id}:node"),
                Usage::Server,
                hosts,
            )?;
            issue_pair(
                &ca,
                &keys,
                "node-client",
                &format!("{id}:gateway"),
                Usage::Client,
                hosts,
            )?;
            issue_pair(
                &ca,
                &keys,
                "gateway",
                &format!("{id}:gateway-server"),
                Usage::Server,
                hosts,
            )?;
            let clients = dir.join("clients");
            mkdir(&clients)?;
            for role in CLIENT_ROLES {
                issue_pair(
                    &ca,
                    &clients,
                    role,
                    &format!("{id}:{role}"),
                    Usage::Client,
                    &[],
                )?;
            }
            match chain_text {
                Some(text) => text,
                None => {
                    write_public(&dir.join("ca").join("crl.pem"), &ca.crl(&[], 1)?)?;
                    ca.cert_pem().to_owned()
                }
            }
        }
    };
    // The CRL of a CA made here; a bank's own PKI publishes its revocations its own way.
    let own_crl = options
        .ca_chain
        .is_none()
        .then(|| PathBuf::from("ca/crl.pem"));

    let node = NodeConfig {
        member: id.clone(),
        consortium: options.paths.genesis.clone(),
        data_dir: PathBuf::from("node-data"),
        identity_key: PathBuf::from("keys/node.key"),
        p2p_listen: None,
        worker_threads: None,
        api: ApiConfig {
            listen: options.node_api,
            cert: PathBuf::from("keys/node-api.pem"),
            key: PathBuf::from("keys/node-api.key"),
            crl: own_crl.clone(),
        },
        timing: options.timing,
        policy: None,
    };
    write_public(
        &dir.join("node.toml"),
        toml_text(
            &node,
            &format!("# {id}'s node: `veil node --config node.toml`"),
        )?,
    )?;
    let gateway = GatewayConfig {
        kind: GatewayKind::Member,
        id: id.clone(),
        consortium: options.paths.genesis.clone(),
        policy: options.paths.policy.clone(),
        listen: options.gateway,
        data_dir: PathBuf::from("gateway-data"),
        tls: ServerTls {
            cert: PathBuf::from("keys/gateway.pem"),
            key: PathBuf::from("keys/gateway.key"),
            crl: own_crl,
        },
        node: NodeClient {
            api: options.node_api,
            member: None,
            cert: PathBuf::from("keys/node-client.pem"),
            key: PathBuf::from("keys/node-client.key"),
        },
        keys: Some(MemberKeys {
            signing: PathBuf::from("keys/signing.key"),
            encryption: PathBuf::from("keys/encryption.key"),
        }),
        view_key: None,
        signing_key: None,
        disclosure_anchor_ms: None,
        oprf_report_ms: None,
    };
    write_public(
        &dir.join("gateway.toml"),
        toml_text(
            &gateway,
            &format!("# {id}'s gateway: `veil gateway --config gateway.toml`"),
        )?,
    )?;

    let descriptor = Descriptor {
        format: FORMAT.into(),
        kind: PartyKind::Member,
        id: id.clone(),
        name: options.name.clone(),
        consortium: options.consortium.clone(),
        consensus_key: Some(consensus.verifying_key().to_hex()),
        signing_key: signing.verifying_key().to_hex(),
        encryption_key: Some(encryption.public_key().to_hex()),
        p2p_address: Some(options.p2p_address),
        node_api: Some(options.node_api),
        gateway: options.gateway,
        ca: ca_pem,
        view_keys: Vec::new(),
        auditor_key: None,
        signature: String::new(),
    }
    .sign(&signing)
    .map_err(KeygenError::Arguments)?;
    descriptor
        .verify(SystemTime::now())
        .map_err(|reason| KeygenError::Ca {
            path: "the new descriptor".into(),
            reason,
        })?;
    write_public(&dir.join("member.json"), json_text(&descriptor)?)?;
    Ok(descriptor)
}

/// Issues a client certificate `<id>:<role>` from the member's own CA in `dir`, written to
/// `dir/clients/<role>.pem` and `.key` (replacing an older one). Returns the certificate path.
///
/// # Errors
/// [`KeygenError`]: an unknown role, a member whose CA is external (`--ca-chain`: its own PKI
/// issues), or a file that cannot be read or written.
pub fn issue_client(dir: &Path, role: &str) -> Result<PathBuf, KeygenError> {
    if !CLIENT_ROLES.contains(&role) {
        return Err(KeygenError::Arguments(format!(
            "--role {role:?}: a member's client roles are {}",
            CLIENT_ROLES.join(", ")
        )));
    }
    let descriptor = Descriptor::load(&dir.join("member.json"))
        .map_err(|e| KeygenError::Arguments(e.to_string()))?;
    let (cert, key) = (dir.join("ca").join("ca.pem"), dir.join("ca").join("ca.key"));
    if !key.exists() {
        return Err(KeygenError::Arguments(format!(
            "{} has no CA key: this member's certificates come from its own PKI (--ca-chain)",
            dir.display()
        )));
    }
    veil_node::tls::check_private(&key).map_err(|e| KeygenError::Arguments(e.to_string()))?;
    let ca = Ca::load(&cert, &key)?;
    let clients = dir.join("clients");
    mkdir(&clients)?;
    issue_pair(
        &ca,
        &clients,
        role,
        &format!("{}:{role}", descriptor.id),
        Usage::Client,
        &[],
    )?;
    Ok(clients.join(format!("{role}.pem")))
}

/// Makes regulator `options.id`'s master view key, signing key, CA, certificates, gateway
/// config and signed descriptor (publishing only the scoped public view keys of
/// `options.months`) in `dir`. Returns the descriptor.
///
/// # Errors
/// [`KeygenError`]: a bad id or month, a directory that already holds a party, a file that
/// cannot be written.
pub fn regulator_keygen(dir: &Path, options: &RegulatorOptions) -> Result<Descriptor, KeygenError> {
    check_id(&options.id)?;
    if options.months.is_empty() {
        return Err(KeygenError::Arguments(
            "publish at least one month of view keys (--view-keys-through YYYY-MM, not before \
             the first month)"
                .into(),
        ));
    }
    fresh_dir(dir)?;
    let keys = dir.join("keys");
    mkdir(&keys)?;
    let id = &options.id;
    let master = MasterViewKey::generate().map_err(keys_error)?;
    write_secret(&dir.join("view.key"), &master.to_pem())?;
    let signing = SigningKey::generate().map_err(keys_error)?;
    write_secret(&keys.join("signing.key"), &signing.to_pem())?;
    let classes: Vec<&str> = FieldClass::ALL.iter().map(|c| c.name()).collect();
    let view_keys = master
        .publish(&options.consortium, &options.months, &classes)
        .map_err(keys_error)?;

    let ca = new_ca(dir, id)?;
    write_public(&dir.join("ca").join("crl.pem"), &ca.crl(&[], 1)?)?;
    issue_pair(
        &ca,
        dir,
        "client",
        &format!("{id}:regulator"),
        Usage::Client,
        &[],
    )?;
    issue_pair(
        &ca,
        &keys,
        "gateway",
        &format!("{id}:gateway-server"),
        Usage::Server,
        &options.hosts,
    )?;
    issue_pair(
        &ca,
        &keys,
        "node-client",
        &format!("{id}:gateway"),
        Usage::Client,
        &[],
    )?;
    let gateway = GatewayConfig {
        kind: GatewayKind::Regulator,
        id: id.clone(),
        consortium: options.paths.genesis.clone(),
        policy: options.paths.policy.clone(),
        listen: options.gateway,
        data_dir: PathBuf::from("gateway-data"),
        tls: ServerTls {
            cert: PathBuf::from("keys/gateway.pem"),
            key: PathBuf::from("keys/gateway.key"),
            crl: Some(PathBuf::from("ca/crl.pem")),
        },
        node: NodeClient {
            api: options.node.1,
            member: Some(options.node.0.clone()),
            cert: PathBuf::from("keys/node-client.pem"),
            key: PathBuf::from("keys/node-client.key"),
        },
        keys: None,
        view_key: Some(PathBuf::from("view.key")),
        signing_key: Some(PathBuf::from("keys/signing.key")),
        disclosure_anchor_ms: None,
        oprf_report_ms: None,
    };
    write_public(
        &dir.join("gateway.toml"),
        toml_text(
            &gateway,
            &format!("# {id}'s read-only gateway: `veil gateway --config gateway.toml`"),
        )?,
    )?;
    let descriptor = Descriptor {
        format: FORMAT.into(),
        kind: PartyKind::Regulator,
        id: id.clone(),
        name: options.name.clone(),
        consortium: options.consortium.clone(),
        consensus_key: None,
        signing_key: signing.verifying_key().to_hex(),
        encryption_key: None,
        p2p_address: None,
        node_api: None,
        gateway: options.gateway,
        ca: ca.cert_pem().to_owned(),
        view_keys,
        auditor_key: Some(
            master
                .auditor_key(&options.consortium)
                .map_err(keys_error)?
                .public_key()
                .to_hex(),
        ),
        signature: String::new(),
    }
    .sign(&signing)
    .map_err(KeygenError::Arguments)?;
    write_public(&dir.join("regulator.json"), json_text(&descriptor)?)?;
    Ok(descriptor)
}
