//! Settlement statements for the tests.

use ark_relations::r1cs::{ConstraintSynthesizer as _, ConstraintSystem, OptimizationGoal};

use super::*;
use crate::Fr;

pub(crate) const SMALL: Shape = Shape {
    capacity: 4,
    banks: 3,
};

pub(crate) fn repayment(seed: u8, amount: u64, shares: [u64; 3]) -> Repayment {
    Repayment {
        entry: [seed; 16],
        amount,
        shares: shares.to_vec(),
        blinding: Fr::from(1000 + u64::from(seed)),
    }
}

/// A satisfied statement over `repayments`.
pub(crate) fn statement(
    shape: Shape,
    repayments: Vec<Repayment>,
    originator: usize,
) -> (SettlementPublic, SettlementWitness) {
    let commitments: Vec<Fr> = repayments.iter().map(Repayment::commitment).collect();
    let due = dues(&repayments, shape.banks, originator).expect("valid shares");
    let due_blindings: Vec<Fr> = (0..shape.banks).map(|b| Fr::from(77 + b as u64)).collect();
    let public = SettlementPublic {
        entry: [9; 16],
        period: 202611,
        root: root(&commitments, shape.capacity).unwrap(),
        count: repayments.len() as u64,
        originator: originator as u64,
        due: due
            .iter()
            .zip(&due_blindings)
            .map(|(d, r)| due_commitment(*d, *r))
            .collect(),
    };
    (
        public,
        SettlementWitness {
            repayments,
            due_blindings,
        },
    )
}

pub(crate) fn circuit_accepts(
    shape: Shape,
    public: &SettlementPublic,
    witness: &SettlementWitness,
) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    let circuit = SettlementCircuit {
        shape,
        public: Some(public.clone()),
        witness: Some(witness.clone()),
    };
    match circuit.generate_constraints(cs.clone()) {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}

pub(crate) fn three() -> Vec<Repayment> {
    vec![
        repayment(1, 12_345, [2_000, 5_000, 3_000]),
        repayment(2, 99_999, [3_333, 3_333, 3_334]),
        repayment(3, 7, [9_999, 1, 0]),
    ]
}
