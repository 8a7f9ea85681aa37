//! Disclosure-log anchors: `disclosures.anchored` entries.
//!
//! Every member gateway keeps a hash-chained log of the decrypting reads it served (who read
//! which fields of which entry). Alone, that log is only as honest as its operator, who could
//! truncate it or rewrite a record and recompute the chain. So the gateway anchors the log's
//! head on the ledger: a `disclosures.anchored` entry, signed with the member's signing key,
//! carrying the sequence number and hash of the log's last record — whenever the log grew (at
//! most every few minutes) and at least once a day even if it did not (an empty log is anchored
//! as sequence 0 with the zero hash). Anchors are final and public; a reader (a regulator)
//! checks the log it is served against every anchor of that member: a record dropped or
//! rewritten once anchored no longer matches, and a member whose latest anchor is over a day
//! old has stopped anchoring.
//!
//! Encoding of an anchor (format v1, in the entry's circuit-data slot,
//! `docs/protocol/ledger.md`):
//!
//! ```text
//! u8    version = 1
//! u64   sequence of the log's last record (0: the log is empty)
//! [32]  its hash (SHA-256, the log's chain hash; zero for an empty log)
//! ```
//!
//! Nodes check the shape only (this module, and `validation/circuits.rs`): an anchor carries
//! nothing else, no reader groups, commitments or proofs, and references nothing. Whether
//! anchors agree with each other and with the log is the reader's check: each is a signed,
//! final statement by its member.

use veil_crypto::EncodingError;
use veil_crypto::encoding::Reader;

use crate::ledger::{Entry, UnsignedEntry};

/// Encoding version of an anchor.
pub const ANCHOR_VERSION: u8 = 1;
/// Length of an anchor's encoding, in bytes.
pub const ANCHOR_LEN: usize = 1 + 8 + 32;

/// Why an anchor's bytes are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The bytes do not decode.
    #[error("malformed disclosure anchor: {0}")]
    Malformed(#[from] EncodingError),
    /// An unknown encoding version.
    #[error("unknown disclosure anchor version {0}")]
    Version(u8),
    /// Sequence 0 (an empty log) with a hash other than zero.
    #[error("an empty log (sequence 0) is anchored with the zero hash")]
    Empty,
    /// The entry carries something besides its anchor.
    #[error("a disclosure anchor carries no fields, commitments, proofs or references")]
    Unexpected,
}

/// The head of a disclosure log: its last record's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DisclosureAnchor {
    /// Sequence number of the log's last record (0 for an empty log).
    pub sequence: u64,
    /// That record's chain hash.
    pub head: [u8; 32],
}

impl DisclosureAnchor {
    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANCHOR_LEN);
        out.push(ANCHOR_VERSION);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.head);
        out
    }

    /// Decodes an anchor, refusing anything the encoder would not write.
    ///
    /// # Errors
    /// [`AnchorError::Malformed`] for bytes of the wrong length, [`AnchorError::Version`],
    /// [`AnchorError::Empty`] for sequence 0 with a hash other than zero.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AnchorError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != ANCHOR_VERSION {
            return Err(AnchorError::Version(version));
        }
        let sequence = reader.u64()?;
        let head = reader.array()?;
        reader.finish()?;
        if sequence == 0 && head != [0; 32] {
            return Err(AnchorError::Empty);
        }
        Ok(Self { sequence, head })
    }

    /// The `disclosures.anchored` entry carrying this anchor, by `member` (its id derived
    /// from `nonce`), in clearing period `period` (`YYYY-MM`), under the genesis policy hash
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
            veil_policies::EntryType::DisclosuresAnchored,
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

/// The anchor a `disclosures.anchored` entry carries, checked to carry nothing else.
///
/// # Errors
/// [`AnchorError`]: malformed circuit data, or fields, commitments, proofs or references.
pub fn anchor_of(entry: &Entry) -> Result<DisclosureAnchor, AnchorError> {
    let anchor = DisclosureAnchor::from_bytes(&entry.proofs.circuit)?;
    if !entry.carries_only_circuit_data() {
        return Err(AnchorError::Unexpected);
    }
    Ok(anchor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_round_trip_and_nothing_else_decodes() {
        let anchor = DisclosureAnchor {
            sequence: 42,
            head: [7; 32],
        };
        let bytes = anchor.to_bytes();
        assert_eq!(bytes.len(), ANCHOR_LEN);
        assert_eq!(DisclosureAnchor::from_bytes(&bytes), Ok(anchor));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            DisclosureAnchor::from_bytes(&longer),
            Err(AnchorError::Malformed(_))
        ));
        assert!(matches!(
            DisclosureAnchor::from_bytes(&bytes[..ANCHOR_LEN - 1]),
            Err(AnchorError::Malformed(_))
        ));
        let mut version = bytes.clone();
        version[0] = 2;
        assert_eq!(
            DisclosureAnchor::from_bytes(&version),
            Err(AnchorError::Version(2))
        );
        let empty = DisclosureAnchor {
            sequence: 0,
            head: [7; 32],
        };
        assert_eq!(
            DisclosureAnchor::from_bytes(&empty.to_bytes()),
            Err(AnchorError::Empty)
        );
        let empty = DisclosureAnchor {
            sequence: 0,
            head: [0; 32],
        };
        assert_eq!(DisclosureAnchor::from_bytes(&empty.to_bytes()), Ok(empty));
    }
}
