//! Starts one node's parts on a runtime and a network: the genesis block in the store, entry
//! gossip, and the consensus engine. Used by `veil node`, `veil up` and the simulations alike.

use std::sync::Arc;

use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_runtime::{Clock, Handle, Metrics, Network, Spawner, Storage};
use commonware_utils::TryCollect as _;
use commonware_utils::ordered::Set;
use rand_core::CryptoRng;

use crate::consensus::application::LedgerApplication;
use crate::consensus::{
    self, Channels, EngineConfig, EngineError, Marshal, PrivateKey, PublicKey, Timing,
    gossip::GossipHandle,
};
use crate::genesis::Genesis;
use crate::ledger::Block;
use crate::state::NodeState;
use crate::store::{AppliedBlock, StoreError, StoredBlock};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Two members share a consensus key.
    #[error("duplicate consensus keys in the genesis")]
    DuplicateKeys,
    /// The store failed (or belongs to another genesis).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The store's head block is not what was finalized (see [`check_head`]).
    #[error(
        "store: block {height} is corrupt ({corruption}); the last write may have been torn. \
         Restore the data directory, or remove it to resynchronize from the peers"
    )]
    Corrupt {
        /// The head height.
        height: u64,
        /// What is wrong with the head block.
        corruption: Corruption,
    },
    /// The consensus engine could not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What is wrong with a store's head block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The head names a block that is not stored.
    #[error("the head block is missing")]
    MissingHead,
    /// The head block does not decode.
    #[error("the block does not decode")]
    Undecodable,
    /// The head block's digest or entries root is not what was finalized.
    #[error("digest or entries root mismatch")]
    Digest,
    /// An entry's stored bytes or position differ from its block.
    #[error("an entry differs from its block")]
    Entry,
}

/// A running node.
pub struct RunningNode {
    /// Shared state (store, mempool, metrics).
    pub state: Arc<NodeState>,
    /// Sends entries to peers.
    pub gossip: GossipHandle,
    /// marshal's mailbox.
    pub marshal: Marshal,
    /// Every task of the node.
    pub handles: Vec<Handle<()>>,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode")
            .field("member", &self.state.member)
            .finish_non_exhaustive()
    }
}

/// The validator set of a genesis, in genesis order.
pub fn validators(genesis: &Genesis) -> Result<Set<PublicKey>, StartError> {
    genesis
        .members
        .iter()
        .map(|m| m.consensus_key.clone())
        .try_collect()
        .map_err(|_| StartError::DuplicateKeys)
}

/// The genesis block of `genesis`.
pub fn genesis_block(genesis: &Genesis) -> Block {
    Block::genesis(genesis.hash)
}

/// Binds the store to the genesis, writes the genesis block if the store is empty, and
/// checks that the head block is intact (see [`check_head`]).
pub fn prepare_store(state: &NodeState) -> Result<(), StartError> {
    let genesis = &state.genesis;
    state.store.check_genesis(&genesis.hash)?;
    check_head(state.store.as_ref())?;
    if state.store.head()?.is_none() {
        let block = genesis_block(genesis);
        let digest = commonware_cryptography::Digestible::digest(&block);
        state.store.apply(&AppliedBlock {
            block: StoredBlock {
                height: 0,
                digest: digest.0,
                block: block.to_bytes(),
                finalization: Vec::new(),
            },
            entries: Vec::new(),
            registry: Vec::new(),
        })?;
    }
    Ok(())
}

/// Refuses a store whose head block is not what was finalized: its digest, its Merkle root
/// and every one of its entries (bytes and position) must agree. A write torn by a crash or a
/// failing disk shows here, at the last block written, and the node then refuses to start
/// rather than serve or build on corrupted data; the operator restores or wipes the data
/// directory and the node recovers the ledger from its peers.
pub fn check_head(store: &dyn crate::store::Store) -> Result<(), StartError> {
    let corrupt = |height: u64, corruption: Corruption| StartError::Corrupt { height, corruption };
    let Some((height, digest)) = store.head()? else {
        return Ok(());
    };
    let stored = store
        .block(height)?
        .ok_or_else(|| corrupt(height, Corruption::MissingHead))?;
    let block = <Block as commonware_codec::DecodeExt<()>>::decode(stored.block.clone())
        .map_err(|_| corrupt(height, Corruption::Undecodable))?;
    if stored.digest != digest
        || commonware_cryptography::Digestible::digest(&block).0 != digest
        || block.computed_entries_root() != block.entries_root
    {
        return Err(corrupt(height, Corruption::Digest));
    }
    for (index, (entry, bytes)) in block
        .entries
        .iter()
        .zip(block.encoded_entries())
        .enumerate()
    {
        let found = store.entry(&entry.header.id)?;
        let intact = found.is_some_and(|found| {
            found.height == height && found.index as usize == index && found.bytes == *bytes
        });
        if !intact {
            return Err(corrupt(height, Corruption::Entry));
        }
    }
    Ok(())
}

/// The six p2p channels of a node, in the order of [`consensus::channel`].
#[derive(Debug)]
pub struct NodeChannels<S, R> {
    /// Consensus channels.
    pub consensus: Channels<S, R>,
    /// Gossip channel.
    pub gossip: (S, R),
}

/// Starts gossip and consensus for `state` on `context`.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, R, P, B>(
    context: E,
    state: Arc<NodeState>,
    signer: PrivateKey,
    peers: P,
    blocker: B,
    channels: NodeChannels<S, R>,
    timing: Timing,
    partition: String,
) -> Result<RunningNode, StartError>
where
    E: Spawner + Metrics + Clock + Storage + Network + CryptoRng,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    start_with(
        context,
        state,
        signer,
        peers,
        blocker,
        channels,
        timing,
        partition,
        |honest| honest,
    )
    .await
}

/// Like [`start`], with the application built by `make_application` from the honest one
/// (simulations use this to run faulty validators).
#[allow(clippy::too_many_arguments)]
pub async fn start_with<E, S, R, P, B, A>(
    context: E,
    state: Arc<NodeState>,
    signer: PrivateKey,
    peers: P,
    blocker: B,
    channels: NodeChannels<S, R>,
    timing: Timing,
    partition: String,
    make_application: impl FnOnce(LedgerApplication) -> A,
) -> Result<RunningNode, StartError>
where
    E: Spawner + Metrics + Clock + Storage + Network + CryptoRng,
    A: commonware_consensus::Application<
            E,
            SigningScheme = consensus::Scheme,
            Context = consensus::ConsensusContext,
            Block = Block,
            Input = (),
        >,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    prepare_store(&state)?;
    let validators = validators(&state.genesis)?;
    let genesis = genesis_block(&state.genesis);
    let (gossip, gossip_handle) = consensus::gossip::start(
        context.child("gossip"),
        state.clone(),
        channels.gossip,
        blocker.clone(),
    );
    let me = commonware_cryptography::Signer::public_key(&signer);
    let application =
        make_application(LedgerApplication::new(state.clone(), &me, timing.idle_wait));
    let running = consensus::start(
        context.child("consensus"),
        EngineConfig {
            state: state.clone(),
            signer,
            validators,
            partition,
            timing,
        },
        genesis,
        application,
        peers,
        blocker,
        channels.consensus,
    )
    .await?;
    let mut handles = running.handles;
    handles.push(gossip_handle);
    Ok(RunningNode {
        state,
        gossip,
        marshal: running.marshal,
        handles,
    })
}
