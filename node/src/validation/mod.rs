//! Entry validation: everything a node checks before an entry may be ordered.
//!
//! [`Validator::check`] runs the rule groups in this order and stops at the first that fails
//! (one file per group):
//!
//! *Stateless* ([`Validator::check_stateless`], a function of the entry and the genesis only):
//!
//! 1. `header.rs`: a known type and schema version, the genesis policy hash, a submitter that
//!    may submit the type (a member; a regulator for a view-key publication, and nothing else)
//!    and whose Ed25519 signature verifies, a valid period;
//! 2. `fields.rs`: field paths that belong to the type (per-bank paths naming members), every
//!    required field, a commitment for every committed field, commitments that fit the type's
//!    [proof plan](veil_policies::proof_plan), a loan funded by its originator;
//! 3. `circuits.rs`: well-formed circuit data (screening proof, registry update, none for a
//!    settlement) and a repayment's verified settlement proof (real-time clearing, one
//!    repayment over its loan's participants); `view_keys.rs`: a view-key
//!    publication's complete, consecutive, bounded months of valid keys, and nothing else;
//! 4. `proofs.rs`: every range and relation proof of the proof plan, unless its statement
//!    involves referenced entries (a settlement's); every commitment's decrypt handle to each
//!    regulator's auditor key and its validity proof ([`crate::audit`]).
//!
//! *Stateful* ([`Validator::check_stateful`], against a [`LedgerView`]):
//!
//! 5. replay: the id was never used (replays are refused);
//! 6. `references.rs`: references exist and have the right type and submitter, a repayment's
//!    allocations name exactly the loan's participants, a settlement's repayments belong to its
//!    period and were not settled before, the registry version a loan or an update references
//!    is current, a view-key publication follows its regulator's last one;
//! 7. for a settlement, `proofs.rs` over its repayments' commitments: each amount due is the
//!    sum of that bank's allocations (no circuit whose size grows with the period);
//! 8. `registry.rs`: a registry update's roots are those of the changed lists, and a loan's
//!    screening proof (`circuits.rs`) verifies against the roots of the version it references;
//! 9. `view_keys.rs`: a view-key publication starts the month after the last one its
//!    regulator published (in the genesis, or in the publication it references, which
//!    `references.rs` checked is the head of the regulator's chain);
//! 10. `recipients.rs`: every reader group is wrapped to exactly the recipient set of its
//!     fields ([`crate::recipients`]: the members and regulators' view keys the policy set
//!     names, from the genesis, the entry's participants and the regulators' publications).
//!
//! Invariants: the same function decides for mempool admission, for voting on a proposed block
//! and for re-checking finalized blocks during catch-up, so honest nodes agree on validity. The
//! stateless verdict depends only on the entry's bytes, so it may be cached by entry digest.
//! A refusal is a [`Rejection`] naming the rule, with a stable [`RejectionCode`] for metrics
//! and the node API (`rejection.rs`, `code.rs`); a store failure is a [`ValidationError::Store`], never
//! the entry's fault. The ledger is read through [`LedgerView`] (`view.rs`); validation reads
//! the registry chain through [`crate::registry`], which knows nothing of validation.

mod circuits;
mod code;
mod fields;
mod header;
mod proofs;
mod recipients;
mod references;
mod registry;
mod rejection;
mod timing;
mod view;
mod view_keys;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use veil_policies::Policies;
use veil_policies::schema::EntryType;

use self::circuits::RepaymentStatement;
pub use self::circuits::repayment_commitment;
pub use self::code::RejectionCode;
pub use self::recipients::RecipientsError;
pub use self::rejection::{
    CircuitProofError, FieldError, ReferenceError, Rejection, ValidationError, ViewKeysError,
};
pub use self::timing::{ProofHistograms, ProofKind, ProofLabel, ProofTimer};
pub use self::view::{LedgerView, PendingView, supersedes_references};
use crate::genesis::Genesis;
use crate::ledger::Entry;

/// Whether the proof statements of `kind` involve the commitments of referenced entries.
fn depends_on_references(kind: EntryType) -> bool {
    kind == EntryType::SettlementClosed
}

/// Validates entries against a genesis.
#[derive(Debug, Clone)]
pub struct Validator {
    genesis: Arc<Genesis>,
    policies: Arc<Policies>,
    readers: Arc<Mutex<HashMap<String, Vec<String>>>>,
    timer: Option<Arc<dyn ProofTimer>>,
}

/// Why a validator cannot be made for a genesis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicySetError {
    /// The policy set given is not the one the genesis names.
    #[error(
        "the genesis names policy set {genesis}, this policy set is {given}: give the policy \
         file the genesis was assembled with"
    )]
    Mismatch {
        /// Hex hash the genesis names.
        genesis: String,
        /// Hex hash of the set given.
        given: String,
    },
    /// The built-in policy set could not be loaded (a build defect).
    #[error("built-in policy set: {0}")]
    Builtin(String),
}

impl Validator {
    /// A validator for the consortium of `genesis`, whose policy set must be the built-in
    /// default one (what `veil consortium assemble` and `veil init` write).
    ///
    /// Errors: [`PolicySetError::Mismatch`] if the genesis names another policy set (use
    /// [`Validator::with_policies`]).
    pub fn new(genesis: Arc<Genesis>) -> Result<Self, PolicySetError> {
        let policies =
            Policies::default_set().map_err(|e| PolicySetError::Builtin(e.to_string()))?;
        Self::with_policies(genesis, Arc::new(policies))
    }

    /// A validator for the consortium of `genesis` with its policy set `policies` (nodes
    /// compute every field's recipients from it).
    ///
    /// Errors: [`PolicySetError::Mismatch`] if `policies` is not the set the genesis names.
    pub fn with_policies(
        genesis: Arc<Genesis>,
        policies: Arc<Policies>,
    ) -> Result<Self, PolicySetError> {
        if policies.hash() != genesis.policy_hash {
            return Err(PolicySetError::Mismatch {
                genesis: veil_crypto::encoding::to_hex(&genesis.policy_hash),
                given: veil_crypto::encoding::to_hex(&policies.hash()),
            });
        }
        Ok(Self {
            genesis,
            policies,
            readers: Arc::default(),
            timer: None,
        })
    }

    /// This validator reporting the time of every proof it verifies to `timer` (metrics).
    #[must_use]
    pub fn with_timer(mut self, timer: Arc<dyn ProofTimer>) -> Self {
        self.timer = Some(timer);
        self
    }

    /// Runs `check`, reporting its time under `kind` to this validator's timer.
    fn timed<T>(&self, kind: ProofKind, check: impl FnOnce() -> T) -> T {
        timing::timed(self.timer.as_deref(), kind, check)
    }

    /// The policy set.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    fn readers_cache(&self) -> MutexGuard<'_, HashMap<String, Vec<String>>> {
        self.readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis, shared.
    pub fn shared_genesis(&self) -> Arc<Genesis> {
        self.genesis.clone()
    }

    /// Checks `entry` completely against the ledger seen through `view`.
    pub fn check(&self, entry: &Entry, view: &dyn LedgerView) -> Result<(), ValidationError> {
        self.check_stateless(entry)?;
        self.check_stateful(entry, view)
    }

    /// The checks that depend only on the entry's bytes and the genesis: header, submitter and
    /// signature, fields, commitments, and the proofs whose statements need no other entry.
    /// A pure function of the entry, so its verdict can be cached by entry digest.
    pub fn check_stateless(&self, entry: &Entry) -> Result<(), Rejection> {
        match self.check_stateless_deferring(entry)? {
            Some(statement) => self
                .verify_repayments(&[&statement])
                .into_iter()
                .next()
                .unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// [`Validator::check_stateless`] of every entry of `entries`, in parallel, with their
    /// repayments' settlement proofs verified together by one multi-pairing (a random linear
    /// combination: [`veil_circuits::VerifyingKey::verify_batch`]) instead of one pairing
    /// check each: the verdict of each entry, in order. An entry whose proof fails the batch
    /// is named by its own verdict (the batch is re-checked to find it); the others pass.
    pub fn check_stateless_batch(&self, entries: &[&Entry]) -> Vec<Result<(), Rejection>> {
        use rayon::prelude::*;
        let mut verdicts: Vec<Result<Option<RepaymentStatement>, Rejection>> = entries
            .par_iter()
            .map(|entry| self.check_stateless_deferring(entry))
            .collect();
        let deferred: Vec<(usize, &RepaymentStatement)> = verdicts
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((i, v.as_ref().ok()?.as_ref()?)))
            .collect();
        let statements: Vec<&RepaymentStatement> = deferred.iter().map(|(_, s)| *s).collect();
        let proofs = self.verify_repayments(&statements);
        let failed: Vec<(usize, Rejection)> = deferred
            .iter()
            .zip(proofs)
            .filter_map(|((i, _), verdict)| Some((*i, verdict.err()?)))
            .collect();
        for (i, rejection) in failed {
            verdicts[i] = Err(rejection);
        }
        verdicts.into_iter().map(|v| v.map(|_| ())).collect()
    }

    /// Every stateless check but the pairing check of a repayment's settlement proof, whose
    /// statement it returns instead (shape checked) for the caller to verify, alone or in a
    /// batch.
    fn check_stateless_deferring(
        &self,
        entry: &Entry,
    ) -> Result<Option<RepaymentStatement>, Rejection> {
        let kind = self.check_header(entry)?;
        self.check_fields(kind, entry)?;
        let deferred = if kind == EntryType::LoanRepaid {
            Some(self.repayment_statement(entry)?)
        } else {
            self.check_circuit_data(kind, entry)?;
            None
        };
        if !depends_on_references(kind) {
            self.check_proofs(kind, entry, &[])?;
        }
        self.check_audit(entry)?;
        Ok(deferred)
    }

    /// The checks against the ledger: no replay, valid references, and the proofs whose
    /// statements involve referenced entries. Assumes [`Validator::check_stateless`] passed.
    pub fn check_stateful(
        &self,
        entry: &Entry,
        view: &dyn LedgerView,
    ) -> Result<(), ValidationError> {
        let kind = EntryType::from_name(&entry.header.kind).ok_or(Rejection::UnknownType)?;
        if view.entry(&entry.header.id)?.is_some() {
            return Err(Rejection::Replay.into());
        }
        let referenced = self.check_references(kind, entry, view)?;
        if depends_on_references(kind) {
            let referenced: Vec<&Entry> = referenced.iter().map(Arc::as_ref).collect();
            self.check_referenced_proofs(kind, entry, &referenced)?;
        }
        self.check_registry(kind, entry, &referenced, view)?;
        self.check_view_keys_chain(kind, entry, &referenced)?;
        self.check_recipients(kind, entry, &referenced, view)
    }

    /// Verifies the proofs of `entry` whose statements involve `referenced` entries (in the
    /// order of its references). Readers use it to re-check settlements themselves.
    pub fn check_proofs_with(&self, entry: &Entry, referenced: &[Entry]) -> Result<(), Rejection> {
        let kind = EntryType::from_name(&entry.header.kind).ok_or(Rejection::UnknownType)?;
        let referenced: Vec<&Entry> = referenced.iter().collect();
        self.check_referenced_proofs(kind, entry, &referenced)
    }

    /// Verifies a loan's screening proof against the roots of the registry version it
    /// references (`referenced`, its one reference), when the consortium screens. Readers use
    /// it to re-check finalized loans; whether the version was current was checked at ordering.
    pub fn check_screening_with(
        &self,
        loan: &Entry,
        referenced: &[Entry],
    ) -> Result<(), Rejection> {
        self.check_screening(loan, referenced.first())
    }

    /// The range and relation proofs over `referenced` entries' commitments.
    fn check_referenced_proofs(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[&Entry],
    ) -> Result<(), Rejection> {
        let items: Vec<proofs::ReferencedCommitments<'_>> = referenced
            .iter()
            .map(|e| e.commitments.as_slice())
            .collect();
        self.check_proofs(kind, entry, &items)
    }
}
