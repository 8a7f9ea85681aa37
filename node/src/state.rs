//! The state one node shares between consensus, gossip and its API: the store, the validator,
//! the mempool, finality waiters, peer status and metrics.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use commonware_runtime::Metrics;
use commonware_runtime::telemetry::metrics::{EncodeLabelSet, raw};
use commonware_utils::channel::oneshot;

use crate::genesis::Genesis;
use crate::ledger::{Entry, EntryId};
use crate::mempool::{Mempool, MempoolError};
use crate::store::{Store, StoreError};
use crate::validation::{
    PendingView, ProofHistograms, ProofTimer, Rejection, ValidationError, Validator,
};

/// Where and when an entry was finalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The entry.
    pub id: EntryId,
    /// Height of the block holding it.
    pub height: u64,
    /// Digest of that block.
    pub block: [u8; 32],
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The bytes are not an entry.
    #[error("malformed entry")]
    Malformed,
    /// The entry breaks a validation rule.
    #[error("invalid entry: {0}")]
    Invalid(Rejection),
    /// The same id was finalized with other content.
    #[error("entry id already used by another entry")]
    Replay,
    /// The pool cannot take it now.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// The node's store failed; the node is stopping.
    #[error("node storage failure")]
    Store(#[from] StoreError),
    /// The node halted (see its logs) and accepts nothing.
    #[error("node halted")]
    Halted,
}

/// What a peer last told us about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStatus {
    /// Its finalized height.
    pub height: u64,
    /// Its head digest.
    pub head: [u8; 32],
    /// When we heard it.
    pub seen: Instant,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabel {
    reason: String,
}

/// The node's Prometheus metrics (registered with the runtime, so `/metrics` exports them).
#[derive(Debug)]
pub struct NodeMetrics {
    height: raw::Gauge,
    mempool: raw::Gauge,
    finalization_latency: raw::Histogram,
    entries_verified: raw::Counter,
    proof_seconds: raw::Counter<f64, std::sync::atomic::AtomicU64>,
    storage_seconds: raw::Counter<f64, std::sync::atomic::AtomicU64>,
    blocks_applied: raw::Counter,
    rejections: raw::Family<RejectionLabel, raw::Counter>,
    peers_blocked: raw::Counter,
    proofs: ProofHistograms,
    finalized_tip: raw::Gauge,
    lag: raw::Gauge,
    _registrations: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

impl NodeMetrics {
    /// Registers the metrics under `context`.
    pub fn register(context: &impl Metrics) -> Self {
        let height = context.register("height", "finalized height", raw::Gauge::default());
        let mempool = context.register(
            "mempool_entries",
            "entries admitted but not yet finalized",
            raw::Gauge::default(),
        );
        let latency = context.register(
            "finalization_latency_seconds",
            "time from admission at this node to durable finalization",
            raw::Histogram::new([
                0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0,
            ]),
        );
        let verified = context.register(
            "entries_verified",
            "entries whose signature and proofs this node verified",
            raw::Counter::default(),
        );
        let proof_seconds = context.register(
            "proof_verification_seconds",
            "CPU seconds spent verifying entries (signatures and proofs)",
            raw::Counter::<f64, std::sync::atomic::AtomicU64>::default(),
        );
        let storage_seconds = context.register(
            "storage_seconds",
            "seconds spent writing finalized blocks durably (synced RocksDB batches)",
            raw::Counter::<f64, std::sync::atomic::AtomicU64>::default(),
        );
        let blocks_applied = context.register(
            "blocks_applied",
            "finalized blocks written to the store",
            raw::Counter::default(),
        );
        let rejections = context.register(
            "rejections",
            "entries refused, by reason",
            raw::Family::<RejectionLabel, raw::Counter>::default(),
        );
        let peers_blocked = context.register(
            "peers_blocked",
            "peers blocked for gossiping what no honest node sends (an entry failing the \
             stateless checks, or bytes that do not decode)",
            raw::Counter::default(),
        );
        let proofs = context.register(
            "proof_verify_seconds",
            "time to verify one proof or signature, by kind (signature, range, relation, audit, \
             settlement, screening)",
            ProofHistograms::default().family().clone(),
        );
        let finalized_tip = context.register(
            "finalized_tip",
            "highest height the consortium has finalized, as far as this node knows (the \
             finalizations it has seen, at least its own height)",
            raw::Gauge::default(),
        );
        let lag = context.register(
            "lag_blocks",
            "finalized blocks this node has not yet applied (finalized_tip - height)",
            raw::Gauge::default(),
        );
        Self {
            proofs: ProofHistograms::from_family((*proofs).clone()),
            finalized_tip: (*finalized_tip).clone(),
            lag: (*lag).clone(),
            height: (*height).clone(),
            mempool: (*mempool).clone(),
            finalization_latency: (*latency).clone(),
            entries_verified: (*verified).clone(),
            proof_seconds: (*proof_seconds).clone(),
            storage_seconds: (*storage_seconds).clone(),
            blocks_applied: (*blocks_applied).clone(),
            rejections: (*rejections).clone(),
            peers_blocked: (*peers_blocked).clone(),
            _registrations: vec![
                Box::new(height),
                Box::new(mempool),
                Box::new(latency),
                Box::new(verified),
                Box::new(proof_seconds),
                Box::new(storage_seconds),
                Box::new(blocks_applied),
                Box::new(rejections),
                Box::new(peers_blocked),
                Box::new(proofs),
                Box::new(finalized_tip),
                Box::new(lag),
            ],
        }
    }

    /// Counts a rejection.
    pub fn rejected(&self, rejection: &Rejection) {
        self.rejections
            .get_or_create(&RejectionLabel {
                reason: rejection.reason().to_owned(),
            })
            .inc();
    }

    /// How many entries were refused for `reason` (see [`Rejection::reason`]).
    pub fn rejections(&self, reason: &str) -> u64 {
        self.rejections
            .get_or_create(&RejectionLabel {
                reason: reason.to_owned(),
            })
            .get()
    }

    /// What reports each proof's verification time to these metrics.
    pub fn proof_timer(&self) -> Arc<dyn ProofTimer> {
        Arc::new(self.proofs.clone())
    }

    /// The consortium finalized height `tip` (marshal's tip), which may run ahead of what
    /// this node has applied.
    pub fn finalized_tip(&self, tip: u64) {
        let tip = i64::try_from(tip).unwrap_or(i64::MAX);
        self.finalized_tip.set(tip.max(self.finalized_tip.get()));
        self.update_lag();
    }

    /// This node applied finalized height `height`: the tip is at least that.
    fn applied(&self, height: u64) {
        let height = i64::try_from(height).unwrap_or(i64::MAX);
        self.height.set(height);
        self.finalized_tip.set(height.max(self.finalized_tip.get()));
        self.update_lag();
    }

    fn update_lag(&self) {
        self.lag
            .set((self.finalized_tip.get() - self.height.get()).max(0));
    }

    /// Counts a peer blocked for gossiping a lie.
    pub fn peer_blocked(&self) {
        self.peers_blocked.inc();
    }

    /// Peers blocked so far.
    pub fn peers_blocked_total(&self) -> u64 {
        self.peers_blocked.get()
    }

    /// CPU seconds spent verifying entries so far.
    pub fn proof_seconds_total(&self) -> f64 {
        self.proof_seconds.get()
    }

    /// Records one durable block write.
    pub fn stored(&self, elapsed: Duration) {
        self.storage_seconds.inc_by(elapsed.as_secs_f64());
        self.blocks_applied.inc();
    }

    /// Seconds spent writing blocks, and blocks written, so far.
    pub fn storage_totals(&self) -> (f64, u64) {
        (self.storage_seconds.get(), self.blocks_applied.get())
    }

    /// Entries verified so far.
    pub fn entries_verified_total(&self) -> u64 {
        self.entries_verified.get()
    }

    /// Counts verified entries and the time spent.
    pub fn verified(&self, entries: usize, elapsed: Duration) {
        self.entries_verified.inc_by(entries as u64);
        self.proof_seconds.inc_by(elapsed.as_secs_f64());
    }
}

/// Digests (SHA-256 of the exact bytes) of entries that passed
/// [`Validator::check_stateless`]: a bounded FIFO, cloned as a handle to one shared cache.
///
/// Stateless checks depend only on an entry's bytes and the genesis, so nodes of one
/// consortium running in one process (`veil up`) may share a cache: an entry one of them
/// verified is not verified again by the others on the same cores. Nodes in separate
/// processes each verify everything themselves.
#[derive(Clone, Debug, Default)]
pub struct VerifiedEntries(Arc<Mutex<VerifiedCache>>);

/// The cache behind [`VerifiedEntries`].
#[derive(Debug, Default)]
struct VerifiedCache {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

const VERIFIED_CACHE: usize = 100_000;

impl VerifiedCache {
    fn insert(&mut self, digest: [u8; 32]) {
        if self.set.insert(digest) {
            self.order.push_back(digest);
            if self.order.len() > VERIFIED_CACHE
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }
}

/// What a submitter waiting for an entry hears: its receipt once finalized, or why this node
/// dropped it from its mempool.
pub type Outcome = Result<Receipt, Rejection>;

/// Shared node state.
pub struct NodeState {
    /// The consortium genesis.
    pub genesis: Arc<Genesis>,
    /// This node's member id.
    pub member: String,
    /// The entry validator.
    pub validator: Validator,
    /// The durable ledger.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: NodeMetrics,
    mempool: Mutex<Mempool>,
    verified: VerifiedEntries,
    waiters: Mutex<HashMap<EntryId, Vec<oneshot::Sender<Outcome>>>>,
    peers: Mutex<HashMap<String, PeerStatus>>,
    halted: Mutex<Option<String>>,
}

impl std::fmt::Debug for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeState")
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a thread panicked while holding it; the data is still usable for
    // these maps (each update is a single insert or remove).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl NodeState {
    /// State for member `member` over `store`, checking entries with `validator` (which holds
    /// the genesis and policy set), with its own cache of verified entries.
    pub fn new(
        validator: Validator,
        member: String,
        store: Arc<dyn Store>,
        metrics: NodeMetrics,
    ) -> Self {
        Self::with_verified(
            validator,
            member,
            store,
            metrics,
            VerifiedEntries::default(),
        )
    }

    /// State for member `member` over `store`, sharing `verified` with other nodes of the same
    /// consortium in this process.
    pub fn with_verified(
        validator: Validator,
        member: String,
        store: Arc<dyn Store>,
        metrics: NodeMetrics,
        verified: VerifiedEntries,
    ) -> Self {
        Self {
            genesis: validator.shared_genesis(),
            validator: validator.with_timer(metrics.proof_timer()),
            member,
            store,
            metrics,
            mempool: Mutex::new(Mempool::new()),
            verified,
            waiters: Mutex::new(HashMap::new()),
            peers: Mutex::new(HashMap::new()),
            halted: Mutex::new(None),
        }
    }

    /// Stops the node from accepting or finalizing anything more, with a reason for operators.
    pub fn halt(&self, reason: String) {
        tracing::error!(%reason, "node halted: refusing to continue");
        *lock(&self.halted) = Some(reason);
    }

    /// Why the node halted, if it did.
    pub fn halted(&self) -> Option<String> {
        lock(&self.halted).clone()
    }

    /// Stateless validation with a cache keyed by entry digest.
    pub fn check_stateless_cached(
        &self,
        entry: &Entry,
        digest: &[u8; 32],
    ) -> Result<(), Rejection> {
        if lock(&self.verified.0).set.contains(digest) {
            return Ok(());
        }
        let started = Instant::now();
        let result = self.validator.check_stateless(entry);
        self.metrics.verified(1, started.elapsed());
        if result.is_ok() {
            lock(&self.verified.0).insert(*digest);
        }
        result
    }

    /// [`NodeState::check_stateless_cached`] of a block's entries (each with the SHA-256 of its
    /// bytes): those not yet verified are checked together
    /// ([`Validator::check_stateless_batch`]: their repayments' settlement proofs with one
    /// multi-pairing); the first refusal in block order, if any.
    pub fn check_stateless_batch_cached(
        &self,
        entries: &[(&Entry, [u8; 32])],
    ) -> Result<(), Rejection> {
        // Each distinct entry once (identical bytes have one verdict).
        let unverified: Vec<&(&Entry, [u8; 32])> = {
            let verified = lock(&self.verified.0);
            let mut seen = HashSet::with_capacity(entries.len());
            entries
                .iter()
                .filter(|(_, digest)| !verified.set.contains(digest) && seen.insert(*digest))
                .collect()
        };
        if unverified.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let batch: Vec<&Entry> = unverified.iter().map(|(entry, _)| *entry).collect();
        let verdicts = self.validator.check_stateless_batch(&batch);
        self.metrics.verified(unverified.len(), started.elapsed());
        let mut first_refusal = None;
        let mut verified = lock(&self.verified.0);
        for ((_, digest), verdict) in unverified.iter().zip(verdicts) {
            match verdict {
                Ok(()) => verified.insert(*digest),
                Err(rejection) => {
                    first_refusal.get_or_insert(rejection);
                }
            }
        }
        first_refusal.map_or(Ok(()), Err)
    }

    /// Validates and admits an entry to the mempool.
    pub fn admit(&self, bytes: &[u8]) -> Result<Arc<Entry>, SubmitError> {
        if self.halted().is_some() {
            return Err(SubmitError::Halted);
        }
        let entry = Entry::decode(bytes).map_err(|_| SubmitError::Malformed)?;
        self.admit_decoded(entry, bytes.len())
    }

    /// [`NodeState::admit`] for an entry already decoded from `len` bytes (gossip decodes it
    /// first to judge the peer).
    pub fn admit_decoded(&self, entry: Entry, len: usize) -> Result<Arc<Entry>, SubmitError> {
        if self.halted().is_some() {
            return Err(SubmitError::Halted);
        }
        let digest = entry.digest();
        if self.store.contains(&entry.header.id)? {
            // A finalized id is never ordered again, whoever resubmits it.
            self.metrics.rejected(&Rejection::Replay);
            return Err(SubmitError::Replay);
        }
        if let Err(rejection) = self.check_stateless_cached(&entry, &digest) {
            self.metrics.rejected(&rejection);
            return Err(SubmitError::Invalid(rejection));
        }
        let view = PendingView::new(self.store.as_ref());
        match self.validator.check_stateful(&entry, &view) {
            Ok(()) => {}
            // A reference may still be pending here but finalized soon: admit only what the
            // finalized ledger supports, and let the submitter retry once the reference lands.
            // Finalized between the check above and this one: a replay, like the check above.
            Err(ValidationError::Rejected(Rejection::Replay)) => {
                self.metrics.rejected(&Rejection::Replay);
                return Err(SubmitError::Replay);
            }
            Err(ValidationError::Rejected(rejection)) => {
                self.metrics.rejected(&rejection);
                return Err(SubmitError::Invalid(rejection));
            }
            Err(ValidationError::Store(error)) => return Err(error.into()),
        }
        let entry = Arc::new(entry);
        lock(&self.mempool).insert(entry.clone(), digest, len)?;
        self.metrics.mempool.set(lock(&self.mempool).len() as i64);
        Ok(entry)
    }

    /// A receiver that resolves when `id` is finalized, or when this node drops it from its
    /// mempool as invalid (another entry ordered first made it stale).
    pub fn wait_for(&self, id: EntryId) -> oneshot::Receiver<Outcome> {
        let (sender, receiver) = oneshot::channel();
        lock(&self.waiters).entry(id).or_default().push(sender);
        receiver
    }

    /// Entries to propose, in arrival order, excluding `exclude`.
    pub fn candidates(
        &self,
        exclude: &HashSet<EntryId>,
        max_entries: usize,
        max_bytes: usize,
    ) -> Vec<Arc<Entry>> {
        lock(&self.mempool).candidates(exclude, max_entries, max_bytes)
    }

    /// Drops entries from the mempool (found invalid when proposing), and tells whoever waits
    /// for them why, so a submitter hears of it at once rather than at its timeout.
    pub fn drop_pending(&self, invalid: Vec<(EntryId, Rejection)>) {
        lock(&self.mempool).remove(invalid.iter().map(|(id, _)| *id));
        let mut waiters = lock(&self.waiters);
        for (id, rejection) in invalid {
            for waiter in waiters.remove(&id).unwrap_or_default() {
                let _ = waiter.send(Err(rejection.clone()));
            }
        }
    }

    /// Marks a digest as statelessly valid (verified while checking a block).
    pub fn remember_verified(&self, digest: [u8; 32]) {
        lock(&self.verified.0).insert(digest);
    }

    /// Whether a digest is known to be statelessly valid.
    pub fn is_verified(&self, digest: &[u8; 32]) -> bool {
        lock(&self.verified.0).set.contains(digest)
    }

    /// Drops the waiters of `id` whose receiver is gone (a submission refused, or one that
    /// stopped waiting), so that ids which never finalize do not hold memory.
    pub fn forget_waiters(&self, id: &EntryId) {
        let mut waiters = lock(&self.waiters);
        if let Some(list) = waiters.get_mut(id) {
            list.retain(|sender| !sender.is_closed());
            if list.is_empty() {
                waiters.remove(id);
            }
        }
    }

    /// Records a finalized, durably applied block: clears the mempool, wakes waiters.
    pub fn finalized(&self, height: u64, block: [u8; 32], ids: &[EntryId]) {
        let now = Instant::now();
        {
            let mut mempool = lock(&self.mempool);
            for id in ids {
                if let Some(admitted) = mempool.admitted_at(id) {
                    self.metrics
                        .finalization_latency
                        .observe(now.duration_since(admitted).as_secs_f64());
                }
            }
            mempool.remove(ids.iter().copied());
            self.metrics.mempool.set(mempool.len() as i64);
        }
        self.metrics.applied(height);
        let mut waiters = lock(&self.waiters);
        for id in ids {
            for waiter in waiters.remove(id).unwrap_or_default() {
                let _ = waiter.send(Ok(Receipt {
                    id: *id,
                    height,
                    block,
                }));
            }
        }
    }

    /// Records a peer's status beacon.
    pub fn peer_status(&self, member: String, height: u64, head: [u8; 32]) {
        lock(&self.peers).insert(
            member,
            PeerStatus {
                height,
                head,
                seen: Instant::now(),
            },
        );
    }

    /// Peers heard from within `within`, with their status.
    pub fn live_peers(&self, within: Duration) -> Vec<(String, PeerStatus)> {
        let now = Instant::now();
        let mut peers: Vec<_> = lock(&self.peers)
            .iter()
            .filter(|(_, status)| now.duration_since(status.seen) <= within)
            .map(|(member, status)| (member.clone(), *status))
            .collect();
        peers.sort_by(|a, b| a.0.cmp(&b.0));
        peers
    }

    /// Entries waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        lock(&self.mempool).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::testkit::TestConsortium;

    /// An entry a proposer drops as stale (an entry ordered first superseded what it builds
    /// on) is answered at once with why, not left to its submitter's timeout.
    #[test]
    fn a_dropped_entrys_waiter_hears_why() {
        let consortium = TestConsortium::new(3, 41, 40_400);
        use commonware_runtime::Runner as _;
        commonware_runtime::deterministic::Runner::default().start(|context| async move {
            let state = NodeState::new(
                Validator::new(consortium.genesis.clone()).unwrap(),
                "bank-a".into(),
                Arc::new(MemoryStore::new()),
                NodeMetrics::register(&context),
            );
            let dropped = EntryId([1; 16]);
            let finalized = EntryId([2; 16]);
            let dropped_waiter = state.wait_for(dropped);
            let finalized_waiter = state.wait_for(finalized);
            state.drop_pending(vec![(dropped, Rejection::StaleRegistry)]);
            state.finalized(7, [9; 32], &[finalized]);
            assert_eq!(dropped_waiter.await.unwrap(), Err(Rejection::StaleRegistry));
            assert_eq!(finalized_waiter.await.unwrap().unwrap().height, 7);
        });
    }

    /// A node behind the consortium's finalized tip reports how far, until it has applied up
    /// to it; the tip never goes back.
    #[test]
    fn lag_is_the_finalized_tip_minus_the_applied_height() {
        use commonware_runtime::Runner as _;
        commonware_runtime::deterministic::Runner::default().start(|context| async move {
            let metrics = NodeMetrics::register(&context);
            let lag = |m: &NodeMetrics| (m.finalized_tip.get(), m.height.get(), m.lag.get());
            metrics.applied(3);
            assert_eq!(lag(&metrics), (3, 3, 0));
            metrics.finalized_tip(10);
            assert_eq!(lag(&metrics), (10, 3, 7));
            metrics.applied(8);
            assert_eq!(lag(&metrics), (10, 8, 2));
            metrics.finalized_tip(9);
            assert_eq!(lag(&metrics), (10, 8, 2));
            metrics.applied(12);
            assert_eq!(lag(&metrics), (12, 12, 0));
        });
    }

    /// A lying proposer's block repeating one entry with a forged settlement proof costs one
    /// verification of it, not one per copy, and is refused naming the proof.
    #[test]
    fn a_block_repeating_a_forged_entry_verifies_it_once() {
        use commonware_runtime::{Metrics as _, Runner as _};
        let consortium = TestConsortium::new(3, 43, 40_500);
        let loan = consortium.loan(0, 1, 100_000, &[(1, 5000)]);
        let first = consortium.repayment(&loan, 20_000, "2026-11");
        let second = consortium.repayment(&loan, 10_000, "2026-11");
        let forged = crate::ledger::UnsignedEntry {
            header: first.header.clone(),
            groups: first.groups.clone(),
            commitments: first.commitments.clone(),
            proofs: crate::ledger::EntryProofs {
                circuit: second.proofs.circuit.clone(),
                ..first.proofs.clone()
            },
        }
        .sign(&consortium.members[0].signing);
        let digest: [u8; 32] = {
            use sha2::Digest as _;
            sha2::Sha256::digest(forged.encode()).into()
        };
        commonware_runtime::deterministic::Runner::default().start(|context| async move {
            let state = NodeState::new(
                Validator::new(consortium.genesis.clone()).unwrap(),
                "bank-b".into(),
                Arc::new(MemoryStore::new()),
                NodeMetrics::register(&context),
            );
            let block = vec![(&forged, digest); 50];
            assert_eq!(
                state.check_stateless_batch_cached(&block),
                Err(Rejection::CircuitProof(
                    crate::validation::CircuitProofError::Settlement(
                        veil_circuits::CircuitError::Verification
                    )
                ))
            );
            let text = context.encode();
            let settlement_checks: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.contains("proof_verify_seconds_count") && l.contains("proof=\"settlement\"")
                })
                .collect();
            assert_eq!(settlement_checks.len(), 1, "{text}");
            assert!(settlement_checks[0].ends_with(" 1"), "{text}");
        });
    }
}
