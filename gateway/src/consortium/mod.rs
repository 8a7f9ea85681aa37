//! The consortium directory: its one owner. What `veil init` writes and everything that reads
//! it back: the layout ([`layout`]), the genesis and per-process configs ([`init`],
//! [`config`]), certificates ([`pki`]), party names ([`members`]), the circuits' keys
//! ([`circuit_keys`], from the dev setup or a verified [`ceremony`]), the members' DKG of the
//! borrower-reference key ([`dkg`]), files with safe permissions ([`files`]) and loopback
//! ports ([`ports`]).
//!
//! Depends on nothing else in this crate.

pub mod assemble;
pub mod ceremony;
pub mod circuit_keys;
pub mod config;
pub mod descriptor;
pub mod dkg;
pub mod files;
pub mod init;
pub mod keygen;
pub mod layout;
pub mod members;
pub mod pki;
pub mod ports;

pub use circuit_keys::{CircuitSource, DEFAULT_CAPACITIES};
pub use files::{write_public, write_secret};
pub use init::{InitError, InitOptions, init, is_initialized};
pub use members::{bank_ids, regulator_ids};
pub use ports::{PortLease, lease_base_port};
