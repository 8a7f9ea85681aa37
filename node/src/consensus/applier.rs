//! Applies finalized blocks to the store, in order, one synced write each, and only then
//! acknowledges them to marshal.
//!
//! Every entry is re-validated before its block is applied (entries already verified by this
//! node are looked up by digest). A finalized block with an invalid entry means more than `f`
//! validators are faulty: the node halts instead of applying it, and marshal, never
//! acknowledged, stops delivering.

use std::sync::Arc;

use commonware_actor::Feedback;
use commonware_codec::Encode as _;
use commonware_consensus::Reporter;
use commonware_consensus::marshal::Update;
use commonware_consensus::types::Height;
use commonware_cryptography::{Digested, Digestible};
use commonware_runtime::{Handle, Spawner};
use commonware_utils::Acknowledgement as _;
use commonware_utils::acknowledgement::Exact;
use futures::StreamExt as _;
use futures::channel::mpsc;

use super::Marshal;
use crate::ledger::{Block, Entry, EntryId};
use crate::state::NodeState;
use crate::store::{AppliedBlock, AppliedEntry, StoreError, StoredBlock};
use crate::validation::{LedgerView as _, PendingView, ValidationError};

/// Why the applier halts the node: each one means the node must not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Reading the head failed.
    #[error("reading the head: {0}")]
    ReadHead(StoreError),
    /// Reading a stored block failed.
    #[error("reading block {height}: {source}")]
    ReadBlock {
        /// Its height.
        height: u64,
        /// The store's error.
        source: StoreError,
    },
    /// A redelivered finalized block is not the one stored at its height.
    #[error("finalized block {0} differs from the stored one")]
    Differs(u64),
    /// A finalized block arrived out of order.
    #[error("finalized block {height} arrived while {expected} was expected")]
    OutOfOrder {
        /// Its height.
        height: u64,
        /// The height expected next.
        expected: u64,
    },
    /// A finalized block is invalid.
    #[error(
        "finalized block {height} holds an invalid entry ({source}): more than f validators are \
         faulty"
    )]
    Invalid {
        /// Its height.
        height: u64,
        /// What is wrong with it.
        source: InvalidBlock,
    },
    /// Writing the block failed.
    #[error("applying block {height}: {source}")]
    Write {
        /// Its height.
        height: u64,
        /// The store's error.
        source: StoreError,
    },
}

/// What is wrong with a finalized block.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidBlock {
    /// Its entries root is not the root of its entries.
    #[error("invalid fields: entries root mismatch")]
    EntriesRoot,
    /// An entry is invalid, or the store failed while checking it.
    #[error(transparent)]
    Entry(#[from] ValidationError),
}

/// The [`Reporter`] marshal delivers finalized blocks to.
#[derive(Clone, Debug)]
pub struct Applier {
    sender: mpsc::UnboundedSender<(Digested<Block>, Exact)>,
    state: Arc<NodeState>,
}

impl Reporter for Applier {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match activity {
            // If the applier task stopped, the node is shutting down or halted; dropping the
            // acknowledgement stops marshal, which is what we want then.
            Update::Block(block, ack) => {
                let _ = self.sender.unbounded_send((block, ack));
            }
            // The consortium's finalized tip (possibly ahead of this node): its lag.
            Update::Tip(_, height, _) => self.state.metrics.finalized_tip(height.get()),
        }
        Feedback::Ok
    }
}

impl Applier {
    /// Starts the applier task on a dedicated thread (it does blocking, synced writes).
    pub fn start<E: Spawner>(
        context: E,
        state: Arc<NodeState>,
        marshal: Marshal,
    ) -> (Self, Handle<()>) {
        let (sender, mut receiver) = mpsc::unbounded::<(Digested<Block>, Exact)>();
        let reporter = Self {
            sender,
            state: state.clone(),
        };
        let handle = context.dedicated().spawn(move |_| async move {
            while let Some((block, ack)) = receiver.next().await {
                match apply(&state, &marshal, block).await {
                    Ok(()) => ack.acknowledge(),
                    Err(error) => {
                        state.halt(error.to_string());
                        // An unanswered acknowledgement stops marshal from delivering more.
                        drop(ack);
                        break;
                    }
                }
            }
        });
        (reporter, handle)
    }
}

/// Applies one finalized block. `Err` carries the reason the node must halt.
async fn apply(
    state: &NodeState,
    marshal: &Marshal,
    block: Digested<Block>,
) -> Result<(), ApplyError> {
    let digest = block.digest();
    let block = block.inner().clone();
    let head = state.store.head().map_err(ApplyError::ReadHead)?;
    if let Some((height, _)) = head
        && block.height <= height
    {
        // Redelivery after a restart: it must be the block we stored.
        let stored = state
            .store
            .block(block.height)
            .map_err(|source| ApplyError::ReadBlock {
                height: block.height,
                source,
            })?;
        return match stored {
            Some(stored) if stored.digest == digest.0 => Ok(()),
            _ => Err(ApplyError::Differs(block.height)),
        };
    }
    let expected = head.map_or(0, |(height, _)| height + 1);
    if block.height != expected {
        return Err(ApplyError::OutOfOrder {
            height: block.height,
            expected,
        });
    }
    validate(state, &block).map_err(|source| ApplyError::Invalid {
        height: block.height,
        source,
    })?;
    let finalization = if block.height == 0 {
        Vec::new()
    } else {
        marshal
            .get_finalization(Height::new(block.height))
            .await
            .map(|f| f.encode().to_vec())
            .unwrap_or_default()
    };
    let entries: Vec<AppliedEntry> = block
        .entries
        .iter()
        .zip(block.encoded_entries())
        .map(|(entry, bytes)| AppliedEntry {
            id: entry.header.id,
            kind: entry.header.kind.clone(),
            references: entry.header.references.clone(),
            settles_references: crate::validation::supersedes_references(&entry.header.kind),
            bytes: bytes.clone(),
        })
        .collect();
    let registry = registry_writes(state, &block).map_err(|source| ApplyError::Invalid {
        height: block.height,
        source,
    })?;
    let applied = AppliedBlock {
        registry,
        block: StoredBlock {
            height: block.height,
            digest: digest.0,
            block: block.to_bytes(),
            finalization,
        },
        entries,
    };
    let started = std::time::Instant::now();
    state
        .store
        .apply(&applied)
        .map_err(|source| ApplyError::Write {
            height: block.height,
            source,
        })?;
    state.metrics.stored(started.elapsed());
    let ids: Vec<EntryId> = block.entries.iter().map(|e| e.header.id).collect();
    state.finalized(block.height, digest.0, &ids);
    tracing::debug!(
        height = block.height,
        entries = ids.len(),
        "applied finalized block"
    );
    Ok(())
}

/// The registry keys the block's `registry.updated` entries change, to write in its batch.
fn registry_writes(
    state: &NodeState,
    block: &Block,
) -> Result<Vec<veil_circuits::screening::stored::KvWrite>, InvalidBlock> {
    let entries: Vec<Arc<Entry>> = block
        .entries
        .iter()
        .map(|e| Arc::new(Entry::clone(e)))
        .collect();
    let view = PendingView::new(state.store.as_ref());
    let finalized = state
        .store
        .registry()
        .map_err(|e| InvalidBlock::Entry(ValidationError::Store(e)))?;
    crate::registry::finalized_writes(|id| view.entry(id), finalized.as_ref(), &entries)
        .map_err(|e| InvalidBlock::Entry(e.into()))
}

fn validate(state: &NodeState, block: &Block) -> Result<(), InvalidBlock> {
    if block.entries_root != block.computed_entries_root() {
        return Err(InvalidBlock::EntriesRoot);
    }
    let digests: Vec<[u8; 32]> = block
        .encoded_entries()
        .iter()
        .map(|bytes| {
            use sha2::Digest as _;
            sha2::Sha256::digest(bytes).into()
        })
        .collect();
    let mut ids = std::collections::HashSet::with_capacity(block.entries.len());
    if !block.entries.iter().all(|e| ids.insert(e.header.id)) {
        return Err(ValidationError::from(crate::validation::Rejection::Replay).into());
    }
    let entries: Vec<(&Entry, [u8; 32])> = block.entries.iter().zip(digests).collect();
    state
        .check_stateless_batch_cached(&entries)
        .map_err(ValidationError::from)?;
    let mut view = PendingView::new(state.store.as_ref());
    for entry in &block.entries {
        state.validator.check_stateful(entry, &view)?;
        view.push(Arc::new(Entry::clone(entry)));
    }
    Ok(())
}
