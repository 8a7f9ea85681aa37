//! The gateway's own durable state, in RocksDB with synced writes:
//!
//! | column family  | key                          | value                                        |
//! |----------------|------------------------------|----------------------------------------------|
//! | `idempotency`  | caller member, 0, key        | [`IdempotencyRecord`] (JSON)                 |
//! | `disclosures`  | `u64_be(sequence)`           | [`Disclosure`] (JSON), hash-chained          |
//! | `loans`        | loan id, 0, originator       | entry id of the `loan.originated` (16 bytes) |
//! | `alerts`       | entry id, finding kind, 0, detail | [`Alert`] (JSON): what this gateway found wrong |
//! | `repayments`   | period, 0, entry id          | empty — this member's repayments by period, until found settled |
//! | `anchors`      | member, 0, `u64_be(sequence)`, entry id | [`AnchorRecord`] (JSON): disclosure-log heads on the ledger |
//! | `borrower_refs` | keyed hash of a national id | its borrower reference (32 bytes): this member's customers |
//! | `meta`         | `b"follow/<type>"`           | follower cursor `u64_be(height) u32_be(index)` |
//! | `meta`         | `b"oprf/<member>/<day>"`     | `u64_be`: OPRF evaluations served to that member that UTC day |
//! | `meta`         | `b"oprf-report/<member>/<day>"` | [`ReportRecord`] (JSON): that member's latest report of that day on the ledger |

use std::path::Path;
use std::sync::Mutex;

use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use veil_crypto::encoding;
use veil_node::ledger::EntryId;

const CF_IDEMPOTENCY: &str = "idempotency";
const CF_DISCLOSURES: &str = "disclosures";
const CF_LOANS: &str = "loans";
const CF_REPAYMENTS: &str = "repayments";
const CF_META: &str = "meta";
/// The registry as this gateway has followed it (`veil_circuits::screening::stored` keys).
const CF_REGISTRY: &str = "registry";
/// Meta key of the registry follower's position: `u64 height ‖ u32 index ‖ [16] head id`.
const REGISTRY_HEAD: &str = "registry/head";

/// Where a gateway's registry follower is: the ledger position (height, index in block) of the
/// last `registry.updated` entry it applied, and that entry's id.
pub type RegistryHead = ((u64, u32), EntryId);
const CF_ALERTS: &str = "alerts";
const CF_ANCHORS: &str = "anchors";
const CF_BORROWER_REFS: &str = "borrower_refs";
/// Most anchor mismatches an [`AnchorCheck`] lists.
const MAX_MISMATCHES: usize = 16;

/// A member's disclosure-log head as anchored on the ledger (a `disclosures.anchored` entry,
/// `veil_node::anchor`), as this gateway's follower indexed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorRecord {
    /// The member that signed the anchor (whose gateway's log it is).
    pub member: String,
    /// Sequence number of the anchored record.
    pub sequence: u64,
    /// Its chain hash (hex).
    pub head: String,
    /// The `disclosures.anchored` entry (hex id).
    pub entry: String,
    /// Height of its block.
    pub height: u64,
    /// The entry's timestamp, ms since the Unix epoch (the member's clock).
    pub timestamp_ms: u64,
}

/// A member's report of the OPRF evaluations it answered on one UTC day (an
/// `oprf.evaluations` entry, `veil_node::oprf_report`), as this gateway's follower indexed it:
/// the latest of that member and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The member that answered the evaluations and signed the report.
    pub member: String,
    /// UTC days since 1970-01-01.
    pub day: u64,
    /// How many evaluations it answered each other member it reports (by member id).
    pub evaluations: std::collections::BTreeMap<String, u64>,
    /// The `oprf.evaluations` entry (hex id).
    pub entry: String,
    /// Its height on the ledger.
    pub height: u64,
    /// Its timestamp (ms since the Unix epoch, the member's clock).
    pub timestamp_ms: u64,
}

/// A log checked against its member's anchors ([`GatewayStore::check_anchors`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorCheck {
    /// How many anchors were checked.
    pub anchors: u64,
    /// Whether every one names a record of the log with exactly its hash.
    pub verified: bool,
    /// The latest anchor (highest sequence), if any.
    pub latest: Option<AnchorRecord>,
    /// The first anchors the log disagrees with (at most 16).
    pub mismatches: Vec<AnchorMismatch>,
}

/// An anchor the log disagrees with: its record is missing (dropped) or hashes differently
/// (rewritten).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorMismatch {
    /// The anchored sequence number.
    pub sequence: u64,
    /// The hash anchored on the ledger (hex).
    pub anchored: String,
    /// The hash of the log's record at that sequence (hex), `None` if the log has none.
    pub found: Option<String>,
    /// The `disclosures.anchored` entry (hex id): the member's signed statement.
    pub entry: String,
}

/// Checks consecutive `records` against one member's `anchors` (sorted by sequence): each
/// anchor within the records' range must name a record with its hash. Returns the mismatches
/// among them (anchors outside the range are not checked).
pub fn anchor_mismatches(records: &[Disclosure], anchors: &[AnchorRecord]) -> Vec<AnchorMismatch> {
    let Some(first) = records.first().map(|r| r.sequence) else {
        return Vec::new();
    };
    let last = first.saturating_add(records.len() as u64 - 1);
    let start = anchors.partition_point(|a| a.sequence < first);
    let end = anchors.partition_point(|a| a.sequence <= last);
    anchors[start..end.max(start)]
        .iter()
        .filter_map(|anchor| {
            let record = records.get(usize::try_from(anchor.sequence - first).ok()?)?;
            (record.sequence != anchor.sequence || record.hash != anchor.head).then(|| {
                AnchorMismatch {
                    sequence: anchor.sequence,
                    anchored: anchor.head.clone(),
                    found: Some(record.hash.clone()),
                    entry: anchor.entry.clone(),
                }
            })
        })
        .collect()
}

/// What this gateway, a named recipient of an entry, found wrong in it: the signed entry is
/// the evidence against its signer (`GET /v1/alerts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// The entry id (hex).
    pub entry: String,
    /// The entry type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The member (or regulator) that signed the entry.
    pub signer: String,
    /// Height of its block.
    pub height: u64,
    /// What is wrong: `unopenable-group`, `key-commitment`, `opening-mismatch`,
    /// `participant-check`.
    pub finding: String,
    /// Where: a field path or commitment label.
    pub detail: String,
    /// When this gateway found it, ms since the Unix epoch.
    pub detected_ms: u64,
    /// The signed entry's canonical encoding (hex): anyone can check the signer's signature
    /// over what the finding is about.
    pub evidence: String,
}

/// Why the gateway store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed (I/O, a missing column family).
    #[error("gateway store: {0}")]
    Engine(#[from] rocksdb::Error),
    /// A JSON record could not be encoded or decoded.
    #[error("gateway store: record: {0}")]
    Record(#[from] serde_json::Error),
    /// What is stored is not what this version writes: which part.
    #[error("gateway store: corrupt {0}")]
    Corrupt(&'static str),
}

fn engine(e: impl Into<StoreError>) -> StoreError {
    e.into()
}

/// What an idempotency key remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// SHA-256 of the canonical request body (hex).
    pub body_hash: String,
    /// The entry built for it (hex id).
    pub entry_id: String,
    /// The entry bytes (hex), resubmitted if the first answer was lost.
    pub entry: String,
    /// Height, once finalized.
    pub height: Option<u64>,
}

/// One decrypting read, chained to the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Position in the log, from 1.
    pub sequence: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who read (`member:role`).
    pub who: String,
    /// The entry read.
    pub entry: String,
    /// The fields whose plaintext was disclosed.
    pub fields: Vec<String>,
    /// Hash of the previous record (hex; zeros for the first).
    pub previous: String,
    /// `SHA-256(previous || sequence || time || who || entry || fields)` (hex).
    pub hash: String,
}

impl Disclosure {
    /// The hash this record must carry.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut put = |bytes: &[u8]| {
            hasher.update((bytes.len() as u32).to_be_bytes());
            hasher.update(bytes);
        };
        put(veil_crypto::labels::DISCLOSURE_LOG);
        put(self.previous.as_bytes());
        put(&self.sequence.to_be_bytes());
        put(&self.time_ms.to_be_bytes());
        put(self.who.as_bytes());
        put(self.entry.as_bytes());
        for field in &self.fields {
            put(field.as_bytes());
        }
        encoding::to_hex(&hasher.finalize())
    }
}

/// Checks a chain of disclosures: consecutive sequences, each hash right, each linked.
pub fn verify_chain(records: &[Disclosure], previous: &str) -> bool {
    let mut expected_previous = previous.to_owned();
    let first = records.first().map_or(1, |r| r.sequence);
    for (record, expected_sequence) in records.iter().zip(first..) {
        if record.previous != expected_previous
            || record.sequence != expected_sequence
            || record.hash != record.compute_hash()
        {
            return false;
        }
        expected_previous = record.hash.clone();
    }
    true
}

/// The zero hash preceding the first disclosure.
pub fn genesis_disclosure_hash() -> String {
    encoding::to_hex(&[0u8; 32])
}

/// The store.
pub struct GatewayStore {
    db: DB,
    disclosure_head: Mutex<(u64, String)>,
}

impl std::fmt::Debug for GatewayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayStore").finish_non_exhaustive()
    }
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

impl GatewayStore {
    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_paranoid_checks(true);
        options.set_max_total_wal_size(veil_node::store::rocks::WAL_BYTES);
        let cache = rocksdb::Cache::new_lru_cache(veil_node::store::rocks::BLOCK_CACHE_BYTES);
        let families = [
            CF_IDEMPOTENCY,
            CF_DISCLOSURES,
            CF_LOANS,
            CF_REPAYMENTS,
            CF_META,
            CF_REGISTRY,
            CF_ALERTS,
            CF_ANCHORS,
            CF_BORROWER_REFS,
        ]
        .map(|name| {
            ColumnFamilyDescriptor::new(
                name,
                veil_node::store::rocks::bounded_family_options(&cache),
            )
        });
        let db = DB::open_cf_descriptors(&options, dir, families).map_err(engine)?;
        let store = Self {
            db,
            disclosure_head: Mutex::new((0, genesis_disclosure_hash())),
        };
        let head = store.last_disclosure()?;
        if let Some(last) = head {
            *store.lock_head() = (last.sequence, last.hash);
        }
        Ok(store)
    }

    fn lock_head(&self) -> std::sync::MutexGuard<'_, (u64, String)> {
        self.disclosure_head
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::Corrupt("column families"))
    }

    fn idempotency_key(member: &str, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(member.len() + 1 + key.len());
        out.extend_from_slice(member.as_bytes());
        out.push(0);
        out.extend_from_slice(key.as_bytes());
        out
    }

    /// The record of idempotency key `key` of `member`.
    pub fn idempotency(
        &self,
        member: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.db
            .get_cf(self.cf(CF_IDEMPOTENCY)?, Self::idempotency_key(member, key))
            .map_err(engine)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(engine))
            .transpose()
    }

    /// Stores the record of an idempotency key (synced).
    pub fn put_idempotency(
        &self,
        member: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).map_err(engine)?;
        self.db
            .put_cf_opt(
                self.cf(CF_IDEMPOTENCY)?,
                Self::idempotency_key(member, key),
                bytes,
                &synced(),
            )
            .map_err(engine)
    }

    /// Forgets idempotency key `key` of `member` (synced): its request failed and certainly
    /// wrote nothing, so the same request may be sent again under it.
    pub fn delete_idempotency(&self, member: &str, key: &str) -> Result<(), StoreError> {
        self.db
            .delete_cf_opt(
                self.cf(CF_IDEMPOTENCY)?,
                Self::idempotency_key(member, key),
                &synced(),
            )
            .map_err(engine)
    }

    /// The loan index key of `originator`'s loan `loan_id`: `loan_id ‖ 0x00 ‖ originator`
    /// (neither contains a zero byte), so one originator's business ids never shadow another's
    /// and the loans of one business id are one prefix.
    fn loan_key(loan_id: &str, originator: &str) -> Vec<u8> {
        let mut key = loan_id.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(originator.as_bytes());
        key
    }

    /// The loan entry of `originator`'s loan `loan_id`.
    pub fn loan(&self, originator: &str, loan_id: &str) -> Result<Option<EntryId>, StoreError> {
        self.db
            .get_cf(self.cf(CF_LOANS)?, Self::loan_key(loan_id, originator))
            .map_err(engine)?
            .map(|bytes| {
                bytes
                    .as_slice()
                    .try_into()
                    .map(EntryId)
                    .map_err(|_| StoreError::Corrupt("loan index value"))
            })
            .transpose()
    }

    /// Every indexed loan with business id `loan_id`: (originator, loan entry), by originator.
    pub fn loans_named(&self, loan_id: &str) -> Result<Vec<(String, EntryId)>, StoreError> {
        let mut prefix = loan_id.as_bytes().to_vec();
        prefix.push(0);
        let cf = self.cf(CF_LOANS)?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&prefix, Direction::Forward))
        {
            let (key, value) = item.map_err(engine)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let originator = std::str::from_utf8(&key[prefix.len()..])
                .map_err(|_| StoreError::Corrupt("loan index key"))?;
            let id: [u8; 16] = value
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("loan index value"))?;
            out.push((originator.to_owned(), EntryId(id)));
        }
        Ok(out)
    }

    /// Records the loan entry of `originator`'s loan `loan_id`.
    pub fn put_loan(
        &self,
        originator: &str,
        loan_id: &str,
        entry: &EntryId,
    ) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(
                self.cf(CF_LOANS)?,
                Self::loan_key(loan_id, originator),
                entry.0,
                &synced(),
            )
            .map_err(engine)
    }

    fn repayment_key(period: &str, entry: &EntryId) -> Vec<u8> {
        let mut key = period.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&entry.0);
        key
    }

    /// Records one of this member's repayments in `period`.
    pub fn put_repayment(&self, period: &str, entry: &EntryId) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(
                self.cf(CF_REPAYMENTS)?,
                Self::repayment_key(period, entry),
                [],
                &synced(),
            )
            .map_err(engine)
    }

    /// Up to `limit` of this member's repayments in `period` after `after` (from the first
    /// when `None`), in id order: those recorded and not forgotten as settled
    /// ([`GatewayStore::forget_repayments`]).
    pub fn repayments(
        &self,
        period: &str,
        after: Option<&EntryId>,
        limit: usize,
    ) -> Result<Vec<EntryId>, StoreError> {
        let mut prefix = period.as_bytes().to_vec();
        prefix.push(0);
        // Keys under the prefix are one id long: the first key after `after`'s is at least
        // its key with a zero byte appended.
        let start = match after {
            Some(after) => {
                let mut key = Self::repayment_key(period, after);
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        let cf = self.cf(CF_REPAYMENTS)?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&start, Direction::Forward))
        {
            if out.len() >= limit {
                break;
            }
            let (key, _) = item.map_err(engine)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let id: [u8; 16] = key[prefix.len()..]
                .try_into()
                .map_err(|_| StoreError::Corrupt("repayment index key"))?;
            out.push(EntryId(id));
        }
        Ok(out)
    }

    /// Forgets repayments of `period` that a finalized settlement settled, in one synced write:
    /// closing the period again does not read them. (A follower that records one again, late,
    /// only makes the next close check it once more.)
    pub fn forget_repayments(&self, period: &str, settled: &[EntryId]) -> Result<(), StoreError> {
        let cf = self.cf(CF_REPAYMENTS)?;
        let mut batch = rocksdb::WriteBatch::default();
        for entry in settled {
            batch.delete_cf(cf, Self::repayment_key(period, entry));
        }
        self.db.write_opt(batch, &synced()).map_err(engine)
    }

    fn alert_key(alert: &Alert) -> Vec<u8> {
        let mut key = encoding::from_hex(&alert.entry, 16).unwrap_or_default();
        key.extend_from_slice(alert.finding.as_bytes());
        key.push(0);
        key.extend_from_slice(alert.detail.as_bytes());
        key
    }

    /// Records `alert` (once per entry, finding and detail); returns whether it is new.
    pub fn put_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        let cf = self.cf(CF_ALERTS)?;
        let key = Self::alert_key(alert);
        if self.db.get_pinned_cf(cf, &key).map_err(engine)?.is_some() {
            return Ok(false);
        }
        self.db
            .put_cf_opt(cf, key, serde_json::to_vec(alert)?, &synced())
            .map_err(engine)?;
        Ok(true)
    }

    /// Up to `limit` alerts after position `after` (the hex key [`GatewayStore::alerts`]
    /// returned last), ordered by entry id; and the position of the last one.
    pub fn alerts(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<Alert>, Option<Vec<u8>>), StoreError> {
        let cf = self.cf(CF_ALERTS)?;
        let mode = match after {
            Some(key) => IteratorMode::From(key, Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut out = Vec::new();
        let mut last = None;
        for item in self.db.iterator_cf(cf, mode) {
            let (key, value) = item.map_err(engine)?;
            if after.is_some_and(|after| *key == *after) {
                continue;
            }
            if out.len() == limit {
                break;
            }
            out.push(serde_json::from_slice(&value)?);
            last = Some(key.to_vec());
        }
        Ok((out, last))
    }

    /// How many alerts this gateway holds.
    pub fn alert_count(&self) -> Result<u64, StoreError> {
        let cf = self.cf(CF_ALERTS)?;
        let mut count = 0;
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            item.map_err(engine)?;
            count += 1;
        }
        Ok(count)
    }

    /// The cached borrower reference under `key` (a keyed hash of a national id).
    pub fn borrower_ref(&self, key: &[u8; 32]) -> Result<Option<[u8; 32]>, StoreError> {
        self.db
            .get_cf(self.cf(CF_BORROWER_REFS)?, key)
            .map_err(engine)?
            .map(|bytes| {
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("borrower reference"))
            })
            .transpose()
    }

    /// Caches a borrower reference under `key` (synced).
    pub fn put_borrower_ref(&self, key: &[u8; 32], reference: &[u8; 32]) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(self.cf(CF_BORROWER_REFS)?, key, reference, &synced())
            .map_err(engine)
    }

    /// How many OPRF evaluations this gateway served `member` on UTC day `day` (days since the
    /// Unix epoch).
    pub fn oprf_evaluations(&self, member: &str, day: u64) -> Result<u64, StoreError> {
        let key = format!("oprf/{member}/{day}");
        match self.db.get_cf(self.cf(CF_META)?, key).map_err(engine)? {
            None => Ok(0),
            Some(bytes) => Ok(u64::from_be_bytes(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("OPRF counter"))?,
            )),
        }
    }

    /// Records `count` as the number of OPRF evaluations served `member` on day `day`: to the
    /// write-ahead log, not synced (a process crash loses nothing; a power loss may lose the
    /// last few counts). The caller serializes the read and the write.
    pub fn put_oprf_evaluations(
        &self,
        member: &str,
        day: u64,
        count: u64,
    ) -> Result<(), StoreError> {
        let key = format!("oprf/{member}/{day}");
        self.db
            .put_cf(self.cf(CF_META)?, key, count.to_be_bytes())
            .map_err(engine)
    }

    /// The latest report of `member`'s OPRF evaluations on UTC day `day` on the ledger.
    pub fn oprf_report(&self, member: &str, day: u64) -> Result<Option<ReportRecord>, StoreError> {
        let key = format!("oprf-report/{member}/{day}");
        self.db
            .get_cf(self.cf(CF_META)?, key)
            .map_err(engine)?
            .map(|value| serde_json::from_slice(&value).map_err(StoreError::from))
            .transpose()
    }

    /// Records a report on the ledger (synced), merged with what is recorded of the same
    /// member and day: a day's counts only grow (each the highest any of its reports gave), and
    /// the record names the latest report (by height, then timestamp). The caller serializes
    /// calls (the follower, or the write path that just wrote it).
    pub fn put_oprf_report(&self, report: &ReportRecord) -> Result<(), StoreError> {
        let mut record = report.clone();
        if let Some(known) = self.oprf_report(&report.member, report.day)? {
            for (member, count) in &known.evaluations {
                let merged = record.evaluations.entry(member.clone()).or_insert(0);
                *merged = (*merged).max(*count);
            }
            if (known.height, known.timestamp_ms) >= (report.height, report.timestamp_ms) {
                record.entry = known.entry.clone();
                record.height = known.height;
                record.timestamp_ms = known.timestamp_ms;
            }
            if record == known {
                return Ok(());
            }
        }
        let key = format!("oprf-report/{}/{}", record.member, record.day);
        self.db
            .put_cf_opt(
                self.cf(CF_META)?,
                key,
                serde_json::to_vec(&record)?,
                &synced(),
            )
            .map_err(engine)
    }

    /// The registry as this gateway has followed the ledger, as of now (a snapshot: later
    /// writes are not seen).
    pub fn registry(&self) -> Result<veil_node::store::rocks::RegistrySnapshot<'_>, StoreError> {
        Ok(veil_node::store::rocks::RegistrySnapshot::new(
            &self.db,
            self.cf(CF_REGISTRY)?,
        ))
    }

    /// Where the registry follower is: the position of the last `registry.updated` entry it
    /// applied and that entry's id (`None` before the first).
    pub fn registry_head(&self) -> Result<Option<RegistryHead>, StoreError> {
        let Some(bytes) = self
            .db
            .get_cf(self.cf(CF_META)?, REGISTRY_HEAD)
            .map_err(engine)?
        else {
            return Ok(None);
        };
        let (Some(height), Some(index), Some(id)) = (
            bytes.get(..8).and_then(|b| b.try_into().ok()),
            bytes.get(8..12).and_then(|b| b.try_into().ok()),
            bytes.get(12..28).and_then(|b| <[u8; 16]>::try_from(b).ok()),
        ) else {
            return Err(StoreError::Corrupt("registry head"));
        };
        if bytes.len() != 28 {
            return Err(StoreError::Corrupt("registry head"));
        }
        Ok(Some((
            (u64::from_be_bytes(height), u32::from_be_bytes(index)),
            EntryId(id),
        )))
    }

    /// Writes one followed `registry.updated` entry's changed registry keys and the follower's
    /// new position in one synced batch: a crash leaves the registry and the position together.
    pub fn apply_registry(
        &self,
        writes: Vec<veil_circuits::screening::stored::KvWrite>,
        position: (u64, u32),
        head: EntryId,
    ) -> Result<(), StoreError> {
        let registry = self.cf(CF_REGISTRY)?;
        let mut batch = rocksdb::WriteBatch::default();
        for (key, value) in writes {
            match value {
                Some(value) => batch.put_cf(registry, key, value),
                None => batch.delete_cf(registry, key),
            }
        }
        let mut value = position.0.to_be_bytes().to_vec();
        value.extend_from_slice(&position.1.to_be_bytes());
        value.extend_from_slice(&head.0);
        batch.put_cf(self.cf(CF_META)?, REGISTRY_HEAD, value);
        self.db.write_opt(batch, &synced()).map_err(engine)
    }

    /// The follower cursor of entry type `kind`.
    pub fn cursor(&self, kind: &str) -> Result<Option<(u64, u32)>, StoreError> {
        let key = format!("follow/{kind}");
        let Some(bytes) = self.db.get_cf(self.cf(CF_META)?, key).map_err(engine)? else {
            return Ok(None);
        };
        if bytes.len() != 12 {
            return Err(StoreError::Corrupt("cursor"));
        }
        let height = u64::from_be_bytes(bytes[..8].try_into().map_err(engine_slice)?);
        let index = u32::from_be_bytes(bytes[8..].try_into().map_err(engine_slice)?);
        Ok(Some((height, index)))
    }

    /// Moves the follower cursor of `kind`.
    pub fn put_cursor(&self, kind: &str, position: (u64, u32)) -> Result<(), StoreError> {
        let mut value = position.0.to_be_bytes().to_vec();
        value.extend_from_slice(&position.1.to_be_bytes());
        self.db
            .put_cf_opt(
                self.cf(CF_META)?,
                format!("follow/{kind}"),
                value,
                &synced(),
            )
            .map_err(engine)
    }

    /// Appends a disclosure to the hash chain (synced) and returns it.
    pub fn disclose(
        &self,
        who: &str,
        entry: &EntryId,
        fields: Vec<String>,
        time_ms: u64,
    ) -> Result<Disclosure, StoreError> {
        let mut head = self.lock_head();
        let mut record = Disclosure {
            sequence: head.0 + 1,
            time_ms,
            who: who.to_owned(),
            entry: entry.to_hex(),
            fields,
            previous: head.1.clone(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        let bytes = serde_json::to_vec(&record).map_err(engine)?;
        self.db
            .put_cf_opt(
                self.cf(CF_DISCLOSURES)?,
                record.sequence.to_be_bytes(),
                bytes,
                &synced(),
            )
            .map_err(engine)?;
        *head = (record.sequence, record.hash.clone());
        Ok(record)
    }

    /// The log's head: its last record's sequence number (0 for an empty log) and hash.
    pub fn disclosure_head(&self) -> (u64, String) {
        self.lock_head().clone()
    }

    /// The disclosure of sequence number `sequence`, if the log has it.
    pub fn disclosure(&self, sequence: u64) -> Result<Option<Disclosure>, StoreError> {
        self.db
            .get_cf(self.cf(CF_DISCLOSURES)?, sequence.to_be_bytes())
            .map_err(engine)?
            .map(|value| serde_json::from_slice(&value).map_err(engine))
            .transpose()
    }

    fn anchor_prefix(member: &str) -> Vec<u8> {
        let mut key = member.as_bytes().to_vec();
        key.push(0);
        key
    }

    /// Records an anchor on the ledger (synced); recording it again changes nothing.
    pub fn put_anchor(&self, anchor: &AnchorRecord) -> Result<(), StoreError> {
        let mut key = Self::anchor_prefix(&anchor.member);
        key.extend_from_slice(&anchor.sequence.to_be_bytes());
        key.extend_from_slice(&encoding::from_hex(&anchor.entry, 16).unwrap_or_default());
        self.db
            .put_cf_opt(
                self.cf(CF_ANCHORS)?,
                key,
                serde_json::to_vec(anchor)?,
                &synced(),
            )
            .map_err(engine)
    }

    /// Up to `limit` anchors of `member` after position `after` (a sequence number and entry
    /// id, exclusive; from the first without), by sequence then entry id.
    pub fn anchors(
        &self,
        member: &str,
        after: Option<(u64, EntryId)>,
        limit: usize,
    ) -> Result<Vec<AnchorRecord>, StoreError> {
        let prefix = Self::anchor_prefix(member);
        let mut start = prefix.clone();
        if let Some((sequence, entry)) = after {
            start.extend_from_slice(&sequence.to_be_bytes());
            start.extend_from_slice(&entry.0);
        }
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(CF_ANCHORS)?,
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (key, value) = item.map_err(engine)?;
            if !key.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            if after.is_some() && *key == *start {
                continue;
            }
            out.push(serde_json::from_slice(&value)?);
        }
        Ok(out)
    }

    /// The anchor of `member` with the highest sequence (of several, the latest by timestamp).
    pub fn last_anchor(&self, member: &str) -> Result<Option<AnchorRecord>, StoreError> {
        let prefix = Self::anchor_prefix(member);
        let mut end = member.as_bytes().to_vec();
        end.push(1);
        let mut latest: Option<AnchorRecord> = None;
        for item in self.db.iterator_cf(
            self.cf(CF_ANCHORS)?,
            IteratorMode::From(&end, Direction::Reverse),
        ) {
            let (key, value) = item.map_err(engine)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let anchor: AnchorRecord = serde_json::from_slice(&value)?;
            match &latest {
                Some(found) if found.sequence != anchor.sequence => break,
                Some(found) if found.timestamp_ms >= anchor.timestamp_ms => {}
                _ => latest = Some(anchor),
            }
        }
        Ok(latest)
    }

    /// This gateway's log against every anchor of `member` (this gateway's own) on the ledger:
    /// each must name a record of the log whose hash it is. A record dropped (the log
    /// truncated) or rewritten (even with the chain recomputed) after it was anchored fails the
    /// check; one appended since the last anchor is covered by the next.
    pub fn check_anchors(&self, member: &str) -> Result<AnchorCheck, StoreError> {
        let mut check = AnchorCheck {
            anchors: 0,
            verified: true,
            latest: None,
            mismatches: Vec::new(),
        };
        let prefix = Self::anchor_prefix(member);
        for item in self.db.iterator_cf(
            self.cf(CF_ANCHORS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (key, value) = item.map_err(engine)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let anchor: AnchorRecord = serde_json::from_slice(&value)?;
            check.anchors += 1;
            // An empty log's anchor (sequence 0, the zero hash: nodes refuse any other).
            let found = match anchor.sequence {
                0 => Some(genesis_disclosure_hash()),
                sequence => self.disclosure(sequence)?.map(|r| r.hash),
            };
            if found.as_deref() != Some(anchor.head.as_str()) {
                check.verified = false;
                if check.mismatches.len() < MAX_MISMATCHES {
                    check.mismatches.push(AnchorMismatch {
                        sequence: anchor.sequence,
                        anchored: anchor.head.clone(),
                        found,
                        entry: anchor.entry.clone(),
                    });
                }
            }
            // Keys sort by sequence: the last one read is the latest anchor.
            check.latest = Some(anchor);
        }
        Ok(check)
    }

    /// Up to `limit` disclosures from sequence `from` on.
    pub fn disclosures(&self, from: u64, limit: usize) -> Result<Vec<Disclosure>, StoreError> {
        let cf = self.cf(CF_DISCLOSURES)?;
        let start = from.max(1).to_be_bytes();
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&start, Direction::Forward))
        {
            if out.len() >= limit {
                break;
            }
            let (_, value) = item.map_err(engine)?;
            out.push(serde_json::from_slice(&value).map_err(engine)?);
        }
        Ok(out)
    }

    /// The hash of the disclosure before `sequence` (the chain's anchor for a page).
    pub fn disclosure_hash_before(&self, sequence: u64) -> Result<String, StoreError> {
        if sequence <= 1 {
            return Ok(genesis_disclosure_hash());
        }
        let cf = self.cf(CF_DISCLOSURES)?;
        let Some(value) = self
            .db
            .get_cf(cf, (sequence - 1).to_be_bytes())
            .map_err(engine)?
        else {
            return Err(StoreError::Corrupt("disclosure log has a gap"));
        };
        let record: Disclosure = serde_json::from_slice(&value).map_err(engine)?;
        Ok(record.hash)
    }

    fn last_disclosure(&self) -> Result<Option<Disclosure>, StoreError> {
        let cf = self.cf(CF_DISCLOSURES)?;
        let Some(item) = self.db.iterator_cf(cf, IteratorMode::End).next() else {
            return Ok(None);
        };
        let (_, value) = item.map_err(engine)?;
        Ok(Some(serde_json::from_slice(&value).map_err(engine)?))
    }
}

fn engine_slice(_: std::array::TryFromSliceError) -> StoreError {
    StoreError::Corrupt("cursor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_days_reported_counts_only_grow() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatewayStore::open(dir.path()).unwrap();
        let report = |height: u64, counts: &[(&str, u64)]| ReportRecord {
            member: "bank-d".into(),
            day: 20_000,
            evaluations: counts.iter().map(|(m, n)| ((*m).to_owned(), *n)).collect(),
            entry: format!("{height:032x}"),
            height,
            timestamp_ms: height,
        };
        store.put_oprf_report(&report(5, &[("bank-a", 7)])).unwrap();
        // A later report that lowers bank-a's count and adds bank-b: bank-a stays at 7.
        store
            .put_oprf_report(&report(9, &[("bank-a", 2), ("bank-b", 3)]))
            .unwrap();
        let merged = store.oprf_report("bank-d", 20_000).unwrap().unwrap();
        assert_eq!(merged.evaluations["bank-a"], 7);
        assert_eq!(merged.evaluations["bank-b"], 3);
        assert_eq!(merged.height, 9);
        // An older report read late (the follower after the writer) changes no count upward
        // past what it says, and does not move the record back.
        store.put_oprf_report(&report(3, &[("bank-a", 1)])).unwrap();
        let same = store.oprf_report("bank-d", 20_000).unwrap().unwrap();
        assert_eq!(same, merged);
    }

    /// A period's repayments page in id order, apart from other periods', and the forgotten
    /// ones are gone for good.
    #[test]
    fn a_periods_repayments_page_in_order_and_forgotten_ones_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatewayStore::open(dir.path()).unwrap();
        let ids: Vec<EntryId> = (1..=5u8).map(|i| EntryId([i; 16])).collect();
        for id in ids.iter().rev() {
            store.put_repayment("2026-11", id).unwrap();
        }
        store
            .put_repayment("2026-11-01", &EntryId([3; 16]))
            .unwrap();
        store.put_repayment("2026-12", &EntryId([0; 16])).unwrap();
        assert_eq!(store.repayments("2026-11", None, 10).unwrap(), ids);
        assert_eq!(store.repayments("2026-11", None, 2).unwrap(), ids[..2]);
        assert_eq!(
            store.repayments("2026-11", Some(&ids[1]), 2).unwrap(),
            ids[2..4]
        );
        assert_eq!(
            store.repayments("2026-11", Some(&ids[4]), 2).unwrap(),
            Vec::<EntryId>::new()
        );
        store
            .forget_repayments("2026-11", &[ids[0], ids[3]])
            .unwrap();
        assert_eq!(
            store.repayments("2026-11", None, 10).unwrap(),
            [ids[1], ids[2], ids[4]]
        );
        assert_eq!(
            store.repayments("2026-11-01", None, 10).unwrap(),
            [EntryId([3; 16])]
        );
        drop(store);
        let store = GatewayStore::open(dir.path()).unwrap();
        assert_eq!(store.repayments("2026-11", None, 10).unwrap().len(), 3);
    }

    #[test]
    fn the_disclosure_chain_verifies_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatewayStore::open(dir.path()).unwrap();
        for i in 0..5u8 {
            store
                .disclose(
                    "regulator:regulator",
                    &EntryId([i; 16]),
                    vec!["amount".into()],
                    1000 + u64::from(i),
                )
                .unwrap();
        }
        let records = store.disclosures(1, 100).unwrap();
        assert_eq!(records.len(), 5);
        assert!(verify_chain(&records, &genesis_disclosure_hash()));
        let page = store.disclosures(3, 100).unwrap();
        assert!(verify_chain(
            &page,
            &store.disclosure_hash_before(3).unwrap()
        ));
        let mut tampered = records.clone();
        tampered[2].fields.push("borrower.name".into());
        assert!(!verify_chain(&tampered, &genesis_disclosure_hash()));
        let mut dropped = records.clone();
        dropped.remove(1);
        assert!(!verify_chain(&dropped, &genesis_disclosure_hash()));
        // The chain continues across a reopen.
        drop(store);
        let store = GatewayStore::open(dir.path()).unwrap();
        store
            .disclose("bank-a:auditor", &EntryId([9; 16]), vec![], 2000)
            .unwrap();
        assert!(verify_chain(
            &store.disclosures(1, 100).unwrap(),
            &genesis_disclosure_hash()
        ));
    }
}
