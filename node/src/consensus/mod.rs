//! BFT ordering with commonware: `simplex` consensus over Ed25519 validator keys, `marshal`
//! for block dissemination, backfill (catch-up) and ordered delivery of finalized blocks,
//! wrapped by marshal's `Inline` verifier so a validator votes only for blocks it verified.
//!
//! Everything here is generic over the commonware runtime and the p2p channels: production
//! uses the tokio runtime with `commonware-p2p` authenticated TCP, the simulation tests the
//! deterministic runtime with the simulated network.

pub mod application;
pub mod applier;
pub mod gossip;

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::marshal::core::{Actor as MarshalActor, Mailbox};
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::{Inline, Standard};
use commonware_consensus::marshal::{self, Start};
use commonware_consensus::simplex::{
    self, ForwardPolicy, SkipBudget, SkipPolicy, elector::RoundRobin,
};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::certificate::ConstantProvider;
use commonware_cryptography::{Digested, Digestible, Sha256, ed25519};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Network, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::ordered::Set;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize};
use rand_core::CryptoRng;

use crate::ledger::Block;
use crate::state::NodeState;

/// The certificate scheme: Ed25519 signatures of the validators, attributable.
pub type Scheme = simplex::scheme::ed25519::Scheme;
/// A validator's consensus key.
pub type PublicKey = ed25519::PublicKey;
/// A validator's consensus secret key.
pub type PrivateKey = ed25519::PrivateKey;
/// Block digests.
pub type Digest = crate::ledger::BlockDigest;
/// What simplex tells the application about a proposal.
pub type ConsensusContext = simplex::types::Context<Digest, PublicKey>;
/// Marshal's mailbox.
pub type Marshal = Mailbox<Scheme, Standard<Block>>;
/// A finalization certificate.
pub type Finalization = simplex::types::Finalization<Scheme, Digest>;

/// Namespace of consensus signatures (distinct from every other signature Veil makes).
pub const CONSENSUS_NAMESPACE: &[u8] = veil_crypto::labels::CONSENSUS;
/// Namespace of peer-to-peer handshakes.
pub const P2P_NAMESPACE: &[u8] = veil_crypto::labels::P2P;

/// One epoch for the whole ledger: the validator set is the genesis set.
const BLOCKS_PER_EPOCH: NonZeroU64 = NZU64!(1 << 40);

/// p2p channel ids.
pub mod channel {
    /// simplex votes.
    pub const VOTES: u64 = 0;
    /// simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// simplex certificate resolver.
    pub const RESOLVER: u64 = 2;
    /// marshal backfill (catch-up).
    pub const BACKFILL: u64 = 3;
    /// marshal block broadcast.
    pub const BROADCAST: u64 = 4;
    /// Veil entry gossip and status beacons.
    pub const GOSSIP: u64 = 5;
}

/// The per-peer rate and burst of each channel.
///
/// The network allocates, when it starts, one burst per peer for every channel (each channel's
/// inbound queue and the shared outbound queue hold `peers × burst` messages), so the burst, not
/// the rate, sets a node's memory: with the rates' default bursts (one second of traffic) a node
/// of a 21-member consortium held about 140 MB of empty queues, and 64 members would not fit one
/// machine. A peer sending faster than its quota is slowed down (its connection is read no
/// faster), not dropped. A simplex view costs a peer a handful of votes and certificates, a
/// block one broadcast, an entry one gossip message: the bursts cover many views' worth. Entry
/// gossip allows a peer 200 entries a second (a bank's gateway writes a few dozen at
/// saturation on its own host) with a burst of 64: a lying member flooding entries that are
/// expensive to refuse is slowed to that rate, and blocked outright for the first that fails
/// the stateless checks (see [`gossip`]).
pub fn quota(channel_id: u64) -> commonware_runtime::Quota {
    use commonware_utils::NZU32;
    let (per_second, burst) = match channel_id {
        channel::VOTES | channel::CERTIFICATES | channel::RESOLVER => (NZU32!(1_000), NZU32!(64)),
        channel::BACKFILL | channel::BROADCAST => (NZU32!(200), NZU32!(16)),
        _ => (NZU32!(200), NZU32!(64)),
    };
    commonware_runtime::Quota::per_second(per_second).allow_burst(burst)
}

/// Timing of consensus. Loopback consortia can run much faster than the defaults a WAN needs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long validators wait for a leader's proposal.
    pub leader_timeout: Duration,
    /// How long validators wait for a notarized proposal to certify.
    pub certification_timeout: Duration,
    /// Retry interval of timeouts.
    pub timeout_retry: Duration,
    /// How long an idle leader waits for entries before declining to propose.
    pub idle_wait: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            leader_timeout: Duration::from_secs(2),
            certification_timeout: Duration::from_secs(3),
            timeout_retry: Duration::from_secs(5),
            idle_wait: application::IDLE_WAIT,
        }
    }
}

/// Everything the engine needs besides the runtime and the network.
pub struct EngineConfig {
    /// Shared node state.
    pub state: Arc<NodeState>,
    /// This validator's consensus key.
    pub signer: PrivateKey,
    /// Every validator's consensus key.
    pub validators: Set<PublicKey>,
    /// Partition prefix for consensus storage (runtime storage).
    pub partition: String,
    /// Timing.
    pub timing: Timing,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

/// The sender and receiver of one p2p channel.
pub type ChannelPair<S, R> = (S, R);

/// The p2p channels consensus uses.
#[derive(Debug)]
pub struct Channels<S, R> {
    /// Votes.
    pub votes: ChannelPair<S, R>,
    /// Certificates.
    pub certificates: ChannelPair<S, R>,
    /// Certificate resolver.
    pub resolver: ChannelPair<S, R>,
    /// Backfill.
    pub backfill: ChannelPair<S, R>,
    /// Block broadcast.
    pub broadcast: ChannelPair<S, R>,
}

/// Why the consensus engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The node's consensus key is not one of the genesis validators'.
    #[error("this node's consensus key is not a validator in the genesis")]
    NotValidator,
    /// marshal's archives could not be opened.
    #[error("consensus storage could not be opened")]
    Storage,
}

/// Handles of a running engine.
pub struct Running {
    /// marshal's mailbox (for catch-up queries).
    pub marshal: Marshal,
    /// Every task; the engine stops when any of them does.
    pub handles: Vec<Handle<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("tasks", &self.handles.len())
            .finish_non_exhaustive()
    }
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    codec: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 1024,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache,
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 64 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(4096),
        codec_config: codec,
        replay_buffer: NZUsize!(1024 * 1024),
        freezer_key_write_buffer: NZUsize!(1024 * 1024),
        freezer_value_write_buffer: NZUsize!(1024 * 1024),
        ordinal_write_buffer: NZUsize!(1024 * 1024),
    }
}

/// The largest payload any consensus channel carries.
pub fn max_message_size(validators: u32) -> u32 {
    let simplex = simplex::max_payload_size::<Scheme, Digest>(validators);
    let marshal = marshal::max_payload_size::<Standard<Block>, Scheme>(validators, &());
    commonware_p2p::max_message_size(&[simplex, marshal, gossip::MAX_GOSSIP_MESSAGE])
}

/// Starts marshal, the applier and simplex for one validator.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, R, P, B, A>(
    context: E,
    config: EngineConfig,
    genesis: Block,
    application: A,
    peers: P,
    blocker: B,
    channels: Channels<S, R>,
) -> Result<Running, EngineError>
where
    E: Spawner + Metrics + Clock + Storage + Network + CryptoRng,
    A: commonware_consensus::Application<
            E,
            SigningScheme = Scheme,
            Context = ConsensusContext,
            Block = Block,
            Input = (),
        >,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let EngineConfig {
        state,
        signer,
        validators,
        partition,
        timing,
    } = config;
    let me = commonware_cryptography::Signer::public_key(&signer);
    let scheme = Scheme::signer(CONSENSUS_NAMESPACE, validators.clone(), signer)
        .or_else(|| Scheme::member(CONSENSUS_NAMESPACE, validators.clone(), &me));
    let Some(scheme) = scheme else {
        return Err(EngineError::NotValidator);
    };
    let provider = ConstantProvider::new(scheme.clone());
    // 4 MiB of archive pages per node (allocated when the node starts): a one-machine
    // consortium runs 21 to 64 nodes, and a block is a few pages.
    let page_cache = CacheRef::new(NZU16!(16_384), NZUsize!(256));
    let mailbox_size = NZUsize!(1024);

    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size,
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: peers,
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast_engine.start(channels.broadcast);

    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive_config(
            &partition,
            "finalizations",
            page_cache.clone(),
            <Scheme as commonware_cryptography::certificate::Verifier>::certificate_codec_config_unbounded(),
        ),
    )
    .await;
    let blocks = immutable::Archive::init(
        context.child("blocks"),
        archive_config(&partition, "blocks", page_cache.clone(), ()),
    )
    .await;
    let (Ok(finalizations), Ok(blocks)) = (finalizations, blocks) else {
        broadcast_handle.abort();
        return Err(EngineError::Storage);
    };

    let genesis_digest = genesis.digest();
    let (marshal_actor, marshal, _floor) = MarshalActor::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider,
            epocher: FixedEpocher::new(BLOCKS_PER_EPOCH),
            start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
            partition_prefix: format!("{partition}-marshal"),
            mailbox_size,
            view_retention: ViewDelta::new(10),
            max_repair: NZUsize!(16),
            max_pending_acks: NZUsize!(4),
            block_codec_config: (),
            prunable_items_per_section: NZU64!(64),
            replay_buffer: NZUsize!(1024 * 1024),
            key_write_buffer: NZUsize!(1024 * 1024),
            value_write_buffer: NZUsize!(1024 * 1024),
            page_cache: page_cache.clone(),
            strategy: Sequential,
        },
    )
    .await;

    let (applier, applier_handle) =
        applier::Applier::start(context.child("applier"), state.clone(), marshal.clone());
    let marshal_handle = marshal_actor.start(applier, buffer, resolver);

    let inline = Inline::new(
        context.child("inline"),
        application,
        marshal.clone(),
        FixedEpocher::new(BLOCKS_PER_EPOCH),
    );
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: inline,
            strategy: Sequential,
            partition: format!("{partition}-simplex"),
            mailbox_size,
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache,
            leader_timeout: timing.leader_timeout,
            certification_timeout: timing.certification_timeout,
            timeout_retry: timing.timeout_retry,
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: timing.timeout_retry + timing.certification_timeout,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::SilentVoters,
            track_historical_votes: false,
        },
    );
    let simplex_handle = engine.start(channels.votes, channels.certificates, channels.resolver);

    Ok(Running {
        marshal,
        handles: vec![
            broadcast_handle,
            marshal_handle,
            applier_handle,
            simplex_handle,
        ],
    })
}
