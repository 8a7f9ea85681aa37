//! Rule group: the range proof and the relation proofs. The type's
//! [proof plan](veil_policies::proof_plan), derived from the entry's commitments (and, for a
//! settlement, its repayments'), says which commitments must be in range and which linear
//! relations must hold; each proof is bound to the entry id and its purpose. Every commitment
//! also carries a verifiable decrypt handle to each regulator ([`crate::audit`]).

use veil_crypto::Commitment;
use veil_crypto::range_proof::RangeProof;
use veil_crypto::relation_proof::{Relation, RelationProof};
use veil_policies::proof_plan::{self, purpose};
use veil_policies::schema::EntryType;

use super::{ProofKind, Rejection, Validator};
use crate::ledger::Entry;

/// The commitments of one referenced entry, as the proof plan takes them.
pub(super) type ReferencedCommitments<'a> = &'a [(String, Commitment)];

impl Validator {
    /// Verifies the range and relation proofs of an entry of type `kind` whose references
    /// carry `referenced` commitments (in the order of its references).
    pub(super) fn check_proofs(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[ReferencedCommitments<'_>],
    ) -> Result<(), Rejection> {
        let plan = proof_plan::plan(
            kind,
            &entry.commitments,
            referenced,
            &self.genesis.plan_params(),
        )
        .map_err(Rejection::Commitments)?;
        // Proofs are bound to the statement id (genesis, submitter, entry id).
        let statement = entry.header.statement_id();
        let entry_id = &statement;
        if plan.range.is_empty() {
            // A type without amounts carries no range proof.
            if !entry.proofs.range.is_empty() {
                return Err(Rejection::RangeProof);
            }
        } else {
            let range = RangeProof::from_bytes_for(&entry.proofs.range, plan.range.len())
                .map_err(|_| Rejection::RangeProof)?;
            self.timed(ProofKind::Range, || {
                range.verify(entry_id, purpose::RANGE, &plan.range)
            })
            .map_err(|_| Rejection::RangeProof)?;
        }
        if entry.proofs.relations.len() != plan.relations.len() {
            return Err(Rejection::RelationProof);
        }
        for (relation, bytes) in plan.relations.iter().zip(&entry.proofs.relations) {
            let proof = RelationProof::from_bytes(bytes).map_err(|_| Rejection::RelationProof)?;
            self.timed(ProofKind::Relation, || {
                proof.verify(&Relation {
                    entry_id,
                    purpose: &relation.purpose,
                    terms: &relation.terms,
                    constant: relation.constant,
                })
            })
            .map_err(|_| Rejection::RelationProof)?;
        }
        Ok(())
    }

    /// Verifies that every commitment of `entry` carries a valid decrypt handle to every
    /// regulator's auditor key ([`crate::audit`]): whatever its reader groups hold, each
    /// regulator can recover each amount.
    pub(super) fn check_audit(&self, entry: &Entry) -> Result<(), Rejection> {
        self.timed(ProofKind::Audit, || {
            crate::audit::verify(
                &self.genesis,
                &entry.header.statement_id(),
                &entry.commitments,
                &entry.proofs.audit,
            )
        })
        .map_err(Rejection::Audit)
    }
}
