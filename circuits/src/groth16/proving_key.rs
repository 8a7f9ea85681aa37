//! A proving key and proving (feature `prover`): held by the gateways that write the
//! statement's entries, never by a node.

use std::any::TypeId;
use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr};
use ark_ff::{PrimeField, UniformRand as _, Zero as _};
use ark_groth16::Groth16;
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::r1cs::{
    ConstraintMatrices, ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, Matrix,
    OptimizationGoal, SynthesisError, SynthesisMode,
};
use ark_serialize::{CanonicalDeserialize as _, Compress, Validate};
use ark_std::rand::{CryptoRng, RngCore};

use super::encoding::{decode, to_compressed};
use super::{Proof, VerifyingKey};
use crate::CircuitError;
use crate::error::{EncodingError, Malformed, Unsatisfied};
use crate::synthesis::quietly;

/// A proving key (held by the gateways that write the statement's entries), with the
/// constraint matrices of its circuit once it has proved one statement: later proofs then
/// synthesize only the witness (no constraint is recorded, no linear combination inlined), and
/// check it against the matrices.
#[derive(Debug, Clone)]
pub struct ProvingKey {
    pub(crate) key: ark_groth16::ProvingKey<Bn254>,
    matrices: Arc<OnceLock<CircuitMatrices>>,
}

/// The R1CS matrices of the circuit type a key proved first.
#[derive(Debug)]
struct CircuitMatrices {
    circuit: TypeId,
    matrices: ConstraintMatrices<Fr>,
}

impl PartialEq for ProvingKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

/// Where one proof's time went (wall time; arkworks' FFTs and multi-scalar multiplications use
/// every core). A key's first proof also builds the constraint matrices, within `synthesis`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProvingPhases {
    /// Constraint synthesis: computing the witness (and, the first time, the matrices).
    pub synthesis: Duration,
    /// Checking every constraint against the witness.
    pub satisfaction: Duration,
    /// The QAP witness map: H's coefficients, seven FFTs over the evaluation domain.
    pub witness_map: Duration,
    /// The multi-scalar multiplications: A, B in G1 and G2, C (with H's and L's queries).
    pub msm: Duration,
}

impl ProvingPhases {
    /// The proof's whole time.
    pub fn total(&self) -> Duration {
        self.synthesis + self.satisfaction + self.witness_map + self.msm
    }
}

impl ProvingKey {
    pub(crate) fn from_key(key: ark_groth16::ProvingKey<Bn254>) -> Self {
        Self {
            key,
            matrices: Arc::default(),
        }
    }

    /// Its verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::new(self.key.vk.clone())
    }

    /// Compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_compressed(&self.key)
    }

    /// Decodes a key file, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        Ok(Self::from_key(decode(bytes)?))
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
        Ok(Self::from_key(key))
    }

    /// Proves `circuit`'s statement; a witness that does not satisfy it is an error (every
    /// constraint is checked first, so no invalid proof is ever made).
    pub fn prove<C: ConstraintSynthesizer<Fr> + 'static>(
        &self,
        circuit: C,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Proof, CircuitError> {
        self.prove_with_phases(circuit, rng).map(|(proof, _)| proof)
    }

    /// [`ProvingKey::prove`], reporting where the time went.
    ///
    /// Groth16 (Groth 2016, §3.2) as arkworks' `create_proof_with_reduction_and_matrices`
    /// computes it, with zero-knowledge randomness `r`, `s` drawn from `rng`. The circuit is
    /// synthesized once: the first proof of a circuit type records its constraints and keeps
    /// the matrices (their dimensions checked against the key); later proofs compute only the
    /// witness and check it against them.
    pub fn prove_with_phases<C: ConstraintSynthesizer<Fr> + 'static>(
        &self,
        circuit: C,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Proof, ProvingPhases), CircuitError> {
        quietly(|| {
            let mut phases = ProvingPhases::default();
            let started = Instant::now();
            let cached = self
                .matrices
                .get()
                .filter(|m| m.circuit == TypeId::of::<C>());
            let cs = synthesize(circuit, cached.is_none())?;
            let (instance, witness) = {
                let inner = cs
                    .borrow()
                    .ok_or(Unsatisfied::Synthesis(SynthesisError::MissingCS))?;
                (
                    inner.instance_assignment.clone(),
                    inner.witness_assignment.clone(),
                )
            };
            let matrices = match cached {
                Some(cached) => &cached.matrices,
                None => {
                    cs.finalize();
                    let matrices = cs
                        .to_matrices()
                        .ok_or(Unsatisfied::Synthesis(SynthesisError::AssignmentMissing))?;
                    self.check_dimensions(&matrices)?;
                    &self
                        .matrices
                        .get_or_init(|| CircuitMatrices {
                            circuit: TypeId::of::<C>(),
                            matrices,
                        })
                        .matrices
                }
            };
            drop(cs);
            phases.synthesis = started.elapsed();

            let started = Instant::now();
            if instance.len() != matrices.num_instance_variables
                || witness.len() != matrices.num_witness_variables
            {
                return Err(Unsatisfied::Synthesis(SynthesisError::Unsatisfiable).into());
            }
            let assignment: Vec<Fr> = instance.into_iter().chain(witness).collect();
            if let Some(row) = first_unsatisfied(matrices, &assignment) {
                return Err(Unsatisfied::Constraint {
                    at: format!("constraint {row}"),
                }
                .into());
            }
            phases.satisfaction = started.elapsed();

            let r = Fr::rand(rng);
            let s = Fr::rand(rng);
            let started = Instant::now();
            WITNESS_MAP.set(Duration::ZERO);
            let proof = Groth16::<Bn254, TimedReduction>::create_proof_with_reduction_and_matrices(
                &self.key,
                r,
                s,
                matrices,
                matrices.num_instance_variables,
                matrices.num_constraints,
                &assignment,
            )
            .map_err(Unsatisfied::Synthesis)?;
            phases.witness_map = WITNESS_MAP.get();
            phases.msm = started.elapsed().saturating_sub(phases.witness_map);
            Ok((Proof(proof), phases))
        })
    }

    /// The matrices' dimensions are the key's: one A query per variable, one L query per
    /// witness variable, one verifying-key input term per instance variable.
    fn check_dimensions(&self, matrices: &ConstraintMatrices<Fr>) -> Result<(), CircuitError> {
        let variables = matrices.num_instance_variables + matrices.num_witness_variables;
        if self.key.a_query.len() != variables
            || self.key.l_query.len() != matrices.num_witness_variables
            || self.key.vk.gamma_abc_g1.len() != matrices.num_instance_variables
        {
            return Err(crate::ShapeError::KeyMismatch.into());
        }
        Ok(())
    }
}

thread_local! {
    /// How long this thread's last QAP witness map took (see [`TimedReduction`]).
    static WITNESS_MAP: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// arkworks' libsnark R1CS-to-QAP reduction, timing its witness map into [`WITNESS_MAP`] (the
/// prover calls it on the calling thread before the multi-scalar multiplications).
struct TimedReduction;

impl R1CSToQAP for TimedReduction {
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &ConstraintMatrices<F>,
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        let started = Instant::now();
        let h = LibsnarkReduction::witness_map_from_matrices::<F, D>(
            matrices,
            num_inputs,
            num_constraints,
            full_assignment,
        );
        WITNESS_MAP.set(started.elapsed());
        h
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        zt: F,
        delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        LibsnarkReduction::h_query_scalars::<F, D>(max_power, t, zt, delta_inverse)
    }
}

/// Synthesizes `circuit` for proving; with `record`, its constraints too (for the matrices).
fn synthesize<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    record: bool,
) -> Result<ConstraintSystemRef<Fr>, CircuitError> {
    let cs = ConstraintSystem::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: record,
    });
    circuit
        .generate_constraints(cs.clone())
        .map_err(Unsatisfied::Synthesis)?;
    Ok(cs)
}

/// The first row `i` of the R1CS where ⟨Aᵢ, z⟩·⟨Bᵢ, z⟩ ≠ ⟨Cᵢ, z⟩, for the full assignment `z`
/// (the constant one, the instance, then the witness).
fn first_unsatisfied(matrices: &ConstraintMatrices<Fr>, z: &[Fr]) -> Option<usize> {
    let row = |m: &Matrix<Fr>, i: usize| -> Fr {
        m[i].iter().fold(Fr::zero(), |acc, (coefficient, index)| {
            acc + *coefficient * z[*index]
        })
    };
    (0..matrices.num_constraints)
        .find(|&i| row(&matrices.a, i) * row(&matrices.b, i) != row(&matrices.c, i))
}
