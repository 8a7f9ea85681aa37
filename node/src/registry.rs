//! The consortium's screening registry (KYC members and blocklist) as the ledger holds it: a
//! chain of `registry.updated` entries. Each carries the changes it makes and the roots after
//! them, and references the version it changes (the first references nothing). A version is
//! current until an update references it; nodes refuse an update of a version that is not
//! current, so the chain never forks.
//!
//! Nodes replay each update's changes on the version it changes and compare both roots before
//! ordering it (`2 × depth` hashes per change), so every root on the ledger is the root of
//! well-formed trees. The registry after the last finalized update is persisted in the node's
//! store ([`veil_circuits::screening::stored`] layout), written in the same batch as the block
//! that finalizes the update ([`finalized_writes`]); a node that restarts opens it and
//! replays nothing. Updates not yet finalized are checked on an overlay of changed keys over
//! it ([`registry_after`]), never on a copy.
//!
//! [`Version`] and [`replay`] keep a whole registry in memory: what a gateway follows.
//!
//! This module reads the ledger through a lookup function and knows nothing of validation:
//! the validation rules (`crate::validation`) use it, never the other way round.

use std::collections::HashMap;
use std::sync::Arc;

use veil_circuits::CircuitError;
use veil_circuits::screening::stored::{self, KvWrite, Overlay, RegistryKv, StoredRegistryError};
use veil_circuits::screening::{Change, Reference, Registry, RegistryUpdate};

use crate::ledger::{Entry, EntryId};
use crate::store::StoreError;

/// Why a `registry.updated` entry's data is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// Its changes and roots do not decode.
    #[error("registry update: {0}")]
    Malformed(CircuitError),
    /// Its changes do not apply to the version it changes.
    #[error("registry changes: {0}")]
    Changes(CircuitError),
}

/// Why a registry version could not be rebuilt from the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// An update in the chain is unusable.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// A version an update references is not on the ledger.
    #[error("a registry version in the chain does not exist")]
    MissingVersion,
    /// An update does not reference the version before it.
    #[error("registry entry {0} does not follow the previous version")]
    OutOfOrder(EntryId),
    /// The version checked against is older than the finalized registry.
    #[error("the registry version is not current")]
    NotCurrent,
    /// Reading the ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StoredRegistryError> for RegistryError {
    fn from(error: StoredRegistryError) -> Self {
        match error {
            StoredRegistryError::Circuit(e) => Self::Update(UpdateError::Changes(e)),
            StoredRegistryError::Store(e) => Self::Store(StoreError::Engine(e)),
            StoredRegistryError::Corrupt(what) => Self::Store(StoreError::Corrupt(what)),
            // `StoredRegistryError` is non-exhaustive.
            _ => Self::Store(StoreError::Corrupt("registry")),
        }
    }
}

/// The changes and roots a `registry.updated` entry carries.
pub fn update_of(entry: &Entry) -> Result<RegistryUpdate, UpdateError> {
    RegistryUpdate::from_bytes(&entry.proofs.circuit).map_err(UpdateError::Malformed)
}

/// A registry version: the lists, and which member added each borrower to each list (only
/// that member may take it off again).
#[derive(Debug, Clone, Default)]
pub struct Version {
    /// The KYC registry and blocklist.
    pub registry: Registry,
    /// The submitter of the update that blocklisted each blocked reference.
    pub blocklisted_by: HashMap<Reference, String>,
    /// The submitter of the update that registered each KYC reference.
    pub registered_by: HashMap<Reference, String>,
}

impl Version {
    /// Applies the changes of `update`, submitted by `submitter`.
    pub fn apply(&mut self, update: &RegistryUpdate, submitter: &str) -> Result<(), UpdateError> {
        self.registry
            .apply(&update.changes)
            .map_err(UpdateError::Changes)?;
        for change in &update.changes {
            match change {
                Change::AddBlocklist(reference) => {
                    self.blocklisted_by.insert(*reference, submitter.to_owned());
                }
                Change::RemoveBlocklist(reference) => {
                    self.blocklisted_by.remove(reference);
                }
                Change::AddKyc(reference) => {
                    self.registered_by.insert(*reference, submitter.to_owned());
                }
                Change::RemoveKyc(reference) => {
                    self.registered_by.remove(reference);
                }
            }
        }
        Ok(())
    }

    /// The removals of `update` that `submitter` may not make: references another member
    /// blocklisted or registered.
    pub fn foreign_removals<'u>(
        &self,
        update: &'u RegistryUpdate,
        submitter: &str,
    ) -> Vec<&'u Reference> {
        let foreign = |adders: &HashMap<Reference, String>, reference: &Reference| {
            adders
                .get(reference)
                .is_some_and(|adder| adder != submitter)
        };
        update
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::RemoveBlocklist(reference) if foreign(&self.blocklisted_by, reference) => {
                    Some(reference)
                }
                Change::RemoveKyc(reference) if foreign(&self.registered_by, reference) => {
                    Some(reference)
                }
                _ => None,
            })
            .collect()
    }
}

/// The registry after `version` (a `registry.updated` entry on the ledger whose entries
/// `lookup` finds), or the empty registry for `None`, as an [`Overlay`] of changed keys over
/// `finalized`, the node's persisted registry (the registry after the last finalized update,
/// whose entry digest is its [`stored::version`]).
///
/// Walks back from `version` to the finalized version and applies the updates after it in
/// order: those pending in blocks not yet finalized (or earlier in the block being checked).
/// Nothing is cached, so an update in a block that is later refused leaves no trace: a later
/// entry with the same id and other content is checked on its own chain. A persisted registry
/// that no update has written yet (a store from before registries were persisted) is the
/// empty one, and the walk then replays the whole chain once; the applier writes the result.
///
/// Errors: [`RegistryError::NotCurrent`] if `version` does not descend from the finalized
/// version (it is older: whether a version is current is a reference rule, checked first);
/// [`RegistryError::MissingVersion`] for a broken chain; [`RegistryError::Update`] if an update
/// in the chain does not apply; store errors.
pub fn registry_after<'s>(
    lookup: impl Fn(&EntryId) -> Result<Option<Arc<Entry>>, StoreError>,
    finalized: &'s dyn RegistryKv,
    version: Option<&Entry>,
) -> Result<Overlay<'s>, RegistryError> {
    let persisted = stored::version(finalized).map_err(RegistryError::from)?;
    let mut chain: Vec<Arc<Entry>> = Vec::new();
    let mut next = version.map(|e| Arc::new(e.clone()));
    loop {
        let Some(entry) = next else {
            if persisted.is_some() {
                return Err(RegistryError::NotCurrent);
            }
            break;
        };
        if persisted.as_deref() == Some(entry.digest().as_slice()) {
            break;
        }
        next = match entry.header.references.first() {
            Some(previous) => Some(lookup(previous)?.ok_or(RegistryError::MissingVersion)?),
            None => None,
        };
        chain.push(entry);
    }
    let mut overlay = Overlay::new(finalized);
    for entry in chain.iter().rev() {
        let update = update_of(entry)?;
        overlay
            .apply(&update.changes, entry.header.submitter.as_bytes())
            .map_err(|e| match e {
                StoredRegistryError::Circuit(e) => UpdateError::Changes(e).into(),
                other => RegistryError::from(other),
            })?;
    }
    Ok(overlay)
}

/// The removals of `update` that `submitter` may not make on the registry `kv`: references
/// another member blocklisted or registered.
pub fn foreign_removals<'u>(
    kv: &dyn RegistryKv,
    update: &'u RegistryUpdate,
    submitter: &str,
) -> Result<Vec<&'u Reference>, RegistryError> {
    let mut out = Vec::new();
    for change in &update.changes {
        let (kyc, reference) = match change {
            Change::RemoveBlocklist(reference) => (false, reference),
            Change::RemoveKyc(reference) => (true, reference),
            Change::AddKyc(_) | Change::AddBlocklist(_) => continue,
        };
        if let Some((_, adder)) = stored::member(kv, kyc, reference)?
            && adder != submitter.as_bytes()
        {
            out.push(reference);
        }
    }
    Ok(out)
}

/// The registry keys a finalized block changes: the registry after its last
/// `registry.updated` entry (`entries` in block order, all already validated; their chain
/// descends from `finalized`), with that entry's digest as the version. Empty when the block
/// has no update. The applier writes them in the block's batch.
///
/// Errors: as [`registry_after`].
pub fn finalized_writes(
    lookup: impl Fn(&EntryId) -> Result<Option<Arc<Entry>>, StoreError>,
    finalized: &dyn RegistryKv,
    entries: &[Arc<Entry>],
) -> Result<Vec<KvWrite>, RegistryError> {
    let kind = veil_policies::schema::EntryType::RegistryUpdated.name();
    let Some(last) = entries.iter().rev().find(|e| e.header.kind == kind) else {
        return Ok(Vec::new());
    };
    let in_block = |id: &EntryId| -> Result<Option<Arc<Entry>>, StoreError> {
        match entries.iter().find(|e| e.header.id == *id) {
            Some(entry) => Ok(Some(entry.clone())),
            None => lookup(id),
        }
    };
    let mut overlay = registry_after(in_block, finalized, Some(last))?;
    overlay.set_version(&last.digest());
    Ok(overlay.into_writes())
}

/// The registry after a chain of finalized `registry.updated` entries, oldest first (how a
/// gateway rebuilds the current version from its node's ledger). Each entry must reference the
/// one before it.
pub fn replay<'a>(chain: impl IntoIterator<Item = &'a Entry>) -> Result<Version, RegistryError> {
    let mut registry = Version::default();
    let mut previous = None;
    for entry in chain {
        if entry.header.references.first() != previous.as_ref() {
            return Err(RegistryError::OutOfOrder(entry.header.id));
        }
        registry.apply(&update_of(entry)?, &entry.header.submitter)?;
        previous = Some(entry.header.id);
    }
    Ok(registry)
}
