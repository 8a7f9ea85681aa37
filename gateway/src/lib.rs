//! # veil-gateway
//!
//! What a bank's platform team runs in front of its node, and the `veil` command:
//!
//! - [`server`], [`routes`]: the HTTPS API over mutual TLS (identity from the client
//!   certificate), with [`app`] holding the operations: write (rules, [`builder`]), read
//!   ([`reader`]: decrypt, check openings, redact, re-verify proofs), loans, disclosures.
//! - [`request`]: typed, bounded requests and the consortium rules; [`problem`]: RFC 9457
//!   errors that never reveal which internal check failed.
//! - [`store`]: idempotency keys, the hash-chained disclosure log and loan indexes (RocksDB).
//! - [`up`], [`demo`], [`bench`], [`audit`]: `veil up` (the embedded default), the joint-loan
//!   story with every claim checked, the end-to-end benchmark, and regulators' exports.
//! - [`init`]: `veil init`, the consortium directory (CA, keys, certificates, genesis,
//!   configs), with [`pki`] issuing certificates and [`config`] the gateway's config file.
//!
//! Invariant: every secret file this crate writes is created with mode 0600, and every secret
//! it reads is refused if group or others can read it.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

/// Identity of the sources this library (and the `veil` binary built with it) was compiled
/// from: 32 hex digits of SHA-256 over the workspace's non-test sources and `Cargo.lock`
/// (see `gateway/build.rs`). Two builds from the same sources have the same id.
pub const BUILD_ID: &str = env!("VEIL_BUILD_ID");

/// What `veil --version` prints after the name: the package version and [`BUILD_ID`].
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (build ",
    env!("VEIL_BUILD_ID"),
    ")"
);

pub mod app;
pub mod audit;
pub mod bench;
pub mod builder;
pub mod ceremony;
pub mod circuits;
pub mod config;
pub mod console;
pub mod demo;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod init;
pub mod keys;
pub mod metrics;
pub mod pki;
pub mod problem;
pub mod progress;
pub mod reader;
pub mod request;
pub mod routes;
pub mod server;
pub mod store;
pub mod up;
