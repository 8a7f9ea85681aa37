//! The secrets a gateway holds: a member's signing and encryption keys and the consortium's
//! borrower-reference key, or a regulator's view keys.

use std::path::Path;

use veil_crypto::envelope::SealedGroup;
use veil_crypto::keyed_hash::KeyedHashKey;
use veil_crypto::view_key::{ViewScope, month_of};
use veil_crypto::{EncryptionSecretKey, SigningKey, ViewKeyring};
use veil_node::tls::read_private;
use veil_policies::FieldClass;

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct KeyError {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

fn read_text(path: &Path) -> Result<zeroize::Zeroizing<String>, KeyError> {
    let bytes = read_private(path).map_err(|e| KeyError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes.to_vec())
        .map(zeroize::Zeroizing::new)
        .map_err(|_| KeyError {
            path: path.display().to_string(),
            reason: "not UTF-8 text".into(),
        })
}

fn bad(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A member gateway's keys.
#[derive(Debug)]
pub struct MemberSecrets {
    /// Signs the member's entries.
    pub signing: SigningKey,
    /// Unwraps the member's data keys.
    pub encryption: EncryptionSecretKey,
    /// This member's share of the consortium's borrower-reference OPRF key, if the genesis
    /// has one ([`MemberSecrets::with_oprf_share`]).
    pub oprf: Option<veil_crypto::oprf::OprfKeyShare>,
    /// Keys this gateway's cache of the borrower references of its own customers (their
    /// national ids never stored); derived from `signing`, never stored.
    pub ref_cache: KeyedHashKey,
    /// Derives the entry id of each loan this member originates from its business id
    /// ([`MemberSecrets::loan_entry_id`]); derived from `signing`, never stored.
    pub loan_ids: KeyedHashKey,
    /// Derives the entry id nonce of each idempotent write from its Idempotency-Key and body
    /// ([`MemberSecrets::idempotent_nonce`]); derived from `signing`, never stored.
    pub idempotent_ids: KeyedHashKey,
}

impl MemberSecrets {
    /// Loads the signing and encryption key files (each must be owner-only).
    pub fn load(signing: &Path, encryption: &Path) -> Result<Self, KeyError> {
        let signing_key =
            SigningKey::from_pem(&read_text(signing)?).map_err(|e| bad(signing, e))?;
        Ok(Self {
            loan_ids: KeyedHashKey::derive(
                veil_crypto::labels::LOAN_ENTRY_ID_KEY,
                &signing_key.to_seed(),
            ),
            ref_cache: KeyedHashKey::derive(
                veil_crypto::labels::BORROWER_REF_CACHE_KEY,
                &signing_key.to_seed(),
            ),
            idempotent_ids: KeyedHashKey::derive(
                veil_crypto::labels::IDEMPOTENT_ENTRY_ID_KEY,
                &signing_key.to_seed(),
            ),
            oprf: None,
            signing: signing_key,
            encryption: EncryptionSecretKey::from_pem(&read_text(encryption)?)
                .map_err(|e| bad(encryption, e))?,
        })
    }
}

impl MemberSecrets {
    /// These keys with the OPRF key share in `path` (hex of `u16_be(index) ‖ scalar`, owner-only),
    /// checked to be the share of member `index` of `key`.
    ///
    /// # Errors
    /// [`KeyError`]: an unreadable or malformed file, or a share that is not that member's.
    pub fn with_oprf_share(
        mut self,
        path: &Path,
        index: u16,
        key: &veil_crypto::oprf::OprfPublicKey,
    ) -> Result<Self, KeyError> {
        let text = zeroize::Zeroizing::new(read_text(path)?);
        let bytes = zeroize::Zeroizing::new(
            veil_crypto::encoding::from_hex(text.trim(), 34).map_err(|e| bad(path, e))?,
        );
        let share =
            veil_crypto::oprf::OprfKeyShare::from_bytes(&bytes).map_err(|e| bad(path, e))?;
        if share.index() != index || key.shares.get(&index) != Some(&share.public()) {
            return Err(bad(
                path,
                "not this member's share of the genesis' OPRF key",
            ));
        }
        self.oprf = Some(share);
        Ok(self)
    }

    /// The id nonce of this member's loan `loan_id` in consortium `consortium_id`: the first
    /// 16 bytes of a keyed hash of both under [`MemberSecrets::loan_ids`]. The loan's entry id
    /// is derived from it ([`MemberSecrets::loan_entry_id`]), and the ledger refuses a second
    /// entry under one id, so one originator can never have two loans with one business id —
    /// whichever gateway process writes them, concurrently, after a crash, or retrying without
    /// an idempotency key. Others cannot tell the business id from the nonce or the id.
    pub fn loan_nonce(&self, consortium_id: &str, loan_id: &str) -> [u8; 16] {
        let mut value = Vec::with_capacity(consortium_id.len() + loan_id.len() + 8);
        veil_crypto::encoding::put_framed(&mut value, consortium_id.as_bytes());
        veil_crypto::encoding::put_framed(&mut value, loan_id.as_bytes());
        let hash = self.loan_ids.hash("loan-entry-id", &value);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&hash[..16]);
        nonce
    }

    /// The id nonce of this member's write under Idempotency-Key `key` whose body hashes to
    /// `body_hash` (hex SHA-256 of its canonical JSON), in consortium `consortium_id`: the
    /// first 16 bytes of a keyed hash of all three under [`MemberSecrets::idempotent_ids`].
    /// Every gateway process of this member builds a repayment, settlement or registry update
    /// sent with the same key and body under the same entry id, and the ledger refuses a second
    /// entry under one id: a request retried at another process of the member's gateway is
    /// written once. (A loan's id derives from its business id instead,
    /// [`MemberSecrets::loan_nonce`].) Others cannot tell the key or the body from the id.
    pub fn idempotent_nonce(&self, consortium_id: &str, key: &str, body_hash: &str) -> [u8; 16] {
        let mut value = Vec::with_capacity(consortium_id.len() + key.len() + body_hash.len() + 12);
        veil_crypto::encoding::put_framed(&mut value, consortium_id.as_bytes());
        veil_crypto::encoding::put_framed(&mut value, key.as_bytes());
        veil_crypto::encoding::put_framed(&mut value, body_hash.as_bytes());
        let hash = self.idempotent_ids.hash("idempotent-entry-id", &value);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&hash[..16]);
        nonce
    }

    /// The entry id of `member`'s (this member's) loan `loan_id` in the consortium of
    /// `genesis`: [`veil_node::ledger::EntryId::derive`] of [`MemberSecrets::loan_nonce`].
    pub fn loan_entry_id(
        &self,
        genesis: &veil_node::genesis::Genesis,
        member: &str,
        loan_id: &str,
    ) -> veil_node::ledger::EntryId {
        veil_node::ledger::EntryId::derive(
            &genesis.hash,
            member,
            &self.loan_nonce(&genesis.consortium_id, loan_id),
        )
    }
}

/// Loads an Ed25519 signing key (PKCS#8 PEM, owner-only): a regulator's, which signs its
/// view-key publications.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    SigningKey::from_pem(&read_text(path)?).map_err(|e| bad(path, e))
}

/// Loads a view key file (master or scoped) for `consortium_id`.
pub fn load_view_keys(path: &Path, consortium_id: &str) -> Result<ViewKeyring, KeyError> {
    ViewKeyring::from_pem(consortium_id, &read_text(path)?).map_err(|e| bad(path, e))
}

/// A regulator's keys at its gateway: its view keys and, when they include the master key,
/// its auditor key (which opens every amount's decrypt handle, [`veil_node::audit`]), with the
/// amounts it recovered so far.
#[derive(Debug)]
pub struct RegulatorKeys {
    /// The master or scoped view keys.
    pub keyring: ViewKeyring,
    /// The auditor key, derived once from the master key.
    pub auditor: Option<veil_crypto::auditor::AuditorSecretKey>,
    /// Amounts recovered from decrypt handles (or found beyond the search bound), by entry id
    /// and commitment label: a writer that garbles the regulator's groups costs one bounded
    /// search per amount, once.
    recovered: std::sync::Mutex<std::collections::HashMap<RecoveredKey, Option<u64>>>,
}

/// An amount of an entry: its id and commitment label.
type RecoveredKey = ([u8; 16], String);

/// Most recovered amounts remembered (then the memory starts again).
const RECOVERED_LIMIT: usize = 65_536;

impl RegulatorKeys {
    /// The keys of `keyring`.
    pub fn new(keyring: ViewKeyring) -> Self {
        Self {
            auditor: keyring.auditor_key(),
            keyring,
            recovered: std::sync::Mutex::default(),
        }
    }

    /// The amount recovered before for (`entry`, `label`), if any search was made.
    pub fn recovered(&self, entry: [u8; 16], label: &str) -> Option<Option<u64>> {
        self.recovered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(entry, label.to_owned()))
            .copied()
    }

    /// Remembers the outcome of a search for (`entry`, `label`).
    pub fn remember(&self, entry: [u8; 16], label: &str, value: Option<u64>) {
        let mut recovered = self.recovered.lock().unwrap_or_else(|p| p.into_inner());
        if recovered.len() >= RECOVERED_LIMIT {
            recovered.clear();
        }
        recovered.insert((entry, label.to_owned()), value);
    }
}

/// What can open sealed groups at this gateway.
#[derive(Debug)]
pub enum Opener<'a> {
    /// A member's encryption key.
    Member(&'a EncryptionSecretKey),
    /// A regulator's (or inspector's) view keys.
    Regulator(&'a RegulatorKeys),
}

impl Opener<'_> {
    /// The key that is a recipient of `group` in an entry of clearing period `period`, if any.
    pub fn key_for(&self, group: &SealedGroup, period: &str) -> Option<EncryptionSecretKey> {
        match self {
            Self::Member(key) => group.is_recipient(key.public_key()).then(|| (*key).clone()),
            Self::Regulator(RegulatorKeys { keyring, .. }) => {
                let month = month_of(period).ok()?;
                FieldClass::ALL.iter().find_map(|class| {
                    let scope = ViewScope::new(month, class.name()).ok()?;
                    let key = keyring.key_for(&scope)?;
                    group.is_recipient(key.public_key()).then_some(key)
                })
            }
        }
    }
}
