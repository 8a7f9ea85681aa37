//! Text and DER encodings of keys and fixed-size values: lowercase hex, PEM (RFC 7468),
//! PKCS#8 and SubjectPublicKeyInfo for Ed25519 and X25519 keys (RFC 8410).
//!
//! Decoders are strict: one expected PEM label, exact lengths, the exact DER prefix of the
//! algorithm. Anything else is an [`EncodingError`], never a panic.

use zeroize::Zeroizing;

use crate::labels;

/// Why bytes or text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// Not lowercase or uppercase hexadecimal with an even number of digits.
    #[error("invalid hex")]
    Hex,
    /// The decoded value has the wrong length.
    #[error("wrong length: expected {expected} bytes, got {got}")]
    Length {
        /// The expected length in bytes.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// The input is longer than this decoder accepts.
    #[error("input too large: at most {max} bytes")]
    TooLarge {
        /// The accepted maximum in bytes.
        max: usize,
    },
    /// Not a well-formed PEM document.
    #[error("invalid PEM")]
    Pem,
    /// A PEM document with another label than the one expected.
    #[error("unexpected PEM label: expected {expected:?}")]
    PemLabel {
        /// The expected label.
        expected: &'static str,
    },
    /// The DER structure is not the expected key type.
    #[error("not a {expected} key")]
    KeyType {
        /// The expected algorithm.
        expected: &'static str,
    },
    /// A scalar that is not reduced modulo the group order.
    #[error("non-canonical scalar")]
    NonCanonicalScalar,
    /// Bytes that are not the canonical encoding of a group element.
    #[error("invalid or non-canonical point encoding")]
    InvalidPoint,
    /// A public key of small order, or otherwise unusable.
    #[error("weak public key")]
    WeakKey,
    /// A structured encoding that violates its format.
    #[error("malformed encoding: {0}")]
    Malformed(&'static str),
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes hex of any length, refusing more than `max` decoded bytes.
pub fn from_hex(text: &str, max: usize) -> Result<Vec<u8>, EncodingError> {
    if text.len() > max.saturating_mul(2) {
        return Err(EncodingError::TooLarge { max });
    }
    hex::decode(text).map_err(|_| EncodingError::Hex)
}

/// Decodes hex of exactly `N` bytes.
pub fn from_hex_array<const N: usize>(text: &str) -> Result<[u8; N], EncodingError> {
    if text.len() != 2 * N {
        return Err(if hex::decode(text).is_ok() {
            EncodingError::Length {
                expected: N,
                got: text.len() / 2,
            }
        } else {
            EncodingError::Hex
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| EncodingError::Hex)?;
    Ok(out)
}

/// A byte slice as a fixed-size array, or a length error.
pub fn to_array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], EncodingError> {
    bytes.try_into().map_err(|_| EncodingError::Length {
        expected: N,
        got: bytes.len(),
    })
}

/// Largest PEM document accepted (a scoped view key file holds many blocks, each small).
const MAX_PEM_BLOCK: usize = 4096;

/// PEM-encodes `der` under `label`, LF line endings.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    // Encoding can only fail for labels that are not valid RFC 7468 labels; ours are constants.
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

/// Decodes one PEM block, which must carry `label`. The result is wiped on drop.
pub fn pem_decode(label: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, EncodingError> {
    if text.len() > MAX_PEM_BLOCK {
        return Err(EncodingError::TooLarge { max: MAX_PEM_BLOCK });
    }
    let (found, der) =
        pem_rfc7468::decode_vec(text.trim().as_bytes()).map_err(|_| EncodingError::Pem)?;
    let der = Zeroizing::new(der);
    if found != label {
        return Err(EncodingError::PemLabel { expected: label });
    }
    Ok(der)
}

/// Splits a text holding several PEM blocks into the blocks, each ending with its END line.
pub fn pem_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let Some(end_marker) = after.find("-----END ") else {
            break;
        };
        let tail = &after[end_marker + "-----END ".len()..];
        let Some(close) = tail.find("-----") else {
            break;
        };
        let block_len = end_marker + "-----END ".len() + close + "-----".len();
        blocks.push(&after[..block_len]);
        rest = &after[block_len..];
    }
    blocks
}

/// The RFC 8410 algorithms Veil stores keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 signatures (OID 1.3.101.112).
    Ed25519,
    /// X25519 key agreement (OID 1.3.101.110).
    X25519,
}

impl KeyAlgorithm {
    fn oid_byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x70,
            Self::X25519 => 0x6e,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::X25519 => "X25519",
        }
    }

    /// `OneAsymmetricKey` v1 (RFC 5958) with no attributes, as RFC 8410 §10.3 shows.
    fn pkcs8_prefix(self) -> [u8; 16] {
        [
            0x30,
            0x2e,
            0x02,
            0x01,
            0x00,
            0x30,
            0x05,
            0x06,
            0x03,
            0x2b,
            0x65,
            self.oid_byte(),
            0x04,
            0x22,
            0x04,
            0x20,
        ]
    }

    /// `SubjectPublicKeyInfo` (RFC 5280) for a 32-byte key, RFC 8410 §10.1.
    fn spki_prefix(self) -> [u8; 12] {
        [
            0x30,
            0x2a,
            0x30,
            0x05,
            0x06,
            0x03,
            0x2b,
            0x65,
            self.oid_byte(),
            0x03,
            0x21,
            0x00,
        ]
    }
}

/// PKCS#8 PEM of a 32-byte private key.
pub fn private_key_to_pem(algorithm: KeyAlgorithm, secret: &[u8; 32]) -> String {
    let mut der = Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&algorithm.pkcs8_prefix());
    der.extend_from_slice(secret);
    pem_encode(labels::pem::PRIVATE_KEY, &der)
}

/// The 32-byte private key inside a PKCS#8 PEM document of `algorithm`.
pub fn private_key_from_pem(
    algorithm: KeyAlgorithm,
    text: &str,
) -> Result<Zeroizing<[u8; 32]>, EncodingError> {
    let der = pem_decode(labels::pem::PRIVATE_KEY, text)?;
    let prefix = algorithm.pkcs8_prefix();
    if der.len() != prefix.len() + 32 || der[..prefix.len()] != prefix {
        return Err(EncodingError::KeyType {
            expected: algorithm.name(),
        });
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&der[prefix.len()..]);
    Ok(out)
}

/// SubjectPublicKeyInfo PEM of a 32-byte public key.
pub fn public_key_to_pem(algorithm: KeyAlgorithm, public: &[u8; 32]) -> String {
    let mut der = Vec::with_capacity(44);
    der.extend_from_slice(&algorithm.spki_prefix());
    der.extend_from_slice(public);
    pem_encode(labels::pem::PUBLIC_KEY, &der)
}

/// The 32-byte public key inside a SubjectPublicKeyInfo PEM document of `algorithm`.
pub fn public_key_from_pem(algorithm: KeyAlgorithm, text: &str) -> Result<[u8; 32], EncodingError> {
    let der = pem_decode(labels::pem::PUBLIC_KEY, text)?;
    let prefix = algorithm.spki_prefix();
    if der.len() != prefix.len() + 32 || der[..prefix.len()] != prefix {
        return Err(EncodingError::KeyType {
            expected: algorithm.name(),
        });
    }
    to_array(&der[prefix.len()..])
}

/// Appends `bytes` preceded by its length as a big-endian `u32`.
///
/// Every variable-length component of an AAD, HKDF info or signed message is framed this
/// way, so that no two different tuples of components encode to the same bytes.
pub fn put_framed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Components are bounded far below 4 GiB by every caller; saturate rather than wrap.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A bounds-checked cursor over untrusted bytes. Every read either succeeds or returns
/// [`EncodingError::Malformed`]; [`Reader::finish`] refuses trailing bytes.
#[derive(Debug)]
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], EncodingError> {
        if self.0.len() < n {
            return Err(EncodingError::Malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], EncodingError> {
        to_array(self.take(N)?)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, EncodingError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, EncodingError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, EncodingError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, EncodingError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.0.len()
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(self) -> Result<(), EncodingError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(EncodingError::Malformed("trailing bytes"))
        }
    }
}

/// Implements `Serialize`/`Deserialize` as a lowercase hex string, through `to_bytes` and
/// `from_bytes`.
macro_rules! serde_as_hex {
    ($ty:ty, $len:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&$crate::encoding::to_hex(&self.to_bytes()))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text =
                    <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                let bytes = $crate::encoding::from_hex_array::<$len>(&text)
                    .map_err(serde::de::Error::custom)?;
                <$ty>::from_bytes(&bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(from_hex_array::<2>("0aff").unwrap(), [0x0a, 0xff]);
        assert_eq!(
            from_hex_array::<2>("0a"),
            Err(EncodingError::Length {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(from_hex_array::<2>("zzzz"), Err(EncodingError::Hex));
        assert_eq!(from_hex_array::<2>("abc"), Err(EncodingError::Hex));
        assert_eq!(
            from_hex("00".repeat(5).as_str(), 4),
            Err(EncodingError::TooLarge { max: 4 })
        );
    }

    #[test]
    fn pkcs8_round_trip_and_type_confusion() {
        let secret = [7u8; 32];
        let pem = private_key_to_pem(KeyAlgorithm::Ed25519, &secret);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            *private_key_from_pem(KeyAlgorithm::Ed25519, &pem).unwrap(),
            secret
        );
        assert_eq!(
            private_key_from_pem(KeyAlgorithm::X25519, &pem),
            Err(EncodingError::KeyType { expected: "X25519" })
        );
        let public = public_key_to_pem(KeyAlgorithm::X25519, &secret);
        assert_eq!(
            private_key_from_pem(KeyAlgorithm::X25519, &public),
            Err(EncodingError::PemLabel {
                expected: "PRIVATE KEY"
            })
        );
        assert_eq!(
            public_key_from_pem(KeyAlgorithm::X25519, &public).unwrap(),
            secret
        );
        assert_eq!(
            public_key_from_pem(KeyAlgorithm::X25519, "not pem"),
            Err(EncodingError::Pem)
        );
    }

    #[test]
    fn pem_blocks_splits_documents() {
        let a = public_key_to_pem(KeyAlgorithm::X25519, &[1; 32]);
        let b = public_key_to_pem(KeyAlgorithm::Ed25519, &[2; 32]);
        let text = format!("# comment\n{a}\n{b}");
        let blocks = pem_blocks(&text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            public_key_from_pem(KeyAlgorithm::Ed25519, blocks[1]).unwrap(),
            [2; 32]
        );
    }

    #[test]
    fn framing_is_injective() {
        let mut ab_c = Vec::new();
        put_framed(&mut ab_c, b"ab");
        put_framed(&mut ab_c, b"c");
        let mut a_bc = Vec::new();
        put_framed(&mut a_bc, b"a");
        put_framed(&mut a_bc, b"bc");
        assert_ne!(ab_c, a_bc);
    }
}
