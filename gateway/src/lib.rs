//! # veil-gateway
//!
//! What a bank's platform team runs in front of its node, and the `veil` command:
//!
//! - [`init`]: `veil init`, the consortium directory (CA, keys, certificates, genesis,
//!   configs), with [`pki`] issuing certificates and [`config`] the gateway's config file.
//!
//! Invariant: every secret file this crate writes is created with mode 0600, and every secret
//! it reads is refused if group or others can read it.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
pub mod init;
pub mod pki;
