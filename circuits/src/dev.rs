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
use veil_crypto::labels::circuits::DEV_SETUP;

use crate::error::ShapeError;
use crate::groth16::ProvingKey;
use crate::synthesis::quietly;
use crate::{CircuitError, Fr};

/// Keys for `circuit` from `seed`: the same seed and circuit always give the same keys.
pub fn setup<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    seed: &str,
) -> Result<ProvingKey, CircuitError> {
    let mut hasher = Sha256::new();
    // The RNG seed is SHA-256(label || " INSECURE " || seed): the warning is part of every dev
    // seed's preimage.
    hasher.update(DEV_SETUP);
    hasher.update(b" INSECURE ");
    hasher.update(seed.as_bytes());
    let mut rng = StdRng::from_seed(hasher.finalize().into());
    quietly(|| {
        Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit, &mut rng)
            .map(ProvingKey)
            .map_err(|e| ShapeError::Synthesis(e).into())
    })
}
