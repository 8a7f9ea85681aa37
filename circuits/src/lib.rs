//! # veil-circuits
//!
//! Groth16 circuits over BN254 with Poseidon, for the statements Pedersen commitments and
//! Bulletproofs cannot express cheaply: the period settlement (share-weighted sums with exact
//! integer rounding over a Merkle tree of repayment commitments) and borrower screening
//! (membership and non-membership in Poseidon Merkle trees).
//!
//! - [`poseidon`] and [`merkle`]: hashes and 4-ary trees, each natively and as a gadget.
//! - [`settlement`]: the statement, its native checker and its circuit.
//! - [`screening`]: borrower screening (KYC membership, blocklist non-membership) and the
//!   registry trees it proves against.
//! - [`groth16`]: keys and proofs, validated on decode.
//! - [`ceremony`]: the multi-party setup (powers of tau, then the circuit phase).
//! - [`snarkjs`]: export in snarkjs' Groth16 JSON, for verification with tools that are not ours.
//! - [`dev`]: a deterministic, **insecure** setup for tests and the embedded demo only.

pub mod ceremony;
pub mod dev;
mod gadgets;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod screening;
pub mod settlement;
pub mod snarkjs;

pub use ark_bn254::Fr;
pub use ark_std::rand::rngs::OsRng;
pub use gadgets::entry_field;
pub use groth16::{Proof, ProvingKey, VerifyingKey};

/// Checks shared by the circuits' tests.
#[cfg(test)]
pub(crate) mod test_support {
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
}

/// Why a circuit operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// Malformed key, proof or field bytes.
    #[error("malformed circuit data: {0}")]
    Encoding(String),
    /// A shape no circuit is made for.
    #[error("unsupported circuit shape: {0}")]
    Shape(String),
    /// The witness does not satisfy the statement.
    #[error("statement not satisfied: {0}")]
    Unsatisfied(String),
    /// The proof does not verify for these public inputs.
    #[error("proof does not verify")]
    Verification,
    /// A ceremony contribution or transcript is invalid.
    #[error("invalid ceremony data: {0}")]
    Ceremony(String),
}

/// The domain tags of every Poseidon use, in one place. Changing one changes every
/// commitment and root made with it.
pub mod domains {
    use std::sync::OnceLock;

    use crate::poseidon::Domain;

    macro_rules! domain {
        ($name:ident, $label:literal) => {
            #[doc = concat!("`", $label, "`")]
            pub fn $name() -> Domain {
                static TAG: OnceLock<Domain> = OnceLock::new();
                *TAG.get_or_init(|| Domain::new($label))
            }
        };
    }

    domain!(repayment, "veil.circuits.repayment.v1");
    domain!(merkle_node, "veil.circuits.merkle-node.v1");
    domain!(due, "veil.circuits.due.v1");
    domain!(borrower, "veil.circuits.borrower.v1");
    domain!(kyc_leaf, "veil.circuits.kyc-leaf.v1");
    domain!(blocklist_gap, "veil.circuits.blocklist-gap.v1");
}

/// A clearing period as the number circuits take: `YYYY-MM` → `YYYYMM`, `YYYY-MM-DD` →
/// `YYYYMMDD`. `None` for anything else.
pub fn period_number(period: &str) -> Option<u64> {
    let valid = match period.len() {
        7 => period.as_bytes()[4] == b'-',
        10 => period.as_bytes()[4] == b'-' && period.as_bytes()[7] == b'-',
        _ => false,
    };
    if !valid {
        return None;
    }
    let digits: String = period.chars().filter(|c| *c != '-').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A Poseidon blinding derived from a secret (a Pedersen blinding's bytes): whoever can open
/// the Pedersen commitment can recompute the Poseidon one, and nobody else can.
pub fn derived_blinding(secret: &[u8; 32]) -> Fr {
    use ark_ff::PrimeField as _;
    use sha2::{Digest as _, Sha512};
    let mut hasher = Sha512::new();
    hasher.update(b"veil.circuits.blinding.v1");
    hasher.update(secret);
    Fr::from_le_bytes_mod_order(&hasher.finalize())
}

/// Runs `work` (constraint synthesis) with tracing switched off on this thread: arkworks'
/// gadgets open a span per call, which under a verbose log filter would turn one proof into
/// millions of log lines.
pub(crate) fn quietly<T>(work: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), work)
}

/// The blinding of a loan's borrower-reference commitment, derived from a secret its readers
/// hold (the principal's Pedersen blinding): whoever reads both can check the commitment.
pub fn screening_blinding(secret: &[u8; 32]) -> Fr {
    use ark_ff::PrimeField as _;
    use sha2::{Digest as _, Sha512};
    let mut hasher = Sha512::new();
    hasher.update(b"veil.circuits.screening-blinding.v1");
    hasher.update(secret);
    Fr::from_le_bytes_mod_order(&hasher.finalize())
}

/// A uniformly random field element (a fresh blinding).
pub fn random_blinding() -> Fr {
    ark_std::UniformRand::rand(&mut OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(period_number("2026-11"), Some(202611));
        assert_eq!(period_number("2026-11-26"), Some(20261126));
        for bad in ["2026/11", "202611", "2026-1", "2026-11-2", "abcd-ef", ""] {
            assert_eq!(period_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn derived_blindings_differ() {
        assert_ne!(derived_blinding(&[1; 32]), derived_blinding(&[2; 32]));
    }
}
