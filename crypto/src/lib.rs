//! # veil-crypto
//!
//! The cryptography every Veil ledger entry uses, with no dependency on the rest of Veil:
//!
//! - [`envelope`]: per-field envelope encryption. One fresh data key per reader group,
//!   wrapped to each reader with RFC 9180 HPKE; one XChaCha20-Poly1305 key per field derived
//!   from it; every ciphertext bound to (consortium, entry, field path, schema, policy).
//! - [`pedersen`]: Pedersen commitments to 64-bit amounts on Ristretto.
//! - [`range_proof`]: 64-bit Bulletproofs range proofs, single and aggregated.
//! - [`relation_proof`]: Schnorr proofs that a public linear relation holds among committed
//!   values (funding sums to principal, allocations sum to a repayment).
//! - [`view_key`]: regulators' master and scoped view keys.
//! - [`auditor`]: twisted-ElGamal decrypt handles for the regulator's auditor key, with a
//!   validity proof every node checks, so the regulator can recover every committed amount.
//! - [`allocation`]: the repayment allocation rule (the floor of each share to the partners,
//!   the remainder to the originator), the one definition the gateway allocates with and the
//!   settlement circuit proves.
//! - [`oprf`]: the threshold verifiable OPRF (RFC 9497, ristretto255-SHA512) borrower
//!   references are computed with, under a key shared among members by [`dkg`].
//! - [`sealed_box`]: one message sealed to one recipient (RFC 9180 single-shot HPKE, the
//!   envelope's suite) under a label and the caller's context: DKG round-2 packages.
//! - [`signature`]: domain-separated Ed25519 with strict verification.
//! - [`encryption_key`], [`encoding`], [`secret`]: key types, strict encodings, secrets.
//!
//! ## Invariants
//!
//! - Every domain label lives in [`labels`] and is versioned; every proof transcript absorbs
//!   its label and the whole public statement before any challenge.
//! - Secrets (signing keys, data keys, openings, view keys) redact `Debug`, are wiped on drop
//!   and compare in constant time.
//! - Decoders of untrusted bytes check lengths, canonical scalars and points, and return
//!   typed errors; nothing reachable from input panics.
//!
//! The byte formats are specified in `docs/protocol/envelope.md` and
//! `docs/protocol/view-keys.md`, and frozen by the vectors under `crypto/tests/vectors/`.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

pub mod allocation;
pub mod auditor;
pub mod dkg;
pub mod encoding;
pub mod encryption_key;
pub mod envelope;
#[doc(hidden)]
pub mod fuzzing;
pub mod keyed_hash;
pub mod labels;
pub mod oprf;
pub mod pedersen;
mod point;
pub mod proof;
pub mod range_proof;
pub mod relation_proof;
pub mod sealed_box;
pub mod secret;
pub mod signature;
mod transcript;
pub mod view_key;

pub use encoding::EncodingError;
pub use encryption_key::{EncryptionPublicKey, EncryptionSecretKey};
pub use envelope::{EnvelopeError, FieldContext, SealedGroup};
pub use pedersen::{Commitment, Opening};
pub use proof::ProofError;
pub use range_proof::RangeProof;
pub use relation_proof::{Relation, RelationProof};
pub use secret::Secret;
pub use signature::{Signature, SignatureError, SigningKey, VerifyingKey};
pub use view_key::{MasterViewKey, ScopedViewKey, ViewKeyError, ViewKeyring, ViewScope};

/// Curve types callers need to name (re-exported so they use the same versions).
pub use curve25519_dalek::scalar::Scalar;

/// The protocol notes of `docs/protocol/` this crate implements, readable in rustdoc.
pub mod notes {
    /// Envelope encryption: HPKE-wrapped field keys, XChaCha20-Poly1305 values, the AAD.
    #[doc = include_str!("../../docs/protocol/envelope.md")]
    pub mod envelope {}
    /// View keys: the regulator's master key and the scoped keys derived from it.
    #[doc = include_str!("../../docs/protocol/view-keys.md")]
    pub mod view_keys {}
}
