//! The settlement statement: its public and private inputs, the amounts due they imply, and
//! the native checker.

use ark_bn254::Fr;
use veil_crypto::allocation::allocate;

use super::shape::Shape;
use super::tree::{leaf, pack_shares, root};
use crate::error::Unsatisfied;
use crate::gadgets::entry_field;
use crate::poseidon::hash;
use crate::{CircuitError, domains};

/// One repayment as the circuit sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repayment {
    /// The repayment entry's id.
    pub entry: [u8; 16],
    /// The amount repaid, in fen.
    pub amount: u64,
    /// Each bank slot's share in basis points (zero for banks outside the loan).
    pub shares: Vec<u64>,
    /// The commitment's blinding.
    pub blinding: Fr,
}

impl Repayment {
    /// The repayment's Poseidon commitment: its leaf in the period's tree.
    pub fn commitment(&self) -> Fr {
        leaf(
            entry_field(&self.entry),
            Fr::from(self.amount),
            pack_shares(&self.shares),
            self.blinding,
        )
    }
}

/// A commitment to a bank's amount due.
pub fn due_commitment(due: u128, blinding: Fr) -> Fr {
    hash(domains::due(), &[Fr::from(due), blinding])
}

/// Each bank slot's amount due over `repayments`.
pub fn dues(repayments: &[Repayment], banks: usize, originator: usize) -> Option<Vec<u128>> {
    let mut due = vec![0u128; banks];
    for repayment in repayments {
        if repayment.shares.len() != banks {
            return None;
        }
        for (total, allocation) in
            due.iter_mut()
                .zip(allocate(repayment.amount, &repayment.shares, originator)?)
        {
            *total += u128::from(allocation);
        }
    }
    Some(due)
}

/// The public statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementPublic {
    /// The `settlement.closed` entry's id (so that a proof, even re-randomized, is bound to
    /// one entry).
    pub entry: [u8; 16],
    /// The period as a number: `YYYYMM` or `YYYYMMDD` (see [`crate::period_number`]).
    pub period: u64,
    /// The Merkle root of the period's repayment commitments.
    pub root: Fr,
    /// How many repayments the period has.
    pub count: u64,
    /// The originator's bank slot.
    pub originator: u64,
    /// Per bank slot, the commitment to its amount due.
    pub due: Vec<Fr>,
}

impl SettlementPublic {
    /// The public inputs in circuit order.
    pub fn inputs(&self) -> Vec<Fr> {
        let mut inputs = vec![
            entry_field(&self.entry),
            Fr::from(self.period),
            self.root,
            Fr::from(self.count),
            Fr::from(self.originator),
        ];
        inputs.extend_from_slice(&self.due);
        inputs
    }
}

/// The private witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementWitness {
    /// The period's repayments, in the order of the settlement's references.
    pub repayments: Vec<Repayment>,
    /// Per bank slot, the blinding of its amount-due commitment.
    pub due_blindings: Vec<Fr>,
}

/// The native checker: whether `witness` satisfies the statement `public` for `shape`.
pub fn check(
    shape: Shape,
    public: &SettlementPublic,
    witness: &SettlementWitness,
) -> Result<(), CircuitError> {
    let fail = |why: Unsatisfied| Err(CircuitError::Unsatisfied(why));
    if public.due.len() != shape.banks || witness.due_blindings.len() != shape.banks {
        return fail(Unsatisfied::CommitmentPerBank);
    }
    if public.count != witness.repayments.len() as u64 {
        return fail(Unsatisfied::Count);
    }
    let originator = usize::try_from(public.originator).unwrap_or(usize::MAX);
    if originator >= shape.banks {
        return fail(Unsatisfied::Originator);
    }
    let commitments: Vec<Fr> = witness
        .repayments
        .iter()
        .map(Repayment::commitment)
        .collect();
    if root(&commitments, shape.capacity)? != public.root {
        return fail(Unsatisfied::Root);
    }
    let Some(due) = dues(&witness.repayments, shape.banks, originator) else {
        return fail(Unsatisfied::Shares);
    };
    for ((due, blinding), commitment) in due.iter().zip(&witness.due_blindings).zip(&public.due) {
        if due_commitment(*due, *blinding) != *commitment {
            return fail(Unsatisfied::Due);
        }
    }
    Ok(())
}
