//! A proving key and proving (feature `prover`): held by the gateways that write the
//! statement's entries, never by a node.

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal};
use ark_serialize::{CanonicalDeserialize as _, Compress, Validate};
use ark_snark::SNARK as _;
use ark_std::rand::{CryptoRng, RngCore};

use super::encoding::{decode, to_compressed};
use super::{Proof, VerifyingKey};
use crate::CircuitError;
use crate::error::{EncodingError, Malformed, Unsatisfied};
use crate::synthesis::quietly;

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
        to_compressed(&self.0)
    }

    /// Decodes a key file, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        Ok(Self(decode(bytes)?))
    }

    /// Decodes a key this process wrote or verified before (a gateway's own key file),
    /// without the per-point subgroup checks that take minutes on the largest keys. Safe for
    /// soundness: a proving key cannot make a false statement verify, and the caller compares
    /// its verifying key with the genesis's; a damaged file only yields proofs the nodes refuse.
    pub fn from_trusted_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let mut reader = bytes;
        let key = ark_groth16::ProvingKey::<Bn254>::deserialize_with_mode(
            &mut reader,
            Compress::Yes,
            Validate::No,
        )
        .map_err(|e| EncodingError::Malformed(Malformed::from(e)))?;
        if !reader.is_empty() {
            return Err(EncodingError::TrailingBytes.into());
        }
        Ok(Self(key))
    }

    /// Proves `circuit`'s statement; a witness that does not satisfy it is an error (the
    /// circuit is synthesized and checked first, so no invalid proof is ever made).
    pub fn prove<C: ConstraintSynthesizer<Fr> + Clone>(
        &self,
        circuit: C,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Proof, CircuitError> {
        quietly(|| -> Result<Proof, CircuitError> {
            let cs = ConstraintSystem::new_ref();
            cs.set_optimization_goal(OptimizationGoal::Constraints);
            circuit
                .clone()
                .generate_constraints(cs.clone())
                .map_err(Unsatisfied::Synthesis)?;
            if !cs.is_satisfied().unwrap_or(false) {
                let at = cs.which_is_unsatisfied().ok().flatten().unwrap_or_default();
                return Err(Unsatisfied::Constraint { at }.into());
            }
            Groth16::<Bn254>::prove(&self.0, circuit, rng)
                .map(Proof)
                .map_err(|e| Unsatisfied::Synthesis(e).into())
        })
    }
}
