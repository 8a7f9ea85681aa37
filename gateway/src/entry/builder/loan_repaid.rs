//! `loan.repaid`: a repayment with each participant's allocation (floor by share, remainder to
//! the originator), its Poseidon commitment, and the split proof participants check.

use veil_crypto::Opening;
use veil_crypto::range_proof::RangeProof;
use veil_node::genesis::Genesis;
use veil_node::ledger::EntryId;
use veil_policies::proof_plan::{self};
use veil_policies::schema::EntryType;

use crate::entry::error::EntryError;
use crate::entry::request::{LoanRepaid, allocate};

use veil_crypto::allocation::BASIS_POINTS;

use super::*;

/// A repayment's Poseidon commitment: its amount and share vector, blinded by a value derived
/// from the amount's Pedersen blinding (so whoever opens one can check the other).
pub fn repayment_commitment(
    genesis: &Genesis,
    id: &EntryId,
    amount: &Opening,
    shares: &[(String, u64)],
) -> Option<veil_circuits::settlement::Repayment> {
    Some(veil_circuits::settlement::Repayment {
        entry: id.0,
        amount: amount.value(),
        shares: slot_shares(genesis, shares)?,
        blinding: veil_circuits::derived_blinding(&amount.blinding_bytes()),
    })
}

/// A loan's shares laid out by circuit bank slot (genesis member order), zero for banks
/// outside the loan.
pub fn slot_shares(genesis: &Genesis, shares: &[(String, u64)]) -> Option<Vec<u64>> {
    let mut slots = vec![0; genesis.members.len()];
    for (bank, share) in shares {
        slots[genesis.bank_slot(bank)?] = *share;
    }
    Some(slots)
}

/// A repayment's allocations as its originator can open them.
#[derive(Debug, Clone)]
pub struct RepaymentAllocations {
    /// The repayment entry.
    pub entry_id: EntryId,
    /// The amount's opening.
    pub amount: Opening,
    /// The loan's shares by bank.
    pub shares: Vec<(String, u64)>,
    /// Allocation openings by bank, sorted by bank.
    pub allocations: Vec<(String, Opening)>,
}

/// The split statement's items: for each participant but the originator, in bank order,
/// `D = share·amount − 10000·allocation` and `9999 − D`. Both in `[0, 2^64)` means
/// `allocation = floor(amount·share / 10000)`.
pub fn split_items<T: proof_plan::Committed>(
    amount: &T,
    allocations: &[(&str, &T)],
    shares: &[(String, u64)],
    originator: &str,
) -> Option<Vec<T>> {
    let mut items = Vec::new();
    for (bank, allocation) in allocations {
        if *bank == originator {
            continue;
        }
        let share = shares.iter().find(|(b, _)| b == bank)?.1 as i64;
        let whole = BASIS_POINTS as i64;
        items.push(T::linear_combination(
            &[(share, amount), (-whole, allocation)],
            0,
        )?);
        items.push(T::linear_combination(
            &[(-share, amount), (whole, allocation)],
            i128::from(whole - 1),
        )?);
    }
    Some(items)
}

pub(super) fn split_proof(
    statement: &[u8; 16],
    openings: &[(String, Opening)],
    shares: &[(String, u64)],
    originator: &str,
) -> Result<Vec<u8>, EntryError> {
    let amount = opening_of(openings, "amount")?;
    let allocations = proof_plan::per_bank(openings, "allocations");
    let items =
        split_items(amount, &allocations, shares, originator).ok_or_else(EntryError::internal)?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&Opening> = items.iter().collect();
    let (proof, _) = RangeProof::prove(statement, SPLIT_PURPOSE, &refs).map_err(internal)?;
    Ok(proof.to_bytes())
}

impl Builder<'_> {
    /// A `loan.repaid` entry for `loan` (rules already checked).
    pub fn repayment(
        &self,
        repayment: &LoanRepaid,
        loan: &LoanTerms,
        now_ms: u64,
    ) -> Result<Built, EntryError> {
        let participants: Vec<String> = loan.shares.iter().map(|(b, _)| b.clone()).collect();
        let allocations = allocate(repayment.amount, &loan.shares, self.member)
            .ok_or_else(EntryError::internal)?;
        let mut fields = vec![
            Field {
                path: "loan_id".into(),
                plaintext: json(&repayment.loan_id),
            },
            Field {
                path: "period".into(),
                plaintext: json(&repayment.period),
            },
        ];
        let mut openings = vec![
            ("amount".to_owned(), Opening::random(repayment.amount)),
            (
                "principal_part".to_owned(),
                Opening::random(repayment.principal_part),
            ),
            (
                "interest_part".to_owned(),
                Opening::random(repayment.interest_part),
            ),
        ];
        for (bank, value) in &allocations {
            openings.push((format!("allocations.{bank}"), Opening::random(*value)));
        }
        for (label, opening) in &openings {
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
            });
        }
        let shares = loan.shares.clone();
        let member = self.member.to_owned();
        let genesis = self.genesis;
        self.assemble(
            EntryId::random_nonce(),
            EntryType::LoanRepaid,
            &repayment.period,
            vec![loan.entry_id],
            &participants,
            fields,
            openings,
            &[],
            move |id, statement, openings| {
                let amount = opening_of(openings, "amount")?;
                let commitment = repayment_commitment(genesis, id, amount, &shares)
                    .ok_or_else(EntryError::internal)?
                    .commitment();
                Ok(Extra {
                    participant: split_proof(statement, openings, &shares, &member)?,
                    circuit: veil_circuits::groth16::field::to_bytes(&commitment).to_vec(),
                })
            },
            now_ms,
        )
    }
}
