//! # veil-node
//!
//! One bank's consortium node: it validates entries, orders them with its peers through
//! commonware's BFT consensus (`simplex` + `marshal`), and keeps the finalized ledger durable
//! in RocksDB.
//!
//! - [`ledger`]: entries and blocks, with canonical bounded encodings.
//! - [`validation`]: the rules an entry must meet before it can be ordered.
//! - [`consensus`]: the commonware wiring (application, finalized-block applier, gossip).
//! - [`store`]: the `Store` trait, RocksDB and in-memory implementations.
//! - [`genesis`]: the consortium's members, keys and parameters.
//! - [`state`]: what consensus, gossip and the API share.
//!
//! Invariants: an entry is in a proposed block only if it passed validation; a node votes
//! only for blocks whose every entry it validated; a block is acknowledged (and its entries'
//! submitters answered) only after one synced write made it durable; a node that finds a
//! finalized block invalid or its store failing halts rather than continue.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod config;
pub mod consensus;
#[doc(hidden)]
pub mod fuzzing;
pub mod genesis;
pub mod ledger;
pub mod link;
pub mod mempool;
#[cfg(feature = "rocksdb")]
pub mod process;
pub mod registry;
pub mod runner;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tls;
pub mod validation;
