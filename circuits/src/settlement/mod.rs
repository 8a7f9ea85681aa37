//! The settlement statement: each bank's amount due is the share-weighted sum of repayments,
//! rounded exactly as the gateway allocates them.
//!
//! **Real-time clearing.** Every `loan.repaid` entry carries this proof for its one repayment
//! (capacity 1), over its loan's participants as bank slots ([`PARTICIPANT_SLOTS`], in
//! ascending id order, see [`participant_slots`]): each participant's allocation is proved
//! when the repayment is written, at a cost that depends neither on the period's size nor on
//! the consortium's. Closing a period (`settlement.closed`) needs no circuit: each bank's amount
//! due is the sum of its allocations, checked by nodes on the allocations' Pedersen commitments
//! (homomorphic), with one Schnorr proof of zero per bank.
//!
//! **Public** ([`SettlementPublic`]): the entry's id, the period, the Poseidon Merkle
//! root of the repayment commitments (for capacity 1, the repayment's own commitment), how
//! many repayments there are, the originator's bank slot, and one Poseidon commitment per bank
//! slot to that bank's amount (its allocation).
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
//!
//! The rule each repayment is allocated by is `veil_crypto::allocation`'s, the one the gateway
//! uses. One file per role:
//!
//! - [`Shape`] (`shape.rs`): the capacity and bank slots a circuit and its keys are made for.
//! - `tree.rs`: repayment leaves and the period's Merkle root over them.
//! - `statement.rs`: the public and private inputs ([`SettlementPublic`],
//!   [`SettlementWitness`]), the amounts due, and the native checker [`check`].
//! - `circuit.rs`: the same relation in R1CS ([`SettlementCircuit`]).
//! - `proof.rs`: what a `settlement.closed` entry carries, and its verification
//!   ([`SettlementProof`]).

mod circuit;
#[cfg(test)]
pub(crate) mod fixtures;
mod proof;
mod shape;
mod statement;
mod tree;

pub use circuit::SettlementCircuit;
pub use proof::SettlementProof;
pub use shape::{CAPACITIES, MAX_BANKS, PARTICIPANT_SLOTS, SHARE_BITS, Shape};
pub use statement::{Repayment, SettlementPublic, SettlementWitness, check, due_commitment, dues};
pub use tree::{pack_shares, padding_leaf, root};
pub use veil_crypto::allocation::BASIS_POINTS as BPS;
pub use veil_crypto::allocation::allocate;

/// A repayment's bank slots: its loan's `participants` (bank ids) in ascending id order, and
/// the slot of `originator` among them.
///
/// `None` when there are more than [`PARTICIPANT_SLOTS`] participants, one is listed twice, or
/// `originator` is not one of them. Gateways lay out a repayment's proof by it and nodes verify
/// by it, so both see the same slots.
pub fn participant_slots<'a>(
    participants: impl IntoIterator<Item = &'a str>,
    originator: &str,
) -> Option<(Vec<&'a str>, usize)> {
    let mut slots: Vec<&str> = participants.into_iter().collect();
    slots.sort_unstable();
    if slots.len() > PARTICIPANT_SLOTS || slots.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let originator = slots.iter().position(|bank| *bank == originator)?;
    Some((slots, originator))
}

#[cfg(test)]
mod slot_tests {
    use super::*;

    #[test]
    fn slots_are_the_participants_in_id_order() {
        assert_eq!(
            participant_slots(["webank", "bank-b", "huarui-bank"], "webank"),
            Some((vec!["bank-b", "huarui-bank", "webank"], 2))
        );
        assert_eq!(participant_slots(["a", "b"], "c"), None);
        assert_eq!(participant_slots(["a", "a"], "a"), None);
        assert_eq!(participant_slots(["a", "b", "c", "d", "e"], "a"), None);
        assert_eq!(
            participant_slots(["a", "b", "c", "d"], "d"),
            Some((vec!["a", "b", "c", "d"], 3))
        );
    }
}
