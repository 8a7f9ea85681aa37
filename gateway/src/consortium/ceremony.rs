//! `veil ceremony`: the multi-party setup of the circuits' keys (settlement and screening) (see
//! [`veil_circuits::ceremony`] for the cryptography and `docs/ceremony.md` for the procedure).
//!
//! ```text
//! DIR/ceremony.json                                  banks, members, capacities, phase-1 size
//! DIR/phase1/powers.bin                              the current powers of tau
//! DIR/phase1/<n>-<member>.record                     each contribution, in order
//! DIR/phase2/<circuit>.pk                            the current key of each circuit
//! DIR/phase2/<circuit>/<n>-<member>.record           (settlement-<capacity>, screening)
//! ```
//!
//! Each function returns what to tell the member, or a [`CeremonyError`]; the `veil ceremony`
//! command prints it.
//!
//! The directory travels from member to member (each runs `contribute` on its own machine, with
//! its own randomness, and passes the directory on); anyone can run `verify`. Every member
//! contributes exactly once to each phase; `veil init --ceremony DIR` verifies the whole
//! transcript and refuses keys whose phases are incomplete.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use veil_circuits::OsRng;
use veil_circuits::ceremony::{
    self, Phase1Record, Phase2Record, Powers, contribute_phase2, initial_key, verify_phase1,
    verify_phase2,
};
use veil_circuits::screening::ScreeningCircuit;
use veil_circuits::settlement::{SettlementCircuit, Shape};

/// `DIR/ceremony.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    banks: usize,
    members: Vec<String>,
    capacities: Vec<usize>,
    /// Whether the screening circuit is in the ceremony (absent in ceremonies that predate it).
    #[serde(default)]
    screening: bool,
    phase1_size: usize,
}

impl Manifest {
    fn circuits(&self) -> Vec<CeremonyCircuit> {
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
}

/// One circuit whose keys a ceremony makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyCircuit {
    /// The settlement circuit of this capacity.
    Settlement(usize),
    /// The borrower screening circuit.
    Screening,
}

impl CeremonyCircuit {
    /// Its name in the ceremony directory: `settlement-<capacity>` or `screening`.
    pub fn name(self) -> String {
        match self {
            Self::Settlement(capacity) => format!("settlement-{capacity}"),
            Self::Screening => "screening".into(),
        }
    }

    /// The label phase-2 contributions are bound to.
    fn id(self, banks: usize) -> String {
        match self {
            Self::Settlement(capacity) => format!("settlement-{capacity}-{banks}"),
            Self::Screening => "screening-v1".into(),
        }
    }

    fn key_path(self, dir: &Path) -> PathBuf {
        dir.join("phase2").join(format!("{}.pk", self.name()))
    }

    fn records_dir(self, dir: &Path) -> PathBuf {
        dir.join("phase2").join(self.name())
    }

    fn domain_size(self, banks: usize) -> Result<usize, CeremonyError> {
        match self {
            Self::Settlement(capacity) => {
                let shape = Shape::new(capacity, banks)?;
                ceremony::domain_size(SettlementCircuit::blank(shape))
            }
            Self::Screening => ceremony::domain_size(ScreeningCircuit::blank()),
        }
        .map_err(CeremonyError::from)
    }

    fn initial_key(
        self,
        powers: &Powers,
        banks: usize,
    ) -> Result<veil_circuits::ProvingKey, CeremonyError> {
        match self {
            Self::Settlement(capacity) => {
                let shape = Shape::new(capacity, banks)?;
                initial_key(powers, SettlementCircuit::blank(shape))
            }
            Self::Screening => initial_key(powers, ScreeningCircuit::blank()),
        }
        .map_err(CeremonyError::from)
    }
}

/// Why a ceremony step failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// The step is not allowed in this state (a second contribution, a phase not started,
    /// an incomplete transcript, a non-member, ...): what and why.
    #[error("{0}")]
    Refused(String),
    /// A ceremony file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `ceremony.json` is not a valid manifest.
    #[error("ceremony.json: {source}")]
    Manifest {
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A record, key or the powers do not decode.
    #[error("{path}: {source}")]
    Record {
        /// Which file.
        path: String,
        /// Why.
        #[source]
        source: veil_circuits::CircuitError,
    },
    /// A circuit, key or contribution is invalid (a proof of a contribution fails, a shape is
    /// out of range).
    #[error(transparent)]
    Circuit(#[from] veil_circuits::CircuitError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CeremonyError + '_ {
    move |source| CeremonyError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CeremonyError> {
    std::fs::read(path).map_err(io(path))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CeremonyError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // Write then rename, so an interrupted contribution leaves the previous state intact.
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))
}

fn manifest(dir: &Path) -> Result<Manifest, CeremonyError> {
    serde_json::from_slice(&read(&dir.join("ceremony.json"))?)
        .map_err(|source| CeremonyError::Manifest { source })
}

fn powers_path(dir: &Path) -> PathBuf {
    dir.join("phase1").join("powers.bin")
}

/// The records in `dir` (`<n>-<member>.record`), in order.
fn records<T: ceremony::CanonicalDeserialize>(dir: &Path) -> Result<Vec<T>, CeremonyError> {
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".record")
                && let Some((index, _)) = stem.split_once('-')
                && let Ok(index) = index.parse::<usize>()
            {
                found.push((index, entry.path()));
            }
        }
    }
    found.sort();
    found
        .iter()
        .enumerate()
        .map(|(expected, (index, path))| {
            if *index != expected {
                return Err(CeremonyError::Refused(format!(
                    "{}: records are not numbered 0, 1, 2, ...",
                    dir.display()
                )));
            }
            ceremony::from_bytes(&read(path)?).map_err(|source| CeremonyError::Record {
                path: path.display().to_string(),
                source,
            })
        })
        .collect()
}

fn record_path(dir: &Path, index: usize, member: &str) -> PathBuf {
    dir.join(format!("{index}-{member}.record"))
}

/// Starts a ceremony for `banks` banks in the empty directory `dir`, with settlement
/// `capacities` and the screening circuit.
///
/// # Errors
/// [`CeremonyError`]: `dir` is not empty, no capacity, or a file cannot be written.
pub fn new(dir: &Path, banks: usize, capacities: &[usize]) -> Result<String, CeremonyError> {
    if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(CeremonyError::Refused(format!(
            "{} is not empty",
            dir.display()
        )));
    }
    if capacities.is_empty() {
        return Err(CeremonyError::Refused(
            "at least one settlement capacity is needed".into(),
        ));
    }
    let manifest = Manifest {
        banks,
        members: super::members::bank_ids(banks),
        capacities: capacities.to_vec(),
        screening: true,
        phase1_size: 0,
    };
    let mut size = 0;
    for circuit in manifest.circuits() {
        size = size.max(circuit.domain_size(banks)?);
    }
    let manifest = Manifest {
        phase1_size: size,
        ..manifest
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write(
        &dir.join("ceremony.json"),
        &serde_json::to_vec_pretty(&manifest)
            .map_err(|source| CeremonyError::Manifest { source })?,
    )?;
    let powers = Powers::new(size)?;
    write(&powers_path(dir), &ceremony::to_bytes(&powers))?;
    Ok(format!(
        "ceremony for {banks} banks ({}), settlement capacities {capacities:?} and screening: \
         phase 1 of size {size} started in {}; each member now runs \
         `veil ceremony contribute --phase 1`",
        manifest.members.join(", "),
        dir.display()
    ))
}

/// Adds `member`'s contribution (fresh OS randomness, forgotten afterwards) to `phase` (1 or
/// 2).
///
/// # Errors
/// [`CeremonyError`]: not a member, already contributed, the phase is closed or not started.
pub fn contribute(dir: &Path, member: &str, phase: u8) -> Result<String, CeremonyError> {
    let manifest = manifest(dir)?;
    if !manifest.members.iter().any(|m| m == member) {
        return Err(CeremonyError::Refused(format!(
            "{member} is not a member of this ceremony ({})",
            manifest.members.join(", ")
        )));
    }
    match phase {
        1 => {
            if dir.join("phase2").exists() {
                return Err(CeremonyError::Refused(
                    "phase 1 is closed (prepare has run)".into(),
                ));
            }
            let records_dir = dir.join("phase1");
            let done: Vec<Phase1Record> = records(&records_dir)?;
            if done.iter().any(|r| r.contributor == member) {
                return Err(CeremonyError::Refused(format!(
                    "{member} already contributed to phase 1"
                )));
            }
            let powers: Powers =
                ceremony::from_bytes(&read(&powers_path(dir))?).map_err(|source| {
                    CeremonyError::Record {
                        path: "phase 1 powers".into(),
                        source,
                    }
                })?;
            let (next, record) = powers.contribute(member, done.len(), &mut OsRng);
            // The record last: a contribution counts once both files are in place.
            write(&powers_path(dir), &ceremony::to_bytes(&next))?;
            write(
                &record_path(&records_dir, done.len(), member),
                &ceremony::to_bytes(&record),
            )?;
            Ok(format!(
                "{member} contributed to phase 1 ({} of {} members)",
                done.len() + 1,
                manifest.members.len()
            ))
        }
        2 => {
            if !dir.join("phase2").exists() {
                return Err(CeremonyError::Refused(
                    "phase 2 has not started: run `veil ceremony prepare` first".into(),
                ));
            }
            let circuits = manifest.circuits();
            for circuit in &circuits {
                let done: Vec<Phase2Record> = records(&circuit.records_dir(dir))?;
                if done.iter().any(|r| r.contributor == member) {
                    return Err(CeremonyError::Refused(format!(
                        "{member} already contributed to phase 2 ({})",
                        circuit.name()
                    )));
                }
            }
            for circuit in &circuits {
                let records_dir = circuit.records_dir(dir);
                let done: Vec<Phase2Record> = records(&records_dir)?;
                let key = veil_circuits::ProvingKey::from_bytes(&read(&circuit.key_path(dir))?)?;
                let (next, record) = contribute_phase2(
                    &key,
                    &circuit.id(manifest.banks),
                    member,
                    done.len(),
                    &mut OsRng,
                );
                write(&circuit.key_path(dir), &next.to_bytes())?;
                write(
                    &record_path(&records_dir, done.len(), member),
                    &ceremony::to_bytes(&record),
                )?;
            }
            Ok(format!(
                "{member} contributed to phase 2 of {} circuit(s)",
                circuits.len()
            ))
        }
        other => Err(CeremonyError::Refused(format!(
            "--phase must be 1 or 2, not {other}"
        ))),
    }
}

fn missing<'a>(members: &'a [String], contributors: &[String]) -> Vec<&'a str> {
    members
        .iter()
        .filter(|m| !contributors.contains(m))
        .map(String::as_str)
        .collect()
}

fn verified_phase1(
    dir: &Path,
    manifest: &Manifest,
) -> Result<(Powers, Vec<String>), CeremonyError> {
    let records: Vec<Phase1Record> = records(&dir.join("phase1"))?;
    let powers: Powers = ceremony::from_bytes(&read(&powers_path(dir))?).map_err(|source| {
        CeremonyError::Record {
            path: "phase 1 powers".into(),
            source,
        }
    })?;
    if powers.size() != manifest.phase1_size {
        return Err(CeremonyError::Refused(
            "the phase-1 powers do not have the manifest's size".into(),
        ));
    }
    verify_phase1(&records, &powers, &mut OsRng)?;
    let contributors: Vec<String> = records.iter().map(|r| r.contributor.clone()).collect();
    for (i, who) in contributors.iter().enumerate() {
        if !manifest.members.contains(who) || contributors[..i].contains(who) {
            return Err(CeremonyError::Refused(format!(
                "phase 1: {who} is not a member or contributed twice"
            )));
        }
    }
    Ok((powers, contributors))
}

/// Closes phase 1 (every member contributed): verifies it and derives the phase-2 keys.
///
/// # Errors
/// [`CeremonyError`]: phase 1 does not verify or is incomplete, or phase 2 has started.
pub fn prepare(dir: &Path) -> Result<String, CeremonyError> {
    let manifest = manifest(dir)?;
    if dir.join("phase2").exists() {
        return Err(CeremonyError::Refused("phase 2 has already started".into()));
    }
    let (powers, contributors) = verified_phase1(dir, &manifest)?;
    let absent = missing(&manifest.members, &contributors);
    if !absent.is_empty() {
        return Err(CeremonyError::Refused(format!(
            "phase 1 is missing contributions from {}",
            absent.join(", ")
        )));
    }
    let circuits = manifest.circuits();
    for circuit in &circuits {
        let key = circuit.initial_key(&powers, manifest.banks)?;
        write(&circuit.key_path(dir), &key.to_bytes())?;
    }
    let names: Vec<String> = circuits.iter().map(|c| c.name()).collect();
    Ok(format!(
        "phase 1 verified ({} contributions); phase-2 keys derived for {}; each member \
         now runs `veil ceremony contribute --phase 2`",
        contributors.len(),
        names.join(", ")
    ))
}

/// A verified transcript.
#[derive(Debug)]
pub struct Verified {
    banks: usize,
    phase1: Vec<String>,
    /// Final keys with their phase-2 contributors, by circuit.
    keys: Vec<(CeremonyCircuit, veil_circuits::ProvingKey, Vec<String>)>,
    members: Vec<String>,
}

impl Verified {
    /// What the transcript holds and what is missing, for people.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!(
            "phase 1: verified, contributions from {}",
            self.phase1.join(", ")
        )];
        for (circuit, key, contributors) in &self.keys {
            lines.push(format!(
                "{}: verified, phase-2 contributions from {}; verifying key sha256 {}",
                circuit.name(),
                contributors.join(", "),
                veil_crypto::encoding::to_hex(&key.verifying_key().digest())
            ));
        }
        if self.keys.is_empty() {
            lines.push("phase 2: not started (run `veil ceremony prepare`)".into());
        }
        match self.incomplete() {
            Some(why) => lines.push(format!("not complete: {why}")),
            None => lines.push(format!(
                "complete: every member contributed to both phases; use it with \
                 `veil init --banks {} --ceremony DIR`",
                self.banks
            )),
        }
        lines.join("\n")
    }

    fn incomplete(&self) -> Option<String> {
        let absent = missing(&self.members, &self.phase1);
        if !absent.is_empty() {
            return Some(format!("phase 1 lacks {}", absent.join(", ")));
        }
        if self.keys.is_empty() {
            return Some("phase 2 has not started".into());
        }
        for (circuit, _, contributors) in &self.keys {
            let absent = missing(&self.members, contributors);
            if !absent.is_empty() {
                return Some(format!(
                    "phase 2 of {} lacks {}",
                    circuit.name(),
                    absent.join(", ")
                ));
            }
        }
        None
    }
}

/// Verifies everything in the ceremony directory `dir`: phase 1, then each circuit's phase 2
/// against the starting key recomputed from phase 1.
pub fn verify(dir: &Path) -> Result<Verified, CeremonyError> {
    let manifest = manifest(dir)?;
    let (powers, phase1) = verified_phase1(dir, &manifest)?;
    let mut keys = Vec::new();
    if dir.join("phase2").exists() {
        for circuit in manifest.circuits() {
            let name = circuit.name();
            let initial = circuit.initial_key(&powers, manifest.banks)?;
            let records: Vec<Phase2Record> = records(&circuit.records_dir(dir))?;
            let key = veil_circuits::ProvingKey::from_bytes(&read(&circuit.key_path(dir))?)?;
            let contributors: Vec<String> = records.iter().map(|r| r.contributor.clone()).collect();
            for (i, who) in contributors.iter().enumerate() {
                if !manifest.members.contains(who) || contributors[..i].contains(who) {
                    return Err(CeremonyError::Refused(format!(
                        "{name}: {who} is not a member or contributed twice"
                    )));
                }
            }
            if !records.is_empty() {
                verify_phase2(
                    &initial,
                    &circuit.id(manifest.banks),
                    &records,
                    &key,
                    &mut OsRng,
                )?;
            } else if key != initial {
                return Err(CeremonyError::Refused(format!(
                    "{name}: no contribution, yet the key is not phase 1's"
                )));
            }
            keys.push((circuit, key, contributors));
        }
    }
    Ok(Verified {
        banks: manifest.banks,
        phase1,
        keys,
        members: manifest.members,
    })
}

/// The final keys of the ceremony in `dir` for a consortium of `banks`, after verifying the
/// whole transcript and that every member contributed to both phases:
/// `(circuit, proving key bytes)`.
pub fn final_keys(
    dir: &Path,
    banks: usize,
) -> Result<Vec<(CeremonyCircuit, Vec<u8>)>, CeremonyError> {
    let verified = verify(dir)?;
    if verified.banks != banks {
        return Err(CeremonyError::Refused(format!(
            "the ceremony was for {} banks, the consortium has {banks}",
            verified.banks
        )));
    }
    if let Some(why) = verified.incomplete() {
        return Err(CeremonyError::Refused(format!(
            "the ceremony is not complete: {why}"
        )));
    }
    Ok(verified
        .keys
        .into_iter()
        .map(|(circuit, key, _)| (circuit, key.to_bytes()))
        .collect())
}
