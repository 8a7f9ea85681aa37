//! The disclosure log's anchors on the ledger (`veil_node::anchor`, entry type
//! `disclosures.anchored`):
//!
//! - a member gateway anchors its log's head — the last record's sequence number and hash,
//!   signed with the member's signing key — whenever the log grew since its last anchor and
//!   [`Gateway::disclosure_anchor`] has passed since it (ten minutes by default), and at least
//!   every [`ANCHOR_HEARTBEAT_MS`] whatever the log did, so a regulator tells a member that
//!   stopped anchoring from one whose log did not move;
//! - every gateway indexes every member's anchors from the ledger, so a regulator reads them
//!   through its own gateway (`GET /v1/disclosures/anchors`) and checks a member's log against
//!   them (`veil audit disclosures`), and a gateway checks its own log (`GET /v1/disclosures`).

use std::time::Instant;

use veil_crypto::encoding;
use veil_node::anchor::{DisclosureAnchor, anchor_of};
use veil_node::ledger::EntryId;
use veil_policies::EntryType;

use super::error::ServiceError;
use super::store::AnchorRecord;
use super::{Gateway, Secrets, current_month, lock, now_ms, store_error};

/// The longest a member gateway goes without anchoring, even if its log did not move (ms:
/// 23 hours, so that a day never passes without an anchor).
pub(super) const ANCHOR_HEARTBEAT_MS: u64 = 23 * 3_600_000;

/// When this gateway started, last tried to anchor, and last anchored (this process's clock).
#[derive(Debug)]
pub(super) struct AnchorTimes {
    started: Instant,
    attempt: Option<Instant>,
    anchored: Option<Instant>,
}

impl Default for AnchorTimes {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            attempt: None,
            anchored: None,
        }
    }
}

impl Gateway {
    /// Anchors the disclosure log's head on the ledger when it is due: the log moved since this
    /// member's last anchor and [`Gateway::disclosure_anchor`] has passed since that anchor, or
    /// [`ANCHOR_HEARTBEAT_MS`] has passed whatever the log did (an empty log is anchored as
    /// sequence 0). Waits for finality; tries again at most once per interval. Returns the
    /// anchor written, if any. Regulator gateways anchor nothing.
    ///
    /// # Errors
    /// The node refused the anchor or did not finalize it in time, or the store failed.
    pub async fn anchor_disclosures(&self) -> Result<Option<AnchorRecord>, ServiceError> {
        let Secrets::Member(secrets) = &self.secrets else {
            return Ok(None);
        };
        let (sequence, head) = self.store.disclosure_head();
        let last = self.store.last_anchor(&self.id).map_err(store_error)?;
        let moved = match &last {
            Some(l) => l.sequence != sequence || l.head != head,
            None => sequence > 0,
        };
        let interval_ms = self.disclosure_anchor.as_millis() as u64;
        {
            let mut times = lock(&self.anchor_times);
            let now = Instant::now();
            if times
                .attempt
                .is_some_and(|at| now.duration_since(at) < self.disclosure_anchor)
            {
                return Ok(None);
            }
            // Since the last anchor: by this process's clock if it anchored, else by the
            // anchor's own timestamp (one dated ahead of this clock counts as long ago); a
            // member that never anchored anchors its first record at once, and an empty log
            // a heartbeat after this gateway started.
            let since_ms = match (times.anchored, &last) {
                (Some(at), _) => now.duration_since(at).as_millis() as u64,
                (None, Some(l)) if l.timestamp_ms <= now_ms() => now_ms() - l.timestamp_ms,
                (None, Some(_)) => u64::MAX,
                (None, None) if moved => u64::MAX,
                (None, None) => now.duration_since(times.started).as_millis() as u64,
            };
            let due = (moved && since_ms >= interval_ms) || since_ms >= ANCHOR_HEARTBEAT_MS;
            if !due {
                return Ok(None);
            }
            times.attempt = Some(now);
        }
        let head_bytes: [u8; 32] = encoding::from_hex(&head, 32)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| store_error("the disclosure log's head is not a 32-byte hash"))?;
        let anchor = DisclosureAnchor {
            sequence,
            head: head_bytes,
        };
        let timestamp_ms = now_ms();
        let unsigned = anchor.entry(
            EntryId::random_nonce(),
            &self.genesis.hash,
            &self.id,
            self.genesis.policy_hash,
            &current_month(),
            timestamp_ms,
        );
        let (id, height) = self.submit_bookkeeping(secrets, unsigned).await?;
        lock(&self.anchor_times).anchored = Some(Instant::now());
        let record = AnchorRecord {
            member: self.id.clone(),
            sequence,
            head,
            entry: id.to_hex(),
            height,
            timestamp_ms,
        };
        self.store.put_anchor(&record).map_err(store_error)?;
        tracing::info!(sequence, height, "disclosure log anchored on the ledger");
        Ok(Some(record))
    }

    /// Indexes the next page of `disclosures.anchored` entries, every member's.
    pub(super) async fn follow_anchors(&self) -> Result<usize, ServiceError> {
        self.follow_type(EntryType::DisclosuresAnchored, |gateway, stored, entry| {
            // Nodes refuse one that does not decode; a node that served one anyway must not
            // stall this follower (nor the others after it): skip it, loudly.
            let Ok(anchor) = anchor_of(&entry) else {
                tracing::error!(
                    entry = %entry.header.id,
                    "the node served a disclosure anchor that does not decode: skipped"
                );
                return Ok(());
            };
            gateway
                .store
                .put_anchor(&AnchorRecord {
                    member: entry.header.submitter.clone(),
                    sequence: anchor.sequence,
                    head: encoding::to_hex(&anchor.head),
                    entry: entry.header.id.to_hex(),
                    height: stored.height,
                    timestamp_ms: entry.header.timestamp_ms,
                })
                .map_err(store_error)
        })
        .await
    }
}
