//! The consortium's screening registry (KYC members and blocklist) as the ledger holds it: a
//! chain of `registry.updated` entries. Each carries the changes it makes and the roots after
//! them, and references the version it changes (the first references nothing). A version is
//! current until an update references it; nodes refuse an update of a version that is not
//! current, so the chain never forks.
//!
//! Nodes replay each update's changes on the version it changes and compare both roots before
//! ordering it (`2 × depth` hashes per change), so every root on the ledger is the root of
//! well-formed trees. Rebuilt versions are cached by entry digest; a node that starts replays
//! the chain once.
//!
//! This module reads the ledger through a lookup function and knows nothing of validation:
//! the validation rules (`crate::validation`) use it, never the other way round.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use veil_circuits::CircuitError;
use veil_circuits::screening::{Change, Reference, Registry, RegistryUpdate};

use crate::ledger::{Entry, EntryId};
use crate::store::StoreError;

/// How many registry versions a node keeps rebuilt (a million-member registry takes a few
/// hundred megabytes).
const CACHED_VERSIONS: usize = 4;

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
    /// Reading the ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Rebuilt registry versions by the digest of the entry that made them.
#[derive(Debug, Default)]
pub struct RegistryCache {
    versions: HashMap<[u8; 32], Arc<Version>>,
    order: VecDeque<[u8; 32]>,
}

impl RegistryCache {
    fn get(&self, digest: &[u8; 32]) -> Option<Arc<Version>> {
        self.versions.get(digest).cloned()
    }

    fn put(&mut self, digest: [u8; 32], registry: Arc<Version>) {
        if self.versions.insert(digest, registry).is_none() {
            self.order.push_back(digest);
        }
        while self.order.len() > CACHED_VERSIONS {
            if let Some(old) = self.order.pop_front() {
                self.versions.remove(&old);
            }
        }
    }
}

/// The registry after `version` (a `registry.updated` entry on the ledger whose entries
/// `lookup` finds), or the empty registry for `None`.
///
/// Only versions whose whole chain is finalized are cached (`is_pending` tells the entries
/// ordered but not finalized): a chain through pending entries may be refused with its block,
/// and a later entry with the same id and other content (ids name a submitter and nonce, not
/// content) must not find the refused chain's version — who blocklisted a borrower would
/// differ, and nodes that never saw the refused block would decide otherwise.
pub fn registry_after(
    lookup: impl Fn(&EntryId) -> Result<Option<Arc<Entry>>, StoreError>,
    is_pending: impl Fn(&EntryId) -> bool,
    version: Option<&Entry>,
    cache: &Mutex<RegistryCache>,
) -> Result<Arc<Version>, RegistryError> {
    // Walk back to a cached version or the first, then replay forward.
    let mut chain: Vec<Arc<Entry>> = Vec::new();
    let mut next = version.map(|e| Arc::new(e.clone()));
    let mut base = Arc::new(Version::default());
    let mut through_pending = false;
    while let Some(entry) = next {
        through_pending |= is_pending(&entry.header.id);
        if let Some(known) = cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&entry.digest())
        {
            base = known;
            break;
        }
        next = match entry.header.references.first() {
            Some(previous) => Some(lookup(previous)?.ok_or(RegistryError::MissingVersion)?),
            None => None,
        };
        chain.push(entry);
    }
    if chain.is_empty() {
        return Ok(base);
    }
    let mut registry = (*base).clone();
    for entry in chain.iter().rev() {
        registry.apply(&update_of(entry)?, &entry.header.submitter)?;
    }
    let registry = Arc::new(registry);
    if let Some(version) = chain.first()
        && !through_pending
    {
        cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(version.digest(), registry.clone());
    }
    Ok(registry)
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
