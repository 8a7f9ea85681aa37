//! A deterministic setup for tests and the embedded demo. **Insecure by design**: anyone who
//! knows the seed knows the trapdoor and can forge proofs. The genesis records which setup its
//! keys come from, and nodes refuse `dev` keys unless the consortium runs in dev mode (the
//! embedded `veil up` / `veil demo`, and tests). Real consortia use [`crate::ceremony`].

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_relations::r1cs::ConstraintSynthesizer;
use ark_std::rand::SeedableRng as _;
use ark_std::rand::rngs::StdRng;
use sha2::{Digest as _, Sha256};

use crate::groth16::ProvingKey;
use crate::{CircuitError, Fr};

/// Keys for `circuit` from `seed`: the same seed and circuit always give the same keys.
pub fn setup<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    seed: &str,
) -> Result<ProvingKey, CircuitError> {
    let mut hasher = Sha256::new();
    hasher.update(b"veil.circuits.dev-setup.v1 INSECURE ");
    hasher.update(seed.as_bytes());
    let mut rng = StdRng::from_seed(hasher.finalize().into());
    crate::quietly(|| {
        Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit, &mut rng)
            .map(ProvingKey)
            .map_err(|e| CircuitError::Shape(e.to_string()))
    })
}
