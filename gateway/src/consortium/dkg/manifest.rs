//! `D/dkg.json`: the consortium, a random session id, the threshold and the members (id,
//! entry signing key and encryption key from their verified descriptors, in genesis order).
//!
//! ```json
//! {
//!   "format": "veil.dkg.v1",
//!   "consortium": "pilot",
//!   "session": "<32 hex digits, random>",
//!   "threshold": 3,
//!   "members": [{"id": "bank-a", "signing_key": "<hex Ed25519>",
//!                "encryption_key": "<hex X25519>"}, ...]
//! }
//! ```
//!
//! The manifest hash, `SHA-256(framed("veil.dkg.manifest.v1") ‖ framed(RFC 8785 canonical
//! JSON))`, is bound into every signed DKG file and every sealed round-2 package: a member
//! list, key or threshold changed after the first file breaks every signature, and no file of
//! one DKG is accepted in another (the session makes two DKGs among the same members
//! distinct).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use veil_crypto::{EncryptionPublicKey, VerifyingKey, encoding, labels};
use veil_policies::schema::is_member_id;

use super::error::DkgError;
use super::files::{manifest_path, read};

/// The `format` of the manifests this version writes and reads.
pub(super) const FORMAT: &str = "veil.dkg.v1";

/// Most members of one DKG (the index is a `u16`; the consortium is far smaller).
pub(super) const MAX_MEMBERS: usize = 1024;

/// A member of a DKG: its id and the keys its files are signed with and sealed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgMember {
    /// The member's id (its descriptor's).
    pub id: String,
    /// Hex Ed25519 entry signing key from the member's descriptor: signs its DKG files.
    pub signing_key: String,
    /// Hex X25519 encryption key from the member's descriptor: its round-2 packages are
    /// sealed to it.
    pub encryption_key: String,
}

/// `D/dkg.json` (see the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Manifest {
    pub(super) format: String,
    pub(super) consortium: String,
    pub(super) session: String,
    pub(super) threshold: u16,
    pub(super) members: Vec<DkgMember>,
}

/// The thresholds a DKG of `n` members may use: at least 2, at most `n`, and more than half
/// the members (what the genesis accepts, `veil_node::genesis::OprfFile::public_key`).
pub(super) fn check_threshold(threshold: u16, n: usize) -> Result<(), String> {
    let t = usize::from(threshold);
    if t < 2 || t > n || 2 * t <= n {
        return Err(format!(
            "threshold {threshold} for {n} members: it must be at least 2, at most {n} and \
             more than half the members"
        ));
    }
    Ok(())
}

impl Manifest {
    /// Reads and checks `D/dkg.json`.
    pub(super) fn load(dir: &Path) -> Result<Self, DkgError> {
        let path = manifest_path(dir);
        let bad = |reason: String| DkgError::Manifest {
            path: path.display().to_string(),
            reason,
        };
        let bytes = read(&path)?;
        let manifest: Self = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        manifest.check().map_err(bad)?;
        Ok(manifest)
    }

    /// The manifest hash (see the module documentation).
    pub(super) fn hash(&self) -> [u8; 32] {
        // Serializing strings, numbers and arrays cannot fail.
        let canonical = serde_json_canonicalizer::to_vec(self).unwrap_or_default();
        let mut bytes = Vec::with_capacity(canonical.len() + 32);
        encoding::put_framed(&mut bytes, labels::DKG_MANIFEST);
        encoding::put_framed(&mut bytes, &canonical);
        Sha256::digest(&bytes).into()
    }

    /// The number of members (checked to fit a `u16`).
    pub(super) fn n(&self) -> u16 {
        u16::try_from(self.members.len()).unwrap_or(u16::MAX)
    }

    /// The members' ids, in order.
    pub(super) fn ids(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.id.as_str()).collect()
    }

    /// The 1-based index of member `id`.
    pub(super) fn index_of(&self, id: &str) -> Option<u16> {
        self.members
            .iter()
            .position(|m| m.id == id)
            .and_then(|i| u16::try_from(i + 1).ok())
    }

    /// The id of the member at 1-based `index`.
    pub(super) fn id_at(&self, index: u16) -> &str {
        self.members
            .get(usize::from(index).wrapping_sub(1))
            .map_or("", |m| m.id.as_str())
    }

    /// The signing key of member `id` (checked by [`Manifest::check`]).
    pub(super) fn signing_key_of(&self, id: &str) -> Option<VerifyingKey> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| VerifyingKey::from_hex(&m.signing_key).ok())
    }

    /// The encryption key of member `id` (checked by [`Manifest::check`]).
    pub(super) fn encryption_key_of(&self, id: &str) -> Option<EncryptionPublicKey> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| EncryptionPublicKey::from_hex(&m.encryption_key).ok())
    }

    /// Checks what a manifest read from the directory must satisfy.
    ///
    /// # Errors
    /// What is wrong, in one line.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format {:?} is not {FORMAT:?}", self.format));
        }
        if self.consortium.is_empty() || self.consortium.len() > 64 {
            return Err("consortium must be 1 to 64 characters".into());
        }
        encoding::from_hex_array::<16>(&self.session)
            .map_err(|_| "session must be 32 hex digits".to_owned())?;
        if self.session != self.session.to_ascii_lowercase() {
            return Err("session must be lowercase hex".into());
        }
        if self.members.len() < 2 || self.members.len() > MAX_MEMBERS {
            return Err(format!(
                "a DKG needs 2 to {MAX_MEMBERS} members, not {}",
                self.members.len()
            ));
        }
        check_threshold(self.threshold, self.members.len())?;
        let mut seen: Vec<(&str, VerifyingKey, EncryptionPublicKey)> = Vec::new();
        for member in &self.members {
            let id = member.id.as_str();
            if !is_member_id(id) {
                return Err(format!("member id {id:?} is not [a-z][a-z0-9-]{{0,31}}"));
            }
            let signing = VerifyingKey::from_hex(&member.signing_key)
                .map_err(|e| format!("{id}: signing_key: {e}"))?;
            let encryption = EncryptionPublicKey::from_hex(&member.encryption_key)
                .map_err(|e| format!("{id}: encryption_key: {e}"))?;
            // One spelling of each key: the hash is over the text.
            if member.signing_key != signing.to_hex()
                || member.encryption_key != encryption.to_hex()
            {
                return Err(format!("{id}: keys must be lowercase hex"));
            }
            if seen.iter().any(|(other, _, _)| *other == id) {
                return Err(format!("{id} is listed twice"));
            }
            if let Some((other, _, _)) = seen.iter().find(|(_, key, _)| *key == signing) {
                return Err(format!("{other} and {id} have the same signing key"));
            }
            if let Some((other, _, _)) = seen.iter().find(|(_, _, key)| *key == encryption) {
                return Err(format!("{other} and {id} have the same encryption key"));
            }
            seen.push((id, signing, encryption));
        }
        Ok(())
    }
}
