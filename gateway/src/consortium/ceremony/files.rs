//! The ceremony directory's files (see the layout in the [parent module](super)) and a
//! member's directory: their paths, reading and writing them, and the numbered transcript
//! files in order.

use std::path::{Path, PathBuf};

use veil_circuits::ceremony;

use super::circuit::CeremonyCircuit;
use super::error::{CeremonyError, refused};

/// Maps an I/O error on `path`.
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CeremonyError + '_ {
    move |source| CeremonyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a whole file.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, CeremonyError> {
    std::fs::read(path).map_err(io(path))
}

/// Writes a whole file (and its directory).
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), CeremonyError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // Write then rename, so an interrupted write leaves the previous file intact.
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))
}

/// Decodes ceremony data (validated) read from `path`.
pub(super) fn decode<T: ceremony::CanonicalDeserialize>(
    path: &Path,
    bytes: &[u8],
) -> Result<T, CeremonyError> {
    ceremony::from_bytes(bytes).map_err(|source| CeremonyError::Record {
        path: path.display().to_string(),
        source,
    })
}

/// `DIR/ceremony.json`.
pub(super) fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("ceremony.json")
}

/// `DIR/phase1`: the powers and the phase-1 records and signatures.
pub(super) fn phase1_dir(dir: &Path) -> PathBuf {
    dir.join("phase1")
}

/// `DIR/phase1/powers.bin`.
pub(super) fn powers_path(dir: &Path) -> PathBuf {
    phase1_dir(dir).join("powers.bin")
}

/// `DIR/phase2`: the circuits' keys and the phase-2 signatures.
pub(super) fn phase2_dir(dir: &Path) -> PathBuf {
    dir.join("phase2")
}

/// `DIR/phase2/<circuit>.pk`.
pub(super) fn key_path(dir: &Path, circuit: CeremonyCircuit) -> PathBuf {
    phase2_dir(dir).join(format!("{}.pk", circuit.name()))
}

/// `DIR/phase2/<circuit>`: the circuit's phase-2 records.
pub(super) fn records_dir(dir: &Path, circuit: CeremonyCircuit) -> PathBuf {
    phase2_dir(dir).join(circuit.name())
}

/// `<dir>/<index>-<member>.<extension>`.
pub(super) fn numbered_path(dir: &Path, index: usize, member: &str, extension: &str) -> PathBuf {
    dir.join(format!("{index}-{member}.{extension}"))
}

/// A member's directory (`veil member keygen --dir`): its descriptor.
pub(super) fn member_descriptor(keys: &Path) -> PathBuf {
    keys.join("member.json")
}

/// A member's directory: its entry signing key (PKCS#8 PEM, owner-only).
pub(super) fn member_signing_key(keys: &Path) -> PathBuf {
    keys.join("keys").join("signing.key")
}

/// A numbered file of the transcript, `<index>-<member>.<extension>`.
#[derive(Debug)]
pub(super) struct Numbered {
    pub(super) index: usize,
    pub(super) member: String,
    pub(super) path: PathBuf,
}

/// The `<n>-<member>.<extension>` files of `dir` (none if it does not exist), in order;
/// refuses a misnamed file, a gap or a repeated number.
pub(super) fn numbered(dir: &Path, extension: &str) -> Result<Vec<Numbered>, CeremonyError> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(&format!(".{extension}")) else {
            continue;
        };
        let parsed = stem.split_once('-').and_then(|(index, member)| {
            let n = index.parse::<usize>().ok()?;
            (n.to_string() == index && !member.is_empty()).then(|| (n, member.to_owned()))
        });
        let Some((index, member)) = parsed else {
            return Err(refused(format!(
                "{}: not named <number>-<member>.{extension}",
                entry.path().display()
            )));
        };
        found.push(Numbered {
            index,
            member,
            path: entry.path(),
        });
    }
    found.sort_by_key(|file| file.index);
    for (expected, file) in found.iter().enumerate() {
        if file.index != expected {
            return Err(refused(format!(
                "{}: out of order: number {} where {expected} comes next (the .{extension} \
                 files are numbered 0, 1, 2, ... once each)",
                file.path.display(),
                file.index
            )));
        }
    }
    Ok(found)
}
