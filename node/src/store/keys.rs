//! Every key the node stores, in one place.
//!
//! | column family | key                                                    | value                                  |
//! |---------------|--------------------------------------------------------|----------------------------------------|
//! | `blocks`      | `u64_be(height)`                                       | `u32_be(len) block bytes || finalization bytes` |
//! | `entries`     | entry id (16 bytes)                                    | `u64_be(height) u32_be(index) entry bytes` |
//! | `indexes`     | `b't' || type || 0x00 || u64_be(height) || u32_be(index)` | entry id — entries by type, in ledger order |
//! | `indexes`     | `b'r' || referenced id || u64_be(height) || u32_be(index)` | entry id — entries referring to an entry |
//! | `indexes`     | `b's' || repayment id`                                 | settlement entry id — repayments already settled |
//! | `metadata`    | `b"head"`                                              | `u64_be(height) || digest (32)`          |
//! | `metadata`    | `b"genesis"`                                           | genesis hash (32)                      |
//! | `registry`    | the screening registry after the last finalized `registry.updated`, in the layout of `veil_circuits::screening::stored::keys` (tree nodes, members, free slots, slot counters, version = that entry's digest) | |
//!
//! Big-endian heights and indexes make RocksDB's byte order the ledger order.

/// Column family of finalized blocks.
pub const CF_BLOCKS: &str = "blocks";
/// Column family of entries by id.
pub const CF_ENTRIES: &str = "entries";
/// Column family of secondary indexes.
pub const CF_INDEXES: &str = "indexes";
/// Column family of metadata.
pub const CF_METADATA: &str = "metadata";
/// Column family of the finalized screening registry.
pub const CF_REGISTRY: &str = "registry";
/// Every column family.
pub const COLUMN_FAMILIES: [&str; 5] =
    [CF_BLOCKS, CF_ENTRIES, CF_INDEXES, CF_METADATA, CF_REGISTRY];

/// Metadata key of the head.
pub const HEAD: &[u8] = b"head";
/// Metadata key of the genesis hash.
pub const GENESIS: &[u8] = b"genesis";

/// Key of a block.
pub fn block(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// Position suffix shared by index keys.
fn position(out: &mut Vec<u8>, height: u64, index: u32) {
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
}

/// Prefix of the by-type index for `kind`.
pub fn by_type_prefix(kind: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + kind.len() + 12);
    out.push(b't');
    out.extend_from_slice(kind.as_bytes());
    out.push(0);
    out
}

/// By-type index key.
pub fn by_type(kind: &str, height: u64, index: u32) -> Vec<u8> {
    let mut out = by_type_prefix(kind);
    position(&mut out, height, index);
    out
}

/// Prefix of the reverse-reference index for `referenced`.
pub fn referrers_prefix(referenced: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 16 + 12);
    out.push(b'r');
    out.extend_from_slice(referenced);
    out
}

/// Reverse-reference index key.
pub fn referrer(referenced: &[u8; 16], height: u64, index: u32) -> Vec<u8> {
    let mut out = referrers_prefix(referenced);
    position(&mut out, height, index);
    out
}

/// Settled-repayment index key.
pub fn settled(repayment: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    out.push(b's');
    out.extend_from_slice(repayment);
    out
}

/// The (height, index) position at the end of an index key.
pub fn position_of(key: &[u8]) -> Option<(u64, u32)> {
    let tail = key.len().checked_sub(12).map(|start| &key[start..])?;
    let height = u64::from_be_bytes(tail[..8].try_into().ok()?);
    let index = u32::from_be_bytes(tail[8..].try_into().ok()?);
    Some((height, index))
}
