//! A deterministic setup for tests and the embedded demo. **Insecure by design**: anyone who
//! knows the seed knows the trapdoor and can forge proofs. The genesis records which setup its
//! keys come from, and nodes refuse `dev` keys unless the consortium runs in dev mode (the
//! embedded `veil up` / `veil demo`, and tests). Real consortia use `crate::ceremony`.
//!
//! [`setup`] needs the `prover` feature; [`is_dev_key`], which nodes call on the keys their
//! genesis pins, does not.

use ark_bn254::{Fr as ScalarField, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::CurveGroup as _;
use ark_std::UniformRand as _;
use ark_std::rand::SeedableRng as _;
use ark_std::rand::rngs::StdRng;
use sha2::{Digest as _, Sha256};
use veil_crypto::labels::circuits::DEV_SETUP;

use crate::VerifyingKey;

/// Every seed this repository's code, tests and benchmarks pass to [`setup`]: `veil-dev` and
/// `veil-dev-screening` for the dev consortia `veil init` / `veil up` make, the others for
/// tests and benchmarks. [`is_dev_key`] recognises keys made from these; a test fails if a
/// call to `setup` in the repository uses a seed missing here.
pub const SEEDS: &[&str] = &[
    "veil-dev",
    "veil-dev-screening",
    "tests",
    "other",
    "screening-test",
    "node-validation",
    "bench",
    "registry-bench",
];

/// The setup's RNG for `seed`: seeded with SHA-256(label || " INSECURE " || seed), so the
/// warning is part of every dev seed's preimage.
fn rng(seed: &str) -> StdRng {
    let mut hasher = Sha256::new();
    hasher.update(DEV_SETUP);
    hasher.update(b" INSECURE ");
    hasher.update(seed.as_bytes());
    StdRng::from_seed(hasher.finalize().into())
}

/// Keys for `circuit` from `seed`: the same seed and circuit always give the same keys.
#[cfg(feature = "prover")]
pub fn setup<C: ark_relations::r1cs::ConstraintSynthesizer<crate::Fr>>(
    circuit: C,
    seed: &str,
) -> Result<crate::ProvingKey, crate::CircuitError> {
    let mut rng = rng(seed);
    crate::synthesis::quietly(|| {
        ark_groth16::Groth16::<ark_bn254::Bn254>::generate_random_parameters_with_reduction(
            circuit, &mut rng,
        )
        .map(crate::ProvingKey::from_key)
        .map_err(|e| crate::ShapeError::Synthesis(e).into())
    })
}

/// The circuit-independent part of the verifying keys [`setup`] makes from one seed.
///
/// ark-groth16 0.5's `generate_random_parameters_with_reduction` draws α, β, γ, δ and then the
/// G1 and G2 generators from the RNG before it looks at the circuit, and sets
/// `alpha_g1 = α·g1`, `beta_g2 = β·g2`, `gamma_g2 = γ·g2`, `delta_g2 = δ·g2`: these four depend
/// on the seed alone.
struct SeedElements {
    alpha_g1: G1Affine,
    beta_g2: G2Affine,
    gamma_g2: G2Affine,
    delta_g2: G2Affine,
}

impl SeedElements {
    fn of(seed: &str) -> Self {
        let mut rng = rng(seed);
        let alpha = ScalarField::rand(&mut rng);
        let beta = ScalarField::rand(&mut rng);
        let gamma = ScalarField::rand(&mut rng);
        let delta = ScalarField::rand(&mut rng);
        let g1 = G1Projective::rand(&mut rng);
        let g2 = G2Projective::rand(&mut rng);
        Self {
            alpha_g1: (g1 * alpha).into_affine(),
            beta_g2: (g2 * beta).into_affine(),
            gamma_g2: (g2 * gamma).into_affine(),
            delta_g2: (g2 * delta).into_affine(),
        }
    }

    /// Whether `key` shares any of these elements (a dev key, or one derived from it).
    fn in_key(&self, key: &ark_groth16::VerifyingKey<ark_bn254::Bn254>) -> bool {
        key.alpha_g1 == self.alpha_g1
            || key.beta_g2 == self.beta_g2
            || key.gamma_g2 == self.gamma_g2
            || key.delta_g2 == self.delta_g2
    }
}

/// Whether `vk` comes from the insecure dev setup: made by [`setup`] from one of [`SEEDS`],
/// for any circuit (or sharing α, β, γ or δ with such a key). A key from the ceremony never
/// is. Costs a few scalar multiplications per seed.
pub fn is_dev_key(vk: &VerifyingKey) -> bool {
    SEEDS
        .iter()
        .any(|seed| SeedElements::of(seed).in_key(&vk.key))
}

#[cfg(all(test, feature = "prover"))]
mod tests {
    use super::*;
    use crate::screening::ScreeningCircuit;
    use crate::settlement::{SettlementCircuit, Shape};

    #[test]
    fn dev_keys_of_every_circuit_are_recognised_and_others_are_not() {
        let settlement = SettlementCircuit::blank(Shape::new(4, 2).unwrap());
        for seed in ["veil-dev", "tests", "node-validation"] {
            let key = setup(settlement.clone(), seed).unwrap();
            assert!(is_dev_key(&key.verifying_key()), "{seed}");
        }
        let screening = setup(ScreeningCircuit::blank(), "veil-dev-screening").unwrap();
        assert!(is_dev_key(&screening.verifying_key()));
        let unknown = setup(settlement, "a seed nobody uses").unwrap();
        assert!(!is_dev_key(&unknown.verifying_key()));
    }

    #[test]
    fn keys_from_a_ceremony_are_not_dev_keys() {
        use crate::ceremony::{Powers, contribute_phase2, domain_size, initial_key};
        let circuit = || SettlementCircuit::blank(Shape::new(4, 2).unwrap());
        let mut rng = crate::OsRng;
        let powers = Powers::new(domain_size(circuit()).unwrap()).unwrap();
        let (powers, _) = powers.contribute("bank-a", 0, &mut rng);
        let initial = initial_key(&powers, circuit()).unwrap();
        let (key, _) = contribute_phase2(&initial, "settlement-4-2", "bank-a", 0, &mut rng);
        assert!(!is_dev_key(&key.verifying_key()));
    }

    /// The seed literal of each `dev::setup(..., "seed")` call in the workspace's sources.
    fn seeds_in(text: &str, found: &mut Vec<String>) {
        for (at, _) in text.match_indices("dev::setup(") {
            let call = &text[at..];
            let call = &call[..call.find(';').unwrap_or(call.len())];
            if let Some(open) = call.find('"') {
                let rest = &call[open + 1..];
                if let Some(close) = rest.find('"') {
                    found.push(rest[..close].to_owned());
                }
            }
        }
    }

    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                walk(&path, found);
            } else if name.ends_with(".rs") && !path.ends_with("circuits/src/dev.rs") {
                seeds_in(&std::fs::read_to_string(&path).unwrap(), found);
            }
        }
    }

    #[test]
    fn every_seed_the_repository_uses_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = Vec::new();
        walk(&root, &mut found);
        assert!(found.iter().any(|s| s == "veil-dev"), "{found:?}");
        for seed in &found {
            assert!(
                SEEDS.contains(&seed.as_str()),
                "seed {seed:?} is not in SEEDS"
            );
        }
    }
}
