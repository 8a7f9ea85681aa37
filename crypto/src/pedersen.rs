//! Pedersen commitments to 64-bit amounts on Ristretto.
//!
//! `commit(v, r) = v·B + r·B_blinding` with the generators of
//! `bulletproofs::PedersenGens::default()` (B is the Ristretto basepoint, B_blinding is
//! derived from it by hashing). Commitments are additively homomorphic, which the relation
//! proofs use: a public integer combination of commitments is a commitment to the same
//! combination of values, with the same combination of blindings.
//!
//! Encodings: a commitment is its 32-byte compressed Ristretto point, a blinding its 32-byte
//! little-endian canonical scalar. Decoders refuse non-canonical encodings.

use core::fmt;
use std::sync::OnceLock;

use bulletproofs::PedersenGens;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::EncodingError;

/// Why a linear combination of openings is not a valid 64-bit opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpeningError {
    /// The combined value is negative or does not fit in 64 bits.
    #[error("combined value out of the 64-bit range")]
    OutOfRange,
}

/// Length of an opening's plaintext ([`Opening::to_plaintext`]).
pub const OPENING_PLAINTEXT_LEN: usize = 40;

/// The Pedersen generators shared by every commitment and proof.
pub fn generators() -> &'static PedersenGens {
    static GENS: OnceLock<PedersenGens> = OnceLock::new();
    GENS.get_or_init(PedersenGens::default)
}

/// A public integer as a scalar (negative integers map to their negation mod ℓ).
pub fn scalar_from_i128(value: i128) -> Scalar {
    let magnitude = Scalar::from(value.unsigned_abs());
    if value < 0 { -magnitude } else { magnitude }
}

/// Decodes a canonical 32-byte little-endian scalar.
pub fn scalar_from_bytes(bytes: &[u8; 32]) -> Result<Scalar, EncodingError> {
    Option::from(Scalar::from_canonical_bytes(*bytes)).ok_or(EncodingError::NonCanonicalScalar)
}

crate::point::point_type!(
    /// A commitment: a valid Ristretto point, kept with its canonical encoding.
    Commitment,
    pub
);

impl Commitment {
    /// Decodes a canonical compressed Ristretto point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, EncodingError> {
        let compressed = CompressedRistretto(*bytes);
        let point = compressed.decompress().ok_or(EncodingError::InvalidPoint)?;
        Ok(Self { point, compressed })
    }

    /// `Σ coefficient·commitment + constant·B`, in variable time (commitments are public).
    pub fn vartime_linear_combination(terms: &[(i64, &Commitment)], constant: i128) -> Self {
        let scalars = terms
            .iter()
            .map(|(coefficient, _)| scalar_from_i128(i128::from(*coefficient)))
            .chain(core::iter::once(scalar_from_i128(constant)));
        let points = terms
            .iter()
            .map(|(_, commitment)| commitment.point)
            .chain(core::iter::once(generators().B));
        Self::from_point(RistrettoPoint::vartime_multiscalar_mul(scalars, points))
    }

    /// Whether `opening` opens this commitment. Constant time in the opening.
    pub fn is_opened_by(&self, opening: &Opening) -> bool {
        opening.commit().compressed == self.compressed
    }
}

/// The opening of a commitment: a 64-bit value and its blinding. Wiped on drop; `Debug`
/// redacts both.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    value: u64,
    blinding: Scalar,
}

impl Opening {
    /// An opening with a fresh random blinding.
    pub fn random(value: u64) -> Self {
        Self {
            value,
            blinding: Scalar::random(&mut rand::thread_rng()),
        }
    }

    /// An opening with the given blinding.
    pub fn new(value: u64, blinding: Scalar) -> Self {
        Self { value, blinding }
    }

    /// An opening from a value and a canonical 32-byte blinding.
    pub fn from_parts(value: u64, blinding: &[u8; 32]) -> Result<Self, EncodingError> {
        Ok(Self::new(value, scalar_from_bytes(blinding)?))
    }

    /// The committed value.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The blinding.
    pub fn blinding(&self) -> &Scalar {
        &self.blinding
    }

    /// The fixed-width plaintext of this opening, as a reader group carries it:
    /// [`OPENING_PLAINTEXT_LEN`] = 40 bytes, `u64_be(value) || blinding` (32-byte canonical
    /// little-endian scalar), so every amount's ciphertext has one length whatever its value
    /// (`docs/protocol/envelope.md`). Wiped on drop. Inverse: [`Opening::from_plaintext`].
    pub fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
        let blinding = Zeroizing::new(self.blinding_bytes());
        let mut plaintext = Zeroizing::new(Vec::with_capacity(OPENING_PLAINTEXT_LEN));
        plaintext.extend_from_slice(&self.value.to_be_bytes());
        plaintext.extend_from_slice(blinding.as_ref());
        plaintext
    }

    /// Parses [`Opening::to_plaintext`]'s bytes: `None` unless exactly
    /// [`OPENING_PLAINTEXT_LEN`] bytes with a canonical blinding. Whether it opens an entry's
    /// commitment is the caller's check.
    pub fn from_plaintext(plaintext: &[u8]) -> Option<Self> {
        if plaintext.len() != OPENING_PLAINTEXT_LEN {
            return None;
        }
        let (value, blinding) = plaintext.split_first_chunk::<8>()?;
        let blinding: Zeroizing<[u8; 32]> = Zeroizing::new(blinding.try_into().ok()?);
        Self::from_parts(u64::from_be_bytes(*value), &blinding).ok()
    }

    /// The blinding's canonical 32-byte little-endian encoding.
    pub fn blinding_bytes(&self) -> [u8; 32] {
        self.blinding.to_bytes()
    }

    /// The commitment `value·B + blinding·B_blinding`.
    pub fn commit(&self) -> Commitment {
        Commitment::from_point(generators().commit(Scalar::from(self.value), self.blinding))
    }

    /// `Σ coefficient·opening + constant`: the opening of the commitment that
    /// [`Commitment::vartime_linear_combination`] computes from the same terms. Fails if the
    /// combined value is not in `[0, 2^64)`.
    pub fn linear_combination(
        terms: &[(i64, &Opening)],
        constant: i128,
    ) -> Result<Self, OpeningError> {
        let mut value = constant;
        let mut blinding = Scalar::ZERO;
        for (coefficient, opening) in terms {
            let term = i128::from(*coefficient)
                .checked_mul(i128::from(opening.value))
                .ok_or(OpeningError::OutOfRange)?;
            value = value.checked_add(term).ok_or(OpeningError::OutOfRange)?;
            blinding += scalar_from_i128(i128::from(*coefficient)) * opening.blinding;
        }
        let value = u64::try_from(value).map_err(|_| OpeningError::OutOfRange)?;
        Ok(Self { value, blinding })
    }
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Opening([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_round_trip_and_opening() {
        let opening = Opening::random(150_000);
        let commitment = opening.commit();
        assert!(commitment.is_opened_by(&opening));
        assert!(!commitment.is_opened_by(&Opening::new(150_001, *opening.blinding())));
        assert_eq!(
            Commitment::from_bytes(&commitment.to_bytes()).unwrap(),
            commitment
        );
        assert_eq!(
            Commitment::from_hex(&commitment.to_hex()).unwrap(),
            commitment
        );
        assert_eq!(format!("{opening:?}"), "Opening([REDACTED])");
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // 2^255 - 18 is not a canonical field element: Ristretto decoding refuses it.
        let mut bytes = [0xffu8; 32];
        bytes[0] = 0xee;
        bytes[31] = 0x7f;
        assert_eq!(
            Commitment::from_bytes(&bytes),
            Err(EncodingError::InvalidPoint)
        );
        // A negative field element (low bit set) is never a canonical Ristretto encoding.
        let mut odd = [0u8; 32];
        odd[0] = 1;
        assert_eq!(
            Commitment::from_bytes(&odd),
            Err(EncodingError::InvalidPoint)
        );
        // ℓ itself is not a canonical scalar.
        let ell = crate::encoding::from_hex_array::<32>(
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
        )
        .unwrap();
        assert_eq!(
            scalar_from_bytes(&ell),
            Err(EncodingError::NonCanonicalScalar)
        );
        assert_eq!(
            Commitment::from_slice(&[0u8; 31]),
            Err(EncodingError::Length {
                expected: 32,
                got: 31
            })
        );
    }

    #[test]
    fn linear_combination_checks_range() {
        let a = Opening::random(10);
        let b = Opening::random(3);
        let diff = Opening::linear_combination(&[(1, &a), (-1, &b)], 0).unwrap();
        assert_eq!(diff.value(), 7);
        let derived =
            Commitment::vartime_linear_combination(&[(1, &a.commit()), (-1, &b.commit())], 0);
        assert!(derived.is_opened_by(&diff));
        assert_eq!(
            Opening::linear_combination(&[(-1, &a)], 0).unwrap_err(),
            OpeningError::OutOfRange
        );
        let capped = Opening::linear_combination(&[(-1, &a)], 2400).unwrap();
        assert_eq!(capped.value(), 2390);
    }
}
