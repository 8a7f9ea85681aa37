//! Reading the transcript with its membership, order, chain and signatures checked (see
//! [`super::transcript`]); its cryptography is checked after.

use std::path::Path;

use veil_circuits::ceremony::{Phase1Record, Phase2Record};
use veil_crypto::VerifyingKey;

use super::circuit::CeremonyCircuit;
use super::error::{CeremonyError, refused};
use super::files::{
    Numbered, decode, numbered, numbered_path, phase1_dir, phase2_dir, read, records_dir,
};
use super::manifest::Manifest;
use super::transcript::{POWERS_OF_TAU, Phase, TranscriptHash};

/// Checks that `records` and `signatures` (in `signatures_dir`) pair up: the same numbers
/// and members.
fn paired(
    records: &[Numbered],
    signatures: &[Numbered],
    signatures_dir: &Path,
) -> Result<(), CeremonyError> {
    for i in 0..records.len().max(signatures.len()) {
        match (records.get(i), signatures.get(i)) {
            (Some(record), Some(signature)) if record.member == signature.member => {}
            (Some(record), _) => {
                return Err(refused(format!(
                    "{}: its signature {} is missing",
                    record.path.display(),
                    numbered_path(signatures_dir, record.index, &record.member, "sig").display()
                )));
            }
            (None, Some(signature)) => {
                return Err(refused(format!(
                    "{}: a signature without its record",
                    signature.path.display()
                )));
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// The signing key of `file`'s member, if it is a member that has not contributed to this
/// phase before (`earlier`).
fn member_key(
    manifest: &Manifest,
    file: &Numbered,
    earlier: &[String],
    phase: u8,
) -> Result<VerifyingKey, CeremonyError> {
    let who = &file.member;
    let at = file.path.display();
    let key = manifest.key_of(who).ok_or_else(|| {
        refused(format!(
            "{at}: {who} is not a member of this ceremony (its members: {})",
            manifest.ids().join(", ")
        ))
    })?;
    if earlier.contains(who) {
        return Err(refused(format!(
            "{at}: {who} already contributed to phase {phase}"
        )));
    }
    Ok(key)
}

/// Checks the signature file `file` of the step that led to `hash`, by `key`.
fn check_signature(
    file: &Numbered,
    key: &VerifyingKey,
    hash: &TranscriptHash,
) -> Result<(), CeremonyError> {
    let at = file.path.display();
    let text = String::from_utf8(read(&file.path)?)
        .map_err(|_| refused(format!("{at}: not a hex Ed25519 signature")))?;
    match hash.signed_by(key, &text) {
        Ok(true) => Ok(()),
        Ok(false) => Err(refused(format!(
            "{at}: not {}'s signature of the transcript at this position (a record was \
             edited, moved or signed for another position)",
            file.member
        ))),
        Err(why) => Err(refused(format!("{at}: {why}"))),
    }
}

/// The transcript with its membership, order, chain and signatures checked; its
/// cryptography (the proofs and the powers and keys) not yet.
pub(super) struct Signed {
    pub(super) phase1: Vec<Phase1Record>,
    /// Each circuit's phase-2 records, in the manifest's order; `None` before `prepare`.
    pub(super) phase2: Option<Vec<(CeremonyCircuit, Vec<Phase2Record>)>>,
    pub(super) phase2_contributors: Vec<String>,
    /// The hash after the last contribution.
    pub(super) transcript: TranscriptHash,
}

impl Signed {
    /// What a complete ceremony still lacks: a member's contribution to a phase.
    pub(super) fn incomplete(&self, manifest: &Manifest) -> Option<String> {
        let phase1: Vec<String> = self.phase1.iter().map(|r| r.contributor.clone()).collect();
        let absent = missing(manifest, &phase1);
        if !absent.is_empty() {
            return Some(format!("phase 1 lacks {}", absent.join(", ")));
        }
        if self.phase2.is_none() {
            return Some("phase 2 has not started".into());
        }
        let absent = missing(manifest, &self.phase2_contributors);
        if !absent.is_empty() {
            return Some(format!("phase 2 lacks {}", absent.join(", ")));
        }
        None
    }
}

/// Reads and checks the signed transcript (see [`Signed`]).
pub(super) fn signed(dir: &Path, manifest: &Manifest) -> Result<Signed, CeremonyError> {
    let mut hash = TranscriptHash::start(&manifest.canonical_bytes());
    let records = numbered(&phase1_dir(dir), "record")?;
    let signatures = numbered(&phase1_dir(dir), "sig")?;
    paired(&records, &signatures, &phase1_dir(dir))?;
    let mut phase1 = Vec::new();
    let mut contributors: Vec<String> = Vec::new();
    for (file, signature) in records.iter().zip(&signatures) {
        let key = member_key(manifest, file, &contributors, 1)?;
        let bytes = read(&file.path)?;
        let record: Phase1Record = decode(&file.path, &bytes)?;
        if record.contributor != file.member {
            return Err(refused(format!(
                "{}: the record is {}'s contribution, not {}'s",
                file.path.display(),
                record.contributor,
                file.member
            )));
        }
        hash = hash.next(
            Phase::One,
            file.index,
            &file.member,
            &[(POWERS_OF_TAU.into(), bytes)],
        );
        check_signature(signature, &key, &hash)?;
        contributors.push(file.member.clone());
        phase1.push(record);
    }
    if !phase2_dir(dir).exists() {
        return Ok(Signed {
            phase1,
            phase2: None,
            phase2_contributors: Vec::new(),
            transcript: hash,
        });
    }
    let absent = missing(manifest, &contributors);
    if !absent.is_empty() {
        return Err(refused(format!(
            "phase 2 was started before phase 1 was complete (phase 1 lacks {})",
            absent.join(", ")
        )));
    }
    let signatures = numbered(&phase2_dir(dir), "sig")?;
    let mut circuits = Vec::new();
    for circuit in manifest.circuits() {
        let records = numbered(&records_dir(dir, circuit), "record")?;
        paired(&records, &signatures, &phase2_dir(dir))?;
        circuits.push((circuit, records, Vec::new()));
    }
    let mut contributors: Vec<String> = Vec::new();
    for signature in &signatures {
        let key = member_key(manifest, signature, &contributors, 2)?;
        let mut step = Vec::new();
        for (circuit, files, records) in &mut circuits {
            // Paired: each circuit has one record per signature.
            let Some(file) = files.get(signature.index) else {
                return Err(refused(format!(
                    "{}: a signature without its record",
                    signature.path.display()
                )));
            };
            let bytes = read(&file.path)?;
            let record: Phase2Record = decode(&file.path, &bytes)?;
            if record.contributor != file.member {
                return Err(refused(format!(
                    "{}: the record is {}'s contribution, not {}'s",
                    file.path.display(),
                    record.contributor,
                    file.member
                )));
            }
            step.push((circuit.name(), bytes));
            records.push(record);
        }
        hash = hash.next(Phase::Two, signature.index, &signature.member, &step);
        check_signature(signature, &key, &hash)?;
        contributors.push(signature.member.clone());
    }
    Ok(Signed {
        phase1,
        phase2: Some(
            circuits
                .into_iter()
                .map(|(circuit, _, records)| (circuit, records))
                .collect(),
        ),
        phase2_contributors: contributors,
        transcript: hash,
    })
}

/// The members of `manifest` not among `contributors`.
pub(super) fn missing<'a>(manifest: &'a Manifest, contributors: &[String]) -> Vec<&'a str> {
    manifest
        .ids()
        .into_iter()
        .filter(|id| !contributors.iter().any(|c| c == id))
        .collect()
}
