//! Poseidon blindings: derived from the Pedersen blindings whose readers must be able to
//! recompute them, or fresh.

use ark_ff::PrimeField as _;
use ark_std::rand::rngs::OsRng;
use sha2::{Digest as _, Sha512};
use veil_crypto::labels::circuits as labels;

use crate::Fr;

/// A Poseidon blinding derived from a secret (a Pedersen blinding's bytes): whoever can open
/// the Pedersen commitment can recompute the Poseidon one, and nobody else can.
pub fn derived_blinding(secret: &[u8; 32]) -> Fr {
    hash_to_field(labels::BLINDING, secret)
}

/// The blinding of a loan's borrower-reference commitment, derived from a secret its readers
/// hold (the principal's Pedersen blinding): whoever reads both can check the commitment.
pub fn screening_blinding(secret: &[u8; 32]) -> Fr {
    hash_to_field(labels::SCREENING_BLINDING, secret)
}

/// A uniformly random field element (a fresh blinding).
pub fn random_blinding() -> Fr {
    ark_std::UniformRand::rand(&mut OsRng)
}

/// `SHA-512(label || secret)` reduced into the field.
fn hash_to_field(label: &[u8], secret: &[u8; 32]) -> Fr {
    let mut hasher = Sha512::new();
    hasher.update(label);
    hasher.update(secret);
    Fr::from_le_bytes_mod_order(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_blindings_differ() {
        assert_ne!(derived_blinding(&[1; 32]), derived_blinding(&[2; 32]));
    }
}
