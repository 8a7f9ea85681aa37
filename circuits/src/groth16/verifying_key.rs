//! A verifying key, prepared for fast verification: all a node needs to check a proof.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey};
use ark_snark::SNARK as _;
use sha2::{Digest as _, Sha256};

use super::Proof;
use super::encoding::{decode, to_compressed};
use crate::CircuitError;

/// A verifying key, prepared for fast verification.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub(crate) key: ark_groth16::VerifyingKey<Bn254>,
    prepared: PreparedVerifyingKey<Bn254>,
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    pub(crate) fn new(key: ark_groth16::VerifyingKey<Bn254>) -> Self {
        let prepared = ark_groth16::prepare_verifying_key(&key);
        Self { key, prepared }
    }

    /// Compressed encoding; its SHA-256 is what the genesis pins.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_compressed(&self.key)
    }

    /// Decodes a key, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        Ok(Self::new(decode(bytes)?))
    }

    /// SHA-256 of [`VerifyingKey::to_bytes`].
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// How many public inputs the key takes.
    pub fn public_inputs(&self) -> usize {
        self.key.gamma_abc_g1.len().saturating_sub(1)
    }

    /// Verifies `proof` for `inputs`.
    pub fn verify(&self, inputs: &[Fr], proof: &Proof) -> Result<(), CircuitError> {
        if inputs.len() != self.public_inputs() {
            return Err(CircuitError::Verification);
        }
        match Groth16::<Bn254>::verify_with_processed_vk(&self.prepared, inputs, &proof.0) {
            Ok(true) => Ok(()),
            _ => Err(CircuitError::Verification),
        }
    }
}
