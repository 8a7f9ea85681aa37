//! # veil-node
//!
//! One bank's consortium node: it validates entries, orders them with its peers through
//! commonware's BFT consensus (`simplex` + `marshal`), and keeps the finalized ledger durable
//! in RocksDB.
//!
//! - [`ledger`]: entries and blocks, with canonical bounded encodings.
//! - [`validation`]: the rules an entry must meet before it can be ordered, and why an entry
//!   is refused ([`validation::Rejection`], with a stable [`validation::RejectionCode`]).
//! - [`registry`]: the screening registry as the chain of `registry.updated` entries; the
//!   registry after the last finalized one persisted in the store, checked on overlays.
//! - [`view_keys`]: regulators' view keys published on the ledger (`view_keys.published`).
//! - [`anchor`]: member gateways' disclosure-log heads anchored on the ledger
//!   (`disclosures.anchored`).
//! - [`oprf_report`]: member gateways' daily counts of the borrower-reference OPRF evaluations
//!   they answered each other member (`oprf.evaluations`).
//! - [`consensus`]: the commonware wiring (application, finalized-block applier, gossip).
//! - [`store`]: the `Store` trait, RocksDB and in-memory implementations.
//! - [`genesis`]: the consortium's members, keys and parameters.
//! - [`state`]: what consensus, gossip and the API share.
//! - [`link`], [`api`]: how a gateway talks to its node, in process or over mutual TLS.
//!
//! Dependencies between modules point one way, each layer using only those before it (no
//! module imports one that imports it back): `genesis`, `ledger`, `tls` ← `store`, `mempool` ←
//! `registry`, `view_keys`, `anchor`, `oprf_report` ← `validation` ← `state` ← `consensus` ← `config`, `runner`, `link` ←
//! `api` ← `process`. `testkit` and `fuzzing` serve tests and may use any of them.
//!
//! Invariants: an entry is in a proposed block only if it passed validation; a node votes
//! only for blocks whose every entry it validated; a block is acknowledged (and its entries'
//! submitters answered) only after one synced write made it durable (with the registry keys
//! its updates change); a node that finds a
//! finalized block invalid or its store failing halts rather than continue.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod anchor;
pub mod api;
pub mod audit;
pub mod config;
pub mod consensus;
pub mod exposition;
#[doc(hidden)]
pub mod fuzzing;
pub mod genesis;
pub mod ledger;
pub mod link;
pub mod mempool;
pub mod oprf_report;
pub mod pki;
#[cfg(feature = "rocksdb")]
pub mod problem;
pub mod process;
pub mod recipients;
pub mod registry;
pub mod runner;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tls;
pub mod validation;
pub mod view_keys;

/// The protocol notes of `docs/protocol/` this crate implements, readable in rustdoc.
pub mod notes {
    /// The ledger: entry and block encodings, what nodes check, what they store.
    #[doc = include_str!("../../docs/protocol/ledger.md")]
    pub mod ledger {}
}
