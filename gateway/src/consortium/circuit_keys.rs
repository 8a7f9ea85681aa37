//! The circuits' proving keys of a consortium: which capacities, where they come from (the
//! insecure dev setup, cached per machine, or a verified ceremony), and writing them beside the
//! genesis (`DIR/circuits/`, see [`super::layout`]) with the genesis section that pins their
//! verifying keys.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use veil_circuits::settlement::{PARTICIPANT_SLOTS, Shape};
use veil_crypto::encoding;

use super::ceremony::{CeremonyCircuit, CeremonyError};
use super::files::{FileError, mkdir, write_public};

/// Why the circuits' keys could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CircuitKeysError {
    /// A circuit shape or key is invalid.
    #[error(transparent)]
    Circuit(#[from] veil_circuits::CircuitError),
    /// The ceremony's transcript does not verify or is incomplete.
    #[error("ceremony: {0}")]
    Ceremony(#[from] CeremonyError),
    /// The consortium screens borrowers but the ceremony made no screening key.
    #[error("the ceremony has no screening circuit; run a new ceremony (`veil ceremony new`)")]
    NoScreening,
    /// A key file could not be written.
    #[error(transparent)]
    File(#[from] FileError),
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
pub const DEFAULT_CAPACITIES: [usize; 1] = veil_circuits::settlement::CAPACITIES;

/// The founding members as a ceremony must list them: `(id, hex signing key)`, in genesis
/// order.
pub type Founders = [(String, String)];

/// Refuses a ceremony whose members are not the genesis's founding members, in genesis order
/// with the same signing keys: otherwise the keys would come from contributions the genesis's
/// members did not all make.
fn check_members(
    ceremony: &super::ceremony::FinalKeys,
    founders: &Founders,
) -> Result<(), CircuitKeysError> {
    let contributed: Vec<(String, String)> = ceremony
        .members
        .iter()
        .map(|m| (m.id.clone(), m.signing_key.to_ascii_lowercase()))
        .collect();
    let listed: Vec<(String, String)> = founders
        .iter()
        .map(|(id, key)| (id.clone(), key.to_ascii_lowercase()))
        .collect();
    if contributed != listed {
        return Err(CircuitKeysError::Ceremony(CeremonyError::Refused(format!(
            "the ceremony's members ({}) are not the genesis's founding members ({}) in the same \
             order with the same signing keys",
            ceremony
                .members
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            founders
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    Ok(())
}

/// Writes `DIR/circuits/settlement-<capacity>.pk` and `DIR/circuits/screening.pk` for the
/// founding members `founders`, and returns the genesis section.
///
/// # Errors
/// [`CircuitKeysError`]: a shape out of range; for a ceremony, a transcript that does not
/// verify, is incomplete, or whose members are not `founders`.
pub fn write_circuits(
    dir: &Path,
    founders: &Founders,
    source: &CircuitSource,
    screens: bool,
) -> Result<veil_node::genesis::CircuitsFile, CircuitKeysError> {
    let banks = founders.len();
    let out = super::layout::circuits_dir(&super::layout::genesis(dir));
    let mut transcript = None;
    let (setup, keys) = match source {
        CircuitSource::Dev(capacities) => {
            let mut keys = Vec::new();
            for capacity in capacities {
                let shape = Shape::new(*capacity, PARTICIPANT_SLOTS)?;
                keys.push((CeremonyCircuit::Settlement(*capacity), dev_key(shape)?));
            }
            if screens {
                keys.push((CeremonyCircuit::Screening, dev_screening_key()?));
            }
            ("dev", keys)
        }
        CircuitSource::Ceremony(from) => {
            let verified = super::ceremony::final_keys(from, banks)?;
            check_members(&verified, founders)?;
            transcript = Some(encoding::to_hex(&verified.transcript));
            ("ceremony", verified.keys)
        }
    };
    // Written only once every key is made (a ceremony verified): a refusal writes nothing.
    mkdir(&out)?;
    let mut settlement = Vec::new();
    let mut screening = None;
    for (circuit, bytes) in keys {
        let key = veil_circuits::ProvingKey::from_trusted_bytes(&bytes)?;
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
                super::layout::settlement_key_path(&out, capacity)
            }
            CeremonyCircuit::Screening if !screens => continue,
            CeremonyCircuit::Screening => {
                screening = Some(veil_node::genesis::ScreeningKeyFile {
                    sha256,
                    verifying_key,
                });
                super::layout::screening_key_path(&out)
            }
        };
        write_public(&path, &bytes)?;
    }
    if screens && screening.is_none() {
        return Err(CircuitKeysError::NoScreening);
    }
    Ok(veil_node::genesis::CircuitsFile {
        setup: setup.into(),
        settlement,
        screening,
        transcript,
    })
}

/// What a verified ceremony pins: its final transcript hash and the SHA-256 of each final
/// verifying key (hex).
#[derive(Debug, Clone)]
pub struct CeremonyPins {
    /// The transcript hash, hex.
    pub transcript: String,
    /// Each circuit's name (`settlement-<capacity>`, `screening`) and verifying-key digest,
    /// hex.
    pub digests: Vec<(String, String)>,
}

/// Verifies the ceremony in `dir` for the founding members `founders` (the whole transcript,
/// complete, contributed by exactly them) and returns what a genesis made from it must pin.
///
/// # Errors
/// [`CircuitKeysError`]: the transcript does not verify, is incomplete, or its members are not
/// `founders`.
pub fn ceremony_pins(dir: &Path, founders: &Founders) -> Result<CeremonyPins, CircuitKeysError> {
    let verified = super::ceremony::final_keys(dir, founders.len())?;
    check_members(&verified, founders)?;
    let mut digests = Vec::new();
    for (circuit, bytes) in verified.keys {
        let key = veil_circuits::ProvingKey::from_trusted_bytes(&bytes)?;
        digests.push((
            circuit.name(),
            encoding::to_hex(&key.verifying_key().digest()),
        ));
    }
    Ok(CeremonyPins {
        transcript: encoding::to_hex(&verified.transcript),
        digests,
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
///
/// The digest is a checksum, not an authentication: whoever can write the user's cache can
/// plant a key whose trapdoor they know. The cache directory is therefore made 0700 and a
/// cached file that group or others can write is ignored; dev keys are forgeable by design
/// anyway (public seed), and nodes refuse them without `--dev`.
fn dev_key(shape: veil_circuits::settlement::Shape) -> Result<Vec<u8>, CircuitKeysError> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|c| c.join("veil").join("dev-circuits"));
    let version = env!("VEIL_CIRCUITS_ID");
    let name = format!("settlement-{}-{}-{version}.pk", shape.capacity, shape.banks);
    if let Some(cached) = cache.as_ref().map(|c| c.join(&name))
        && private(&cached)
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
    )?;
    let bytes = key.to_bytes();
    if let Some(cache) = cache {
        // Best effort: a cache that cannot be written only costs time next run.
        let temporary = cache.join(format!("{name}.{}", std::process::id()));
        let mut file = Sha256::digest(&bytes).to_vec();
        file.extend_from_slice(&bytes);
        if make_private_dir(&cache) && write_private(&temporary, &file) {
            let _ = std::fs::rename(&temporary, cache.join(&name));
            remove_other_versions(&cache, version);
        }
    }
    Ok(bytes)
}

/// Whether `path` is a file only its owner may write (group and others may not).
fn private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o022 == 0)
}

/// Creates `dir` (and its parents) and makes it 0700; whether that worked.
fn make_private_dir(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir).is_ok()
        && std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).is_ok()
}

/// Writes `bytes` to a new file `path` with mode 0600; whether that worked.
fn write_private(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .is_ok()
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
fn dev_screening_key() -> Result<Vec<u8>, CircuitKeysError> {
    veil_circuits::dev::setup(
        veil_circuits::screening::ScreeningCircuit::blank(),
        "veil-dev-screening",
    )
    .map(|key| key.to_bytes())
    .map_err(CircuitKeysError::from)
}
