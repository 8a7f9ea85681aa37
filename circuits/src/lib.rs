//! # veil-circuits
//!
//! Groth16 circuits over BN254 (settlement and screening proofs). Not built yet: this crate
//! holds no circuits and exports nothing; see issue 5.
