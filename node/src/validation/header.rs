//! Rule group 1, the header: a known type at its schema version, the genesis policy hash, a
//! member submitter whose Ed25519 signature over the whole entry verifies, a valid period.

use veil_crypto::view_key::month_of;
use veil_policies::schema::EntryType;

use super::{Rejection, Validator};
use crate::ledger::Entry;

impl Validator {
    /// Checks the header and the signature; returns the entry's type.
    pub(super) fn check_header(&self, entry: &Entry) -> Result<EntryType, Rejection> {
        let header = &entry.header;
        let kind = EntryType::from_name(&header.kind).ok_or(Rejection::UnknownType)?;
        if header.schema_version != kind.schema_version() {
            return Err(Rejection::SchemaVersion);
        }
        if header.policy_hash != self.genesis.policy_hash {
            return Err(Rejection::PolicyHash);
        }
        let member = self
            .genesis
            .member(&header.submitter)
            .ok_or(Rejection::UnknownSubmitter)?;
        if !entry.verify_signature(&member.signing_key) {
            return Err(Rejection::Signature);
        }
        month_of(&header.period).map_err(|_| Rejection::Period)?;
        Ok(kind)
    }
}
