//! The screening statement: its public and private inputs, the leaves and commitment they
//! hash, and the native checker.

use ark_bn254::Fr;
use ark_ff::{BigInteger as _, Field as _, One as _, PrimeField as _, Zero as _};

use super::tree::{Path, path_root};
use crate::error::Unsatisfied;
use crate::gadgets::entry_field;
use crate::poseidon::hash;
use crate::{CircuitError, domains};

/// Bytes of a registry value.
pub const VALUE_BYTES: usize = 31;
/// Bits of a registry value.
pub(super) const VALUE_BITS: usize = 8 * VALUE_BYTES;
/// Bits of the gaps `x − low − 1` and `high − x − 1`.
pub(super) const GAP_BITS: usize = VALUE_BITS + 1;
/// The number of public inputs.
pub const PUBLIC_INPUTS: usize = 4;

/// 2²⁴⁸: the upper sentinel of the blocklist, above every reference.
pub fn upper_sentinel() -> Fr {
    Fr::from(2u64).pow([VALUE_BITS as u64])
}

/// The KYC leaf of reference `x`.
pub fn kyc_leaf(x: Fr) -> Fr {
    hash(domains::kyc_leaf(), &[x, Fr::zero()])
}

/// The blocklist leaf of the open interval `(low, high)`.
pub fn gap_leaf(low: Fr, high: Fr) -> Fr {
    hash(domains::blocklist_gap(), &[low, high])
}

/// The commitment to a borrower's reference `x` under blinding `blinding`.
pub fn reference_commitment(x: Fr, blinding: Fr) -> Fr {
    hash(domains::borrower(), &[x, blinding])
}

/// Whether `x`, as an integer, is below `2^bits`.
pub(super) fn fits(x: Fr, bits: usize) -> bool {
    x.into_bigint().num_bits() as usize <= bits
}

/// The roots of a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roots {
    /// The KYC tree's root.
    pub kyc: Fr,
    /// The blocklist tree's root.
    pub blocklist: Fr,
}

/// The public statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningPublic {
    /// The `loan.originated` entry's id (a proof, even re-randomized, serves one entry only).
    pub entry: [u8; 16],
    /// The registry's roots at the loan's height.
    pub roots: Roots,
    /// The commitment to the borrower's reference.
    pub commitment: Fr,
}

impl ScreeningPublic {
    /// The public inputs in circuit order.
    pub fn inputs(&self) -> Vec<Fr> {
        vec![
            entry_field(&self.entry),
            self.roots.kyc,
            self.roots.blocklist,
            self.commitment,
        ]
    }
}

/// The private witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningWitness {
    /// The borrower's reference.
    pub reference: Fr,
    /// The commitment's blinding.
    pub blinding: Fr,
    /// The path from the reference's KYC leaf.
    pub kyc_path: Path,
    /// The blocklist interval's lower bound.
    pub low: Fr,
    /// The blocklist interval's upper bound.
    pub high: Fr,
    /// The path from the interval's leaf.
    pub gap_path: Path,
}

/// The native checker: whether `witness` satisfies the statement `public`.
pub fn check(public: &ScreeningPublic, witness: &ScreeningWitness) -> Result<(), CircuitError> {
    let fail = |why: Unsatisfied| Err(CircuitError::Unsatisfied(why));
    let x = witness.reference;
    if !fits(x, VALUE_BITS) {
        return fail(Unsatisfied::ReferenceRange);
    }
    if reference_commitment(x, witness.blinding) != public.commitment {
        return fail(Unsatisfied::Commitment);
    }
    if path_root(kyc_leaf(x), &witness.kyc_path) != Some(public.roots.kyc) {
        return fail(Unsatisfied::KycPath);
    }
    if !fits(x - witness.low - Fr::one(), GAP_BITS) || !fits(witness.high - x - Fr::one(), GAP_BITS)
    {
        return fail(Unsatisfied::Interval);
    }
    if path_root(gap_leaf(witness.low, witness.high), &witness.gap_path)
        != Some(public.roots.blocklist)
    {
        return fail(Unsatisfied::GapPath);
    }
    Ok(())
}
