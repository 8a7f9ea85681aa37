//! `veil consortium assemble` and `veil consortium sign`: the genesis is built from the parties'
//! signed descriptors, then every founding member signs its hash.
//!
//! Whoever assembles holds no secret and decides nothing alone: it cannot alter a descriptor
//! (each is signed by its party), and nodes and gateways start only on a genesis that every
//! member it lists has signed (`veil_node::genesis::Genesis::require_signed`). What it chooses
//! (the parameters, the policy set, which descriptors, the circuit keys) each member reviews
//! before signing; a member signing a genesis whose keys come from a ceremony re-verifies that
//! ceremony's transcript against the pinned hash, and one signing a genesis with a
//! borrower-reference OPRF key re-verifies the members' DKG ([`super::dkg`]) and that the key is
//! its result.

use std::path::{Path, PathBuf};

use veil_crypto::{SigningKey, encoding, labels};
use veil_node::genesis::{ConsortiumFile, Genesis, GenesisSignatureFile, ParamsFile};
use veil_policies::Policies;

use super::circuit_keys::{CircuitKeysError, CircuitSource, write_circuits};
use super::descriptor::{Descriptor, PartyKind};
use super::dkg::DkgError;
use super::files::{FileError, mkdir, write_public};

/// Why a genesis could not be assembled or signed.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A descriptor, the genesis or an argument is refused: what and why.
    #[error("{0}")]
    Refused(String),
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The circuits' keys.
    #[error(transparent)]
    CircuitKeys(#[from] CircuitKeysError),
    /// The members' DKG of the borrower-reference key.
    #[error(transparent)]
    Dkg(#[from] DkgError),
}

fn refused(message: impl Into<String>) -> AssembleError {
    AssembleError::Refused(message.into())
}

/// What `assemble` puts in the genesis besides the descriptors.
#[derive(Debug, Clone)]
pub struct AssembleOptions {
    /// The consortium id every descriptor names.
    pub consortium: String,
    /// Consortium-wide rules.
    pub params: ParamsFile,
    /// Where the circuits' keys come from.
    pub circuits: CircuitSource,
    /// Whether loans are screened.
    pub screening: bool,
    /// Where the genesis's borrower-reference OPRF key (`[oprf]`) comes from.
    pub oprf: OprfSource,
}

/// Where a genesis's borrower-reference OPRF key comes from.
#[derive(Debug, Clone)]
pub enum OprfSource {
    /// The complete DKG in this directory (`veil dkg`, members on separate hosts), verified
    /// here; its members must be the genesis's, in order, with the same keys.
    Dkg {
        /// The DKG directory.
        dir: PathBuf,
        /// `oprf.daily_limit`; `None` for the default.
        daily_limit: Option<u64>,
    },
    /// The public side of a DKG this process ran among the members (`veil init`'s test
    /// consortium, every member's directory on this machine).
    RanHere(veil_node::genesis::OprfFile),
    /// No OPRF key: only for a consortium of one member. Refused for more (their references
    /// would be a keyed hash under one key every member holds, which any of them can reverse).
    None,
}

/// Builds the genesis file `genesis_path` (unsigned) and, beside it, `policies/default.cedar`
/// and `circuits/`, from the descriptor files, members in the order given. Returns the genesis.
///
/// # Errors
/// [`AssembleError::Refused`]: a descriptor with a bad signature, an expired CA, another
/// consortium id, a duplicate id or key; no member; an existing file at `genesis_path`; two or
/// more members without an OPRF key. [`AssembleError::Dkg`]: a DKG that does not verify, is
/// incomplete, or whose members are not the genesis's.
pub fn assemble(
    genesis_path: &Path,
    descriptors: &[PathBuf],
    options: &AssembleOptions,
) -> Result<ConsortiumFile, AssembleError> {
    let out = genesis_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if genesis_path.exists() {
        return Err(refused(format!(
            "{} exists; assemble into an empty directory",
            genesis_path.display()
        )));
    }
    let mut members = Vec::new();
    let mut regulators = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for path in descriptors {
        let descriptor = Descriptor::load(path).map_err(|e| refused(e.to_string()))?;
        if descriptor.consortium != options.consortium {
            return Err(refused(format!(
                "{}: the descriptor joins consortium {:?}, not {:?}",
                path.display(),
                descriptor.consortium,
                options.consortium
            )));
        }
        if seen.iter().any(|(id, _)| *id == descriptor.id) {
            return Err(refused(format!(
                "{}: id {} is used by two descriptors",
                path.display(),
                descriptor.id
            )));
        }
        if seen.iter().any(|(_, key)| *key == descriptor.signing_key) {
            return Err(refused(format!(
                "{}: signing key of {} is used by two descriptors",
                path.display(),
                descriptor.id
            )));
        }
        seen.push((descriptor.id.clone(), descriptor.signing_key.clone()));
        match descriptor.kind {
            PartyKind::Member => members.push(descriptor.member_file().map_err(refused)?),
            PartyKind::Regulator => {
                regulators.push(descriptor.regulator_file().map_err(refused)?);
            }
        }
    }
    if members.is_empty() {
        return Err(refused("a genesis needs at least one member descriptor"));
    }
    // The OPRF key before anything is written: a DKG that does not verify, or is not among
    // exactly these members, is refused.
    let oprf = match &options.oprf {
        OprfSource::Dkg { dir, daily_limit } => {
            let key = super::dkg::genesis_key(dir, &options.consortium, &members)?;
            Some(veil_node::genesis::OprfFile {
                daily_limit: *daily_limit,
                ..veil_node::genesis::OprfFile::of(&key)
            })
        }
        OprfSource::RanHere(file) => Some(file.clone()),
        OprfSource::None if members.len() > 1 => {
            return Err(refused(format!(
                "{} members need the borrower-reference key they share by a DKG: run `veil dkg \
                 new/round1/round2/finish` among them (docs/ceremony.md) and assemble with --dkg \
                 DIR (without it, references would be a keyed hash under one key every member \
                 holds, which any member can reverse)",
                members.len()
            )));
        }
        OprfSource::None => None,
    };
    let policies = Policies::default_set().map_err(|e| refused(format!("policy: {e}")))?;
    let founders: Vec<(String, String)> = members
        .iter()
        .map(|m| (m.id.clone(), m.signing_key.clone()))
        .collect();
    // The circuit keys first: a ceremony that does not verify, or is not the founders', is
    // refused before anything is written.
    let circuits = write_circuits(out, &founders, &options.circuits, options.screening)?;
    let file = ConsortiumFile {
        consortium_id: options.consortium.clone(),
        params: options.params,
        policy_hash: encoding::to_hex(&policies.hash()),
        members,
        regulators,
        circuits: Some(circuits),
        oprf,
        signatures: Vec::new(),
    };
    // Everything the nodes will check, now.
    Genesis::from_file(file.clone()).map_err(|e| refused(e.to_string()))?;
    let policy_dir = out.join("policies");
    mkdir(&policy_dir)?;
    write_public(&policy_dir.join("default.cedar"), policies.text())?;
    write_genesis(genesis_path, &file)?;
    Ok(file)
}

fn write_genesis(path: &Path, file: &ConsortiumFile) -> Result<(), AssembleError> {
    let body = toml::to_string_pretty(file).map_err(|e| refused(format!("encoding: {e}")))?;
    let text = format!(
        "# The consortium's genesis, assembled from the parties' descriptors \
         (`veil consortium assemble`)\n# and signed by each founding member \
         (`veil consortium sign`). Shared by every party.\n{body}"
    );
    // Write then rename: a reader never sees half a genesis.
    let temporary = path.with_extension("toml.partial");
    write_public(&temporary, text)?;
    std::fs::rename(&temporary, path).map_err(|source| FileError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(())
}

/// What `sign` reports.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The member that signed.
    pub member: String,
    /// The genesis hash, hex.
    pub hash: String,
    /// Members whose signature is still missing.
    pub missing: Vec<String>,
}

/// Adds member `member_dir`'s signature to the genesis at `path` (rewriting the file).
/// `ceremony` must name the ceremony directory when the genesis pins ceremony keys: its
/// transcript is verified again and must match the pinned hash and keys, circuit by circuit.
/// A genesis pinning the insecure dev keys is signed only with `dev`. `dkg` must name the
/// members' DKG directory when the genesis has an OPRF key (`[oprf]`): it is verified again and
/// the key must be its result, among the genesis's members.
///
/// # Errors
/// [`AssembleError::Refused`]: the genesis does not validate (a signature over other contents
/// included), the member is not in it or its key differs, it already signed, the ceremony
/// does not match, or the genesis of two or more members has no OPRF key, or one that is not
/// the DKG's; [`AssembleError::Dkg`]: the DKG does not verify, is incomplete or not among the
/// genesis's members.
pub fn sign(
    path: &Path,
    member_dir: &Path,
    ceremony: Option<&Path>,
    dev: bool,
    dkg: Option<&Path>,
) -> Result<Signed, AssembleError> {
    sign_checked(
        path,
        member_dir,
        match (ceremony, dev) {
            (Some(dir), _) => CeremonyCheck::Verify(dir),
            (None, true) => CeremonyCheck::DevAccepted,
            (None, false) => CeremonyCheck::Missing,
        },
        match dkg {
            Some(dir) => DkgCheck::Verify(dir),
            None => DkgCheck::Missing,
        },
    )
}

/// How `sign` checks a genesis's ceremony keys.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CeremonyCheck<'a> {
    /// Verify the ceremony in this directory against the pins.
    Verify(&'a Path),
    /// No ceremony given: refused if the genesis pins ceremony keys, or dev keys.
    Missing,
    /// `--dev`: a test consortium's genesis with the insecure dev keys may be signed.
    DevAccepted,
    /// `veil init` assembled the genesis from this ceremony in the same run, after verifying
    /// it: every bank's signature there is made by the same process.
    AssembledHere,
}

/// How `sign` checks a genesis's borrower-reference OPRF key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DkgCheck<'a> {
    /// Verify the DKG in this directory and that the key is its result.
    Verify(&'a Path),
    /// No DKG given: refused if the genesis has an OPRF key, or has none for two or more
    /// members.
    Missing,
    /// `veil init` ran the DKG and assembled the genesis in the same run.
    AssembledHere,
}

pub(crate) fn sign_checked(
    path: &Path,
    member_dir: &Path,
    ceremony: CeremonyCheck<'_>,
    dkg: DkgCheck<'_>,
) -> Result<Signed, AssembleError> {
    let genesis = Genesis::load(path).map_err(|e| refused(e.to_string()))?;
    let descriptor =
        Descriptor::load(&member_dir.join("member.json")).map_err(|e| refused(e.to_string()))?;
    let key_path = member_dir.join("keys").join("signing.key");
    let pem = veil_node::tls::read_private(&key_path).map_err(|e| refused(e.to_string()))?;
    let key = SigningKey::from_pem(&String::from_utf8_lossy(&pem))
        .map_err(|e| refused(format!("{}: {e}", key_path.display())))?;
    let member = genesis
        .member(&descriptor.id)
        .ok_or_else(|| refused(format!("{} is not a member of this genesis", descriptor.id)))?;
    if member.signing_key != key.verifying_key() {
        return Err(refused(format!(
            "the genesis lists another signing key for {} than {}",
            descriptor.id,
            key_path.display()
        )));
    }
    if genesis.signed_by.contains(&descriptor.id) {
        return Err(refused(format!("{} has already signed", descriptor.id)));
    }
    check_circuits(&genesis, path, ceremony)?;
    check_oprf(&genesis, path, dkg)?;
    let signature = key.sign(labels::signature::GENESIS, &genesis.hash);
    let mut file = genesis.file.clone();
    file.signatures.push(GenesisSignatureFile {
        member: descriptor.id.clone(),
        signature: encoding::to_hex(&signature.to_bytes()),
    });
    // Signatures in member order, so every copy of a fully signed genesis is the same file.
    file.signatures.sort_by_key(|s| {
        genesis
            .members
            .iter()
            .position(|m| m.id == s.member)
            .unwrap_or(usize::MAX)
    });
    let signed = Genesis::from_file(file.clone()).map_err(|e| refused(e.to_string()))?;
    write_genesis(path, &file)?;
    Ok(Signed {
        member: descriptor.id,
        hash: encoding::to_hex(&signed.hash),
        missing: signed
            .members
            .iter()
            .filter(|m| !signed.signed_by.contains(&m.id))
            .map(|m| m.id.clone())
            .collect(),
    })
}

/// A genesis of two or more members is signed only with an OPRF key, and only against the DKG
/// that made it.
fn check_oprf(genesis: &Genesis, path: &Path, dkg: DkgCheck<'_>) -> Result<(), AssembleError> {
    let dir = match dkg {
        DkgCheck::AssembledHere => return Ok(()),
        DkgCheck::Verify(dir) => dir,
        DkgCheck::Missing => {
            return match (&genesis.file.oprf, genesis.members.len()) {
                (Some(_), _) => Err(refused(
                    "the genesis has a borrower-reference OPRF key: sign with --dkg DIR, so the \
                     members' DKG is verified and the key checked to be its result before you \
                     sign",
                )),
                (None, 0 | 1) => Ok(()),
                (None, n) => Err(refused(format!(
                    "{}: the genesis of {n} members has no borrower-reference OPRF key: their \
                     references would be a keyed hash under one key every member holds, which \
                     any member can reverse (assemble it with --dkg DIR after `veil dkg`)",
                    path.display()
                ))),
            };
        }
    };
    let Some(pinned) = genesis.oprf_key() else {
        return Err(refused(format!(
            "{}: the genesis has no borrower-reference OPRF key, yet --dkg {} was given",
            path.display(),
            dir.display()
        )));
    };
    let key = super::dkg::genesis_key(dir, &genesis.file.consortium_id, &genesis.file.members)?;
    if key != pinned {
        return Err(refused(format!(
            "{}: the genesis's [oprf] is not the result of the DKG in {} (another threshold, \
             group key or public shares)",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// A genesis with ceremony keys is signed only against the ceremony itself.
fn check_circuits(
    genesis: &Genesis,
    path: &Path,
    ceremony: CeremonyCheck<'_>,
) -> Result<(), AssembleError> {
    let Some(circuits) = &genesis.file.circuits else {
        return Ok(());
    };
    if circuits.setup != "ceremony" {
        return match ceremony {
            CeremonyCheck::AssembledHere | CeremonyCheck::DevAccepted => Ok(()),
            CeremonyCheck::Verify(_) | CeremonyCheck::Missing => Err(refused(
                "the genesis pins the insecure dev circuit keys (anyone can forge proofs under \
                 them): sign it only for a test consortium, with --dev",
            )),
        };
    }
    let ceremony = match ceremony {
        CeremonyCheck::DevAccepted => {
            return Err(refused(
                "the genesis pins ceremony keys: sign with --ceremony DIR, not --dev",
            ));
        }
        CeremonyCheck::Verify(dir) => dir,
        CeremonyCheck::AssembledHere => return Ok(()),
        CeremonyCheck::Missing => {
            return Err(refused(
                "the genesis pins keys from a ceremony: sign with --ceremony DIR, so the \
                 transcript is verified before you sign",
            ));
        }
    };
    let founders: Vec<(String, String)> = genesis
        .file
        .members
        .iter()
        .map(|m| (m.id.clone(), m.signing_key.clone()))
        .collect();
    let keys = super::circuit_keys::ceremony_pins(ceremony, &founders)?;
    if circuits.transcript.as_deref() != Some(keys.transcript.as_str()) {
        return Err(refused(format!(
            "{}: the genesis pins transcript {:?}, the ceremony in {} ends at {}",
            path.display(),
            circuits.transcript,
            ceremony.display(),
            keys.transcript
        )));
    }
    // Circuit by circuit: a capacity's key must be the ceremony's key of that capacity.
    let mut pinned: Vec<(String, String)> = circuits
        .settlement
        .iter()
        .map(|k| {
            (
                format!("settlement-{}", k.capacity),
                k.sha256.to_ascii_lowercase(),
            )
        })
        .chain(
            circuits
                .screening
                .iter()
                .map(|k| ("screening".to_owned(), k.sha256.to_ascii_lowercase())),
        )
        .collect();
    pinned.sort();
    let mut made = keys.digests;
    made.sort();
    if pinned != made {
        return Err(refused(format!(
            "{}: the pinned verifying keys are not the ceremony's",
            path.display()
        )));
    }
    Ok(())
}
