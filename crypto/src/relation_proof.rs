//! Proofs that a public linear relation holds among committed values.
//!
//! Statement: commitments `C_1..C_k`, public integer coefficients `a_1..a_k` and a public
//! constant `c`, claiming `Σ a_i·v_i + c = 0` for the committed values. Homomorphically,
//! `P = Σ a_i·C_i + c·B` then commits to zero: `P = r·B_blinding` with `r = Σ a_i·r_i`. The
//! proof is a Schnorr proof of knowledge of `r` (a proof of zero):
//!
//! ```text
//! prover:   k ← random,  R = k·B_blinding,  e = H(transcript),  s = k + e·r
//! verifier: e = H(transcript),  accept iff s·B_blinding == R + e·P
//! ```
//!
//! The transcript absorbs [`labels::transcript::RELATION_PROOF`], entry id, purpose, the
//! number of terms, every (coefficient, commitment) pair and the constant, then `R`, before
//! the challenge. Examples: Σ funding − principal = 0; Σ allocations − amount = 0.
//!
//! Soundness needs the values small enough that the relation cannot wrap modulo ℓ ≈ 2^252:
//! with 64-bit range proofs on every committed value and coefficients below 2^63, any
//! relation of fewer than 2^120 terms holds over the integers iff it holds modulo ℓ.

use core::fmt;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use zeroize::Zeroizing;

use crate::encoding::{self, EncodingError};
use crate::labels;
use crate::pedersen::{self, Commitment, Opening, scalar_from_i128};
use crate::proof::ProofError;
use crate::transcript::TranscriptExt;

/// Most terms in one relation.
pub const MAX_TERMS: usize = 4096;
/// Encoded length of a relation proof: `R` (32 bytes) and `s` (32 bytes).
pub const PROOF_LEN: usize = 64;

/// The public statement `Σ coefficient·value + constant = 0`.
#[derive(Debug, Clone, Copy)]
pub struct Relation<'a> {
    /// The entry the proof belongs to.
    pub entry_id: &'a [u8],
    /// What the relation states inside the entry (e.g. `funding-sum`).
    pub purpose: &'a str,
    /// The (coefficient, commitment) terms.
    pub terms: &'a [(i64, Commitment)],
    /// The public constant.
    pub constant: i128,
}

impl Relation<'_> {
    fn check(&self) -> Result<(), ProofError> {
        if self.terms.is_empty() {
            return Err(ProofError::InvalidStatement("no terms"));
        }
        if self.terms.len() > MAX_TERMS {
            return Err(ProofError::InvalidStatement("too many terms"));
        }
        Ok(())
    }

    fn transcript(&self) -> Transcript {
        let mut transcript = Transcript::for_statement(
            labels::transcript::RELATION_PROOF,
            self.entry_id,
            self.purpose,
        );
        transcript.append_count(labels::transcript::COUNT, self.terms.len());
        for (coefficient, commitment) in self.terms {
            transcript.append_integer(labels::transcript::COEFFICIENT, i128::from(*coefficient));
            transcript.append_commitment(commitment);
        }
        transcript.append_integer(labels::transcript::CONSTANT, self.constant);
        transcript
    }

    /// `P = Σ a_i·C_i + c·B`, which commits to zero iff the relation holds.
    fn combined_point(&self) -> RistrettoPoint {
        let scalars = self
            .terms
            .iter()
            .map(|(coefficient, _)| scalar_from_i128(i128::from(*coefficient)))
            .chain(core::iter::once(scalar_from_i128(self.constant)));
        let points = self
            .terms
            .iter()
            .map(|(_, commitment)| *commitment.point())
            .chain(core::iter::once(pedersen::generators().B));
        RistrettoPoint::vartime_multiscalar_mul(scalars, points)
    }
}

/// A Schnorr proof that a [`Relation`] holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RelationProof {
    nonce_commitment: CompressedRistretto,
    response: Scalar,
}

impl RelationProof {
    /// Proves `relation`, given the openings of its commitments in the same order. Refuses
    /// (with [`ProofError::UnsatisfiedWitness`]) if the openings do not open the commitments or
    /// the values do not satisfy the relation.
    pub fn prove(relation: &Relation<'_>, openings: &[&Opening]) -> Result<Self, ProofError> {
        relation.check()?;
        if openings.len() != relation.terms.len() {
            return Err(ProofError::InvalidStatement("one opening per term"));
        }
        let mut value: i128 = relation.constant;
        let mut blinding = Zeroizing::new(Scalar::ZERO);
        for ((coefficient, commitment), opening) in relation.terms.iter().zip(openings) {
            if !commitment.is_opened_by(opening) {
                return Err(ProofError::UnsatisfiedWitness);
            }
            let term = i128::from(*coefficient)
                .checked_mul(i128::from(opening.value()))
                .ok_or(ProofError::UnsatisfiedWitness)?;
            value = value
                .checked_add(term)
                .ok_or(ProofError::UnsatisfiedWitness)?;
            *blinding += scalar_from_i128(i128::from(*coefficient)) * opening.blinding();
        }
        if value != 0 {
            return Err(ProofError::UnsatisfiedWitness);
        }

        let h = pedersen::generators().B_blinding;
        let mut transcript = relation.transcript();
        // The nonce is bound to the secret and the statement, and randomized: it never repeats
        // for two different challenges even if the system RNG were weak.
        let nonce = Zeroizing::new({
            let mut rng = transcript
                .build_rng()
                .rekey_with_witness_bytes(b"blinding", blinding.as_bytes())
                .finalize(&mut rand::thread_rng());
            Scalar::random(&mut rng)
        });
        let nonce_commitment = (*nonce * h).compress();
        transcript.append_message(
            labels::transcript::NONCE_COMMITMENT,
            nonce_commitment.as_bytes(),
        );
        let challenge = transcript.challenge(labels::transcript::CHALLENGE);
        let response = *nonce + challenge * *blinding;
        Ok(Self {
            nonce_commitment,
            response,
        })
    }

    /// Verifies the proof for `relation`.
    pub fn verify(&self, relation: &Relation<'_>) -> Result<(), ProofError> {
        relation.check()?;
        let nonce_point = self
            .nonce_commitment
            .decompress()
            .ok_or(ProofError::Verification)?;
        let mut transcript = relation.transcript();
        transcript.append_message(
            labels::transcript::NONCE_COMMITMENT,
            self.nonce_commitment.as_bytes(),
        );
        let challenge = transcript.challenge(labels::transcript::CHALLENGE);
        let combined = relation.combined_point();
        // s·H − e·P − R must be the identity.
        let check = RistrettoPoint::vartime_multiscalar_mul(
            [self.response, -challenge, -Scalar::ONE],
            [pedersen::generators().B_blinding, combined, nonce_point],
        );
        if check.is_identity() {
            Ok(())
        } else {
            Err(ProofError::Verification)
        }
    }

    /// `R || s`, 64 bytes.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..32].copy_from_slice(self.nonce_commitment.as_bytes());
        out[32..].copy_from_slice(self.response.as_bytes());
        out
    }

    /// Decodes `R || s`, refusing a non-canonical `s` or an `R` that is not a valid point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let bytes: [u8; PROOF_LEN] = encoding::to_array(bytes)?;
        let nonce_commitment = CompressedRistretto(encoding::to_array(&bytes[..32])?);
        if nonce_commitment.decompress().is_none() {
            return Err(EncodingError::InvalidPoint.into());
        }
        let response = pedersen::scalar_from_bytes(&encoding::to_array(&bytes[32..])?)?;
        Ok(Self {
            nonce_commitment,
            response,
        })
    }
}

impl fmt::Debug for RelationProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelationProof({})", encoding::to_hex(&self.to_bytes()))
    }
}
