//! `veil ceremony`: the multi-party setup of the circuits' keys (settlement and screening) (see
//! [`veil_circuits::ceremony`] for the cryptography and `docs/ceremony.md` for the procedure).
//!
//! ```text
//! DIR/ceremony.json                          consortium, members and their signing keys,
//!                                            capacities, phase-1 size (manifest)
//! DIR/phase1/powers.bin                      the current powers of tau
//! DIR/phase1/<n>-<member>.record             each contribution, in order
//! DIR/phase1/<n>-<member>.sig                its contributor's signature of the transcript
//! DIR/phase2/<circuit>.pk                    the current key of each circuit
//! DIR/phase2/<circuit>/<n>-<member>.record   (settlement-<capacity>, screening)
//! DIR/phase2/<n>-<member>.sig                one per phase-2 step: the member's records of
//!                                            every circuit
//! ```
//!
//! Each function returns what to tell the member, or a [`CeremonyError`]; the `veil ceremony`
//! command prints it.
//!
//! The directory travels from member to member (each runs `contribute` on its own machine, with
//! its own randomness and its own signing key, and passes the directory on); anyone can run
//! `verify`. The members are fixed by `new` from their descriptors, with the keys their
//! descriptors publish. Every contribution is signed by its member's key over the transcript
//! hash after it (`ceremony/transcript.rs`), which chains the manifest and every contribution
//! before it, so nobody can contribute in another member's name, and nobody can reorder, edit
//! or drop a contribution without breaking a signature. Every member contributes exactly once
//! to each phase, phase 2 only after phase 1 is complete; the final transcript hash is what the
//! genesis pins ([`final_keys`], [`transcript_hash`]).

mod circuit;
mod error;
mod files;
mod manifest;
mod signed;
#[cfg(test)]
mod tests;
mod transcript;

use std::path::{Path, PathBuf};

use veil_circuits::OsRng;
use veil_circuits::ceremony::{
    self, Phase1Record, Powers, contribute_phase2, verify_phase1, verify_phase2,
};
use veil_crypto::{SigningKey, VerifyingKey, encoding};

pub use circuit::CeremonyCircuit;
pub use error::CeremonyError;
pub use manifest::CeremonyMember;

use super::descriptor::{Descriptor, PartyKind};
use error::refused;
use files::{
    decode, io, key_path, manifest_path, member_descriptor, member_signing_key, numbered_path,
    phase1_dir, phase2_dir, powers_path, read, records_dir, write,
};
use manifest::Manifest;
use signed::{Signed, missing, signed};
use transcript::{POWERS_OF_TAU, Phase};

/// Starts a ceremony in the empty directory `dir` for the members whose descriptor files are
/// `descriptors` (in genesis order), with settlement `capacities` and the screening circuit.
///
/// # Errors
/// [`CeremonyError`]: `dir` is not empty, no descriptor or capacity, a descriptor does not
/// verify, is a regulator's or repeats an id or key, or a file cannot be written.
pub fn new(
    dir: &Path,
    descriptors: &[PathBuf],
    capacities: &[usize],
) -> Result<String, CeremonyError> {
    create(dir, descriptors, capacities, true)
}

/// [`new`], with or without the screening circuit (without: tests only, for speed).
fn create(
    dir: &Path,
    descriptors: &[PathBuf],
    capacities: &[usize],
    screening: bool,
) -> Result<String, CeremonyError> {
    if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(refused(format!("{} is not empty", dir.display())));
    }
    if descriptors.is_empty() {
        return Err(refused(
            "no members: give each member's descriptor with --descriptor, in genesis order",
        ));
    }
    if capacities.is_empty() {
        return Err(refused("at least one settlement capacity is needed"));
    }
    let mut consortium: Option<(String, String)> = None;
    let mut members: Vec<CeremonyMember> = Vec::new();
    for path in descriptors {
        let descriptor = Descriptor::load(path)?;
        let at = path.display();
        let id = &descriptor.id;
        if descriptor.kind != PartyKind::Member {
            return Err(refused(format!(
                "{at}: {id} is a regulator; only members contribute to the ceremony"
            )));
        }
        match &consortium {
            Some((first, joins)) if *joins != descriptor.consortium => {
                return Err(refused(format!(
                    "{at}: {id} joins consortium {:?}, {first} joins {joins:?}",
                    descriptor.consortium
                )));
            }
            Some(_) => {}
            None => consortium = Some((id.clone(), descriptor.consortium.clone())),
        }
        // One spelling of each key (the descriptor verified, so it decodes).
        let signing_key = VerifyingKey::from_hex(&descriptor.signing_key)
            .map_err(|e| refused(format!("{at}: signing_key: {e}")))?
            .to_hex();
        if members.iter().any(|m| m.id == *id) {
            return Err(refused(format!("{at}: {id} is given twice")));
        }
        if let Some(other) = members.iter().find(|m| m.signing_key == signing_key) {
            return Err(refused(format!(
                "{at}: {id} has the signing key of {}",
                other.id
            )));
        }
        members.push(CeremonyMember {
            id: id.clone(),
            signing_key,
        });
    }
    let banks = members.len();
    let mut manifest = Manifest {
        format: manifest::FORMAT.into(),
        consortium: consortium.map(|(_, c)| c).unwrap_or_default(),
        banks,
        members,
        capacities: capacities.to_vec(),
        screening,
        phase1_size: 0,
    };
    for circuit in manifest.circuits() {
        manifest.phase1_size = manifest.phase1_size.max(circuit.domain_size()?);
    }
    let size = manifest.phase1_size;
    let powers = Powers::new(size)?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| CeremonyError::Manifest {
        reason: e.to_string(),
    })?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write(&manifest_path(dir), &json)?;
    write(&powers_path(dir), &ceremony::to_bytes(&powers))?;
    Ok(format!(
        "ceremony of {} for {banks} banks ({}), settlement capacities {capacities:?}{}: \
         phase 1 of size {size} started in {}; each member now runs `veil ceremony contribute \
         --phase 1 --keys MEMBER-DIR`",
        manifest.consortium,
        manifest.ids().join(", "),
        if screening { " and screening" } else { "" },
        dir.display()
    ))
}

/// A contributor: the member id from its descriptor and its signing key, which must be the
/// one the manifest has for that id.
fn contributor(manifest: &Manifest, keys: &Path) -> Result<(String, SigningKey), CeremonyError> {
    let descriptor = Descriptor::load(&member_descriptor(keys))?;
    let path = member_signing_key(keys);
    let bad = |reason: String| CeremonyError::Key {
        path: path.display().to_string(),
        reason,
    };
    let pem = veil_node::tls::read_private(&path).map_err(|e| bad(e.to_string()))?;
    let pem = std::str::from_utf8(&pem).map_err(|_| bad("not UTF-8 text".into()))?;
    let key = SigningKey::from_pem(pem).map_err(|e| bad(e.to_string()))?;
    let id = descriptor.id;
    match manifest.key_of(&id) {
        None => Err(refused(format!(
            "{id} is not a member of this ceremony (its members: {})",
            manifest.ids().join(", ")
        ))),
        Some(expected) if expected != key.verifying_key() => Err(refused(format!(
            "{}: not the signing key this ceremony has for {id}: not a member of this ceremony",
            path.display()
        ))),
        Some(_) => Ok((id, key)),
    }
}

/// Adds the contribution of the member whose directory is `keys` (`member.json` and
/// `keys/signing.key`; fresh OS randomness, forgotten afterwards) to `phase` (1 or 2), signed
/// with its key.
///
/// # Errors
/// [`CeremonyError`]: not a member (the key is not the manifest's for the descriptor's id),
/// already contributed, the phase is closed or not started, the transcript so far does not
/// verify. Nothing is written then.
pub fn contribute(dir: &Path, keys: &Path, phase: u8) -> Result<String, CeremonyError> {
    let manifest = Manifest::load(dir)?;
    if phase != 1 && phase != 2 {
        return Err(refused(format!("--phase must be 1 or 2, not {phase}")));
    }
    let (member, key) = contributor(&manifest, keys)?;
    let started = phase2_dir(dir).exists();
    if phase == 1 && started {
        return Err(refused("phase 1 is closed (prepare has run)"));
    }
    if phase == 2 && !started {
        return Err(refused(
            "phase 2 has not started: run `veil ceremony prepare` first",
        ));
    }
    let signed = signed(dir, &manifest)?;
    let (index, hash) = if phase == 1 {
        if signed.phase1.iter().any(|r| r.contributor == member) {
            return Err(refused(format!("{member} already contributed to phase 1")));
        }
        let index = signed.phase1.len();
        let powers: Powers = decode(&powers_path(dir), &read(&powers_path(dir))?)?;
        let (next, record) = powers.contribute(&member, index, &mut OsRng);
        let record = ceremony::to_bytes(&record);
        let hash = signed.transcript.next(
            Phase::One,
            index,
            &member,
            &[(POWERS_OF_TAU.into(), record.clone())],
        );
        let records = phase1_dir(dir);
        // The signature last. An interrupted contribution leaves a directory `verify` refuses:
        // start again from the copy received.
        write(&powers_path(dir), &ceremony::to_bytes(&next))?;
        write(&numbered_path(&records, index, &member, "record"), &record)?;
        write(
            &numbered_path(&records, index, &member, "sig"),
            hash.sign(&key).as_bytes(),
        )?;
        (index, hash)
    } else {
        if signed.phase2_contributors.contains(&member) {
            return Err(refused(format!("{member} already contributed to phase 2")));
        }
        let index = signed.phase2_contributors.len();
        let mut next_keys = Vec::new();
        let mut records = Vec::new();
        for circuit in manifest.circuits() {
            let path = key_path(dir, circuit);
            let current = veil_circuits::ProvingKey::from_bytes(&read(&path)?)?;
            let (next, record) =
                contribute_phase2(&current, &circuit.id(), &member, index, &mut OsRng);
            next_keys.push((path, next.to_bytes()));
            records.push((circuit.name(), ceremony::to_bytes(&record)));
        }
        let hash = signed.transcript.next(Phase::Two, index, &member, &records);
        for (path, bytes) in &next_keys {
            write(path, bytes)?;
        }
        for (circuit, (_, record)) in manifest.circuits().into_iter().zip(&records) {
            write(
                &numbered_path(&records_dir(dir, circuit), index, &member, "record"),
                record,
            )?;
        }
        write(
            &numbered_path(&phase2_dir(dir), index, &member, "sig"),
            hash.sign(&key).as_bytes(),
        )?;
        (index, hash)
    };
    let what = match phase {
        1 => "phase 1".to_owned(),
        _ => format!("phase 2 of {} circuit(s)", manifest.circuits().len()),
    };
    Ok(format!(
        "{member} contributed to {what} ({} of {} members); transcript hash now {}",
        index + 1,
        manifest.members.len(),
        encoding::to_hex(&hash.0)
    ))
}

/// The final powers of tau, verified against the phase-1 records.
fn verified_powers(
    dir: &Path,
    manifest: &Manifest,
    records: &[Phase1Record],
) -> Result<Powers, CeremonyError> {
    let powers: Powers = decode(&powers_path(dir), &read(&powers_path(dir))?)?;
    if powers.size() != manifest.phase1_size {
        return Err(refused(
            "the phase-1 powers do not have the manifest's size",
        ));
    }
    verify_phase1(records, &powers, &mut OsRng)?;
    Ok(powers)
}

/// Closes phase 1 (every member contributed): verifies it and derives the phase-2 keys.
///
/// # Errors
/// [`CeremonyError`]: phase 1 does not verify or is incomplete, or phase 2 has started.
pub fn prepare(dir: &Path) -> Result<String, CeremonyError> {
    let manifest = Manifest::load(dir)?;
    if phase2_dir(dir).exists() {
        return Err(refused("phase 2 has already started"));
    }
    let signed = signed(dir, &manifest)?;
    let contributors: Vec<String> = signed
        .phase1
        .iter()
        .map(|r| r.contributor.clone())
        .collect();
    let absent = missing(&manifest, &contributors);
    if !absent.is_empty() {
        return Err(refused(format!(
            "phase 1 is missing contributions from {}",
            absent.join(", ")
        )));
    }
    let powers = verified_powers(dir, &manifest, &signed.phase1)?;
    let circuits = manifest.circuits();
    let mut keys = Vec::new();
    for circuit in &circuits {
        keys.push((
            key_path(dir, *circuit),
            circuit.initial_key(&powers)?.to_bytes(),
        ));
    }
    for (path, bytes) in &keys {
        write(path, bytes)?;
    }
    let names: Vec<String> = circuits.iter().map(|c| c.name()).collect();
    Ok(format!(
        "phase 1 verified ({} contributions); phase-2 keys derived for {}; each member \
         now runs `veil ceremony contribute --phase 2 --keys MEMBER-DIR`",
        contributors.len(),
        names.join(", ")
    ))
}

/// A verified transcript.
#[derive(Debug)]
pub struct Verified {
    manifest: Manifest,
    phase1: Vec<String>,
    /// Final keys with their phase-2 contributors, by circuit.
    keys: Vec<(CeremonyCircuit, veil_circuits::ProvingKey, Vec<String>)>,
    transcript: [u8; 32],
    /// What a complete ceremony still lacks.
    incomplete: Option<String>,
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
                encoding::to_hex(&key.verifying_key().digest())
            ));
        }
        if self.keys.is_empty() {
            lines.push("phase 2: not started (run `veil ceremony prepare`)".into());
        }
        let transcript = encoding::to_hex(&self.transcript);
        match &self.incomplete {
            Some(why) => {
                lines.push(format!("transcript hash so far: {transcript}"));
                lines.push(format!("not complete: {why}"));
            }
            None => {
                lines.push(format!("transcript hash: {transcript}"));
                lines.push(format!(
                    "complete: every member contributed to both phases and signed; the \
                     consortium's genesis pins this transcript hash (`veil consortium \
                     assemble --ceremony DIR`, {} members in this order: {})",
                    self.manifest.banks,
                    self.manifest.ids().join(", ")
                ));
            }
        }
        lines.join("\n")
    }

    /// The transcript hash after the last verified contribution.
    pub fn transcript(&self) -> [u8; 32] {
        self.transcript
    }
}

/// Verifies everything in the ceremony directory `dir`: the manifest, every contribution's
/// membership, order and signature over the transcript hash, then phase 1, then each
/// circuit's phase 2 against the starting key recomputed from phase 1.
///
/// # Errors
/// [`CeremonyError`] naming the file or member and what is wrong.
pub fn verify(dir: &Path) -> Result<Verified, CeremonyError> {
    let manifest = Manifest::load(dir)?;
    let signed = signed(dir, &manifest)?;
    checked(dir, manifest, signed)
}

/// Verifies the cryptography of a transcript whose signatures and order are checked: phase 1,
/// then each circuit's phase 2 against the starting key recomputed from phase 1.
fn checked(dir: &Path, manifest: Manifest, signed: Signed) -> Result<Verified, CeremonyError> {
    let powers = verified_powers(dir, &manifest, &signed.phase1)?;
    let incomplete = signed.incomplete(&manifest);
    let mut keys = Vec::new();
    for (circuit, records) in signed.phase2.unwrap_or_default() {
        let name = circuit.name();
        let initial = circuit.initial_key(&powers)?;
        let key = veil_circuits::ProvingKey::from_bytes(&read(&key_path(dir, circuit))?)?;
        if !records.is_empty() {
            verify_phase2(&initial, &circuit.id(), &records, &key, &mut OsRng)?;
        } else if key != initial {
            return Err(refused(format!(
                "{name}: no contribution, yet the key is not phase 1's"
            )));
        }
        let contributors = records.iter().map(|r| r.contributor.clone()).collect();
        keys.push((circuit, key, contributors));
    }
    Ok(Verified {
        phase1: signed
            .phase1
            .iter()
            .map(|r| r.contributor.clone())
            .collect(),
        keys,
        transcript: signed.transcript.0,
        incomplete,
        manifest,
    })
}

/// Verifies the ceremony in `dir` and that it is complete (and for `banks` banks, if given);
/// refuses an incomplete one or one for another number of banks before the costly checks.
fn complete(dir: &Path, banks: Option<usize>) -> Result<Verified, CeremonyError> {
    let manifest = Manifest::load(dir)?;
    if let Some(banks) = banks
        && banks != manifest.banks
    {
        return Err(refused(format!(
            "the ceremony was for {} banks, the consortium has {banks}",
            manifest.banks
        )));
    }
    let signed = signed(dir, &manifest)?;
    if let Some(why) = signed.incomplete(&manifest) {
        return Err(refused(format!("the ceremony is not complete: {why}")));
    }
    checked(dir, manifest, signed)
}

/// The final transcript hash of the complete ceremony in `dir`, after verifying all of it:
/// what a genesis made from it pins (`[circuits] transcript`).
///
/// # Errors
/// [`CeremonyError`]: the transcript does not verify or is incomplete.
pub fn transcript_hash(dir: &Path) -> Result<[u8; 32], CeremonyError> {
    complete(dir, None).map(|verified| verified.transcript)
}

/// What a complete ceremony gives the consortium.
#[derive(Debug)]
pub struct FinalKeys {
    /// Each circuit's final proving key (bytes).
    pub keys: Vec<(CeremonyCircuit, Vec<u8>)>,
    /// The final transcript hash, for the genesis to pin.
    pub transcript: [u8; 32],
    /// The consortium id the members' descriptors named.
    pub consortium: String,
    /// The members who contributed, with their signing keys, in the order the ceremony was
    /// started with (which must be the genesis's).
    pub members: Vec<CeremonyMember>,
}

/// The final keys and transcript hash of the ceremony in `dir` for a consortium of `banks`,
/// after verifying the whole transcript and that every member contributed to both phases.
///
/// # Errors
/// [`CeremonyError`]: the transcript does not verify or is incomplete, or it was for another
/// number of banks.
pub fn final_keys(dir: &Path, banks: usize) -> Result<FinalKeys, CeremonyError> {
    let verified = complete(dir, Some(banks))?;
    Ok(FinalKeys {
        keys: verified
            .keys
            .into_iter()
            .map(|(circuit, key, _)| (circuit, key.to_bytes()))
            .collect(),
        transcript: verified.transcript,
        consortium: verified.manifest.consortium,
        members: verified.manifest.members,
    })
}
