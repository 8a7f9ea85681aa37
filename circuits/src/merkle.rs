//! 4-ary Poseidon Merkle trees of fixed depth, natively and as a gadget.
//!
//! A tree of depth `d` has `4^d` leaves; an inner node is Poseidon (width 5) of its four
//! children under the [`crate::domains::merkle_node`] tag. Callers pad their leaves to
//! `4^d` themselves (what a padding leaf is depends on the statement), so the shape of a tree
//! never depends on how many leaves are real.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::SynthesisError;

use crate::domains;
use crate::poseidon::{hash, hash_var};

/// Fan-out of every inner node.
pub const ARITY: usize = 4;

/// The number of leaves of a tree of `depth`.
pub const fn capacity(depth: u32) -> usize {
    ARITY.pow(depth)
}

/// The root over `leaves`, whose number must be a power of 4 (at least 1).
pub fn root(leaves: &[Fr]) -> Fr {
    assert!(
        is_power_of_four(leaves.len()),
        "a Merkle tree needs 4^d leaves, got {}",
        leaves.len()
    );
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(ARITY)
            .map(|children| hash(domains::merkle_node(), children))
            .collect();
    }
    level[0]
}

/// The gadget twin of [`root`]: 297 constraints per inner node.
pub fn root_var(leaves: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    if !is_power_of_four(leaves.len()) {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(ARITY)
            .map(|children| hash_var(domains::merkle_node(), children))
            .collect::<Result<_, _>>()?;
    }
    Ok(level.swap_remove(0))
}

/// Whether `n` is `4^d` for some `d ≥ 0`.
pub const fn is_power_of_four(n: usize) -> bool {
    n.is_power_of_two() && n.trailing_zeros().is_multiple_of(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::R1CSVar as _;
    use ark_r1cs_std::alloc::AllocVar as _;
    use ark_relations::r1cs::ConstraintSystem;

    fn leaves(n: u64) -> Vec<Fr> {
        (0..n).map(|i| Fr::from(i * 7 + 1)).collect()
    }

    #[test]
    fn root_of_one_level_is_one_hash() {
        let l = leaves(4);
        assert_eq!(root(&l), hash(domains::merkle_node(), &l));
        assert_eq!(root(&l[..1]), l[0]);
    }

    #[test]
    fn every_leaf_changes_the_root() {
        let l = leaves(16);
        let r = root(&l);
        for i in 0..l.len() {
            let mut changed = l.clone();
            changed[i] += Fr::from(1u64);
            assert_ne!(root(&changed), r, "leaf {i}");
        }
    }

    #[test]
    fn gadget_matches_native() {
        let l = leaves(16);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars: Vec<FpVar<Fr>> = l
            .iter()
            .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
            .collect();
        let out = root_var(&vars).unwrap();
        assert_eq!(out.value().unwrap(), root(&l));
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 5 * 297);
    }

    #[test]
    fn shapes() {
        assert!(is_power_of_four(1) && is_power_of_four(16) && is_power_of_four(1024));
        assert!(!is_power_of_four(0) && !is_power_of_four(8) && !is_power_of_four(32));
        assert!(root_var(&[]).is_err());
    }
}
