//! Rule groups on circuit data, the Groth16 side of an entry:
//!
//! - *shape* (stateless): a loan carries a well-formed screening proof exactly when the
//!   consortium screens; a registry update well-formed changes and roots; a view-key
//!   publication well-formed keys (`view_keys.rs`); a disclosure anchor a well-formed anchor
//!   and nothing else (`crate::anchor`); a repayment a
//!   canonical Poseidon commitment; a settlement a well-formed proof for a settlement circuit of
//!   the genesis, with one amount-due commitment per member.
//! - *settlement* (stateful): the settlement's proof verifies against its repayments'
//!   commitments, its period and its originator's bank slot.
//! - *screening*: a loan's proof verifies against the roots of the registry version it
//!   references.

use veil_circuits::screening::ScreeningProof;
use veil_circuits::settlement::SettlementProof;
use veil_policies::schema::EntryType;

use super::{CircuitProofError, ReferenceError, Rejection, Validator};
use crate::ledger::Entry;
use crate::registry;

impl Validator {
    /// The shape of an entry's circuit data, without the ledger: a well-formed screening proof
    /// for a loan of a screening consortium (none otherwise), a well-formed registry update, a
    /// canonical Poseidon commitment for a repayment, a well-formed proof for a genesis circuit
    /// for a settlement.
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
            EntryType::LoanRepaid => repayment_commitment(entry).map(|_| ()),
            EntryType::SettlementClosed => {
                let proof =
                    SettlementProof::from_bytes(data).map_err(CircuitProofError::Settlement)?;
                if !self
                    .genesis
                    .circuits
                    .settlement
                    .contains_key(&proof.capacity)
                {
                    return Err(CircuitProofError::NoSettlementCircuit.into());
                }
                if proof.due.len() != self.genesis.members.len() {
                    return Err(CircuitProofError::DueCount.into());
                }
                Ok(())
            }
        }
    }

    /// The settlement's Groth16 proof against its referenced repayments' commitments.
    pub(super) fn check_circuit(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[&Entry],
    ) -> Result<(), Rejection> {
        if kind != EntryType::SettlementClosed {
            return Ok(());
        }
        let proof = SettlementProof::from_bytes(&entry.proofs.circuit)
            .map_err(CircuitProofError::Settlement)?;
        let vk = self
            .genesis
            .circuits
            .settlement
            .get(&proof.capacity)
            .ok_or(CircuitProofError::NoSettlementCircuit)?;
        let leaves = referenced
            .iter()
            .map(|r| repayment_commitment(r))
            .collect::<Result<Vec<_>, _>>()?;
        let period = veil_circuits::period_number(&entry.header.period)
            .ok_or(CircuitProofError::SettlementPeriod)?;
        let originator = self
            .genesis
            .bank_slot(&entry.header.submitter)
            .ok_or(CircuitProofError::SettlementSubmitter)?;
        proof
            .verify(
                vk,
                &entry.header.statement_id(),
                period,
                originator,
                &leaves,
            )
            .map_err(|e| CircuitProofError::Settlement(e).into())
    }

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
        ScreeningProof::from_bytes(&loan.proofs.circuit)
            .and_then(|proof| proof.verify(vk, &loan.header.statement_id(), roots))
            .map_err(|e| CircuitProofError::Screening(e).into())
    }
}

/// A repayment's Poseidon commitment (its leaf in the settlement tree), from its circuit data.
pub fn repayment_commitment(entry: &Entry) -> Result<veil_circuits::Fr, Rejection> {
    let bytes: &[u8; 32] = entry
        .proofs
        .circuit
        .as_slice()
        .try_into()
        .map_err(|_| CircuitProofError::RepaymentLength)?;
    veil_circuits::groth16::field::from_bytes(bytes)
        .map_err(|e| CircuitProofError::RepaymentCommitment(e).into())
}
