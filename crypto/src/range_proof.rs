//! 64-bit range proofs over Pedersen commitments (Bulletproofs), single and aggregated.
//!
//! An aggregated proof covers `m` commitments at once; Bulletproofs aggregates powers of two,
//! so `m` is padded to the next power of two with commitments to zero under blinding zero
//! (the identity point), which prover and verifier add identically. The transcript absorbs
//! [`labels::transcript::RANGE_PROOF`], the entry id, the purpose, the bit size, the number of
//! real values and every commitment (padding included) before Bulletproofs adds its own
//! domain separator.

use core::fmt;
use std::sync::OnceLock;

use bulletproofs::BulletproofGens;
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use merlin::Transcript;

use crate::encoding::EncodingError;
use crate::labels;
use crate::pedersen::{self, Commitment, Opening};
use crate::proof::ProofError;
use crate::transcript::TranscriptExt;

/// Every range proof shows a value lies in `[0, 2^64)`.
pub const BITS: usize = 64;
/// Most values one aggregated proof covers (after padding).
pub const MAX_AGGREGATION: usize = 64;
/// Longest encoded proof: `32 · (9 + 2·log2(BITS · MAX_AGGREGATION))` bytes.
pub const MAX_PROOF_LEN: usize = 32 * (9 + 2 * 12);

/// The Bulletproofs generators for 64-bit proofs of up to [`MAX_AGGREGATION`] values.
pub fn bulletproof_generators() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(BITS, MAX_AGGREGATION))
}

/// The aggregation size used for `count` values: the next power of two.
pub fn padded_len(count: usize) -> usize {
    count.next_power_of_two()
}

/// The encoded length of a proof over `count` values.
pub fn proof_len(count: usize) -> usize {
    let log2 = (BITS * padded_len(count)).trailing_zeros() as usize;
    32 * (9 + 2 * log2)
}

fn transcript(
    entry_id: &[u8],
    purpose: &str,
    padded: &[CompressedRistretto],
    count: usize,
) -> Transcript {
    let mut transcript =
        Transcript::for_statement(labels::transcript::RANGE_PROOF, entry_id, purpose);
    transcript.append_count(labels::transcript::BITS, BITS);
    transcript.append_count(labels::transcript::COUNT, count);
    for commitment in padded {
        transcript.append_message(labels::transcript::COMMITMENT, commitment.as_bytes());
    }
    transcript
}

fn check_count(count: usize) -> Result<(), ProofError> {
    if count == 0 {
        return Err(ProofError::InvalidStatement("no values"));
    }
    if count > MAX_AGGREGATION {
        return Err(ProofError::InvalidStatement("too many values"));
    }
    Ok(())
}

/// A proof that every one of a list of commitments opens to a value in `[0, 2^64)`.
#[derive(Clone)]
pub struct RangeProof(bulletproofs::RangeProof);

impl RangeProof {
    /// Proves that every opening's value is a 64-bit integer, for the statement
    /// (`entry_id`, `purpose`, the openings' commitments). Returns the proof and the
    /// commitments, in the openings' order.
    pub fn prove(
        entry_id: &[u8],
        purpose: &str,
        openings: &[&Opening],
    ) -> Result<(Self, Vec<Commitment>), ProofError> {
        check_count(openings.len())?;
        let padded = padded_len(openings.len());
        let commitments: Vec<Commitment> = openings.iter().map(|o| o.commit()).collect();
        let mut values: Vec<u64> = openings.iter().map(|o| o.value()).collect();
        let mut blindings: Vec<Scalar> = openings.iter().map(|o| *o.blinding()).collect();
        values.resize(padded, 0);
        blindings.resize(padded, Scalar::ZERO);
        let compressed = padded_commitments(&commitments);
        let mut transcript = transcript(entry_id, purpose, &compressed, openings.len());
        let result = bulletproofs::RangeProof::prove_multiple(
            bulletproof_generators(),
            pedersen::generators(),
            &mut transcript,
            &values,
            &blindings,
            BITS,
        );
        for blinding in &mut blindings {
            zeroize::Zeroize::zeroize(blinding);
        }
        let (proof, _) = result.map_err(|_| ProofError::UnsatisfiedWitness)?;
        Ok((Self(proof), commitments))
    }

    /// Verifies the proof for the statement (`entry_id`, `purpose`, `commitments`).
    pub fn verify(
        &self,
        entry_id: &[u8],
        purpose: &str,
        commitments: &[Commitment],
    ) -> Result<(), ProofError> {
        check_count(commitments.len())?;
        let compressed = padded_commitments(commitments);
        let mut transcript = transcript(entry_id, purpose, &compressed, commitments.len());
        self.0
            .verify_multiple(
                bulletproof_generators(),
                pedersen::generators(),
                &mut transcript,
                &compressed,
                BITS,
            )
            .map_err(|_| ProofError::Verification)
    }

    /// The Bulletproofs encoding (`A, S, T1, T2, t_x, t_x_blinding, e_blinding, L/R..., a, b`).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Decodes a proof, refusing oversized input, non-canonical scalars and bad lengths.
    /// Points are checked when the proof is verified.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        if bytes.len() > MAX_PROOF_LEN {
            return Err(EncodingError::TooLarge { max: MAX_PROOF_LEN }.into());
        }
        bulletproofs::RangeProof::from_bytes(bytes)
            .map(Self)
            .map_err(|_| EncodingError::Malformed("range proof").into())
    }

    /// Decodes a proof over `count` values: its length must be exactly [`proof_len`].
    pub fn from_bytes_for(bytes: &[u8], count: usize) -> Result<Self, ProofError> {
        check_count(count)?;
        if bytes.len() != proof_len(count) {
            return Err(EncodingError::Length {
                expected: proof_len(count),
                got: bytes.len(),
            }
            .into());
        }
        Self::from_bytes(bytes)
    }
}

impl fmt::Debug for RangeProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RangeProof({} bytes)", self.to_bytes().len())
    }
}

fn padded_commitments(commitments: &[Commitment]) -> Vec<CompressedRistretto> {
    let mut out: Vec<CompressedRistretto> = commitments.iter().map(|c| *c.compressed()).collect();
    out.resize(
        padded_len(commitments.len()),
        CompressedRistretto::identity(),
    );
    out
}
