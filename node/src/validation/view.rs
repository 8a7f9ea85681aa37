//! What validation sees of the ledger: [`LedgerView`], and [`PendingView`], the finalized
//! ledger plus the entries ordered before the one being checked.

use std::collections::HashMap;
use std::sync::Arc;

use veil_circuits::screening::stored::RegistryKv;
use veil_crypto::EncryptionPublicKey;
use veil_crypto::view_key::ViewScope;
use veil_policies::schema::EntryType;

use crate::ledger::{Entry, EntryId};
use crate::store::{Store, StoreError};
use crate::view_keys::publication_of;

/// What validation needs to know about the ledger so far.
pub trait LedgerView: Sync {
    /// The entry with id `id`, finalized or pending before the one being checked.
    fn entry(&self, id: &EntryId) -> Result<Option<Arc<Entry>>, StoreError>;
    /// The settlement that settled repayment `id`, the registry update that superseded
    /// registry version `id`, or the view-key publication that followed publication `id`, if
    /// any.
    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, StoreError>;
    /// Whether any `registry.updated` entry exists.
    fn has_registry(&self) -> Result<bool, StoreError>;
    /// Whether `id` is ordered but not finalized (earlier in the block being checked, or in
    /// the mempool's order): what such an entry implies may be undone with its block.
    fn is_pending(&self, id: &EntryId) -> bool;
    /// The finalized screening registry (see [`Store::registry`]).
    fn registry(&self) -> Result<Box<dyn RegistryKv + '_>, StoreError>;
    /// Whether regulator `regulator` has any `view_keys.published` entry.
    fn has_view_keys_of(&self, regulator: &str) -> Result<bool, StoreError>;
    /// The view key of `scope` regulator `regulator` published on the ledger, if any (the
    /// genesis' keys are not on the ledger).
    fn published_view_key(
        &self,
        regulator: &str,
        scope: &ViewScope,
    ) -> Result<Option<EncryptionPublicKey>, StoreError>;
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

    fn is_pending(&self, id: &EntryId) -> bool {
        self.pending.contains_key(id)
    }

    fn registry(&self) -> Result<Box<dyn RegistryKv + '_>, StoreError> {
        self.store.registry()
    }

    fn has_registry(&self) -> Result<bool, StoreError> {
        let kind = EntryType::RegistryUpdated.name();
        Ok(self.pending.values().any(|e| e.header.kind == kind)
            || !self.store.entries_by_type(kind, None, 1)?.is_empty())
    }

    fn has_view_keys_of(&self, regulator: &str) -> Result<bool, StoreError> {
        let mut found = false;
        self.for_each_publication(regulator, &mut |_| {
            found = true;
            false
        })?;
        Ok(found)
    }

    fn published_view_key(
        &self,
        regulator: &str,
        scope: &ViewScope,
    ) -> Result<Option<EncryptionPublicKey>, StoreError> {
        let mut key = None;
        self.for_each_publication(regulator, &mut |entry| {
            // Validated publications decode; one that does not publishes nothing.
            if let Ok(publication) = publication_of(entry) {
                key = publication
                    .keys()
                    .iter()
                    .find(|published| published.scope == *scope)
                    .map(|published| published.public_key.clone());
            }
            key.is_none()
        })?;
        Ok(key)
    }
}

impl PendingView<'_> {
    /// Calls `visit` with each `view_keys.published` entry of `regulator`, pending ones first,
    /// until it returns `false`. Publications are few (a regulator publishes every few months
    /// or years): scanning them all is cheap.
    fn for_each_publication(
        &self,
        regulator: &str,
        visit: &mut dyn FnMut(&Entry) -> bool,
    ) -> Result<(), StoreError> {
        const PAGE: usize = 64;
        let kind = EntryType::ViewKeysPublished.name();
        let by_regulator = |e: &Entry| e.header.kind == kind && e.header.submitter == regulator;
        for entry in self.pending.values() {
            if by_regulator(entry) && !visit(entry) {
                return Ok(());
            }
        }
        let mut after = None;
        loop {
            let page = self.store.entries_by_type(kind, after, PAGE)?;
            for stored in &page {
                let entry = Entry::decode(&stored.bytes)
                    .map_err(|_| StoreError::Corrupt("stored entry does not decode"))?;
                if by_regulator(&entry) && !visit(&entry) {
                    return Ok(());
                }
                after = Some((stored.height, stored.index));
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }
}

/// Whether entries of type `kind` settle (or supersede) the entries they reference: a
/// settlement its repayments, a registry update the version it changes, a view-key publication
/// the same regulator's publication before it.
pub fn supersedes_references(kind: &str) -> bool {
    kind == EntryType::SettlementClosed.name()
        || kind == EntryType::RegistryUpdated.name()
        || kind == EntryType::ViewKeysPublished.name()
}
