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
    self, Channels, EngineConfig, Marshal, PrivateKey, PublicKey, Timing, gossip::GossipHandle,
};
use crate::genesis::Genesis;
use crate::ledger::Block;
use crate::state::NodeState;
use crate::store::{AppliedBlock, StoredBlock};

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
pub fn validators(genesis: &Genesis) -> Result<Set<PublicKey>, String> {
    genesis
        .members
        .iter()
        .map(|m| m.consensus_key.clone())
        .try_collect()
        .map_err(|_| "duplicate consensus keys in the genesis".to_owned())
}

/// The genesis block of `genesis`.
pub fn genesis_block(genesis: &Genesis) -> Block {
    Block::genesis(genesis.hash)
}

/// Binds the store to the genesis, writes the genesis block if the store is empty, and
/// checks that the head block is intact (see [`check_head`]).
pub fn prepare_store(state: &NodeState) -> Result<(), String> {
    let genesis = &state.genesis;
    state
        .store
        .check_genesis(&genesis.hash)
        .map_err(|e| format!("store: {e}"))?;
    check_head(state.store.as_ref())?;
    if state.store.head().map_err(|e| e.to_string())?.is_none() {
        let block = genesis_block(genesis);
        let digest = commonware_cryptography::Digestible::digest(&block);
        state
            .store
            .apply(&AppliedBlock {
                block: StoredBlock {
                    height: 0,
                    digest: digest.0,
                    block: block.to_bytes(),
                    finalization: Vec::new(),
                },
                entries: Vec::new(),
            })
            .map_err(|e| format!("store: {e}"))?;
    }
    Ok(())
}

/// Refuses a store whose head block is not what was finalized: its digest, its Merkle root
/// and every one of its entries (bytes and position) must agree. A write torn by a crash or a
/// failing disk shows here, at the last block written, and the node then refuses to start
/// rather than serve or build on corrupted data; the operator restores or wipes the data
/// directory and the node recovers the ledger from its peers.
pub fn check_head(store: &dyn crate::store::Store) -> Result<(), String> {
    let corrupt = |height: u64, what: &str| {
        format!(
            "store: block {height} is corrupt ({what}); the last write may have been torn. \
             Restore the data directory, or remove it to resynchronize from the peers"
        )
    };
    let Some((height, digest)) = store.head().map_err(|e| format!("store: {e}"))? else {
        return Ok(());
    };
    let stored = store
        .block(height)
        .map_err(|e| format!("store: {e}"))?
        .ok_or_else(|| corrupt(height, "the head block is missing"))?;
    let block = <Block as commonware_codec::DecodeExt<()>>::decode(stored.block.clone())
        .map_err(|_| corrupt(height, "the block does not decode"))?;
    if stored.digest != digest
        || commonware_cryptography::Digestible::digest(&block).0 != digest
        || block.computed_entries_root() != block.entries_root
    {
        return Err(corrupt(height, "digest or entries root mismatch"));
    }
    for (index, (entry, bytes)) in block
        .entries
        .iter()
        .zip(block.encoded_entries())
        .enumerate()
    {
        let found = store
            .entry(&entry.header.id)
            .map_err(|e| format!("store: {e}"))?;
        let intact = found.is_some_and(|found| {
            found.height == height && found.index as usize == index && found.bytes == *bytes
        });
        if !intact {
            return Err(corrupt(height, "an entry differs from its block"));
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
) -> Result<RunningNode, String>
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
) -> Result<RunningNode, String>
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
    let (gossip, gossip_handle) =
        consensus::gossip::start(context.child("gossip"), state.clone(), channels.gossip);
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
