//! Regulators' view keys: a master key and scoped keys derived from it.
//!
//! A *scope* is a (month, field class) pair, e.g. (`2026-11`, `amounts`). The scoped key pair
//! of a scope is
//!
//! ```text
//! ikm        = HKDF-SHA256(salt = "veil.view-key.scope.v1", ikm = master secret,
//!                          info = framed(consortium id) || framed(month) || framed(class), L = 32)
//! (sk, pk)   = DeriveKeyPair(ikm)        -- RFC 9180 §7.1.3, DHKEM(X25519, HKDF-SHA256)
//! ```
//!
//! The regulator publishes the scoped *public* keys of coming months ahead of time (a
//! [`PublishedViewKey`] directory in the consortium's genesis); a gateway encrypts each field
//! to the scoped key of the entry's month and the field's class, with no round trip to the
//! regulator, and the wrapped keys stay plain RFC 9180 HPKE. The master key derives any scoped
//! secret; a scoped secret handed to an inspector opens exactly its scope, because scoped
//! secrets are independent pseudorandom values (HKDF is a PRF keyed by the master secret).
//! See `docs/protocol/view-keys.md`.

use core::fmt;
use std::collections::BTreeMap;

use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::encoding::{self, EncodingError, Reader};
use crate::encryption_key::{EncryptionPublicKey, EncryptionSecretKey};
use crate::labels;
use crate::secret::Secret;

/// Why a view key could not be used or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewKeyError {
    /// A month that is not `YYYY-MM` (or a period that does not start with one).
    #[error("invalid period {0:?}: expected YYYY-MM or YYYY-MM-DD")]
    Period(String),
    /// A field class that is not 1..=32 characters of `[a-z0-9-]`.
    #[error("invalid field class {0:?}")]
    Class(String),
    /// A key file that could not be decoded.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// The auditor key derivation gave a degenerate key (probability about 2⁻²⁵²).
    #[error("degenerate auditor key")]
    Auditor,
}

/// The month (`YYYY-MM`) of a clearing period label `YYYY-MM` or `YYYY-MM-DD`.
pub fn month_of(period: &str) -> Result<&str, ViewKeyError> {
    let bytes = period.as_bytes();
    let digits = |range: core::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    let month_ok = bytes.len() >= 7
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && (b"01".as_slice()..=b"12".as_slice()).contains(&&bytes[5..7]);
    let day_ok = match bytes.len() {
        7 => true,
        10 => {
            bytes[7] == b'-'
                && digits(8..10)
                && (b"01".as_slice()..=b"31".as_slice()).contains(&&bytes[8..10])
        }
        _ => false,
    };
    if month_ok && day_ok {
        Ok(&period[..7])
    } else {
        Err(ViewKeyError::Period(period.chars().take(32).collect()))
    }
}

/// A (month, field class) pair: what one scoped view key opens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "ScopeFields", into = "ScopeFields")]
pub struct ViewScope {
    month: String,
    class: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeFields {
    month: String,
    class: String,
}

impl TryFrom<ScopeFields> for ViewScope {
    type Error = ViewKeyError;
    fn try_from(fields: ScopeFields) -> Result<Self, Self::Error> {
        Self::new(&fields.month, &fields.class)
    }
}

impl From<ViewScope> for ScopeFields {
    fn from(scope: ViewScope) -> Self {
        Self {
            month: scope.month,
            class: scope.class,
        }
    }
}

impl ViewScope {
    /// The scope of a clearing period (`YYYY-MM` or `YYYY-MM-DD`, reduced to its month) and
    /// a field class.
    pub fn new(period: &str, class: &str) -> Result<Self, ViewKeyError> {
        let month = month_of(period)?;
        let class_ok = !class.is_empty()
            && class.len() <= 32
            && class
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !class_ok {
            return Err(ViewKeyError::Class(class.chars().take(32).collect()));
        }
        Ok(Self {
            month: month.to_owned(),
            class: class.to_owned(),
        })
    }

    /// The month, `YYYY-MM`.
    pub fn month(&self) -> &str {
        &self.month
    }

    /// The field class.
    pub fn class(&self) -> &str {
        &self.class
    }
}

impl fmt::Display for ViewScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.month, self.class)
    }
}

/// A regulator's master view key: 32 secret bytes from which every scoped key derives.
pub struct MasterViewKey(Secret<[u8; 32]>);

impl MasterViewKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Self, ViewKeyError> {
        let mut secret = Secret::new([0u8; 32]);
        getrandom::fill(secret.expose_mut()).map_err(|_| ViewKeyError::Rng)?;
        Ok(Self(secret))
    }

    /// The key with these secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Secret::new(*bytes))
    }

    /// The scoped key pair of `scope` in consortium `consortium_id`.
    pub fn derive(&self, consortium_id: &str, scope: &ViewScope) -> ScopedViewKey {
        let mut info = Vec::with_capacity(64);
        encoding::put_framed(&mut info, consortium_id.as_bytes());
        encoding::put_framed(&mut info, scope.month.as_bytes());
        encoding::put_framed(&mut info, scope.class.as_bytes());
        let mut ikm = Zeroizing::new([0u8; 32]);
        // 32 bytes of HKDF-SHA256 output is always within the expansion limit.
        let _ = Hkdf::<Sha256>::new(Some(labels::VIEW_KEY_SCOPE), self.0.expose())
            .expand(&info, ikm.as_mut());
        ScopedViewKey {
            consortium_id: consortium_id.to_owned(),
            scope: scope.clone(),
            key: EncryptionSecretKey::derive(ikm.as_ref()),
        }
    }

    /// The regulator's auditor key in consortium `consortium_id`
    /// ([`crate::auditor`]): `AuditorSecretKey::derive(HKDF-SHA256(salt = VIEW_KEY_AUDITOR,
    /// ikm = master, info = framed(consortium_id), L = 32))`. Unlike scoped view keys it is
    /// not limited to a month or class: only the master key's holder opens decrypt handles.
    ///
    /// Errors: [`ViewKeyError::Auditor`] in the negligible case the derivation gives zero.
    pub fn auditor_key(
        &self,
        consortium_id: &str,
    ) -> Result<crate::auditor::AuditorSecretKey, ViewKeyError> {
        let mut info = Vec::with_capacity(64);
        encoding::put_framed(&mut info, consortium_id.as_bytes());
        let mut seed = Zeroizing::new([0u8; 32]);
        // 32 bytes of HKDF-SHA256 output is always within the expansion limit.
        let _ = Hkdf::<Sha256>::new(Some(labels::VIEW_KEY_AUDITOR), self.0.expose())
            .expand(&info, seed.as_mut());
        crate::auditor::AuditorSecretKey::derive(&seed).map_err(|_| ViewKeyError::Auditor)
    }

    /// The public keys of every scope in `months` × `classes`, for publication.
    pub fn publish(
        &self,
        consortium_id: &str,
        months: &[String],
        classes: &[&str],
    ) -> Result<Vec<PublishedViewKey>, ViewKeyError> {
        let mut out = Vec::with_capacity(months.len() * classes.len());
        for month in months {
            for class in classes {
                let scope = ViewScope::new(month, class)?;
                let key = self.derive(consortium_id, &scope);
                out.push(PublishedViewKey {
                    public_key: key.public_key().clone(),
                    scope,
                });
            }
        }
        Ok(out)
    }

    /// PEM, label `VEIL MASTER VIEW KEY`, the 32 secret bytes.
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(encoding::pem_encode(
            labels::pem::MASTER_VIEW_KEY,
            self.0.expose(),
        ))
    }

    /// Reads a master view key PEM.
    pub fn from_pem(text: &str) -> Result<Self, ViewKeyError> {
        let der = encoding::pem_decode(labels::pem::MASTER_VIEW_KEY, text)?;
        let bytes: [u8; 32] = encoding::to_array(&der)?;
        Ok(Self::from_bytes(&bytes))
    }
}

impl fmt::Debug for MasterViewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterViewKey([REDACTED])")
    }
}

/// The key pair of one scope.
#[derive(Clone, PartialEq, Eq)]
pub struct ScopedViewKey {
    consortium_id: String,
    scope: ViewScope,
    key: EncryptionSecretKey,
}

impl ScopedViewKey {
    /// The consortium the key belongs to.
    pub fn consortium_id(&self) -> &str {
        &self.consortium_id
    }

    /// What the key opens.
    pub fn scope(&self) -> &ViewScope {
        &self.scope
    }

    /// The X25519 secret key that unwraps this scope's data keys.
    pub fn secret_key(&self) -> &EncryptionSecretKey {
        &self.key
    }

    /// The public key gateways encrypt this scope's fields to.
    pub fn public_key(&self) -> &EncryptionPublicKey {
        self.key.public_key()
    }

    /// PEM, label `VEIL SCOPED VIEW KEY`, contents
    /// `framed(consortium id) || framed(month) || framed(class) || secret key (32 bytes)`.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let mut body = Zeroizing::new(Vec::with_capacity(96));
        encoding::put_framed(&mut body, self.consortium_id.as_bytes());
        encoding::put_framed(&mut body, self.scope.month.as_bytes());
        encoding::put_framed(&mut body, self.scope.class.as_bytes());
        body.extend_from_slice(self.key.to_bytes().as_ref());
        Zeroizing::new(encoding::pem_encode(labels::pem::SCOPED_VIEW_KEY, &body))
    }

    /// Reads one scoped view key PEM block.
    pub fn from_pem(text: &str) -> Result<Self, ViewKeyError> {
        let body = encoding::pem_decode(labels::pem::SCOPED_VIEW_KEY, text)?;
        let mut reader = Reader::new(&body);
        let string = |reader: &mut Reader<'_>| -> Result<String, ViewKeyError> {
            let len = reader.u32()? as usize;
            if len > 64 {
                return Err(EncodingError::Malformed("scoped view key string").into());
            }
            let bytes = reader.take(len)?;
            String::from_utf8(bytes.to_vec())
                .map_err(|_| EncodingError::Malformed("scoped view key string").into())
        };
        let consortium_id = string(&mut reader)?;
        let month = string(&mut reader)?;
        let class = string(&mut reader)?;
        let secret = Zeroizing::new(reader.array::<32>()?);
        reader.finish()?;
        Ok(Self {
            consortium_id,
            scope: ViewScope::new(&month, &class)?,
            key: EncryptionSecretKey::from_bytes(&secret)?,
        })
    }
}

impl fmt::Debug for ScopedViewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedViewKey")
            .field("scope", &self.scope)
            .field("public_key", self.public_key())
            .finish_non_exhaustive()
    }
}

/// A scope's public key as the regulator publishes it. Serialized flat as
/// `{"month": "2026-11", "class": "amounts", "public_key": "<hex>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PublishedFields", into = "PublishedFields")]
pub struct PublishedViewKey {
    /// The scope.
    pub scope: ViewScope,
    /// The scope's public key.
    pub public_key: EncryptionPublicKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishedFields {
    month: String,
    class: String,
    public_key: EncryptionPublicKey,
}

impl TryFrom<PublishedFields> for PublishedViewKey {
    type Error = ViewKeyError;
    fn try_from(fields: PublishedFields) -> Result<Self, Self::Error> {
        Ok(Self {
            scope: ViewScope::new(&fields.month, &fields.class)?,
            public_key: fields.public_key,
        })
    }
}

impl From<PublishedViewKey> for PublishedFields {
    fn from(key: PublishedViewKey) -> Self {
        Self {
            month: key.scope.month,
            class: key.scope.class,
            public_key: key.public_key,
        }
    }
}

/// What a regulator or inspector holds: the master key, or a set of scoped keys.
#[derive(Debug)]
pub enum ViewKeyring {
    /// Derives any scope's key on demand.
    Master {
        /// The consortium.
        consortium_id: String,
        /// The master key.
        key: MasterViewKey,
    },
    /// Opens exactly these scopes.
    Scoped(BTreeMap<ViewScope, ScopedViewKey>),
}

impl ViewKeyring {
    /// The regulator's auditor key ([`MasterViewKey::auditor_key`]), if this keyring holds the
    /// master key (scoped keys cannot open decrypt handles).
    pub fn auditor_key(&self) -> Option<crate::auditor::AuditorSecretKey> {
        match self {
            Self::Master { consortium_id, key } => key.auditor_key(consortium_id).ok(),
            Self::Scoped(_) => None,
        }
    }

    /// Reads a key file: one master view key block, or one or more scoped view key blocks.
    pub fn from_pem(consortium_id: &str, text: &str) -> Result<Self, ViewKeyError> {
        let blocks = encoding::pem_blocks(text);
        if blocks.len() == 1 && blocks[0].contains(labels::pem::MASTER_VIEW_KEY) {
            return Ok(Self::Master {
                consortium_id: consortium_id.to_owned(),
                key: MasterViewKey::from_pem(blocks[0])?,
            });
        }
        if blocks.is_empty() {
            return Err(EncodingError::Pem.into());
        }
        let mut keys = BTreeMap::new();
        for block in blocks {
            let key = ScopedViewKey::from_pem(block)?;
            if key.consortium_id != consortium_id {
                return Err(EncodingError::Malformed("view key of another consortium").into());
            }
            keys.insert(key.scope.clone(), key);
        }
        Ok(Self::Scoped(keys))
    }

    /// The secret key of `scope`, if this keyring opens it.
    pub fn key_for(&self, scope: &ViewScope) -> Option<EncryptionSecretKey> {
        match self {
            Self::Master { consortium_id, key } => {
                Some(key.derive(consortium_id, scope).secret_key().clone())
            }
            Self::Scoped(keys) => keys.get(scope).map(|key| key.secret_key().clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_classes_are_validated() {
        assert_eq!(month_of("2026-11").unwrap(), "2026-11");
        assert_eq!(month_of("2026-11-25").unwrap(), "2026-11");
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026-11-32",
            "2026/11",
            "",
            "2026-11-2x",
        ] {
            assert!(month_of(bad).is_err(), "{bad}");
        }
        assert!(ViewScope::new("2026-11", "amounts").is_ok());
        assert!(ViewScope::new("2026-11", "Amounts").is_err());
        assert!(ViewScope::new("2026-11", "").is_err());
    }

    #[test]
    fn scoped_keys_are_deterministic_and_independent() {
        let master = MasterViewKey::from_bytes(&[7; 32]);
        let nov = ViewScope::new("2026-11", "amounts").unwrap();
        let dec = ViewScope::new("2026-12", "amounts").unwrap();
        let pii = ViewScope::new("2026-11", "pii").unwrap();
        let a = master.derive("veil-dev", &nov);
        assert_eq!(a, master.derive("veil-dev", &nov));
        assert_ne!(a.public_key(), master.derive("veil-dev", &dec).public_key());
        assert_ne!(a.public_key(), master.derive("veil-dev", &pii).public_key());
        assert_ne!(a.public_key(), master.derive("other", &nov).public_key());
        let other_master = MasterViewKey::from_bytes(&[8; 32]);
        assert_ne!(
            a.public_key(),
            other_master.derive("veil-dev", &nov).public_key()
        );
    }

    #[test]
    fn pem_round_trips() {
        let master = MasterViewKey::from_bytes(&[7; 32]);
        let again = MasterViewKey::from_pem(&master.to_pem()).unwrap();
        let scope = ViewScope::new("2026-11", "amounts").unwrap();
        assert_eq!(again.derive("c", &scope), master.derive("c", &scope));
        let scoped = master.derive("c", &scope);
        assert_eq!(ScopedViewKey::from_pem(&scoped.to_pem()).unwrap(), scoped);
        assert_eq!(format!("{master:?}"), "MasterViewKey([REDACTED])");
    }

    #[test]
    fn keyring_reads_master_or_scoped_files() {
        let master = MasterViewKey::from_bytes(&[1; 32]);
        let nov = ViewScope::new("2026-11", "amounts").unwrap();
        let dec = ViewScope::new("2026-12", "amounts").unwrap();
        let ring = ViewKeyring::from_pem("c", &master.to_pem()).unwrap();
        assert_eq!(
            ring.key_for(&dec).unwrap(),
            *master.derive("c", &dec).secret_key()
        );
        let file = format!(
            "{}{}",
            master.derive("c", &nov).to_pem().as_str(),
            master
                .derive("c", &ViewScope::new("2026-11", "pii").unwrap())
                .to_pem()
                .as_str()
        );
        let ring = ViewKeyring::from_pem("c", &file).unwrap();
        assert!(ring.key_for(&nov).is_some());
        assert!(ring.key_for(&dec).is_none());
        assert!(ViewKeyring::from_pem("other", &file).is_err());
    }
}
