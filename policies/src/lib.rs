//! # veil-policies
//!
//! What an entry may contain and who may read it:
//!
//! - [`schema`]: the entry types (`loan.originated`, `loan.repaid`, `settlement.closed`), their
//!   fields, which are committed amounts, which are personal data, and their view-key classes.
//! - [`policy`]: per-field permissions as Cedar policies, validated against Veil's schema,
//!   with a canonical hash that goes into the genesis and every ciphertext's AAD.
//! - [`proof_plan`]: the proofs each entry must carry, derived from public data, identically
//!   for the prover (gateway) and the verifiers (nodes).
//!
//! Invariant: the node never trusts a submitter's choice of statement; it derives the
//! statements itself with [`proof_plan::plan`] from the entry type and commitment labels.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod fuzzing;
pub mod policy;
pub mod proof_plan;
pub mod schema;

pub use policy::{FieldResource, Policies, PolicyError, Principal, field_resource};
pub use proof_plan::{Params, PlanError, ProofPlan, RelationPlan};
pub use schema::{EntryType, FieldClass};
