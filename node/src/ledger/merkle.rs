//! The Merkle tree over a block's entries.
//!
//! Leaves are `SHA-256(0x00 || entry bytes)`, inner nodes `SHA-256(0x01 || left || right)`; a
//! level with an odd number of nodes carries its last node up unchanged. The root of no
//! leaves is `SHA-256(0x02)`. The prefixes keep leaves and inner nodes apart, so no entry can
//! pose as a subtree.

use sha2::{Digest as _, Sha256};

const LEAF: u8 = 0x00;
const NODE: u8 = 0x01;
const EMPTY: u8 = 0x02;

/// The leaf hash of an encoded entry.
pub fn leaf(entry: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([LEAF]);
    hasher.update(entry);
    hasher.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([NODE]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root over `leaves`, in order.
pub fn root(leaves: impl IntoIterator<Item = [u8; 32]>) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = leaves.into_iter().collect();
    if level.is_empty() {
        return Sha256::digest([EMPTY]).into();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(right) => node(&pair[0], right),
                None => pair[0],
            })
            .collect();
    }
    level[0]
}

/// The sibling path proving that leaf `index` is in the tree of `leaves`.
pub fn proof(leaves: &[[u8; 32]], index: usize) -> Vec<([u8; 32], bool)> {
    let mut path = Vec::new();
    let mut level = leaves.to_vec();
    let mut index = index;
    while level.len() > 1 {
        let sibling = index ^ 1;
        if sibling < level.len() {
            // (sibling, sibling is on the left)
            path.push((level[sibling], sibling < index));
        }
        level = level
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(right) => node(&pair[0], right),
                None => pair[0],
            })
            .collect();
        index /= 2;
    }
    path
}

/// Whether `leaf` with sibling path `path` hashes up to `root`.
pub fn verify(root_hash: &[u8; 32], leaf_hash: [u8; 32], path: &[([u8; 32], bool)]) -> bool {
    let computed = path.iter().fold(leaf_hash, |acc, (sibling, left)| {
        if *left {
            node(sibling, &acc)
        } else {
            node(&acc, sibling)
        }
    });
    computed == *root_hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_for_every_leaf_and_size() {
        for n in 1..=9usize {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf(&[i as u8])).collect();
            let r = root(leaves.clone());
            for i in 0..n {
                let path = proof(&leaves, i);
                assert!(verify(&r, leaves[i], &path), "n={n} i={i}");
                assert!(!verify(&r, leaf(b"other"), &path));
            }
        }
        assert_ne!(root(Vec::new()), root([leaf(b"")]));
    }
}
