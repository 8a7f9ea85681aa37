//! # veil-tests
//!
//! Multi-member end-to-end, fault and privacy tests live under `tests/tests/`.
