//! Groth16 over BN254: keys, proofs, proving and verification, with untrusted bytes always
//! deserialized with validation (on the curve, in the prime-order subgroup, canonical, exact
//! length).
//!
//! - [`Proof`] and [`VerifyingKey`]: what every node needs to check a proof.
//! - `ProvingKey` (feature `prover`): what a gateway needs to make one.
//! - [`field`]: field elements as the 32 bytes entries carry.

mod encoding;
pub mod field;
mod proof;
#[cfg(feature = "prover")]
mod proving_key;
mod verifying_key;

#[cfg(feature = "prover")]
pub(crate) use encoding::{from_validated, to_compressed};
pub use proof::{PROOF_LEN, Proof};
#[cfg(feature = "prover")]
pub use proving_key::{ProvingKey, ProvingPhases};
pub use verifying_key::{BatchVerificationError, VerifyingKey};

#[cfg(all(test, feature = "prover"))]
pub(crate) mod tests;
