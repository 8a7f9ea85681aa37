//! # veil-policies
//!
//! Entry schemas and per-field Cedar permissions. Not built yet: this crate exports nothing;
//! see issue 4.
