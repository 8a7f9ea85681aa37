//! Rule group 1, the header: a known type at its schema version, the genesis policy hash, a
//! submitter that may submit the type and whose Ed25519 signature over the whole entry
//! verifies, a valid period.
//!
//! Who submits what: members submit every type but `view_keys.published`, which only a
//! regulator submits, signed with the key the genesis names for it (`signing_key`); a
//! regulator submits nothing else, and one without a signing key nothing at all.

use veil_crypto::VerifyingKey;
use veil_crypto::view_key::month_of;
use veil_policies::schema::EntryType;

use super::{ProofKind, Rejection, Validator};
use crate::ledger::Entry;

impl Validator {
    /// Checks the header and the signature; returns the entry's type.
    pub(super) fn check_header(&self, entry: &Entry) -> Result<EntryType, Rejection> {
        let header = &entry.header;
        let kind = EntryType::from_name(&header.kind).ok_or(Rejection::UnknownType)?;
        if header.schema_version != kind.schema_version() {
            return Err(Rejection::SchemaVersion);
        }
        if header.genesis != self.genesis.hash {
            return Err(Rejection::Genesis);
        }
        if header.policy_hash != self.genesis.policy_hash {
            return Err(Rejection::PolicyHash);
        }
        let key = self.submitter_key(kind, &header.submitter)?;
        if !self.timed(ProofKind::Signature, || entry.verify_signature(key)) {
            return Err(Rejection::Signature);
        }
        // The id is the submitter's: derived from the genesis, its id and the nonce.
        if !header.id_is_derived() {
            return Err(Rejection::EntryId);
        }
        month_of(&header.period).map_err(|_| Rejection::Period)?;
        Ok(kind)
    }

    /// The key that must have signed an entry of type `kind` by `submitter`.
    fn submitter_key(&self, kind: EntryType, submitter: &str) -> Result<&VerifyingKey, Rejection> {
        if let Some(member) = self.genesis.member(submitter) {
            return if kind.by_regulator() {
                Err(Rejection::SubmitterRole)
            } else {
                Ok(&member.signing_key)
            };
        }
        let regulator = self
            .genesis
            .regulator(submitter)
            .ok_or(Rejection::UnknownSubmitter)?;
        match (kind.by_regulator(), &regulator.signing_key) {
            (true, Some(key)) => Ok(key),
            _ => Err(Rejection::SubmitterRole),
        }
    }
}
