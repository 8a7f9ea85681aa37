//! Twisted-ElGamal decrypt handles that let the regulator's auditor key recover every
//! committed amount, with a validity proof every node checks.
//!
//! A ledger amount is a Pedersen commitment `C = v·B + r·H` (`B`, `H = B_blinding` from
//! [`pedersen::generators`]). The auditor holds a nonzero secret scalar `s` and publishes
//! `P = s⁻¹·H`. A writer attaches to `C` the *decrypt handle* `D = r·P`; then `(C, D)` is a
//! twisted-ElGamal ciphertext of `v` (Chen, Ma, Tang, Au, "PGC: Decentralized Confidential
//! Payment System with Auditability", ESORICS 2020, §4), because `s·D = r·H` and
//!
//! ```text
//! C − s·D = v·B.
//! ```
//!
//! The handle costs 32 bytes and reuses the commitment the range and relation proofs already
//! cover, so no second ciphertext of the amount is needed. The writer proves with a
//! [`ValidityProof`] that it knows `(v, r)` with `C = v·B + r·H` and `D = r·P` — the
//! single-handle case of the "grouped ciphertext validity proof" of Solana's zk-token-sdk
//! (`zk-sdk/src/sigma_proofs/grouped_ciphertext_validity_proof`):
//!
//! ```text
//! prover:   y_v, y_r ← random;  Y_0 = y_v·B + y_r·H;  Y_1 = y_r·P;  c = H(transcript)
//!           z_v = y_v + c·v;    z_r = y_r + c·r
//! verifier: c = H(transcript);  accept iff  z_v·B + z_r·H == Y_0 + c·C
//!                                      and  z_r·P       == Y_1 + c·D
//! ```
//!
//! Special soundness extracts `(v, r)`; by the binding of Pedersen commitments these are the
//! value and blinding the range proof extracted from the same `C`, so the auditor's
//! `C − s·D` is `v·B` for the 64-bit value the ledger accepted.
//!
//! ## Transcript
//!
//! A Merlin transcript labelled [`labels::transcript::AUDITOR_VALIDITY_PROOF`] absorbs, in
//! order: `entry-id` (the 16-byte statement id), `purpose`, `auditor-public-key` (`P`),
//! `commitment` (`C`), `decrypt-handle` (`D`), then `nonce-commitment` `Y_0` and
//! `nonce-commitment` `Y_1`, and draws `challenge` `c` (64 bytes reduced modulo ℓ).
//!
//! ## Batches
//!
//! One proof per (commitment, handle) pair, each standing on its own (no index or count in
//! its transcript: a proof only says that `D` is a valid handle for `C`, which does not
//! depend on where the pair sits). [`ValidityProof::verify_batch`] checks `n` proofs under
//! one context at once: it weights each pair's two equations with independent random
//! scalars and checks the sum with one variable-time multiscalar multiplication of
//! `4n + 3` points. A batch with any bad proof fails except with probability about 2⁻²⁵².
//!
//! ## Sizes
//!
//! Public key, handle: 32 bytes each (compressed Ristretto). Proof: 128 bytes
//! (`Y_0 ‖ Y_1 ‖ z_v ‖ z_r`). Per amount on the ledger: handle + proof = 160 bytes.
//!
//! ## Decryption
//!
//! The auditor computes `v·B` in constant time ([`AuditorSecretKey::decrypt_point`]). Getting
//! `v` from `v·B` is a discrete logarithm: [`AuditorSecretKey::vartime_decrypt_amount`] first
//! checks a hint (the value of the HPKE-wrapped opening) at constant cost, and otherwise runs
//! baby-step giant-step over `[0, 2^32)` ([`DLOG_BITS`]) with a table of 2^16 baby steps
//! built once per process (about 640 KiB: an 8-byte key and a 2-byte step per entry). Larger
//! amounts need the hint; the point check still proves whether the hint is right.

use core::fmt;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::{self, EncodingError};
use crate::labels;
use crate::pedersen::{self, Commitment, Opening};
use crate::proof::ProofError;
use crate::transcript::TranscriptExt;

/// Encoded length of an [`AuditorPublicKey`].
pub const PUBLIC_KEY_LEN: usize = 32;
/// Encoded length of an [`AuditorSecretKey`] (its canonical scalar).
pub const SECRET_KEY_LEN: usize = 32;
/// Encoded length of a [`DecryptHandle`].
pub const HANDLE_LEN: usize = 32;
/// Encoded length of a [`ValidityProof`]: `Y_0 ‖ Y_1 ‖ z_v ‖ z_r`.
pub const PROOF_LEN: usize = 128;
/// Most (commitment, handle) pairs in one batch.
pub const MAX_BATCH: usize = 4096;
/// Amounts below `2^DLOG_BITS` decrypt without a hint.
pub const DLOG_BITS: u32 = 32;

/// Why an auditor key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditorError {
    /// The secret scalar is zero: a seed or random output that reduces to 0 modulo ℓ
    /// (probability 2⁻²⁵² for uniform input, so in practice a broken random source), or an
    /// encoded zero key.
    #[error("degenerate auditor secret key")]
    DegenerateKey,
    /// The key bytes are malformed.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
}

/// The auditor's secret: a nonzero scalar `s`. Wiped on drop; `Debug` shows only the public
/// key; equality is constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuditorSecretKey {
    secret: Scalar,
    #[zeroize(skip)]
    public: AuditorPublicKey,
}

impl AuditorSecretKey {
    /// A fresh uniformly random key. Fails only if `rng` returns a zero scalar.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, AuditorError> {
        Self::from_scalar(Scalar::random(rng))
    }

    /// The key derived from 32 bytes of seed material:
    /// `s = SHA-512(framed(`[`labels::AUDITOR_KEY`]`) ‖ seed) mod ℓ`, framed as in
    /// [`encoding::put_framed`]. The seed should be uniformly random; the same seed always
    /// gives the same key.
    pub fn derive(seed: &[u8; 32]) -> Result<Self, AuditorError> {
        let mut label = Vec::with_capacity(4 + labels::AUDITOR_KEY.len());
        encoding::put_framed(&mut label, labels::AUDITOR_KEY);
        let mut hasher = Sha512::new();
        hasher.update(&label);
        hasher.update(seed);
        let wide: Zeroizing<[u8; 64]> = Zeroizing::new(hasher.finalize().into());
        Self::from_scalar(Scalar::from_bytes_mod_order_wide(&wide))
    }

    /// Decodes the canonical 32-byte little-endian scalar, refusing zero.
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Result<Self, AuditorError> {
        Self::from_scalar(pedersen::scalar_from_bytes(bytes)?)
    }

    /// The canonical 32-byte little-endian scalar, wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    fn from_scalar(secret: Scalar) -> Result<Self, AuditorError> {
        let secret = Zeroizing::new(secret);
        if bool::from(secret.ct_eq(&Scalar::ZERO)) {
            return Err(AuditorError::DegenerateKey);
        }
        // Scalar inversion and the variable-base multiplication are both constant time.
        let inverse = Zeroizing::new(secret.invert());
        let public = AuditorPublicKey::from_point(*inverse * pedersen::generators().B_blinding);
        Ok(Self {
            secret: *secret,
            public,
        })
    }

    /// The public key `P = s⁻¹·B_blinding`.
    pub fn public_key(&self) -> &AuditorPublicKey {
        &self.public
    }

    /// `C − s·D`, which is `v·B` when `D` is a valid handle for `C = v·B + r·B_blinding`.
    /// Constant time.
    pub fn decrypt_point(&self, commitment: &Commitment, handle: &DecryptHandle) -> RistrettoPoint {
        commitment.point() - self.secret * handle.point()
    }

    /// Whether `(commitment, handle)` decrypts to `value`, i.e. `C − s·D == value·B`.
    /// Constant time. A reader holding an HPKE-wrapped opening uses it to detect an opening
    /// that disagrees with what the auditor recovers.
    pub fn check_opening(
        &self,
        commitment: &Commitment,
        handle: &DecryptHandle,
        value: u64,
    ) -> bool {
        amount_point(value)
            .ct_eq(&self.decrypt_point(commitment, handle))
            .into()
    }

    /// The amount `(commitment, handle)` encrypts, if it can be found.
    ///
    /// With a `hint` that decrypts correctly (checked as in [`Self::check_opening`], at
    /// constant cost) returns the hint. Otherwise — no hint, or a wrong one — solves the
    /// discrete logarithm of `C − s·D` by baby-step giant-step over `[0, 2^DLOG_BITS)`, in
    /// time that depends on the amount (at most 2^16 giant steps; the 640 KiB table is built
    /// on the first call of the process). Returns `None` if the amount is not below
    /// `2^DLOG_BITS` (or the handle is invalid) and the hint, if any, is wrong.
    pub fn vartime_decrypt_amount(
        &self,
        commitment: &Commitment,
        handle: &DecryptHandle,
        hint: Option<u64>,
    ) -> Option<u64> {
        let point = self.decrypt_point(commitment, handle);
        if let Some(value) = hint
            && bool::from(amount_point(value).ct_eq(&point))
        {
            return Some(value);
        }
        discrete_log::vartime_solve(&point)
    }
}

impl ConstantTimeEq for AuditorSecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.secret.ct_eq(&other.secret)
    }
}

impl PartialEq for AuditorSecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for AuditorSecretKey {}

impl fmt::Debug for AuditorSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditorSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// `value·B`, in constant time.
fn amount_point(value: u64) -> RistrettoPoint {
    RistrettoPoint::mul_base(&Scalar::from(value))
}

crate::point::point_type!(
    /// The auditor's public key `P = s⁻¹·B_blinding`: a Ristretto point other than the
    /// identity (for which every handle would be the identity and prove nothing).
    AuditorPublicKey,
    pub(crate)
);

impl AuditorPublicKey {
    /// Decodes a canonical compressed Ristretto point, refusing the identity
    /// ([`EncodingError::WeakKey`]).
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, EncodingError> {
        let key = decode_point(bytes).map(Self::from_point)?;
        if key.point.is_identity() {
            return Err(EncodingError::WeakKey);
        }
        Ok(key)
    }
}

crate::point::point_type!(
    /// A decrypt handle `D = r·P`: with the commitment `C = v·B + r·B_blinding` it forms the
    /// twisted-ElGamal ciphertext `(C, D)` of `v` under the auditor key `P`.
    DecryptHandle,
    pub(crate)
);

impl DecryptHandle {
    /// The handle of `opening`'s commitment for `key`: `blinding·P`. Constant time.
    pub fn new(key: &AuditorPublicKey, opening: &Opening) -> Self {
        Self::from_point(opening.blinding() * key.point)
    }

    /// Decodes a canonical compressed Ristretto point.
    pub fn from_bytes(bytes: &[u8; HANDLE_LEN]) -> Result<Self, EncodingError> {
        decode_point(bytes).map(Self::from_point)
    }
}

fn decode_point(bytes: &[u8; 32]) -> Result<RistrettoPoint, EncodingError> {
    CompressedRistretto(*bytes)
        .decompress()
        .ok_or(EncodingError::InvalidPoint)
}

/// The public context of validity proofs: the statement they belong to, their purpose in it,
/// and the auditor key the handles are for.
#[derive(Debug, Clone, Copy)]
pub struct AuditContext<'a> {
    /// The 16-byte statement id of the entry (genesis, submitter, entry id).
    pub statement_id: &'a [u8; 16],
    /// What the amounts are inside the entry (e.g. `loan-amounts`).
    pub purpose: &'a str,
    /// The auditor key every handle is made for.
    pub key: &'a AuditorPublicKey,
}

impl AuditContext<'_> {
    /// The transcript up to the prover's first message: label, statement id, purpose, key,
    /// commitment, handle.
    fn transcript(&self, commitment: &Commitment, handle: &DecryptHandle) -> Transcript {
        let mut transcript = Transcript::for_statement(
            labels::transcript::AUDITOR_VALIDITY_PROOF,
            self.statement_id,
            self.purpose,
        );
        transcript.append_message(
            labels::transcript::AUDITOR_PUBLIC_KEY,
            self.key.compressed.as_bytes(),
        );
        transcript.append_commitment(commitment);
        transcript.append_message(
            labels::transcript::DECRYPT_HANDLE,
            handle.compressed.as_bytes(),
        );
        transcript
    }
}

/// The challenge after the prover's nonce commitments.
fn challenge(mut transcript: Transcript, proof: &ValidityProof) -> Scalar {
    transcript.append_message(
        labels::transcript::NONCE_COMMITMENT,
        proof.nonce_commitment.compressed().as_bytes(),
    );
    transcript.append_message(
        labels::transcript::NONCE_COMMITMENT,
        proof.nonce_handle.compressed.as_bytes(),
    );
    transcript.challenge(labels::transcript::CHALLENGE)
}

fn check_count(count: usize) -> Result<(), ProofError> {
    if count == 0 {
        return Err(ProofError::InvalidStatement("no handles"));
    }
    if count > MAX_BATCH {
        return Err(ProofError::InvalidStatement("too many handles"));
    }
    Ok(())
}

/// A proof that a [`DecryptHandle`] is valid for a commitment under an auditor key: knowledge
/// of `(v, r)` with `C = v·B + r·B_blinding` and `D = r·P`. 128 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ValidityProof {
    /// `Y_0 = y_v·B + y_r·B_blinding`.
    nonce_commitment: Commitment,
    /// `Y_1 = y_r·P`.
    nonce_handle: DecryptHandle,
    /// `z_v = y_v + c·v`.
    value_response: Scalar,
    /// `z_r = y_r + c·r`.
    blinding_response: Scalar,
}

impl ValidityProof {
    /// Makes the decrypt handle of `opening`'s commitment for `context.key` and proves it
    /// valid. Constant time in the opening.
    pub fn prove(context: &AuditContext<'_>, opening: &Opening) -> (DecryptHandle, Self) {
        let commitment = opening.commit();
        let handle = DecryptHandle::new(context.key, opening);
        let mut transcript = context.transcript(&commitment, &handle);
        let value = Zeroizing::new(Scalar::from(opening.value()));
        // The nonces are bound to the witness and the statement, and randomized: they never
        // repeat for two different challenges even if the system RNG were weak.
        let (value_nonce, blinding_nonce) = {
            let mut rng = transcript
                .build_rng()
                .rekey_with_witness_bytes(b"value", value.as_bytes())
                .rekey_with_witness_bytes(b"blinding", opening.blinding().as_bytes())
                .finalize(&mut rand::thread_rng());
            (
                Zeroizing::new(Scalar::random(&mut rng)),
                Zeroizing::new(Scalar::random(&mut rng)),
            )
        };
        let nonce_commitment =
            Commitment::from_point(pedersen::generators().commit(*value_nonce, *blinding_nonce));
        let nonce_handle = DecryptHandle::from_point(*blinding_nonce * context.key.point);
        transcript.append_message(
            labels::transcript::NONCE_COMMITMENT,
            nonce_commitment.compressed().as_bytes(),
        );
        transcript.append_message(
            labels::transcript::NONCE_COMMITMENT,
            nonce_handle.compressed.as_bytes(),
        );
        let challenge = transcript.challenge(labels::transcript::CHALLENGE);
        let proof = Self {
            nonce_commitment,
            nonce_handle,
            value_response: *value_nonce + challenge * *value,
            blinding_response: *blinding_nonce + challenge * opening.blinding(),
        };
        (handle, proof)
    }

    /// [`Self::prove`] for each opening, in order. Refuses an empty batch or one of more than
    /// [`MAX_BATCH`] openings.
    pub fn prove_batch(
        context: &AuditContext<'_>,
        openings: &[&Opening],
    ) -> Result<Vec<(DecryptHandle, Self)>, ProofError> {
        check_count(openings.len())?;
        Ok(openings
            .iter()
            .map(|opening| Self::prove(context, opening))
            .collect())
    }

    /// Verifies that `handle` is a valid decrypt handle for `commitment` under `context`.
    pub fn verify(
        &self,
        context: &AuditContext<'_>,
        commitment: &Commitment,
        handle: &DecryptHandle,
    ) -> Result<(), ProofError> {
        Self::verify_batch(context, &[(commitment, handle, self)])
    }

    /// Verifies every (commitment, handle, proof) triple under one `context` at once, with
    /// random weights and one variable-time multiscalar multiplication of `4n + 3` points.
    /// Fails with [`ProofError::Verification`] if any one proof is bad (without saying which;
    /// verify them one by one to find it), and refuses an empty batch or one of more than
    /// [`MAX_BATCH`] triples.
    pub fn verify_batch(
        context: &AuditContext<'_>,
        items: &[(&Commitment, &DecryptHandle, &ValidityProof)],
    ) -> Result<(), ProofError> {
        check_count(items.len())?;
        let gens = pedersen::generators();
        let mut rng = rand::thread_rng();
        let mut scalars = Vec::with_capacity(4 * items.len() + 3);
        let mut points = Vec::with_capacity(4 * items.len() + 3);
        let (mut b_weight, mut h_weight, mut p_weight) = (Scalar::ZERO, Scalar::ZERO, Scalar::ZERO);
        for (commitment, handle, proof) in items {
            let challenge = challenge(context.transcript(commitment, handle), proof);
            // α·(z_v·B + z_r·H − Y_0 − c·C) + β·(z_r·P − Y_1 − c·D) = 0.
            let alpha = Scalar::random(&mut rng);
            let beta = Scalar::random(&mut rng);
            b_weight += alpha * proof.value_response;
            h_weight += alpha * proof.blinding_response;
            p_weight += beta * proof.blinding_response;
            scalars.extend([-alpha, -(alpha * challenge), -beta, -(beta * challenge)]);
            points.extend([
                *proof.nonce_commitment.point(),
                *commitment.point(),
                proof.nonce_handle.point,
                handle.point,
            ]);
        }
        scalars.extend([b_weight, h_weight, p_weight]);
        points.extend([gens.B, gens.B_blinding, context.key.point]);
        if RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity() {
            Ok(())
        } else {
            Err(ProofError::Verification)
        }
    }

    /// `Y_0 ‖ Y_1 ‖ z_v ‖ z_r`, 128 bytes.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..32].copy_from_slice(self.nonce_commitment.compressed().as_bytes());
        out[32..64].copy_from_slice(self.nonce_handle.compressed.as_bytes());
        out[64..96].copy_from_slice(self.value_response.as_bytes());
        out[96..].copy_from_slice(self.blinding_response.as_bytes());
        out
    }

    /// Decodes `Y_0 ‖ Y_1 ‖ z_v ‖ z_r`, refusing a wrong length, points that are not canonical
    /// Ristretto encodings and scalars that are not reduced modulo ℓ.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        if bytes.len() != PROOF_LEN {
            return Err(EncodingError::Length {
                expected: PROOF_LEN,
                got: bytes.len(),
            }
            .into());
        }
        let mut reader = encoding::Reader::new(bytes);
        let nonce_commitment = Commitment::from_bytes(&reader.array()?)?;
        let nonce_handle = DecryptHandle::from_bytes(&reader.array()?)?;
        let value_response = pedersen::scalar_from_bytes(&reader.array()?)?;
        let blinding_response = pedersen::scalar_from_bytes(&reader.array()?)?;
        reader.finish()?;
        Ok(Self {
            nonce_commitment,
            nonce_handle,
            value_response,
            blinding_response,
        })
    }

    /// Lowercase hex of the encoding.
    pub fn to_hex(&self) -> String {
        encoding::to_hex(&self.to_bytes())
    }

    /// Decodes hex.
    pub fn from_hex(text: &str) -> Result<Self, ProofError> {
        Self::from_bytes(&encoding::from_hex_array::<PROOF_LEN>(text)?)
    }
}

impl fmt::Debug for ValidityProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidityProof({})", self.to_hex())
    }
}

encoding::serde_as_hex!(ValidityProof, PROOF_LEN);

/// Baby-step giant-step discrete logarithms of `v·B` for `v < 2^DLOG_BITS`.
///
/// `v = i·2^16 + j` with `i, j < 2^16`. The table maps the first 8 bytes of the encoding of
/// `2·j·B` (for `1 ≤ j < 2^16`; doubling lets a batch of points share one field inversion,
/// [`RistrettoPoint::double_and_compress_batch`]) to `j`, sorted: 2^16 × (8 + 2) bytes. The
/// search walks `Q_i = v·B − i·2^16·B` and looks each `2·Q_i` up; `Q_i` the identity means
/// `j = 0`. An 8-byte key can collide, so each hit is confirmed by recomputing `v·B`.
/// Ristretto has prime order, so `2·Q = 2·j·B` implies `Q = j·B`.
mod discrete_log {
    use std::sync::OnceLock;

    use super::*;

    const BABY_BITS: u32 = super::DLOG_BITS / 2;
    const BABY: u64 = 1 << BABY_BITS;
    /// Points compressed per field inversion in the giant-step walk.
    const BATCH: usize = 256;

    struct Table {
        /// Sorted keys of `2·j·B`.
        keys: Vec<u64>,
        /// `j` of each key.
        steps: Vec<u16>,
        /// `2^16·B`.
        giant: RistrettoPoint,
    }

    fn key(compressed: &CompressedRistretto) -> u64 {
        let b = compressed.as_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    fn table() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(build)
    }

    fn build() -> Table {
        let base = pedersen::generators().B;
        let mut multiples = Vec::with_capacity(BABY as usize - 1);
        let mut point = base;
        for _ in 1..BABY {
            multiples.push(point);
            point += base;
        }
        let mut entries: Vec<(u64, u16)> = RistrettoPoint::double_and_compress_batch(&multiples)
            .iter()
            .map(key)
            .zip(1..=u16::MAX)
            .collect();
        entries.sort_unstable();
        Table {
            keys: entries.iter().map(|(key, _)| *key).collect(),
            steps: entries.iter().map(|(_, step)| *step).collect(),
            giant: point,
        }
    }

    impl Table {
        /// The `v = giant·2^16 + j` for a table hit on `doubled`, confirmed against `target`.
        fn lookup(
            &self,
            doubled: &CompressedRistretto,
            giant: u64,
            target: &RistrettoPoint,
        ) -> Option<u64> {
            let key = key(doubled);
            let start = self.keys.partition_point(|k| *k < key);
            let keys = self.keys.get(start..)?;
            let steps = self.steps.get(start..)?;
            keys.iter()
                .zip(steps)
                .take_while(|(k, _)| **k == key)
                .map(|(_, step)| giant * BABY + u64::from(*step))
                .find(|value| RistrettoPoint::mul_base(&Scalar::from(*value)) == *target)
        }
    }

    /// The `v < 2^DLOG_BITS` with `v·B == target`, if any. Variable time in `v`.
    pub(super) fn vartime_solve(target: &RistrettoPoint) -> Option<u64> {
        let table = table();
        let minus_giant = -table.giant;
        let mut walk = *target;
        let mut batch = Vec::with_capacity(BATCH);
        let mut batch_steps = Vec::with_capacity(BATCH);
        for giant in 0..BABY {
            if walk.is_identity() {
                return Some(giant * BABY);
            }
            batch.push(walk);
            batch_steps.push(giant);
            if batch.len() == BATCH || giant == BABY - 1 {
                let doubled = RistrettoPoint::double_and_compress_batch(&batch);
                let found = doubled
                    .iter()
                    .zip(&batch_steps)
                    .find_map(|(point, giant)| table.lookup(point, *giant, target));
                if found.is_some() {
                    return found;
                }
                batch.clear();
                batch_steps.clear();
            }
            walk += minus_giant;
        }
        None
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn table_covers_every_baby_step() {
            let table = table();
            assert_eq!(table.keys.len(), BABY as usize - 1);
            assert!(table.keys.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(table.giant, RistrettoPoint::mul_base(&Scalar::from(BABY)));
            for j in [1u64, 2, 255, 256, BABY - 1] {
                let point = RistrettoPoint::mul_base(&Scalar::from(j));
                assert_eq!(vartime_solve(&point), Some(j));
            }
        }

        #[test]
        fn every_batch_boundary_is_searched() {
            for giant in [0u64, 1, BATCH as u64 - 1, BATCH as u64, BABY - 1] {
                for j in [0u64, 1, BABY - 1] {
                    let value = giant * BABY + j;
                    let point = RistrettoPoint::mul_base(&Scalar::from(value));
                    assert_eq!(vartime_solve(&point), Some(value), "{giant}·2^16 + {j}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_secret_is_refused() {
        assert_eq!(
            AuditorSecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            AuditorError::DegenerateKey
        );
    }

    #[test]
    fn public_key_is_inverse_times_blinding_generator() {
        let key = AuditorSecretKey::derive(&[3; 32]).unwrap();
        assert_eq!(
            key.secret * key.public_key().point(),
            pedersen::generators().B_blinding
        );
        assert_eq!(
            format!("{key:?}"),
            format!("AuditorSecretKey {{ public: {:?}, .. }}", key.public_key())
        );
    }
}
