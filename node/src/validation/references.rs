//! Rule group: references. Their number fits the type's [`ReferenceRule`] (a loan of a
//! screening consortium references the registry version it was screened against, an update
//! the version it changes once a registry exists); each exists once, has the wanted type and,
//! except a shared registry version, the same submitter. A repayment's allocations name exactly
//! its loan's participants; a settlement's repayments are of its period and not yet settled;
//! the registry version a loan or an update references is still current; a view-key
//! publication references its regulator's last publication (none for the first).

use std::collections::BTreeSet;
use std::sync::Arc;

use veil_policies::proof_plan::per_bank;
use veil_policies::schema::{EntryType, ReferenceRule};

use super::{LedgerView, ReferenceError, Rejection, ValidationError, Validator};
use crate::ledger::Entry;

impl Validator {
    /// Checks the references of an entry of type `kind` against the ledger seen through
    /// `view`; returns the referenced entries, in order.
    pub(super) fn check_references(
        &self,
        kind: EntryType,
        entry: &Entry,
        view: &dyn LedgerView,
    ) -> Result<Vec<Arc<Entry>>, ValidationError> {
        let references = &entry.header.references;
        let wanted = match kind.references() {
            ReferenceRule::None if references.is_empty() => return Ok(Vec::new()),
            ReferenceRule::None => return Err(ReferenceError::NoneExpected.into()),
            ReferenceRule::Exactly(wanted) if references.len() == 1 => wanted,
            ReferenceRule::Exactly(_) => return Err(ReferenceError::ExactlyOneExpected.into()),
            ReferenceRule::AnyNumberOf(wanted) => wanted,
            ReferenceRule::AtMostOne(wanted) if references.len() <= 1 => wanted,
            ReferenceRule::AtMostOne(_) => return Err(ReferenceError::AtMostOneExpected.into()),
        };
        let screens = self.genesis.circuits.screening.is_some();
        match kind {
            EntryType::LoanOriginated if screens && references.is_empty() => {
                return Err(ReferenceError::Unscreened.into());
            }
            EntryType::LoanOriginated if !screens && !references.is_empty() => {
                return Err(ReferenceError::NotScreening.into());
            }
            EntryType::RegistryUpdated if references.is_empty() && view.has_registry()? => {
                return Err(ReferenceError::UnchainedUpdate.into());
            }
            // A regulator's first publication, although it published before: it would fork
            // the regulator's chain.
            EntryType::ViewKeysPublished
                if references.is_empty() && view.has_view_keys_of(&entry.header.submitter)? =>
            {
                return Err(Rejection::StaleViewKeys.into());
            }
            _ => {}
        }
        let mut seen = BTreeSet::new();
        let mut referenced = Vec::with_capacity(references.len());
        for id in references {
            if !seen.insert(*id) {
                return Err(ReferenceError::Duplicate.into());
            }
            let target = view.entry(id)?.ok_or(ReferenceError::Missing)?;
            if target.header.kind != wanted.name() {
                return Err(ReferenceError::WrongType.into());
            }
            // The registry is shared: any member's version may be referenced.
            if wanted != EntryType::RegistryUpdated
                && target.header.submitter != entry.header.submitter
            {
                return Err(ReferenceError::OtherSubmitter.into());
            }
            referenced.push(target);
        }
        match kind {
            EntryType::LoanRepaid => {
                let loan = &referenced[0];
                let loan_banks: Vec<&str> = per_bank(&loan.commitments, "funding")
                    .into_iter()
                    .map(|(bank, _)| bank)
                    .collect();
                let allocation_banks: Vec<&str> = per_bank(&entry.commitments, "allocations")
                    .into_iter()
                    .map(|(bank, _)| bank)
                    .collect();
                if loan_banks != allocation_banks {
                    return Err(ReferenceError::Allocations.into());
                }
            }
            EntryType::SettlementClosed => {
                for (id, repayment) in references.iter().zip(&referenced) {
                    if repayment.header.period != entry.header.period {
                        return Err(ReferenceError::OtherPeriod.into());
                    }
                    if view.settled_by(id)?.is_some() {
                        return Err(Rejection::AlreadySettled.into());
                    }
                }
            }
            EntryType::LoanOriginated | EntryType::RegistryUpdated => {
                for id in references {
                    if view.settled_by(id)?.is_some() {
                        return Err(Rejection::StaleRegistry.into());
                    }
                }
            }
            EntryType::DisclosuresAnchored | EntryType::OprfEvaluations => {}
            // The publication it follows must be the head of the regulator's chain.
            EntryType::ViewKeysPublished => {
                for id in references {
                    if view.settled_by(id)?.is_some() {
                        return Err(Rejection::StaleViewKeys.into());
                    }
                }
            }
        }
        Ok(referenced)
    }
}
