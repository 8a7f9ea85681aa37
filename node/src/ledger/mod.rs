//! The ledger's data types and their canonical encodings.

pub(crate) mod codec;

pub mod block;
pub mod entry;
pub mod merkle;

pub use block::{Block, BlockDigest};
pub use entry::{Entry, EntryHeader, EntryId, EntryProofs, UnsignedEntry, statement_id};
