//! Durable ledger storage behind a trait: the consensus-facing code never sees RocksDB.
//!
//! A finalized block is applied with [`Store::apply`] as one atomic, synced write (block,
//! certificate, entries, indexes, the registry keys its updates change, head), so after a crash the store holds every block it
//! acknowledged and no partial one. [`memory::MemoryStore`] serves unit tests and simulations;
//! [`rocks::RocksStore`] serves real nodes. Key layout: [`keys`].

pub mod keys;
pub mod memory;
#[cfg(feature = "rocksdb")]
pub mod rocks;

use veil_circuits::screening::stored::{KvWrite, RegistryKv};

use crate::ledger::EntryId;

/// Why the store failed. A node that sees one stops rather than serve or finalize on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage engine failed.
    #[error("storage engine: {0}")]
    Engine(String),
    /// Stored bytes are not what was written (corruption or tearing).
    #[error("corrupt store: {0}")]
    Corrupt(&'static str),
    /// The store belongs to another consortium.
    #[error("store belongs to another genesis")]
    WrongGenesis,
    /// A block that does not extend the head.
    #[error("block {height} does not extend the head")]
    NotNext {
        /// The offending height.
        height: u64,
    },
}

/// A finalized block as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlock {
    /// Height.
    pub height: u64,
    /// Block digest.
    pub digest: [u8; 32],
    /// Encoded block.
    pub block: Vec<u8>,
    /// Encoded finalization certificate (empty for genesis).
    pub finalization: Vec<u8>,
}

/// An entry as stored, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Height of its block.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
    /// Encoded entry.
    pub bytes: Vec<u8>,
}

/// One entry of a block being applied, with what the indexes need.
#[derive(Debug, Clone)]
pub struct AppliedEntry {
    /// Entry id.
    pub id: EntryId,
    /// Entry type name.
    pub kind: String,
    /// Entries it references.
    pub references: Vec<EntryId>,
    /// Whether it settles its references (a settlement).
    pub settles_references: bool,
    /// Encoded entry.
    pub bytes: Vec<u8>,
}

/// A finalized block to apply.
#[derive(Debug, Clone)]
pub struct AppliedBlock {
    /// The block record.
    pub block: StoredBlock,
    /// Its entries, in order.
    pub entries: Vec<AppliedEntry>,
    /// The registry keys its `registry.updated` entries change (`None`: delete), from
    /// `crate::registry::finalized_writes`; empty when it has none.
    pub registry: Vec<KvWrite>,
}

/// Ledger storage.
pub trait Store: Send + Sync + 'static {
    /// The highest applied block (height, digest), if any.
    fn head(&self) -> Result<Option<(u64, [u8; 32])>, StoreError>;

    /// Applies the next finalized block atomically and durably. The block's height must be
    /// one above the head (or 0 on an empty store).
    fn apply(&self, block: &AppliedBlock) -> Result<(), StoreError>;

    /// A consistent read-only view of the finalized screening registry (the registry after
    /// the last applied `registry.updated` entry), unaffected by blocks applied while it is
    /// held.
    fn registry(&self) -> Result<Box<dyn RegistryKv + '_>, StoreError>;

    /// The block at `height`.
    fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError>;

    /// The entry with id `id`.
    fn entry(&self, id: &EntryId) -> Result<Option<StoredEntry>, StoreError>;

    /// Whether an entry with id `id` is stored.
    fn contains(&self, id: &EntryId) -> Result<bool, StoreError> {
        Ok(self.entry(id)?.is_some())
    }

    /// Up to `limit` entries of type `kind` after position `after`, in ledger order.
    fn entries_by_type(
        &self,
        kind: &str,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, StoreError>;

    /// Entries that reference `id`, in ledger order.
    fn referrers(&self, id: &EntryId) -> Result<Vec<StoredEntry>, StoreError>;

    /// The settlement that settled repayment `id`, if any.
    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, StoreError>;

    /// Binds an empty store to `genesis_hash`, or checks that it is bound to it.
    fn check_genesis(&self, genesis_hash: &[u8; 32]) -> Result<(), StoreError>;
}

/// Checks that `block` extends `head`.
pub(crate) fn check_next(
    head: Option<(u64, [u8; 32])>,
    block: &StoredBlock,
) -> Result<(), StoreError> {
    let expected = head.map_or(0, |(height, _)| height + 1);
    if block.height == expected {
        Ok(())
    } else {
        Err(StoreError::NotNext {
            height: block.height,
        })
    }
}

/// Encodes a block record: `u32_be(len(block)) || block || finalization`.
pub(crate) fn encode_block_record(block: &StoredBlock) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + block.block.len() + block.finalization.len());
    out.extend_from_slice(&(block.block.len() as u32).to_be_bytes());
    out.extend_from_slice(&block.block);
    out.extend_from_slice(&block.finalization);
    out
}

/// Decodes a block record.
pub(crate) fn decode_block_record(height: u64, bytes: &[u8]) -> Result<StoredBlock, StoreError> {
    let corrupt = || StoreError::Corrupt("block record");
    let len = u32::from_be_bytes(
        bytes
            .get(..4)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    ) as usize;
    let block = bytes.get(4..4 + len).ok_or_else(corrupt)?.to_vec();
    let finalization = bytes.get(4 + len..).ok_or_else(corrupt)?.to_vec();
    let digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&block).into()
    };
    Ok(StoredBlock {
        height,
        digest,
        block,
        finalization,
    })
}

/// Encodes an entry record: `u64_be(height) || u32_be(index) || entry`.
pub(crate) fn encode_entry_record(height: u64, index: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + bytes.len());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

/// Decodes an entry record.
pub(crate) fn decode_entry_record(bytes: &[u8]) -> Result<StoredEntry, StoreError> {
    let corrupt = || StoreError::Corrupt("entry record");
    let height = u64::from_be_bytes(
        bytes
            .get(..8)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let index = u32::from_be_bytes(
        bytes
            .get(8..12)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    Ok(StoredEntry {
        height,
        index,
        bytes: bytes[12..].to_vec(),
    })
}
