//! The ledger as a consensus application: builds blocks from the mempool and votes only for
//! blocks whose every entry is valid.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use commonware_consensus::Application;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_cryptography::{Digested, Digestible};
use commonware_runtime::{Clock, Metrics, Spawner};
use futures::StreamExt as _;

use super::{ConsensusContext, PublicKey, Scheme};
use crate::ledger::block::{MAX_BLOCK_ENTRIES, MAX_BLOCK_LEN};
use crate::ledger::{Block, Entry, EntryId};
use crate::state::NodeState;
use crate::validation::{PendingView, Rejection, ValidationError};

/// How long a leader with an empty mempool waits for entries before declining to propose.
pub const IDLE_WAIT: Duration = Duration::from_millis(1500);
/// How often a waiting leader looks at the mempool again.
const POLL: Duration = Duration::from_millis(5);

/// The consensus-facing application of one node.
#[derive(Clone)]
pub struct LedgerApplication {
    state: Arc<NodeState>,
    me: [u8; 32],
    idle_wait: Duration,
}

impl std::fmt::Debug for LedgerApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerApplication").finish_non_exhaustive()
    }
}

impl LedgerApplication {
    /// The application of the node with consensus key `me`.
    pub fn new(state: Arc<NodeState>, me: &PublicKey, idle_wait: Duration) -> Self {
        let mut key = [0u8; 32];
        key.copy_from_slice(me.as_ref());
        Self {
            state,
            me: key,
            idle_wait,
        }
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Reads the ancestry from `first` back to (excluding) the finalized head, oldest first.
async fn pending_blocks(
    first: Digested<Block>,
    ancestry: &mut impl Ancestry<Block>,
    head: u64,
) -> Vec<Arc<Block>> {
    let mut blocks = Vec::new();
    let mut next = Some(first);
    while let Some(block) = next {
        if block.inner().height <= head {
            break;
        }
        blocks.push(Arc::new(block.inner().clone()));
        next = ancestry.next().await;
    }
    blocks.reverse();
    blocks
}

fn pending_view<'a>(state: &'a NodeState, blocks: &[Arc<Block>]) -> PendingView<'a> {
    let mut view = PendingView::new(state.store.as_ref());
    for block in blocks {
        for entry in &block.entries {
            view.push(Arc::new(entry.clone()));
        }
    }
    view
}

impl LedgerApplication {
    /// Chooses mempool entries valid on top of `pending` and builds the block.
    fn build(
        &self,
        parent: &Block,
        parent_digest: super::Digest,
        pending: &[Arc<Block>],
        now_ms: u64,
    ) -> Option<Block> {
        let exclude: HashSet<EntryId> = pending
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| e.header.id))
            .collect();
        let candidates = self
            .state
            .candidates(&exclude, MAX_BLOCK_ENTRIES, MAX_BLOCK_LEN - 4096);
        if candidates.is_empty() {
            return None;
        }
        let mut view = pending_view(&self.state, pending);
        let mut chosen = Vec::with_capacity(candidates.len());
        let mut invalid = Vec::new();
        for entry in candidates {
            match self.state.validator.check_stateful(&entry, &view) {
                Ok(()) => {
                    view.push(entry.clone());
                    chosen.push(Entry::clone(&entry));
                }
                Err(ValidationError::Rejected(rejection)) => {
                    tracing::debug!(id = %entry.header.id, %rejection, "dropping entry from the mempool");
                    invalid.push((entry.header.id, rejection));
                }
                Err(ValidationError::Store(error)) => {
                    self.state
                        .halt(format!("store failed while proposing: {error}"));
                    return None;
                }
            }
        }
        self.state.drop_pending(invalid);
        if chosen.is_empty() {
            return None;
        }
        Some(Block::new(
            parent.height + 1,
            parent_digest,
            now_ms.max(parent.timestamp_ms),
            self.me,
            chosen,
        ))
    }

    /// Checks every entry of `block` on top of `pending`; stateless checks run in parallel,
    /// repayments' settlement proofs in one batch, and are skipped for entries this node
    /// already verified.
    fn check_block(&self, block: &Block, pending: &[Arc<Block>]) -> Result<(), ValidationError> {
        let entries: Vec<(&Entry, [u8; 32])> = block
            .entries
            .iter()
            .zip(block.encoded_entries())
            .map(|(entry, bytes)| (entry, sha256(bytes)))
            .collect();
        // One entry per id, before any proof is checked: a block repeating one entry costs
        // nothing to refuse.
        let mut ids = HashSet::with_capacity(block.entries.len());
        if !block.entries.iter().all(|e| ids.insert(e.header.id)) {
            return Err(Rejection::Replay.into());
        }
        self.state.check_stateless_batch_cached(&entries)?;
        let mut view = pending_view(&self.state, pending);
        for entry in &block.entries {
            self.state.validator.check_stateful(entry, &view)?;
            view.push(Arc::new(entry.clone()));
        }
        Ok(())
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

impl<E> Application<E> for LedgerApplication
where
    E: Clock + Spawner + Metrics,
{
    type SigningScheme = Scheme;
    type Context = ConsensusContext;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        if self.state.halted().is_some() {
            return None;
        }
        let parent = ancestry.next().await?;
        let head = self.state.store.head().ok().flatten().map_or(0, |(h, _)| h);
        let parent_digest = parent.digest();
        let parent_block = parent.inner().clone();
        let pending = pending_blocks(parent, &mut ancestry, head).await;
        // The runtime's clock, not the system's: simulations must be deterministic.
        let deadline = runtime.current() + self.idle_wait;
        loop {
            let now = runtime.current();
            if let Some(block) = self.build(&parent_block, parent_digest, &pending, millis(now)) {
                let digest = block.digest();
                return Some(Digested::precomputed(block, digest));
            }
            if now >= deadline {
                return None;
            }
            runtime.sleep(POLL).await;
        }
    }

    async fn verify(
        &mut self,
        (_runtime, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let Some(parent) = ancestry.next().await else {
            return false;
        };
        let block = block.inner().clone();
        if block.height != parent.inner().height + 1
            || block.parent != parent.digest()
            || block.timestamp_ms < parent.inner().timestamp_ms
            || block.proposer.as_slice() != context.leader.as_ref()
            || block.entries_root != block.computed_entries_root()
        {
            tracing::warn!(height = block.height, "refusing a malformed block");
            return false;
        }
        let head = self.state.store.head().ok().flatten().map_or(0, |(h, _)| h);
        let pending = pending_blocks(parent, &mut ancestry, head).await;
        match self.check_block(&block, &pending) {
            Ok(()) => true,
            Err(ValidationError::Rejected(rejection)) => {
                self.state.metrics.rejected(&rejection);
                tracing::warn!(height = block.height, %rejection, "refusing a block with an invalid entry");
                false
            }
            Err(ValidationError::Store(error)) => {
                self.state
                    .halt(format!("store failed while verifying: {error}"));
                false
            }
        }
    }
}
