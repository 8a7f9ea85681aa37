//! Entry validation: everything a node checks before an entry may be ordered.
//!
//! *Stateless*: a known type and schema version, the genesis policy hash, a submitter that is a
//! member and whose Ed25519 signature verifies, a valid period, field paths that belong to the
//! type (per-bank paths naming members), a commitment for every committed field, and every
//! proof of the type's [proof plan](veil_policies::proof_plan) verifying.
//!
//! *Stateful*: the id was never used (replays are refused), references exist and have the
//! right type and submitter, a repayment's allocations name exactly the loan's participants,
//! a settlement's repayments belong to its period and were not settled before, a registry
//! update changes the current registry version and its roots are those of the changed lists,
//! and a loan's screening proof verifies against the current registry's roots.
//!
//! The same function decides for mempool admission, for voting on a proposed block and for
//! re-checking finalized blocks during catch-up, so honest nodes agree on validity.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use veil_crypto::range_proof::RangeProof;
use veil_crypto::relation_proof::{Relation, RelationProof};
use veil_crypto::view_key::month_of;
use veil_policies::proof_plan::{self, PlanError, per_bank, purpose};
use veil_policies::schema::{EntryType, Input, Kind, ReferenceRule, Shape};

use veil_circuits::screening::ScreeningProof;
use veil_circuits::settlement::SettlementProof;

use crate::genesis::Genesis;
use crate::ledger::{Entry, EntryId};
use crate::registry::{self, RegistryCache};
use crate::store::{Store, StoreError};

/// Why an entry is invalid. The variant names the rule; [`Rejection::reason`] is the short
/// label used in metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The entry type is not known.
    #[error("unknown entry type")]
    UnknownType,
    /// The schema version is not the type's.
    #[error("schema version mismatch")]
    SchemaVersion,
    /// The policy hash is not the genesis policy hash.
    #[error("policy hash mismatch")]
    PolicyHash,
    /// The submitter is not a member.
    #[error("unknown submitter")]
    UnknownSubmitter,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// The period is not `YYYY-MM` or `YYYY-MM-DD`.
    #[error("invalid period")]
    Period,
    /// The encrypted fields do not fit the type.
    #[error("invalid fields: {0}")]
    Fields(String),
    /// The commitments do not fit the type.
    #[error("invalid commitments: {0}")]
    Commitments(PlanError),
    /// The references do not fit the type or do not exist.
    #[error("invalid references: {0}")]
    References(&'static str),
    /// The entry id was used before.
    #[error("replayed entry id")]
    Replay,
    /// A repayment referenced by a settlement was already settled.
    #[error("repayment already settled")]
    AlreadySettled,
    /// The registry version a loan was screened against, or an update changes, is no longer
    /// current (another update was ordered first): screen or change again.
    #[error("the registry version is no longer current")]
    StaleRegistry,
    /// The range proof does not verify.
    #[error("range proof does not verify")]
    RangeProof,
    /// A relation proof does not verify.
    #[error("relation proof does not verify")]
    RelationProof,
    /// The circuit data (a repayment's Poseidon commitment, a settlement's Groth16 proof) is
    /// malformed or does not verify.
    #[error("circuit proof: {0}")]
    CircuitProof(String),
}

impl Rejection {
    /// A short, stable label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownType | Self::SchemaVersion | Self::Fields(_) | Self::Period => "schema",
            Self::Commitments(_) => "commitments",
            Self::PolicyHash => "policy",
            Self::UnknownSubmitter | Self::Signature => "signature",
            Self::References(_) => "reference",
            Self::Replay | Self::AlreadySettled => "replay",
            Self::StaleRegistry => "stale-registry",
            Self::RangeProof | Self::RelationProof => "proof",
            Self::CircuitProof(_) => "circuit",
        }
    }
}

/// Validation outcome: the entry is invalid, or the store failed (not the entry's fault).
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// The entry is invalid.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Reading the ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What validation needs to know about the ledger so far.
pub trait LedgerView: Sync {
    /// The entry with id `id`, finalized or pending before the one being checked.
    fn entry(&self, id: &EntryId) -> Result<Option<Arc<Entry>>, StoreError>;
    /// The settlement that settled repayment `id`, or the registry update that superseded
    /// registry version `id`, if any.
    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, StoreError>;
    /// Whether any `registry.updated` entry exists.
    fn has_registry(&self) -> Result<bool, StoreError>;
}

/// The finalized ledger plus entries ordered but not yet finalized (or earlier in the block).
pub struct PendingView<'a> {
    store: &'a dyn Store,
    pending: HashMap<EntryId, Arc<Entry>>,
    settled: HashMap<EntryId, EntryId>,
}

impl std::fmt::Debug for PendingView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingView")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<'a> PendingView<'a> {
    /// The finalized ledger in `store`, with nothing pending.
    pub fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            pending: HashMap::new(),
            settled: HashMap::new(),
        }
    }

    /// Adds an entry as pending (ordered before whatever is checked next).
    pub fn push(&mut self, entry: Arc<Entry>) {
        if supersedes_references(&entry.header.kind) {
            for reference in &entry.header.references {
                self.settled.insert(*reference, entry.header.id);
            }
        }
        self.pending.insert(entry.header.id, entry);
    }

    /// Whether `id` is pending.
    pub fn is_pending(&self, id: &EntryId) -> bool {
        self.pending.contains_key(id)
    }
}

impl LedgerView for PendingView<'_> {
    fn entry(&self, id: &EntryId) -> Result<Option<Arc<Entry>>, StoreError> {
        if let Some(entry) = self.pending.get(id) {
            return Ok(Some(entry.clone()));
        }
        match self.store.entry(id)? {
            Some(stored) => Entry::decode(&stored.bytes)
                .map(|entry| Some(Arc::new(entry)))
                .map_err(|_| StoreError::Corrupt("stored entry does not decode")),
            None => Ok(None),
        }
    }

    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, StoreError> {
        if let Some(settlement) = self.settled.get(id) {
            return Ok(Some(*settlement));
        }
        self.store.settled_by(id)
    }

    fn has_registry(&self) -> Result<bool, StoreError> {
        let kind = EntryType::RegistryUpdated.name();
        Ok(self.pending.values().any(|e| e.header.kind == kind)
            || !self.store.entries_by_type(kind, None, 1)?.is_empty())
    }
}

/// Whether entries of type `kind` settle (or supersede) the entries they reference: a
/// settlement its repayments, a registry update the version it changes.
pub fn supersedes_references(kind: &str) -> bool {
    kind == EntryType::SettlementClosed.name() || kind == EntryType::RegistryUpdated.name()
}

/// Whether the proof statements of `kind` involve the commitments of referenced entries.
fn depends_on_references(kind: EntryType) -> bool {
    kind == EntryType::SettlementClosed
}

/// Validates entries against a genesis.
#[derive(Debug, Clone)]
pub struct Validator {
    genesis: Arc<Genesis>,
    registry: Arc<std::sync::Mutex<RegistryCache>>,
}

impl Validator {
    /// A validator for the consortium of `genesis`.
    pub fn new(genesis: Arc<Genesis>) -> Self {
        Self {
            genesis,
            registry: Arc::default(),
        }
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
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
        let kind = self.check_header(entry)?;
        self.check_fields(kind, entry)?;
        self.check_circuit_data(kind, entry)?;
        if !depends_on_references(kind) {
            self.check_proofs(kind, entry, &[])?;
        }
        Ok(())
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
            let items: Vec<&[(String, veil_crypto::Commitment)]> = referenced
                .iter()
                .map(|e| e.commitments.as_slice())
                .collect();
            self.check_proofs(kind, entry, &items)?;
            let referenced: Vec<&Entry> = referenced.iter().map(Arc::as_ref).collect();
            self.check_circuit(kind, entry, &referenced)?;
        }
        self.check_registry(kind, entry, &referenced, view)
    }

    /// A registry update's roots against the changed lists; a loan's screening proof against
    /// the roots of the registry version it references (current, as checked with references).
    fn check_registry(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[Arc<Entry>],
        view: &dyn LedgerView,
    ) -> Result<(), ValidationError> {
        let bad = |why: String| ValidationError::Rejected(Rejection::CircuitProof(why));
        match kind {
            EntryType::RegistryUpdated => {
                let update = registry::update_of(entry)?;
                let previous = registry::registry_after(
                    view,
                    referenced.first().map(AsRef::as_ref),
                    &self.registry,
                )?;
                let mut next = (*previous).clone();
                next.apply(&update.changes)
                    .map_err(|e| bad(e.to_string()))?;
                if next.roots() != update.roots {
                    return Err(bad("the roots are not those of the changed registry".into()));
                }
                Ok(())
            }
            EntryType::LoanOriginated => {
                Ok(self.check_screening(entry, referenced.first().map(AsRef::as_ref))?)
            }
            EntryType::LoanRepaid | EntryType::SettlementClosed => Ok(()),
        }
    }

    /// Verifies the proofs of `entry` whose statements involve `referenced` entries (in the
    /// order of its references). Readers use it to re-check settlements themselves.
    pub fn check_proofs_with(&self, entry: &Entry, referenced: &[Entry]) -> Result<(), Rejection> {
        let kind = EntryType::from_name(&entry.header.kind).ok_or(Rejection::UnknownType)?;
        let items: Vec<&[(String, veil_crypto::Commitment)]> = referenced
            .iter()
            .map(|e| e.commitments.as_slice())
            .collect();
        self.check_proofs(kind, entry, &items)?;
        let referenced: Vec<&Entry> = referenced.iter().collect();
        self.check_circuit(kind, entry, &referenced)
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

    fn check_screening(&self, loan: &Entry, version: Option<&Entry>) -> Result<(), Rejection> {
        let Some(vk) = &self.genesis.circuits.screening else {
            return Ok(());
        };
        let version = version.ok_or(Rejection::References(
            "a loan must reference the registry it was screened against",
        ))?;
        if version.header.kind != EntryType::RegistryUpdated.name() {
            return Err(Rejection::References("referenced entry has the wrong type"));
        }
        let roots = registry::update_of(version)?.roots;
        ScreeningProof::from_bytes(&loan.proofs.circuit)
            .and_then(|proof| proof.verify(vk, &loan.header.id.0, roots))
            .map_err(|e| Rejection::CircuitProof(format!("screening: {e}")))
    }

    /// The shape of an entry's circuit data, without the ledger: none for a loan, a canonical
    /// Poseidon commitment for a repayment, a well-formed proof for a genesis circuit for a
    /// settlement.
    fn check_circuit_data(&self, kind: EntryType, entry: &Entry) -> Result<(), Rejection> {
        let bad = |why: &str| Rejection::CircuitProof(why.to_owned());
        let data = &entry.proofs.circuit;
        match kind {
            EntryType::LoanOriginated => match self.genesis.circuits.screening {
                Some(_) => ScreeningProof::from_bytes(data)
                    .map(|_| ())
                    .map_err(|e| bad(&format!("screening proof: {e}"))),
                None if data.is_empty() => Ok(()),
                None => Err(bad(
                    "this consortium does not screen: a loan carries no circuit data",
                )),
            },
            EntryType::RegistryUpdated => registry::update_of(entry).map(|_| ()),
            EntryType::LoanRepaid => repayment_commitment(entry).map(|_| ()),
            EntryType::SettlementClosed => {
                let proof = SettlementProof::from_bytes(data).map_err(|e| bad(&e.to_string()))?;
                if !self
                    .genesis
                    .circuits
                    .settlement
                    .contains_key(&proof.capacity)
                {
                    return Err(bad("no settlement circuit of that capacity in the genesis"));
                }
                if proof.due.len() != self.genesis.members.len() {
                    return Err(bad("one amount-due commitment per member is required"));
                }
                Ok(())
            }
        }
    }

    /// The settlement's Groth16 proof against its referenced repayments' commitments.
    fn check_circuit(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[&Entry],
    ) -> Result<(), Rejection> {
        if kind != EntryType::SettlementClosed {
            return Ok(());
        }
        let bad = |why: String| Rejection::CircuitProof(why);
        let proof =
            SettlementProof::from_bytes(&entry.proofs.circuit).map_err(|e| bad(e.to_string()))?;
        let vk = self
            .genesis
            .circuits
            .settlement
            .get(&proof.capacity)
            .ok_or_else(|| bad("no settlement circuit of that capacity".into()))?;
        let leaves = referenced
            .iter()
            .map(|r| repayment_commitment(r))
            .collect::<Result<Vec<_>, _>>()?;
        let period = veil_circuits::period_number(&entry.header.period)
            .ok_or_else(|| bad("period".into()))?;
        let originator = self
            .genesis
            .bank_slot(&entry.header.submitter)
            .ok_or_else(|| bad("submitter".into()))?;
        proof
            .verify(vk, &entry.header.id.0, period, originator, &leaves)
            .map_err(|e| bad(e.to_string()))
    }

    fn check_header(&self, entry: &Entry) -> Result<EntryType, Rejection> {
        let header = &entry.header;
        let kind = EntryType::from_name(&header.kind).ok_or(Rejection::UnknownType)?;
        if header.schema_version != kind.schema_version() {
            return Err(Rejection::SchemaVersion);
        }
        if header.policy_hash != self.genesis.policy_hash {
            return Err(Rejection::PolicyHash);
        }
        let member = self
            .genesis
            .member(&header.submitter)
            .ok_or(Rejection::UnknownSubmitter)?;
        if !entry.verify_signature(&member.signing_key) {
            return Err(Rejection::Signature);
        }
        month_of(&header.period).map_err(|_| Rejection::Period)?;
        Ok(kind)
    }

    fn check_fields(&self, kind: EntryType, entry: &Entry) -> Result<(), Rejection> {
        let fields = |message: String| Rejection::Fields(message);
        let mut paths = BTreeSet::new();
        for group in &entry.groups {
            for path in group.paths() {
                let (_, bank) = kind
                    .field(path)
                    .ok_or_else(|| fields(format!("unknown field {path:?}")))?;
                if let Some(bank) = bank
                    && self.genesis.member(bank).is_none()
                {
                    return Err(fields(format!("{path:?} names no member")));
                }
                if !paths.insert(path.to_owned()) {
                    return Err(fields(format!("{path:?} encrypted twice")));
                }
            }
        }
        for spec in kind.fields() {
            if spec.input != Input::Required {
                continue;
            }
            let present = match spec.shape {
                Shape::Fixed => paths.contains(spec.path),
                Shape::PerBank => paths.iter().any(|p| {
                    p.strip_prefix(spec.path)
                        .is_some_and(|r| r.starts_with('.'))
                }),
            };
            if !present {
                return Err(fields(format!("missing field {:?}", spec.path)));
            }
        }
        for path in &paths {
            let committed = kind
                .field(path)
                .is_some_and(|(spec, _)| spec.kind == Kind::Committed);
            if committed && entry.commitment(path).is_none() {
                return Err(fields(format!("{path:?} has no commitment")));
            }
        }
        for (label, _) in &entry.commitments {
            if !paths.contains(label) {
                return Err(fields(format!(
                    "commitment {label:?} has no encrypted opening"
                )));
            }
        }
        proof_plan::check_shape(kind, &entry.commitments).map_err(Rejection::Commitments)?;
        if kind == EntryType::LoanOriginated {
            let submitter_funds = per_bank(&entry.commitments, "funding")
                .iter()
                .any(|(bank, _)| *bank == entry.header.submitter);
            if !submitter_funds {
                return Err(fields("the originator must fund the loan".into()));
            }
        }
        Ok(())
    }

    fn check_references(
        &self,
        kind: EntryType,
        entry: &Entry,
        view: &dyn LedgerView,
    ) -> Result<Vec<Arc<Entry>>, ValidationError> {
        let references = &entry.header.references;
        let wanted = match kind.references() {
            ReferenceRule::None if references.is_empty() => return Ok(Vec::new()),
            ReferenceRule::None => return Err(Rejection::References("none expected").into()),
            ReferenceRule::Exactly(wanted) if references.len() == 1 => wanted,
            ReferenceRule::Exactly(_) => {
                return Err(Rejection::References("exactly one expected").into());
            }
            ReferenceRule::AnyNumberOf(wanted) => wanted,
            ReferenceRule::AtMostOne(wanted) if references.len() <= 1 => wanted,
            ReferenceRule::AtMostOne(_) => {
                return Err(Rejection::References("at most one expected").into());
            }
        };
        let screens = self.genesis.circuits.screening.is_some();
        match kind {
            EntryType::LoanOriginated if screens && references.is_empty() => {
                return Err(Rejection::References(
                    "a loan must reference the registry it was screened against",
                )
                .into());
            }
            EntryType::LoanOriginated if !screens && !references.is_empty() => {
                return Err(Rejection::References(
                    "this consortium does not screen: none expected",
                )
                .into());
            }
            EntryType::RegistryUpdated if references.is_empty() && view.has_registry()? => {
                return Err(Rejection::References(
                    "an update must reference the current registry version",
                )
                .into());
            }
            _ => {}
        }
        let mut seen = BTreeSet::new();
        let mut referenced = Vec::with_capacity(references.len());
        for id in references {
            if !seen.insert(*id) {
                return Err(Rejection::References("duplicate reference").into());
            }
            let target = view
                .entry(id)?
                .ok_or(Rejection::References("referenced entry does not exist"))?;
            if target.header.kind != wanted.name() {
                return Err(Rejection::References("referenced entry has the wrong type").into());
            }
            // The registry is shared: any member's version may be referenced.
            if wanted != EntryType::RegistryUpdated
                && target.header.submitter != entry.header.submitter
            {
                return Err(Rejection::References("referenced entry has another submitter").into());
            }
            referenced.push(target);
        }
        match kind {
            EntryType::LoanRepaid => {
                let loan = &referenced[0];
                let loan_banks: Vec<&str> = per_bank(&loan.commitments, "funding")
                    .into_iter()
                    .map(|(bank, _)| bank)
                    .collect();
                let allocation_banks: Vec<&str> = per_bank(&entry.commitments, "allocations")
                    .into_iter()
                    .map(|(bank, _)| bank)
                    .collect();
                if loan_banks != allocation_banks {
                    return Err(Rejection::References(
                        "allocations must name exactly the loan's participants",
                    )
                    .into());
                }
            }
            EntryType::SettlementClosed => {
                for (id, repayment) in references.iter().zip(&referenced) {
                    if repayment.header.period != entry.header.period {
                        return Err(Rejection::References("repayment of another period").into());
                    }
                    if view.settled_by(id)?.is_some() {
                        return Err(Rejection::AlreadySettled.into());
                    }
                }
            }
            EntryType::LoanOriginated | EntryType::RegistryUpdated => {
                for id in references {
                    if view.settled_by(id)?.is_some() {
                        return Err(Rejection::StaleRegistry.into());
                    }
                }
            }
        }
        Ok(referenced)
    }

    fn check_proofs(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[&[(String, veil_crypto::Commitment)]],
    ) -> Result<(), Rejection> {
        let plan = proof_plan::plan(
            kind,
            &entry.commitments,
            referenced,
            &self.genesis.plan_params(),
        )
        .map_err(Rejection::Commitments)?;
        let entry_id = &entry.header.id.0;
        if plan.range.is_empty() {
            // A type without amounts carries no range proof.
            if !entry.proofs.range.is_empty() {
                return Err(Rejection::RangeProof);
            }
        } else {
            let range = RangeProof::from_bytes_for(&entry.proofs.range, plan.range.len())
                .map_err(|_| Rejection::RangeProof)?;
            range
                .verify(entry_id, purpose::RANGE, &plan.range)
                .map_err(|_| Rejection::RangeProof)?;
        }
        if entry.proofs.relations.len() != plan.relations.len() {
            return Err(Rejection::RelationProof);
        }
        for (relation, bytes) in plan.relations.iter().zip(&entry.proofs.relations) {
            let proof = RelationProof::from_bytes(bytes).map_err(|_| Rejection::RelationProof)?;
            proof
                .verify(&Relation {
                    entry_id,
                    purpose: &relation.purpose,
                    terms: &relation.terms,
                    constant: relation.constant,
                })
                .map_err(|_| Rejection::RelationProof)?;
        }
        Ok(())
    }
}

/// A repayment's Poseidon commitment (its leaf in the settlement tree), from its circuit data.
pub fn repayment_commitment(entry: &Entry) -> Result<veil_circuits::Fr, Rejection> {
    let bytes: &[u8; 32] =
        entry.proofs.circuit.as_slice().try_into().map_err(|_| {
            Rejection::CircuitProof("a repayment carries a 32-byte commitment".into())
        })?;
    veil_circuits::groth16::field::from_bytes(bytes)
        .map_err(|e| Rejection::CircuitProof(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{EntryProofs, UnsignedEntry};
    use crate::store::memory::MemoryStore;
    use crate::testkit::TestConsortium;

    type Tamper = Box<dyn Fn(&mut Entry)>;
    type Resign = Box<dyn Fn(&mut UnsignedEntry)>;

    fn setup() -> (TestConsortium, Validator, MemoryStore) {
        let consortium = TestConsortium::new(3, 11, 40_000);
        let validator = Validator::new(consortium.genesis.clone());
        (consortium, validator, MemoryStore::new())
    }

    fn resign(
        consortium: &TestConsortium,
        entry: &Entry,
        f: impl FnOnce(&mut UnsignedEntry),
    ) -> Entry {
        let mut unsigned = UnsignedEntry {
            header: entry.header.clone(),
            groups: entry.groups.clone(),
            commitments: entry.commitments.clone(),
            proofs: entry.proofs.clone(),
        };
        f(&mut unsigned);
        let signer = consortium
            .members
            .iter()
            .find(|m| m.id == unsigned.header.submitter)
            .map_or(&consortium.members[0].signing, |m| &m.signing);
        unsigned.sign(signer)
    }

    fn rejected(validator: &Validator, store: &MemoryStore, entry: &Entry) -> Rejection {
        match validator.check(entry, &PendingView::new(store)) {
            Err(ValidationError::Rejected(rejection)) => rejection,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// A screening consortium, its proving key, and registry helpers.
    mod screening {
        use std::sync::OnceLock;

        use veil_circuits::Fr;
        use veil_circuits::screening::{
            Change, Reference, Registry, RegistryUpdate, ScreeningCircuit, ScreeningProof,
            ScreeningPublic, reference_commitment,
        };

        use super::*;

        pub(super) fn proving_key() -> &'static veil_circuits::ProvingKey {
            static KEY: OnceLock<veil_circuits::ProvingKey> = OnceLock::new();
            KEY.get_or_init(|| {
                veil_circuits::dev::setup(ScreeningCircuit::blank(), "node-validation").unwrap()
            })
        }

        pub(super) fn consortium() -> (TestConsortium, Validator, MemoryStore) {
            let consortium =
                TestConsortium::new(3, 12, 40_100).with_screening(&proving_key().verifying_key());
            let validator = Validator::new(consortium.genesis.clone());
            (consortium, validator, MemoryStore::new())
        }

        pub(super) fn borrower(seed: u8) -> Reference {
            Reference([seed; 31])
        }

        /// Borrowers 1, 2, 3.
        pub(super) fn borrowers() -> (Reference, Reference, Reference) {
            (borrower(1), borrower(2), borrower(3))
        }

        /// The first registry version, by member 0, making `changes`, and the registry after it.
        pub(super) fn first_version(
            consortium: &TestConsortium,
            changes: Vec<Change>,
        ) -> (Registry, Entry) {
            let mut registry = Registry::default();
            let first = consortium.registry_update(0, None, &update(&mut registry, changes));
            (registry, first)
        }

        /// The update applying `changes` to `registry`, with honest roots.
        pub(super) fn update(registry: &mut Registry, changes: Vec<Change>) -> RegistryUpdate {
            registry.apply(&changes).unwrap();
            RegistryUpdate {
                roots: registry.roots(),
                changes,
            }
        }

        /// A loan screened for `who` against `registry` (version `version`).
        pub(super) fn loan(
            consortium: &TestConsortium,
            registry: &Registry,
            version: EntryId,
            who: Reference,
        ) -> Entry {
            let trees = registry;
            consortium.screened_loan(0, 9, 100_000, &[(1, 5000)], Some(version), |id| {
                let witness = trees.witness(who, Fr::from(77u64)).unwrap();
                let public = ScreeningPublic {
                    entry: id.0,
                    roots: trees.roots(),
                    commitment: reference_commitment(witness.reference, witness.blinding),
                };
                let proof = proving_key()
                    .prove(
                        ScreeningCircuit {
                            public: Some(public.clone()),
                            witness: Some(witness),
                        },
                        &mut veil_circuits::OsRng,
                    )
                    .unwrap();
                ScreeningProof {
                    commitment: public.commitment,
                    proof,
                }
                .to_bytes()
            })
        }
    }

    #[test]
    fn registry_updates_form_one_chain_with_honest_roots() {
        use veil_circuits::screening::{Change, Registry};
        let (consortium, validator, store) = screening::consortium();
        let (a, b, c) = screening::borrowers();
        let (registry, first) = screening::first_version(
            &consortium,
            vec![Change::AddKyc(a), Change::AddBlocklist(c)],
        );
        validator.check(&first, &PendingView::new(&store)).unwrap();
        let mut view = PendingView::new(&store);
        view.push(Arc::new(first.clone()));

        // A second "first" version would fork the registry.
        let mut other = Registry::default();
        let fork = consortium.registry_update(
            1,
            None,
            &screening::update(&mut other, vec![Change::AddKyc(b)]),
        );
        assert!(matches!(
            validator.check(&fork, &view),
            Err(ValidationError::Rejected(Rejection::References(_)))
        ));

        // Roots that are not the changed lists', and changes that do not apply, are refused.
        let mut next = registry.clone();
        let mut honest = screening::update(&mut next, vec![Change::AddKyc(b)]);
        let mut wrong = honest.clone();
        wrong.roots.blocklist = wrong.roots.kyc;
        let lying = consortium.registry_update(1, Some(first.header.id), &wrong);
        match validator.check(&lying, &view) {
            Err(ValidationError::Rejected(r)) => assert_eq!(r.reason(), "circuit"),
            other => panic!("{other:?}"),
        }
        let mut stale = honest.clone();
        stale.changes = vec![Change::AddKyc(a)];
        let repeated = consortium.registry_update(1, Some(first.header.id), &stale);
        assert!(validator.check(&repeated, &view).is_err());

        // Another member may change the current version.
        let second = consortium.registry_update(1, Some(first.header.id), &honest);
        validator.check(&second, &view).unwrap();
        view.push(Arc::new(second.clone()));

        // Changing a superseded version is refused.
        honest.changes = vec![Change::RemoveKyc(a)];
        let mut from_first = registry.clone();
        honest.roots = {
            from_first.apply(&honest.changes).unwrap();
            from_first.roots()
        };
        let behind = consortium.registry_update(2, Some(first.header.id), &honest);
        assert_eq!(
            match validator.check(&behind, &view) {
                Err(ValidationError::Rejected(r)) => r,
                other => panic!("{other:?}"),
            },
            Rejection::StaleRegistry
        );
    }

    #[test]
    fn loans_are_screened_against_the_current_registry() {
        use veil_circuits::screening::Change;
        let (consortium, validator, store) = screening::consortium();
        let (a, b, c) = screening::borrowers();
        let (mut registry, first) =
            screening::first_version(&consortium, vec![Change::AddKyc(a), Change::AddKyc(c)]);
        let mut view = PendingView::new(&store);
        view.push(Arc::new(first.clone()));
        let screened = screening::loan(&consortium, &registry, first.header.id, a);
        validator.check(&screened, &view).unwrap();

        // The proof is bound to its entry: moved into another loan, it fails.
        let other =
            consortium.screened_loan(0, 10, 100_000, &[(1, 5000)], Some(first.header.id), |_| {
                screened.proofs.circuit.clone()
            });
        let reason = |entry: &Entry, view: &PendingView<'_>| match validator.check(entry, view) {
            Err(ValidationError::Rejected(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(&other, &view).reason(), "circuit");
        // No proof, no reference, or a malformed proof: refused.
        let unscreened = consortium.loan(0, 11, 100_000, &[(1, 5000)]);
        assert_eq!(reason(&unscreened, &view).reason(), "circuit");
        let unreferenced = resign(&consortium, &screened, |e| e.header.references.clear());
        assert_eq!(reason(&unreferenced, &view).reason(), "reference");

        // C is blocklisted: a proof against the old version fails once it is superseded.
        let old = screening::loan(&consortium, &registry, first.header.id, c);
        validator.check(&old, &view).unwrap();
        let blocked = consortium.registry_update(
            1,
            Some(first.header.id),
            &screening::update(&mut registry, vec![Change::AddBlocklist(c)]),
        );
        view.push(Arc::new(blocked.clone()));
        assert_eq!(reason(&old, &view), Rejection::StaleRegistry);
        // A proof claiming the new roots without a witness cannot exist; one against the new
        // version for a still-clean borrower passes.
        assert!(registry.witness(c, veil_circuits::Fr::from(1u64)).is_err());
        let mut with_b = registry.clone();
        let add_b = consortium.registry_update(
            2,
            Some(blocked.header.id),
            &screening::update(&mut with_b, vec![Change::AddKyc(b)]),
        );
        view.push(Arc::new(add_b.clone()));
        validator
            .check(
                &screening::loan(&consortium, &with_b, add_b.header.id, b),
                &view,
            )
            .unwrap();
    }

    #[test]
    fn a_valid_loan_and_repayment_pass() {
        let (consortium, validator, store) = setup();
        let loan = consortium.loan(0, 1, 500_000, &[(1, 7000)]);
        validator.check(&loan, &PendingView::new(&store)).unwrap();
        let mut view = PendingView::new(&store);
        view.push(Arc::new(loan.clone()));
        let repayment = consortium.repayment(&loan, 45_000, "2026-11");
        validator.check(&repayment, &view).unwrap();
        // Without its loan, the repayment has a dangling reference.
        assert_eq!(
            rejected(&validator, &store, &repayment),
            Rejection::References("referenced entry does not exist")
        );
        // A replayed id is refused.
        view.push(Arc::new(repayment.clone()));
        assert!(matches!(
            validator.check(&repayment, &view),
            Err(ValidationError::Rejected(Rejection::Replay))
        ));
    }

    #[test]
    fn circuit_data_must_fit_the_type() {
        let (consortium, validator, store) = setup();
        let loan = consortium.loan(0, 3, 500_000, &[(1, 7000)]);
        let repayment = consortium.repayment(&loan, 45_000, "2026-11");
        let signer = &consortium.members[0].signing;
        let with_circuit = |entry: &Entry, circuit: Vec<u8>| {
            UnsignedEntry {
                header: entry.header.clone(),
                groups: entry.groups.clone(),
                commitments: entry.commitments.clone(),
                proofs: EntryProofs {
                    circuit,
                    ..entry.proofs.clone()
                },
            }
            .sign(signer)
        };
        let mut view = PendingView::new(&store);
        view.push(Arc::new(loan.clone()));
        for circuit in [Vec::new(), vec![0; 31], vec![0xff; 32], vec![0; 33]] {
            let bad = with_circuit(&repayment, circuit);
            assert!(matches!(
                validator.check(&bad, &view),
                Err(ValidationError::Rejected(Rejection::CircuitProof(_)))
            ));
        }
        let bad_loan = with_circuit(&loan, vec![0; 32]);
        assert!(matches!(
            rejected(&validator, &store, &bad_loan),
            Rejection::CircuitProof(_)
        ));
    }

    #[test]
    fn every_header_field_is_covered_by_the_signature() {
        let (consortium, validator, store) = setup();
        let loan = consortium.loan(0, 2, 400_000, &[(1, 5000)]);
        let tampered: Vec<Tamper> = vec![
            Box::new(|e| e.header.id.0[0] ^= 1),
            Box::new(|e| e.header.timestamp_ms += 1),
            Box::new(|e| e.header.period = "2026-12".into()),
            Box::new(|e| e.header.references.push(EntryId([9; 16]))),
            Box::new(|e| e.groups[0].fields[0].ciphertext[0] ^= 1),
            Box::new(|e| e.groups[0].wrapped_keys[0].enc[0] ^= 1),
            Box::new(|e| e.commitments.swap(0, 1)),
            Box::new(|e| e.proofs.range[7] ^= 1),
            Box::new(|e| e.proofs.relations[0][3] ^= 1),
            Box::new(|e| e.proofs.circuit.push(0)),
            Box::new(|e| {
                let mut bytes = e.signature.to_bytes();
                bytes[10] ^= 1;
                e.signature = veil_crypto::Signature::from_bytes(&bytes).unwrap();
            }),
        ];
        for (i, tamper) in tampered.iter().enumerate() {
            let mut entry = loan.clone();
            tamper(&mut entry);
            assert_eq!(
                rejected(&validator, &store, &entry),
                Rejection::Signature,
                "case {i}"
            );
        }
        // Another member's signature, or a submitter outside the consortium.
        let mut other = loan.clone();
        other.header.submitter = "bank-b".into();
        assert_eq!(rejected(&validator, &store, &other), Rejection::Signature);
        other.header.submitter = "bank-z".into();
        assert_eq!(
            rejected(&validator, &store, &other),
            Rejection::UnknownSubmitter
        );
    }

    #[test]
    fn properly_signed_but_tampered_entries_are_refused_by_their_rule() {
        let (consortium, validator, store) = setup();
        let loan = consortium.loan(0, 3, 300_000, &[(1, 6000)]);
        let cases: Vec<(Resign, &str)> = vec![
            (
                Box::new(|u| u.header.kind = "loan.deleted".into()),
                "schema",
            ),
            (Box::new(|u| u.header.schema_version = 2), "schema"),
            (Box::new(|u| u.header.policy_hash[0] ^= 1), "policy"),
            (Box::new(|u| u.header.period = "2026-13".into()), "schema"),
            (
                Box::new(|u| u.header.references.push(EntryId([1; 16]))),
                "reference",
            ),
            (Box::new(|u| u.proofs.range[40] ^= 1), "proof"),
            (Box::new(|u| u.proofs.relations[1][40] ^= 1), "proof"),
            (
                Box::new(|u| {
                    u.proofs.relations.pop();
                }),
                "proof",
            ),
            (
                Box::new(|u| {
                    // Swap two commitments' values: the proofs no longer hold for them.
                    let a = u.commitments[0].1;
                    u.commitments[0].1 = u.commitments[1].1;
                    u.commitments[1].1 = a;
                }),
                "proof",
            ),
            (
                Box::new(|u| {
                    u.commitments.pop();
                }),
                "schema",
            ),
            (Box::new(|u| u.groups.clear()), "schema"),
            (Box::new(|u| u.proofs = EntryProofs::default()), "proof"),
        ];
        for (i, (tamper, reason)) in cases.iter().enumerate() {
            let entry = resign(&consortium, &loan, tamper);
            let rejection = rejected(&validator, &store, &entry);
            assert_eq!(rejection.reason(), *reason, "case {i}: {rejection}");
        }
    }

    #[test]
    fn rules_on_who_funds_and_who_is_allocated() {
        let (consortium, validator, store) = setup();
        // A loan the originator does not fund.
        let loan = consortium.loan(0, 4, 300_000, &[(1, 6000)]);
        let foreign = resign(&consortium, &loan, |u| u.header.submitter = "bank-c".into());
        assert!(matches!(
            rejected(&validator, &store, &foreign),
            Rejection::Fields(_) | Rejection::Signature
        ));
        // A repayment allocating to a bank outside the loan.
        let other_loan = consortium.loan(0, 5, 300_000, &[(2, 6000)]);
        let repayment = consortium.repayment(&other_loan, 9_000, "2026-11");
        let mut view = PendingView::new(&store);
        view.push(Arc::new(loan.clone()));
        let misdirected = resign(&consortium, &repayment, |u| {
            u.header.references = vec![loan.header.id]
        });
        assert!(matches!(
            validator.check(&misdirected, &view),
            Err(ValidationError::Rejected(Rejection::References(_)))
        ));
    }
}
