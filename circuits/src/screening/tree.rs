//! The registry trees: sparse 4-ary Poseidon Merkle trees of depth [`DEPTH`], kept up to date
//! leaf by leaf, and the paths that prove a leaf is in one.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::Zero as _;

use crate::domains;
use crate::merkle::ARITY;
use crate::poseidon::hash;

/// Depth of both registry trees.
pub const DEPTH: usize = 12;
/// Leaves of a registry tree (4¹² = 16,777,216): the most KYC members, and one more than the
/// most blocklist members.
pub const CAPACITY: usize = 1 << (2 * DEPTH);

/// A Merkle path: per level from the leaf up, the three siblings in order and the node's
/// position (0–3) among its four children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The siblings, per level.
    pub siblings: Vec<[Fr; 3]>,
    /// The position, per level.
    pub positions: Vec<u8>,
}

/// The four children of a node from the child at `position` (below [`ARITY`]) and its
/// siblings.
fn children<T: Clone>(node: T, siblings: &[T; 3], position: usize) -> [T; ARITY] {
    std::array::from_fn(|i| match i.cmp(&position) {
        std::cmp::Ordering::Less => siblings[i].clone(),
        std::cmp::Ordering::Equal => node.clone(),
        std::cmp::Ordering::Greater => siblings[i - 1].clone(),
    })
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
pub(super) fn empty_subtrees() -> &'static [Fr; DEPTH + 1] {
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
pub(super) struct Tree {
    /// Per level from the leaves up, the nodes up to the highest slot used.
    pub(super) levels: Vec<Vec<Fr>>,
    dirty: BTreeSet<usize>,
}

impl Tree {
    pub(super) fn new() -> Self {
        Self {
            levels: vec![Vec::new(); DEPTH + 1],
            dirty: BTreeSet::new(),
        }
    }

    /// Sets leaf `index` (below [`CAPACITY`]); its ancestors are stale until [`Tree::rehash`].
    pub(super) fn set(&mut self, index: usize, leaf: Fr) {
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
    pub(super) fn rehash(&mut self) {
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

    pub(super) fn root(&self) -> Fr {
        self.levels[DEPTH]
            .first()
            .copied()
            .unwrap_or(empty_subtrees()[DEPTH])
    }

    pub(super) fn path(&self, mut index: usize) -> Path {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_trees_equal_the_padded_merkle_root() {
        // A depth-12 tree is too big to pad in a test; compare a sparse tree's lowest levels
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
}
