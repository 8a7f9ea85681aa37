//! The stable codes of refusals: what metrics count and the node API sends for a refused
//! entry (`{"kind":"rejected","detail":"<code>"}`).

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use super::Rejection;

/// The stable code of a refusal, as metrics label it and the node API sends it.
/// [`Rejection::code`] maps each rejection to one; `malformed` is for bytes that are not an
/// entry at all.
///
/// | code             | rejections                                                         |
/// |------------------|--------------------------------------------------------------------|
/// | `schema`         | unknown type, schema version, period, fields                       |
/// | `commitments`    | commitments that do not fit the type's proof plan                  |
/// | `policy`         | a policy hash other than the genesis one                           |
/// | `signature`      | unknown submitter, bad signature, a submitter not allowed the type |
/// | `reference`      | references that do not fit the type or do not exist                |
/// | `replay`         | a used entry id, a repayment already settled                       |
/// | `stale-registry` | a registry version that is no longer current                       |
/// | `proof`          | a range or relation proof that does not verify                     |
/// | `circuit`        | circuit data (commitment, Groth16 proof, registry update) refused  |
/// | `malformed`      | bytes that are not an entry (refused before any rule is checked)   |
/// | `view-keys`      | a view-key publication's keys or months (malformed, not the next)  |
/// | `stale-view-keys`| a view-key publication not following its regulator's last one      |
/// | `genesis`        | an entry written for another consortium (another genesis hash)     |
/// | `recipients`     | reader groups not wrapped to exactly the recipients the policy names |
/// | `permission`     | a change only another party may make (another member's blocklisting) |
/// | `audit`          | an amount without a valid decrypt handle to every regulator        |
/// | `entry-id`       | an id not derived from the genesis, submitter and nonce            |
///
/// The codes are part of the node API (the `detail` of a `rejected` error) and of the
/// `rejections` metric's labels: they never change meaning, and new ones are only added. A
/// client that meets a code it does not know reads it as [`RejectionCode::Unrecognized`].
/// A code says which rule group refused an entry, never which proof or field failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionCode {
    /// `schema`: unknown type, schema version, period or fields.
    Schema,
    /// `commitments`: the commitments do not fit the type.
    Commitments,
    /// `policy`: the policy hash is not the genesis one.
    Policy,
    /// `genesis`: the entry was written for another consortium (its header names another
    /// genesis hash).
    Genesis,
    /// `signature`: unknown submitter, bad signature, or a submitter that may not submit the
    /// type (a member publishing view keys, a regulator submitting anything else).
    Signature,
    /// `reference`: the references do not fit the type or do not exist.
    Reference,
    /// `replay`: the id was used, or a repayment was already settled.
    Replay,
    /// `stale-registry`: the registry version is no longer current; build the entry again.
    StaleRegistry,
    /// `proof`: a range or relation proof does not verify.
    Proof,
    /// `circuit`: the circuit data is malformed or does not verify.
    Circuit,
    /// `malformed`: the bytes are not an entry.
    Malformed,
    /// `view-keys`: a view-key publication's keys or months are refused.
    ViewKeys,
    /// `stale-view-keys`: a view-key publication does not follow its regulator's last one
    /// (another was ordered first); read the chain again.
    StaleViewKeys,
    /// `recipients`: a reader group is not wrapped to exactly the members and regulators the
    /// policy set names for its fields.
    Recipients,
    /// `permission`: a change only another party may make (taking a borrower off the
    /// blocklist that another member blocklisted).
    Permission,
    /// `audit`: a commitment without a valid decrypt handle and validity proof to every
    /// regulator's auditor key.
    Audit,
    /// `entry-id`: the entry id is not derived from the genesis, the submitter and the nonce.
    EntryId,
    /// A code this build does not know (sent by a newer node). Never sent; its string is
    /// `unrecognized`.
    Unrecognized,
}

impl RejectionCode {
    /// Every code a node sends, in documentation order.
    pub const ALL: [Self; 17] = [
        Self::Schema,
        Self::Commitments,
        Self::Policy,
        Self::Signature,
        Self::Reference,
        Self::Replay,
        Self::StaleRegistry,
        Self::Proof,
        Self::Circuit,
        Self::Malformed,
        Self::ViewKeys,
        Self::StaleViewKeys,
        Self::Genesis,
        Self::Recipients,
        Self::Permission,
        Self::Audit,
        Self::EntryId,
    ];

    /// The code's stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schema => "schema",
            Self::Commitments => "commitments",
            Self::Policy => "policy",
            Self::Genesis => "genesis",
            Self::Signature => "signature",
            Self::Reference => "reference",
            Self::Replay => "replay",
            Self::StaleRegistry => "stale-registry",
            Self::Proof => "proof",
            Self::Circuit => "circuit",
            Self::Malformed => "malformed",
            Self::ViewKeys => "view-keys",
            Self::StaleViewKeys => "stale-view-keys",
            Self::Recipients => "recipients",
            Self::Permission => "permission",
            Self::Audit => "audit",
            Self::EntryId => "entry-id",
            Self::Unrecognized => "unrecognized",
        }
    }

    /// The code whose string is `code`; [`RejectionCode::Unrecognized`] for any other string
    /// (parsing never fails, so a newer peer's code cannot break an older client).
    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|known| known.as_str() == code)
            .unwrap_or(Self::Unrecognized)
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RejectionCode {
    type Err = Infallible;

    /// See [`RejectionCode::from_code`]: unknown codes parse as `Unrecognized`.
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Ok(Self::from_code(code))
    }
}

impl From<&Rejection> for RejectionCode {
    fn from(rejection: &Rejection) -> Self {
        rejection.code()
    }
}

impl serde::Serialize for RejectionCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RejectionCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from_code(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::{
        CircuitProofError, FieldError, RecipientsError, ReferenceError, ViewKeysError,
    };
    use veil_policies::proof_plan::PlanError;

    /// The codes are frozen: metrics dashboards, gateways and older nodes read these strings.
    #[test]
    fn codes_are_stable() {
        let codes: Vec<&str> = RejectionCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "schema",
                "commitments",
                "policy",
                "signature",
                "reference",
                "replay",
                "stale-registry",
                "proof",
                "circuit",
                "malformed",
                "view-keys",
                "stale-view-keys",
                "genesis",
                "recipients",
                "permission",
                "audit",
                "entry-id",
            ]
        );
        let reasons: Vec<(Rejection, &str)> = vec![
            (Rejection::UnknownType, "schema"),
            (Rejection::SchemaVersion, "schema"),
            (Rejection::Period, "schema"),
            (
                Rejection::Fields(FieldError::OriginatorNotFunding),
                "schema",
            ),
            (Rejection::Fields(FieldError::TooManyParticipants), "schema"),
            (
                Rejection::Commitments(PlanError::MissingCommitment("amount")),
                "commitments",
            ),
            (Rejection::PolicyHash, "policy"),
            (Rejection::Genesis, "genesis"),
            (Rejection::UnknownSubmitter, "signature"),
            (Rejection::Signature, "signature"),
            (Rejection::References(ReferenceError::Missing), "reference"),
            (Rejection::Replay, "replay"),
            (Rejection::AlreadySettled, "replay"),
            (Rejection::StaleRegistry, "stale-registry"),
            (Rejection::RangeProof, "proof"),
            (Rejection::RelationProof, "proof"),
            (
                Rejection::CircuitProof(CircuitProofError::RegistryRoots),
                "circuit",
            ),
            (Rejection::SubmitterRole, "signature"),
            (Rejection::ViewKeys(ViewKeysError::Period), "view-keys"),
            (
                Rejection::ViewKeys(ViewKeysError::NotNext {
                    expected: "2026-12".into(),
                }),
                "view-keys",
            ),
            (Rejection::StaleViewKeys, "stale-view-keys"),
            (
                Rejection::Recipients(RecipientsError::WrongRecipients {
                    path: "principal".into(),
                }),
                "recipients",
            ),
            (Rejection::BlocklistRemoval, "permission"),
            (
                Rejection::Audit(crate::audit::AuditError::Malformed),
                "audit",
            ),
            (Rejection::EntryId, "entry-id"),
        ];
        for (rejection, reason) in reasons {
            assert_eq!(rejection.reason(), reason, "{rejection}");
            assert_eq!(rejection.code().to_string(), reason);
        }
    }

    #[test]
    fn codes_parse_back_and_unknown_ones_are_unrecognized() {
        for code in RejectionCode::ALL {
            assert_eq!(code.as_str().parse(), Ok(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<RejectionCode>(&json).unwrap(), code);
        }
        for unknown in ["", "Schema", "quota-exceeded", "unrecognized"] {
            assert_eq!(unknown.parse(), Ok(RejectionCode::Unrecognized));
        }
        assert_eq!(
            serde_json::from_str::<RejectionCode>("\"quota-exceeded\"").unwrap(),
            RejectionCode::Unrecognized
        );
    }
}
