//! Entries admitted (validated) but not yet finalized, in arrival order, bounded.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::ledger::{Entry, EntryId};

/// Most entries waiting at once; beyond it, submissions are refused until blocks drain it.
pub const MAX_PENDING: usize = 20_000;
/// Most bytes of entries waiting at once.
pub const MAX_PENDING_BYTES: usize = 256 * 1024 * 1024;

/// Why an entry was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The pool is full.
    #[error("too many entries waiting; retry later")]
    Full,
    /// Another entry with the same id but different content is waiting.
    #[error("an entry with this id and other content is waiting")]
    Conflict,
}

#[derive(Debug)]
struct Pending {
    entry: Arc<Entry>,
    digest: [u8; 32],
    size: usize,
    admitted: Instant,
}

/// The pool.
#[derive(Debug, Default)]
pub struct Mempool {
    entries: BTreeMap<EntryId, Pending>,
    order: VecDeque<EntryId>,
    bytes: usize,
}

impl Mempool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a validated entry. Re-adding the same entry is a no-op.
    pub fn insert(
        &mut self,
        entry: Arc<Entry>,
        digest: [u8; 32],
        size: usize,
    ) -> Result<(), MempoolError> {
        if let Some(existing) = self.entries.get(&entry.header.id) {
            return if existing.digest == digest {
                Ok(())
            } else {
                Err(MempoolError::Conflict)
            };
        }
        if self.entries.len() >= MAX_PENDING || self.bytes + size > MAX_PENDING_BYTES {
            return Err(MempoolError::Full);
        }
        let id = entry.header.id;
        self.bytes += size;
        self.entries.insert(
            id,
            Pending {
                entry,
                digest,
                size,
                admitted: Instant::now(),
            },
        );
        self.order.push_back(id);
        Ok(())
    }

    /// Whether `id` is waiting.
    pub fn contains(&self, id: &EntryId) -> bool {
        self.entries.contains_key(id)
    }

    /// When `id` was admitted here, if it is waiting.
    pub fn admitted_at(&self, id: &EntryId) -> Option<Instant> {
        self.entries.get(id).map(|p| p.admitted)
    }

    /// Waiting entries in arrival order, skipping `exclude`, until `max_entries` entries or
    /// `max_bytes` bytes.
    pub fn candidates(
        &self,
        exclude: &HashSet<EntryId>,
        max_entries: usize,
        max_bytes: usize,
    ) -> Vec<Arc<Entry>> {
        let mut out = Vec::new();
        let mut taken = HashSet::new();
        let mut bytes = 0;
        for id in &self.order {
            if out.len() >= max_entries {
                break;
            }
            let Some(pending) = self.entries.get(id) else {
                continue;
            };
            if exclude.contains(id) || !taken.insert(*id) {
                continue;
            }
            if bytes + pending.size + 4 > max_bytes {
                break;
            }
            bytes += pending.size + 4;
            out.push(pending.entry.clone());
        }
        out
    }

    /// Removes entries (finalized, or found invalid).
    pub fn remove(&mut self, ids: impl IntoIterator<Item = EntryId>) {
        for id in ids {
            if let Some(pending) = self.entries.remove(&id) {
                self.bytes -= pending.size;
            }
        }
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order.retain(|id| entries.contains_key(id));
        }
    }

    /// Number of waiting entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
