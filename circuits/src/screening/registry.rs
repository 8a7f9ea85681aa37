//! The consortium's registry: the KYC members and the blocklist, with both trees kept up to
//! date change by change, and the screening witnesses they give.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ark_bn254::Fr;
use ark_ff::{PrimeField as _, Zero as _};

use super::statement::{Roots, ScreeningWitness, VALUE_BYTES, gap_leaf, kyc_leaf, upper_sentinel};
use super::tree::{CAPACITY, Tree};
use crate::CircuitError;
use crate::error::{ChangeConflict, ShapeError, Unsatisfied};

/// A borrower as the registry knows it: the first 31 bytes of its `borrower_ref`, big-endian
/// (so the derived order is the numeric order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference(pub [u8; VALUE_BYTES]);

impl Reference {
    /// The reference of a 32-byte `borrower_ref`.
    pub fn of_borrower_ref(borrower_ref: &[u8; 32]) -> Self {
        let mut value = [0u8; VALUE_BYTES];
        value.copy_from_slice(&borrower_ref[..VALUE_BYTES]);
        Self(value)
    }

    /// The reference as a field element (below 2²⁴⁸, so exact).
    pub fn field(&self) -> Fr {
        Fr::from_be_bytes_mod_order(&self.0)
    }
}

/// Leaf slots of a tree: the lowest free slot is taken first, so the layout depends only on
/// the sequence of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Slots {
    next: usize,
    free: BTreeSet<usize>,
}

impl Slots {
    fn take(&mut self) -> usize {
        match self.free.pop_first() {
            Some(slot) => slot,
            None => {
                self.next += 1;
                self.next - 1
            }
        }
    }

    fn release(&mut self, slot: usize) {
        self.free.insert(slot);
    }
}

/// Which list a change touches, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Adds a borrower to the KYC registry.
    AddKyc(Reference),
    /// Removes a borrower from the KYC registry.
    RemoveKyc(Reference),
    /// Adds a borrower to the blocklist.
    AddBlocklist(Reference),
    /// Removes a borrower from the blocklist.
    RemoveBlocklist(Reference),
}

impl Change {
    pub(super) fn code(&self) -> (u8, &Reference) {
        match self {
            Self::AddKyc(r) => (0, r),
            Self::RemoveKyc(r) => (1, r),
            Self::AddBlocklist(r) => (2, r),
            Self::RemoveBlocklist(r) => (3, r),
        }
    }
}

/// The consortium's registry: the KYC members and the blocklist, with their trees kept up to
/// date change by change (`2 × DEPTH` hashes per change, whatever the registry's size).
///
/// The KYC tree holds one leaf per member, in the slot it got when added. The blocklist tree is
/// an *indexed* tree: slot 0 holds the interval from the lower sentinel 0, and each member `s`
/// holds `(s, next)` where `next` is the next larger member or the upper sentinel; adding `x`
/// splits its predecessor's interval in two, removing it merges them back. Its leaves are
/// exactly the intervals between neighbours of the sorted list, in slot order. A removed
/// member's slot becomes a zero leaf and is reused by the next addition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    kyc: BTreeMap<Reference, usize>,
    kyc_slots: Slots,
    kyc_tree: Tree,
    blocklist: BTreeMap<Reference, usize>,
    blocklist_slots: Slots,
    blocklist_tree: Tree,
}

impl Default for Registry {
    fn default() -> Self {
        let mut blocklist_slots = Slots::default();
        let mut blocklist_tree = Tree::new();
        let sentinel = blocklist_slots.take();
        blocklist_tree.set(sentinel, gap_leaf(Fr::zero(), upper_sentinel()));
        blocklist_tree.rehash();
        Self {
            kyc: BTreeMap::new(),
            kyc_slots: Slots::default(),
            kyc_tree: Tree::new(),
            blocklist: BTreeMap::new(),
            blocklist_slots,
            blocklist_tree,
        }
    }
}

impl Registry {
    /// Whether `reference` is in the KYC registry.
    pub fn is_registered(&self, reference: &Reference) -> bool {
        self.kyc.contains_key(reference)
    }

    /// Whether `reference` is on the blocklist.
    pub fn is_blocklisted(&self, reference: &Reference) -> bool {
        self.blocklist.contains_key(reference)
    }

    /// The KYC members, in order.
    pub fn kyc(&self) -> impl Iterator<Item = &Reference> {
        self.kyc.keys()
    }

    /// How many borrowers are in the KYC registry and on the blocklist.
    pub fn len(&self) -> (usize, usize) {
        (self.kyc.len(), self.blocklist.len())
    }

    /// Whether both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.kyc.is_empty() && self.blocklist.is_empty()
    }

    /// Applies `changes` in order: an addition of a present value, a removal of an absent one,
    /// or outgrowing a tree is an error, and leaves the registry as it was.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), CircuitError> {
        self.check(changes)?;
        for change in changes {
            match change {
                Change::AddKyc(r) => {
                    let slot = self.kyc_slots.take();
                    self.kyc_tree.set(slot, kyc_leaf(r.field()));
                    self.kyc.insert(*r, slot);
                }
                Change::RemoveKyc(r) => {
                    if let Some(slot) = self.kyc.remove(r) {
                        self.kyc_tree.set(slot, Fr::zero());
                        self.kyc_slots.release(slot);
                    }
                }
                Change::AddBlocklist(r) => {
                    let (low, low_slot) = self.predecessor(r);
                    let high = self.successor(r);
                    let slot = self.blocklist_slots.take();
                    self.blocklist_tree.set(low_slot, gap_leaf(low, r.field()));
                    self.blocklist_tree.set(slot, gap_leaf(r.field(), high));
                    self.blocklist.insert(*r, slot);
                }
                Change::RemoveBlocklist(r) => {
                    if let Some(slot) = self.blocklist.remove(r) {
                        let (low, low_slot) = self.predecessor(r);
                        let high = self.successor(r);
                        self.blocklist_tree.set(low_slot, gap_leaf(low, high));
                        self.blocklist_tree.set(slot, Fr::zero());
                        self.blocklist_slots.release(slot);
                    }
                }
            }
        }
        self.kyc_tree.rehash();
        self.blocklist_tree.rehash();
        Ok(())
    }

    /// Whether `changes` apply in order, without changing anything.
    fn check(&self, changes: &[Change]) -> Result<(), CircuitError> {
        let mut changed: HashMap<(bool, Reference), bool> = HashMap::new();
        let (mut kyc_len, mut blocklist_len) = self.len();
        for change in changes {
            let (kyc, reference, adding, why) = match change {
                Change::AddKyc(r) => (true, r, true, ChangeConflict::AlreadyRegistered),
                Change::RemoveKyc(r) => (true, r, false, ChangeConflict::NotRegistered),
                Change::AddBlocklist(r) => (false, r, true, ChangeConflict::AlreadyBlocklisted),
                Change::RemoveBlocklist(r) => (false, r, false, ChangeConflict::NotBlocklisted),
            };
            let present = match changed.get(&(kyc, *reference)) {
                Some(present) => *present,
                None if kyc => self.is_registered(reference),
                None => self.is_blocklisted(reference),
            };
            if present == adding {
                return Err(Unsatisfied::Change(why).into());
            }
            changed.insert((kyc, *reference), adding);
            let len = if kyc {
                &mut kyc_len
            } else {
                &mut blocklist_len
            };
            *len = if adding { *len + 1 } else { *len - 1 };
            // The blocklist's sentinel takes one slot.
            if kyc_len > CAPACITY || blocklist_len + 1 > CAPACITY {
                return Err(ShapeError::RegistryFull { max: CAPACITY - 1 }.into());
            }
        }
        Ok(())
    }

    /// The largest blocklist member below `x` (or the lower sentinel 0), and its leaf's slot.
    fn predecessor(&self, x: &Reference) -> (Fr, usize) {
        self.blocklist
            .range(..x)
            .next_back()
            .map_or((Fr::zero(), 0), |(r, slot)| (r.field(), *slot))
    }

    /// The smallest blocklist member above `x`, or the upper sentinel.
    fn successor(&self, x: &Reference) -> Fr {
        use std::ops::Bound::{Excluded, Unbounded};
        self.blocklist
            .range((Excluded(x), Unbounded))
            .next()
            .map_or_else(upper_sentinel, |(r, _)| r.field())
    }

    /// Both roots.
    pub fn roots(&self) -> Roots {
        Roots {
            kyc: self.kyc_tree.root(),
            blocklist: self.blocklist_tree.root(),
        }
    }

    /// The witness that `reference` passes screening, with commitment blinding `blinding`.
    /// Refused, with the reason, when the borrower is not in the KYC registry or is blocklisted.
    pub fn witness(
        &self,
        reference: Reference,
        blinding: Fr,
    ) -> Result<ScreeningWitness, CircuitError> {
        let Some(kyc_slot) = self.kyc.get(&reference) else {
            return Err(Unsatisfied::NotRegistered.into());
        };
        if self.is_blocklisted(&reference) {
            return Err(Unsatisfied::Blocklisted.into());
        }
        let (low, low_slot) = self.predecessor(&reference);
        Ok(ScreeningWitness {
            reference: reference.field(),
            blinding,
            kyc_path: self.kyc_tree.path(*kyc_slot),
            low,
            high: self.successor(&reference),
            gap_path: self.blocklist_tree.path(low_slot),
        })
    }
}

#[cfg(test)]
mod tests {
    use ark_ff::One as _;

    use super::*;
    use crate::screening::fixtures::{circuit_accepts, reference, registry};
    use crate::screening::{ScreeningPublic, check, reference_commitment};

    #[test]
    fn outsiders_and_blocklisted_borrowers_get_no_witness() {
        let trees = registry(&[3, 10, 50], &[50]);
        let not_registered = trees.witness(reference(4), Fr::one()).unwrap_err();
        assert!(not_registered.to_string().contains("KYC registry"));
        let blocked = trees.witness(reference(50), Fr::one()).unwrap_err();
        assert!(blocked.to_string().contains("blocklist"));
    }

    #[test]
    fn a_blocklisted_borrower_cannot_borrow_a_neighbouring_interval() {
        // Borrower 50 is in KYC and on the blocklist; the prover takes the interval right
        // below or right above it, or a made-up one.
        let trees = registry(&[3, 50], &[10, 50, 90]);
        let honest = trees.witness(reference(3), Fr::one()).unwrap();
        let x = reference(50).field();
        let kyc_path = trees.kyc_tree.path(trees.kyc[&reference(50)]);
        let public = ScreeningPublic {
            entry: [1; 16],
            roots: trees.roots(),
            commitment: reference_commitment(x, Fr::one()),
        };
        let slot = |seed: u8| trees.blocklist[&reference(seed)];
        let below = (
            reference(10).field(),
            x,
            trees.blocklist_tree.path(slot(10)),
        );
        let above = (
            x,
            reference(90).field(),
            trees.blocklist_tree.path(slot(50)),
        );
        let made_up = (
            reference(10).field(),
            reference(90).field(),
            honest.gap_path,
        );
        for (low, high, gap_path) in [below, above, made_up] {
            let witness = ScreeningWitness {
                reference: x,
                blinding: Fr::one(),
                kyc_path: kyc_path.clone(),
                low,
                high,
                gap_path,
            };
            assert!(check(&public, &witness).is_err());
            assert!(!circuit_accepts(&public, &witness));
        }
    }

    /// The blocklist tree's leaves are exactly the intervals between neighbours of the sorted
    /// list (and zero leaves), whatever order members came and went in.
    #[test]
    fn blocklist_leaves_are_the_gaps_of_the_sorted_list() {
        let mut registry = Registry::default();
        let seeds = [40u8, 7, 200, 90, 13, 150, 60];
        for (k, seed) in seeds.iter().enumerate() {
            registry
                .apply(&[Change::AddBlocklist(reference(*seed))])
                .unwrap();
            if k % 3 == 2 {
                registry
                    .apply(&[Change::RemoveBlocklist(reference(seeds[k - 1]))])
                    .unwrap();
            }
        }
        let members: Vec<Fr> = registry.blocklist.keys().map(Reference::field).collect();
        let bounds: Vec<Fr> = std::iter::once(Fr::zero())
            .chain(members.iter().copied())
            .chain(std::iter::once(upper_sentinel()))
            .collect();
        let mut expected: Vec<Fr> = bounds.windows(2).map(|w| gap_leaf(w[0], w[1])).collect();
        let mut leaves: Vec<Fr> = registry.blocklist_tree.levels[0]
            .iter()
            .copied()
            .filter(|leaf| !leaf.is_zero())
            .collect();
        expected.sort();
        leaves.sort();
        assert_eq!(leaves, expected);
        // Freed slots are reused: as many slots as the most members ever held at once, plus 1.
        assert!(registry.blocklist_tree.levels[0].len() <= 6);
    }

    #[test]
    fn registry_changes_are_strict() {
        let mut registry = registry(&[1, 2], &[3]);
        let before = registry.clone();
        for bad in [
            vec![Change::AddKyc(reference(1))],
            vec![Change::RemoveKyc(reference(9))],
            vec![Change::AddBlocklist(reference(3))],
            vec![
                Change::AddKyc(reference(7)),
                Change::RemoveBlocklist(reference(9)),
            ],
        ] {
            assert!(registry.apply(&bad).is_err());
            assert_eq!(registry, before, "a refused update changes nothing");
        }
        registry
            .apply(&[
                Change::RemoveKyc(reference(1)),
                Change::AddBlocklist(reference(1)),
            ])
            .unwrap();
        assert!(!registry.is_registered(&reference(1)));
        assert!(registry.is_blocklisted(&reference(1)));
    }
}
