//! The disclosure log's anchors on the ledger (`veil_node::anchor`, entry type
//! `disclosures.anchored`):
//!
//! - a member gateway anchors its log's head — the last record's sequence number and hash,
//!   signed with the member's signing key — whenever the log grew since its last anchor and
//!   [`Gateway::disclosure_anchor`] has passed since it (ten minutes by default, a day at most:
//!   every clearing period is anchored);
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
use super::{
    FINALIZATION_WAIT, Gateway, Secrets, current_month, link_problem, lock, now_ms, store_error,
};

impl Gateway {
    /// Anchors the disclosure log's head on the ledger if it moved since this member's last
    /// anchor and [`Gateway::disclosure_anchor`] has passed since that anchor (and since the
    /// last attempt); waits for finality. Returns the anchor written, if any. Regulator
    /// gateways anchor nothing.
    ///
    /// # Errors
    /// The node refused the anchor or did not finalize it in time (tried again after the
    /// interval), or the store failed.
    pub async fn anchor_disclosures(&self) -> Result<Option<AnchorRecord>, ServiceError> {
        let Secrets::Member(secrets) = &self.secrets else {
            return Ok(None);
        };
        let (sequence, head) = self.store.disclosure_head();
        if sequence == 0 {
            return Ok(None);
        }
        let last = self.store.last_anchor(&self.id).map_err(store_error)?;
        if last
            .as_ref()
            .is_some_and(|l| l.sequence == sequence && l.head == head)
        {
            return Ok(None);
        }
        let interval_ms = self.disclosure_anchor.as_millis() as u64;
        {
            let mut attempt = lock(&self.anchor_attempt);
            let now = Instant::now();
            if attempt.is_some_and(|at| now.duration_since(at) < self.disclosure_anchor)
                || last
                    .as_ref()
                    .is_some_and(|l| now_ms().saturating_sub(l.timestamp_ms) < interval_ms)
            {
                return Ok(None);
            }
            *attempt = Some(now);
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
        let entry = anchor
            .entry(
                EntryId::random_nonce(),
                &self.genesis.hash,
                &self.id,
                self.genesis.policy_hash,
                &current_month(),
                timestamp_ms,
            )
            .sign(&secrets.signing);
        let id = entry.header.id;
        let receipt = self
            .node
            .submit(entry.encode(), FINALIZATION_WAIT)
            .await
            .map_err(link_problem)?;
        let record = AnchorRecord {
            member: self.id.clone(),
            sequence,
            head,
            entry: id.to_hex(),
            height: receipt.height,
            timestamp_ms,
        };
        self.store.put_anchor(&record).map_err(store_error)?;
        tracing::info!(
            sequence,
            height = receipt.height,
            "disclosure log anchored on the ledger"
        );
        Ok(Some(record))
    }

    /// Indexes the next page of `disclosures.anchored` entries, every member's.
    pub(super) async fn follow_anchors(&self) -> Result<usize, ServiceError> {
        self.follow_type(EntryType::DisclosuresAnchored, |gateway, stored, entry| {
            // Nodes finalized it: it decodes.
            let anchor = anchor_of(&entry).map_err(store_error)?;
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
