//! One message sealed to one recipient: RFC 9180 HPKE single-shot encryption in base mode,
//! with the suite of every Veil envelope (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20-Poly1305; [`crate::envelope`]).
//!
//! ```text
//! (enc, ciphertext) = SealBase(pkR, info = label, aad = context, pt = message)
//! ```
//!
//! `info` is a versioned label from [`crate::labels`] naming what the message is, so a
//! ciphertext made for one purpose never opens for another; `aad` is the caller's context
//! (who sends it, to whom, in which session), so it never opens in another. The recipient's
//! public key enters the key schedule through the KEM (RFC 9180 §4.1: `kem_context = enc ‖
//! pkRm`), so a box sealed to one key does not open with another. HPKE base mode does not
//! authenticate the sender: callers sign `enc ‖ ciphertext` with the sender's signing key.
//!
//! Any RFC 9180 implementation opens a box given the label and the caller's documented
//! context.

use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::encoding;
use crate::encryption_key::{EncryptionPublicKey, EncryptionSecretKey, Kem};

type HpkeAead = hpke::aead::ChaCha20Poly1305;
type HpkeKdf = hpke::kdf::HkdfSha256;

/// Length of the encapsulated key `enc` (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// Length of the ChaCha20-Poly1305 tag a ciphertext ends with.
pub const TAG_LEN: usize = 16;
/// Largest message a box holds, in bytes.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// Why a box could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealedBoxError {
    /// The message is longer than [`MAX_MESSAGE_LEN`].
    #[error("message too long")]
    TooLong,
    /// HPKE encapsulation failed (a recipient key of small order).
    #[error("key encapsulation failed")]
    Encapsulation,
    /// The box does not open with this key, label and context: wrong key or context, or
    /// altered bytes. Deliberately one error.
    #[error("decryption failed")]
    Decrypt,
}

/// A sealed message: the HPKE encapsulated key and the ciphertext (message length plus
/// [`TAG_LEN`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBox {
    /// `enc`, the sender's ephemeral X25519 public key.
    pub enc: [u8; ENC_LEN],
    /// The ChaCha20-Poly1305 ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// Seals `message` to `recipient` under the label `info` and context `aad`, with the system
/// random number generator.
///
/// # Errors
/// [`SealedBoxError::TooLong`] over [`MAX_MESSAGE_LEN`] bytes;
/// [`SealedBoxError::Encapsulation`] if HPKE refuses the key.
pub fn seal(
    recipient: &EncryptionPublicKey,
    info: &'static [u8],
    aad: &[u8],
    message: &[u8],
) -> Result<SealedBox, SealedBoxError> {
    seal_with_rng(
        recipient,
        info,
        aad,
        message,
        &mut rand_core::UnwrapErr(getrandom::SysRng),
    )
}

/// [`seal`] with the given random number generator (deterministic tests).
///
/// # Errors
/// As [`seal`].
pub fn seal_with_rng<R: CryptoRng>(
    recipient: &EncryptionPublicKey,
    info: &'static [u8],
    aad: &[u8],
    message: &[u8],
    rng: &mut R,
) -> Result<SealedBox, SealedBoxError> {
    if message.len() > MAX_MESSAGE_LEN {
        return Err(SealedBoxError::TooLong);
    }
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
        &OpModeS::Base,
        recipient.hpke(),
        info,
        message,
        aad,
        rng,
    )
    .map_err(|_| SealedBoxError::Encapsulation)?;
    Ok(SealedBox {
        enc: encoding::to_array(&enc.to_bytes()).map_err(|_| SealedBoxError::Encapsulation)?,
        ciphertext,
    })
}

/// Opens `sealed` with `key` under the label `info` and context `aad`; the message is wiped
/// on drop.
///
/// # Errors
/// [`SealedBoxError::Decrypt`] for the wrong key, label or context, altered bytes, or a
/// ciphertext longer than a box holds.
pub fn open(
    key: &EncryptionSecretKey,
    info: &'static [u8],
    aad: &[u8],
    sealed: &SealedBox,
) -> Result<Zeroizing<Vec<u8>>, SealedBoxError> {
    if sealed.ciphertext.len() < TAG_LEN || sealed.ciphertext.len() > MAX_MESSAGE_LEN + TAG_LEN {
        return Err(SealedBoxError::Decrypt);
    }
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&sealed.enc)
        .map_err(|_| SealedBoxError::Decrypt)?;
    let message = hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
        &OpModeR::Base,
        key.hpke(),
        &enc,
        info,
        &sealed.ciphertext,
        aad,
    )
    .map_err(|_| SealedBoxError::Decrypt)?;
    Ok(Zeroizing::new(message))
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    use super::*;
    use crate::labels;

    #[test]
    fn opens_only_with_its_key_label_and_context() {
        let alice = EncryptionSecretKey::derive(&[1; 32]);
        let bob = EncryptionSecretKey::derive(&[2; 32]);
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let info = labels::DKG_SHARE_INFO;
        let sealed =
            seal_with_rng(alice.public_key(), info, b"context", b"a secret", &mut rng).unwrap();
        assert_eq!(sealed.ciphertext.len(), 8 + TAG_LEN);
        let opened = open(&alice, info, b"context", &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"a secret");
        assert_eq!(
            open(&bob, info, b"context", &sealed),
            Err(SealedBoxError::Decrypt)
        );
        assert_eq!(
            open(&alice, info, b"contexu", &sealed),
            Err(SealedBoxError::Decrypt)
        );
        assert_eq!(
            open(&alice, labels::ENVELOPE_WRAP_INFO, b"context", &sealed),
            Err(SealedBoxError::Decrypt)
        );
        let mut bent = sealed.clone();
        bent.ciphertext[0] ^= 1;
        assert_eq!(
            open(&alice, info, b"context", &bent),
            Err(SealedBoxError::Decrypt)
        );
        let mut bent = sealed.clone();
        bent.enc[0] ^= 1;
        assert_eq!(
            open(&alice, info, b"context", &bent),
            Err(SealedBoxError::Decrypt)
        );
        let short = SealedBox {
            enc: sealed.enc,
            ciphertext: vec![0; TAG_LEN - 1],
        };
        assert_eq!(
            open(&alice, info, b"context", &short),
            Err(SealedBoxError::Decrypt)
        );
        assert_eq!(
            seal(alice.public_key(), info, b"", &vec![0; MAX_MESSAGE_LEN + 1]),
            Err(SealedBoxError::TooLong)
        );
    }

    /// Two boxes of one message differ (fresh ephemeral keys).
    #[test]
    fn every_box_is_fresh() {
        let alice = EncryptionSecretKey::derive(&[1; 32]);
        let info = labels::DKG_SHARE_INFO;
        let a = seal(alice.public_key(), info, b"", b"m").unwrap();
        let b = seal(alice.public_key(), info, b"", b"m").unwrap();
        assert_ne!(a.enc, b.enc);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
