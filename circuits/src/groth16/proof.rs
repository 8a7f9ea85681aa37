//! A Groth16 proof and its 128-byte encoding.

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_std::rand::{CryptoRng, RngCore};

use super::VerifyingKey;
use super::encoding::{decode, to_compressed};
use crate::CircuitError;
use crate::error::EncodingError;

/// Bytes of a compressed proof (A and C in G1, B in G2).
pub const PROOF_LEN: usize = 128;

/// A Groth16 proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof(pub(crate) ark_groth16::Proof<Bn254>);

impl Proof {
    /// The 128-byte compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_compressed(&self.0)
    }

    /// Decodes untrusted bytes: exactly [`PROOF_LEN`] bytes of valid, subgroup-checked points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        if bytes.len() != PROOF_LEN {
            return Err(EncodingError::ProofLength {
                expected: PROOF_LEN,
            }
            .into());
        }
        Ok(Self(decode(bytes)?))
    }

    /// The same statement's proof under fresh randomness (anyone can do this; see the tests:
    /// it still verifies only for the statement it was made for).
    pub fn rerandomize(&self, vk: &VerifyingKey, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(Groth16::<Bn254>::rerandomize_proof(&vk.key, &self.0, rng))
    }
}
