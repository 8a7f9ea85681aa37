//! Registries and screening statements for the tests.

use ark_relations::r1cs::{ConstraintSynthesizer as _, ConstraintSystem, OptimizationGoal};

use super::*;
use crate::Fr;

pub(crate) fn reference(seed: u8) -> Reference {
    let mut value = [0u8; VALUE_BYTES];
    value[0] = seed;
    value[VALUE_BYTES - 1] = seed.wrapping_mul(7);
    Reference(value)
}

pub(crate) fn registry(kyc: &[u8], blocklist: &[u8]) -> Registry {
    let mut registry = Registry::default();
    let mut changes: Vec<Change> = kyc.iter().map(|s| Change::AddKyc(reference(*s))).collect();
    changes.extend(
        blocklist
            .iter()
            .map(|s| Change::AddBlocklist(reference(*s))),
    );
    registry.apply(&changes).unwrap();
    registry
}

/// A satisfied statement for borrower `seed` (in KYC, not blocklisted).
pub(crate) fn statement(seed: u8) -> (ScreeningPublic, ScreeningWitness) {
    let trees = registry(&[3, 10, seed, 200], &[1, 50, 100, 250]);
    let witness = trees.witness(reference(seed), Fr::from(4242u64)).unwrap();
    let public = ScreeningPublic {
        entry: [5; 16],
        roots: trees.roots(),
        commitment: reference_commitment(witness.reference, witness.blinding),
    };
    (public, witness)
}

pub(crate) fn circuit_accepts(public: &ScreeningPublic, witness: &ScreeningWitness) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    let circuit = ScreeningCircuit {
        public: Some(public.clone()),
        witness: Some(witness.clone()),
    };
    match circuit.generate_constraints(cs.clone()) {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}
