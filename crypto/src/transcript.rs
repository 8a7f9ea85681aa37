//! Merlin transcripts for Veil's proofs.
//!
//! Every proof starts its transcript with a versioned label from
//! [`crate::labels::transcript`], then absorbs the whole public statement — the entry id it
//! belongs to, its purpose inside the entry, every commitment and public coefficient — before
//! the prover commits to anything or any challenge is drawn. A proof therefore cannot be
//! replayed into another entry, another purpose, or another statement.

use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

use crate::labels::transcript as label;
use crate::pedersen::Commitment;

/// Veil's transcript operations.
pub(crate) trait TranscriptExt {
    /// A new transcript for `proof_label`, bound to `entry_id` and `purpose`.
    fn for_statement(proof_label: &'static [u8], entry_id: &[u8], purpose: &str) -> Self;
    /// Absorbs a count (number of values, bit size).
    fn append_count(&mut self, label: &'static [u8], count: usize);
    /// Absorbs a commitment's canonical encoding.
    fn append_commitment(&mut self, commitment: &Commitment);
    /// Absorbs a signed public integer as 16 bytes, two's complement, big-endian.
    fn append_integer(&mut self, label: &'static [u8], value: i128);
    /// Draws a challenge scalar (64 bytes reduced modulo ℓ).
    fn challenge(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptExt for Transcript {
    fn for_statement(proof_label: &'static [u8], entry_id: &[u8], purpose: &str) -> Self {
        let mut transcript = Transcript::new(proof_label);
        transcript.append_message(label::ENTRY_ID, entry_id);
        transcript.append_message(label::PURPOSE, purpose.as_bytes());
        transcript
    }

    fn append_count(&mut self, label: &'static [u8], count: usize) {
        self.append_u64(label, count as u64);
    }

    fn append_commitment(&mut self, commitment: &Commitment) {
        self.append_message(label::COMMITMENT, commitment.compressed().as_bytes());
    }

    fn append_integer(&mut self, label: &'static [u8], value: i128) {
        self.append_message(label, &value.to_be_bytes());
    }

    fn challenge(&mut self, label: &'static [u8]) -> Scalar {
        let mut wide = [0u8; 64];
        self.challenge_bytes(label, &mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    }
}
