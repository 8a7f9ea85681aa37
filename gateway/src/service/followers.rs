//! The ledger followers: index loans by business id and repayments by period from the
//! finalized ledger, so every gateway (not only the writer's) knows them.

use std::sync::Arc;

use serde_json::Value;
use veil_policies::EntryType;

use super::error::ServiceError;
use super::*;

impl Gateway {
    /// Indexes, from the ledger, the loans this gateway can read by their business id and
    /// this member's repayments by period (what settlements total). The write path records
    /// both as soon as an entry is finalized; this catches up whatever a crash between
    /// finalization and that record left out.
    pub async fn follow_once(&self) -> Result<usize, ServiceError> {
        let _one_at_a_time = self.follow_lock.lock().await;
        Ok(self.follow_loans().await? + self.follow_repayments().await?)
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
    async fn follow_type(
        &self,
        kind: EntryType,
        index: impl Fn(&Self, &StoredEntry, Entry) -> Result<(), ServiceError>,
    ) -> Result<usize, ServiceError> {
        let kind = kind.name();
        let cursor = self.store.cursor(kind).map_err(store_error)?;
        let page = self
            .node
            .entries_by_type(kind, cursor, 200)
            .await
            .map_err(link_problem)?;
        for stored in &page {
            let entry = self.decode(stored)?;
            index(self, stored, entry)?;
            self.store
                .put_cursor(kind, (stored.height, stored.index))
                .map_err(store_error)?;
        }
        Ok(page.len())
    }

    /// Runs the follower until the task is dropped.
    pub async fn follow(self: Arc<Self>) {
        loop {
            match self.follow_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(problem) => tracing::debug!(?problem, "ledger follower will retry"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
