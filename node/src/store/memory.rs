//! An in-memory [`Store`] for unit tests and deterministic simulations.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use veil_circuits::screening::stored::{KvEntry, RegistryKv, StoredRegistryError, write_into};

use super::{AppliedBlock, Store, StoreError, StoredBlock, StoredEntry, check_next, keys};
use crate::ledger::EntryId;

#[derive(Debug, Default)]
struct Inner {
    genesis: Option<[u8; 32]>,
    head: Option<(u64, [u8; 32])>,
    blocks: BTreeMap<u64, StoredBlock>,
    entries: BTreeMap<[u8; 16], StoredEntry>,
    indexes: BTreeMap<Vec<u8>, [u8; 16]>,
    /// Shared with the snapshots handed out; copied on write only while one is held.
    registry: Arc<BTreeMap<Vec<u8>, Vec<u8>>>,
}

/// A snapshot of the in-memory registry.
struct Snapshot(Arc<BTreeMap<Vec<u8>, Vec<u8>>>);

impl RegistryKv for Snapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoredRegistryError> {
        RegistryKv::get(self.0.as_ref(), key)
    }

    fn first_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        self.0.as_ref().first_in(start, end)
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        self.0.as_ref().last_in(start, end)
    }
}

/// A store that lives in memory and forgets everything when dropped.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Inner>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::Engine("memory store lock poisoned".into()))
    }
}

impl Store for MemoryStore {
    fn head(&self) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        Ok(self.lock()?.head)
    }

    fn apply(&self, applied: &AppliedBlock) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        check_next(inner.head, &applied.block)?;
        let height = applied.block.height;
        for (index, entry) in applied.entries.iter().enumerate() {
            let index = index as u32;
            inner.entries.insert(
                entry.id.0,
                StoredEntry {
                    height,
                    index,
                    bytes: entry.bytes.clone(),
                },
            );
            inner
                .indexes
                .insert(keys::by_type(&entry.kind, height, index), entry.id.0);
            for reference in &entry.references {
                inner
                    .indexes
                    .insert(keys::referrer(&reference.0, height, index), entry.id.0);
                if entry.settles_references {
                    inner
                        .indexes
                        .insert(keys::settled(&reference.0), entry.id.0);
                }
            }
        }
        write_into(
            Arc::make_mut(&mut inner.registry),
            applied.registry.iter().cloned(),
        );
        inner.blocks.insert(height, applied.block.clone());
        inner.head = Some((height, applied.block.digest));
        Ok(())
    }

    fn registry(&self) -> Result<Box<dyn RegistryKv + '_>, StoreError> {
        Ok(Box::new(Snapshot(self.lock()?.registry.clone())))
    }

    fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        Ok(self.lock()?.blocks.get(&height).cloned())
    }

    fn entry(&self, id: &EntryId) -> Result<Option<StoredEntry>, StoreError> {
        Ok(self.lock()?.entries.get(&id.0).cloned())
    }

    fn entries_by_type(
        &self,
        kind: &str,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let inner = self.lock()?;
        let prefix = keys::by_type_prefix(kind);
        let start = match after {
            Some((height, index)) => {
                let mut key = keys::by_type(kind, height, index);
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        Ok(inner
            .indexes
            .range(start..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .filter_map(|(_, id)| inner.entries.get(id).cloned())
            .take(limit)
            .collect())
    }

    fn referrers(&self, id: &EntryId) -> Result<Vec<StoredEntry>, StoreError> {
        let inner = self.lock()?;
        let prefix = keys::referrers_prefix(&id.0);
        Ok(inner
            .indexes
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .filter_map(|(_, id)| inner.entries.get(id).cloned())
            .collect())
    }

    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, StoreError> {
        Ok(self
            .lock()?
            .indexes
            .get(&keys::settled(&id.0))
            .map(|id| EntryId(*id)))
    }

    fn check_genesis(&self, genesis_hash: &[u8; 32]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        match inner.genesis {
            Some(existing) if existing != *genesis_hash => Err(StoreError::WrongGenesis),
            Some(_) => Ok(()),
            None => {
                inner.genesis = Some(*genesis_hash);
                Ok(())
            }
        }
    }
}
