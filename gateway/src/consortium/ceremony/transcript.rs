//! The transcript hash: one SHA-256 chain over the manifest and every contribution, in order,
//! each link signed by the member who added it.
//!
//! ```text
//! h_0     = SHA-256(framed(CEREMONY_TRANSCRIPT) ‖ framed(canonical manifest))
//! h_{k+1} = SHA-256(h_k ‖ framed(phase) ‖ u64 index ‖ framed(contributor) ‖ u32 count
//!                   ‖ framed(name_1) ‖ framed(record_1) ‖ ... )
//! ```
//!
//! Step `k` is the `index`-th contribution of its phase (`phase1`: one record, named
//! `powers-of-tau`; `phase2`: one record per circuit, named as in the directory, in the
//! manifest's order); the record bytes are the files' as written. The contributor signs
//! `h_{k+1}` with its entry signing key under [`labels::signature::CEREMONY`]. So each
//! signature vouches for the manifest and every contribution before it, in that order: a
//! record moved, edited, dropped or inserted, or a signature copied from another position,
//! no longer verifies. `framed` is [`encoding::put_framed`] (a big-endian `u32` length, then
//! the bytes).

use sha2::{Digest as _, Sha256};
use veil_crypto::signature::SIGNATURE_LEN;
use veil_crypto::{Signature, SigningKey, VerifyingKey, encoding, labels};

/// The name phase 1's single record carries in the transcript.
pub(super) const POWERS_OF_TAU: &str = "powers-of-tau";

/// The phase a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Powers of tau.
    One,
    /// The circuits' keys.
    Two,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::One => "phase1",
            Self::Two => "phase2",
        }
    }
}

/// A transcript hash (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TranscriptHash(pub(super) [u8; 32]);

impl TranscriptHash {
    /// `h_0`, over the manifest's canonical bytes.
    pub(super) fn start(manifest: &[u8]) -> Self {
        let mut bytes = Vec::new();
        encoding::put_framed(&mut bytes, labels::circuits::CEREMONY_TRANSCRIPT);
        encoding::put_framed(&mut bytes, manifest);
        Self(Sha256::digest(&bytes).into())
    }

    /// The hash after `contributor`'s step, the `index`-th of `phase`, which wrote `records`
    /// (name and file bytes of each).
    pub(super) fn next(
        &self,
        phase: Phase,
        index: usize,
        contributor: &str,
        records: &[(String, Vec<u8>)],
    ) -> Self {
        let mut bytes = self.0.to_vec();
        encoding::put_framed(&mut bytes, phase.name().as_bytes());
        bytes.extend_from_slice(&(index as u64).to_be_bytes());
        encoding::put_framed(&mut bytes, contributor.as_bytes());
        let count = u32::try_from(records.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&count.to_be_bytes());
        for (name, record) in records {
            encoding::put_framed(&mut bytes, name.as_bytes());
            encoding::put_framed(&mut bytes, record);
        }
        Self(Sha256::digest(&bytes).into())
    }

    /// The contents of a signature file: hex of `key`'s signature of this hash, and a newline.
    pub(super) fn sign(&self, key: &SigningKey) -> String {
        let signature = key.sign(labels::signature::CEREMONY, &self.0);
        format!("{}\n", encoding::to_hex(&signature.to_bytes()))
    }

    /// Whether `file` (the contents of a signature file) is `key`'s signature of this hash.
    ///
    /// # Errors
    /// `file` is not a hex Ed25519 signature.
    pub(super) fn signed_by(&self, key: &VerifyingKey, file: &str) -> Result<bool, String> {
        let text = file.strip_suffix('\n').unwrap_or(file);
        let signature = encoding::from_hex_array::<SIGNATURE_LEN>(text)
            .ok()
            .and_then(|bytes| Signature::from_bytes(&bytes).ok())
            .ok_or("not a hex Ed25519 signature")?;
        Ok(key
            .verify(labels::signature::CEREMONY, &self.0, &signature)
            .is_ok())
    }
}
