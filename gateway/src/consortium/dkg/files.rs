//! The DKG directory's files and a member's (see the layout in the [parent module](super)):
//! their paths, reading them with a size limit, writing them so a reader never sees half a
//! file, and a member's round secrets (owner-only).

use std::path::{Path, PathBuf};

use veil_crypto::encoding;
use zeroize::Zeroizing;

use super::error::{DkgError, refused};
use crate::consortium::files::write_secret;

/// The largest DKG file read, in bytes (a round-1 package of 64 members' threshold is ~2 KiB).
pub(super) const MAX_FILE_LEN: u64 = 1 << 20;

/// Maps an I/O error on `path`.
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DkgError + '_ {
    move |source| DkgError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a whole file of at most [`MAX_FILE_LEN`] bytes.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, DkgError> {
    let length = std::fs::metadata(path).map_err(io(path))?.len();
    if length > MAX_FILE_LEN {
        return Err(refused(format!(
            "{}: {length} bytes, more than a DKG file holds",
            path.display()
        )));
    }
    std::fs::read(path).map_err(io(path))
}

/// Writes a public file (and its directory): to `<path>.partial`, then renamed.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), DkgError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let temporary = partial(path);
    std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))
}

/// `<path>.partial`: where [`write`] writes before renaming.
pub(super) fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// `D/dkg.json`.
pub(super) fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("dkg.json")
}

/// `D/round1`.
pub(super) fn round1_dir(dir: &Path) -> PathBuf {
    dir.join("round1")
}

/// `D/round1/<member>.json`.
pub(super) fn round1_path(dir: &Path, member: &str) -> PathBuf {
    round1_dir(dir).join(format!("{member}.json"))
}

/// `D/round2`.
pub(super) fn round2_dir(dir: &Path) -> PathBuf {
    dir.join("round2")
}

/// `D/round2/<from>`: one sender's sealed packages.
pub(super) fn round2_sender_dir(dir: &Path, from: &str) -> PathBuf {
    round2_dir(dir).join(from)
}

/// `D/round2/<from>/<to>.json`.
pub(super) fn round2_path(dir: &Path, from: &str, to: &str) -> PathBuf {
    round2_sender_dir(dir, from).join(format!("{to}.json"))
}

/// `D/result`.
pub(super) fn result_dir(dir: &Path) -> PathBuf {
    dir.join("result")
}

/// `D/result/<member>.json`.
pub(super) fn result_path(dir: &Path, member: &str) -> PathBuf {
    result_dir(dir).join(format!("{member}.json"))
}

/// A member's directory: its descriptor.
pub(super) fn member_descriptor(member: &Path) -> PathBuf {
    member.join("member.json")
}

/// A member's directory: its entry signing key (PKCS#8 PEM, owner-only).
pub(super) fn member_signing_key(member: &Path) -> PathBuf {
    member.join("keys").join("signing.key")
}

/// A member's directory: its encryption key (PKCS#8 PEM, owner-only).
pub(super) fn member_encryption_key(member: &Path) -> PathBuf {
    member.join("keys").join("encryption.key")
}

/// A member's directory: its share of the borrower-reference key, what its gateway reads.
pub(super) fn member_share(member: &Path) -> PathBuf {
    member
        .join("keys")
        .join(crate::consortium::init::OPRF_SHARE_FILE)
}

/// A member's directory: where its round secrets wait between rounds (0700).
pub(super) fn secrets_dir(member: &Path) -> PathBuf {
    member.join("keys").join("dkg")
}

/// The round of a secret a member keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretRound {
    /// Kept from round 1 to round 2.
    One,
    /// Kept from round 2 to `finish`.
    Two,
}

/// `MEMBER/keys/dkg/<first 16 hex digits of the manifest hash>.round1` (or `.round2`).
pub(super) fn secret_path(member: &Path, manifest_hash: &[u8; 32], round: SecretRound) -> PathBuf {
    let extension = match round {
        SecretRound::One => "round1",
        SecretRound::Two => "round2",
    };
    secrets_dir(member).join(format!(
        "{}.{extension}",
        encoding::to_hex(&manifest_hash[..8])
    ))
}

/// Lowercase hex of `secret` and a newline, in a buffer wiped on drop (no intermediate copy).
pub(super) fn secret_hex(secret: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(String::with_capacity(2 * secret.len() + 1));
    for byte in secret {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out.push('\n');
    out
}

/// Writes a round secret: hex, owner-only (0600) in an owner-only directory (0700).
pub(super) fn write_round_secret(path: &Path, secret: &[u8]) -> Result<(), DkgError> {
    if let Some(parent) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(parent).map_err(io(parent))?;
    }
    write_secret(path, &secret_hex(secret)).map_err(|e| DkgError::Io {
        path: e.path,
        source: e.source,
    })
}

/// Reads a round secret written by [`write_round_secret`] (its permissions checked).
pub(super) fn read_round_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, DkgError> {
    let bad = |reason: String| DkgError::Key {
        path: path.display().to_string(),
        reason,
    };
    let bytes = veil_node::tls::read_private(path).map_err(|e| bad(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not hex".into()))?;
    let limit = usize::try_from(MAX_FILE_LEN).unwrap_or(usize::MAX);
    encoding::from_hex(text.trim(), limit)
        .map(Zeroizing::new)
        .map_err(|e| bad(e.to_string()))
}

/// Deletes a round secret once the next round no longer needs it.
pub(super) fn delete_round_secret(path: &Path) -> Result<(), DkgError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

/// The names of the entries of `dir` (none if it does not exist), sorted.
pub(super) fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, DkgError> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in listing {
        let entry = entry.map_err(io(dir))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}
