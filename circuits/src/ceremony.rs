//! The multi-party setup: powers of tau (phase 1), then the circuit-specific phase 2, each
//! with one contribution per member, and a transcript anyone can verify.
//!
//! **Phase 1** holds `[τⁱ]₁` for `i < 2n − 1`, `[τⁱ]₂`, `[ατⁱ]₁` and `[βτⁱ]₁` for `i < n`, and
//! `[β]₂`, starting from τ = α = β = 1. A contributor draws secret `(τ', α', β')`, multiplies
//! every element by the matching power, and publishes its new `[τ]₁`, `[α]₁`, `[β]₁` each with a
//! Schnorr proof of knowledge of the factor *relative to the previous value*. So the final
//! τ is the product of every contributor's τ', and one honest contributor who forgets its secret
//! makes τ unknown to everyone; the same for α and β.
//!
//! **Phase 2** turns the powers into a Groth16 key with δ = 1 (Lagrange basis by an inverse FFT
//! over the group, then the circuit's QAP polynomials; γ = 1 as in the BGM17 ceremony), and each
//! contributor multiplies δ by a secret δ' (dividing the `L` and `H` queries by it), with a proof
//! of knowledge relative to the previous `[δ]₁`. A key with no phase-2 contribution is refused.
//!
//! **Verification** (`verify_*`) needs only the records and the final values: the chain of
//! proofs of knowledge ties each contribution to the one before, and pairing checks (random
//! linear combinations) show that the final powers are powers of one τ and that the final key's
//! `L` and `H` are the initial ones divided by the final δ, with everything else unchanged.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, PrimeField, UniformRand, Zero};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
pub use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use sha2::{Digest as _, Sha512};
use zeroize::Zeroize as _;

use veil_crypto::labels::circuits::CEREMONY_KNOWLEDGE;

use crate::CircuitError;
use crate::error::{CeremonyError, Power, Query, Secret};
use crate::groth16::{ProvingKey, from_validated, to_compressed};
use crate::synthesis::quietly;

fn fail(why: CeremonyError) -> CircuitError {
    CircuitError::Ceremony(why)
}

/// A Schnorr proof of knowledge of `x` with `image = x·base` in G1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Knowledge {
    commitment: G1Affine,
    response: Fr,
}

fn challenge(context: &[u8], base: &G1Affine, image: &G1Affine, commitment: &G1Affine) -> Fr {
    let mut hasher = Sha512::new();
    hasher.update(CEREMONY_KNOWLEDGE);
    hasher.update((context.len() as u64).to_be_bytes());
    hasher.update(context);
    for point in [base, image, commitment] {
        hasher.update(to_compressed(point));
    }
    Fr::from_le_bytes_mod_order(&hasher.finalize())
}

impl Knowledge {
    fn prove(
        context: &[u8],
        base: &G1Affine,
        secret: &Fr,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (G1Affine, Self) {
        let image = (*base * secret).into_affine();
        let mut nonce = Fr::rand(rng);
        let commitment = (*base * nonce).into_affine();
        let c = challenge(context, base, &image, &commitment);
        let response = nonce + c * secret;
        nonce.zeroize();
        (
            image,
            Self {
                commitment,
                response,
            },
        )
    }

    fn verify(&self, context: &[u8], base: &G1Affine, image: &G1Affine) -> bool {
        if image.is_zero() || base.is_zero() {
            return false;
        }
        let c = challenge(context, base, image, &self.commitment);
        *base * self.response == self.commitment.into_group() + *image * c
    }
}

fn context(phase: &str, what: &str, index: usize, contributor: &str) -> Vec<u8> {
    format!("{phase}|{what}|{index}|{contributor}").into_bytes()
}

/// Phase-1 parameters for QAP domains of up to `n` points.
#[derive(Debug, Clone, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Powers {
    /// `[τⁱ]₁`, `i < 2n − 1`.
    pub tau_g1: Vec<G1Affine>,
    /// `[τⁱ]₂`, `i < n`.
    pub tau_g2: Vec<G2Affine>,
    /// `[ατⁱ]₁`, `i < n`.
    pub alpha_g1: Vec<G1Affine>,
    /// `[βτⁱ]₁`, `i < n`.
    pub beta_g1: Vec<G1Affine>,
    /// `[β]₂`.
    pub beta_g2: G2Affine,
}

/// One member's phase-1 contribution, as the transcript records it.
#[derive(Debug, Clone, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Phase1Record {
    /// The contributing member.
    pub contributor: String,
    /// The new `[τ]₁`, `[α]₁`, `[β]₁`.
    pub tau: G1Affine,
    /// The new `[α]₁`.
    pub alpha: G1Affine,
    /// The new `[β]₁`.
    pub beta: G1Affine,
    proofs: [Knowledge; 3],
}

fn scale_powers<G: CurveGroup>(
    points: &mut [G::Affine],
    first: G::ScalarField,
    ratio: G::ScalarField,
) {
    let chunk = 1024;
    let projective: Vec<G> = points
        .par_chunks(chunk)
        .enumerate()
        .flat_map_iter(|(c, slice)| {
            let mut factor = first * ratio.pow([(c * chunk) as u64]);
            slice
                .iter()
                .map(|p| {
                    let scaled = *p * factor;
                    factor *= ratio;
                    scaled
                })
                .collect::<Vec<_>>()
        })
        .collect();
    points.copy_from_slice(&G::normalize_batch(&projective));
}

fn random_scalars(n: usize, rng: &mut (impl RngCore + CryptoRng)) -> Vec<Fr> {
    (0..n).map(|_| Fr::rand(rng)).collect()
}

fn msm1(points: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    G1Projective::msm_unchecked(points, scalars)
}

fn msm2(points: &[G2Affine], scalars: &[Fr]) -> G2Projective {
    G2Projective::msm_unchecked(points, scalars)
}

fn same_pairing(a: (G1Projective, G2Projective), b: (G1Projective, G2Projective)) -> bool {
    Bn254::pairing(a.0, a.1) == Bn254::pairing(b.0, b.1)
}

impl Powers {
    /// The starting point: τ = α = β = 1, for domains of up to `n` points (a power of two).
    pub fn new(n: usize) -> Result<Self, CircuitError> {
        if !n.is_power_of_two() || !(2..=1 << 24).contains(&n) {
            return Err(fail(CeremonyError::Size));
        }
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        Ok(Self {
            tau_g1: vec![g1; 2 * n - 1],
            tau_g2: vec![g2; n],
            alpha_g1: vec![g1; n],
            beta_g1: vec![g1; n],
            beta_g2: g2,
        })
    }

    /// The largest domain these powers serve.
    pub fn size(&self) -> usize {
        self.tau_g2.len()
    }

    /// `contributor`'s contribution, the `index`-th: the new powers and the record.
    pub fn contribute(
        &self,
        contributor: &str,
        index: usize,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (Self, Phase1Record) {
        let mut secrets = [Fr::rand(rng), Fr::rand(rng), Fr::rand(rng)];
        let [tau, alpha, beta] = secrets;
        let mut next = self.clone();
        scale_powers::<G1Projective>(&mut next.tau_g1, Fr::one(), tau);
        scale_powers::<G2Projective>(&mut next.tau_g2, Fr::one(), tau);
        scale_powers::<G1Projective>(&mut next.alpha_g1, alpha, tau);
        scale_powers::<G1Projective>(&mut next.beta_g1, beta, tau);
        next.beta_g2 = (self.beta_g2 * beta).into_affine();
        let (_, tau_proof) = Knowledge::prove(
            &context("1", "tau", index, contributor),
            &self.tau_g1[1],
            &tau,
            rng,
        );
        let (_, alpha_proof) = Knowledge::prove(
            &context("1", "alpha", index, contributor),
            &self.alpha_g1[0],
            &alpha,
            rng,
        );
        let (_, beta_proof) = Knowledge::prove(
            &context("1", "beta", index, contributor),
            &self.beta_g1[0],
            &beta,
            rng,
        );
        secrets.zeroize();
        let record = Phase1Record {
            contributor: contributor.to_owned(),
            tau: next.tau_g1[1],
            alpha: next.alpha_g1[0],
            beta: next.beta_g1[0],
            proofs: [tau_proof, alpha_proof, beta_proof],
        };
        (next, record)
    }

    /// Checks that these are powers of one τ with matching α and β.
    pub fn check_structure(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(), CircuitError> {
        let n = self.size();
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        if n < 2
            || self.tau_g1.len() != 2 * n - 1
            || self.alpha_g1.len() != n
            || self.beta_g1.len() != n
        {
            return Err(fail(CeremonyError::Lengths));
        }
        if self.tau_g1[0] != g1 || self.tau_g2[0] != g2 {
            return Err(fail(CeremonyError::Generators));
        }
        if [self.tau_g1[1], self.alpha_g1[0], self.beta_g1[0]]
            .iter()
            .any(AffineRepr::is_zero)
            || self.beta_g2.is_zero()
        {
            return Err(fail(CeremonyError::ZeroSecret));
        }
        let (g1p, g2p) = (g1.into_group(), g2.into_group());
        let tau2 = self.tau_g2[1].into_group();
        if !same_pairing((self.tau_g1[1].into_group(), g2p), (g1p, tau2)) {
            return Err(fail(CeremonyError::TauMismatch));
        }
        // Each vector's next element is τ times its element.
        let shifted_g1 = |v: &[G1Affine], r: &[Fr]| (msm1(&v[..v.len() - 1], r), msm1(&v[1..], r));
        for (name, v) in [
            (Power::Tau, &self.tau_g1),
            (Power::AlphaTau, &self.alpha_g1),
            (Power::BetaTau, &self.beta_g1),
        ] {
            let r = random_scalars(v.len() - 1, rng);
            let (low, high) = shifted_g1(v, &r);
            if !same_pairing((high, g2p), (low, tau2)) {
                return Err(fail(CeremonyError::NotPowers(name)));
            }
        }
        let r = random_scalars(n - 1, rng);
        let low = msm2(&self.tau_g2[..n - 1], &r);
        let high = msm2(&self.tau_g2[1..], &r);
        if !same_pairing((self.tau_g1[1].into_group(), low), (g1p, high)) {
            return Err(fail(CeremonyError::NotPowersG2));
        }
        if !same_pairing(
            (self.beta_g1[0].into_group(), g2p),
            (g1p, self.beta_g2.into_group()),
        ) {
            return Err(fail(CeremonyError::BetaMismatch));
        }
        Ok(())
    }
}

/// Verifies a phase-1 transcript: every record's proofs chain from the starting point, at
/// least one contribution, and `powers` are the structured powers of the last record.
pub fn verify_phase1(
    records: &[Phase1Record],
    powers: &Powers,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(), CircuitError> {
    if records.is_empty() {
        return Err(fail(CeremonyError::NoPhase1Contribution));
    }
    let g1 = G1Affine::generator();
    let (mut tau, mut alpha, mut beta) = (g1, g1, g1);
    for (index, record) in records.iter().enumerate() {
        let who = &record.contributor;
        let checks = [
            ("tau", Secret::Tau, &tau, &record.tau, &record.proofs[0]),
            (
                "alpha",
                Secret::Alpha,
                &alpha,
                &record.alpha,
                &record.proofs[1],
            ),
            ("beta", Secret::Beta, &beta, &record.beta, &record.proofs[2]),
        ];
        for (what, secret, base, image, proof) in checks {
            if !proof.verify(&context("1", what, index, who), base, image) {
                return Err(fail(CeremonyError::Phase1Knowledge {
                    index,
                    contributor: who.clone(),
                    secret,
                }));
            }
        }
        (tau, alpha, beta) = (record.tau, record.alpha, record.beta);
    }
    if powers.tau_g1.get(1) != Some(&tau)
        || powers.alpha_g1.first() != Some(&alpha)
        || powers.beta_g1.first() != Some(&beta)
    {
        return Err(fail(CeremonyError::NotLastPowers));
    }
    powers.check_structure(rng)
}

/// The QAP shape of a circuit, for key derivation.
struct Qap {
    domain: GeneralEvaluationDomain<Fr>,
    num_instance: usize,
    num_constraints: usize,
    num_variables: usize,
    a: Vec<Vec<(Fr, usize)>>,
    b: Vec<Vec<(Fr, usize)>>,
    c: Vec<Vec<(Fr, usize)>>,
}

fn qap<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Qap, CircuitError> {
    quietly(|| {
        let cs = ConstraintSystem::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit
            .generate_constraints(cs.clone())
            .map_err(|e| fail(CeremonyError::Synthesis(e)))?;
        cs.finalize();
        let matrices = cs
            .to_matrices()
            .ok_or_else(|| fail(CeremonyError::NoMatrices))?;
        let domain = GeneralEvaluationDomain::<Fr>::new(
            matrices.num_constraints + matrices.num_instance_variables,
        )
        .ok_or_else(|| fail(CeremonyError::TooLarge))?;
        Ok(Qap {
            domain,
            num_instance: matrices.num_instance_variables,
            num_constraints: matrices.num_constraints,
            num_variables: matrices.num_instance_variables + matrices.num_witness_variables,
            a: matrices.a,
            b: matrices.b,
            c: matrices.c,
        })
    })
}

/// The domain size a circuit needs from phase 1.
pub fn domain_size<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<usize, CircuitError> {
    Ok(qap(circuit)?.domain.size())
}

fn add_scaled<G: CurveGroup<ScalarField = Fr>>(acc: &mut G, base: &G, coeff: &Fr) {
    if coeff.is_one() {
        *acc += base;
    } else if (-*coeff).is_one() {
        *acc -= base;
    } else {
        *acc += *base * coeff;
    }
}

/// The phase-2 starting key (δ = 1, γ = 1) for `circuit` from phase-1 `powers`. Deterministic:
/// every verifier recomputes it.
pub fn initial_key<C: ConstraintSynthesizer<Fr>>(
    powers: &Powers,
    circuit: C,
) -> Result<ProvingKey, CircuitError> {
    let qap = qap(circuit)?;
    let n = qap.domain.size();
    if n > powers.size() {
        return Err(fail(CeremonyError::DomainTooSmall {
            needed: n,
            available: powers.size(),
        }));
    }
    // Lagrange bases at τ: the inverse FFT of the powers, over the group.
    let lagrange_g1 = |v: &[G1Affine]| {
        let mut points: Vec<G1Projective> = v[..n].iter().map(|p| p.into_group()).collect();
        qap.domain.ifft_in_place(&mut points);
        points
    };
    let l_tau = lagrange_g1(&powers.tau_g1);
    let l_alpha = lagrange_g1(&powers.alpha_g1);
    let l_beta = lagrange_g1(&powers.beta_g1);
    let mut l_tau2: Vec<G2Projective> = powers.tau_g2[..n].iter().map(|p| p.into_group()).collect();
    qap.domain.ifft_in_place(&mut l_tau2);

    let vars = qap.num_variables;
    let mut a = vec![G1Projective::zero(); vars];
    let mut b1 = vec![G1Projective::zero(); vars];
    let mut b2 = vec![G2Projective::zero(); vars];
    let mut abc = vec![G1Projective::zero(); vars];
    for j in 0..qap.num_constraints {
        for (coeff, k) in &qap.a[j] {
            add_scaled(&mut a[*k], &l_tau[j], coeff);
            add_scaled(&mut abc[*k], &l_beta[j], coeff);
        }
        for (coeff, k) in &qap.b[j] {
            add_scaled(&mut b1[*k], &l_tau[j], coeff);
            add_scaled(&mut b2[*k], &l_tau2[j], coeff);
            add_scaled(&mut abc[*k], &l_alpha[j], coeff);
        }
        for (coeff, k) in &qap.c[j] {
            add_scaled(&mut abc[*k], &l_tau[j], coeff);
        }
    }
    // The reduction's extra rows: input i contributes L_{m+i} to its A polynomial.
    for i in 0..qap.num_instance {
        a[i] += l_tau[qap.num_constraints + i];
        abc[i] += l_beta[qap.num_constraints + i];
    }
    // H: τⁱ·Z(τ) = τ^(n+i) − τⁱ.
    let h: Vec<G1Projective> = (0..n - 1)
        .map(|i| powers.tau_g1[n + i].into_group() - powers.tau_g1[i])
        .collect();
    let abc = G1Projective::normalize_batch(&abc);
    let vk = ark_groth16::VerifyingKey::<Bn254> {
        alpha_g1: powers.alpha_g1[0],
        beta_g2: powers.beta_g2,
        gamma_g2: G2Affine::generator(),
        delta_g2: G2Affine::generator(),
        gamma_abc_g1: abc[..qap.num_instance].to_vec(),
    };
    Ok(ProvingKey::from_key(ark_groth16::ProvingKey {
        vk,
        beta_g1: powers.beta_g1[0],
        delta_g1: G1Affine::generator(),
        a_query: G1Projective::normalize_batch(&a),
        b_g1_query: G1Projective::normalize_batch(&b1),
        b_g2_query: G2Projective::normalize_batch(&b2),
        h_query: G1Projective::normalize_batch(&h),
        l_query: abc[qap.num_instance..].to_vec(),
    }))
}

/// One member's phase-2 contribution to one circuit's key.
#[derive(Debug, Clone, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Phase2Record {
    /// The contributing member.
    pub contributor: String,
    /// The new `[δ]₁`.
    pub delta_g1: G1Affine,
    /// The new `[δ]₂`.
    pub delta_g2: G2Affine,
    proof: Knowledge,
}

/// `contributor`'s contribution (the `index`-th) to the key of circuit `circuit_id`.
pub fn contribute_phase2(
    key: &ProvingKey,
    circuit_id: &str,
    contributor: &str,
    index: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> (ProvingKey, Phase2Record) {
    // A random scalar is zero with probability 2⁻²⁵⁴; draw again rather than fail.
    let (mut delta, mut inverse) = loop {
        let delta = Fr::rand(rng);
        if let Some(inverse) = delta.inverse() {
            break (delta, inverse);
        }
    };
    let mut next = key.key.clone();
    let (delta_g1, proof) = Knowledge::prove(
        &context(&format!("2:{circuit_id}"), "delta", index, contributor),
        &key.key.delta_g1,
        &delta,
        rng,
    );
    next.delta_g1 = delta_g1;
    next.vk.delta_g2 = (key.key.vk.delta_g2 * delta).into_affine();
    let divide = |points: &[G1Affine]| {
        let scaled: Vec<G1Projective> = points.par_iter().map(|p| *p * inverse).collect();
        G1Projective::normalize_batch(&scaled)
    };
    next.l_query = divide(&key.key.l_query);
    next.h_query = divide(&key.key.h_query);
    delta.zeroize();
    inverse.zeroize();
    let record = Phase2Record {
        contributor: contributor.to_owned(),
        delta_g1: next.delta_g1,
        delta_g2: next.vk.delta_g2,
        proof,
    };
    (ProvingKey::from_key(next), record)
}

/// Verifies one circuit's phase-2 transcript: `initial` recomputed from phase 1, at least one
/// contribution, every proof of knowledge chaining from δ = 1, and `last` equal to `initial`
/// but for δ and the `L` and `H` queries divided by it.
pub fn verify_phase2(
    initial: &ProvingKey,
    circuit_id: &str,
    records: &[Phase2Record],
    last: &ProvingKey,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(), CircuitError> {
    if records.is_empty() {
        return Err(fail(CeremonyError::NoPhase2Contribution {
            circuit: circuit_id.to_owned(),
        }));
    }
    let g2 = G2Affine::generator().into_group();
    let mut delta = initial.key.delta_g1;
    for (index, record) in records.iter().enumerate() {
        let who = &record.contributor;
        let context = context(&format!("2:{circuit_id}"), "delta", index, who);
        if !record.proof.verify(&context, &delta, &record.delta_g1) {
            return Err(fail(CeremonyError::Phase2Knowledge {
                circuit: circuit_id.to_owned(),
                index,
                contributor: who.clone(),
            }));
        }
        if !same_pairing(
            (record.delta_g1.into_group(), g2),
            (
                G1Affine::generator().into_group(),
                record.delta_g2.into_group(),
            ),
        ) {
            return Err(fail(CeremonyError::DeltaMismatch {
                circuit: circuit_id.to_owned(),
                index,
                contributor: who.clone(),
            }));
        }
        delta = record.delta_g1;
    }
    let (a, b) = (&initial.key, &last.key);
    let not_last = || {
        fail(CeremonyError::NotLastDelta {
            circuit: circuit_id.to_owned(),
        })
    };
    let final_record = records.last().ok_or_else(not_last)?;
    if b.delta_g1 != final_record.delta_g1 || b.vk.delta_g2 != final_record.delta_g2 {
        return Err(not_last());
    }
    let unchanged = a.vk.alpha_g1 == b.vk.alpha_g1
        && a.vk.beta_g2 == b.vk.beta_g2
        && a.vk.gamma_g2 == b.vk.gamma_g2
        && a.vk.gamma_abc_g1 == b.vk.gamma_abc_g1
        && a.beta_g1 == b.beta_g1
        && a.a_query == b.a_query
        && a.b_g1_query == b.b_g1_query
        && a.b_g2_query == b.b_g2_query
        && a.l_query.len() == b.l_query.len()
        && a.h_query.len() == b.h_query.len();
    if !unchanged {
        return Err(fail(CeremonyError::KeyChanged {
            circuit: circuit_id.to_owned(),
        }));
    }
    for (query, before, after) in [
        (Query::L, &a.l_query, &b.l_query),
        (Query::H, &a.h_query, &b.h_query),
    ] {
        let r = random_scalars(before.len(), rng);
        if !same_pairing(
            (msm1(after, &r), b.vk.delta_g2.into_group()),
            (msm1(before, &r), g2),
        ) {
            return Err(fail(CeremonyError::NotDivided {
                circuit: circuit_id.to_owned(),
                query,
            }));
        }
    }
    Ok(())
}

/// Encodes ceremony data (powers, records) compressed.
pub fn to_bytes<T: CanonicalSerialize>(value: &T) -> Vec<u8> {
    to_compressed(value)
}

/// Decodes untrusted ceremony data with full validation.
pub fn from_bytes<T: CanonicalDeserialize>(bytes: &[u8]) -> Result<T, CircuitError> {
    from_validated(bytes, CeremonyError::TrailingBytes).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::SettlementCircuit;
    use crate::settlement::fixtures::{SMALL, statement, three};
    use ark_std::rand::rngs::OsRng;

    fn ceremony(members: &[&str]) -> (Powers, Vec<Phase1Record>) {
        let size = domain_size(SettlementCircuit::blank(SMALL)).unwrap();
        let mut powers = Powers::new(size).unwrap();
        let mut records = Vec::new();
        for (i, member) in members.iter().enumerate() {
            let (next, record) = powers.contribute(member, i, &mut OsRng);
            powers = next;
            records.push(record);
        }
        (powers, records)
    }

    #[test]
    fn keys_from_a_two_phase_ceremony_prove_and_verify() {
        let (powers, records) = ceremony(&["bank-a", "bank-b"]);
        verify_phase1(&records, &powers, &mut OsRng).unwrap();
        let initial = initial_key(&powers, SettlementCircuit::blank(SMALL)).unwrap();
        let mut key = initial.clone();
        let mut phase2 = Vec::new();
        for (i, member) in ["bank-a", "bank-b", "bank-c"].iter().enumerate() {
            let (next, record) = contribute_phase2(&key, "s4", member, i, &mut OsRng);
            key = next;
            phase2.push(record);
        }
        verify_phase2(&initial, "s4", &phase2, &key, &mut OsRng).unwrap();
        // A key with no phase-2 contribution is refused.
        assert!(verify_phase2(&initial, "s4", &[], &initial, &mut OsRng).is_err());

        let (public, witness) = statement(SMALL, three(), 2);
        let circuit = SettlementCircuit {
            shape: SMALL,
            public: Some(public.clone()),
            witness: Some(witness),
        };
        let proof = key.prove(circuit, &mut OsRng).unwrap();
        let vk = key.verifying_key();
        vk.verify(&public.inputs(), &proof).unwrap();
        let mut wrong = public.inputs();
        wrong[3] += Fr::one();
        assert!(vk.verify(&wrong, &proof).is_err());
    }

    #[test]
    fn a_broken_phase1_transcript_is_refused() {
        let (powers, records) = ceremony(&["bank-a", "bank-b"]);
        assert!(verify_phase1(&[], &powers, &mut OsRng).is_err());
        // Records out of order, or one dropped: the chain of proofs breaks.
        let swapped = vec![records[1].clone(), records[0].clone()];
        assert!(verify_phase1(&swapped, &powers, &mut OsRng).is_err());
        assert!(verify_phase1(&records[1..], &powers, &mut OsRng).is_err());
        // A contribution claimed by someone else.
        let mut renamed = records.clone();
        renamed[1].contributor = "bank-c".into();
        assert!(verify_phase1(&renamed, &powers, &mut OsRng).is_err());
        // Powers that are not those of the last record, or not structured.
        let mut tampered = powers.clone();
        tampered.tau_g1[3] = (tampered.tau_g1[3] * Fr::from(2u64)).into_affine();
        assert!(verify_phase1(&records, &tampered, &mut OsRng).is_err());
        let mut tampered = powers.clone();
        tampered.tau_g2[2] = (tampered.tau_g2[2] * Fr::from(2u64)).into_affine();
        assert!(verify_phase1(&records, &tampered, &mut OsRng).is_err());
        let mut tampered = powers.clone();
        tampered.alpha_g1[1] = tampered.alpha_g1[2];
        assert!(verify_phase1(&records, &tampered, &mut OsRng).is_err());
        // Restarting from known secrets (replacing τ instead of multiplying) has no valid proof.
        let fresh = Powers::new(powers.size()).unwrap();
        let (replaced, _) = fresh.contribute("bank-b", 1, &mut OsRng);
        let mut forged = records.clone();
        forged[1].tau = replaced.tau_g1[1];
        assert!(verify_phase1(&forged, &replaced, &mut OsRng).is_err());
    }

    #[test]
    fn a_broken_phase2_transcript_is_refused() {
        let (powers, _) = ceremony(&["bank-a"]);
        let initial = initial_key(&powers, SettlementCircuit::blank(SMALL)).unwrap();
        let (key, record) = contribute_phase2(&initial, "s4", "bank-a", 0, &mut OsRng);
        verify_phase2(
            &initial,
            "s4",
            std::slice::from_ref(&record),
            &key,
            &mut OsRng,
        )
        .unwrap();
        // The record for another circuit, index or contributor does not verify.
        assert!(
            verify_phase2(
                &initial,
                "s16",
                std::slice::from_ref(&record),
                &key,
                &mut OsRng
            )
            .is_err()
        );
        let mut renamed = record.clone();
        renamed.contributor = "bank-b".into();
        assert!(verify_phase2(&initial, "s4", &[renamed], &key, &mut OsRng).is_err());
        // δ changed without dividing L, or L changed alone.
        let mut lazy = key.clone();
        lazy.key.l_query = initial.key.l_query.clone();
        assert!(
            verify_phase2(
                &initial,
                "s4",
                std::slice::from_ref(&record),
                &lazy,
                &mut OsRng
            )
            .is_err()
        );
        let mut bent = key.clone();
        bent.key.h_query[0] = bent.key.h_query[1];
        assert!(
            verify_phase2(
                &initial,
                "s4",
                std::slice::from_ref(&record),
                &bent,
                &mut OsRng
            )
            .is_err()
        );
        let mut moved = key.clone();
        moved.key.a_query[5] = moved.key.a_query[6];
        assert!(
            verify_phase2(
                &initial,
                "s4",
                std::slice::from_ref(&record),
                &moved,
                &mut OsRng
            )
            .is_err()
        );
        // Untrusted bytes are validated.
        let bytes = to_bytes(&record);
        assert_eq!(from_bytes::<Phase2Record>(&bytes).unwrap(), record);
        assert!(from_bytes::<Phase2Record>(&bytes[..bytes.len() - 1]).is_err());
    }
}
