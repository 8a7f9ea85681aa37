//! A party's public descriptor: what one member bank or regulator tells the others before the
//! genesis is assembled (`veil member keygen`, `veil regulator keygen`).
//!
//! ```json
//! {
//!   "format": "veil.descriptor.v1",
//!   "kind": "member",                        // or "regulator"
//!   "id": "webank", "name": "WeBank",
//!   "consortium": "veil-pilot",             // the consortium it joins
//!   "consensus_key": "<hex Ed25519>",       // members
//!   "signing_key": "<hex Ed25519>",
//!   "encryption_key": "<hex X25519>",       // members
//!   "p2p_address": "10.0.0.1:7100", "node_api": "10.0.0.1:7101",   // members
//!   "gateway": "10.0.0.1:7102",
//!   "ca": "-----BEGIN CERTIFICATE-----...",  // issuing CA first (veil_node::pki)
//!   "view_keys": [{"month": "2026-11", "class": "amounts", "public_key": "<hex>"}],
//!   "auditor_key": "<hex Ristretto point>",
//!   "signature": "<hex Ed25519>"
//! }
//! ```
//!
//! The signature is the party's own entry signing key's, under
//! [`veil_crypto::labels::signature::DESCRIPTOR`], over the canonical encoding of the party's
//! genesis entry ([`MemberFile::signed_bytes`], [`RegulatorFile::signed_bytes`]: every field
//! above but `format`). The genesis carries it with the entry, and nodes verify it: nobody can
//! alter a descriptor, or what the genesis says about a party, or present one in the party's
//! name, without its key. Unknown fields are refused.

use std::net::SocketAddr;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use veil_crypto::view_key::PublishedViewKey;
use veil_crypto::{EncryptionPublicKey, SigningKey, VerifyingKey, encoding, labels};
use veil_node::genesis::{MemberFile, RegulatorFile};
use veil_node::pki::CaChain;
use veil_policies::schema::is_member_id;

/// The `format` of descriptors this version writes and reads.
pub const FORMAT: &str = "veil.descriptor.v1";

/// Why a descriptor is refused.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not a descriptor (bad JSON, unknown or missing fields).
    #[error("{path}: not a Veil descriptor: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// It parses but is wrong: a bad signature, an invalid id or key, a refused CA.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file (or the party's id).
        path: String,
        /// Why.
        reason: String,
    },
}

/// Member or regulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyKind {
    /// A member bank: runs a node and a gateway.
    Member,
    /// A regulator: reads everything with its view keys.
    Regulator,
}

/// A party's descriptor (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// [`FORMAT`].
    pub format: String,
    /// Member or regulator.
    pub kind: PartyKind,
    /// The party's id, `[a-z][a-z0-9-]{0,31}`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The consortium id the party joins.
    pub consortium: String,
    /// Hex Ed25519 consensus key of the member's node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus_key: Option<String>,
    /// Hex Ed25519 key signing the party's entries (and this descriptor).
    pub signing_key: String,
    /// Hex X25519 key the member's data keys are wrapped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<String>,
    /// The member's node's peer address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_address: Option<SocketAddr>,
    /// The member's node API address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_api: Option<SocketAddr>,
    /// The party's gateway address.
    pub gateway: SocketAddr,
    /// The party's issuing CA (PEM chain, issuing CA first).
    pub ca: String,
    /// A regulator's published scoped view keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub view_keys: Vec<PublishedViewKey>,
    /// A regulator's hex Ristretto auditor public key (every amount carries a verifiable
    /// decrypt handle to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auditor_key: Option<String>,
    /// Hex Ed25519 signature (see the module documentation); empty before signing.
    #[serde(default)]
    pub signature: String,
}

impl Descriptor {
    /// The bytes the signature covers: the party's genesis entry, canonically encoded.
    fn signed_bytes(&self) -> Result<Vec<u8>, String> {
        Ok(match self.kind {
            PartyKind::Member => self.member_file()?.signed_bytes(&self.consortium),
            PartyKind::Regulator => self.regulator_file()?.signed_bytes(&self.consortium),
        })
    }

    /// Signs the descriptor with the party's signing key (which must be `signing_key`).
    ///
    /// # Errors
    /// A member descriptor lacking a member field.
    pub fn sign(mut self, key: &SigningKey) -> Result<Self, String> {
        self.signature = encoding::to_hex(
            &key.sign(labels::signature::DESCRIPTOR, &self.signed_bytes()?)
                .to_bytes(),
        );
        Ok(self)
    }

    /// Reads and verifies a descriptor file (see [`Descriptor::verify`]).
    ///
    /// # Errors
    /// [`DescriptorError`] naming the file and what is wrong.
    pub fn load(path: &Path) -> Result<Self, DescriptorError> {
        let bytes = std::fs::read(path).map_err(|source| DescriptorError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let descriptor: Self =
            serde_json::from_slice(&bytes).map_err(|e| DescriptorError::Parse {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        descriptor
            .verify(SystemTime::now())
            .map_err(|reason| DescriptorError::Invalid {
                path: path.display().to_string(),
                reason,
            })?;
        Ok(descriptor)
    }

    /// Checks the format, the id, every key, the CA (valid at `now`) and the signature.
    ///
    /// # Errors
    /// What is wrong, in one line.
    pub fn verify(&self, now: SystemTime) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format {:?} is not {FORMAT:?}", self.format));
        }
        if !is_member_id(&self.id) {
            return Err(format!("id {:?} is not [a-z][a-z0-9-]{{0,31}}", self.id));
        }
        if self.consortium.is_empty() || self.consortium.len() > 64 {
            return Err("consortium must be 1 to 64 characters".into());
        }
        let signing =
            VerifyingKey::from_hex(&self.signing_key).map_err(|e| format!("signing_key: {e}"))?;
        match self.kind {
            PartyKind::Member => {
                let consensus = self
                    .consensus_key
                    .as_deref()
                    .ok_or("a member descriptor needs consensus_key")?;
                encoding::from_hex_array::<32>(consensus)
                    .map_err(|e| format!("consensus_key: {e}"))?;
                EncryptionPublicKey::from_hex(
                    self.encryption_key
                        .as_deref()
                        .ok_or("a member descriptor needs encryption_key")?,
                )
                .map_err(|e| format!("encryption_key: {e}"))?;
                if self.p2p_address.is_none() || self.node_api.is_none() {
                    return Err("a member descriptor needs p2p_address and node_api".into());
                }
                if !self.view_keys.is_empty() || self.auditor_key.is_some() {
                    return Err("a member descriptor has no view_keys or auditor_key".into());
                }
            }
            PartyKind::Regulator => {
                if self.consensus_key.is_some()
                    || self.encryption_key.is_some()
                    || self.p2p_address.is_some()
                    || self.node_api.is_some()
                {
                    return Err(
                        "a regulator descriptor has no consensus_key, encryption_key, \
                         p2p_address or node_api"
                            .into(),
                    );
                }
                if self.view_keys.is_empty() {
                    return Err("a regulator descriptor publishes view_keys".into());
                }
                let auditor_key = self
                    .auditor_key
                    .as_deref()
                    .ok_or("a regulator descriptor publishes an auditor_key")?;
                veil_crypto::auditor::AuditorPublicKey::from_hex(auditor_key)
                    .map_err(|e| format!("auditor_key: {e}"))?;
            }
        }
        let ca = CaChain::from_pem(&self.ca).map_err(|e| format!("ca: {e}"))?;
        ca.check_validity(now).map_err(|e| format!("ca: {e}"))?;
        let signature =
            encoding::from_hex_array::<{ veil_crypto::signature::SIGNATURE_LEN }>(&self.signature)
                .ok()
                .and_then(|bytes| veil_crypto::Signature::from_bytes(&bytes).ok())
                .ok_or("signature is missing or malformed")?;
        signing
            .verify(
                labels::signature::DESCRIPTOR,
                &self.signed_bytes()?,
                &signature,
            )
            .map_err(|_| {
                "the signature does not verify under signing_key (the descriptor was altered \
                 or signed by another key)"
                    .to_owned()
            })?;
        Ok(())
    }

    /// The genesis entry of a member descriptor.
    ///
    /// # Errors
    /// The descriptor is a regulator's or lacks a member field.
    pub fn member_file(&self) -> Result<MemberFile, String> {
        let missing = |what: &str| format!("{}: a member descriptor needs {what}", self.id);
        if self.kind != PartyKind::Member {
            return Err(format!("{} is a regulator, not a member", self.id));
        }
        Ok(MemberFile {
            id: self.id.clone(),
            name: self.name.clone(),
            consensus_key: self
                .consensus_key
                .clone()
                .ok_or_else(|| missing("consensus_key"))?,
            signing_key: self.signing_key.clone(),
            encryption_key: self
                .encryption_key
                .clone()
                .ok_or_else(|| missing("encryption_key"))?,
            p2p_address: self.p2p_address.ok_or_else(|| missing("p2p_address"))?,
            node_api: self.node_api.ok_or_else(|| missing("node_api"))?,
            gateway: self.gateway,
            ca: Some(self.ca.clone()),
            signature: (!self.signature.is_empty()).then(|| self.signature.clone()),
        })
    }

    /// The genesis entry of a regulator descriptor.
    ///
    /// # Errors
    /// The descriptor is a member's.
    pub fn regulator_file(&self) -> Result<RegulatorFile, String> {
        if self.kind != PartyKind::Regulator {
            return Err(format!("{} is a member, not a regulator", self.id));
        }
        Ok(RegulatorFile {
            id: self.id.clone(),
            name: self.name.clone(),
            gateway: self.gateway,
            view_keys: self.view_keys.clone(),
            signing_key: Some(self.signing_key.clone()),
            ca: Some(self.ca.clone()),
            auditor_key: Some(
                self.auditor_key
                    .clone()
                    .ok_or_else(|| format!("{} has no auditor_key", self.id))?,
            ),
            signature: (!self.signature.is_empty()).then(|| self.signature.clone()),
        })
    }
}
