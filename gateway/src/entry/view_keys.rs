//! Where a gateway finds a regulator's scoped public view key: the genesis publishes the keys
//! of the months up to some month, and each regulator publishes later months on the ledger in
//! its chain of `view_keys.published` entries ([`veil_node::view_keys`]). [`PublishedViewKeys`]
//! is the index of those chains as far as a gateway has read the ledger; the write path asks
//! it for every regulator recipient ([`PublishedViewKeys::key`]), and reads the ledger again
//! when a month's keys are missing.
//!
//! A gateway indexes only finalized publications its node validated; it still checks each
//! one's signature, keys and place in its regulator's chain before encrypting anything to it.

use std::collections::BTreeMap;

use veil_crypto::EncryptionPublicKey;
use veil_crypto::view_key::{ViewScope, month_of};
use veil_node::genesis::{Genesis, Regulator};
use veil_node::ledger::{Entry, EntryId};
use veil_node::view_keys::{PublicationError, genesis_last_month, next_month, publication_of};
use veil_policies::{EntryType, FieldClass};

/// Why a publication read from the ledger cannot extend the index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Not a `view_keys.published` entry of a regulator with a signing key, or its signature
    /// does not verify.
    #[error("entry {0} is not a regulator's signed view-key publication")]
    NotAPublication(EntryId),
    /// Its keys do not decode.
    #[error("entry {0}: {1}")]
    Publication(EntryId, PublicationError),
    /// It does not follow the last publication indexed for its regulator, or its months do
    /// not follow the last ones published.
    #[error("entry {0} does not follow its regulator's last publication")]
    OutOfOrder(EntryId),
}

/// One regulator's publications so far.
#[derive(Debug, Clone)]
struct Chain {
    head: EntryId,
    last_month: String,
    keys: BTreeMap<ViewScope, EncryptionPublicKey>,
}

/// The view keys regulators published on the ledger, by regulator (see the module
/// documentation).
#[derive(Debug, Clone, Default)]
pub struct PublishedViewKeys {
    chains: BTreeMap<String, Chain>,
}

impl PublishedViewKeys {
    /// The public key of `regulator` for `scope`: the genesis', or one it published since.
    pub fn key<'a>(
        &'a self,
        regulator: &'a Regulator,
        scope: &ViewScope,
    ) -> Option<&'a EncryptionPublicKey> {
        regulator.view_keys.get(scope).or_else(|| {
            self.chains
                .get(&regulator.id)
                .and_then(|chain| chain.keys.get(scope))
        })
    }

    /// Whether every regulator of `genesis` has published the keys of every field class for
    /// the month of `period` (a malformed period counts as published: the write refuses it
    /// anyway).
    pub fn covers(&self, genesis: &Genesis, period: &str) -> bool {
        let Ok(month) = month_of(period) else {
            return true;
        };
        genesis.regulators.iter().all(|regulator| {
            FieldClass::ALL.iter().all(|class| {
                ViewScope::new(month, class.name())
                    .is_ok_and(|scope| self.key(regulator, &scope).is_some())
            })
        })
    }

    /// The last publication of `regulator` indexed, if any.
    pub fn head(&self, regulator: &str) -> Option<EntryId> {
        self.chains.get(regulator).map(|chain| chain.head)
    }

    /// The last month `regulator` has published keys for: on the ledger as far as indexed,
    /// or else in the genesis.
    pub fn last_month(&self, regulator: &Regulator) -> Option<String> {
        match self.chains.get(&regulator.id) {
            Some(chain) => Some(chain.last_month.clone()),
            None => genesis_last_month(regulator).map(str::to_owned),
        }
    }

    /// Indexes `entry`, the next finalized `view_keys.published` entry of the ledger (entries
    /// of other types are ignored).
    ///
    /// # Errors
    /// [`ChainError`] if it is not a regulator's signed publication that follows the last one
    /// indexed for that regulator; the index is then unchanged.
    pub fn apply(&mut self, genesis: &Genesis, entry: &Entry) -> Result<(), ChainError> {
        let id = entry.header.id;
        if entry.header.kind != EntryType::ViewKeysPublished.name() {
            return Ok(());
        }
        let regulator = genesis
            .regulator(&entry.header.submitter)
            .filter(|r| {
                r.signing_key
                    .as_ref()
                    .is_some_and(|key| entry.verify_signature(key))
            })
            .ok_or(ChainError::NotAPublication(id))?;
        let publication =
            publication_of(entry).map_err(|error| ChainError::Publication(id, error))?;
        let follows_head = entry.header.references.first() == self.head(&regulator.id).as_ref();
        let follows_months = match self.last_month(regulator) {
            Some(last) => next_month(&last).as_deref() == Some(publication.first_month()),
            None => true,
        };
        if !follows_head || !follows_months || entry.header.references.len() > 1 {
            return Err(ChainError::OutOfOrder(id));
        }
        let chain = self
            .chains
            .entry(regulator.id.clone())
            .or_insert_with(|| Chain {
                head: id,
                last_month: String::new(),
                keys: BTreeMap::new(),
            });
        chain.head = id;
        chain.last_month = publication.last_month().to_owned();
        chain.keys.extend(
            publication
                .keys()
                .iter()
                .map(|key| (key.scope.clone(), key.public_key.clone())),
        );
        Ok(())
    }
}
