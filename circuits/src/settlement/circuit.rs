//! The settlement statement in R1CS.

use ark_bn254::Fr;
use ark_ff::{One as _, Zero as _};
use ark_r1cs_std::alloc::AllocVar as _;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget as _;
use ark_r1cs_std::fields::FieldVar as _;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget as _;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use veil_crypto::allocation::BASIS_POINTS as BPS;

use super::shape::{SHARE_BITS, Shape};
use super::statement::{Repayment, SettlementPublic, SettlementWitness};
use crate::gadgets::{bits_of, entry_field};
use crate::poseidon::hash_var;
use crate::{domains, merkle};

/// The R1CS circuit. In setup, `public` and `witness` are `None`.
#[derive(Debug, Clone)]
pub struct SettlementCircuit {
    /// The shape.
    pub shape: Shape,
    /// The public statement.
    pub public: Option<SettlementPublic>,
    /// The witness.
    pub witness: Option<SettlementWitness>,
}

impl SettlementCircuit {
    /// The circuit for key generation.
    pub fn blank(shape: Shape) -> Self {
        Self {
            shape,
            public: None,
            witness: None,
        }
    }
}

/// The sum of `terms` (arkworks' `Sum` panics when no term is a variable).
fn sum(terms: impl Iterator<Item = FpVar<Fr>>) -> FpVar<Fr> {
    terms.fold(FpVar::zero(), |acc, term| acc + term)
}

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

impl ConstraintSynthesizer<Fr> for SettlementCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let Shape { capacity, banks } = self.shape;
        let public = self.public.as_ref();
        let witness = self.witness.as_ref();
        let input = |value: Option<Fr>| FpVar::new_input(cs.clone(), || value.ok_or_else(missing));
        let inputs = public.map(SettlementPublic::inputs);
        let at = |i: usize| inputs.as_ref().and_then(|v| v.get(i).copied());

        // The entry id and the period are bound as public inputs only: Groth16 commits to
        // every public input, so a proof for one entry or period fails for any other.
        let _entry = input(at(0))?;
        let _period = input(at(1))?;
        let root = input(at(2))?;
        let count = input(at(3))?;
        let originator = input(at(4))?;
        let due_commitments = (0..banks)
            .map(|b| input(at(5 + b)))
            .collect::<Result<Vec<_>, _>>()?;

        // The originator's slot as a one-hot vector.
        let originator_slot = public.map(|p| p.originator);
        let selected = (0..banks)
            .map(|b| {
                Boolean::new_witness(cs.clone(), || {
                    originator_slot.map(|o| o == b as u64).ok_or_else(missing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let one_hot = sum(selected.iter().map(|s| FpVar::from(s.clone())));
        one_hot.enforce_equal(&FpVar::one())?;
        let index = sum(selected
            .iter()
            .enumerate()
            .map(|(b, s)| FpVar::from(s.clone()) * Fr::from(b as u64)));
        index.enforce_equal(&originator)?;

        let mut leaves = Vec::with_capacity(capacity);
        let mut totals = vec![FpVar::<Fr>::zero(); banks];
        let mut repaid = FpVar::<Fr>::zero();
        let mut active_count = FpVar::<Fr>::zero();
        let mut previous_active = Boolean::TRUE;
        for slot in 0..capacity {
            // Slots past the period's repayments are padding: all zero.
            let repayment = witness.map(|w| w.repayments.get(slot));
            let active = Boolean::new_witness(cs.clone(), || {
                repayment.map(|r| r.is_some()).ok_or_else(missing)
            })?;
            // Active slots come first.
            FpVar::from(active.clone()).mul_equals(
                &(FpVar::one() - FpVar::from(previous_active.clone())),
                &FpVar::zero(),
            )?;
            active_count += FpVar::from(active.clone());
            previous_active = active.clone();

            let value = |f: &dyn Fn(&Repayment) -> u64| repayment.map(|r| r.map_or(0, f));
            let entry = FpVar::new_witness(cs.clone(), || {
                repayment
                    .map(|r| r.map_or(Fr::zero(), |r| entry_field(&r.entry)))
                    .ok_or_else(missing)
            })?;
            let (_, amount) = bits_of(&cs, value(&|r| r.amount), 64)?;
            let mut shares = Vec::with_capacity(banks);
            for b in 0..banks {
                let share = value(&|r| r.shares.get(b).copied().unwrap_or(0));
                shares.push(bits_of(&cs, share, SHARE_BITS)?.1);
            }
            let share_sum = sum(shares.iter().cloned());
            share_sum.enforce_equal(&(FpVar::from(active.clone()) * Fr::from(BPS)))?;
            let step = Fr::from(1u64 << SHARE_BITS);
            let mut power = Fr::one();
            let mut packed = FpVar::<Fr>::zero();
            for share in &shares {
                packed += share * power;
                power *= step;
            }
            let blinding = FpVar::new_witness(cs.clone(), || {
                repayment
                    .map(|r| r.map_or(Fr::zero(), |r| r.blinding))
                    .ok_or_else(missing)
            })?;
            leaves.push(hash_var(
                domains::repayment(),
                &[entry, amount.clone(), packed, blinding],
            )?);

            // Per bank: amount × share = 10000 × q + rem, q < 2⁶⁴, 0 ≤ rem ≤ 9999: q is the
            // floor. The originator's own floor is computed too but not used.
            for (b, share) in shares.iter().enumerate() {
                let split = repayment.map(|r| {
                    r.map_or((0, 0), |r| {
                        let product = u128::from(r.amount)
                            * u128::from(r.shares.get(b).copied().unwrap_or(0));
                        (
                            (product / u128::from(BPS)) as u64,
                            (product % u128::from(BPS)) as u64,
                        )
                    })
                });
                let (_, quotient) = bits_of(&cs, split.map(|s| s.0), 64)?;
                let (_, remainder) = bits_of(&cs, split.map(|s| s.1), SHARE_BITS)?;
                let (_, headroom) = bits_of(
                    &cs,
                    split.map(|s| (BPS - 1).saturating_sub(s.1)),
                    SHARE_BITS,
                )?;
                headroom.enforce_equal(&(FpVar::constant(Fr::from(BPS - 1)) - &remainder))?;
                amount.mul_equals(share, &(&quotient * Fr::from(BPS) + &remainder))?;
                totals[b] += &quotient;
            }
            repaid += &amount;
        }
        active_count.enforce_equal(&count)?;
        merkle::root_var(&leaves)?.enforce_equal(&root)?;

        // The originator is due everything repaid minus the others' floors.
        let floors = sum(totals.iter().cloned());
        let mut own = FpVar::<Fr>::zero();
        for (total, selected) in totals.iter().zip(&selected) {
            own += FpVar::from(selected.clone()) * total;
        }
        let originator_due = repaid - floors + own;
        let blindings = witness.map(|w| &w.due_blindings);
        for (b, ((total, selected), commitment)) in totals
            .iter()
            .zip(&selected)
            .zip(&due_commitments)
            .enumerate()
        {
            let due = FpVar::conditionally_select(selected, &originator_due, total)?;
            let blinding = FpVar::new_witness(cs.clone(), || {
                blindings
                    .and_then(|v| v.get(b).copied())
                    .ok_or_else(missing)
            })?;
            hash_var(domains::due(), &[due, blinding])?.enforce_equal(commitment)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::fixtures::{SMALL, circuit_accepts, repayment, statement, three};
    use crate::settlement::{check, due_commitment, dues};
    use ark_relations::r1cs::{ConstraintSystem, OptimizationGoal};
    use proptest::prelude::*;

    #[test]
    fn an_honest_statement_satisfies_both_checkers() {
        for originator in 0..3 {
            let (public, witness) = statement(SMALL, three(), originator);
            check(SMALL, &public, &witness).unwrap();
            assert!(circuit_accepts(SMALL, &public, &witness));
        }
        let (public, witness) = statement(SMALL, Vec::new(), 1);
        check(SMALL, &public, &witness).unwrap();
        assert!(circuit_accepts(SMALL, &public, &witness));
    }

    #[test]
    fn a_single_bank_consortium_works() {
        let shape = Shape::new(4, 1).unwrap();
        let repayments = vec![Repayment {
            entry: [1; 16],
            amount: 500,
            shares: vec![10_000],
            blinding: Fr::from(3u64),
        }];
        let (public, witness) = statement(shape, repayments, 0);
        check(shape, &public, &witness).unwrap();
        assert!(circuit_accepts(shape, &public, &witness));
    }

    #[test]
    fn extreme_amounts_fit() {
        let repayments = vec![
            repayment(1, u64::MAX, [1, 9_998, 1]),
            repayment(2, u64::MAX, [0, 0, 10_000]),
        ];
        let (public, witness) = statement(SMALL, repayments, 2);
        check(SMALL, &public, &witness).unwrap();
        assert!(circuit_accepts(SMALL, &public, &witness));
    }

    /// Every single witness variable of a satisfied circuit — amounts, shares, blindings,
    /// every allocation (quotient) bit, every rounding remainder and its headroom, the
    /// originator selector, the padding flags, and every Merkle and Poseidon intermediate —
    /// changed alone leaves the constraint system unsatisfied, and so does every public input
    /// but the entry id and the period (inputs 1 and 2; input 0 is the constant one), which
    /// are bound by Groth16 alone (see the groth16 tests).
    #[test]
    fn perturbing_any_variable_breaks_the_circuit() {
        for originator in [0, 1] {
            let (public, witness) = statement(SMALL, three(), originator);
            let cs = crate::test_support::satisfied(SettlementCircuit {
                shape: SMALL,
                public: Some(public),
                witness: Some(witness),
            });
            crate::test_support::every_variable_is_constrained(&cs, 1000, 3);
        }
    }

    #[test]
    fn a_wrong_rounding_is_refused_by_both() {
        // Give the rounding remainder of one repayment to a partner instead of the
        // originator: the amounts due are off by one.
        let (mut public, witness) = statement(SMALL, three(), 0);
        let mut due = dues(&witness.repayments, 3, 0).unwrap();
        due[0] -= 1;
        due[1] += 1;
        public.due = due
            .iter()
            .zip(&witness.due_blindings)
            .map(|(d, r)| due_commitment(*d, *r))
            .collect();
        assert!(check(SMALL, &public, &witness).is_err());
        assert!(!circuit_accepts(SMALL, &public, &witness));
    }

    #[test]
    fn constraints_per_repayment() {
        let per = |capacity| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            cs.set_optimization_goal(OptimizationGoal::Constraints);
            cs.set_mode(ark_relations::r1cs::SynthesisMode::Setup);
            SettlementCircuit::blank(Shape::new(capacity, 4).unwrap())
                .generate_constraints(cs.clone())
                .unwrap();
            cs.num_constraints()
        };
        let (small, large) = (per(16), per(64));
        let marginal = (large - small) / 48;
        println!(
            "settlement: {small} constraints at capacity 16, {large} at 64, {marginal} per repayment"
        );
        // 64 amount bits, 4×(14 share + 64 floor + 28 remainder + 1 product) bits and
        // constraints, 300 for the leaf, 100 for its share of the tree, 2 for padding.
        assert!((850..=1000).contains(&marginal), "{marginal} per repayment");
    }

    fn arb_repayment() -> impl Strategy<Value = Repayment> {
        (
            any::<u8>(),
            any::<u64>(),
            0u64..=10_000,
            0u64..=10_000,
            any::<u64>(),
        )
            .prop_map(|(seed, amount, a, b, blinding)| {
                let (low, high) = if a <= b { (a, b) } else { (b, a) };
                Repayment {
                    entry: [seed; 16],
                    amount,
                    shares: vec![low, high - low, 10_000 - high],
                    blinding: Fr::from(blinding),
                }
            })
    }

    /// A perturbation of a satisfied statement.
    #[derive(Debug, Clone)]
    enum Perturb {
        None,
        Share {
            slot: usize,
            bank: usize,
            delta: i64,
        },
        Amount {
            slot: usize,
            delta: i64,
        },
        Count(i64),
        Originator(u64),
        DueBlinding(usize),
        Due {
            bank: usize,
            delta: i64,
        },
        Drop(usize),
    }

    fn arb_perturb() -> impl Strategy<Value = Perturb> {
        prop_oneof![
            Just(Perturb::None),
            (0..4usize, 0..3usize, -2i64..=2).prop_map(|(slot, bank, delta)| Perturb::Share {
                slot,
                bank,
                delta
            }),
            (0..4usize, -2i64..=2).prop_map(|(slot, delta)| Perturb::Amount { slot, delta }),
            (-1i64..=1).prop_map(Perturb::Count),
            (0u64..5).prop_map(Perturb::Originator),
            (0..3usize).prop_map(Perturb::DueBlinding),
            (0..3usize, -1i64..=1).prop_map(|(bank, delta)| Perturb::Due { bank, delta }),
            (0..4usize).prop_map(Perturb::Drop),
        ]
    }

    fn shift(x: u64, delta: i64) -> u64 {
        x.wrapping_add_signed(delta)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The circuit and the native checker accept and reject the same statements.
        #[test]
        fn circuit_and_native_checker_agree(
            repayments in proptest::collection::vec(arb_repayment(), 0..=4),
            originator in 0usize..3,
            perturb in arb_perturb(),
        ) {
            let (mut public, mut witness) = statement(SMALL, repayments, originator);
            match perturb {
                Perturb::None => {}
                Perturb::Share { slot, bank, delta } => {
                    if let Some(r) = witness.repayments.get_mut(slot) {
                        r.shares[bank] = shift(r.shares[bank], delta);
                    }
                }
                Perturb::Amount { slot, delta } => {
                    if let Some(r) = witness.repayments.get_mut(slot) {
                        r.amount = shift(r.amount, delta);
                    }
                }
                Perturb::Count(delta) => public.count = shift(public.count, delta),
                Perturb::Originator(o) => public.originator = o,
                Perturb::DueBlinding(b) => witness.due_blindings[b] += Fr::from(1u64),
                Perturb::Due { bank, delta } => {
                    let due = dues(&witness.repayments, 3, originator).unwrap();
                    let changed = (due[bank] as i128 + i128::from(delta)).max(0) as u128;
                    public.due[bank] = due_commitment(changed, witness.due_blindings[bank]);
                }
                Perturb::Drop(slot) => {
                    if slot < witness.repayments.len() {
                        witness.repayments.remove(slot);
                    }
                }
            }
            let native = check(SMALL, &public, &witness).is_ok();
            // Witnesses the circuit cannot even hold (a share of 2^14 or more) are refused
            // by both: the circuit's bit decomposition has no room for them.
            let fits = witness.repayments.iter().all(|r| r.shares.iter().all(|s| *s < 1 << SHARE_BITS));
            let circuit = fits && circuit_accepts(SMALL, &public, &witness);
            prop_assert_eq!(native, circuit);
        }
    }
}
