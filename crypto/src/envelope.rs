//! Envelope encryption of ledger fields, one reader group at a time.
//!
//! A *reader group* is a set of fields of one entry that the same recipients may read. For
//! each group the sealer draws a fresh 256-bit data key and wraps it once per recipient with
//! HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305).
//! Each field is padded to a length bucket ([`FIELD_BUCKETS`]) and encrypted with
//! XChaCha20-Poly1305 under its own field key
//! `HKDF-SHA256(ikm = data key, salt = empty, info = field key info, L = 32)` and a random
//! 192-bit nonce. The associated data of a field binds the consortium id, the entry id, the
//! field path, the schema version and the policy hash; the HPKE `aad` of a wrapped key binds
//! the same context and the group's ordered list of field paths. A ciphertext moved to another
//! field, entry, group, schema or policy therefore fails to open.
//!
//! Two properties the AEADs alone do not give:
//!
//! - **Key commitment.** XChaCha20-Poly1305 is not key-committing: whoever chooses the keys
//!   can make one ciphertext decrypt, with a valid tag, under two keys to two plaintexts
//!   (Albertini, Duong, Gueron, Kölbl, Luykx, Schmieg, "How to Abuse and Fix Authenticated
//!   Encryption Without Key Commitment", USENIX Security 2022; Len, Grubbs, Ristenpart,
//!   "Partitioning Oracle Attacks", USENIX Security 2021). A lying sealer could then wrap one
//!   data key to a regulator and another to a partner and show each a different amount in
//!   the same signed entry. Every group therefore carries
//!   `key_commitment = HMAC-SHA256(key = data key, framed(label) || wrap_aad)`, a
//!   collision-resistant commitment to the data key and its context (the "commit to the key"
//!   fix of Albertini et al.; committing AE in the sense of Bellare and Hoang, "Efficient
//!   Schemes for Committing Authenticated Encryption", EUROCRYPT 2022). Every recipient
//!   recomputes it after unwrapping and refuses a mismatch ([`EnvelopeError::KeyCommitment`]),
//!   so all recipients who open a group hold the same data key, hence the same plaintexts.
//! - **Length hiding.** A ciphertext's length is public; unpadded, it tells an amount's
//!   number of digits or a name's length. Plaintexts are padded to power-of-two buckets so
//!   only the bucket shows.
//!
//! The byte layouts are specified in `docs/protocol/envelope.md`; the vectors in
//! `crypto/tests/vectors/envelope.json` freeze them.

use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, aead::Aead as _, aead::Payload};
use hkdf::Hkdf;
use hmac::Mac as _;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::encoding::{self, EncodingError, Reader};
use crate::encryption_key::{EncryptionPublicKey, EncryptionSecretKey, Kem};
use crate::labels;
use crate::secret::Secret;

type HpkeAead = hpke::aead::ChaCha20Poly1305;
type HpkeKdf = hpke::kdf::HkdfSha256;

/// Encoding version of a sealed group. Version 2 added the key commitment and padded field
/// plaintexts; decoders refuse version 1.
pub const SEALED_GROUP_VERSION: u8 = 2;
/// Length of a data key and of a field key.
pub const KEY_LEN: usize = 32;
/// Length of an HPKE encapsulated key (`enc`) for X25519.
pub const ENC_LEN: usize = 32;
/// Length of a wrapped data key: the 32-byte key and the 16-byte ChaCha20-Poly1305 tag.
pub const WRAPPED_KEY_CIPHERTEXT_LEN: usize = KEY_LEN + TAG_LEN;
/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Encoded length of one wrapped key: recipient public key, `enc`, ciphertext.
pub const WRAPPED_KEY_LEN: usize = 32 + ENC_LEN + WRAPPED_KEY_CIPHERTEXT_LEN;

/// Length of a group's key commitment (an HMAC-SHA256 output).
pub const KEY_COMMITMENT_LEN: usize = 32;

/// Largest plaintext of one field, in bytes (before padding).
pub const MAX_FIELD_LEN: usize = 64 * 1024;
/// Length of the `u32_be` plaintext length that opens a padded field plaintext.
pub const PADDING_PREFIX_LEN: usize = 4;
/// The lengths, in bytes, a padded field plaintext may have: 64 · 2^k for k = 0..=11, i.e.
/// 64, 128, 256, ..., 65 536, 131 072. The last is the smallest power of two that holds
/// `PADDING_PREFIX_LEN + MAX_FIELD_LEN`. A field ciphertext is one of these plus
/// [`TAG_LEN`]. The smallest bucket (64) holds every plaintext of up to 60 bytes, e.g. any
/// 40-byte amount opening as well as short names and identifiers.
pub const FIELD_BUCKETS: [usize; 12] = [
    64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384, 32_768, 65_536, 131_072,
];
/// The largest padded field plaintext.
pub const MAX_PADDED_FIELD_LEN: usize = FIELD_BUCKETS[FIELD_BUCKETS.len() - 1];

// The buckets double from 64 and the last is the first that fits the largest field.
const _: () = {
    let mut i = 1;
    while i < FIELD_BUCKETS.len() {
        assert!(FIELD_BUCKETS[i] == 2 * FIELD_BUCKETS[i - 1]);
        i += 1;
    }
    assert!(FIELD_BUCKETS[0] == 64);
    assert!(MAX_PADDED_FIELD_LEN >= PADDING_PREFIX_LEN + MAX_FIELD_LEN);
    assert!(FIELD_BUCKETS[FIELD_BUCKETS.len() - 2] < PADDING_PREFIX_LEN + MAX_FIELD_LEN);
    assert!(MAX_PADDED_FIELD_LEN <= u32::MAX as usize);
};
/// Longest field path, in bytes.
pub const MAX_PATH_LEN: usize = 128;
/// Most recipients of one group: every member and regulator of a consortium may have to read
/// one group (a settlement's repayments, when a clearing period involves every partner), so a
/// genesis has at most this many parties together. Its wire count is a `u16`.
pub const MAX_RECIPIENTS: usize = 256;
/// Most fields in one group.
pub const MAX_FIELDS: usize = 256;
/// Longest consortium id, in bytes.
pub const MAX_CONSORTIUM_ID_LEN: usize = 64;
/// Longest entry id, in bytes.
pub const MAX_ENTRY_ID_LEN: usize = 64;

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The key is not among the group's recipients.
    #[error("not a recipient of this reader group")]
    NotARecipient,
    /// The group has no field with that path.
    #[error("no such field in this reader group")]
    NoSuchField,
    /// Authentication failed: wrong key, context or tampered bytes; or a field ciphertext
    /// that is not a bucket length plus the tag, or whose authenticated plaintext is not
    /// canonically padded. Deliberately one error.
    #[error("decryption failed")]
    Decrypt,
    /// The data key this recipient unwrapped (with a valid HPKE tag) does not match the
    /// group's key commitment: the sealer wrapped different keys to different recipients, or
    /// committed to another key or context. Distinct from [`EnvelopeError::Decrypt`] because
    /// in a signed entry it is evidence that the submitter sealed inconsistently; readers
    /// raise an alert on it.
    #[error("the unwrapped data key does not match the group's key commitment")]
    KeyCommitment,
    /// A seal request that breaks the format's rules (duplicate path, too large, ...).
    #[error("invalid seal request: {0}")]
    InvalidRequest(&'static str),
    /// The encoded group is malformed.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// HPKE encapsulation failed (e.g. a small-order recipient key).
    #[error("key encapsulation failed")]
    Encapsulation,
}

/// The context every field's ciphertext is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    /// The consortium this ledger belongs to.
    pub consortium_id: &'a str,
    /// The entry the field belongs to.
    pub entry_id: &'a [u8],
    /// The schema version of the entry type.
    pub schema_version: u16,
    /// The hash of the policy set in force.
    pub policy_hash: &'a [u8; 32],
}

impl FieldContext<'_> {
    fn check(&self) -> Result<(), EnvelopeError> {
        if self.consortium_id.is_empty() || self.consortium_id.len() > MAX_CONSORTIUM_ID_LEN {
            return Err(EnvelopeError::InvalidRequest("consortium id length"));
        }
        if self.entry_id.is_empty() || self.entry_id.len() > MAX_ENTRY_ID_LEN {
            return Err(EnvelopeError::InvalidRequest("entry id length"));
        }
        Ok(())
    }

    fn put_common(&self, out: &mut Vec<u8>) {
        encoding::put_framed(out, self.consortium_id.as_bytes());
        encoding::put_framed(out, self.entry_id);
        out.extend_from_slice(&self.schema_version.to_be_bytes());
        out.extend_from_slice(self.policy_hash);
    }

    /// The XChaCha20-Poly1305 associated data of the field at `path`:
    /// `framed(label) || framed(consortium_id) || framed(entry_id) || u16_be(schema_version)
    /// || policy_hash || framed(path)`.
    pub fn field_aad(&self, path: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        encoding::put_framed(&mut out, labels::ENVELOPE_FIELD_AAD);
        self.put_common(&mut out);
        encoding::put_framed(&mut out, path.as_bytes());
        out
    }

    /// The HPKE `aad` of a group's wrapped keys:
    /// `framed(label) || framed(consortium_id) || framed(entry_id) || u16_be(schema_version)
    /// || policy_hash || u32_be(number of paths) || framed(path)...`.
    pub fn wrap_aad<'p>(&self, paths: impl ExactSizeIterator<Item = &'p str>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        encoding::put_framed(&mut out, labels::ENVELOPE_WRAP_AAD);
        self.put_common(&mut out);
        let count = u32::try_from(paths.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for path in paths {
            encoding::put_framed(&mut out, path.as_bytes());
        }
        out
    }
}

/// The HKDF `info` deriving the key of the field at `path`: `framed(label) || framed(path)`.
pub fn field_key_info(path: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encoding::put_framed(&mut out, labels::ENVELOPE_FIELD_KEY);
    encoding::put_framed(&mut out, path.as_bytes());
    out
}

/// The padded length of a field plaintext of `plaintext_len` bytes: the smallest of
/// [`FIELD_BUCKETS`] that holds `PADDING_PREFIX_LEN + plaintext_len` bytes. `None` above
/// [`MAX_FIELD_LEN`].
pub fn padded_len(plaintext_len: usize) -> Option<usize> {
    if plaintext_len > MAX_FIELD_LEN {
        return None;
    }
    let needed = PADDING_PREFIX_LEN + plaintext_len;
    FIELD_BUCKETS
        .iter()
        .copied()
        .find(|&bucket| bucket >= needed)
}

/// Whether `len` is a valid field ciphertext length: a bucket of [`FIELD_BUCKETS`] plus
/// [`TAG_LEN`].
pub fn is_field_ciphertext_len(len: usize) -> bool {
    FIELD_BUCKETS.iter().any(|&bucket| bucket + TAG_LEN == len)
}

/// Pads a field plaintext: `u32_be(len) || plaintext || zero bytes`, to [`padded_len`].
/// The buffer is wiped on drop.
fn pad(plaintext: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let too_large = EnvelopeError::InvalidRequest("field too large");
    let bucket = padded_len(plaintext.len()).ok_or(too_large.clone())?;
    let len = u32::try_from(plaintext.len()).map_err(|_| too_large)?;
    // Allocated once at its final size, so no copy of the plaintext is left behind by a
    // reallocation.
    let mut padded = Zeroizing::new(Vec::with_capacity(bucket));
    padded.extend_from_slice(&len.to_be_bytes());
    padded.extend_from_slice(plaintext);
    padded.resize(bucket, 0);
    Ok(padded)
}

/// Strips the padding of an authenticated field plaintext, strictly: its length is a
/// bucket, the prefix `len` is at most [`MAX_FIELD_LEN`] and `padded_len(len)` is that very
/// bucket (so the padding is canonical: one plaintext, one padded form), and every padding
/// byte is zero. Anything else is [`EnvelopeError::Decrypt`].
fn unpad(padded: &[u8]) -> Result<Secret<Vec<u8>>, EnvelopeError> {
    let (prefix, rest) = padded
        .split_first_chunk::<PADDING_PREFIX_LEN>()
        .ok_or(EnvelopeError::Decrypt)?;
    let len = usize::try_from(u32::from_be_bytes(*prefix)).map_err(|_| EnvelopeError::Decrypt)?;
    if padded_len(len) != Some(padded.len()) {
        return Err(EnvelopeError::Decrypt);
    }
    let (plaintext, padding) = rest.split_at(len);
    // Every padding byte is read whatever the others hold.
    let nonzero = padding.iter().fold(0u8, |acc, byte| acc | byte);
    if nonzero != 0 {
        return Err(EnvelopeError::Decrypt);
    }
    Ok(Secret::new(plaintext.to_vec()))
}

/// A decrypted field: its path and plaintext (wiped on drop).
pub type OpenedField = (String, Secret<Vec<u8>>);

/// A group's data key, recovered by a recipient. Wiped on drop.
#[derive(Debug)]
pub struct DataKey(Secret<[u8; KEY_LEN]>);

impl DataKey {
    fn field_key(&self, path: &str) -> Zeroizing<[u8; KEY_LEN]> {
        let mut okm = Zeroizing::new([0u8; KEY_LEN]);
        // Expanding 32 bytes from HKDF-SHA256 cannot fail (the limit is 255 * 32).
        let _ =
            Hkdf::<Sha256>::new(None, self.0.expose()).expand(&field_key_info(path), okm.as_mut());
        okm
    }

    /// The key commitment of a group sealed under this key:
    /// `HMAC-SHA256(key = data key, message = framed(label) || wrap_aad)`, with `wrap_aad` the
    /// group's [`FieldContext::wrap_aad`].
    fn commitment(&self, wrap_aad: &[u8]) -> [u8; KEY_COMMITMENT_LEN] {
        let mut message = Vec::with_capacity(64 + wrap_aad.len());
        encoding::put_framed(&mut message, labels::ENVELOPE_KEY_COMMITMENT);
        message.extend_from_slice(wrap_aad);
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(self.0.expose()) else {
            return [0u8; KEY_COMMITMENT_LEN];
        };
        mac.update(&message);
        mac.finalize().into_bytes().into()
    }

    /// Pads and encrypts one field under this key with a fresh nonce from `rng`.
    fn seal<R: CryptoRng>(
        &self,
        context: &FieldContext<'_>,
        path: &str,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<SealedField, EnvelopeError> {
        let padded = pad(plaintext)?;
        let key = self.field_key(path);
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = context.field_aad(path);
        let ciphertext = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: &padded,
                    aad: &aad,
                },
            )
            .map_err(|_| EnvelopeError::InvalidRequest("field too large"))?;
        Ok(SealedField {
            path: path.to_owned(),
            nonce,
            ciphertext,
        })
    }

    /// Wraps this key to `recipient` with HPKE under the group's `wrap_aad`.
    fn wrap<R: CryptoRng>(
        &self,
        recipient: &EncryptionPublicKey,
        wrap_aad: &[u8],
        rng: &mut R,
    ) -> Result<WrappedKey, EnvelopeError> {
        let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
            &OpModeS::Base,
            recipient.hpke(),
            labels::ENVELOPE_WRAP_INFO,
            self.0.expose(),
            wrap_aad,
            rng,
        )
        .map_err(|_| EnvelopeError::Encapsulation)?;
        Ok(WrappedKey {
            recipient: recipient.to_bytes(),
            enc: encoding::to_array(&enc.to_bytes())?,
            ciphertext: encoding::to_array(&ciphertext)?,
        })
    }

    /// Decrypts one field of the group this key belongs to and strips its padding.
    ///
    /// Fails with [`EnvelopeError::Decrypt`] if the ciphertext is not a bucket length plus
    /// the tag, does not authenticate, or its plaintext is not canonically padded.
    pub fn open(
        &self,
        context: &FieldContext<'_>,
        field: &SealedField,
    ) -> Result<Secret<Vec<u8>>, EnvelopeError> {
        if !is_field_ciphertext_len(field.ciphertext.len()) {
            return Err(EnvelopeError::Decrypt);
        }
        let key = self.field_key(&field.path);
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        let aad = context.field_aad(&field.path);
        let padded = Zeroizing::new(
            cipher
                .decrypt(
                    &field.nonce.into(),
                    Payload {
                        msg: &field.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| EnvelopeError::Decrypt)?,
        );
        unpad(&padded)
    }
}

/// A data key wrapped to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The recipient's X25519 public key, so a reader can find its wrap.
    pub recipient: [u8; 32],
    /// The HPKE encapsulated key.
    pub enc: [u8; ENC_LEN],
    /// The HPKE ciphertext of the data key (with tag).
    pub ciphertext: [u8; WRAPPED_KEY_CIPHERTEXT_LEN],
}

/// One encrypted field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedField {
    /// The field path, e.g. `borrower.name` (public).
    pub path: String,
    /// The XChaCha20-Poly1305 nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The padded plaintext's ciphertext followed by the 16-byte tag: a bucket of
    /// [`FIELD_BUCKETS`] plus [`TAG_LEN`] bytes.
    pub ciphertext: Vec<u8>,
}

/// The fields of one reader group, the group's data key wrapped to every reader, and the
/// commitment to that key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedGroup {
    /// One wrap per recipient, in the order the recipients were given.
    pub wrapped_keys: Vec<WrappedKey>,
    /// `HMAC-SHA256(key = data key, framed("veil.envelope.key-commitment.v1") ||
    /// wrap_aad(paths))`: commits every recipient to the same data key (see the module
    /// documentation). Public; it reveals nothing about the key.
    pub key_commitment: [u8; KEY_COMMITMENT_LEN],
    /// The encrypted fields, in the order they were given.
    pub fields: Vec<SealedField>,
}

fn check_path(path: &str) -> Result<(), EnvelopeError> {
    let ok = !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && path.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(EnvelopeError::InvalidRequest("field path"))
    }
}

/// Seals `fields` (path, plaintext) for `recipients` with the system random number generator.
pub fn seal_group(
    context: &FieldContext<'_>,
    recipients: &[&EncryptionPublicKey],
    fields: &[(&str, &[u8])],
) -> Result<SealedGroup, EnvelopeError> {
    seal_group_with_rng(
        context,
        recipients,
        fields,
        &mut rand_core::UnwrapErr(getrandom::SysRng),
    )
}

/// Seals with the given random number generator (deterministic vectors and tests).
pub fn seal_group_with_rng<R: CryptoRng>(
    context: &FieldContext<'_>,
    recipients: &[&EncryptionPublicKey],
    fields: &[(&str, &[u8])],
    rng: &mut R,
) -> Result<SealedGroup, EnvelopeError> {
    context.check()?;
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(EnvelopeError::InvalidRequest("number of recipients"));
    }
    if fields.is_empty() || fields.len() > MAX_FIELDS {
        return Err(EnvelopeError::InvalidRequest("number of fields"));
    }
    for (i, (path, plaintext)) in fields.iter().enumerate() {
        check_path(path)?;
        if plaintext.len() > MAX_FIELD_LEN {
            return Err(EnvelopeError::InvalidRequest("field too large"));
        }
        if fields[..i].iter().any(|(other, _)| other == path) {
            return Err(EnvelopeError::InvalidRequest("duplicate field path"));
        }
    }
    for (i, recipient) in recipients.iter().enumerate() {
        if recipients[..i].contains(recipient) {
            return Err(EnvelopeError::InvalidRequest("duplicate recipient"));
        }
    }

    let mut data_key = Secret::new([0u8; KEY_LEN]);
    rng.fill_bytes(data_key.expose_mut());
    let data_key = DataKey(data_key);

    let mut sealed_fields = Vec::with_capacity(fields.len());
    for (path, plaintext) in fields {
        sealed_fields.push(data_key.seal(context, path, plaintext, rng)?);
    }

    let wrap_aad = context.wrap_aad(fields.iter().map(|(path, _)| *path));
    let mut wrapped_keys = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        wrapped_keys.push(data_key.wrap(recipient, &wrap_aad, rng)?);
    }

    Ok(SealedGroup {
        wrapped_keys,
        key_commitment: data_key.commitment(&wrap_aad),
        fields: sealed_fields,
    })
}

impl SealedGroup {
    /// The paths of the group's fields, in order.
    pub fn paths(&self) -> impl ExactSizeIterator<Item = &str> {
        self.fields.iter().map(|field| field.path.as_str())
    }

    /// Whether `key` is among the group's recipients.
    pub fn is_recipient(&self, key: &EncryptionPublicKey) -> bool {
        let bytes = key.to_bytes();
        self.wrapped_keys.iter().any(|wrap| wrap.recipient == bytes)
    }

    /// Unwraps the group's data key with `key` and checks it against the group's key
    /// commitment (compared in constant time).
    ///
    /// Errors: [`EnvelopeError::NotARecipient`] if `key` has no wrap here;
    /// [`EnvelopeError::Decrypt`] if the wrap does not open (wrong context, paths or bytes);
    /// [`EnvelopeError::KeyCommitment`] if it opens to a key the group is not committed to.
    pub fn unwrap_key(
        &self,
        context: &FieldContext<'_>,
        key: &EncryptionSecretKey,
    ) -> Result<DataKey, EnvelopeError> {
        let public = key.public_key().to_bytes();
        let wrap = self
            .wrapped_keys
            .iter()
            .find(|wrap| wrap.recipient == public)
            .ok_or(EnvelopeError::NotARecipient)?;
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&wrap.enc)
            .map_err(|_| EnvelopeError::Decrypt)?;
        let wrap_aad = context.wrap_aad(self.paths());
        let plaintext = Zeroizing::new(
            hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
                &OpModeR::Base,
                key.hpke(),
                &enc,
                labels::ENVELOPE_WRAP_INFO,
                &wrap.ciphertext,
                &wrap_aad,
            )
            .map_err(|_| EnvelopeError::Decrypt)?,
        );
        let mut data_key = Secret::new([0u8; KEY_LEN]);
        if plaintext.len() != KEY_LEN {
            return Err(EnvelopeError::Decrypt);
        }
        data_key.expose_mut().copy_from_slice(&plaintext);
        let data_key = DataKey(data_key);
        let committed: bool = data_key
            .commitment(&wrap_aad)
            .ct_eq(&self.key_commitment)
            .into();
        if !committed {
            return Err(EnvelopeError::KeyCommitment);
        }
        Ok(data_key)
    }

    /// Decrypts the field at `path` with `key`.
    pub fn open_field(
        &self,
        context: &FieldContext<'_>,
        path: &str,
        key: &EncryptionSecretKey,
    ) -> Result<Secret<Vec<u8>>, EnvelopeError> {
        let field = self
            .fields
            .iter()
            .find(|field| field.path == path)
            .ok_or(EnvelopeError::NoSuchField)?;
        self.unwrap_key(context, key)?.open(context, field)
    }

    /// Decrypts every field with one unwrap; fails if any field fails.
    pub fn open_all(
        &self,
        context: &FieldContext<'_>,
        key: &EncryptionSecretKey,
    ) -> Result<Vec<OpenedField>, EnvelopeError> {
        let data_key = self.unwrap_key(context, key)?;
        self.fields
            .iter()
            .map(|field| Ok((field.path.clone(), data_key.open(context, field)?)))
            .collect()
    }

    /// The canonical encoding (see `docs/protocol/envelope.md`): version, wrapped keys, key
    /// commitment, fields.
    pub fn encode(&self) -> Vec<u8> {
        let size = 1
            + 2
            + self.wrapped_keys.len() * WRAPPED_KEY_LEN
            + KEY_COMMITMENT_LEN
            + 2
            + self
                .fields
                .iter()
                .map(|f| 1 + f.path.len() + NONCE_LEN + 4 + f.ciphertext.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.push(SEALED_GROUP_VERSION);
        out.extend_from_slice(&(self.wrapped_keys.len() as u16).to_be_bytes());
        for wrap in &self.wrapped_keys {
            out.extend_from_slice(&wrap.recipient);
            out.extend_from_slice(&wrap.enc);
            out.extend_from_slice(&wrap.ciphertext);
        }
        out.extend_from_slice(&self.key_commitment);
        out.extend_from_slice(&(self.fields.len() as u16).to_be_bytes());
        for field in &self.fields {
            out.push(field.path.len() as u8);
            out.extend_from_slice(field.path.as_bytes());
            out.extend_from_slice(&field.nonce);
            out.extend_from_slice(&(field.ciphertext.len() as u32).to_be_bytes());
            out.extend_from_slice(&field.ciphertext);
        }
        out
    }

    /// Decodes a group, refusing anything malformed, oversized or not exactly consumed: an
    /// unknown version (including 1), out-of-range counts, duplicate recipients or paths, a
    /// field ciphertext whose length is not a bucket of [`FIELD_BUCKETS`] plus [`TAG_LEN`],
    /// truncated input and trailing bytes. Errors are [`EnvelopeError::Encoding`].
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != SEALED_GROUP_VERSION {
            return Err(EncodingError::Malformed("unknown sealed group version").into());
        }
        let recipients = usize::from(reader.u16()?);
        if recipients == 0 || recipients > MAX_RECIPIENTS {
            return Err(EncodingError::Malformed("number of recipients").into());
        }
        let mut wrapped_keys = Vec::with_capacity(recipients);
        for _ in 0..recipients {
            let wrap = WrappedKey {
                recipient: reader.array()?,
                enc: reader.array()?,
                ciphertext: reader.array()?,
            };
            if wrapped_keys
                .iter()
                .any(|other: &WrappedKey| other.recipient == wrap.recipient)
            {
                return Err(EncodingError::Malformed("duplicate recipient").into());
            }
            wrapped_keys.push(wrap);
        }
        let key_commitment = reader.array()?;
        let count = usize::from(reader.u16()?);
        if count == 0 || count > MAX_FIELDS {
            return Err(EncodingError::Malformed("number of fields").into());
        }
        let mut fields: Vec<SealedField> = Vec::with_capacity(count);
        for _ in 0..count {
            let path_len = usize::from(reader.u8()?);
            let path = std::str::from_utf8(reader.take(path_len)?)
                .map_err(|_| EncodingError::Malformed("field path"))?
                .to_owned();
            check_path(&path).map_err(|_| EncodingError::Malformed("field path"))?;
            if fields.iter().any(|other| other.path == path) {
                return Err(EncodingError::Malformed("duplicate field path").into());
            }
            let nonce = reader.array()?;
            let len = reader.u32()? as usize;
            if !is_field_ciphertext_len(len) {
                return Err(EncodingError::Malformed("field ciphertext length").into());
            }
            let ciphertext = reader.take(len)?.to_vec();
            fields.push(SealedField {
                path,
                nonce,
                ciphertext,
            });
        }
        reader.finish()?;
        Ok(Self {
            wrapped_keys,
            key_commitment,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: [u8; 32] = [0x42; 32];

    fn context() -> FieldContext<'static> {
        FieldContext {
            consortium_id: "veil-unit",
            entry_id: b"entry-0001",
            schema_version: 1,
            policy_hash: &POLICY,
        }
    }

    fn rng() -> impl CryptoRng {
        rand_core::UnwrapErr(getrandom::SysRng)
    }

    fn fresh_key(rng: &mut impl CryptoRng) -> DataKey {
        let mut key = Secret::new([0u8; KEY_LEN]);
        rng.fill_bytes(key.expose_mut());
        DataKey(key)
    }

    /// A lying sealer wraps one data key to the regulator and another to the partner, both
    /// under the group's genuine wrap AAD (so both HPKE wraps authenticate). Whichever key the
    /// group commits to, the holder of the other one is refused with `KeyCommitment`, not
    /// `Decrypt`: the HPKE layer alone would not have noticed.
    #[test]
    fn different_data_keys_wrapped_to_different_recipients_are_detected() {
        let ctx = context();
        let mut rng = rng();
        let regulator = EncryptionSecretKey::derive(&[1; 32]);
        let partner = EncryptionSecretKey::derive(&[2; 32]);
        let regulator_key = fresh_key(&mut rng);
        let partner_key = fresh_key(&mut rng);
        let wrap_aad = ctx.wrap_aad(["principal"].into_iter());
        let field = regulator_key
            .seal(&ctx, "principal", b"500000", &mut rng)
            .unwrap();
        let group = SealedGroup {
            wrapped_keys: vec![
                regulator_key
                    .wrap(regulator.public_key(), &wrap_aad, &mut rng)
                    .unwrap(),
                partner_key
                    .wrap(partner.public_key(), &wrap_aad, &mut rng)
                    .unwrap(),
            ],
            key_commitment: regulator_key.commitment(&wrap_aad),
            fields: vec![field],
        };
        assert_eq!(
            group.open_all(&ctx, &regulator).unwrap()[0].1.expose(),
            b"500000"
        );
        assert_eq!(
            group.unwrap_key(&ctx, &partner).unwrap_err(),
            EnvelopeError::KeyCommitment
        );
        assert_eq!(
            group.open_field(&ctx, "principal", &partner).unwrap_err(),
            EnvelopeError::KeyCommitment
        );
        assert_eq!(
            group.open_all(&ctx, &partner).unwrap_err(),
            EnvelopeError::KeyCommitment
        );

        // Committing to the partner's key instead turns the refusal on the regulator.
        let mut other = group.clone();
        other.key_commitment = partner_key.commitment(&wrap_aad);
        assert_eq!(
            other.open_all(&ctx, &regulator).unwrap_err(),
            EnvelopeError::KeyCommitment
        );
        assert!(other.unwrap_key(&ctx, &partner).is_ok());

        // The same group and the same encoding on the wire, decoded.
        let decoded = SealedGroup::decode(&group.encode()).unwrap();
        assert_eq!(
            decoded.open_all(&ctx, &partner).unwrap_err(),
            EnvelopeError::KeyCommitment
        );
    }

    /// The commitment binds the context and the ordered paths, not only the key.
    #[test]
    fn a_commitment_over_another_context_or_path_list_is_refused() {
        let ctx = context();
        let reader = EncryptionSecretKey::derive(&[3; 32]);
        let fields: [(&str, &[u8]); 2] = [("a", b"1"), ("b", b"2")];
        let group = seal_group_with_rng(&ctx, &[reader.public_key()], &fields, &mut rng()).unwrap();
        let key = group.unwrap_key(&ctx, &reader).unwrap();
        let other_policy = [0x43; 32];
        let forgeries = [
            ctx.wrap_aad(["b", "a"].into_iter()),
            ctx.wrap_aad(["a"].into_iter()),
            FieldContext {
                policy_hash: &other_policy,
                ..ctx
            }
            .wrap_aad(["a", "b"].into_iter()),
            // The bare wrap AAD of the group, without the label.
            Vec::new(),
        ];
        for (i, aad) in forgeries.iter().enumerate() {
            let mut forged = group.clone();
            forged.key_commitment = if aad.is_empty() {
                let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key.0.expose()) else {
                    unreachable!()
                };
                mac.update(&ctx.wrap_aad(["a", "b"].into_iter()));
                mac.finalize().into_bytes().into()
            } else {
                key.commitment(aad)
            };
            assert_ne!(forged.key_commitment, group.key_commitment, "{i}");
            assert_eq!(
                forged.open_all(&ctx, &reader).unwrap_err(),
                EnvelopeError::KeyCommitment,
                "{i}"
            );
        }
    }

    /// Encrypts `padded` as the field at `path`, bypassing `pad`: what a sealer who pads
    /// wrongly would produce.
    fn seal_padded(
        key: &DataKey,
        ctx: &FieldContext<'_>,
        path: &str,
        padded: &[u8],
    ) -> SealedField {
        let field_key = key.field_key(path);
        let nonce = [9u8; NONCE_LEN];
        let ciphertext = XChaCha20Poly1305::new(&(*field_key).into())
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: padded,
                    aad: &ctx.field_aad(path),
                },
            )
            .unwrap();
        SealedField {
            path: path.to_owned(),
            nonce,
            ciphertext,
        }
    }

    #[test]
    fn authenticated_but_badly_padded_fields_are_refused() {
        let ctx = context();
        let key = fresh_key(&mut rng());
        let good = pad(b"500000").unwrap();
        assert_eq!(good.len(), 64);
        let opened = key
            .open(&ctx, &seal_padded(&key, &ctx, "principal", &good))
            .unwrap();
        assert_eq!(opened.expose(), b"500000");

        let with_prefix = |len: u32, bucket: usize| {
            let mut padded = vec![0u8; bucket];
            padded[..4].copy_from_slice(&len.to_be_bytes());
            padded
        };
        let mut bad: Vec<Vec<u8>> = Vec::new();
        // A nonzero byte anywhere in the padding.
        for i in PADDING_PREFIX_LEN + 6..64 {
            let mut padded = good.to_vec();
            padded[i] = 0x01;
            bad.push(padded);
        }
        // A length prefix beyond the bucket.
        for len in [61, 64, 65, 1 << 16, u32::MAX] {
            bad.push(with_prefix(len, 64));
        }
        // A bucket larger than the smallest that fits (not canonical).
        bad.push(with_prefix(6, 128));
        bad.push(with_prefix(0, 128));
        bad.push(with_prefix(60, 128));
        // A length above MAX_FIELD_LEN in the last bucket.
        bad.push(with_prefix(
            u32::try_from(MAX_FIELD_LEN + 1).unwrap(),
            MAX_PADDED_FIELD_LEN,
        ));
        // Not a bucket length at all (refused before decrypting).
        for len in [0, 3, 4, 32, 63, 65, 127, 129] {
            bad.push(with_prefix(0, len.max(4))[..len].to_vec());
        }
        for (i, padded) in bad.iter().enumerate() {
            let field = seal_padded(&key, &ctx, "principal", padded);
            assert_eq!(
                key.open(&ctx, &field).unwrap_err(),
                EnvelopeError::Decrypt,
                "case {i}"
            );
        }
    }

    #[test]
    fn padding_round_trips_at_every_bucket_boundary() {
        assert_eq!(padded_len(0), Some(64));
        assert_eq!(padded_len(60), Some(64));
        assert_eq!(padded_len(61), Some(128));
        assert_eq!(padded_len(124), Some(128));
        assert_eq!(padded_len(125), Some(256));
        assert_eq!(padded_len(MAX_FIELD_LEN), Some(MAX_PADDED_FIELD_LEN));
        assert_eq!(padded_len(MAX_FIELD_LEN + 1), None);
        for len in [
            0,
            1,
            59,
            60,
            61,
            124,
            125,
            65_532,
            65_533,
            MAX_FIELD_LEN - 1,
            MAX_FIELD_LEN,
        ] {
            // Trailing zero bytes of the plaintext survive: the prefix carries the length.
            let plaintext: Vec<u8> = (0..len)
                .map(|i| if i % 3 == 0 { 0 } else { 0xa5 })
                .collect();
            let padded = pad(&plaintext).unwrap();
            assert_eq!(Some(padded.len()), padded_len(len));
            assert_eq!(padded[..4], u32::try_from(len).unwrap().to_be_bytes());
            assert!(padded[4 + len..].iter().all(|&b| b == 0));
            assert_eq!(unpad(&padded).unwrap().expose(), &plaintext);
        }
        assert!(pad(&vec![0u8; MAX_FIELD_LEN + 1]).is_err());
        for bucket in FIELD_BUCKETS {
            assert!(is_field_ciphertext_len(bucket + TAG_LEN));
            assert!(!is_field_ciphertext_len(bucket + TAG_LEN - 1));
            assert!(!is_field_ciphertext_len(bucket + TAG_LEN + 1));
            assert!(!is_field_ciphertext_len(bucket));
        }
    }
}
