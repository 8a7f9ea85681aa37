//! The Poseidon domain tags, one per use of Poseidon: each is the capacity element
//! `Fr(SHA-256(label))` of its label in `veil_crypto::labels::circuits`. Changing a label
//! changes every commitment and root made with it.

use std::sync::OnceLock;

use veil_crypto::labels::circuits as labels;

use crate::poseidon::Domain;

macro_rules! domain {
    ($(#[$doc:meta])* $name:ident, $label:path) => {
        $(#[$doc])*
        pub fn $name() -> Domain {
            static TAG: OnceLock<Domain> = OnceLock::new();
            *TAG.get_or_init(|| Domain::new($label))
        }
    };
}

domain!(
    /// A repayment's commitment, the leaf of a period's settlement tree
    /// (`veil.circuits.repayment.v1`).
    repayment,
    labels::REPAYMENT
);
domain!(
    /// An inner node of every 4-ary Merkle tree (`veil.circuits.merkle-node.v1`).
    merkle_node,
    labels::MERKLE_NODE
);
domain!(
    /// The commitment to a bank's amount due (`veil.circuits.due.v1`).
    due,
    labels::DUE
);
domain!(
    /// The commitment to a borrower's registry reference (`veil.circuits.borrower.v1`).
    borrower,
    labels::BORROWER
);
domain!(
    /// A KYC registry leaf (`veil.circuits.kyc-leaf.v1`).
    kyc_leaf,
    labels::KYC_LEAF
);
domain!(
    /// A blocklist leaf, the interval between neighbours (`veil.circuits.blocklist-gap.v1`).
    blocklist_gap,
    labels::BLOCKLIST_GAP
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_use_has_its_own_tag() {
        let tags = [
            repayment(),
            merkle_node(),
            due(),
            borrower(),
            kyc_leaf(),
            blocklist_gap(),
        ];
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
