//! The borrower screening statement: a loan's borrower is in the consortium's KYC registry and
//! not on the shared blocklist, without revealing which borrower it is.
//!
//! **Registry values.** A borrower is known to the registry by its *reference*: the first 31
//! bytes (big-endian) of its `borrower_ref`, the keyed hash of its national id, read as an
//! integer below 2²⁴⁸ ([`Reference`]).
//!
//! **Trees.** Both lists are 4-ary Poseidon Merkle trees of depth [`DEPTH`] ([`CAPACITY`]
//! leaves, padded with zero leaves), updated change by change ([`Registry`]):
//! - KYC: one leaf `Poseidon₂[kyc-leaf](x, 0)` per member `x`. Membership is a path to it.
//! - Blocklist, an *indexed Merkle tree*: with the members sorted `s₁ < … < sₙ` and the
//!   sentinels `s₀ = 0`, `sₙ₊₁ = 2²⁴⁸`, the leaves are `Poseidon₂[blocklist-gap](sᵢ, sᵢ₊₁)`
//!   for `i = 0…n` (each member's leaf holds it and its successor): the open intervals
//!   between neighbours. `x` is not on the list exactly when some leaf's interval strictly
//!   contains it, so non-membership is one path to a leaf `(low, high)` with `low < x < high`.
//!
//! The trees are only as honest as their leaves: nodes replay every `registry.updated` change
//! and recompute both roots before ordering it, so every root on the ledger is well formed.
//!
//! **Public** ([`ScreeningPublic`]): the `loan.originated` entry's id, both roots, and the
//! commitment `Poseidon₂[borrower](x, ρ)` to the borrower's reference.
//!
//! **Private** ([`ScreeningWitness`]): `x`, `ρ`, the KYC path, the enclosing blocklist leaf
//! `(low, high)` and its path.
//!
//! **Relation** ([`check`] natively, [`ScreeningCircuit`] in R1CS): `x < 2²⁴⁸`; the commitment
//! opens to `x`; the KYC path leads from `x`'s leaf to the KYC root; `x − low − 1` and
//! `high − x − 1` are below 2²⁴⁹ (for values below 2²⁴⁹, exactly `low < x < high`); and the
//! blocklist path leads from `(low, high)`'s leaf to the blocklist root.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{BigInteger as _, Field as _, One as _, PrimeField as _, Zero as _};
use ark_r1cs_std::alloc::AllocVar as _;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget as _;
use ark_r1cs_std::fields::FieldVar as _;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget as _;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::gadgets::{enforce_bits, entry_field};
use crate::groth16::{PROOF_LEN, field};
use crate::merkle::ARITY;
use crate::poseidon::{hash, hash_var};
use crate::{CircuitError, domains};

/// Depth of both registry trees.
pub const DEPTH: usize = 10;
/// Leaves of a registry tree (4¹⁰ = 1,048,576): the most KYC members, and one more than the
/// most blocklist members.
pub const CAPACITY: usize = 1 << (2 * DEPTH);
/// Bytes of a registry value.
pub const VALUE_BYTES: usize = 31;
/// Bits of a registry value.
const VALUE_BITS: usize = 8 * VALUE_BYTES;
/// Bits of the gaps `x − low − 1` and `high − x − 1`.
const GAP_BITS: usize = VALUE_BITS + 1;
/// Most changes one `registry.updated` entry carries (its circuit data stays under 64 KiB).
pub const MAX_CHANGES: usize = 2_000;
/// The number of public inputs.
pub const PUBLIC_INPUTS: usize = 4;

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

/// 2²⁴⁸: the upper sentinel of the blocklist, above every reference.
pub fn upper_sentinel() -> Fr {
    Fr::from(2u64).pow([VALUE_BITS as u64])
}

/// The KYC leaf of reference `x`.
pub fn kyc_leaf(x: Fr) -> Fr {
    hash(domains::kyc_leaf(), &[x, Fr::zero()])
}

/// The blocklist leaf of the open interval `(low, high)`.
pub fn gap_leaf(low: Fr, high: Fr) -> Fr {
    hash(domains::blocklist_gap(), &[low, high])
}

/// The commitment to a borrower's reference `x` under blinding `blinding`.
pub fn reference_commitment(x: Fr, blinding: Fr) -> Fr {
    hash(domains::borrower(), &[x, blinding])
}

/// Whether `x`, as an integer, is below `2^bits`.
fn fits(x: Fr, bits: usize) -> bool {
    x.into_bigint().num_bits() as usize <= bits
}

/// The roots of a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roots {
    /// The KYC tree's root.
    pub kyc: Fr,
    /// The blocklist tree's root.
    pub blocklist: Fr,
}

/// A Merkle path: per level from the leaf up, the three siblings in order and the node's
/// position (0–3) among its four children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The siblings, per level.
    pub siblings: Vec<[Fr; 3]>,
    /// The position, per level.
    pub positions: Vec<u8>,
}

/// The four children of a node from the child at `position` and its siblings.
fn children<T: Clone>(node: T, siblings: &[T; 3], position: usize) -> [T; ARITY] {
    let mut out: [T; ARITY] = std::array::from_fn(|_| node.clone());
    let mut rest = siblings.iter();
    for (i, slot) in out.iter_mut().enumerate() {
        if i != position {
            *slot = rest.next().expect("three siblings").clone();
        }
    }
    out
}

/// The root a path leads to from `leaf`; `None` for a malformed path.
pub fn path_root(leaf: Fr, path: &Path) -> Option<Fr> {
    if path.siblings.len() != DEPTH || path.positions.len() != DEPTH {
        return None;
    }
    let mut node = leaf;
    for (siblings, position) in path.siblings.iter().zip(&path.positions) {
        if *position as usize >= ARITY {
            return None;
        }
        node = hash(
            domains::merkle_node(),
            &children(node, siblings, *position as usize),
        );
    }
    Some(node)
}

/// Per level, the root of an all-padding subtree of that height.
fn empty_subtrees() -> &'static [Fr; DEPTH + 1] {
    static EMPTY: OnceLock<[Fr; DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut out = [Fr::zero(); DEPTH + 1];
        for level in 1..=DEPTH {
            out[level] = hash(domains::merkle_node(), &[out[level - 1]; ARITY]);
        }
        out
    })
}

/// A sparse tree of depth [`DEPTH`] kept up to date: every level's nodes up to the highest
/// slot used; the rest is padding. Leaves are set, then [`Tree::rehash`] recomputes each
/// changed inner node once (at most [`DEPTH`] hashes per changed leaf, fewer when changed
/// leaves share ancestors).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tree {
    levels: Vec<Vec<Fr>>,
    dirty: BTreeSet<usize>,
}

impl Tree {
    fn new() -> Self {
        Self {
            levels: vec![Vec::new(); DEPTH + 1],
            dirty: BTreeSet::new(),
        }
    }

    /// Sets leaf `index` (below [`CAPACITY`]); its ancestors are stale until [`Tree::rehash`].
    fn set(&mut self, index: usize, leaf: Fr) {
        debug_assert!(index < CAPACITY);
        let leaves = &mut self.levels[0];
        if leaves.len() <= index {
            leaves.resize(index + 1, empty_subtrees()[0]);
        }
        leaves[index] = leaf;
        self.dirty.insert(index);
    }

    /// Recomputes the ancestors of every leaf set since the last call, level by level (in
    /// parallel when many changed).
    fn rehash(&mut self) {
        use rayon::prelude::*;
        let empty = empty_subtrees();
        let mut parents: Vec<usize> = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|i| i / ARITY)
            .collect();
        parents.dedup();
        for level in 0..DEPTH {
            let (below, above) = self.levels.split_at_mut(level + 1);
            let (below, above) = (&below[level], &mut above[0]);
            let node = |parent: &usize| {
                let first = parent * ARITY;
                let children: [Fr; ARITY] =
                    std::array::from_fn(|k| below.get(first + k).copied().unwrap_or(empty[level]));
                hash(domains::merkle_node(), &children)
            };
            let hashed: Vec<Fr> = if parents.len() > 256 {
                parents.par_iter().map(node).collect()
            } else {
                parents.iter().map(node).collect()
            };
            for (parent, value) in parents.iter().zip(hashed) {
                if above.len() <= *parent {
                    above.resize(parent + 1, empty[level + 1]);
                }
                above[*parent] = value;
            }
            parents = parents.iter().map(|p| p / ARITY).collect();
            parents.dedup();
        }
    }

    fn root(&self) -> Fr {
        self.levels[DEPTH]
            .first()
            .copied()
            .unwrap_or(empty_subtrees()[DEPTH])
    }

    fn path(&self, mut index: usize) -> Path {
        let mut siblings = Vec::with_capacity(DEPTH);
        let mut positions = Vec::with_capacity(DEPTH);
        for (nodes, empty) in self.levels.iter().zip(empty_subtrees()).take(DEPTH) {
            let position = index % ARITY;
            let first = index - position;
            let node = |i: usize| nodes.get(first + i).copied().unwrap_or(*empty);
            let others: Vec<Fr> = (0..ARITY).filter(|i| *i != position).map(node).collect();
            siblings.push([others[0], others[1], others[2]]);
            positions.push(position as u8);
            index /= ARITY;
        }
        Path {
            siblings,
            positions,
        }
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
    fn code(&self) -> (u8, &Reference) {
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
                Change::AddKyc(r) => (true, r, true, "already in the KYC registry"),
                Change::RemoveKyc(r) => (true, r, false, "not in the KYC registry"),
                Change::AddBlocklist(r) => (false, r, true, "already on the blocklist"),
                Change::RemoveBlocklist(r) => (false, r, false, "not on the blocklist"),
            };
            let present = match changed.get(&(kyc, *reference)) {
                Some(present) => *present,
                None if kyc => self.is_registered(reference),
                None => self.is_blocklisted(reference),
            };
            if present == adding {
                return Err(CircuitError::Unsatisfied(format!("a borrower is {why}")));
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
                return Err(CircuitError::Shape(format!(
                    "a registry list holds at most {} borrowers",
                    CAPACITY - 1
                )));
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
            return Err(CircuitError::Unsatisfied(
                "the borrower is not in the consortium's KYC registry".into(),
            ));
        };
        if self.is_blocklisted(&reference) {
            return Err(CircuitError::Unsatisfied(
                "the borrower is on the consortium's blocklist".into(),
            ));
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

/// What a `registry.updated` entry carries in its circuit-data slot: the registry's new roots
/// and the changes that lead to them from the previous registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUpdate {
    /// The roots after the changes.
    pub roots: Roots,
    /// The changes, sorted, without repeats.
    pub changes: Vec<Change>,
}

impl RegistryUpdate {
    /// `[32] KYC root || [32] blocklist root || u16 n || n × (u8 kind || [31] reference)`, the
    /// changes strictly ascending by kind (0 add KYC, 1 remove KYC, 2 add blocklist, 3 remove
    /// blocklist) then reference.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(66 + self.changes.len() * (1 + VALUE_BYTES));
        out.extend_from_slice(&field::to_bytes(&self.roots.kyc));
        out.extend_from_slice(&field::to_bytes(&self.roots.blocklist));
        out.extend_from_slice(&(self.changes.len() as u16).to_be_bytes());
        for change in &self.changes {
            let (code, reference) = change.code();
            out.push(code);
            out.extend_from_slice(&reference.0);
        }
        out
    }

    /// Decodes untrusted bytes: canonical roots, 1 to [`MAX_CHANGES`] changes in canonical
    /// order, no trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let bad = |why: &str| CircuitError::Encoding(format!("registry update: {why}"));
        let (kyc, rest) = bytes
            .split_first_chunk::<32>()
            .ok_or_else(|| bad("truncated"))?;
        let (blocklist, rest) = rest
            .split_first_chunk::<32>()
            .ok_or_else(|| bad("truncated"))?;
        let (n, mut rest) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| bad("truncated"))?;
        let n = usize::from(u16::from_be_bytes(*n));
        if n == 0 || n > MAX_CHANGES {
            return Err(bad(&format!("1 to {MAX_CHANGES} changes are required")));
        }
        if rest.len() != n * (1 + VALUE_BYTES) {
            return Err(bad("length does not match the number of changes"));
        }
        let mut changes = Vec::with_capacity(n);
        while let Some((code, tail)) = rest.split_first() {
            let (value, tail) = tail
                .split_first_chunk::<VALUE_BYTES>()
                .ok_or_else(|| bad("truncated"))?;
            let reference = Reference(*value);
            changes.push(match code {
                0 => Change::AddKyc(reference),
                1 => Change::RemoveKyc(reference),
                2 => Change::AddBlocklist(reference),
                3 => Change::RemoveBlocklist(reference),
                _ => return Err(bad("unknown change kind")),
            });
            rest = tail;
        }
        if !changes.windows(2).all(|w| w[0] < w[1]) {
            return Err(bad("changes are not in canonical order"));
        }
        Ok(Self {
            roots: Roots {
                kyc: field::from_bytes(kyc)?,
                blocklist: field::from_bytes(blocklist)?,
            },
            changes,
        })
    }
}

/// The public statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningPublic {
    /// The `loan.originated` entry's id (a proof, even re-randomized, serves one entry only).
    pub entry: [u8; 16],
    /// The registry's roots at the loan's height.
    pub roots: Roots,
    /// The commitment to the borrower's reference.
    pub commitment: Fr,
}

impl ScreeningPublic {
    /// The public inputs in circuit order.
    pub fn inputs(&self) -> Vec<Fr> {
        vec![
            entry_field(&self.entry),
            self.roots.kyc,
            self.roots.blocklist,
            self.commitment,
        ]
    }
}

/// The private witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningWitness {
    /// The borrower's reference.
    pub reference: Fr,
    /// The commitment's blinding.
    pub blinding: Fr,
    /// The path from the reference's KYC leaf.
    pub kyc_path: Path,
    /// The blocklist interval's lower bound.
    pub low: Fr,
    /// The blocklist interval's upper bound.
    pub high: Fr,
    /// The path from the interval's leaf.
    pub gap_path: Path,
}

/// The native checker: whether `witness` satisfies the statement `public`.
pub fn check(public: &ScreeningPublic, witness: &ScreeningWitness) -> Result<(), CircuitError> {
    let fail = |why: &str| Err(CircuitError::Unsatisfied(why.to_owned()));
    let x = witness.reference;
    if !fits(x, VALUE_BITS) {
        return fail("reference out of range");
    }
    if reference_commitment(x, witness.blinding) != public.commitment {
        return fail("the commitment does not open to the reference");
    }
    if path_root(kyc_leaf(x), &witness.kyc_path) != Some(public.roots.kyc) {
        return fail("not in the KYC registry");
    }
    if !fits(x - witness.low - Fr::one(), GAP_BITS) || !fits(witness.high - x - Fr::one(), GAP_BITS)
    {
        return fail("the blocklist interval does not contain the reference");
    }
    if path_root(gap_leaf(witness.low, witness.high), &witness.gap_path)
        != Some(public.roots.blocklist)
    {
        return fail("the interval is not a blocklist leaf");
    }
    Ok(())
}

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

/// The root a path leads to from `leaf`, in R1CS: per level three sibling witnesses and two
/// position bits (about 310 constraints).
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
        let at0 = !&low & !&high;
        let at1 = &low & !&high;
        let at2 = !&low & &high;
        let at3 = &low & &high;
        let [s0, s1, s2] = [&siblings[0], &siblings[1], &siblings[2]];
        // Position 0: [n, s0, s1, s2]; 1: [s0, n, s1, s2]; 2: [s0, s1, n, s2]; 3: [s0, s1, s2, n].
        let c0 = FpVar::conditionally_select(&at0, &node, s0)?;
        let c1 =
            FpVar::conditionally_select(&at0, s0, &FpVar::conditionally_select(&at1, &node, s1)?)?;
        let c2 =
            FpVar::conditionally_select(&at3, s2, &FpVar::conditionally_select(&at2, &node, s1)?)?;
        let c3 = FpVar::conditionally_select(&at3, &node, s2)?;
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

/// What a `loan.originated` entry carries in its circuit-proof slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningProof {
    /// The commitment to the borrower's reference.
    pub commitment: Fr,
    /// The Groth16 proof.
    pub proof: crate::Proof,
}

impl ScreeningProof {
    /// Bytes of the encoding.
    pub const LEN: usize = 32 + PROOF_LEN;

    /// `[32] commitment || [128] proof`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&field::to_bytes(&self.commitment));
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes untrusted bytes: a canonical commitment and a valid proof, nothing more.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let (commitment, rest) = bytes
            .split_first_chunk::<32>()
            .ok_or_else(|| CircuitError::Encoding("screening proof truncated".into()))?;
        Ok(Self {
            commitment: field::from_bytes(commitment)?,
            proof: crate::Proof::from_bytes(rest)?,
        })
    }

    /// Verifies the proof for loan entry `entry` against the registry `roots` at its height.
    pub fn verify(
        &self,
        vk: &crate::VerifyingKey,
        entry: &[u8; 16],
        roots: Roots,
    ) -> Result<(), CircuitError> {
        let public = ScreeningPublic {
            entry: *entry,
            roots,
            commitment: self.commitment,
        };
        vk.verify(&public.inputs(), &self.proof)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ark_relations::r1cs::{ConstraintSystem, OptimizationGoal};
    use proptest::prelude::*;

    pub(crate) fn reference(seed: u8) -> Reference {
        let mut value = [0u8; VALUE_BYTES];
        value[0] = seed;
        value[VALUE_BYTES - 1] = seed.wrapping_mul(7);
        Reference(value)
    }

    pub(crate) fn registry(kyc: &[u8], blocklist: &[u8]) -> Registry {
        let mut registry = Registry::default();
        let mut changes: Vec<Change> = kyc.iter().map(|s| Change::AddKyc(reference(*s))).collect();
        changes.extend(
            blocklist
                .iter()
                .map(|s| Change::AddBlocklist(reference(*s))),
        );
        registry.apply(&changes).unwrap();
        registry
    }

    /// A satisfied statement for borrower `seed` (in KYC, not blocklisted).
    pub(crate) fn statement(seed: u8) -> (ScreeningPublic, ScreeningWitness) {
        let trees = registry(&[3, 10, seed, 200], &[1, 50, 100, 250]);
        let witness = trees.witness(reference(seed), Fr::from(4242u64)).unwrap();
        let public = ScreeningPublic {
            entry: [5; 16],
            roots: trees.roots(),
            commitment: reference_commitment(witness.reference, witness.blinding),
        };
        (public, witness)
    }

    fn circuit_accepts(public: &ScreeningPublic, witness: &ScreeningWitness) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        let circuit = ScreeningCircuit {
            public: Some(public.clone()),
            witness: Some(witness.clone()),
        };
        match circuit.generate_constraints(cs.clone()) {
            Ok(()) => cs.is_satisfied().unwrap(),
            Err(_) => false,
        }
    }

    #[test]
    fn an_honest_statement_satisfies_both_checkers() {
        for seed in [0x02, 0x11, 0x42, 0x80, 0xfe] {
            let (public, witness) = statement(seed);
            check(&public, &witness).unwrap();
            assert!(circuit_accepts(&public, &witness), "seed {seed}");
        }
    }

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

    #[test]
    fn sparse_trees_equal_the_padded_merkle_root() {
        // A depth-10 tree is too big to pad in a test; compare a sparse tree's lowest levels
        // with the dense tree of the same leaves at depth 2.
        let leaves: Vec<Fr> = (1..=11u64).map(Fr::from).collect();
        let mut tree = Tree::new();
        for (i, leaf) in leaves.iter().enumerate() {
            tree.set(i, *leaf);
        }
        tree.rehash();
        let mut padded = leaves;
        padded.resize(16, Fr::zero());
        assert_eq!(tree.levels[2][0], crate::merkle::root(&padded));
        for index in [0, 5, 10, 11, 4000] {
            let leaf = tree.levels[0].get(index).copied().unwrap_or_default();
            assert_eq!(path_root(leaf, &tree.path(index)), Some(tree.root()));
        }
        assert_eq!(Tree::new().root(), empty_subtrees()[DEPTH]);
        // Setting a leaf far out equals building the padded levels up to it.
        tree.set(300_000, Fr::from(7u64));
        tree.rehash();
        assert_eq!(
            path_root(Fr::from(7u64), &tree.path(300_000)),
            Some(tree.root())
        );
        assert_eq!(path_root(Fr::from(3u64), &tree.path(2)), Some(tree.root()));
    }

    /// Rehashing a batch equals setting the leaves one at a time.
    #[test]
    fn batched_rehashing_equals_one_leaf_at_a_time() {
        let mut batched = Tree::new();
        let mut single = Tree::new();
        for i in 0..1_500usize {
            let slot = (i * 7919) % 5_000;
            batched.set(slot, Fr::from(i as u64 + 1));
            single.set(slot, Fr::from(i as u64 + 1));
            single.rehash();
        }
        batched.rehash();
        assert_eq!(batched, single);
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

    #[test]
    fn updates_round_trip_and_refuse_non_canonical_bytes() {
        let update = RegistryUpdate {
            roots: registry(&[1], &[]).roots(),
            changes: vec![
                Change::AddKyc(reference(1)),
                Change::AddBlocklist(reference(2)),
            ],
        };
        let bytes = update.to_bytes();
        assert_eq!(RegistryUpdate::from_bytes(&bytes).unwrap(), update);
        let swapped = RegistryUpdate {
            changes: update.changes.iter().rev().copied().collect(),
            ..update.clone()
        };
        let repeated = RegistryUpdate {
            changes: vec![update.changes[0]; 2],
            ..update.clone()
        };
        let empty = RegistryUpdate {
            changes: Vec::new(),
            ..update.clone()
        };
        for bad in [swapped, repeated, empty] {
            assert!(RegistryUpdate::from_bytes(&bad.to_bytes()).is_err());
        }
        let mut unknown = bytes.clone();
        unknown[66] = 4;
        let mut non_canonical = bytes.clone();
        non_canonical[..32].copy_from_slice(&[0xff; 32]);
        for bad in [
            unknown,
            non_canonical,
            bytes[..bytes.len() - 1].to_vec(),
            [bytes.as_slice(), &[0]].concat(),
        ] {
            assert!(RegistryUpdate::from_bytes(&bad).is_err());
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

    #[test]
    fn groth16_proofs_verify_for_their_statement_only() {
        let pk = crate::dev::setup(ScreeningCircuit::blank(), "screening-test").unwrap();
        let vk = pk.verifying_key();
        assert_eq!(vk.public_inputs(), PUBLIC_INPUTS);
        let (public, witness) = statement(0x42);
        let proof = pk
            .prove(
                ScreeningCircuit {
                    public: Some(public.clone()),
                    witness: Some(witness.clone()),
                },
                &mut crate::OsRng,
            )
            .unwrap();
        let carried = ScreeningProof {
            commitment: public.commitment,
            proof,
        };
        let decoded = ScreeningProof::from_bytes(&carried.to_bytes()).unwrap();
        decoded.verify(&vk, &public.entry, public.roots).unwrap();

        // Another entry (even with a re-randomized proof), other roots, another commitment.
        let rerandomized = ScreeningProof {
            proof: carried.proof.rerandomize(&vk, &mut crate::OsRng),
            ..carried.clone()
        };
        rerandomized
            .verify(&vk, &public.entry, public.roots)
            .unwrap();
        assert!(rerandomized.verify(&vk, &[6; 16], public.roots).is_err());
        let mut roots = public.roots;
        roots.kyc += Fr::one();
        assert!(carried.verify(&vk, &public.entry, roots).is_err());
        let mut roots = public.roots;
        roots.blocklist += Fr::one();
        assert!(carried.verify(&vk, &public.entry, roots).is_err());
        let other = ScreeningProof {
            commitment: carried.commitment + Fr::one(),
            ..carried.clone()
        };
        assert!(other.verify(&vk, &public.entry, public.roots).is_err());

        // A witness that does not satisfy the statement makes no proof.
        let mut bad = witness;
        bad.blinding += Fr::one();
        assert!(
            pk.prove(
                ScreeningCircuit {
                    public: Some(public),
                    witness: Some(bad),
                },
                &mut crate::OsRng,
            )
            .is_err()
        );

        // Untrusted bytes: wrong lengths and non-canonical commitments are refused.
        let bytes = carried.to_bytes();
        assert_eq!(bytes.len(), ScreeningProof::LEN);
        let mut non_canonical = bytes.clone();
        non_canonical[..32].copy_from_slice(&[0xff; 32]);
        for bad in [
            bytes[..bytes.len() - 1].to_vec(),
            [bytes.as_slice(), &[0]].concat(),
            non_canonical,
        ] {
            assert!(ScreeningProof::from_bytes(&bad).is_err());
        }
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
