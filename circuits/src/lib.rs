//! # veil-circuits
//!
//! Groth16 circuits over BN254 with Poseidon, for the statements Pedersen commitments and
//! Bulletproofs cannot express cheaply: the period settlement (share-weighted sums with exact
//! integer rounding over a Merkle tree of repayment commitments) and borrower screening
//! (membership and non-membership in Poseidon Merkle trees). Nodes verify these proofs before
//! ordering an entry; gateways make them.
//!
//! - [`settlement`] and [`screening`]: one folder per statement, each with its public and
//!   private inputs, its native checker, its R1CS circuit and the proof an entry carries.
//! - [`poseidon`] and [`merkle`]: hashes and 4-ary trees, each natively and as a gadget;
//!   [`domains`]: the Poseidon domain tag of every use.
//! - [`groth16`]: keys and proofs, validated on decode.
//! - [`snarkjs`]: export in snarkjs' Groth16 JSON, for verification with tools that are not ours.
//! - `ceremony`: the multi-party setup (powers of tau, then the circuit phase). Feature
//!   `prover`.
//! - [`dev`]: a deterministic, **insecure** setup for tests and the embedded demo only (feature
//!   `prover`), and [`dev::is_dev_key`], which recognises its keys (always built: nodes refuse
//!   them).
//! - [`derived_blinding`], [`screening_blinding`], [`random_blinding`]: Poseidon blindings;
//!   [`period_number`]: clearing periods as circuit inputs; [`CircuitError`]: every failure.
//!
//! The formats are specified in `docs/protocol/circuits.md`.
//!
//! ## Invariants
//!
//! - Each statement has a native checker and a circuit that accept and reject the same
//!   witnesses (property tests), and perturbing any single witness variable of a satisfied
//!   circuit leaves it unsatisfied.
//! - Every public input a proof is about, the entry id included, is a Groth16 public input, so
//!   a proof (or a re-randomization of it) verifies for one statement only.
//! - Untrusted bytes (proofs, keys, field elements, registry updates, ceremony data) are decoded
//!   with validation: on the curve, in the subgroup, canonical, exact length. Nothing reachable
//!   from input panics.
//! - Every Poseidon domain tag and hash label is a versioned label of
//!   `veil_crypto::labels::circuits`; the settlement's allocation rule is
//!   `veil_crypto::allocation`'s, the one the gateway allocates with.
//!
//! ## Features
//!
//! - `prover` (default): proving keys and proving, the dev setup and the ceremony. Nodes only
//!   verify and depend on this crate without it (the workspace dependency turns default
//!   features off); gateways and the end-to-end tests turn it on.
//!
//! Modules depend one way: `error`, `poseidon`, `gadgets` and `synthesis` on no other module;
//! `domains` on `poseidon`, `merkle` on both; `groth16` on `error` and `synthesis`; the
//! statements on all of these; `snarkjs`, `dev` and `ceremony` on `groth16` (and their tests on
//! the statements).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod blinding;
#[cfg(feature = "prover")]
pub mod ceremony;
pub mod dev;
pub mod domains;
mod error;
mod gadgets;
pub mod groth16;
pub mod merkle;
mod period;
pub mod poseidon;
pub mod screening;
pub mod settlement;
pub mod snarkjs;
#[cfg(feature = "prover")]
mod synthesis;
#[cfg(test)]
mod test_support;

pub use ark_bn254::Fr;
pub use ark_std::rand::rngs::OsRng;
pub use blinding::{derived_blinding, random_blinding, screening_blinding};
pub use error::{
    CeremonyError, ChangeConflict, CircuitError, EncodingError, Malformed, Power, Query,
    RegistryUpdateError, Secret, ShapeError, Unsatisfied,
};
pub use gadgets::entry_field;
pub use groth16::{BatchVerificationError, Proof, VerifyingKey};
#[cfg(feature = "prover")]
pub use groth16::{ProvingKey, ProvingPhases};
pub use period::period_number;

/// The protocol notes of `docs/protocol/` this crate implements, readable in rustdoc.
pub mod notes {
    /// The settlement and screening statements, their public inputs and encodings.
    #[doc = include_str!("../../docs/protocol/circuits.md")]
    pub mod circuits {}
}
