//! X25519 key pairs that receive HPKE-wrapped data keys (RFC 9180, DHKEM(X25519, HKDF-SHA256)).
//!
//! Members and regulators' scoped view keys are [`EncryptionSecretKey`]s. Public keys of small
//! order (for which every Diffie-Hellman output is zero) are refused when decoded.

use core::fmt;

use hpke::{Deserializable as _, Kem as _, Serializable as _};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::encoding::{self, EncodingError, KeyAlgorithm};

/// The HPKE KEM of every Veil envelope: DHKEM(X25519, HKDF-SHA256), KEM id 0x0020.
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;

/// An X25519 secret key (clamped, as RFC 9180 `DeserializePrivateKey` requires).
/// Wiped on drop; `Debug` shows only the public key; equality is constant time.
#[derive(Clone)]
pub struct EncryptionSecretKey {
    secret: <Kem as hpke::Kem>::PrivateKey,
    public: EncryptionPublicKey,
}

impl EncryptionSecretKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Self, EncodingError> {
        let mut ikm = Zeroizing::new([0u8; 32]);
        getrandom::fill(ikm.as_mut()).map_err(|_| EncodingError::Malformed("rng failure"))?;
        Ok(Self::derive(ikm.as_ref()))
    }

    /// RFC 9180 §7.1.3 `DeriveKeyPair(ikm)`. `ikm` should hold at least 32 bytes of entropy.
    pub fn derive(ikm: &[u8]) -> Self {
        let (secret, public) = Kem::derive_keypair(ikm);
        Self {
            secret,
            public: EncryptionPublicKey(public),
        }
    }

    /// Decodes the 32-byte RFC 9180 `SerializePrivateKey` form (it is clamped on decoding).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, EncodingError> {
        let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes).map_err(|_| {
            EncodingError::Length {
                expected: 32,
                got: bytes.len(),
            }
        })?;
        let public = EncryptionPublicKey::from_hpke(Kem::sk_to_pk(&secret))?;
        Ok(Self { secret, public })
    }

    /// The 32-byte serialized secret, wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.secret.to_bytes());
        out
    }

    /// The matching public key.
    pub fn public_key(&self) -> &EncryptionPublicKey {
        &self.public
    }

    /// PKCS#8 PEM (RFC 8410, X25519).
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(encoding::private_key_to_pem(
            KeyAlgorithm::X25519,
            &self.to_bytes(),
        ))
    }

    /// Reads a PKCS#8 PEM X25519 private key.
    pub fn from_pem(text: &str) -> Result<Self, EncodingError> {
        Self::from_bytes(&*encoding::private_key_from_pem(
            KeyAlgorithm::X25519,
            text,
        )?)
    }

    pub(crate) fn hpke(&self) -> &<Kem as hpke::Kem>::PrivateKey {
        &self.secret
    }
}

impl ConstantTimeEq for EncryptionSecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.secret.ct_eq(&other.secret)
    }
}

impl PartialEq for EncryptionSecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for EncryptionSecretKey {}

impl fmt::Debug for EncryptionSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// An X25519 public key that is not of small order.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionPublicKey(<Kem as hpke::Kem>::PublicKey);

impl EncryptionPublicKey {
    /// Decodes 32 bytes, refusing points of small order (on the curve or its twist).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, EncodingError> {
        let key = <Kem as hpke::Kem>::PublicKey::from_bytes(bytes).map_err(|_| {
            EncodingError::Length {
                expected: 32,
                got: bytes.len(),
            }
        })?;
        Self::from_hpke(key)
    }

    fn from_hpke(key: <Kem as hpke::Kem>::PublicKey) -> Result<Self, EncodingError> {
        // A clamped scalar is a multiple of the cofactor 8, so it maps exactly the points of
        // small order (orders 1, 2, 4, 8 on the curve; 1, 2, 4 on the twist) to zero.
        let mut probe = [0u8; 32];
        probe[0] = 8;
        probe[31] = 0x40;
        let bytes: [u8; 32] = encoding::to_array(&key.to_bytes())?;
        if x25519_dalek::x25519(probe, bytes) == [0u8; 32] {
            return Err(EncodingError::WeakKey);
        }
        Ok(Self(key))
    }

    /// The 32-byte encoding (RFC 9180 `SerializePublicKey`).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        encoding::to_hex(&self.to_bytes())
    }

    /// Decodes hex.
    pub fn from_hex(text: &str) -> Result<Self, EncodingError> {
        Self::from_bytes(&encoding::from_hex_array(text)?)
    }

    /// SubjectPublicKeyInfo PEM (RFC 8410, X25519).
    pub fn to_pem(&self) -> String {
        encoding::public_key_to_pem(KeyAlgorithm::X25519, &self.to_bytes())
    }

    /// Reads a SubjectPublicKeyInfo PEM X25519 public key.
    pub fn from_pem(text: &str) -> Result<Self, EncodingError> {
        Self::from_bytes(&encoding::public_key_from_pem(KeyAlgorithm::X25519, text)?)
    }

    pub(crate) fn hpke(&self) -> &<Kem as hpke::Kem>::PublicKey {
        &self.0
    }
}

impl fmt::Debug for EncryptionPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionPublicKey({})", self.to_hex())
    }
}

impl core::hash::Hash for EncryptionPublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.to_bytes().hash(state);
    }
}

encoding::serde_as_hex!(EncryptionPublicKey, 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let key = EncryptionSecretKey::derive(&[5; 32]);
        let again = EncryptionSecretKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again, key);
        assert_eq!(again.public_key(), key.public_key());
        let public = key.public_key();
        assert_eq!(
            &EncryptionPublicKey::from_pem(&public.to_pem()).unwrap(),
            public
        );
        assert_eq!(
            &EncryptionPublicKey::from_hex(&public.to_hex()).unwrap(),
            public
        );
        assert!(!format!("{key:?}").contains(&encoding::to_hex(key.to_bytes().as_ref())));
    }

    #[test]
    fn small_order_points_are_refused() {
        // u = 0 (order 4 on the curve... the point of order 2), u = 1 (order 4 on the twist).
        assert_eq!(
            EncryptionPublicKey::from_bytes(&[0; 32]),
            Err(EncodingError::WeakKey)
        );
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(
            EncryptionPublicKey::from_bytes(&one),
            Err(EncodingError::WeakKey)
        );
        // A point of order 8 (from the list in the X25519 small-order literature).
        let order_8 = encoding::from_hex_array::<32>(
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        )
        .unwrap();
        assert_eq!(
            EncryptionPublicKey::from_bytes(&order_8),
            Err(EncodingError::WeakKey)
        );
    }
}
