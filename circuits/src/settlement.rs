//! The period settlement statement: each bank's amount due is the share-weighted sum of the
//! period's repayments, rounded exactly as the gateway allocates them.
//!
//! **Public** ([`SettlementPublic`]): the settlement entry's id, the period, the Poseidon Merkle
//! root of the period's repayment commitments, how many repayments there are, the originator's
//! bank slot, and one Poseidon commitment per bank slot to that bank's amount due.
//!
//! **Private** ([`SettlementWitness`]): every repayment's amount, share vector and commitment
//! blinding, and the blinding of each amount-due commitment.
//!
//! **Relation** (checked natively by [`check`] and in R1CS by [`SettlementCircuit`]): for
//! repayment `i` with amount `aᵢ < 2⁶⁴` and shares `sᵢ,b < 2¹⁴` summing to 10000, leaf
//! `Lᵢ = Poseidon₄[leaf](entry idᵢ, aᵢ, Σ_b sᵢ,b·2^(14b), rᵢ)`; the root is over `L₀…L_{n−1}`
//! padded with `Poseidon₄[leaf](0, 0, 0, 0)` to the capacity; every bank `b` other than the
//! originator `o` is due `Σᵢ floor(aᵢ·sᵢ,b / 10000)`, the originator `Σᵢ aᵢ` minus everything
//! due to the others (the remainders stay with the originator); and commitment
//! `C_b = Poseidon₂[due](due_b, ρ_b)`.

use ark_bn254::Fr;
use ark_ff::{One as _, Zero as _};
use ark_r1cs_std::alloc::AllocVar as _;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget as _;
use ark_r1cs_std::fields::FieldVar as _;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget as _;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::gadgets::{bits_of, entry_field};
use crate::groth16::{PROOF_LEN, field};
use crate::merkle;
use crate::poseidon::{hash, hash_var};
use crate::{CircuitError, domains};

/// Basis points in a whole.
pub const BPS: u64 = 10_000;
/// Bits of one share (shares are below 2¹⁴ = 16384 > 10000).
pub const SHARE_BITS: usize = 14;
/// Most bank slots a settlement circuit has: the packed share vector must fit one field
/// element (18 × 14 = 252 bits).
pub const MAX_BANKS: usize = 18;
/// The capacities keys are made for; a period uses the smallest that holds it.
pub const CAPACITIES: [usize; 3] = [16, 256, 1024];

/// The shape a circuit (and its keys) is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shape {
    /// Repayment slots (a power of 4); unused slots are padding.
    pub capacity: usize,
    /// Bank slots, in genesis member order.
    pub banks: usize,
}

impl Shape {
    /// A shape, checked.
    pub fn new(capacity: usize, banks: usize) -> Result<Self, CircuitError> {
        if !merkle::is_power_of_four(capacity) || capacity > 4096 {
            return Err(CircuitError::Shape(format!(
                "capacity {capacity} is not a power of 4 up to 4096"
            )));
        }
        if banks == 0 || banks > MAX_BANKS {
            return Err(CircuitError::Shape(format!(
                "{banks} banks: a settlement circuit has 1 to {MAX_BANKS} bank slots"
            )));
        }
        Ok(Self { capacity, banks })
    }

    /// The smallest of `capacities` that holds `repayments`.
    pub fn fitting(capacities: &[usize], repayments: usize) -> Option<usize> {
        capacities
            .iter()
            .copied()
            .filter(|c| *c >= repayments)
            .min()
    }

    /// The number of public inputs (without the constant one).
    pub fn public_inputs(&self) -> usize {
        5 + self.banks
    }
}

/// One repayment as the circuit sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repayment {
    /// The repayment entry's id.
    pub entry: [u8; 16],
    /// The amount repaid, in fen.
    pub amount: u64,
    /// Each bank slot's share in basis points (zero for banks outside the loan).
    pub shares: Vec<u64>,
    /// The commitment's blinding.
    pub blinding: Fr,
}

impl Repayment {
    /// The repayment's Poseidon commitment: its leaf in the period's tree.
    pub fn commitment(&self) -> Fr {
        leaf(
            entry_field(&self.entry),
            Fr::from(self.amount),
            pack_shares(&self.shares),
            self.blinding,
        )
    }
}

fn leaf(entry: Fr, amount: Fr, shares: Fr, blinding: Fr) -> Fr {
    hash(domains::repayment(), &[entry, amount, shares, blinding])
}

/// The padding leaf: the commitment of an all-zero repayment.
pub fn padding_leaf() -> Fr {
    leaf(Fr::zero(), Fr::zero(), Fr::zero(), Fr::zero())
}

/// Shares packed 14 bits each, slot 0 lowest.
pub fn pack_shares(shares: &[u64]) -> Fr {
    let mut packed = Fr::zero();
    let mut power = Fr::one();
    let step = Fr::from(1u64 << SHARE_BITS);
    for share in shares {
        packed += power * Fr::from(*share);
        power *= step;
    }
    packed
}

/// The Merkle root over a period's repayment commitments, padded to `capacity`.
pub fn root(commitments: &[Fr], capacity: usize) -> Result<Fr, CircuitError> {
    if commitments.len() > capacity || !merkle::is_power_of_four(capacity) {
        return Err(CircuitError::Shape(format!(
            "{} repayments do not fit capacity {capacity}",
            commitments.len()
        )));
    }
    let mut leaves = commitments.to_vec();
    leaves.resize(capacity, padding_leaf());
    Ok(merkle::root(&leaves))
}

/// A commitment to a bank's amount due.
pub fn due_commitment(due: u128, blinding: Fr) -> Fr {
    hash(domains::due(), &[Fr::from(due), blinding])
}

/// How one repayment is allocated: floor(amount × share / 10000) to every bank but the
/// originator, the rest to the originator. `None` if the shares do not sum to 10000 or a slot
/// is out of range.
pub fn allocate(amount: u64, shares: &[u64], originator: usize) -> Option<Vec<u64>> {
    if originator >= shares.len()
        || shares.iter().any(|s| *s >= 1 << SHARE_BITS)
        || shares.iter().sum::<u64>() != BPS
    {
        return None;
    }
    let mut allocations: Vec<u64> = shares
        .iter()
        .map(|s| (u128::from(amount) * u128::from(*s) / u128::from(BPS)) as u64)
        .collect();
    let others: u64 = allocations
        .iter()
        .enumerate()
        .filter(|(b, _)| *b != originator)
        .map(|(_, a)| *a)
        .sum();
    allocations[originator] = amount - others;
    Some(allocations)
}

/// Each bank slot's amount due over `repayments`.
pub fn dues(repayments: &[Repayment], banks: usize, originator: usize) -> Option<Vec<u128>> {
    let mut due = vec![0u128; banks];
    for repayment in repayments {
        if repayment.shares.len() != banks {
            return None;
        }
        for (total, allocation) in
            due.iter_mut()
                .zip(allocate(repayment.amount, &repayment.shares, originator)?)
        {
            *total += u128::from(allocation);
        }
    }
    Some(due)
}

/// The public statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementPublic {
    /// The `settlement.closed` entry's id (so that a proof, even re-randomized, is bound to
    /// one entry).
    pub entry: [u8; 16],
    /// The period as a number: `YYYYMM` or `YYYYMMDD` (see [`crate::period_number`]).
    pub period: u64,
    /// The Merkle root of the period's repayment commitments.
    pub root: Fr,
    /// How many repayments the period has.
    pub count: u64,
    /// The originator's bank slot.
    pub originator: u64,
    /// Per bank slot, the commitment to its amount due.
    pub due: Vec<Fr>,
}

impl SettlementPublic {
    /// The public inputs in circuit order.
    pub fn inputs(&self) -> Vec<Fr> {
        let mut inputs = vec![
            entry_field(&self.entry),
            Fr::from(self.period),
            self.root,
            Fr::from(self.count),
            Fr::from(self.originator),
        ];
        inputs.extend_from_slice(&self.due);
        inputs
    }
}

/// The private witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementWitness {
    /// The period's repayments, in the order of the settlement's references.
    pub repayments: Vec<Repayment>,
    /// Per bank slot, the blinding of its amount-due commitment.
    pub due_blindings: Vec<Fr>,
}

/// The native checker: whether `witness` satisfies the statement `public` for `shape`.
pub fn check(
    shape: Shape,
    public: &SettlementPublic,
    witness: &SettlementWitness,
) -> Result<(), CircuitError> {
    let fail = |why: &str| Err(CircuitError::Unsatisfied(why.to_owned()));
    if public.due.len() != shape.banks || witness.due_blindings.len() != shape.banks {
        return fail("one commitment per bank slot");
    }
    if public.count != witness.repayments.len() as u64 {
        return fail("count is not the number of repayments");
    }
    let originator = usize::try_from(public.originator).unwrap_or(usize::MAX);
    if originator >= shape.banks {
        return fail("originator slot out of range");
    }
    let commitments: Vec<Fr> = witness
        .repayments
        .iter()
        .map(Repayment::commitment)
        .collect();
    if root(&commitments, shape.capacity)? != public.root {
        return fail("root does not match the repayments");
    }
    let Some(due) = dues(&witness.repayments, shape.banks, originator) else {
        return fail("a share vector is malformed");
    };
    for ((due, blinding), commitment) in due.iter().zip(&witness.due_blindings).zip(&public.due) {
        if due_commitment(*due, *blinding) != *commitment {
            return fail("an amount-due commitment does not match");
        }
    }
    Ok(())
}

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

/// What a `settlement.closed` entry carries in its circuit-proof slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementProof {
    /// The capacity of the circuit used (selects the verifying key).
    pub capacity: usize,
    /// The Merkle root of the period's repayment commitments.
    pub root: Fr,
    /// Per bank slot, the commitment to its amount due.
    pub due: Vec<Fr>,
    /// The Groth16 proof.
    pub proof: crate::Proof,
}

impl SettlementProof {
    /// `u16 capacity || [32] root || u8 n || n × [32] due commitment || [128] proof`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 32 + 1 + 32 * self.due.len() + PROOF_LEN);
        out.extend_from_slice(&(self.capacity as u16).to_be_bytes());
        out.extend_from_slice(&field::to_bytes(&self.root));
        out.push(self.due.len() as u8);
        for commitment in &self.due {
            out.extend_from_slice(&field::to_bytes(commitment));
        }
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes untrusted bytes: canonical field elements, a valid proof, no trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let short = || CircuitError::Encoding("settlement proof truncated".into());
        let (capacity, rest) = bytes.split_first_chunk::<2>().ok_or_else(short)?;
        let (root, rest) = rest.split_first_chunk::<32>().ok_or_else(short)?;
        let (n, mut rest) = rest.split_first().ok_or_else(short)?;
        if usize::from(*n) > MAX_BANKS {
            return Err(CircuitError::Encoding("too many bank slots".into()));
        }
        let mut due = Vec::with_capacity(usize::from(*n));
        for _ in 0..*n {
            let (commitment, tail) = rest.split_first_chunk::<32>().ok_or_else(short)?;
            due.push(field::from_bytes(commitment)?);
            rest = tail;
        }
        Ok(Self {
            capacity: usize::from(u16::from_be_bytes(*capacity)),
            root: field::from_bytes(root)?,
            due,
            proof: crate::Proof::from_bytes(rest)?,
        })
    }

    /// Verifies the proof for the settlement entry `entry` of `period` (as a number) by the
    /// member in bank slot `originator`, over the repayment commitments `leaves` (in the order
    /// of the entry's references), with `vk` the genesis key for [`Self::capacity`].
    pub fn verify(
        &self,
        vk: &crate::VerifyingKey,
        entry: &[u8; 16],
        period: u64,
        originator: usize,
        leaves: &[Fr],
    ) -> Result<(), CircuitError> {
        if root(leaves, self.capacity)? != self.root {
            return Err(CircuitError::Unsatisfied(
                "root does not match the referenced repayments".into(),
            ));
        }
        let public = SettlementPublic {
            entry: *entry,
            period,
            root: self.root,
            count: leaves.len() as u64,
            originator: originator as u64,
            due: self.due.clone(),
        };
        vk.verify(&public.inputs(), &self.proof)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ark_relations::r1cs::{ConstraintSystem, OptimizationGoal};
    use proptest::prelude::*;

    pub(crate) const SMALL: Shape = Shape {
        capacity: 4,
        banks: 3,
    };

    pub(crate) fn repayment(seed: u8, amount: u64, shares: [u64; 3]) -> Repayment {
        Repayment {
            entry: [seed; 16],
            amount,
            shares: shares.to_vec(),
            blinding: Fr::from(1000 + u64::from(seed)),
        }
    }

    /// A satisfied statement over `repayments`.
    pub(crate) fn statement(
        shape: Shape,
        repayments: Vec<Repayment>,
        originator: usize,
    ) -> (SettlementPublic, SettlementWitness) {
        let commitments: Vec<Fr> = repayments.iter().map(Repayment::commitment).collect();
        let due = dues(&repayments, shape.banks, originator).expect("valid shares");
        let due_blindings: Vec<Fr> = (0..shape.banks).map(|b| Fr::from(77 + b as u64)).collect();
        let public = SettlementPublic {
            entry: [9; 16],
            period: 202611,
            root: root(&commitments, shape.capacity).unwrap(),
            count: repayments.len() as u64,
            originator: originator as u64,
            due: due
                .iter()
                .zip(&due_blindings)
                .map(|(d, r)| due_commitment(*d, *r))
                .collect(),
        };
        (
            public,
            SettlementWitness {
                repayments,
                due_blindings,
            },
        )
    }

    fn circuit_accepts(
        shape: Shape,
        public: &SettlementPublic,
        witness: &SettlementWitness,
    ) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        let circuit = SettlementCircuit {
            shape,
            public: Some(public.clone()),
            witness: Some(witness.clone()),
        };
        match circuit.generate_constraints(cs.clone()) {
            Ok(()) => cs.is_satisfied().unwrap(),
            Err(_) => false,
        }
    }

    pub(crate) fn three() -> Vec<Repayment> {
        vec![
            repayment(1, 12_345, [2_000, 5_000, 3_000]),
            repayment(2, 99_999, [3_333, 3_333, 3_334]),
            repayment(3, 7, [9_999, 1, 0]),
        ]
    }

    #[test]
    fn allocation_matches_the_gateway_rule() {
        // floor for the partners, the remainder to the originator.
        assert_eq!(
            allocate(100, &[2_000, 3_333, 4_667], 0),
            Some(vec![21, 33, 46])
        );
        assert_eq!(
            allocate(100, &[3_333, 3_333, 3_334], 2),
            Some(vec![33, 33, 34])
        );
        assert_eq!(
            allocate(u64::MAX, &[0, 10_000, 0], 0),
            Some(vec![0, u64::MAX, 0])
        );
        assert_eq!(allocate(100, &[5_000, 5_001, 0], 0), None);
        assert_eq!(allocate(100, &[5_000, 5_000], 2), None);
    }

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
