//! Helpers for Veil's canonical byte encodings: big-endian integers, length-prefixed strings
//! and byte strings, each with a decoder-enforced maximum.

use veil_crypto::EncodingError;
use veil_crypto::encoding::Reader;

/// An append-only encoder.
#[derive(Debug, Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.0.extend_from_slice(value);
    }

    /// A string of at most 255 bytes, prefixed by its length as one byte. Callers validate
    /// lengths before encoding; longer strings are truncated rather than mis-framed.
    pub(crate) fn str8(&mut self, value: &str) {
        let bytes = &value.as_bytes()[..value.len().min(255)];
        self.u8(bytes.len() as u8);
        self.bytes(bytes);
    }

    /// A byte string prefixed by its length as a `u32`.
    pub(crate) fn bytes32(&mut self, value: &[u8]) {
        self.u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
        self.bytes(value);
    }
}

/// Reads a one-byte-length string of at most `max` bytes, checked by `valid`.
pub(crate) fn read_str8(
    reader: &mut Reader<'_>,
    max: usize,
    what: &'static str,
    valid: impl Fn(&str) -> bool,
) -> Result<String, EncodingError> {
    let len = usize::from(reader.u8()?);
    if len > max {
        return Err(EncodingError::Malformed(what));
    }
    let text =
        std::str::from_utf8(reader.take(len)?).map_err(|_| EncodingError::Malformed(what))?;
    if !valid(text) {
        return Err(EncodingError::Malformed(what));
    }
    Ok(text.to_owned())
}

/// Reads a `u32`-length byte string of at most `max` bytes.
pub(crate) fn read_bytes32<'a>(
    reader: &mut Reader<'a>,
    max: usize,
    what: &'static str,
) -> Result<&'a [u8], EncodingError> {
    let len = reader.u32()? as usize;
    if len > max {
        return Err(EncodingError::Malformed(what));
    }
    reader.take(len)
}
