//! Envelope encryption of ledger fields, one reader group at a time.
//!
//! A *reader group* is a set of fields of one entry that the same recipients may read. For
//! each group the sealer draws a fresh 256-bit data key and wraps it once per recipient with
//! HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305).
//! Each field is encrypted with XChaCha20-Poly1305 under its own field key
//! `HKDF-SHA256(ikm = data key, salt = empty, info = field key info, L = 32)` and a random
//! 192-bit nonce. The associated data of a field binds the consortium id, the entry id, the
//! field path, the schema version and the policy hash; the HPKE `aad` of a wrapped key binds
//! the same context and the group's ordered list of field paths. A ciphertext moved to another
//! field, entry, group, schema or policy therefore fails to open.
//!
//! The byte layouts are specified in `docs/protocol/envelope.md`; the vectors in
//! `crypto/tests/vectors/envelope.json` freeze them.

use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, aead::Aead as _, aead::Payload};
use hkdf::Hkdf;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::encoding::{self, EncodingError, Reader};
use crate::encryption_key::{EncryptionPublicKey, EncryptionSecretKey, Kem};
use crate::labels;
use crate::secret::Secret;

type HpkeAead = hpke::aead::ChaCha20Poly1305;
type HpkeKdf = hpke::kdf::HkdfSha256;

/// Encoding version of a sealed group.
pub const SEALED_GROUP_VERSION: u8 = 1;
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

/// Largest plaintext of one field.
pub const MAX_FIELD_LEN: usize = 64 * 1024;
/// Longest field path, in bytes.
pub const MAX_PATH_LEN: usize = 128;
/// Most recipients of one group.
pub const MAX_RECIPIENTS: usize = 64;
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
    /// Authentication failed: wrong key, context or tampered bytes. Deliberately one error.
    #[error("decryption failed")]
    Decrypt,
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

    /// Decrypts one field of the group this key belongs to.
    pub fn open(
        &self,
        context: &FieldContext<'_>,
        field: &SealedField,
    ) -> Result<Secret<Vec<u8>>, EnvelopeError> {
        let key = self.field_key(&field.path);
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        let aad = context.field_aad(&field.path);
        cipher
            .decrypt(
                &field.nonce.into(),
                Payload {
                    msg: &field.ciphertext,
                    aad: &aad,
                },
            )
            .map(Secret::new)
            .map_err(|_| EnvelopeError::Decrypt)
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
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// The fields of one reader group and the group's data key wrapped to every reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedGroup {
    /// One wrap per recipient, in the order the recipients were given.
    pub wrapped_keys: Vec<WrappedKey>,
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
        let key = data_key.field_key(path);
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = context.field_aad(path);
        let ciphertext = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| EnvelopeError::InvalidRequest("field too large"))?;
        sealed_fields.push(SealedField {
            path: (*path).to_owned(),
            nonce,
            ciphertext,
        });
    }

    let wrap_aad = context.wrap_aad(fields.iter().map(|(path, _)| *path));
    let mut wrapped_keys = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, Kem>(
            &OpModeS::Base,
            recipient.hpke(),
            labels::ENVELOPE_WRAP_INFO,
            data_key.0.expose(),
            &wrap_aad,
            rng,
        )
        .map_err(|_| EnvelopeError::Encapsulation)?;
        wrapped_keys.push(WrappedKey {
            recipient: recipient.to_bytes(),
            enc: encoding::to_array(&enc.to_bytes())?,
            ciphertext: encoding::to_array(&ciphertext)?,
        });
    }

    Ok(SealedGroup {
        wrapped_keys,
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

    /// Unwraps the group's data key with `key`.
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
        let plaintext = Zeroizing::new(
            hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
                &OpModeR::Base,
                key.hpke(),
                &enc,
                labels::ENVELOPE_WRAP_INFO,
                &wrap.ciphertext,
                &context.wrap_aad(self.paths()),
            )
            .map_err(|_| EnvelopeError::Decrypt)?,
        );
        let mut data_key = Secret::new([0u8; KEY_LEN]);
        if plaintext.len() != KEY_LEN {
            return Err(EnvelopeError::Decrypt);
        }
        data_key.expose_mut().copy_from_slice(&plaintext);
        Ok(DataKey(data_key))
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

    /// The canonical encoding (see `docs/protocol/envelope.md`).
    pub fn encode(&self) -> Vec<u8> {
        let size = 1
            + 2
            + self.wrapped_keys.len() * WRAPPED_KEY_LEN
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

    /// Decodes a group, refusing anything malformed, oversized or not exactly consumed.
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
            if !(TAG_LEN..=MAX_FIELD_LEN + TAG_LEN).contains(&len) {
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
            fields,
        })
    }
}
