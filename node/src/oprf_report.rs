//! OPRF evaluation reports: `oprf.evaluations` entries.
//!
//! Borrower references are the members' threshold OPRF of the national id
//! (`docs/protocol/borrower-refs.md`): an originator's gateway asks other members' gateways to
//! evaluate a blinded element with their key shares, and each answers another member at most
//! the genesis' `oprf.daily_limit` times per UTC day. So that regulators and members see who
//! asked how often — an originator that evaluates far more ids than it originates is guessing —
//! each member's gateway reports on the ledger how many evaluations it answered each other
//! member that day: an `oprf.evaluations` entry, signed with the member's signing key,
//! cumulative for the day (a later report of a day supersedes an earlier one; a day's last
//! report is written once the day is over).
//!
//! Encoding of a report (format v1, in the entry's circuit-data slot,
//! `docs/protocol/ledger.md`):
//!
//! ```text
//! u8    version = 1
//! u32   day (UTC days since 1970-01-01)
//! u16   number of rows
//! rows: u16 member position (1-based, genesis order) ‖ u64 evaluations answered that member
//! ```
//!
//! Rows are in increasing position, each count is 1 to the daily limit (members not asked are
//! left out). Nodes check the shape ([`report_of`]): the consortium has an OPRF key, no row
//! names the reporter itself or a position outside the genesis, no count exceeds the daily
//! limit, and the day is the entry's own or the one before (by the entry's timestamp); a
//! report carries nothing else. Whether a member reports honestly is for its peers to judge: an
//! originator needs `t` answers, so the reports of the members that answered it show its
//! evaluations even if it, or a minority of them, report nothing.

use veil_crypto::EncodingError;
use veil_crypto::encoding::Reader;

use crate::ledger::{Entry, UnsignedEntry};

/// Encoding version of a report.
pub const REPORT_VERSION: u8 = 1;
/// Milliseconds in a (UTC) day.
pub const DAY_MS: u64 = 86_400_000;

/// Why a report is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The bytes do not decode.
    #[error("malformed OPRF evaluation report: {0}")]
    Malformed(#[from] EncodingError),
    /// An unknown encoding version.
    #[error("unknown OPRF evaluation report version {0}")]
    Version(u8),
    /// The consortium has no OPRF key, so there is nothing to report.
    #[error("this consortium has no OPRF key: there are no evaluations to report")]
    NoOprf,
    /// Rows out of order, repeated, naming the reporter or no member, or a zero count.
    #[error(
        "report rows must name other members once each, in genesis order, with counts of at least 1"
    )]
    Rows,
    /// A count above the genesis' daily limit, which no honest member answers.
    #[error("a count exceeds the daily limit of {limit}")]
    OverLimit {
        /// The genesis' `oprf.daily_limit`.
        limit: u64,
    },
    /// The day is neither the entry's (by its timestamp) nor the one before.
    #[error("a report is for the day of its timestamp or the day before")]
    Day,
    /// The entry carries something besides its report.
    #[error("an OPRF evaluation report carries no fields, commitments, proofs or references")]
    Unexpected,
}

/// How many evaluations one member answered each other member on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EvaluationReport {
    /// UTC days since 1970-01-01.
    pub day: u32,
    /// `(position, evaluations)`: each other member asked (1-based genesis position), in
    /// increasing position, with how many evaluations it was answered.
    pub rows: Vec<(u16, u64)>,
}

impl EvaluationReport {
    /// The canonical encoding (see the module documentation); of a report with more than
    /// 65,535 rows (a genesis has far fewer members), the first 65,535.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(7 + 10 * self.rows.len());
        out.push(REPORT_VERSION);
        out.extend_from_slice(&self.day.to_be_bytes());
        let rows = u16::try_from(self.rows.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&rows.to_be_bytes());
        for (position, count) in self.rows.iter().take(usize::from(rows)) {
            out.extend_from_slice(&position.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        out
    }

    /// Decodes a report, refusing anything the encoder would not write or that a genesis of
    /// `members` members and daily limit `limit` rules out for the member at 1-based position
    /// `reporter`.
    ///
    /// # Errors
    /// [`ReportError::Malformed`], [`ReportError::Version`], [`ReportError::Rows`],
    /// [`ReportError::OverLimit`].
    pub fn from_bytes(
        bytes: &[u8],
        reporter: u16,
        members: u16,
        limit: u64,
    ) -> Result<Self, ReportError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != REPORT_VERSION {
            return Err(ReportError::Version(version));
        }
        let day = reader.u32()?;
        let count = reader.u16()?;
        let mut rows = Vec::with_capacity(usize::from(count.min(members)));
        let mut previous = 0;
        for _ in 0..count {
            let position = reader.u16()?;
            let evaluations = reader.u64()?;
            if position <= previous || position > members || position == reporter {
                return Err(ReportError::Rows);
            }
            if evaluations == 0 {
                return Err(ReportError::Rows);
            }
            if evaluations > limit {
                return Err(ReportError::OverLimit { limit });
            }
            previous = position;
            rows.push((position, evaluations));
        }
        reader.finish()?;
        Ok(Self { day, rows })
    }

    /// The `oprf.evaluations` entry carrying this report, by `member` (its id derived from
    /// `nonce`), in clearing period `period` (`YYYY-MM`), under the genesis policy hash
    /// `policy_hash` of the consortium of genesis hash `genesis`; to be signed with the
    /// member's signing key.
    pub fn entry(
        &self,
        nonce: [u8; 16],
        genesis: &[u8; 32],
        member: &str,
        policy_hash: [u8; 32],
        period: &str,
        timestamp_ms: u64,
    ) -> UnsignedEntry {
        UnsignedEntry::bookkeeping(
            veil_policies::EntryType::OprfEvaluations,
            self.to_bytes(),
            nonce,
            genesis,
            member,
            policy_hash,
            period,
            timestamp_ms,
        )
    }
}

/// The report an `oprf.evaluations` entry of the consortium `genesis` carries, checked to
/// carry nothing else (see the module documentation).
///
/// # Errors
/// [`ReportError`]: no OPRF key in the genesis, a submitter that is no member, malformed or
/// impossible rows, a day other than the timestamp's or the one before, or fields,
/// commitments, proofs or references.
pub fn report_of(
    entry: &Entry,
    genesis: &crate::genesis::Genesis,
) -> Result<EvaluationReport, ReportError> {
    let Some(oprf) = &genesis.file.oprf else {
        return Err(ReportError::NoOprf);
    };
    let limit = oprf
        .daily_limit
        .unwrap_or(crate::genesis::DEFAULT_OPRF_DAILY_LIMIT);
    let members = u16::try_from(genesis.members.len()).map_err(|_| ReportError::Rows)?;
    let reporter = genesis
        .members
        .iter()
        .position(|m| m.id == entry.header.submitter)
        .and_then(|p| u16::try_from(p + 1).ok())
        .ok_or(ReportError::Rows)?;
    let report = EvaluationReport::from_bytes(&entry.proofs.circuit, reporter, members, limit)?;
    let today = entry.header.timestamp_ms / DAY_MS;
    let day = u64::from(report.day);
    if day > today || day + 1 < today {
        return Err(ReportError::Day);
    }
    if !entry.carries_only_circuit_data() {
        return Err(ReportError::Unexpected);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip_and_nothing_impossible_decodes() {
        let report = EvaluationReport {
            day: 20_000,
            rows: vec![(1, 5), (3, 20)],
        };
        let bytes = report.to_bytes();
        assert_eq!(bytes.len(), 7 + 2 * 10);
        assert_eq!(EvaluationReport::from_bytes(&bytes, 2, 4, 20), Ok(report));
        let empty = EvaluationReport {
            day: 1,
            rows: Vec::new(),
        };
        assert_eq!(
            EvaluationReport::from_bytes(&empty.to_bytes(), 2, 4, 20),
            Ok(empty)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            EvaluationReport::from_bytes(&longer, 2, 4, 20),
            Err(ReportError::Malformed(_))
        ));
        assert!(matches!(
            EvaluationReport::from_bytes(&bytes[..bytes.len() - 1], 2, 4, 20),
            Err(ReportError::Malformed(_))
        ));
        let mut version = bytes.clone();
        version[0] = 2;
        assert_eq!(
            EvaluationReport::from_bytes(&version, 2, 4, 20),
            Err(ReportError::Version(2))
        );
        let refused = |rows: Vec<(u16, u64)>| {
            EvaluationReport::from_bytes(&EvaluationReport { day: 1, rows }.to_bytes(), 2, 4, 20)
        };
        // The reporter itself, position 0, past the last member, out of order, repeated, zero.
        for rows in [
            vec![(2, 1)],
            vec![(0, 1)],
            vec![(5, 1)],
            vec![(3, 1), (1, 1)],
            vec![(1, 1), (1, 1)],
            vec![(1, 0)],
        ] {
            assert_eq!(refused(rows.clone()), Err(ReportError::Rows), "{rows:?}");
        }
        assert_eq!(
            refused(vec![(1, 21)]),
            Err(ReportError::OverLimit { limit: 20 })
        );
    }
}
