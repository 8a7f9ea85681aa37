//! The registry kept in an ordered key-value store instead of memory: tree nodes, leaf slots,
//! free slots and the reference → slot indexes as keys ([`keys`]), read through
//! [`RegistryKv`] and changed through an [`Overlay`] of changed keys over a base that is
//! never written.
//!
//! A node keeps its finalized registry in its store this way and opens it on restart (no
//! replay); it checks a not-yet-finalized update on an overlay over the finalized registry and,
//! once the update's block is finalized, writes the overlay's changed keys
//! ([`Overlay::into_writes`]) in the same batch as the block. Memory is the overlay (about
//! `2 × DEPTH` nodes and a few index keys per change) plus whatever cache the store keeps;
//! nothing is proportional to the registry's size.
//!
//! The layout, the slots and the roots are exactly those of the in-memory [`Registry`]
//! (`super::Registry`) given the same changes: the tests rebuild one from scratch and compare.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use ark_bn254::Fr;
use ark_ff::Zero as _;

use super::registry::{Change, Reference};
use super::statement::{Roots, ScreeningWitness, VALUE_BYTES, gap_leaf, kyc_leaf, upper_sentinel};
use super::tree::{CAPACITY, DEPTH, Path, empty_subtrees};
use crate::CircuitError;
use crate::domains;
use crate::error::{ChangeConflict, ShapeError, Unsatisfied};
use crate::groth16::field;
use crate::merkle::ARITY;
use crate::poseidon::hash;

/// Every key of a stored registry, in one place. All keys are at most 33 bytes; values are
/// at most `4 + adder` bytes.
///
/// | key                                           | value                               |
/// |-----------------------------------------------|-------------------------------------|
/// | `b'N' ‖ tree ‖ level ‖ u32_be(index)`          | node (32-byte canonical field element); absent = the all-padding subtree of that level |
/// | `b'K' ‖ reference (31)`                       | `u32_be(slot) ‖ adder`: a KYC member |
/// | `b'B' ‖ reference (31)`                       | `u32_be(slot) ‖ adder`: a blocklist member |
/// | `b'F' ‖ tree ‖ u32_be(slot)`                   | empty: a free slot below `next`     |
/// | `b'S' ‖ tree`                                 | `u32_be(next) ‖ u32_be(members)`    |
/// | `b'V'`                                        | the version: opaque bytes the owner sets (a node: the digest of the last `registry.updated` entry applied) |
///
/// `tree` is 0 for KYC and 1 for the blocklist. Big-endian slots make key order slot order
/// (the lowest free slot is the first `F` key) and references sort numerically (a member's
/// predecessor is the last `B` key below it).
pub mod keys {
    use super::{Reference, VALUE_BYTES};

    /// Tree byte of the KYC tree.
    pub const KYC: u8 = 0;
    /// Tree byte of the blocklist tree.
    pub const BLOCKLIST: u8 = 1;
    /// Key of the version.
    pub const VERSION: &[u8] = b"V";

    /// Key of a tree node.
    pub fn node(tree: u8, level: u8, index: u32) -> [u8; 7] {
        let i = index.to_be_bytes();
        [b'N', tree, level, i[0], i[1], i[2], i[3]]
    }

    /// Key of a member of `tree`'s list.
    pub fn member(tree: u8, reference: &Reference) -> [u8; 1 + VALUE_BYTES] {
        let mut out = [0u8; 1 + VALUE_BYTES];
        out[0] = if tree == KYC { b'K' } else { b'B' };
        out[1..].copy_from_slice(&reference.0);
        out
    }

    /// Key of a free slot.
    pub fn free(tree: u8, slot: u32) -> [u8; 6] {
        let s = slot.to_be_bytes();
        [b'F', tree, s[0], s[1], s[2], s[3]]
    }

    /// Key of a tree's slot counters.
    pub fn slots(tree: u8) -> [u8; 2] {
        [b'S', tree]
    }
}

/// Why a stored registry could not be read or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoredRegistryError {
    /// The changes do not apply (or the witness is refused), as for the in-memory registry.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// The store failed.
    #[error("registry store: {0}")]
    Store(String),
    /// Stored bytes are not a registry's.
    #[error("corrupt registry store: {0}")]
    Corrupt(&'static str),
}

/// A key and its value.
pub type KvEntry = (Vec<u8>, Vec<u8>);
/// A key and its new value (`None`: delete it).
pub type KvWrite = (Vec<u8>, Option<Vec<u8>>);

/// Read access to an ordered key-value store holding a registry (bytewise key order).
/// Implementations: `BTreeMap<Vec<u8>, Vec<u8>>` (in memory), [`Overlay`], and a node's
/// store snapshot.
pub trait RegistryKv: Sync {
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoredRegistryError>;
    /// The first entry whose key is in `[start, end)`.
    fn first_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError>;
    /// The last entry whose key is in `[start, end)`.
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError>;
}

impl RegistryKv for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoredRegistryError> {
        Ok(BTreeMap::get(self, key).cloned())
    }

    fn first_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        Ok(self
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .next()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        Ok(self
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }
}

/// Changed keys over a base that is never written: `Some(value)` set, `None` deleted. Reads
/// see the changes first, then the base.
pub struct Overlay<'a> {
    base: &'a dyn RegistryKv,
    changed: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl std::fmt::Debug for Overlay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("changed", &self.changed.len())
            .finish_non_exhaustive()
    }
}

impl RegistryKv for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoredRegistryError> {
        match self.changed.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(key),
        }
    }

    fn first_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        let changed = self
            .changed
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .find(|(_, v)| v.is_some())
            .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()));
        let mut from = start.to_vec();
        loop {
            // The base's first key not deleted here.
            let base = self.base.first_in(&from, end)?;
            match base {
                Some((key, value)) => {
                    if let Some((changed_key, _)) = &changed
                        && changed_key <= &key
                    {
                        return Ok(changed);
                    }
                    match self.changed.get(&key) {
                        None => return Ok(Some((key, value))),
                        Some(Some(value)) => return Ok(Some((key, value.clone()))),
                        Some(None) => {
                            from = key;
                            from.push(0);
                        }
                    }
                }
                None => return Ok(changed),
            }
        }
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        let changed = self
            .changed
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .rev()
            .find(|(_, v)| v.is_some())
            .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()));
        let mut to = end.to_vec();
        loop {
            let base = self.base.last_in(start, &to)?;
            match base {
                Some((key, value)) => {
                    if let Some((changed_key, _)) = &changed
                        && changed_key >= &key
                    {
                        return Ok(changed);
                    }
                    match self.changed.get(&key) {
                        None => return Ok(Some((key, value))),
                        Some(Some(value)) => return Ok(Some((key, value.clone()))),
                        // Keys below `key` are below `to = key` (exclusive end).
                        Some(None) => to = key,
                    }
                }
                None => return Ok(changed),
            }
        }
    }
}

fn corrupt(what: &'static str) -> StoredRegistryError {
    StoredRegistryError::Corrupt(what)
}

fn u32_at(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, StoredRegistryError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| corrupt(what))
}

fn tree_of(kyc: bool) -> u8 {
    if kyc { keys::KYC } else { keys::BLOCKLIST }
}

/// A tree node: absent keys are the all-padding subtree of their level.
fn node(
    kv: &dyn RegistryKv,
    tree: u8,
    level: usize,
    index: u32,
) -> Result<Fr, StoredRegistryError> {
    match kv.get(&keys::node(tree, level as u8, index))? {
        Some(bytes) => {
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| corrupt("node"))?;
            field::from_bytes(&bytes).map_err(|_| corrupt("node"))
        }
        None => Ok(empty_subtrees()[level]),
    }
}

/// Whether a registry has been written at all (an unwritten store is the empty registry: no
/// members, the blocklist's sentinel leaf in slot 0).
fn initialized(kv: &dyn RegistryKv) -> Result<bool, StoredRegistryError> {
    Ok(kv.get(&keys::slots(keys::BLOCKLIST))?.is_some())
}

/// `(next, members)` of a tree.
fn slots(kv: &dyn RegistryKv, tree: u8) -> Result<(u32, u32), StoredRegistryError> {
    match kv.get(&keys::slots(tree))? {
        Some(bytes) if bytes.len() == 8 => {
            Ok((u32_at(&bytes, 0, "slots")?, u32_at(&bytes, 4, "slots")?))
        }
        Some(_) => Err(corrupt("slots")),
        // The empty registry: the blocklist's sentinel takes slot 0.
        None => Ok((u32::from(tree == keys::BLOCKLIST), 0)),
    }
}

/// The roots of the empty registry (computed once).
fn empty_roots() -> Roots {
    static EMPTY: std::sync::OnceLock<Roots> = std::sync::OnceLock::new();
    *EMPTY.get_or_init(|| super::Registry::default().roots())
}

/// Both roots of the registry in `kv`.
///
/// Errors: [`StoredRegistryError::Store`] or [`StoredRegistryError::Corrupt`].
pub fn roots(kv: &dyn RegistryKv) -> Result<Roots, StoredRegistryError> {
    if !initialized(kv)? {
        return Ok(empty_roots());
    }
    Ok(Roots {
        kyc: node(kv, keys::KYC, DEPTH, 0)?,
        blocklist: node(kv, keys::BLOCKLIST, DEPTH, 0)?,
    })
}

/// A member's slot and adder (what [`Overlay::apply`] was given), if `reference` is on the
/// KYC registry (`kyc`) or the blocklist.
pub fn member(
    kv: &dyn RegistryKv,
    kyc: bool,
    reference: &Reference,
) -> Result<Option<(u32, Vec<u8>)>, StoredRegistryError> {
    kv.get(&keys::member(tree_of(kyc), reference))?
        .map(|value| Ok((u32_at(&value, 0, "member")?, value[4..].to_vec())))
        .transpose()
}

/// How many borrowers are on the KYC registry and on the blocklist.
pub fn len(kv: &dyn RegistryKv) -> Result<(usize, usize), StoredRegistryError> {
    Ok((
        slots(kv, keys::KYC)?.1 as usize,
        slots(kv, keys::BLOCKLIST)?.1 as usize,
    ))
}

/// The version the owner set last ([`Overlay::set_version`]), if any.
pub fn version(kv: &dyn RegistryKv) -> Result<Option<Vec<u8>>, StoredRegistryError> {
    kv.get(keys::VERSION)
}

fn reference_of(key: &[u8]) -> Result<Reference, StoredRegistryError> {
    key.get(1..)
        .and_then(|r| r.try_into().ok())
        .map(Reference)
        .ok_or_else(|| corrupt("member key"))
}

/// The largest blocklist member below `x` (or the lower sentinel 0) and its leaf's slot.
fn predecessor(kv: &dyn RegistryKv, x: &Reference) -> Result<(Fr, u32), StoredRegistryError> {
    match kv.last_in(b"B", &keys::member(keys::BLOCKLIST, x))? {
        Some((key, value)) => Ok((reference_of(&key)?.field(), u32_at(&value, 0, "member")?)),
        None => Ok((Fr::zero(), 0)),
    }
}

/// The smallest blocklist member above `x`, or the upper sentinel.
fn successor(kv: &dyn RegistryKv, x: &Reference) -> Result<Fr, StoredRegistryError> {
    let mut from = keys::member(keys::BLOCKLIST, x).to_vec();
    from.push(0);
    match kv.first_in(&from, b"C")? {
        Some((key, _)) => Ok(reference_of(&key)?.field()),
        None => Ok(upper_sentinel()),
    }
}

/// The path of leaf `index` of `tree`.
pub fn path(kv: &dyn RegistryKv, tree: u8, index: u32) -> Result<Path, StoredRegistryError> {
    let mut siblings = Vec::with_capacity(DEPTH);
    let mut positions = Vec::with_capacity(DEPTH);
    let mut index = index;
    for level in 0..DEPTH {
        let position = index % ARITY as u32;
        let first = index - position;
        let mut others = [Fr::zero(); 3];
        let mut k = 0;
        for i in 0..ARITY as u32 {
            if i != position {
                others[k] = node(kv, tree, level, first + i)?;
                k += 1;
            }
        }
        siblings.push(others);
        positions.push(position as u8);
        index /= ARITY as u32;
    }
    Ok(Path {
        siblings,
        positions,
    })
}

/// The witness that `reference` passes screening against the registry in `kv`, with
/// commitment blinding `blinding` (as `Registry::witness`).
///
/// Errors: [`StoredRegistryError::Circuit`] when the borrower is not on the KYC registry or is
/// blocklisted; store errors.
pub fn witness(
    kv: &dyn RegistryKv,
    reference: Reference,
    blinding: Fr,
) -> Result<ScreeningWitness, StoredRegistryError> {
    let Some((kyc_slot, _)) = member(kv, true, &reference)? else {
        return Err(CircuitError::from(Unsatisfied::NotRegistered).into());
    };
    if member(kv, false, &reference)?.is_some() {
        return Err(CircuitError::from(Unsatisfied::Blocklisted).into());
    }
    let (low, low_slot) = predecessor(kv, &reference)?;
    Ok(ScreeningWitness {
        reference: reference.field(),
        blinding,
        kyc_path: path(kv, keys::KYC, kyc_slot)?,
        low,
        high: successor(kv, &reference)?,
        gap_path: path(kv, keys::BLOCKLIST, low_slot)?,
    })
}

impl<'a> Overlay<'a> {
    /// No changes over `base`.
    pub fn new(base: &'a dyn RegistryKv) -> Self {
        Self {
            base,
            changed: BTreeMap::new(),
        }
    }

    /// How many keys changed.
    pub fn changed_keys(&self) -> usize {
        self.changed.len()
    }

    /// The changed keys, to write over the base (`None`: delete), in key order.
    pub fn into_writes(self) -> Vec<KvWrite> {
        self.changed.into_iter().collect()
    }

    fn put(&mut self, key: &[u8], value: Vec<u8>) {
        self.changed.insert(key.to_vec(), Some(value));
    }

    fn delete(&mut self, key: &[u8]) {
        self.changed.insert(key.to_vec(), None);
    }

    /// Sets the version (opaque to the registry).
    pub fn set_version(&mut self, version: &[u8]) {
        self.put(keys::VERSION, version.to_vec());
    }

    fn set_node(&mut self, tree: u8, level: usize, index: u32, value: Fr) {
        let key = keys::node(tree, level as u8, index);
        if value == empty_subtrees()[level] {
            self.delete(&key);
        } else {
            self.put(&key, field::to_bytes(&value).to_vec());
        }
    }

    fn set_slots(&mut self, tree: u8, next: u32, members: u32) {
        let mut value = next.to_be_bytes().to_vec();
        value.extend_from_slice(&members.to_be_bytes());
        self.put(&keys::slots(tree), value);
    }

    /// Takes the lowest free slot of `tree` (or the next new one) for a new member.
    fn take(&mut self, tree: u8) -> Result<u32, StoredRegistryError> {
        let (next, members) = slots(self, tree)?;
        let start = keys::free(tree, 0);
        let end = [b'F', tree + 1];
        let slot = match self.first_in(&start, &end)? {
            Some((key, _)) => {
                self.delete(&key);
                u32_at(&key, 2, "free slot")?
            }
            None => next,
        };
        self.set_slots(tree, next.max(slot + 1), members + 1);
        Ok(slot)
    }

    fn release(&mut self, tree: u8, slot: u32) -> Result<(), StoredRegistryError> {
        let (next, members) = slots(self, tree)?;
        self.put(&keys::free(tree, slot), Vec::new());
        self.set_slots(tree, next, members.saturating_sub(1));
        Ok(())
    }

    fn set_member(&mut self, tree: u8, reference: &Reference, slot: u32, adder: &[u8]) {
        let mut value = slot.to_be_bytes().to_vec();
        value.extend_from_slice(adder);
        self.put(&keys::member(tree, reference), value);
    }

    /// Applies `changes` in order, recording `adder` (opaque, e.g. the submitting member) with
    /// each added member: an addition of a present value, a removal of an absent one, or
    /// outgrowing a tree is an error ([`StoredRegistryError::Circuit`]) and changes nothing.
    /// Costs `2 × DEPTH` hashes per change at most, and reads as many nodes.
    pub fn apply(&mut self, changes: &[Change], adder: &[u8]) -> Result<(), StoredRegistryError> {
        self.check(changes)?;
        let mut dirty: [BTreeSet<u32>; 2] = [BTreeSet::new(), BTreeSet::new()];
        if !initialized(self)? {
            self.set_node(
                keys::BLOCKLIST,
                0,
                0,
                gap_leaf(Fr::zero(), upper_sentinel()),
            );
            self.set_slots(keys::BLOCKLIST, 1, 0);
            self.set_slots(keys::KYC, 0, 0);
            dirty[1].insert(0);
        }
        let (kyc, blocklist) = (keys::KYC, keys::BLOCKLIST);
        for change in changes {
            match change {
                Change::AddKyc(r) => {
                    let slot = self.take(kyc)?;
                    self.set_node(kyc, 0, slot, kyc_leaf(r.field()));
                    self.set_member(kyc, r, slot, adder);
                    dirty[0].insert(slot);
                }
                Change::RemoveKyc(r) => {
                    if let Some((slot, _)) = member(self, true, r)? {
                        self.set_node(kyc, 0, slot, Fr::zero());
                        self.delete(&keys::member(kyc, r));
                        self.release(kyc, slot)?;
                        dirty[0].insert(slot);
                    }
                }
                Change::AddBlocklist(r) => {
                    let (low, low_slot) = predecessor(self, r)?;
                    let high = successor(self, r)?;
                    let slot = self.take(blocklist)?;
                    self.set_node(blocklist, 0, low_slot, gap_leaf(low, r.field()));
                    self.set_node(blocklist, 0, slot, gap_leaf(r.field(), high));
                    self.set_member(blocklist, r, slot, adder);
                    dirty[1].extend([low_slot, slot]);
                }
                Change::RemoveBlocklist(r) => {
                    if let Some((slot, _)) = member(self, false, r)? {
                        self.delete(&keys::member(blocklist, r));
                        let (low, low_slot) = predecessor(self, r)?;
                        let high = successor(self, r)?;
                        self.set_node(blocklist, 0, low_slot, gap_leaf(low, high));
                        self.set_node(blocklist, 0, slot, Fr::zero());
                        self.release(blocklist, slot)?;
                        dirty[1].extend([low_slot, slot]);
                    }
                }
            }
        }
        let [kyc_dirty, blocklist_dirty] = dirty;
        self.rehash(kyc, kyc_dirty)?;
        self.rehash(blocklist, blocklist_dirty)
    }

    /// Recomputes the ancestors of the `dirty` leaves of `tree`, level by level, each changed
    /// node once (in parallel when many changed).
    fn rehash(&mut self, tree: u8, dirty: BTreeSet<u32>) -> Result<(), StoredRegistryError> {
        use rayon::prelude::*;
        let arity = ARITY as u32;
        let mut parents: Vec<u32> = dirty.into_iter().map(|i| i / arity).collect();
        parents.dedup();
        for level in 0..DEPTH {
            let this = &*self;
            let parent = |p: &u32| -> Result<Fr, StoredRegistryError> {
                let mut children = [Fr::zero(); ARITY];
                for (k, child) in children.iter_mut().enumerate() {
                    *child = node(this, tree, level, p * arity + k as u32)?;
                }
                Ok(hash(domains::merkle_node(), &children))
            };
            let hashed: Vec<Fr> = if parents.len() > 64 {
                parents.par_iter().map(parent).collect::<Result<_, _>>()?
            } else {
                parents.iter().map(parent).collect::<Result<_, _>>()?
            };
            for (p, value) in parents.iter().zip(hashed) {
                self.set_node(tree, level + 1, *p, value);
            }
            parents = parents.iter().map(|p| p / arity).collect();
            parents.dedup();
        }
        Ok(())
    }

    /// Whether `changes` apply in order, without changing anything.
    fn check(&self, changes: &[Change]) -> Result<(), StoredRegistryError> {
        let mut changed: HashMap<(bool, Reference), bool> = HashMap::new();
        let (mut kyc_len, mut blocklist_len) = len(self)?;
        for change in changes {
            let (kyc, reference, adding, why) = match change {
                Change::AddKyc(r) => (true, r, true, ChangeConflict::AlreadyRegistered),
                Change::RemoveKyc(r) => (true, r, false, ChangeConflict::NotRegistered),
                Change::AddBlocklist(r) => (false, r, true, ChangeConflict::AlreadyBlocklisted),
                Change::RemoveBlocklist(r) => (false, r, false, ChangeConflict::NotBlocklisted),
            };
            let present = match changed.get(&(kyc, *reference)) {
                Some(present) => *present,
                None => member(self, kyc, reference)?.is_some(),
            };
            if present == adding {
                return Err(CircuitError::from(Unsatisfied::Change(why)).into());
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
                return Err(
                    CircuitError::from(ShapeError::RegistryFull { max: CAPACITY - 1 }).into(),
                );
            }
        }
        Ok(())
    }
}

/// A store's writes applied to an in-memory map (how tests and the in-memory node store keep
/// a registry).
pub fn write_into(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, writes: impl IntoIterator<Item = KvWrite>) {
    for (key, value) in writes {
        match value {
            Some(value) => {
                map.insert(key, value);
            }
            None => {
                map.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::screening::Registry;
    use crate::screening::fixtures::reference;

    fn arb_change() -> impl Strategy<Value = (u8, u8)> {
        (0u8..4, 0u8..24)
    }

    fn change(kind: u8, seed: u8) -> Change {
        let r = reference(seed);
        match kind {
            0 => Change::AddKyc(r),
            1 => Change::RemoveKyc(r),
            2 => Change::AddBlocklist(r),
            _ => Change::RemoveBlocklist(r),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Random update sequences, each checked on an overlay over the stored registry and
        /// then written: roots, witnesses and refusals equal those of the in-memory registry
        /// rebuilt from scratch, after every update and whatever was refused on the way.
        #[test]
        fn overlays_equal_a_fresh_rebuild(
            updates in proptest::collection::vec(proptest::collection::vec(arb_change(), 1..6), 1..12)
        ) {
            let mut base: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut accepted: Vec<Vec<Change>> = Vec::new();
            for update in updates {
                let changes: Vec<Change> = update.iter().map(|(k, s)| change(*k, *s)).collect();
                let mut overlay = Overlay::new(&base);
                let stored = overlay.apply(&changes, b"m");
                let mut fresh = Registry::default();
                for done in &accepted {
                    fresh.apply(done).unwrap();
                }
                let memory = fresh.apply(&changes);
                prop_assert_eq!(stored.is_ok(), memory.is_ok());
                if stored.is_err() {
                    prop_assert_eq!(overlay.changed_keys(), 0);
                    continue;
                }
                prop_assert_eq!(roots(&overlay).unwrap(), fresh.roots());
                let writes = overlay.into_writes();
                write_into(&mut base, writes);
                accepted.push(changes);
                prop_assert_eq!(roots(&base).unwrap(), fresh.roots());
                prop_assert_eq!(len(&base).unwrap(), fresh.len());
                for seed in 0u8..24 {
                    let r = reference(seed);
                    let a = witness(&base, r, Fr::from(7u64));
                    let b = fresh.witness(r, Fr::from(7u64));
                    prop_assert_eq!(a.ok(), b.ok());
                }
            }
        }
    }

    #[test]
    fn an_unwritten_store_is_the_empty_registry() {
        let base: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        assert_eq!(roots(&base).unwrap(), Registry::default().roots());
        assert_eq!(len(&base).unwrap(), (0, 0));
        assert!(witness(&base, reference(1), Fr::zero()).is_err());
    }

    /// Slots above 2²⁰ (the old capacity) hold leaves whose paths lead to the root.
    #[test]
    fn capacity_is_above_a_million() {
        const { assert!(CAPACITY >= 1 << 24) };
        let mut base: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        // Slots below 2²⁰ + 3 are taken; the KYC member in slot 2²⁰ + 2 has a valid path.
        let next = (1u32 << 20) + 2;
        let mut overlay = Overlay::new(&base);
        overlay.set_slots(keys::KYC, next, next);
        overlay.set_slots(keys::BLOCKLIST, 1, 0);
        let writes = overlay.into_writes();
        write_into(&mut base, writes);
        let mut overlay = Overlay::new(&base);
        overlay
            .apply(&[Change::AddKyc(reference(9))], b"m")
            .unwrap();
        let writes = overlay.into_writes();
        write_into(&mut base, writes);
        let (slot, adder) = member(&base, true, &reference(9)).unwrap().unwrap();
        assert_eq!((slot, adder.as_slice()), (next, b"m".as_slice()));
        let leaf = kyc_leaf(reference(9).field());
        let path = path(&base, keys::KYC, slot).unwrap();
        assert_eq!(
            super::super::path_root(leaf, &path),
            Some(roots(&base).unwrap().kyc)
        );
    }
}
