//! A verifying key, prepared for fast verification: all a node needs to check a proof.

use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr as _, CurveGroup as _, VariableBaseMSM as _};
use ark_ff::Zero as _;
use ark_groth16::{Groth16, PreparedVerifyingKey};
use ark_snark::SNARK as _;
use ark_std::rand::{CryptoRng, Rng, RngCore};
use sha2::{Digest as _, Sha256};

use super::Proof;
use super::encoding::{decode, to_compressed};
use crate::CircuitError;

/// A verifying key, prepared for fast verification.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub(crate) key: ark_groth16::VerifyingKey<Bn254>,
    prepared: PreparedVerifyingKey<Bn254>,
    /// −β in G2, prepared: the batch check pairs (Σ rᵢ)·α with it.
    beta_g2_neg: <Bn254 as Pairing>::G2Prepared,
}

/// Which proof of a batch does not verify (the first, in the batch's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("proof {index} of the batch does not verify")]
pub struct BatchVerificationError {
    /// Its position in the batch.
    pub index: usize,
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
        let beta_g2_neg = (-key.beta_g2.into_group()).into_affine().into();
        Self {
            key,
            prepared,
            beta_g2_neg,
        }
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

    /// Verifies every `(inputs, proof)` of `batch` with one multi-pairing, the random linear
    /// combination check of Bellare, Garay and Rabin (Eurocrypt 1998, the small-exponents
    /// test) applied to Groth16's equation e(A, B) = e(α, β)·e(IC(x), γ)·e(C, δ): with
    /// nonzero 128-bit rᵢ from `rng`,
    ///
    /// ∏ e(rᵢ·Aᵢ, Bᵢ) · e(Σ rᵢ·IC(xᵢ), −γ) · e(Σ rᵢ·Cᵢ, −δ) · e((Σ rᵢ)·α, −β) = 1,
    ///
    /// which holds for a batch containing an invalid proof with probability at most 2⁻¹²⁸
    /// (proofs are in the prime-order subgroups: [`Proof::from_bytes`] checks it). Costs
    /// n + 3 Miller loops and one final exponentiation, against 3n and n one by one.
    ///
    /// Errors: [`BatchVerificationError`] naming the first proof that does not verify on its
    /// own (the batch is re-checked one by one when the combined check fails) or whose inputs
    /// are not as many as the key takes.
    pub fn verify_batch(
        &self,
        batch: &[(&[Fr], &Proof)],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(), BatchVerificationError> {
        if let Some(index) = batch
            .iter()
            .position(|(inputs, _)| inputs.len() != self.public_inputs())
        {
            return Err(BatchVerificationError { index });
        }
        if batch.is_empty() || self.combined_check(batch, rng) {
            return Ok(());
        }
        let index = batch
            .iter()
            .position(|(inputs, proof)| self.verify(inputs, proof).is_err())
            // The combined check failed for valid proofs only with negligible probability;
            // refusing the batch as a whole keeps a node from accepting what it could not check.
            .unwrap_or(0);
        Err(BatchVerificationError { index })
    }

    /// The combined check of [`VerifyingKey::verify_batch`] alone: whether every proof of
    /// `batch` verifies (up to the same 2⁻¹²⁸), without finding which one does not when some
    /// does not. For callers that then check each proof themselves (in parallel, say).
    /// An empty batch passes; any proof with as many inputs as the key does not takes fails it.
    pub fn verify_combined(
        &self,
        batch: &[(&[Fr], &Proof)],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> bool {
        batch
            .iter()
            .all(|(inputs, _)| inputs.len() == self.public_inputs())
            && (batch.is_empty() || self.combined_check(batch, rng))
    }

    /// The combined pairing check of [`VerifyingKey::verify_batch`]; inputs have the right
    /// length.
    fn combined_check(&self, batch: &[(&[Fr], &Proof)], rng: &mut impl Rng) -> bool {
        let weights: Vec<Fr> = batch
            .iter()
            .map(|_| Fr::from(rng.gen_range(1..=u128::MAX)))
            .collect();
        let weight_sum: Fr = weights.iter().sum();
        // Σ rᵢ·IC(xᵢ) = (Σ rᵢ)·IC₀ + Σⱼ (Σᵢ rᵢ·xᵢⱼ)·ICⱼ₊₁.
        let mut input_weights = vec![Fr::zero(); self.public_inputs()];
        for ((inputs, _), weight) in batch.iter().zip(&weights) {
            for (sum, input) in input_weights.iter_mut().zip(inputs.iter()) {
                *sum += *weight * input;
            }
        }
        let abc = &self.key.gamma_abc_g1;
        let inputs = abc[0] * weight_sum + G1Projective::msm_unchecked(&abc[1..], &input_weights);
        let cs: Vec<_> = batch.iter().map(|(_, proof)| proof.0.c).collect();
        let c = G1Projective::msm_unchecked(&cs, &weights);
        let alpha = self.key.alpha_g1 * weight_sum;

        let mut g1: Vec<<Bn254 as Pairing>::G1Prepared> = batch
            .iter()
            .zip(&weights)
            .map(|((_, proof), weight)| (proof.0.a * weight).into_affine().into())
            .collect();
        g1.extend([inputs, c, alpha].map(|p| p.into_affine().into()));
        let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> =
            batch.iter().map(|(_, proof)| proof.0.b.into()).collect();
        g2.extend([
            self.prepared.gamma_g2_neg_pc.clone(),
            self.prepared.delta_g2_neg_pc.clone(),
            self.beta_g2_neg.clone(),
        ]);
        let product: PairingOutput<Bn254> = Bn254::multi_pairing(g1, g2);
        product.is_zero()
    }
}
