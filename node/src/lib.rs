//! # veil-node
//!
//! The consortium node: ledger types, validation, BFT ordering and RocksDB storage. Not built
//! yet: this crate exports nothing; see issue 3.
