//! Field elements as 32-byte little-endian canonical encodings (what entries carry).

use ark_ff::{BigInteger as _, PrimeField as _};

use crate::error::EncodingError;
use crate::{CircuitError, Fr};

/// The canonical encoding.
pub fn to_bytes(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// Decodes a canonical encoding; values at or above the modulus are refused.
pub fn from_bytes(bytes: &[u8; 32]) -> Result<Fr, CircuitError> {
    let x = Fr::from_le_bytes_mod_order(bytes);
    if to_bytes(&x) != *bytes {
        return Err(EncodingError::NonCanonicalField.into());
    }
    Ok(x)
}

/// Decimal digits, as snarkjs writes field elements.
pub fn to_decimal(x: &Fr) -> String {
    x.into_bigint().to_string()
}
