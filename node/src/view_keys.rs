//! Regulators' view keys published on the ledger: `view_keys.published` entries.
//!
//! The genesis publishes each regulator's scoped public view keys up to some month; later
//! months are published by the regulator itself, in a chain of `view_keys.published` entries
//! per regulator. Each carries the keys of one or more consecutive months ([`Publication`], in
//! the entry's circuit-data slot), complete (one key per field class and month), starting the
//! month after the last one already published (by the genesis, or by the publication it
//! references, which must be the head of the regulator's chain). It is signed with the
//! regulator's genesis signing key; a member never submits one. Gateways encrypt entries of
//! those months to the published keys exactly as to the genesis ones.
//!
//! Encoding of a publication (format v1, `docs/protocol/view-keys.md`):
//!
//! ```text
//! u8    version = 1
//! u16   n keys (1 ..= MAX_MONTHS × classes)
//! n ×   (str8 month "YYYY-MM", str8 field class, [32] X25519 public key)
//!       strictly sorted by (month, class)
//! ```
//!
//! The decoder accepts exactly what the encoder writes (`encode(decode(b)) == b`) and only
//! well-formed publications: complete, consecutive months, at most [`MAX_MONTHS`], keys that
//! are valid X25519 public keys.
//!
//! This module reads nothing from the ledger; the validation rules (`crate::validation`) use it.

use veil_crypto::encoding::Reader;
use veil_crypto::view_key::{PublishedViewKey, ViewScope, month_of};
use veil_crypto::{EncodingError, EncryptionPublicKey};
use veil_policies::FieldClass;

use crate::genesis::Regulator;
use crate::ledger::codec::{Writer, read_str8};
use crate::ledger::{Entry, EntryHeader, EntryId, EntryProofs, UnsignedEntry};

/// Encoding version of a publication.
pub const PUBLICATION_VERSION: u8 = 1;
/// Most months one publication carries (ten years).
pub const MAX_MONTHS: usize = 120;

/// Why a publication's bytes or keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicationError {
    /// The bytes do not decode.
    #[error("malformed view-key publication: {0}")]
    Malformed(#[from] EncodingError),
    /// An unknown encoding version.
    #[error("unknown view-key publication version {0}")]
    Version(u8),
    /// No key at all.
    #[error("a publication publishes at least one month")]
    Empty,
    /// More than [`MAX_MONTHS`] months.
    #[error("a publication publishes at most {MAX_MONTHS} months")]
    TooManyMonths,
    /// Keys out of (month, class) order, or one scope twice.
    #[error("keys must be sorted by month and class, each scope once")]
    Unsorted,
    /// A month without exactly one key per field class.
    #[error("month {0} must have exactly one key per field class ({classes})", classes = class_list())]
    IncompleteMonth(String),
    /// Months that are not consecutive.
    #[error("months must be consecutive: {0} does not follow {1}")]
    Gap(String, String),
}

fn class_list() -> String {
    classes().join(", ")
}

/// The field classes a month's keys cover, sorted by name (the encoding's order).
pub fn classes() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = FieldClass::ALL.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    names
}

/// The month after `month` (`YYYY-MM`), or `None` if `month` is malformed or the last
/// representable one (`9999-12`).
pub fn next_month(month: &str) -> Option<String> {
    if month.len() != 7 || month_of(month).is_err() {
        return None;
    }
    let (year, number) = month.split_once('-')?;
    let (year, number): (u32, u32) = (year.parse().ok()?, number.parse().ok()?);
    let (year, number) = if number == 12 {
        (year + 1, 1)
    } else {
        (year, number + 1)
    };
    (year <= 9999).then(|| format!("{year:04}-{number:02}"))
}

/// The months from `first` through `last` (both `YYYY-MM`), in order; empty if `last` is
/// before `first` or either is malformed.
pub fn months_from_through(first: &str, last: &str) -> Vec<String> {
    let mut out = Vec::new();
    if month_of(first).is_err() || month_of(last).is_err() || first.len() != 7 {
        return out;
    }
    let mut month = first.to_owned();
    while month.as_str() <= last {
        let next = next_month(&month);
        out.push(month);
        match next {
            Some(next) => month = next,
            None => break,
        }
    }
    out
}

/// The last month whose keys the genesis publishes for `regulator`, if any.
pub fn genesis_last_month(regulator: &Regulator) -> Option<&str> {
    regulator.view_keys.keys().map(ViewScope::month).max()
}

/// The keys a `view_keys.published` entry carries: complete, consecutive months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Sorted by (month, class).
    keys: Vec<PublishedViewKey>,
}

impl Publication {
    /// The publication of `keys` (in any order), if they form complete, consecutive months.
    pub fn new(mut keys: Vec<PublishedViewKey>) -> Result<Self, PublicationError> {
        keys.sort_by(|a, b| a.scope.cmp(&b.scope));
        if keys.windows(2).any(|w| w[0].scope == w[1].scope) {
            return Err(PublicationError::Unsorted);
        }
        Self::checked(keys)
    }

    /// Checks sorted `keys`.
    fn checked(keys: Vec<PublishedViewKey>) -> Result<Self, PublicationError> {
        if keys.is_empty() {
            return Err(PublicationError::Empty);
        }
        let classes = classes();
        let mut previous: Option<&str> = None;
        let mut months = 0;
        for month_keys in keys.chunk_by(|a, b| a.scope.month() == b.scope.month()) {
            let month = month_keys[0].scope.month();
            let covered: Vec<&str> = month_keys.iter().map(|k| k.scope.class()).collect();
            if covered != classes {
                return Err(PublicationError::IncompleteMonth(month.to_owned()));
            }
            if let Some(previous) = previous
                && next_month(previous).as_deref() != Some(month)
            {
                return Err(PublicationError::Gap(month.to_owned(), previous.to_owned()));
            }
            months += 1;
            if months > MAX_MONTHS {
                return Err(PublicationError::TooManyMonths);
            }
            previous = Some(month);
        }
        Ok(Self { keys })
    }

    /// The keys, sorted by month and class.
    pub fn keys(&self) -> &[PublishedViewKey] {
        &self.keys
    }

    /// The first month published.
    pub fn first_month(&self) -> &str {
        self.keys.first().map_or("", |k| k.scope.month())
    }

    /// The last month published.
    pub fn last_month(&self) -> &str {
        self.keys.last().map_or("", |k| k.scope.month())
    }

    /// The months published, in order.
    pub fn months(&self) -> Vec<&str> {
        let mut months: Vec<&str> = self.keys.iter().map(|k| k.scope.month()).collect();
        months.dedup();
        months
    }

    /// The `view_keys.published` entry carrying this publication, by `regulator` (its id derived
    /// from `nonce`), following
    /// its publication `previous` (none for its first), under the genesis policy hash
    /// `policy_hash` of the consortium of genesis hash `genesis`; to be signed with the
    /// regulator's signing key.
    pub fn entry(
        &self,
        nonce: [u8; 16],
        genesis: &[u8; 32],
        regulator: &str,
        policy_hash: [u8; 32],
        previous: Option<EntryId>,
        timestamp_ms: u64,
    ) -> UnsignedEntry {
        let kind = veil_policies::EntryType::ViewKeysPublished;
        UnsignedEntry {
            header: EntryHeader {
                id: EntryId::derive(genesis, regulator, &nonce),
                nonce,
                genesis: *genesis,
                kind: kind.name().to_owned(),
                submitter: regulator.to_owned(),
                schema_version: kind.schema_version(),
                policy_hash,
                timestamp_ms,
                period: self.first_month().to_owned(),
                references: previous.into_iter().collect(),
            },
            groups: Vec::new(),
            commitments: Vec::new(),
            proofs: EntryProofs {
                circuit: self.to_bytes(),
                ..EntryProofs::default()
            },
        }
    }

    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(3 + self.keys.len() * 48);
        writer.u8(PUBLICATION_VERSION);
        writer.u16(self.keys.len() as u16);
        for key in &self.keys {
            writer.str8(key.scope.month());
            writer.str8(key.scope.class());
            writer.bytes(&key.public_key.to_bytes());
        }
        writer.0
    }

    /// Decodes and checks a publication, refusing anything the encoder would not write.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PublicationError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != PUBLICATION_VERSION {
            return Err(PublicationError::Version(version));
        }
        let count = usize::from(reader.u16()?);
        if count > MAX_MONTHS * FieldClass::ALL.len() {
            return Err(PublicationError::TooManyMonths);
        }
        let mut keys: Vec<PublishedViewKey> = Vec::with_capacity(count);
        for _ in 0..count {
            let month = read_str8(&mut reader, 7, "view-key month", |m| {
                m.len() == 7 && month_of(m).is_ok()
            })?;
            let class = read_str8(&mut reader, 32, "view-key class", |_| true)?;
            let scope = ViewScope::new(&month, &class)
                .map_err(|_| EncodingError::Malformed("view-key class"))?;
            let public_key = EncryptionPublicKey::from_bytes(&reader.array()?)?;
            if keys.last().is_some_and(|last| last.scope >= scope) {
                return Err(PublicationError::Unsorted);
            }
            keys.push(PublishedViewKey { scope, public_key });
        }
        reader.finish()?;
        Self::checked(keys)
    }
}

/// The publication a `view_keys.published` entry carries.
pub fn publication_of(entry: &Entry) -> Result<Publication, PublicationError> {
    Publication::from_bytes(&entry.proofs.circuit)
}

#[cfg(test)]
mod tests {
    use veil_crypto::view_key::MasterViewKey;

    use super::*;

    fn keys(months: &[&str]) -> Vec<PublishedViewKey> {
        let months: Vec<String> = months.iter().map(|m| (*m).to_owned()).collect();
        MasterViewKey::from_bytes(&[3; 32])
            .publish("c", &months, &classes())
            .unwrap()
    }

    #[test]
    fn months_follow_each_other() {
        assert_eq!(next_month("2026-11").as_deref(), Some("2026-12"));
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(next_month("9999-12"), None);
        assert_eq!(next_month("2026-12-01"), None);
        assert_eq!(next_month("2026-13"), None);
        assert_eq!(
            months_from_through("2026-11", "2027-02"),
            ["2026-11", "2026-12", "2027-01", "2027-02"]
        );
        assert!(months_from_through("2026-11", "2026-10").is_empty());
        assert!(months_from_through("2026-1", "2026-10").is_empty());
    }

    #[test]
    fn publications_round_trip_canonically() {
        let publication = Publication::new(keys(&["2026-12", "2027-01"])).unwrap();
        assert_eq!(publication.months(), ["2026-12", "2027-01"]);
        assert_eq!(
            (publication.first_month(), publication.last_month()),
            ("2026-12", "2027-01")
        );
        let bytes = publication.to_bytes();
        let again = Publication::from_bytes(&bytes).unwrap();
        assert_eq!(again, publication);
        assert_eq!(again.to_bytes(), bytes);
        // Keys in another order make the same publication; their bytes out of order do not
        // decode.
        let mut shuffled = keys(&["2026-12", "2027-01"]);
        shuffled.reverse();
        assert_eq!(Publication::new(shuffled).unwrap(), publication);
        let record = 1 + 7 + 1 + "amounts".len() + 32;
        let (first, second) = (3..3 + record, 3 + record..3 + record + 1 + 7 + 1 + 3 + 32);
        let mut reordered = bytes[..3].to_vec();
        reordered.extend_from_slice(&bytes[second.clone()]);
        reordered.extend_from_slice(&bytes[first]);
        reordered.extend_from_slice(&bytes[second.end..]);
        assert_eq!(
            Publication::from_bytes(&reordered),
            Err(PublicationError::Unsorted)
        );
        // Truncated, extended or of another version: refused.
        assert!(Publication::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut extended = bytes.clone();
        extended.push(0);
        assert!(Publication::from_bytes(&extended).is_err());
        let mut version = bytes;
        version[0] = 2;
        assert_eq!(
            Publication::from_bytes(&version),
            Err(PublicationError::Version(2))
        );
    }

    #[test]
    fn only_complete_consecutive_bounded_months_are_publications() {
        assert_eq!(Publication::new(Vec::new()), Err(PublicationError::Empty));
        let mut incomplete = keys(&["2026-12", "2027-01"]);
        incomplete.remove(4);
        assert_eq!(
            Publication::new(incomplete),
            Err(PublicationError::IncompleteMonth("2027-01".into()))
        );
        let mut doubled = keys(&["2026-12"]);
        doubled.push(doubled[0].clone());
        assert_eq!(Publication::new(doubled), Err(PublicationError::Unsorted));
        let mut foreign = keys(&["2026-12"]);
        foreign[0].scope = ViewScope::new("2026-12", "gossip").unwrap();
        assert!(matches!(
            Publication::new(foreign),
            Err(PublicationError::IncompleteMonth(_))
        ));
        assert_eq!(
            Publication::new(keys(&["2026-11", "2027-01"])),
            Err(PublicationError::Gap("2027-01".into(), "2026-11".into()))
        );
        let ten_years = months_from_through("2030-01", "2039-12");
        let refs: Vec<&str> = ten_years.iter().map(String::as_str).collect();
        let decade = Publication::new(keys(&refs)).unwrap();
        assert!(decade.to_bytes().len() < crate::ledger::entry::MAX_OPAQUE_PROOF_LEN);
        let eleven = months_from_through("2030-01", "2040-12");
        let refs: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert_eq!(
            Publication::new(keys(&refs)),
            Err(PublicationError::TooManyMonths)
        );
    }
}
