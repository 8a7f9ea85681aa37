//! Rule group: the screening registry. An update's roots must be those of the lists after its
//! changes, replayed on the version it changes (an overlay over the node's persisted finalized
//! registry, see [`crate::registry`]); a loan's screening proof must verify against the roots of the version
//! it references (whether that version is current is a reference rule, `references.rs`). A
//! borrower is taken off the blocklist only by the member that blocklisted it: a member cannot
//! unblock a borrower another member blocked just before lending to it.

use std::sync::Arc;

use veil_policies::schema::EntryType;

use super::{CircuitProofError, LedgerView, Rejection, ValidationError, Validator};
use crate::ledger::Entry;
use veil_circuits::screening::stored;

use crate::registry::{self, RegistryError};

impl Validator {
    /// A registry update's roots against the changed lists; a loan's screening proof against
    /// the roots of the registry version it references (`referenced`, checked with the
    /// references).
    pub(super) fn check_registry(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[Arc<Entry>],
        view: &dyn LedgerView,
    ) -> Result<(), ValidationError> {
        match kind {
            EntryType::RegistryUpdated => {
                let update = registry::update_of(entry)?;
                let finalized = view.registry()?;
                let mut next = registry::registry_after(
                    |id| view.entry(id),
                    finalized.as_ref(),
                    referenced.first().map(AsRef::as_ref),
                )?;
                if !registry::foreign_removals(&next, &update, &entry.header.submitter)?.is_empty()
                {
                    return Err(Rejection::BlocklistRemoval.into());
                }
                next.apply(&update.changes, entry.header.submitter.as_bytes())
                    .map_err(RegistryError::from)?;
                if stored::roots(&next).map_err(RegistryError::from)? != update.roots {
                    return Err(CircuitProofError::RegistryRoots.into());
                }
                Ok(())
            }
            EntryType::LoanOriginated => {
                Ok(self.check_screening(entry, referenced.first().map(AsRef::as_ref))?)
            }
            EntryType::LoanRepaid
            | EntryType::SettlementClosed
            | EntryType::ViewKeysPublished
            | EntryType::DisclosuresAnchored
            | EntryType::OprfEvaluations => Ok(()),
        }
    }
}
