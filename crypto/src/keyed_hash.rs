//! Keyed hashes of identifiers, such as the `borrower_ref` the gateway derives from a national
//! id: `HMAC-SHA256(key, framed(label) || framed(purpose) || value)`.
//!
//! Every member gateway holds the same consortium key, so every bank derives the same
//! reference for the same borrower (screening and registries can match it), while anyone
//! without the key cannot test guesses of the identifier against it.

use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::encoding;
use crate::labels;
use crate::secret::Secret;

/// A consortium-wide 32-byte key for keyed hashes.
#[derive(Debug, Clone)]
pub struct KeyedHashKey(Secret<[u8; 32]>);

impl KeyedHashKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Secret::new(*bytes))
    }

    /// The key from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, encoding::EncodingError> {
        let bytes = zeroize::Zeroizing::new(encoding::from_hex_array::<32>(text.trim())?);
        Ok(Self::from_bytes(&bytes))
    }

    /// A key of one member's own, derived from one of its secrets: HKDF-SHA256 (RFC 5869)
    /// with `salt` as the domain label and the secret as input keying material. Different
    /// salts give independent keys; nobody without `secret` can compute or test them.
    pub fn derive(salt: &[u8], secret: &[u8; 32]) -> Self {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8,160-byte limit, so expansion cannot fail.
        let _ = hkdf::Hkdf::<Sha256>::new(Some(salt), secret).expand(&[], key.as_mut());
        Self::from_bytes(&key)
    }

    /// `HMAC-SHA256(key, framed(label) || framed(purpose) || value)`.
    pub fn hash(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        let mut message = Vec::with_capacity(64 + value.len());
        encoding::put_framed(&mut message, labels::KEYED_HASH);
        encoding::put_framed(&mut message, purpose.as_bytes());
        message.extend_from_slice(value);
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(self.0.expose()) else {
            return [0u8; 32];
        };
        mac.update(&message);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_reference_other_key_other_reference() {
        let a = KeyedHashKey::from_bytes(&[1; 32]);
        let b = KeyedHashKey::from_bytes(&[2; 32]);
        let id = b"110101199003077777";
        assert_eq!(a.hash("borrower", id), a.hash("borrower", id));
        assert_ne!(a.hash("borrower", id), b.hash("borrower", id));
        assert_ne!(a.hash("borrower", id), a.hash("other", id));
        let seed = [7u8; 32];
        let derived = KeyedHashKey::derive(b"salt-1", &seed);
        assert_eq!(
            derived.hash("p", id),
            KeyedHashKey::derive(b"salt-1", &seed).hash("p", id)
        );
        assert_ne!(
            derived.hash("p", id),
            KeyedHashKey::derive(b"salt-2", &seed).hash("p", id)
        );
        assert_ne!(
            derived.hash("p", id),
            KeyedHashKey::derive(b"salt-1", &[8; 32]).hash("p", id)
        );
        assert!(!format!("{a:?}").contains("0101"));
    }
}
