//! Rule groups on circuit data, the Groth16 side of an entry:
//!
//! - *shape* (stateless): a loan carries a well-formed screening proof exactly when the
//!   consortium screens; a registry update well-formed changes and roots; a view-key
//!   publication well-formed keys (`view_keys.rs`); a disclosure anchor a well-formed anchor
//!   and nothing else (`crate::anchor`); a settlement nothing (its amounts due are sums of
//!   allocation commitments, checked by the relation proofs).
//! - *repayment* (stateless, real-time clearing): a repayment's settlement proof of capacity 1
//!   verifies over its own commitment, its period, and its participants as bank slots
//!   (`veil_circuits::settlement::participant_slots`) with the submitter as originator.
//! - *screening*: a loan's proof verifies against the roots of the registry version it
//!   references.

use veil_circuits::screening::ScreeningProof;
use veil_circuits::settlement::{self, SettlementProof};
use veil_policies::schema::EntryType;

use super::{CircuitProofError, ProofKind, ReferenceError, Rejection, Validator};
use crate::ledger::Entry;
use crate::registry;

impl Validator {
    /// An entry's circuit data, without the ledger: a well-formed screening proof for a loan of
    /// a screening consortium (none otherwise), a well-formed registry update, a verified
    /// settlement proof for a repayment, nothing for a settlement.
    pub(super) fn check_circuit_data(
        &self,
        kind: EntryType,
        entry: &Entry,
    ) -> Result<(), Rejection> {
        let data = &entry.proofs.circuit;
        match kind {
            EntryType::LoanOriginated => match self.genesis.circuits.screening {
                Some(_) => ScreeningProof::from_bytes(data)
                    .map(|_| ())
                    .map_err(|e| CircuitProofError::MalformedScreening(e).into()),
                None if data.is_empty() => Ok(()),
                None => Err(CircuitProofError::UnexpectedScreening.into()),
            },
            EntryType::RegistryUpdated => registry::update_of(entry)
                .map(|_| ())
                .map_err(Rejection::from),
            EntryType::ViewKeysPublished => self.check_publication(entry),
            EntryType::DisclosuresAnchored => crate::anchor::anchor_of(entry)
                .map(|_| ())
                .map_err(Rejection::from),
            EntryType::OprfEvaluations => crate::oprf_report::report_of(entry, &self.genesis)
                .map(|_| ())
                .map_err(Rejection::from),
            EntryType::LoanRepaid => self.check_repayment_proof(entry),
            EntryType::SettlementClosed if data.is_empty() => Ok(()),
            EntryType::SettlementClosed => Err(CircuitProofError::UnexpectedSettlementData.into()),
        }
    }

    /// A repayment's settlement proof (real-time clearing): capacity 1, its own commitment as
    /// the root, its loan's participants (named by its `allocations.<bank>` commitments) as
    /// bank slots with the submitter as the originator, its statement id and period.
    fn check_repayment_proof(&self, entry: &Entry) -> Result<(), Rejection> {
        let statement = self.repayment_statement(entry)?;
        self.verify_repayments(&[&statement])
            .into_iter()
            .next()
            .unwrap_or(Ok(()))
    }

    /// A repayment's settlement statement, its shape checked, for
    /// [`Validator::verify_repayments`].
    pub(super) fn repayment_statement(
        &self,
        entry: &Entry,
    ) -> Result<RepaymentStatement, Rejection> {
        let proof = SettlementProof::from_bytes(&entry.proofs.circuit)
            .map_err(CircuitProofError::Settlement)?;
        let participants = entry
            .commitments
            .iter()
            .filter_map(|(label, _)| label.strip_prefix("allocations."));
        let (_, originator) = settlement::participant_slots(participants, &entry.header.submitter)
            .ok_or(CircuitProofError::SettlementSlots)?;
        let period = veil_circuits::period_number(&entry.header.period)
            .ok_or(CircuitProofError::SettlementPeriod)?;
        let inputs = proof
            .repayment_inputs(&entry.header.statement_id(), period, originator)
            .map_err(CircuitProofError::Settlement)?;
        Ok(RepaymentStatement {
            inputs,
            proof: proof.proof,
        })
    }

    /// Verifies repayments' settlement proofs (all under the genesis key of capacity 1) with
    /// one multi-pairing ([`veil_circuits::VerifyingKey::verify_batch`]); the verdict of each,
    /// in order. When the combined check fails, every proof is checked alone, in parallel (one
    /// combined check and one pass, however many are bad), and each that does not verify is
    /// named by its verdict; the others pass.
    pub(super) fn verify_repayments(
        &self,
        statements: &[&RepaymentStatement],
    ) -> Vec<Result<(), Rejection>> {
        let Some(vk) = self.genesis.circuits.settlement.get(&1) else {
            return statements
                .iter()
                .map(|_| Err(CircuitProofError::NoSettlementCircuit.into()))
                .collect();
        };
        let started = std::time::Instant::now();
        let batch: Vec<(&[veil_circuits::Fr], &veil_circuits::Proof)> = statements
            .iter()
            .map(|s| (s.inputs.as_slice(), &s.proof))
            .collect();
        let verdicts: Vec<Result<(), Rejection>> =
            if vk.verify_combined(&batch, &mut veil_circuits::OsRng) {
                vec![Ok(()); statements.len()]
            } else {
                // Some proof fails: each is checked alone, in parallel (one pass, whatever the
                // number of bad proofs a lying proposer packs into a block), every failure
                // named.
                use rayon::prelude::*;
                batch
                    .par_iter()
                    .map(|(inputs, proof)| {
                        vk.verify(inputs, proof).map_err(|_| {
                            CircuitProofError::Settlement(veil_circuits::CircuitError::Verification)
                                .into()
                        })
                    })
                    .collect()
            };
        if let Some(timer) = &self.timer
            && !statements.is_empty()
        {
            let each = started.elapsed() / statements.len() as u32;
            for _ in statements {
                timer.observe(ProofKind::Settlement, each);
            }
        }
        verdicts
    }
}

/// A repayment's settlement proof and the public inputs of its statement: checked for shape,
/// not yet verified.
#[derive(Debug, Clone)]
pub(super) struct RepaymentStatement {
    inputs: Vec<veil_circuits::Fr>,
    proof: veil_circuits::Proof,
}

impl Validator {
    /// A loan's screening proof against the roots of registry version `version` (its one
    /// reference), when the consortium screens.
    pub(super) fn check_screening(
        &self,
        loan: &Entry,
        version: Option<&Entry>,
    ) -> Result<(), Rejection> {
        let Some(vk) = &self.genesis.circuits.screening else {
            return Ok(());
        };
        let version = version.ok_or(ReferenceError::Unscreened)?;
        if version.header.kind != EntryType::RegistryUpdated.name() {
            return Err(ReferenceError::WrongType.into());
        }
        let roots = registry::update_of(version)?.roots;
        let proof = ScreeningProof::from_bytes(&loan.proofs.circuit)
            .map_err(|e| Rejection::from(CircuitProofError::Screening(e)))?;
        self.timed(ProofKind::Screening, || {
            proof.verify(vk, &loan.header.statement_id(), roots)
        })
        .map_err(|e| CircuitProofError::Screening(e).into())
    }
}

/// A repayment's Poseidon commitment (the root of its own settlement proof), from its circuit
/// data.
pub fn repayment_commitment(entry: &Entry) -> Result<veil_circuits::Fr, Rejection> {
    SettlementProof::from_bytes(&entry.proofs.circuit)
        .map(|proof| proof.root)
        .map_err(|e| CircuitProofError::Settlement(e).into())
}
