//! `DIR/ceremony.json`: the consortium, its members (id and entry signing key, from their
//! descriptors, in genesis order), the circuits and the phase-1 size.
//!
//! ```json
//! {
//!   "format": "veil.ceremony.v1",
//!   "consortium": "veil-pilot",
//!   "banks": 2,
//!   "members": [{"id": "bank-a", "signing_key": "<hex Ed25519>"}, ...],
//!   "capacities": [16, 256, 1024],
//!   "screening": true,
//!   "phase1_size": 1048576
//! }
//! ```
//!
//! Its RFC 8785 canonical JSON opens the transcript hash, so every contribution's signature
//! covers it: a member list, key or circuit changed after the first contribution breaks every
//! signature.

use std::path::Path;

use serde::{Deserialize, Serialize};
use veil_crypto::VerifyingKey;
use veil_policies::schema::is_member_id;

use super::circuit::CeremonyCircuit;
use super::error::CeremonyError;
use super::files::{manifest_path, read};

/// The `format` of the manifests this version writes and reads.
pub(super) const FORMAT: &str = "veil.ceremony.v1";

/// A member of a ceremony: who may contribute, and the key its contributions are signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyMember {
    /// The member's id (its descriptor's).
    pub id: String,
    /// Hex Ed25519 entry signing key from the member's descriptor.
    pub signing_key: String,
}

/// `DIR/ceremony.json` (see the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Manifest {
    pub(super) format: String,
    pub(super) consortium: String,
    pub(super) banks: usize,
    pub(super) members: Vec<CeremonyMember>,
    pub(super) capacities: Vec<usize>,
    pub(super) screening: bool,
    pub(super) phase1_size: usize,
}

impl Manifest {
    /// Reads and checks `DIR/ceremony.json`.
    pub(super) fn load(dir: &Path) -> Result<Self, CeremonyError> {
        let bytes = read(&manifest_path(dir))?;
        let manifest: Self = serde_json::from_slice(&bytes).map_err(|e| {
            // A manifest of the unsigned ceremonies (members as plain names) has no format.
            let old = serde_json::from_slice::<serde_json::Value>(&bytes)
                .is_ok_and(|value| value.get("format").is_none());
            CeremonyError::Manifest {
                reason: if old {
                    "this ceremony predates signed contributions (its members have no keys); \
                     start a new one with `veil ceremony new --descriptor ...`"
                        .into()
                } else {
                    e.to_string()
                },
            }
        })?;
        manifest
            .check()
            .map_err(|reason| CeremonyError::Manifest { reason })?;
        Ok(manifest)
    }

    /// The circuits in the ceremony, in the order their records enter the transcript.
    pub(super) fn circuits(&self) -> Vec<CeremonyCircuit> {
        let mut out: Vec<CeremonyCircuit> = self
            .capacities
            .iter()
            .map(|c| CeremonyCircuit::Settlement(*c))
            .collect();
        if self.screening {
            out.push(CeremonyCircuit::Screening);
        }
        out
    }

    /// The members' ids, in order.
    pub(super) fn ids(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.id.as_str()).collect()
    }

    /// The signing key of member `id` (checked by [`Manifest::check`]).
    pub(super) fn key_of(&self, id: &str) -> Option<VerifyingKey> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| VerifyingKey::from_hex(&m.signing_key).ok())
    }

    /// The bytes the transcript hash opens with: RFC 8785 canonical JSON.
    pub(super) fn canonical_bytes(&self) -> Vec<u8> {
        // Serializing plain strings, numbers, booleans and arrays cannot fail.
        serde_json_canonicalizer::to_vec(self).unwrap_or_default()
    }

    /// Checks what a manifest read from the directory must satisfy.
    ///
    /// # Errors
    /// What is wrong, in one line.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!(
                "format {:?} is not {FORMAT:?} (start a new ceremony with `veil ceremony new \
                 --descriptor ...`)",
                self.format
            ));
        }
        if self.members.is_empty() || self.banks != self.members.len() {
            return Err(format!(
                "banks is {} but {} members are listed",
                self.banks,
                self.members.len()
            ));
        }
        let mut keys: Vec<(&str, VerifyingKey)> = Vec::new();
        for member in &self.members {
            if !is_member_id(&member.id) {
                return Err(format!(
                    "member id {:?} is not [a-z][a-z0-9-]{{0,31}}",
                    member.id
                ));
            }
            let key = VerifyingKey::from_hex(&member.signing_key)
                .map_err(|e| format!("{}: signing_key: {e}", member.id))?;
            if keys.iter().any(|(id, _)| *id == member.id) {
                return Err(format!("{} is listed twice", member.id));
            }
            if let Some((other, _)) = keys.iter().find(|(_, k)| *k == key) {
                return Err(format!(
                    "{other} and {} have the same signing key",
                    member.id
                ));
            }
            keys.push((&member.id, key));
        }
        if self.capacities.is_empty() {
            return Err("no settlement capacity".into());
        }
        Ok(())
    }
}
