//! Checks shared by the circuits' tests.

use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal,
};

use crate::Fr;

/// Synthesizes `circuit` (which must be satisfied) and returns its constraint system.
pub(crate) fn satisfied(circuit: impl ConstraintSynthesizer<Fr>) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    assert!(cs.is_satisfied().unwrap());
    cs
}

/// Asserts that changing any single witness variable of `cs` (at least `at_least` of
/// them), or any public input from index `first_input` on, leaves it unsatisfied.
pub(crate) fn every_variable_is_constrained(
    cs: &ConstraintSystemRef<Fr>,
    at_least: usize,
    first_input: usize,
) {
    let n = cs.num_witness_variables();
    assert!(n > at_least, "{n} witness variables");
    let one = Fr::from(1u64);
    for k in 0..n {
        let original = cs.borrow().unwrap().witness_assignment[k];
        cs.borrow_mut().unwrap().witness_assignment[k] = original + one;
        assert!(
            !cs.is_satisfied().unwrap(),
            "witness variable {k} of {n} is unconstrained"
        );
        cs.borrow_mut().unwrap().witness_assignment[k] = original;
    }
    for k in first_input..cs.num_instance_variables() {
        let original = cs.borrow().unwrap().instance_assignment[k];
        cs.borrow_mut().unwrap().instance_assignment[k] = original + one;
        assert!(!cs.is_satisfied().unwrap(), "public input {k}");
        cs.borrow_mut().unwrap().instance_assignment[k] = original;
    }
}
