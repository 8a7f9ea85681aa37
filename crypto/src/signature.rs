//! Ed25519 signatures (RFC 8032) with domain separation and strict verification.
//!
//! The signed message is `u32_be(len(domain)) || domain || message`, where `domain` is one of
//! the constants in [`crate::labels::signature`], so a signature made for one purpose never
//! verifies for another. Verification is `verify_strict`: non-canonical `s`, non-canonical or
//! small-order `R` and `A` are refused. Public keys of small order are refused at decoding.

use core::fmt;

use ed25519_dalek::Signer as _;
use rand_core::TryCryptoRng;
use zeroize::Zeroizing;

use crate::encoding::{self, EncodingError, KeyAlgorithm};

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature does not verify for this key, domain and message.
    #[error("signature verification failed")]
    Invalid,
    /// The key or signature bytes could not be decoded.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Rng,
}

/// Length of an encoded signature.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key. Wiped on drop; `Debug` shows only the public key.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Self, SignatureError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| SignatureError::Rng)?;
        Ok(Self::from_seed(&seed))
    }

    /// A key from `rng`, for deterministic tests and vectors.
    pub fn generate_with<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, SignatureError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.try_fill_bytes(seed.as_mut())
            .map_err(|_| SignatureError::Rng)?;
        Ok(Self::from_seed(&seed))
    }

    /// The key whose RFC 8032 secret seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The RFC 8032 secret seed, wiped on drop.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Signs `message` under `domain` (a constant from [`crate::labels::signature`]).
    pub fn sign(&self, domain: &'static [u8], message: &[u8]) -> Signature {
        Signature(self.0.sign(&domain_separated(domain, message)))
    }

    /// PKCS#8 PEM (RFC 8410).
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(encoding::private_key_to_pem(
            KeyAlgorithm::Ed25519,
            &self.to_seed(),
        ))
    }

    /// Reads a PKCS#8 PEM Ed25519 private key.
    pub fn from_pem(text: &str) -> Result<Self, EncodingError> {
        let seed = encoding::private_key_from_pem(KeyAlgorithm::Ed25519, text)?;
        Ok(Self::from_seed(&seed))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("verifying_key", &self.verifying_key())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key, known to decode to a point that is not of small order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// Decodes 32 bytes, refusing invalid and small-order points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, EncodingError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| EncodingError::InvalidPoint)?;
        if key.is_weak() {
            return Err(EncodingError::WeakKey);
        }
        Ok(Self(key))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lowercase hex of the encoding.
    pub fn to_hex(&self) -> String {
        encoding::to_hex(&self.to_bytes())
    }

    /// Decodes hex.
    pub fn from_hex(text: &str) -> Result<Self, EncodingError> {
        Self::from_bytes(&encoding::from_hex_array(text)?)
    }

    /// SubjectPublicKeyInfo PEM (RFC 8410).
    pub fn to_pem(&self) -> String {
        encoding::public_key_to_pem(KeyAlgorithm::Ed25519, &self.to_bytes())
    }

    /// Reads a SubjectPublicKeyInfo PEM Ed25519 public key.
    pub fn from_pem(text: &str) -> Result<Self, EncodingError> {
        Self::from_bytes(&encoding::public_key_from_pem(KeyAlgorithm::Ed25519, text)?)
    }

    /// Verifies `signature` on `message` under `domain`, strictly.
    pub fn verify(
        &self,
        domain: &'static [u8],
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        self.0
            .verify_strict(&domain_separated(domain, message), &signature.0)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.to_hex())
    }
}

encoding::serde_as_hex!(VerifyingKey, 32);

/// An Ed25519 signature. Any 64 bytes decode; validity is decided by verification.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Decodes 64 bytes.
    pub fn from_bytes(bytes: &[u8; SIGNATURE_LEN]) -> Result<Self, EncodingError> {
        Ok(Self(ed25519_dalek::Signature::from_bytes(bytes)))
    }

    /// Decodes a slice of exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EncodingError> {
        Self::from_bytes(&encoding::to_array(bytes)?)
    }

    /// The 64-byte encoding `R || s`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", encoding::to_hex(&self.to_bytes()))
    }
}

encoding::serde_as_hex!(Signature, SIGNATURE_LEN);

fn domain_separated(domain: &[u8], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + domain.len() + message.len());
    encoding::put_framed(&mut out, domain);
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;

    #[test]
    fn sign_verify_and_domain_separation() {
        let key = SigningKey::from_seed(&[3; 32]);
        let public = key.verifying_key();
        let signature = key.sign(labels::signature::TEST, b"hello");
        public
            .verify(labels::signature::TEST, b"hello", &signature)
            .unwrap();
        assert_eq!(
            public.verify(labels::signature::ENTRY, b"hello", &signature),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            public.verify(labels::signature::TEST, b"hellp", &signature),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn pem_and_hex_round_trip() {
        let key = SigningKey::from_seed(&[9; 32]);
        let again = SigningKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again.verifying_key(), key.verifying_key());
        let public = key.verifying_key();
        assert_eq!(VerifyingKey::from_pem(&public.to_pem()).unwrap(), public);
        assert_eq!(VerifyingKey::from_hex(&public.to_hex()).unwrap(), public);
        assert!(!format!("{key:?}").contains(&encoding::to_hex(&[9; 32])));
    }

    #[test]
    fn small_order_keys_are_refused() {
        // The identity point and a point of order 2 on Edwards25519.
        let identity = {
            let mut bytes = [0u8; 32];
            bytes[0] = 1;
            bytes
        };
        let order_two = {
            let mut bytes = [0xffu8; 32];
            bytes[0] = 0xec;
            bytes[31] = 0x7f;
            bytes
        };
        assert_eq!(
            VerifyingKey::from_bytes(&identity),
            Err(EncodingError::WeakKey)
        );
        assert_eq!(
            VerifyingKey::from_bytes(&order_two),
            Err(EncodingError::WeakKey)
        );
    }
}
