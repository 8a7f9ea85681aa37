//! The borrower screening statement: a loan's borrower is in the consortium's KYC registry and
//! not on the shared blocklist, without revealing which borrower it is.
//!
//! **Registry values.** A borrower is known to the registry by its *reference*: the first 31
//! bytes (big-endian) of its `borrower_ref`, the keyed hash of its national id, read as an
//! integer below 2²⁴⁸ ([`Reference`]).
//!
//! **Trees.** Both lists are 4-ary Poseidon Merkle trees of depth [`DEPTH`] ([`CAPACITY`]
//! leaves, padded with zero leaves), updated change by change ([`Registry`]):
//! - KYC: one leaf `Poseidon₂[kyc-leaf](x, 0)` per member `x`. Membership is a path to it.
//! - Blocklist, an *indexed Merkle tree*: with the members sorted `s₁ < … < sₙ` and the
//!   sentinels `s₀ = 0`, `sₙ₊₁ = 2²⁴⁸`, the leaves are `Poseidon₂[blocklist-gap](sᵢ, sᵢ₊₁)`
//!   for `i = 0…n` (each member's leaf holds it and its successor): the open intervals
//!   between neighbours. `x` is not on the list exactly when some leaf's interval strictly
//!   contains it, so non-membership is one path to a leaf `(low, high)` with `low < x < high`.
//!
//! The trees are only as honest as their leaves: nodes replay every `registry.updated` change
//! and recompute both roots before ordering it, so every root on the ledger is well formed.
//!
//! **Public** ([`ScreeningPublic`]): the `loan.originated` entry's id, both roots, and the
//! commitment `Poseidon₂[borrower](x, ρ)` to the borrower's reference.
//!
//! **Private** ([`ScreeningWitness`]): `x`, `ρ`, the KYC path, the enclosing blocklist leaf
//! `(low, high)` and its path.
//!
//! **Relation** ([`check`] natively, [`ScreeningCircuit`] in R1CS): `x < 2²⁴⁸`; the commitment
//! opens to `x`; the KYC path leads from `x`'s leaf to the KYC root; `x − low − 1` and
//! `high − x − 1` are below 2²⁴⁹ (for values below 2²⁴⁹, exactly `low < x < high`); and the
//! blocklist path leads from `(low, high)`'s leaf to the blocklist root.
//!
//! One file per role:
//!
//! - `tree.rs`: the sparse 4-ary Poseidon Merkle tree both lists live in, and its paths.
//! - `statement.rs`: the public and private inputs ([`ScreeningPublic`],
//!   [`ScreeningWitness`]), the leaves and commitment they hash, and the native checker
//!   [`check`].
//! - `registry.rs`: the consortium's [`Registry`], changed by [`Change`]s, which makes the
//!   witnesses.
//! - `stored.rs`: the registry in an ordered key-value store, changed through overlays
//!   (how a node persists it and checks updates without copying it).
//! - `update.rs`: what a `registry.updated` entry carries ([`RegistryUpdate`]).
//! - `circuit.rs`: the relation in R1CS ([`ScreeningCircuit`]).
//! - `proof.rs`: what a `loan.originated` entry carries, and its verification
//!   ([`ScreeningProof`]).

mod circuit;
#[cfg(test)]
pub(crate) mod fixtures;
mod proof;
mod registry;
mod statement;
pub mod stored;
mod tree;
mod update;

pub use circuit::ScreeningCircuit;
pub use proof::ScreeningProof;
pub use registry::{Change, Reference, Registry};
pub use statement::{
    PUBLIC_INPUTS, Roots, ScreeningPublic, ScreeningWitness, VALUE_BYTES, check, gap_leaf,
    kyc_leaf, reference_commitment, upper_sentinel,
};
pub use tree::{CAPACITY, DEPTH, Path, path_root};
pub use update::{MAX_CHANGES, RegistryUpdate};
