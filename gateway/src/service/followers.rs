//! The ledger followers: index loans by business id and repayments by period from the
//! finalized ledger, so every gateway (not only the writer's) knows them; and open every
//! entry this gateway is a recipient of, recording as alerts what its writer got wrong (a group
//! that does not open, a key commitment that does not match, an opening that disagrees with
//! its commitment, a repayment's split proof that fails).

use std::sync::Arc;

use serde_json::Value;
use veil_policies::EntryType;

use super::error::ServiceError;
use super::store::Alert;
use super::*;
use crate::entry::reader;

impl Gateway {
    /// Indexes, from the ledger, the loans this gateway can read by their business id and
    /// this member's repayments by period (what settlements total). The write path records
    /// both as soon as an entry is finalized; this catches up whatever a crash between
    /// finalization and that record left out.
    pub async fn follow_once(&self) -> Result<usize, ServiceError> {
        let _one_at_a_time = self.follow_lock.lock().await;
        let mut read = self.follow_loans().await?
            + self.follow_repayments().await?
            + self.follow_anchors().await?
            + self.follow_oprf_reports().await?;
        for kind in [
            EntryType::LoanOriginated,
            EntryType::LoanRepaid,
            EntryType::SettlementClosed,
            EntryType::RegistryUpdated,
        ] {
            read += self.follow_alerts(kind).await?;
        }
        Ok(read)
    }

    /// Opens the next page of finalized entries of `kind` this gateway is a recipient of and
    /// records what it finds wrong in them ([`crate::entry::reader::Finding`]) as alerts, with
    /// the signed entry as evidence; counts them in the log at WARN (ids only).
    async fn follow_alerts(&self, kind: EntryType) -> Result<usize, ServiceError> {
        let cursor = format!("alerts/{}", kind.name());
        let page = self.next_page(kind, &cursor).await?;
        for stored in &page {
            let entry = self.decode(stored)?;
            let opened = Opened::open(entry, stored.height, &self.genesis, &self.opener());
            let mut findings = opened.findings.clone();
            if kind == EntryType::LoanRepaid
                && opened.entry.header.submitter != self.id
                && !opened.plaintexts.is_empty()
                && let Some(loan_id) = opened.entry.header.references.first()
                && let Some(loan) = self.fetch(loan_id).await?
                && let Some(shares) = reader::shares(&loan)
            {
                let entry = &opened.entry;
                if !self.cpu(|| reader::verify_splits(entry, &shares)).await {
                    findings.push(reader::Finding {
                        kind: reader::FindingKind::ParticipantCheck,
                        detail: "allocations".into(),
                    });
                }
                // The repayment's settlement proof must be over the amount, the loan's shares
                // and the allocations this member opens: nodes verify the proof, only a
                // participant can check it is about this repayment's numbers.
                if reader::repayment_link(&opened, &shares) == Some(false) {
                    findings.push(reader::Finding {
                        kind: reader::FindingKind::ParticipantCheck,
                        detail: "settlement proof".into(),
                    });
                }
            }
            for finding in findings {
                let alert = Alert {
                    entry: opened.entry.header.id.to_hex(),
                    kind: kind.name().to_owned(),
                    signer: opened.entry.header.submitter.clone(),
                    height: stored.height,
                    finding: finding.kind.as_str().to_owned(),
                    detail: finding.detail,
                    detected_ms: now_ms(),
                    evidence: encoding::to_hex(&stored.bytes),
                };
                if self.store.put_alert(&alert).map_err(store_error)? {
                    tracing::warn!(
                        entry = %alert.entry,
                        signer = %alert.signer,
                        finding = %alert.finding,
                        "an entry this gateway should read is wrong: alert recorded"
                    );
                }
            }
            self.store
                .put_cursor(&cursor, (stored.height, stored.index))
                .map_err(store_error)?;
        }
        Ok(page.len())
    }

    /// The next page (up to 200) of finalized entries of `kind` after the follower cursor
    /// named `cursor`.
    pub(super) async fn next_page(
        &self,
        kind: EntryType,
        cursor: &str,
    ) -> Result<Vec<StoredEntry>, ServiceError> {
        let after = self.store.cursor(cursor).map_err(store_error)?;
        self.node
            .entries_by_type(kind.name(), after, 200)
            .await
            .map_err(link_problem)
    }

    pub(super) async fn follow_repayments(&self) -> Result<usize, ServiceError> {
        self.follow_type(EntryType::LoanRepaid, |gateway, _, entry| {
            if entry.header.submitter == gateway.id {
                gateway
                    .store
                    .put_repayment(&entry.header.period, &entry.header.id)
                    .map_err(store_error)?;
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn follow_loans(&self) -> Result<usize, ServiceError> {
        self.follow_type(EntryType::LoanOriginated, |gateway, stored, entry| {
            let id = entry.header.id;
            let originator = entry.header.submitter.clone();
            let opened = Opened::open(entry, stored.height, &gateway.genesis, &gateway.opener());
            // Indexed by (business id, originator): another member's loans never shadow this
            // member's (a member cannot squat on another's predictable ids). One originator has
            // one loan per business id (its entry id is a keyed hash of it).
            if let Some(Value::String(loan_id)) = opened.value("loan_id")
                && gateway
                    .store
                    .loan(&originator, &loan_id)
                    .map_err(store_error)?
                    .is_none()
            {
                gateway
                    .store
                    .put_loan(&originator, &loan_id, &id)
                    .map_err(store_error)?;
            }
            Ok(())
        })
        .await
    }

    /// Indexes the next page (up to 200) of finalized entries of `kind` after this gateway's
    /// cursor with `index`, moving the cursor past each; returns how many it read.
    pub(super) async fn follow_type(
        &self,
        kind: EntryType,
        index: impl Fn(&Self, &StoredEntry, Entry) -> Result<(), ServiceError>,
    ) -> Result<usize, ServiceError> {
        let page = self.next_page(kind, kind.name()).await?;
        let kind = kind.name();
        for stored in &page {
            let entry = self.decode(stored)?;
            index(self, stored, entry)?;
            self.store
                .put_cursor(kind, (stored.height, stored.index))
                .map_err(store_error)?;
        }
        Ok(page.len())
    }

    /// Runs the follower, and a member gateway's anchoring of its disclosure log
    /// ([`Gateway::anchor_disclosures`]) and reporting of its OPRF evaluations
    /// ([`Gateway::report_oprf_evaluations`]), until the task is dropped.
    pub async fn follow(self: Arc<Self>) {
        let follower = async {
            loop {
                match self.follow_once().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(problem) => tracing::debug!(?problem, "ledger follower will retry"),
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        let anchoring = async {
            loop {
                if let Err(problem) = self.anchor_disclosures().await {
                    tracing::warn!(?problem, "disclosure log not anchored: will retry");
                }
                if let Err(problem) = self.report_oprf_evaluations().await {
                    tracing::warn!(?problem, "OPRF evaluations not reported: will retry");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        tokio::join!(follower, anchoring);
    }
}
