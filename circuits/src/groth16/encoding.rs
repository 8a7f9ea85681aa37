//! arkworks' compressed encoding, written infallibly and read with validation.

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};

use crate::error::{EncodingError, Malformed};

/// The compressed encoding of `value`.
pub(crate) fn to_compressed<T: CanonicalSerialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.compressed_size());
    // Writing to a `Vec` cannot fail, and arkworks' compressed encoding of an in-memory value
    // (points, scalars and vectors of them) has no other failure.
    #[allow(clippy::expect_used)]
    value
        .serialize_compressed(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Decodes untrusted bytes with every check (on the curve, in the subgroup, canonical) and no
/// trailing bytes; `trailing` is the error for bytes left over.
pub(crate) fn from_validated<T: CanonicalDeserialize, E: From<Malformed>>(
    bytes: &[u8],
    trailing: E,
) -> Result<T, E> {
    let mut reader = bytes;
    let value = T::deserialize_with_mode(&mut reader, Compress::Yes, Validate::Yes)
        .map_err(|e| E::from(Malformed::from(e)))?;
    if !reader.is_empty() {
        return Err(trailing);
    }
    Ok(value)
}

/// Decodes an untrusted key or proof ([`from_validated`], failing with [`EncodingError`]s).
pub(crate) fn decode<T: CanonicalDeserialize>(bytes: &[u8]) -> Result<T, EncodingError> {
    from_validated(bytes, EncodingError::TrailingBytes)
}
