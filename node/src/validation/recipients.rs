//! Rule group: recipients. Every reader group of an entry is wrapped to exactly the recipient
//! set of its fields ([`crate::recipients`]): the members and the regulators' scoped view keys
//! the policy set names, computed here from public data only. A group whose fields have
//! different recipient sets, a recipient left out, an outsider added or one recipient wrapped
//! twice is refused.
//!
//! What nodes cannot see is whether each wrap really holds the group's data key: a recipient
//! that cannot open its group (or whose opening disagrees with the commitment) records an
//! alert with the signed entry as evidence (`docs/guarantees.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use veil_crypto::EncryptionPublicKey;
use veil_crypto::view_key::{ViewScope, month_of};
use veil_policies::FieldClass;
use veil_policies::schema::EntryType;

use super::{FieldError, LedgerView, Rejection, ValidationError, Validator};
use crate::genesis::Regulator;
use crate::ledger::Entry;
use crate::recipients::{self, RecipientError};

/// Why an entry's reader groups are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipientsError {
    /// A field's recipient set cannot be computed (a regulator without a key for the month,
    /// nobody may read it, the policy failed).
    #[error(transparent)]
    Field(#[from] RecipientError),
    /// The fields of one group have different recipient sets.
    #[error("the fields of one reader group have different readers ({path})")]
    MixedGroup {
        /// A field whose readers differ from the group's first field's.
        path: String,
    },
    /// A group is wrapped to other keys than its fields' recipient set.
    #[error("reader group of {path} is not wrapped to exactly its readers")]
    WrongRecipients {
        /// The group's first field.
        path: String,
    },
}

impl From<RecipientsError> for ValidationError {
    fn from(e: RecipientsError) -> Self {
        Rejection::Recipients(e).into()
    }
}

/// Most resources whose member readers are cached (a resource is an entry type, path, class,
/// originator, participants and subject bank: loans among the same banks share them).
const CACHE_LIMIT: usize = 16_384;

impl Validator {
    /// Checks that each reader group of `entry` (type `kind`, with `referenced` its referenced
    /// entries in order) is wrapped to exactly its fields' recipient set.
    pub(super) fn check_recipients(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[Arc<Entry>],
        view: &dyn LedgerView,
    ) -> Result<(), ValidationError> {
        if entry.groups.is_empty() {
            return Ok(());
        }
        let loan = match kind {
            EntryType::LoanRepaid => referenced.first().map(Arc::as_ref),
            _ => None,
        };
        let participants = recipients::participants(kind, entry, loan);
        // Period was checked with the header.
        let month = month_of(&entry.header.period).map_err(|_| Rejection::Period)?;
        let regulator_keys = self.regulator_keys(month, view)?;
        let regulator_key = |regulator: &Regulator, scope: &ViewScope| {
            regulator_keys
                .get(&(regulator.id.clone(), scope.class().to_owned()))
                .cloned()
        };
        for group in &entry.groups {
            let mut expected: Option<(String, Vec<EncryptionPublicKey>)> = None;
            for path in group.paths() {
                let field = veil_policies::field_resource(
                    kind,
                    path,
                    &entry.header.submitter,
                    &participants,
                )
                // Paths were checked with the fields.
                .ok_or_else(|| {
                    Rejection::Fields(FieldError::Unknown {
                        path: path.to_owned(),
                    })
                })?;
                let members = self.member_readers(&field)?;
                let members: Vec<&str> = members.iter().map(String::as_str).collect();
                let keys = recipients::field_recipients(
                    &self.genesis,
                    &self.policies,
                    &field,
                    &members,
                    month,
                    &regulator_key,
                )
                .map_err(RecipientsError::Field)?;
                match &expected {
                    None => expected = Some((path.to_owned(), keys)),
                    Some((_, first)) if *first == keys => {}
                    Some(_) => {
                        return Err(RecipientsError::MixedGroup {
                            path: path.to_owned(),
                        }
                        .into());
                    }
                }
            }
            let Some((path, keys)) = expected else {
                continue;
            };
            let wanted: BTreeSet<[u8; 32]> =
                keys.iter().map(EncryptionPublicKey::to_bytes).collect();
            let wrapped: Vec<[u8; 32]> = group.wrapped_keys.iter().map(|w| w.recipient).collect();
            let wrapped_set: BTreeSet<[u8; 32]> = wrapped.iter().copied().collect();
            if wrapped.len() != wrapped_set.len() || wrapped_set != wanted {
                return Err(RecipientsError::WrongRecipients { path }.into());
            }
        }
        Ok(())
    }

    /// Every regulator's view key of `month` for each field class: the genesis' or, for later
    /// months, the one its publications on the ledger carry. Missing ones are left out.
    fn regulator_keys(
        &self,
        month: &str,
        view: &dyn LedgerView,
    ) -> Result<BTreeMap<(String, String), EncryptionPublicKey>, ValidationError> {
        let mut keys = BTreeMap::new();
        for regulator in &self.genesis.regulators {
            for class in FieldClass::ALL {
                let Ok(scope) = ViewScope::new(month, class.name()) else {
                    continue;
                };
                let key = match regulator.view_keys.get(&scope) {
                    Some(key) => Some(key.clone()),
                    None => view.published_view_key(&regulator.id, &scope)?,
                };
                if let Some(key) = key {
                    keys.insert((regulator.id.clone(), class.name().to_owned()), key);
                }
            }
        }
        Ok(keys)
    }

    /// The member readers of `field`, cached by resource.
    fn member_readers(
        &self,
        field: &veil_policies::FieldResource<'_>,
    ) -> Result<Vec<String>, RecipientsError> {
        let key = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            field.entry_type,
            field.path,
            field.class,
            field.originator,
            field.participants.join(","),
            field.subject_bank.unwrap_or("")
        );
        if let Some(readers) = self.readers_cache().get(&key) {
            return Ok(readers.clone());
        }
        let readers: Vec<String> =
            recipients::member_readers(&self.genesis, &self.policies, field)?
                .into_iter()
                .map(str::to_owned)
                .collect();
        let mut cache = self.readers_cache();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, readers.clone());
        Ok(readers)
    }
}
