//! Groth16 over BN254: keys, proofs, proving and verification, with untrusted bytes always
//! deserialized with validation (on the curve, in the prime-order subgroup, canonical, exact
//! length).

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey};
use ark_relations::r1cs::ConstraintSynthesizer;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK as _;
use ark_std::rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha256};

use crate::CircuitError;

/// Bytes of a compressed proof (A and C in G1, B in G2).
pub const PROOF_LEN: usize = 128;

/// A Groth16 proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof(pub(crate) ark_groth16::Proof<Bn254>);

impl Proof {
    /// The 128-byte compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_LEN);
        self.0
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes untrusted bytes: exactly [`PROOF_LEN`] bytes of valid, subgroup-checked points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        if bytes.len() != PROOF_LEN {
            return Err(CircuitError::Encoding("a proof is 128 bytes".into()));
        }
        decode(bytes).map(Self)
    }

    /// The same statement's proof under fresh randomness (anyone can do this; see the tests:
    /// it still verifies only for the statement it was made for).
    pub fn rerandomize(&self, vk: &VerifyingKey, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(Groth16::<Bn254>::rerandomize_proof(&vk.key, &self.0, rng))
    }
}

/// A proving key (held by the gateways that write the statement's entries).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvingKey(pub(crate) ark_groth16::ProvingKey<Bn254>);

impl ProvingKey {
    /// Its verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::new(self.0.vk.clone())
    }

    /// Compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.0
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes a key file, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        decode(bytes).map(Self)
    }

    /// Proves `circuit`'s statement.
    pub fn prove<C: ConstraintSynthesizer<Fr>>(
        &self,
        circuit: C,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Proof, CircuitError> {
        Groth16::<Bn254>::prove(&self.0, circuit, rng)
            .map(Proof)
            .map_err(|e| CircuitError::Unsatisfied(e.to_string()))
    }
}

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
        let mut out = Vec::new();
        self.key
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes a key, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        decode(bytes).map(Self::new)
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

fn decode<T: CanonicalDeserialize>(bytes: &[u8]) -> Result<T, CircuitError> {
    let mut reader = bytes;
    let value = T::deserialize_with_mode(&mut reader, Compress::Yes, Validate::Yes)
        .map_err(|e| CircuitError::Encoding(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CircuitError::Encoding("trailing bytes".into()));
    }
    Ok(value)
}

/// Field elements as 32-byte little-endian canonical encodings (what entries carry).
pub mod field {
    use super::*;
    use ark_ff::{BigInteger as _, PrimeField as _};

    /// The canonical encoding.
    pub fn to_bytes(x: &Fr) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&x.into_bigint().to_bytes_le());
        out
    }

    /// Decodes a canonical encoding; values at or above the modulus are refused.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Fr, CircuitError> {
        let x = Fr::from_le_bytes_mod_order(bytes);
        if to_bytes(&x) != *bytes {
            return Err(CircuitError::Encoding("field element not canonical".into()));
        }
        Ok(x)
    }

    /// Decimal digits, as snarkjs writes field elements.
    pub fn to_decimal(x: &Fr) -> String {
        x.into_bigint().to_string()
    }
}
