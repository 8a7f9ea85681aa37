//! # veil-gateway
//!
//! What a bank's platform team runs in front of its node, and the `veil` command.
//!
//! ## Where things are
//!
//! | folder / file | holds | a new ... goes here |
//! |---|---|---|
//! | [`api`] | the HTTPS server, one module per resource under `api/routes/`, RFC 9457 problems (the only place errors become HTTP statuses), metrics, the web console | route: `api/routes/<resource>.rs`, registered in `api/routes/mod.rs` and `openapi.rs` |
//! | [`service`] | the gateway's state: write path with idempotency, read path, ledger followers, its own store | gateway operation |
//! | [`entry`] | request → signed, encrypted, proved entry and entry → a caller's view; the consortium's business rules; no HTTP types | entry type: its request in `entry/request.rs`, its builder `entry/builder/<type>.rs`, its view in `entry/reader.rs` (and its schema and proof plan in `veil-policies`, its rules in `veil-node`'s `validation/`) |
//! | [`consortium`] | the one owner of the consortium directory: layout, `veil init`, configs, PKI, circuit keys, ceremony, the DKG of the borrower-reference key, ports | consortium file: its path in `consortium/layout.rs`, written by `consortium/init.rs` |
//! | [`embedded`] | the in-process consortium behind `veil up`, `veil demo`, `veil bench` | |
//! | [`client`] | one party's mTLS JSON client (the CLI and the tests use it) | |
//! | [`scenario`] | the realistic joint-loan workload shared by demo, bench and tests | |
//! | `cli/` (the binary, not this library) | one file per `veil` subcommand; `anyhow` only there | subcommand: `cli/<name>.rs`, listed in `cli/mod.rs` |
//!
//! ## Dependency rule
//!
//! Modules depend only downwards in this list, never back: `cli` (binary) → [`embedded`] →
//! [`api`] → [`service`] → [`entry`] → [`consortium`]; [`client`] and [`scenario`] depend only
//! on [`consortium`], and [`api`] uses [`client`] for the console's forwarding. No module
//! imports one that imports it back.
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

pub mod api;
pub mod client;
pub mod consortium;
pub mod embedded;
pub mod entry;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub mod scenario;
pub mod service;
