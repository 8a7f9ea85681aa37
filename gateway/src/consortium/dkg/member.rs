//! The member running a step: its id from its descriptor, its keys from its own directory,
//! each checked to be the one the manifest lists for it.

use std::path::{Path, PathBuf};

use veil_crypto::{EncryptionSecretKey, SigningKey};

use super::error::{DkgError, refused};
use super::files::{member_descriptor, member_encryption_key, member_signing_key};
use super::manifest::Manifest;
use crate::consortium::descriptor::Descriptor;

/// A member of the DKG with its keys (secret: they stay in this process).
#[derive(Debug)]
pub(super) struct Member {
    /// Its id.
    pub(super) id: String,
    /// Its 1-based index (manifest order).
    pub(super) index: u16,
    /// Its entry signing key: signs its DKG files.
    pub(super) signing: SigningKey,
    /// Its encryption key: opens the round-2 packages sealed to it.
    pub(super) encryption: EncryptionSecretKey,
    /// Its directory.
    pub(super) dir: PathBuf,
}

/// Reads a PEM secret key file (owner-only).
fn read_key<T>(
    path: &Path,
    decode: impl FnOnce(&str) -> Result<T, veil_crypto::EncodingError>,
) -> Result<T, DkgError> {
    let bad = |reason: String| DkgError::Key {
        path: path.display().to_string(),
        reason,
    };
    let pem = veil_node::tls::read_private(path).map_err(|e| bad(e.to_string()))?;
    let pem = std::str::from_utf8(&pem).map_err(|_| bad("not UTF-8 text".into()))?;
    decode(pem).map_err(|e| bad(e.to_string()))
}

/// The member whose directory is `dir` (`member.json`, `keys/signing.key`,
/// `keys/encryption.key`), refused unless its id is in the manifest with exactly these keys.
pub(super) fn member(manifest: &Manifest, dir: &Path) -> Result<Member, DkgError> {
    let descriptor = Descriptor::load(&member_descriptor(dir))?;
    let id = descriptor.id;
    let Some(index) = manifest.index_of(&id) else {
        return Err(refused(format!(
            "{id} is not a member of this DKG (its members: {})",
            manifest.ids().join(", ")
        )));
    };
    let signing_path = member_signing_key(dir);
    let signing = read_key(&signing_path, SigningKey::from_pem)?;
    if manifest.signing_key_of(&id) != Some(signing.verifying_key()) {
        return Err(refused(format!(
            "{}: not the signing key this DKG lists for {id}: not a member of this DKG",
            signing_path.display()
        )));
    }
    let encryption_path = member_encryption_key(dir);
    let encryption = read_key(&encryption_path, EncryptionSecretKey::from_pem)?;
    if manifest.encryption_key_of(&id).as_ref() != Some(encryption.public_key()) {
        return Err(refused(format!(
            "{}: not the encryption key this DKG lists for {id}",
            encryption_path.display()
        )));
    }
    Ok(Member {
        id,
        index,
        signing,
        encryption,
        dir: dir.to_path_buf(),
    })
}
