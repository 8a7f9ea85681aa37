//! Blocks: an ordered batch of entries proposed by one validator and finalized by consensus.
//!
//! Encoding (format v1, self-delimiting so consensus can embed it):
//!
//! ```text
//! u8 version | u64 height | parent digest (32) | u64 timestamp_ms | proposer key (32)
//! | entries root (32) | u32 entry count | (u32 length | entry bytes) per entry
//! ```
//!
//! The block digest is SHA-256 of the encoding. The entries root is a SHA-256 Merkle root of
//! the entries' digests (see [`super::merkle`]). A block's finalization certificate is not part
//! of the block: it is produced afterwards and stored beside it.

use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::types::Height;
use commonware_cryptography::{Digestible, Hasher as _, Sha256, sha256};

use super::entry::{Entry, MAX_ENTRY_LEN};
use super::merkle;

/// Encoding version of a block.
pub const BLOCK_VERSION: u8 = 1;
/// Largest encoded block.
pub const MAX_BLOCK_LEN: usize = 4 * 1024 * 1024;
/// Most entries in one block.
pub const MAX_BLOCK_ENTRIES: usize = 1024;
/// Bytes of a block before its entries.
const HEADER_LEN: usize = 1 + 8 + 32 + 8 + 32 + 32 + 4;

/// The digest type of blocks.
pub type BlockDigest = sha256::Digest;

/// A block of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Height: the genesis block is 0.
    pub height: u64,
    /// Digest of the parent block.
    pub parent: BlockDigest,
    /// Milliseconds since the Unix epoch, as the proposer saw it.
    pub timestamp_ms: u64,
    /// The proposing validator's consensus key.
    pub proposer: [u8; 32],
    /// Merkle root of the entries' digests.
    pub entries_root: [u8; 32],
    /// The entries, in order.
    pub entries: Vec<Entry>,
    /// The encoded entries (kept so that encoding and hashing do not re-encode them).
    encoded: Vec<Vec<u8>>,
}

impl Block {
    /// The timestamp (ms since the Unix epoch, the proposer's clock) in an encoded block's
    /// header, without decoding its entries; `None` for bytes too short or of another version.
    pub fn timestamp_of(bytes: &[u8]) -> Option<u64> {
        if bytes.first() != Some(&BLOCK_VERSION) {
            return None;
        }
        let at = 1 + 8 + 32;
        Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
    }

    /// A block over `entries`, computing their Merkle root.
    pub fn new(
        height: u64,
        parent: BlockDigest,
        timestamp_ms: u64,
        proposer: [u8; 32],
        entries: Vec<Entry>,
    ) -> Self {
        let encoded: Vec<Vec<u8>> = entries.iter().map(Entry::encode).collect();
        let entries_root = merkle::root(encoded.iter().map(|bytes| merkle::leaf(bytes)));
        Self {
            height,
            parent,
            timestamp_ms,
            proposer,
            entries_root,
            entries,
            encoded,
        }
    }

    /// The genesis block of a consortium whose genesis document hashes to `genesis_hash`.
    pub fn genesis(genesis_hash: [u8; 32]) -> Self {
        Self::new(0, sha256::Digest(genesis_hash), 0, [0u8; 32], Vec::new())
    }

    /// The encoded entries, in order.
    pub fn encoded_entries(&self) -> &[Vec<u8>] {
        &self.encoded
    }

    /// The Merkle root the entries actually have (to compare with [`Block::entries_root`]).
    pub fn computed_entries_root(&self) -> [u8; 32] {
        merkle::root(self.encoded.iter().map(|bytes| merkle::leaf(bytes)))
    }

    /// The encoded length of the block.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.encoded.iter().map(|e| 4 + e.len()).sum::<usize>()
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write(&mut out);
        out
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u8(BLOCK_VERSION);
        buf.put_u64(self.height);
        buf.put_slice(&self.parent.0);
        buf.put_u64(self.timestamp_ms);
        buf.put_slice(&self.proposer);
        buf.put_slice(&self.entries_root);
        buf.put_u32(self.encoded.len() as u32);
        for entry in &self.encoded {
            buf.put_u32(entry.len() as u32);
            buf.put_slice(entry);
        }
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.encoded_len()
    }
}

fn need(buf: &impl Buf, n: usize) -> Result<(), CodecError> {
    if buf.remaining() < n {
        Err(CodecError::EndOfBuffer)
    } else {
        Ok(())
    }
}

impl Read for Block {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        need(buf, HEADER_LEN)?;
        if buf.get_u8() != BLOCK_VERSION {
            return Err(CodecError::Invalid("Block", "unknown version"));
        }
        let height = buf.get_u64();
        let mut parent = [0u8; 32];
        buf.copy_to_slice(&mut parent);
        let timestamp_ms = buf.get_u64();
        let mut proposer = [0u8; 32];
        buf.copy_to_slice(&mut proposer);
        let mut entries_root = [0u8; 32];
        buf.copy_to_slice(&mut entries_root);
        let count = buf.get_u32() as usize;
        if count > MAX_BLOCK_ENTRIES {
            return Err(CodecError::InvalidLength(count));
        }
        let mut total = HEADER_LEN;
        let mut entries = Vec::with_capacity(count);
        let mut encoded = Vec::with_capacity(count);
        for _ in 0..count {
            need(buf, 4)?;
            let len = buf.get_u32() as usize;
            total = total.saturating_add(4 + len);
            if len > MAX_ENTRY_LEN || total > MAX_BLOCK_LEN {
                return Err(CodecError::InvalidLength(len));
            }
            need(buf, len)?;
            let mut bytes = vec![0u8; len];
            buf.copy_to_slice(&mut bytes);
            let entry = Entry::decode(&bytes)
                .map_err(|e| CodecError::Wrapped("Block entry", Box::new(e)))?;
            entries.push(entry);
            encoded.push(bytes);
        }
        Ok(Self {
            height,
            parent: sha256::Digest(parent),
            timestamp_ms,
            proposer,
            entries_root,
            entries,
            encoded,
        })
    }
}

impl Digestible for Block {
    type Digest = BlockDigest;

    fn digest(&self) -> BlockDigest {
        let mut hasher = Sha256::default();
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.put_u8(BLOCK_VERSION);
        header.put_u64(self.height);
        header.put_slice(&self.parent.0);
        header.put_u64(self.timestamp_ms);
        header.put_slice(&self.proposer);
        header.put_slice(&self.entries_root);
        header.put_u32(self.encoded.len() as u32);
        hasher.update(&header);
        for entry in &self.encoded {
            hasher.update(&(entry.len() as u32).to_be_bytes());
            hasher.update(entry);
        }
        hasher.finalize().1
    }
}

impl commonware_consensus::Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.height)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> BlockDigest {
        self.parent
    }
}

impl commonware_consensus::BoundedBlock for Block {
    fn max_encode_size(_: &()) -> usize {
        MAX_BLOCK_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocks_timestamp_is_read_from_its_header_alone() {
        let block = Block::genesis([7; 32]);
        let next = Block::new(1, block.digest(), 1_234_567, [1; 32], Vec::new());
        let bytes = next.to_bytes();
        assert_eq!(Block::timestamp_of(&bytes), Some(1_234_567));
        assert_eq!(Block::timestamp_of(&bytes[..48]), None);
        let mut other = bytes.clone();
        other[0] ^= 0xff;
        assert_eq!(Block::timestamp_of(&other), None);
    }
}
