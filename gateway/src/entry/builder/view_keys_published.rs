//! `view_keys.published`: a regulator's publication of the scoped public view keys of further
//! months, derived from its master view key and signed with its signing key. Not built by a
//! member's [`Builder`](super::Builder): it has no fields, commitments or proofs, only the
//! public keys ([`veil_node::view_keys::Publication`]).

use veil_crypto::SigningKey;
use veil_crypto::view_key::MasterViewKey;
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryId};
use veil_node::view_keys::{MAX_MONTHS, Publication, classes};

use crate::entry::error::EntryError;

/// The `view_keys.published` entry of regulator `regulator` publishing the keys `master`
/// derives for `months` (consecutive, at most [`MAX_MONTHS`]), following its publication
/// `previous` (none for its first), signed with `signing`.
///
/// # Errors
/// [`EntryError::Malformed`] if `months` are not up to [`MAX_MONTHS`] consecutive `YYYY-MM`
/// months.
pub fn view_keys_publication(
    genesis: &Genesis,
    regulator: &str,
    master: &MasterViewKey,
    signing: &SigningKey,
    previous: Option<EntryId>,
    months: &[String],
    now_ms: u64,
) -> Result<Entry, EntryError> {
    if months.is_empty() || months.len() > MAX_MONTHS {
        return Err(EntryError::malformed(format!(
            "a publication publishes 1 to {MAX_MONTHS} months"
        )));
    }
    let keys = master
        .publish(&genesis.consortium_id, months, &classes())
        .map_err(|e| EntryError::malformed(e.to_string()))?;
    let publication = Publication::new(keys).map_err(|e| EntryError::malformed(e.to_string()))?;
    Ok(publication
        .entry(
            EntryId::random_nonce(),
            &genesis.hash,
            regulator,
            genesis.policy_hash,
            previous,
            now_ms,
        )
        .sign(signing))
}
