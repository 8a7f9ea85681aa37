//! A period's repayment tree: each repayment's Poseidon commitment is a leaf, padded with the
//! all-zero repayment's to the circuit's capacity.

use ark_bn254::Fr;
use ark_ff::{One as _, Zero as _};

use super::shape::SHARE_BITS;
use crate::error::ShapeError;
use crate::poseidon::hash;
use crate::{CircuitError, domains, merkle};

/// The leaf of a repayment: `Poseidon₄[repayment](entry, amount, packed shares, blinding)`.
pub(super) fn leaf(entry: Fr, amount: Fr, shares: Fr, blinding: Fr) -> Fr {
    hash(domains::repayment(), &[entry, amount, shares, blinding])
}

/// The padding leaf: the commitment of an all-zero repayment.
pub fn padding_leaf() -> Fr {
    leaf(Fr::zero(), Fr::zero(), Fr::zero(), Fr::zero())
}

/// Shares packed 14 bits each, slot 0 lowest.
pub fn pack_shares(shares: &[u64]) -> Fr {
    let mut packed = Fr::zero();
    let mut power = Fr::one();
    let step = Fr::from(1u64 << SHARE_BITS);
    for share in shares {
        packed += power * Fr::from(*share);
        power *= step;
    }
    packed
}

/// The Merkle root over a period's repayment commitments, padded to `capacity`.
pub fn root(commitments: &[Fr], capacity: usize) -> Result<Fr, CircuitError> {
    if commitments.len() > capacity || !merkle::is_power_of_four(capacity) {
        return Err(ShapeError::Overfull {
            repayments: commitments.len(),
            capacity,
        }
        .into());
    }
    let mut leaves = commitments.to_vec();
    leaves.resize(capacity, padding_leaf());
    Ok(merkle::root(&leaves))
}
