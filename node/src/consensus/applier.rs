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
use rayon::prelude::*;

use super::Marshal;
use crate::ledger::{Block, Entry, EntryId};
use crate::state::NodeState;
use crate::store::{AppliedBlock, AppliedEntry, StoredBlock};
use crate::validation::{PendingView, Rejection, ValidationError};

/// The [`Reporter`] marshal delivers finalized blocks to.
#[derive(Clone, Debug)]
pub struct Applier {
    sender: mpsc::UnboundedSender<(Digested<Block>, Exact)>,
}

impl Reporter for Applier {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Update::Block(block, ack) = activity {
            // If the applier task stopped, the node is shutting down or halted; dropping the
            // acknowledgement stops marshal, which is what we want then.
            let _ = self.sender.unbounded_send((block, ack));
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
        let handle = context.dedicated().spawn(move |_| async move {
            while let Some((block, ack)) = receiver.next().await {
                match apply(&state, &marshal, block).await {
                    Ok(()) => ack.acknowledge(),
                    Err(reason) => {
                        state.halt(reason);
                        // An unanswered acknowledgement stops marshal from delivering more.
                        drop(ack);
                        break;
                    }
                }
            }
        });
        (Self { sender }, handle)
    }
}

/// Applies one finalized block. `Err` carries the reason the node must halt.
async fn apply(state: &NodeState, marshal: &Marshal, block: Digested<Block>) -> Result<(), String> {
    let digest = block.digest();
    let block = block.inner().clone();
    let head = state
        .store
        .head()
        .map_err(|e| format!("reading the head: {e}"))?;
    if let Some((height, _)) = head
        && block.height <= height
    {
        // Redelivery after a restart: it must be the block we stored.
        let stored = state
            .store
            .block(block.height)
            .map_err(|e| format!("reading block {}: {e}", block.height))?;
        return match stored {
            Some(stored) if stored.digest == digest.0 => Ok(()),
            _ => Err(format!(
                "finalized block {} differs from the stored one",
                block.height
            )),
        };
    }
    let expected = head.map_or(0, |(height, _)| height + 1);
    if block.height != expected {
        return Err(format!(
            "finalized block {} arrived while {} was expected",
            block.height, expected
        ));
    }
    validate(state, &block).map_err(|e| {
        format!(
            "finalized block {} holds an invalid entry ({e}): more than f validators are faulty",
            block.height
        )
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
    let applied = AppliedBlock {
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
        .map_err(|e| format!("applying block {}: {e}", block.height))?;
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

fn validate(state: &NodeState, block: &Block) -> Result<(), ValidationError> {
    if block.entries_root != block.computed_entries_root() {
        return Err(Rejection::Fields("entries root mismatch".into()).into());
    }
    let digests: Vec<[u8; 32]> = block
        .encoded_entries()
        .iter()
        .map(|bytes| {
            use sha2::Digest as _;
            sha2::Sha256::digest(bytes).into()
        })
        .collect();
    block
        .entries
        .par_iter()
        .zip(digests.par_iter())
        .try_for_each(|(entry, digest)| state.check_stateless_cached(entry, digest))?;
    let mut view = PendingView::new(state.store.as_ref());
    for entry in &block.entries {
        state.validator.check_stateful(entry, &view)?;
        view.push(Arc::new(Entry::clone(entry)));
    }
    Ok(())
}
