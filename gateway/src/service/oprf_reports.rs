//! The borrower-reference OPRF evaluations on the ledger (`veil_node::oprf_report`, entry type
//! `oprf.evaluations`):
//!
//! - a member gateway reports how many evaluations it answered each other member today (UTC),
//!   signed with the member's signing key, whenever the counts moved since its last report and
//!   [`Gateway::oprf_report`] has passed since it tried last (ten minutes by default), and the
//!   previous day's final counts once that day is over;
//! - every gateway indexes every member's reports from the ledger, so regulators and members
//!   read who asked how often through their own gateway (`GET /v1/oprf/evaluations`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use veil_node::ledger::EntryId;
use veil_node::oprf_report::{DAY_MS, EvaluationReport, report_of};
use veil_policies::EntryType;

use super::error::ServiceError;
use super::store::ReportRecord;
use super::{Gateway, Secrets, current_month, link_problem, lock, now_ms, store_error};
use crate::entry::keys::MemberSecrets;

/// The least time between two tries to report a day that is over (a refused or unfinalized
/// report is tried again after it).
const RETRY: Duration = Duration::from_secs(5);

impl Gateway {
    /// Reports this member's OPRF evaluations on the ledger when due: the previous day's counts
    /// if they differ from its last report of that day, else today's if they differ from its
    /// last report of today and [`Gateway::oprf_report`] has passed since the last try. Waits
    /// for finality. Returns the report written, if any. Gateways without an OPRF key share
    /// (regulators', a consortium without the OPRF) report nothing.
    ///
    /// # Errors
    /// The node refused the report or did not finalize it in time, or the store failed.
    pub async fn report_oprf_evaluations(&self) -> Result<Option<ReportRecord>, ServiceError> {
        let Secrets::Member(secrets) = &self.secrets else {
            return Ok(None);
        };
        if secrets.oprf.is_none() || self.oprf_key.is_none() {
            return Ok(None);
        }
        let today = now_ms() / DAY_MS;
        for day in [today.saturating_sub(1), today] {
            let counts: BTreeMap<String, u64> = self
                .oprf_counts(day)?
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect();
            let reported = self
                .store
                .oprf_report(&self.id, day)
                .map_err(store_error)?
                .map(|r| r.evaluations)
                .unwrap_or_default();
            if counts == reported {
                continue;
            }
            {
                let wait = if day == today {
                    self.oprf_report
                } else {
                    RETRY
                };
                let mut attempt = lock(&self.report_attempt);
                if attempt.is_some_and(|at| at.elapsed() < wait) {
                    return Ok(None);
                }
                *attempt = Some(Instant::now());
            }
            return self.write_report(secrets, day, counts).await.map(Some);
        }
        Ok(None)
    }

    /// Writes and records the report of `counts` (by member id) on UTC day `day`.
    async fn write_report(
        &self,
        secrets: &MemberSecrets,
        day: u64,
        counts: BTreeMap<String, u64>,
    ) -> Result<ReportRecord, ServiceError> {
        let rows = self
            .genesis
            .members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((u16::try_from(i + 1).ok()?, *counts.get(&m.id)?)))
            .collect();
        let report = EvaluationReport {
            day: u32::try_from(day)
                .map_err(|_| store_error("the day is past the year 11 million"))?,
            rows,
        };
        let timestamp_ms = now_ms();
        let unsigned = report.entry(
            EntryId::random_nonce(),
            &self.genesis.hash,
            &self.id,
            self.genesis.policy_hash,
            &current_month(),
            timestamp_ms,
        );
        let (id, height) = self.submit_bookkeeping(secrets, unsigned).await?;
        let record = ReportRecord {
            member: self.id.clone(),
            day,
            evaluations: counts,
            entry: id.to_hex(),
            height,
            timestamp_ms,
        };
        self.store.put_oprf_report(&record).map_err(store_error)?;
        tracing::info!(
            day,
            members = record.evaluations.len(),
            height,
            "OPRF evaluations reported on the ledger"
        );
        Ok(record)
    }

    /// Every member's latest report of UTC day `day` on the ledger, in genesis order (members
    /// that reported nothing that day left out).
    pub fn oprf_reports(&self, day: u64) -> Result<Vec<ReportRecord>, ServiceError> {
        let mut reports = Vec::new();
        for member in &self.genesis.members {
            if let Some(report) = self
                .store
                .oprf_report(&member.id, day)
                .map_err(store_error)?
            {
                reports.push(report);
            }
        }
        Ok(reports)
    }

    /// Indexes the next page of `oprf.evaluations` entries, every member's. A report is taken
    /// for the day of its block (by the block's timestamp, not the reporter's) or the day
    /// before, and a day's counts only grow ([`super::store::GatewayStore::put_oprf_report`]): a
    /// member cannot later post a backdated report that lowers what it reported.
    pub(super) async fn follow_oprf_reports(&self) -> Result<usize, ServiceError> {
        let kind = EntryType::OprfEvaluations;
        let page = self.next_page(kind, kind.name()).await?;
        for stored in &page {
            let entry = self.decode(stored)?;
            if let Some(record) = self.report_record(stored, &entry).await? {
                self.store.put_oprf_report(&record).map_err(store_error)?;
            }
            self.store
                .put_cursor(kind.name(), (stored.height, stored.index))
                .map_err(store_error)?;
        }
        Ok(page.len())
    }

    /// The record of the report `entry` (stored as `stored`), or `None` (logged) for one this
    /// gateway does not take: it does not decode (nodes refuse those; a node that served one
    /// must not stall the follower), or its day is neither its block's nor the one before.
    async fn report_record(
        &self,
        stored: &veil_node::store::StoredEntry,
        entry: &veil_node::ledger::Entry,
    ) -> Result<Option<ReportRecord>, ServiceError> {
        let Ok(report) = report_of(entry, &self.genesis) else {
            tracing::error!(
                entry = %entry.header.id,
                "the node served an OPRF evaluation report that does not decode: skipped"
            );
            return Ok(None);
        };
        let block = self
            .node
            .block(stored.height)
            .await
            .map_err(link_problem)?
            .and_then(|b| veil_node::ledger::Block::timestamp_of(&b.block))
            .ok_or_else(|| store_error("the block of a finalized report is missing"))?;
        let block_day = block / DAY_MS;
        let day = u64::from(report.day);
        if day != block_day && day + 1 != block_day {
            tracing::warn!(
                entry = %entry.header.id,
                member = %entry.header.submitter,
                day,
                block_day,
                "an OPRF evaluation report dated other than its block's day or the day before: \
                 not taken"
            );
            return Ok(None);
        }
        let members = &self.genesis.members;
        let evaluations = report
            .rows
            .iter()
            .filter_map(|(position, count)| {
                let member = members.get(usize::from(*position).checked_sub(1)?)?;
                Some((member.id.clone(), *count))
            })
            .collect();
        Ok(Some(ReportRecord {
            member: entry.header.submitter.clone(),
            day,
            evaluations,
            entry: entry.header.id.to_hex(),
            height: stored.height,
            timestamp_ms: entry.header.timestamp_ms,
        }))
    }
}
