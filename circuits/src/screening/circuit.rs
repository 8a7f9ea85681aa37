//! The screening statement in R1CS.

use ark_bn254::Fr;
use ark_ff::One as _;
use ark_r1cs_std::alloc::AllocVar as _;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget as _;
use ark_r1cs_std::fields::FieldVar as _;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget as _;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::statement::{GAP_BITS, ScreeningPublic, ScreeningWitness, VALUE_BITS};
use super::tree::{DEPTH, Path};
use crate::domains;
use crate::gadgets::enforce_bits;
use crate::poseidon::hash_var;

/// The R1CS circuit. In setup, `public` and `witness` are `None`.
#[derive(Debug, Clone, Default)]
pub struct ScreeningCircuit {
    /// The public statement.
    pub public: Option<ScreeningPublic>,
    /// The witness.
    pub witness: Option<ScreeningWitness>,
}

impl ScreeningCircuit {
    /// The circuit for key generation.
    pub fn blank() -> Self {
        Self::default()
    }
}

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

/// The root a path leads to from `leaf`, in R1CS: per level three sibling witnesses, two
/// position bits and five products (304 constraints, 297 of them the Poseidon hash).
///
/// With the position `p = b + 2h` (bits `b`, `h`), the node and its siblings `s0, s1, s2` sit
/// as `[n, s0, s1, s2]`, `[s0, n, s1, s2]`, `[s0, s1, n, s2]` or `[s0, s1, s2, n]`: the pair
/// holding the node (the *active* pair) is `(n, u)` or `(u, n)` by `b`, with `u = s0` when
/// `h = 0` and `u = s2` when `h = 1`; the other pair is `(s1, s2)` or `(s0, s1)`; and `h`
/// says which pair comes first. Each selection is one product; each pair's second element
/// and each swap's other side are linear (sum minus the selected one), so free.
fn path_root_var(
    cs: &ConstraintSystemRef<Fr>,
    leaf: FpVar<Fr>,
    path: Option<&Path>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut node = leaf;
    for level in 0..DEPTH {
        let siblings: Vec<FpVar<Fr>> = (0..3)
            .map(|i| {
                FpVar::new_witness(cs.clone(), || {
                    path.and_then(|p| p.siblings.get(level))
                        .map(|s| s[i])
                        .ok_or_else(missing)
                })
            })
            .collect::<Result<_, _>>()?;
        let position = path.and_then(|p| p.positions.get(level).copied());
        let low = Boolean::new_witness(cs.clone(), || {
            position.map(|p| p & 1 == 1).ok_or_else(missing)
        })?;
        let high = Boolean::new_witness(cs.clone(), || {
            position.map(|p| p & 2 == 2).ok_or_else(missing)
        })?;
        let [s0, s1, s2] = [&siblings[0], &siblings[1], &siblings[2]];
        // The active pair: (n, u) when b = 0, (u, n) when b = 1.
        let u = FpVar::conditionally_select(&high, s2, s0)?;
        let active0 = FpVar::conditionally_select(&low, &u, &node)?;
        let active1 = &node + &u - &active0;
        // The other pair: (s1, s2) when h = 0, (s0, s1) when h = 1. Its second element is
        // s1 + s2 + h·(s0 − s2) − other0, and h·(s0 − s2) = s0 − u.
        let other0 = FpVar::conditionally_select(&high, s0, s1)?;
        let other1 = s0 + s1 + s2 - &u - &other0;
        // h = 0: [active0, active1, other0, other1]; h = 1: [other0, other1, active0, active1].
        let c0 = FpVar::conditionally_select(&high, &other0, &active0)?;
        let c1 = FpVar::conditionally_select(&high, &other1, &active1)?;
        let c2 = &active0 + &other0 - &c0;
        let c3 = &active1 + &other1 - &c1;
        node = hash_var(domains::merkle_node(), &[c0, c1, c2, c3])?;
    }
    Ok(node)
}

impl ConstraintSynthesizer<Fr> for ScreeningCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = self.public.as_ref().map(ScreeningPublic::inputs);
        let input = |i: usize| {
            FpVar::new_input(cs.clone(), || {
                inputs
                    .as_ref()
                    .and_then(|v| v.get(i).copied())
                    .ok_or_else(missing)
            })
        };
        // The entry id is bound as a public input only (Groth16 commits to every input).
        let _entry = input(0)?;
        let kyc_root = input(1)?;
        let blocklist_root = input(2)?;
        let commitment = input(3)?;

        let witness = self.witness.as_ref();
        let value = |f: fn(&ScreeningWitness) -> Fr| {
            FpVar::new_witness(cs.clone(), || witness.map(f).ok_or_else(missing))
        };
        let x = value(|w| w.reference)?;
        let blinding = value(|w| w.blinding)?;
        let low = value(|w| w.low)?;
        let high = value(|w| w.high)?;
        let x_value = witness.map(|w| w.reference);
        enforce_bits(&cs, &x, x_value, VALUE_BITS)?;
        hash_var(domains::borrower(), &[x.clone(), blinding])?.enforce_equal(&commitment)?;

        let kyc = hash_var(domains::kyc_leaf(), &[x.clone(), FpVar::zero()])?;
        path_root_var(&cs, kyc, witness.map(|w| &w.kyc_path))?.enforce_equal(&kyc_root)?;

        let one = Fr::one();
        let below = &x - &low - FpVar::constant(one);
        let above = &high - &x - FpVar::constant(one);
        enforce_bits(
            &cs,
            &below,
            witness.map(|w| w.reference - w.low - one),
            GAP_BITS,
        )?;
        enforce_bits(
            &cs,
            &above,
            witness.map(|w| w.high - w.reference - one),
            GAP_BITS,
        )?;
        let gap = hash_var(domains::blocklist_gap(), &[low, high])?;
        path_root_var(&cs, gap, witness.map(|w| &w.gap_path))?.enforce_equal(&blocklist_root)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::fixtures::{circuit_accepts, reference, registry, statement};
    use crate::screening::{PUBLIC_INPUTS, ScreeningPublic, check, reference_commitment};
    use ark_relations::r1cs::{ConstraintSystem, OptimizationGoal};
    use proptest::prelude::*;

    #[test]
    fn an_honest_statement_satisfies_both_checkers() {
        for seed in [0x02, 0x11, 0x42, 0x80, 0xfe] {
            let (public, witness) = statement(seed);
            check(&public, &witness).unwrap();
            assert!(circuit_accepts(&public, &witness), "seed {seed}");
        }
    }

    /// Every single witness variable — the reference and its bits, the blinding, every Merkle
    /// path element (siblings, position bits, selections), the interval bounds and both gap
    /// decompositions, every Poseidon intermediate — changed alone leaves the constraint system
    /// unsatisfied, and so do the roots and the commitment (the entry id, input 1, is bound by
    /// Groth16 alone; see the groth16 tests).
    #[test]
    fn perturbing_any_variable_breaks_the_circuit() {
        let (public, witness) = statement(0x42);
        let cs = crate::test_support::satisfied(ScreeningCircuit {
            public: Some(public),
            witness: Some(witness),
        });
        assert_eq!(cs.num_instance_variables(), 1 + PUBLIC_INPUTS);
        crate::test_support::every_variable_is_constrained(&cs, 5000, 2);
    }

    #[test]
    fn constraint_count() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        let (public, witness) = statement(0x42);
        ScreeningCircuit {
            public: Some(public),
            witness: Some(witness),
        }
        .generate_constraints(cs.clone())
        .unwrap();
        let n = cs.num_constraints();
        println!("screening circuit: {n} constraints");
        assert!((6_000..9_000).contains(&n), "{n} constraints");
    }

    #[derive(Debug, Clone)]
    enum Perturb {
        None,
        Reference(u64),
        Blinding,
        Low(i64),
        High(i64),
        KycSibling(usize, usize),
        GapSibling(usize, usize),
        KycPosition(usize),
        GapPosition(usize),
        Commitment,
        KycRoot,
        BlocklistRoot,
    }

    fn arb_perturb() -> impl Strategy<Value = Perturb> {
        prop_oneof![
            Just(Perturb::None),
            (1u64..4).prop_map(Perturb::Reference),
            Just(Perturb::Blinding),
            (-2i64..3).prop_map(Perturb::Low),
            (-2i64..3).prop_map(Perturb::High),
            (0..DEPTH, 0usize..3).prop_map(|(l, i)| Perturb::KycSibling(l, i)),
            (0..DEPTH, 0usize..3).prop_map(|(l, i)| Perturb::GapSibling(l, i)),
            (0..DEPTH).prop_map(Perturb::KycPosition),
            (0..DEPTH).prop_map(Perturb::GapPosition),
            Just(Perturb::Commitment),
            Just(Perturb::KycRoot),
            Just(Perturb::BlocklistRoot),
        ]
    }

    fn signed(x: Fr, delta: i64) -> Fr {
        if delta >= 0 {
            x + Fr::from(delta as u64)
        } else {
            x - Fr::from(delta.unsigned_abs())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn circuit_and_native_checker_agree(
            kyc in proptest::collection::btree_set(1u8..255, 1..12),
            blocklist in proptest::collection::btree_set(1u8..255, 0..12),
            pick in any::<prop::sample::Index>(),
            perturb in arb_perturb(),
        ) {
            let kyc: Vec<u8> = kyc.into_iter().collect();
            let blocklist: Vec<u8> = blocklist.into_iter().collect();
            let seed = kyc[pick.index(kyc.len())];
            let trees = registry(&kyc, &blocklist);
            // A blocklisted borrower gets no honest witness: build the closest cheat instead.
            let mut witness = match trees.witness(reference(seed), Fr::from(9u64)) {
                Ok(w) => w,
                Err(_) => {
                    let open = registry(&kyc, &[]);
                    open.witness(reference(seed), Fr::from(9u64)).unwrap()
                }
            };
            let mut public = ScreeningPublic {
                entry: [7; 16],
                roots: trees.roots(),
                commitment: reference_commitment(witness.reference, witness.blinding),
            };
            match perturb {
                Perturb::None => {}
                Perturb::Reference(d) => witness.reference += Fr::from(d),
                Perturb::Blinding => witness.blinding += Fr::one(),
                Perturb::Low(d) => witness.low = signed(witness.low, d),
                Perturb::High(d) => witness.high = signed(witness.high, d),
                Perturb::KycSibling(l, i) => witness.kyc_path.siblings[l][i] += Fr::one(),
                Perturb::GapSibling(l, i) => witness.gap_path.siblings[l][i] += Fr::one(),
                Perturb::KycPosition(l) => {
                    witness.kyc_path.positions[l] = (witness.kyc_path.positions[l] + 1) % 4;
                }
                Perturb::GapPosition(l) => {
                    witness.gap_path.positions[l] = (witness.gap_path.positions[l] + 1) % 4;
                }
                Perturb::Commitment => public.commitment += Fr::one(),
                Perturb::KycRoot => public.roots.kyc += Fr::one(),
                Perturb::BlocklistRoot => public.roots.blocklist += Fr::one(),
            }
            let native = check(&public, &witness).is_ok();
            prop_assert_eq!(native, circuit_accepts(&public, &witness));
            let blocklisted = blocklist.contains(&seed);
            if matches!(perturb, Perturb::None) {
                prop_assert_eq!(native, !blocklisted);
            }
        }
    }
}
