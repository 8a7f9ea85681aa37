//! Whom each field of an entry is encrypted to: its *recipient set*.
//!
//! The recipients of a field are the members the policy set lets read it (any role of a bank
//! counts: its roles share the bank's encryption key) and, for each regulator the policy set
//! lets read it, that regulator's scoped view key for the entry's month and the field's class
//! (published in the genesis or, later months, on the ledger). The policy resource of a field
//! comes from [`veil_policies::field_resource`]: the schema's class, the submitter as
//! originator, the entry's participants ([`participants`]) and the bank a per-bank path names.
//!
//! A writer's gateway seals each reader group to the recipient set of its fields; every node
//! recomputes the sets from public data only (the genesis, the policy set, the entry's header,
//! commitment labels and referenced loan, the regulators' publications) and refuses an entry
//! whose groups are wrapped to anything else. So a lying writer cannot leave a regulator or a
//! partner out of an entry, nor add an outsider to it.

use veil_crypto::EncryptionPublicKey;
use veil_crypto::view_key::ViewScope;
use veil_policies::proof_plan::per_bank;
use veil_policies::schema::EntryType;
use veil_policies::{FieldResource, Policies, Principal};

use crate::genesis::{Genesis, Regulator};
use crate::ledger::Entry;

/// Why a field's recipient set cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipientError {
    /// The policy set could not be evaluated.
    #[error("policy evaluation failed: {0}")]
    Policy(String),
    /// A regulator that reads the field has published no view key for the entry's month.
    #[error(
        "regulator {regulator} has not published its {class} view key for {month} \
         (`veil regulator publish`)"
    )]
    NoViewKey {
        /// The regulator.
        regulator: String,
        /// The month (`YYYY-MM`).
        month: String,
        /// The field class.
        class: String,
    },
    /// Nobody may read the field.
    #[error("nobody may read {path}")]
    Nobody {
        /// The field path.
        path: String,
    },
}

/// The banks an entry of type `kind` concerns, sorted: a loan's participants (its `share.*`
/// commitment labels), a repayment's loan's participants (`loan`, the loan it references), a
/// settlement's payees (its `due.*` labels); nobody for other types.
pub fn participants(kind: EntryType, entry: &Entry, loan: Option<&Entry>) -> Vec<String> {
    let (commitments, prefix) = match kind {
        EntryType::LoanOriginated => (&entry.commitments, "share"),
        EntryType::LoanRepaid => match loan {
            Some(loan) => (&loan.commitments, "share"),
            None => return Vec::new(),
        },
        EntryType::SettlementClosed => (&entry.commitments, "due"),
        EntryType::RegistryUpdated
        | EntryType::ViewKeysPublished
        | EntryType::DisclosuresAnchored
        | EntryType::OprfEvaluations => return Vec::new(),
    };
    per_bank(commitments, prefix)
        .into_iter()
        .map(|(bank, _)| bank.to_owned())
        .collect()
}

/// The members of `genesis` the policy set lets read `field`, in genesis order.
pub fn member_readers<'g>(
    genesis: &'g Genesis,
    policies: &Policies,
    field: &FieldResource<'_>,
) -> Result<Vec<&'g str>, RecipientError> {
    policies
        .readers(field, genesis.members.iter().map(|m| m.id.as_str()))
        .map_err(|e| RecipientError::Policy(e.to_string()))
}

/// The recipient set of `field` in an entry of month `month` (`YYYY-MM`), sorted by key
/// bytes: the encryption keys of `members` (the member readers, from [`member_readers`]) and
/// the view key `regulator_key` gives for each regulator the policy lets read the field.
///
/// Errors: [`RecipientError::NoViewKey`] if a reading regulator has no key for the month,
/// [`RecipientError::Nobody`] if the set is empty.
pub fn field_recipients(
    genesis: &Genesis,
    policies: &Policies,
    field: &FieldResource<'_>,
    members: &[&str],
    month: &str,
    regulator_key: &dyn Fn(&Regulator, &ViewScope) -> Option<EncryptionPublicKey>,
) -> Result<Vec<EncryptionPublicKey>, RecipientError> {
    let mut keys: Vec<EncryptionPublicKey> = members
        .iter()
        .filter_map(|bank| genesis.member(bank).map(|m| m.encryption_key.clone()))
        .collect();
    for regulator in &genesis.regulators {
        let principal = Principal::Regulator {
            id: regulator.id.clone(),
        };
        if !policies
            .can_read(&principal, field)
            .map_err(|e| RecipientError::Policy(e.to_string()))?
        {
            continue;
        }
        let no_key = || RecipientError::NoViewKey {
            regulator: regulator.id.clone(),
            month: month.to_owned(),
            class: field.class.to_owned(),
        };
        let scope = ViewScope::new(month, field.class).map_err(|_| no_key())?;
        keys.push(regulator_key(regulator, &scope).ok_or_else(no_key)?);
    }
    if keys.is_empty() {
        return Err(RecipientError::Nobody {
            path: field.path.to_owned(),
        });
    }
    keys.sort_by_key(EncryptionPublicKey::to_bytes);
    keys.dedup_by_key(|key| key.to_bytes());
    Ok(keys)
}
