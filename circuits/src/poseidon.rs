//! Poseidon over BN254's scalar field, natively and as an R1CS gadget.
//!
//! The permutation is the reference one (x⁵ S-box, 8 full rounds, 57 partial rounds for width 3
//! and 60 for width 5, constants from the Grain LFSR of the Poseidon paper), so it equals
//! circomlib's `poseidon` and the authors' `poseidonperm_x5_254_{3,5}` (see the test vectors).
//! Veil's hashes put a domain tag in the capacity element (`state[0]`), which circomlib leaves
//! zero: with tag zero, [`hash`] is exactly circomlib's `Poseidon(n)`.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds;
use ark_ff::{Field as _, PrimeField as _};
use ark_r1cs_std::fields::FieldVar as _;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::SynthesisError;
use sha2::{Digest as _, Sha256};

/// Full rounds, half before and half after the partial rounds.
const FULL_ROUNDS: usize = 8;

/// How many field elements one hash absorbs: 2 (width 3) or 4 (width 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Width 3: two inputs (Merkle-free commitments).
    Two,
    /// Width 5: four inputs (repayment leaves and the 4-ary Merkle tree).
    Four,
}

impl Arity {
    /// The number of inputs.
    pub const fn inputs(self) -> usize {
        match self {
            Self::Two => 2,
            Self::Four => 4,
        }
    }

    const fn partial_rounds(self) -> usize {
        match self {
            Self::Two => 57,
            Self::Four => 60,
        }
    }
}

/// Round constants and MDS matrix for one width.
#[derive(Debug)]
struct Params {
    ark: Vec<Vec<Fr>>,
    mds: Vec<Vec<Fr>>,
    partial: usize,
}

fn params(arity: Arity) -> &'static Params {
    static TWO: OnceLock<Params> = OnceLock::new();
    static FOUR: OnceLock<Params> = OnceLock::new();
    let cell = match arity {
        Arity::Two => &TWO,
        Arity::Four => &FOUR,
    };
    cell.get_or_init(|| {
        let partial = arity.partial_rounds();
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            u64::from(Fr::MODULUS_BIT_SIZE),
            arity.inputs(),
            FULL_ROUNDS as u64,
            partial as u64,
            0,
        );
        Params { ark, mds, partial }
    })
}

/// A domain tag: the capacity element that separates Veil's uses of Poseidon from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domain(Fr);

impl Domain {
    /// circomlib's convention (capacity zero); used only by the test vectors.
    pub const NONE: Self = Self(ark_ff::MontFp!("0"));

    /// The tag for `label` (one of `veil_crypto::labels::circuits`, see [`crate::domains`]):
    /// SHA-256 of the label, reduced into the field.
    pub fn new(label: impl AsRef<[u8]>) -> Self {
        Self(Fr::from_le_bytes_mod_order(&Sha256::digest(label.as_ref())))
    }

    /// The tag as a field element.
    pub fn value(self) -> Fr {
        self.0
    }
}

/// The Poseidon permutation of width 3 or 5, in place.
///
/// # Panics
/// For any other width: a programming error, since every caller hashes a fixed number of
/// elements (2 or 4, never a number taken from input).
pub fn permute(state: &mut [Fr]) {
    let arity = match state.len() {
        3 => Arity::Two,
        5 => Arity::Four,
        #[allow(clippy::panic)]
        width => panic!("no Poseidon parameters for width {width}"),
    };
    let params = params(arity);
    let rounds = FULL_ROUNDS + params.partial;
    let width = state.len();
    let mut mixed = vec![Fr::from(0u64); width];
    for round in 0..rounds {
        for (x, c) in state.iter_mut().zip(&params.ark[round]) {
            *x += c;
        }
        if is_full(round, rounds) {
            for x in state.iter_mut() {
                *x = x.pow([5]);
            }
        } else {
            state[0] = state[0].pow([5]);
        }
        for (out, row) in mixed.iter_mut().zip(&params.mds) {
            *out = row.iter().zip(state.iter()).map(|(m, x)| *m * x).sum();
        }
        state.copy_from_slice(&mixed);
    }
}

fn is_full(round: usize, rounds: usize) -> bool {
    round < FULL_ROUNDS / 2 || round >= rounds - FULL_ROUNDS / 2
}

/// Poseidon hash of 2 or 4 field elements under `domain`: the first element of the permuted
/// state `[domain, inputs…]`.
pub fn hash(domain: Domain, inputs: &[Fr]) -> Fr {
    let mut state = Vec::with_capacity(inputs.len() + 1);
    state.push(domain.0);
    state.extend_from_slice(inputs);
    permute(&mut state);
    state[0]
}

/// The gadget twin of [`hash`]: 3 constraints per S-box whose input is not a constant (240
/// for 2 inputs, 297 for 4: the domain tag's first S-box is free).
pub fn hash_var(domain: Domain, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let arity = match inputs.len() {
        2 => Arity::Two,
        4 => Arity::Four,
        _ => return Err(SynthesisError::Unsatisfiable),
    };
    let params = params(arity);
    let rounds = FULL_ROUNDS + params.partial;
    let mut state = Vec::with_capacity(inputs.len() + 1);
    state.push(FpVar::constant(domain.0));
    state.extend_from_slice(inputs);
    for round in 0..rounds {
        for (x, c) in state.iter_mut().zip(&params.ark[round]) {
            *x += *c;
        }
        if is_full(round, rounds) {
            for x in state.iter_mut() {
                *x = sbox(x)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        state = params
            .mds
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&state)
                    .fold(FpVar::zero(), |acc, (m, x)| acc + x * *m)
            })
            .collect();
    }
    Ok(state.swap_remove(0))
}

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::BigInteger as _;
    use ark_r1cs_std::R1CSVar as _;
    use ark_r1cs_std::alloc::AllocVar as _;
    use ark_relations::r1cs::ConstraintSystem;

    fn hex(x: Fr) -> String {
        x.into_bigint()
            .to_bytes_be()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn ints(values: &[u64]) -> Vec<Fr> {
        values.iter().map(|v| Fr::from(*v)).collect()
    }

    /// `poseidonperm_x5_254_3` from the Poseidon authors' reference implementation
    /// (hadeshash, `test_vectors.txt`): the permutation of `[0, 1, 2]`.
    #[test]
    fn width_3_matches_the_reference_permutation() {
        let mut state = ints(&[0, 1, 2]);
        permute(&mut state);
        assert_eq!(
            state.into_iter().map(hex).collect::<Vec<_>>(),
            [
                "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a",
                "0fca49b798923ab0239de1c9e7a4a9a2210312b6a2f616d18b5a87f9b628ae29",
                "0e7ae82e40091e63cbd4f16a6d16310b3729d4b6e138fcf54110e2867045a30c",
            ]
        );
    }

    /// `poseidonperm_x5_254_5` of `[0, 1, 2, 3, 4]`; its first element is circomlib's
    /// `poseidon([1, 2, 3, 4])`.
    #[test]
    fn width_5_matches_the_reference_permutation() {
        let mut state = ints(&[0, 1, 2, 3, 4]);
        permute(&mut state);
        assert_eq!(
            hex(state[0]),
            "299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465"
        );
        assert_eq!(
            hex(hash(Domain::NONE, &ints(&[1, 2, 3, 4]))),
            "299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465"
        );
    }

    #[test]
    fn domains_separate() {
        let inputs = ints(&[7, 8]);
        assert_ne!(
            hash(Domain::new("a"), &inputs),
            hash(Domain::new("b"), &inputs)
        );
        assert_ne!(hash(Domain::new("a"), &inputs), hash(Domain::NONE, &inputs));
    }

    #[test]
    fn gadget_matches_native_at_three_constraints_per_sbox() {
        for (inputs, constraints) in [(ints(&[3, 4]), 240), (ints(&[5, 6, 7, 8]), 297)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars: Vec<FpVar<Fr>> = inputs
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let domain = Domain::new("veil.test");
            let out = hash_var(domain, &vars).unwrap();
            assert_eq!(out.value().unwrap(), hash(domain, &inputs));
            assert!(cs.is_satisfied().unwrap());
            assert_eq!(cs.num_constraints(), constraints);
        }
    }

    #[test]
    fn gadget_rejects_a_wrong_output() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap();
        let out = hash_var(Domain::NONE, &[a, b]).unwrap();
        let claimed = FpVar::new_input(cs.clone(), || Ok(Fr::from(3u64))).unwrap();
        ark_r1cs_std::eq::EqGadget::enforce_equal(&out, &claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
