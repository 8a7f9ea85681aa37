//! Entries: a caller's request to a signed, encrypted, proved ledger entry ([`request`],
//! [`builder`]), and a ledger entry to what a caller may see ([`reader`]), with the keys that
//! do it ([`keys`], [`circuits`], regulators' published [`view_keys`]). The consortium's
//! business rules live here.
//!
//! Depends on [`crate::consortium`] only; knows nothing of HTTP.

pub mod builder;
pub mod circuits;
pub mod error;
pub mod keys;
pub mod national_id;
pub mod reader;
pub mod request;
pub mod strict_json;
pub mod view_keys;
