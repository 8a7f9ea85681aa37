//! Rule groups of a view-key publication (`view_keys.published`, see [`crate::view_keys`]):
//!
//! - *shape* (stateless): its circuit data is a well-formed publication (complete, consecutive
//!   months, at most [`crate::view_keys::MAX_MONTHS`], valid keys), its period is the first
//!   month it publishes, and it carries nothing else: no reader groups, no participants' proof
//!   (no commitments and no range or relation proofs: its proof plan is empty, `fields.rs`
//!   and `proofs.rs`);
//! - *chain* (stateful): its first month is the month after the last one its regulator
//!   published, in the genesis or in the publication it references. That the reference is the
//!   head of the regulator's chain (same regulator, not followed by another; none only for
//!   the regulator's first publication) is a reference rule (`references.rs`).

use std::sync::Arc;

use veil_policies::schema::EntryType;

use super::{Rejection, ValidationError, Validator, ViewKeysError};
use crate::ledger::Entry;
use crate::view_keys::{genesis_last_month, next_month, publication_of};

impl Validator {
    /// The shape of a view-key publication.
    pub(super) fn check_publication(&self, entry: &Entry) -> Result<(), Rejection> {
        let publication = publication_of(entry)?;
        if !entry.groups.is_empty() || !entry.proofs.participant.is_empty() {
            return Err(ViewKeysError::Unexpected.into());
        }
        if entry.header.period != publication.first_month() {
            return Err(ViewKeysError::Period.into());
        }
        Ok(())
    }

    /// A view-key publication's first month against what its regulator published before
    /// (`referenced`: its previous publication, checked with the references).
    pub(super) fn check_view_keys_chain(
        &self,
        kind: EntryType,
        entry: &Entry,
        referenced: &[Arc<Entry>],
    ) -> Result<(), ValidationError> {
        if kind != EntryType::ViewKeysPublished {
            return Ok(());
        }
        let publication = publication_of(entry).map_err(Rejection::from)?;
        let last = match referenced.first() {
            Some(previous) => Some(
                publication_of(previous)
                    .map_err(Rejection::from)?
                    .last_month()
                    .to_owned(),
            ),
            None => self
                .genesis
                .regulator(&entry.header.submitter)
                .ok_or(Rejection::SubmitterRole)
                .map(|r| genesis_last_month(r).map(str::to_owned))?,
        };
        // A regulator whose genesis published nothing starts where it likes.
        let Some(last) = last else {
            return Ok(());
        };
        let expected = next_month(&last).ok_or(ViewKeysError::Exhausted)?;
        if publication.first_month() != expected {
            return Err(ViewKeysError::NotNext { expected }.into());
        }
        Ok(())
    }
}
