//! The gateway's state and operations (what the HTTP routes call), knowing nothing of HTTP:
//!
//! - [`write`](Gateway::write): idempotency, business-key uniqueness, building, submitting
//!   and waiting for finalization (`write.rs`);
//! - reads: entries, pages, loans, settlement proofs and sealed entries as one caller may see
//!   them (`read.rs`);
//! - the ledger followers that index loans and repayments (`followers.rs`);
//! - the disclosure log's anchors on the ledger: writing this gateway's, indexing everyone's
//!   (`anchors.rs`);
//! - borrower references by the members' threshold OPRF: evaluating this member's share for
//!   others, asking others for theirs (`references.rs`);
//! - regulators' view keys on the ledger: the published keys writes encrypt to, and a
//!   regulator's publication of further months ([`Publisher`], `view_keys.rs`);
//! - the gateway's own store: idempotency records, the disclosure log, indexes ([`store`]).
//!
//! Depends on [`crate::entry`] and [`crate::consortium`].

mod anchors;
pub mod error;
mod followers;
mod oprf_reports;
mod read;
mod references;
pub mod store;
mod view_keys;
mod write;

pub use error::ServiceError;
pub use references::{EvaluateRequest, EvaluateResponse};
pub use view_keys::{PUBLISH_WAIT, PublishError, Published, Publisher};
pub use write::{WriteTimings, Written};

use store::{GatewayStore, IdempotencyRecord};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use veil_crypto::encoding;
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryId};
use veil_node::link::{LinkError, NodeLink};
use veil_node::store::StoredEntry;
use veil_node::validation::Validator;
use veil_policies::{EntryType, Policies};

use crate::consortium::config::GatewayKind;
use crate::entry::builder::{BuildTimings, Builder, Built, LoanTerms, RepaymentAllocations};
use crate::entry::circuits::ProvingKeys;
use crate::entry::keys::{MemberSecrets, Opener};
use crate::entry::reader::{self, Opened, ProofReport};
use crate::entry::request::{self, Request};
use crate::metrics::GatewayMetrics;

/// How long a write waits for finalization before answering 504.
pub const FINALIZATION_WAIT: Duration = Duration::from_secs(30);
/// A `min_height` more than this many blocks beyond this gateway's node is refused at once
/// rather than waited for (a client passes heights that writes answered with, a few blocks
/// ahead at most while nodes converge).
pub const MAX_HEIGHT_AHEAD: u64 = 1_000;
/// Most entries per list page.
pub const MAX_PAGE: usize = 100;

/// What a gateway holds.
#[derive(Debug)]
pub enum Secrets {
    /// A member's keys.
    Member(Box<MemberSecrets>),
    /// A regulator's view keys (and auditor key).
    Regulator(Box<crate::entry::keys::RegulatorKeys>),
}

/// A gateway.
#[derive(Debug)]
pub struct Gateway {
    /// Member or regulator gateway.
    pub kind: GatewayKind,
    /// Its member or regulator id.
    pub id: String,
    /// The consortium.
    pub genesis: Arc<Genesis>,
    /// The policy set (hash checked against the genesis).
    pub policies: Policies,
    /// Entry verification.
    pub validator: Validator,
    /// The node.
    pub node: NodeLink,
    /// Keys.
    pub secrets: Secrets,
    /// Durable gateway state.
    pub store: GatewayStore,
    /// Where writes spent their time.
    pub timings: WriteTimings,
    /// The gateway's Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<GatewayMetrics>,
    /// The settlement circuit's proving keys.
    pub proving_keys: ProvingKeys,
    /// How often, at most, a member gateway anchors its disclosure log on the ledger
    /// ([`crate::consortium::config::GatewayConfig::disclosure_anchor_ms`]).
    pub disclosure_anchor: Duration,
    /// When this gateway last tried to anchor its disclosure log, and last did.
    anchor_times: Mutex<anchors::AnchorTimes>,
    /// How often, at most, a member gateway reports its OPRF evaluations on the ledger
    /// ([`crate::consortium::config::GatewayConfig::oprf_report_ms`]).
    pub oprf_report: Duration,
    /// When this gateway last tried to report its OPRF evaluations of the current day.
    report_attempt: Mutex<Option<std::time::Instant>>,
    /// The members' shared borrower-reference OPRF key (public side), if the genesis has one.
    pub oprf_key: Option<veil_crypto::oprf::OprfPublicKey>,
    /// A client of the other members' gateways (mutual TLS as `<member>:gateway`), for OPRF
    /// evaluations; `None` for regulator gateways and tests without peers.
    pub peers: Option<reqwest::Client>,
    /// When each member (genesis position) last failed to answer an OPRF evaluation: asked
    /// last for a while ([`references`]).
    peers_down: Mutex<HashMap<usize, std::time::Instant>>,
    /// OPRF evaluations served per (caller, UTC day), as far as this process counted (read
    /// from the store on first use).
    oprf_counts: Mutex<HashMap<(String, u64), u64>>,
    /// One permit per core for proving and verifying (see [`Gateway::cpu`]).
    cpu: tokio::sync::Semaphore,
    idempotency_locks: KeyedLocks,
    repayment_locks: KeyedLocks,
    settlement_locks: KeyedLocks,
    loan_reservations: Mutex<HashSet<String>>,
    follow_lock: tokio::sync::Mutex<()>,
    /// Held while the registry follower applies finalized updates to the store.
    registry: tokio::sync::Mutex<()>,
    view_keys: tokio::sync::Mutex<view_keys::ViewKeysFollower>,
}

/// Async locks by name, each forgotten once nobody holds it or waits for it.
#[derive(Debug, Default)]
struct KeyedLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

/// A held [`KeyedLocks`] lock.
struct KeyedGuard<'a> {
    locks: &'a KeyedLocks,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    fn entry(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.0).entry(key.to_owned()).or_default().clone()
    }

    /// Waits for the lock of `key`.
    async fn lock(&self, key: &str) -> KeyedGuard<'_> {
        let guard = self.entry(key).lock_owned().await;
        KeyedGuard {
            locks: self,
            key: key.to_owned(),
            guard: Some(guard),
        }
    }

    /// The lock of `key` if nobody holds it.
    fn try_lock(&self, key: &str) -> Option<KeyedGuard<'_>> {
        let guard = self.entry(key).try_lock_owned();
        let guard = match guard {
            Ok(guard) => guard,
            Err(_) => {
                self.forget(key);
                return None;
            }
        };
        Some(KeyedGuard {
            locks: self,
            key: key.to_owned(),
            guard: Some(guard),
        })
    }

    fn forget(&self, key: &str) {
        let mut map = lock(&self.0);
        if map.get(key).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(key);
        }
    }
}

impl Drop for KeyedGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.locks.forget(&self.key);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn store_error(e: impl std::fmt::Display) -> ServiceError {
    tracing::error!(error = %e, "gateway store failed");
    ServiceError::internal()
}

fn link_problem(error: LinkError) -> ServiceError {
    match error {
        LinkError::Rejected(reason) => {
            tracing::warn!(%reason, "the ledger refused an entry");
            ServiceError::refused()
        }
        LinkError::Replay => ServiceError::conflict("entry id already used"),
        LinkError::Busy | LinkError::Unavailable(_) | LinkError::Protocol(_) => {
            ServiceError::unavailable()
        }
        LinkError::Timeout => ServiceError::timeout(),
        LinkError::Forbidden => {
            tracing::error!("the node refused this gateway's identity");
            ServiceError::internal()
        }
        _ => ServiceError::unavailable(),
    }
}

/// SHA-256 of a request body in its RFC 8785 canonical form (JCS: members sorted, numbers and
/// strings in one spelling), the idempotency fingerprint: the same request sent with its
/// members in another order or other whitespace is the same request.
pub fn body_hash(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let canonical = serde_json_canonicalizer::to_vec(&value).ok()?;
    Some(encoding::to_hex(&Sha256::digest(&canonical)))
}

/// The current month, `YYYY-MM`, in UTC.
pub fn current_month() -> String {
    let (year, month, _) =
        crate::entry::national_id::civil_from_days((now_ms() / 86_400_000) as i64);
    format!("{year:04}-{month:02}")
}

impl Gateway {
    /// Signs a bookkeeping entry (`veil_node::ledger::UnsignedEntry::bookkeeping`) with this
    /// member's signing key and submits it, waiting for finality; returns its id and height.
    ///
    /// # Errors
    /// The node refused it or did not finalize it within [`FINALIZATION_WAIT`].
    pub(super) async fn submit_bookkeeping(
        &self,
        secrets: &MemberSecrets,
        unsigned: veil_node::ledger::UnsignedEntry,
    ) -> Result<(EntryId, u64), ServiceError> {
        let entry = unsigned.sign(&secrets.signing);
        let id = entry.header.id;
        let receipt = self
            .node
            .submit(entry.encode(), FINALIZATION_WAIT)
            .await
            .map_err(link_problem)?;
        Ok((id, receipt.height))
    }

    /// Runs CPU-heavy work (proving, verifying proofs) without stalling the runtime's I/O:
    /// at most one job per core at once, admitted in arrival order, each on a thread the
    /// runtime sets aside for it.
    pub(super) async fn cpu<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut job = self.metrics.cpu_job();
        let _permit = self.cpu.acquire().await.ok();
        job.start();
        tokio::task::block_in_place(work)
    }

    /// A gateway over these parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: GatewayKind,
        id: String,
        validator: Validator,
        policies: Policies,
        node: NodeLink,
        secrets: Secrets,
        store: GatewayStore,
        proving_keys: ProvingKeys,
    ) -> Self {
        let metrics = Arc::new(GatewayMetrics::default());
        Self {
            proving_keys,
            disclosure_anchor: Duration::from_millis(
                crate::consortium::config::DEFAULT_DISCLOSURE_ANCHOR_MS,
            ),
            anchor_times: Mutex::default(),
            oprf_report: Duration::from_millis(crate::consortium::config::DEFAULT_OPRF_REPORT_MS),
            report_attempt: Mutex::default(),
            oprf_key: validator.shared_genesis().oprf_key(),
            peers: None,
            peers_down: Mutex::default(),
            oprf_counts: Mutex::default(),
            kind,
            id,
            genesis: validator.shared_genesis(),
            validator: validator.with_timer(metrics.proof_timer()),
            policies,
            node,
            secrets,
            store,
            timings: WriteTimings::default(),
            metrics,
            cpu: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
            idempotency_locks: KeyedLocks::default(),
            repayment_locks: KeyedLocks::default(),
            settlement_locks: KeyedLocks::default(),
            loan_reservations: Mutex::new(HashSet::new()),
            follow_lock: tokio::sync::Mutex::new(()),
            registry: tokio::sync::Mutex::default(),
            view_keys: tokio::sync::Mutex::default(),
        }
    }

    /// The current registry version (none while the registry is empty), after following the
    /// `registry.updated` entries finalized since the last call: each is applied to the
    /// registry in this gateway's store ([`GatewayStore::registry`]) and written with the
    /// follower's position in one synced batch, so a restart continues where it stopped and
    /// never replays the chain. Read the registry itself with [`GatewayStore::registry`].
    ///
    /// # Errors
    /// [`ServiceError::Internal`] when the chain on the ledger is broken or an update does not
    /// give the roots it states; the node's and the store's errors.
    pub(super) async fn current_registry(&self) -> Result<Option<EntryId>, ServiceError> {
        use veil_circuits::screening::stored::{self, Overlay};
        const PAGE: usize = 256;
        let _follower = self.registry.lock().await;
        let mut position = self.store.registry_head().map_err(store_error)?;
        loop {
            let page = self
                .node
                .entries_by_type(
                    EntryType::RegistryUpdated.name(),
                    position.map(|(after, _)| after),
                    PAGE,
                )
                .await
                .map_err(link_problem)?;
            for stored_entry in &page {
                let entry = self.decode(stored_entry)?;
                if entry.header.references.first() != position.as_ref().map(|(_, head)| head) {
                    tracing::error!(id = %entry.header.id, "the registry chain on the ledger is broken");
                    return Err(ServiceError::internal());
                }
                let update = veil_node::registry::update_of(&entry).map_err(store_error)?;
                let writes = self
                    .cpu(|| -> Result<_, ServiceError> {
                        let snapshot = self.store.registry().map_err(store_error)?;
                        let mut overlay = Overlay::new(&snapshot);
                        overlay
                            .apply(&update.changes, entry.header.submitter.as_bytes())
                            .map_err(store_error)?;
                        if stored::roots(&overlay).map_err(store_error)? != update.roots {
                            tracing::error!(id = %entry.header.id, "a finalized registry update's roots do not follow");
                            return Err(ServiceError::internal());
                        }
                        overlay.set_version(&entry.header.id.0);
                        Ok(overlay.into_writes())
                    })
                    .await?;
                let at = (stored_entry.height, stored_entry.index);
                self.store
                    .apply_registry(writes, at, entry.header.id)
                    .map_err(store_error)?;
                position = Some((at, entry.header.id));
            }
            if page.len() < PAGE {
                break;
            }
        }
        Ok(position.map(|(_, head)| head))
    }

    /// Waits until this gateway's node has finalized height `min` (if given) and the
    /// gateway's ledger indexes (loans by business id, repayments by period) have caught up
    /// with it, for at most `wait`; the node's height then (read-your-writes across banks:
    /// a client passes the `height` a write answered with).
    ///
    /// # Errors
    /// [`ServiceError::Behind`] if the node is still below `min` after `wait`, or at once if
    /// `min` is more than [`MAX_HEIGHT_AHEAD`] beyond it;
    /// [`ServiceError::Unavailable`] if the node does not answer.
    pub async fn await_height(
        &self,
        min: Option<u64>,
        wait: Duration,
    ) -> Result<Option<u64>, ServiceError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let height = self.node.status().await.map_err(link_problem)?.height;
            match min {
                None => return Ok(Some(height)),
                Some(min) if height >= min => {
                    // The indexes catch up with the node (within the same deadline).
                    while self.follow_once().await? > 0 {
                        if tokio::time::Instant::now() >= deadline {
                            return Err(ServiceError::Behind {
                                min_height: min,
                                height,
                            });
                        }
                    }
                    return Ok(Some(height));
                }
                // Far beyond this node: no recent write answered with it, do not wait.
                Some(min)
                    if tokio::time::Instant::now() >= deadline
                        || min - height > MAX_HEIGHT_AHEAD =>
                {
                    return Err(ServiceError::Behind {
                        min_height: min,
                        height,
                    });
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub(super) fn opener(&self) -> Opener<'_> {
        match &self.secrets {
            Secrets::Member(secrets) => Opener::Member(&secrets.encryption),
            Secrets::Regulator(keys) => Opener::Regulator(keys),
        }
    }

    pub(super) fn decode(&self, stored: &StoredEntry) -> Result<Entry, ServiceError> {
        Entry::decode(&stored.bytes).map_err(|_| {
            tracing::error!("the node served an entry that does not decode");
            ServiceError::internal()
        })
    }

    pub(super) async fn fetch(&self, id: &EntryId) -> Result<Option<Opened>, ServiceError> {
        let Some(stored) = self.node.entry(id).await.map_err(link_problem)? else {
            return Ok(None);
        };
        let entry = self.decode(&stored)?;
        Ok(Some(Opened::open(
            entry,
            stored.height,
            &self.genesis,
            &self.opener(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_fingerprint_is_the_requests_not_its_spelling() {
        let a =
            br#"{"type":"loan.repaid","fields":{"loan_id":"L-1","amount":5,"period":"2026-11"}}"#;
        let b = br#" { "fields" : { "period":"2026-11", "amount":5, "loan_id":"L\u002d1" },
                     "type":"loan.repaid" } "#;
        assert_eq!(body_hash(a), body_hash(b));
        let c =
            br#"{"type":"loan.repaid","fields":{"loan_id":"L-1","amount":6,"period":"2026-11"}}"#;
        assert_ne!(body_hash(a), body_hash(c));
        assert_eq!(body_hash(b"{"), None);
    }
}
