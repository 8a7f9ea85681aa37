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
pub use shape::{CAPACITIES, MAX_BANKS, SHARE_BITS, Shape};
pub use statement::{Repayment, SettlementPublic, SettlementWitness, check, due_commitment, dues};
pub use tree::{pack_shares, padding_leaf, root};
pub use veil_crypto::allocation::BASIS_POINTS as BPS;
pub use veil_crypto::allocation::allocate;
