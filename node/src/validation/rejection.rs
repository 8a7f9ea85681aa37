//! Why an entry is refused: [`Rejection`] names the broken rule and carries a typed cause
//! ([`FieldError`], [`ReferenceError`], [`CircuitProofError`], [`ViewKeysError`]); [`Rejection::code`] is the
//! coarse, stable [`RejectionCode`] that metrics count and the node API sends.

use veil_circuits::CircuitError;
use veil_policies::proof_plan::PlanError;

use super::{RecipientsError, RejectionCode};
use crate::anchor::AnchorError;
use crate::audit::AuditError;
use crate::oprf_report::ReportError;
use crate::registry::{RegistryError, UpdateError};
use crate::store::StoreError;
use crate::view_keys::PublicationError;

/// Why an entry is invalid. The variant names the rule; [`Rejection::code`] is the stable code
/// used in metrics and by the node API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The entry type is not known.
    #[error("unknown entry type")]
    UnknownType,
    /// The schema version is not the type's.
    #[error("schema version mismatch")]
    SchemaVersion,
    /// The policy hash is not the genesis policy hash.
    #[error("policy hash mismatch")]
    PolicyHash,
    /// The entry names another consortium's genesis (it was written for another ledger).
    #[error("written for another consortium (genesis hash mismatch)")]
    Genesis,
    /// The entry id is not the one derived from the genesis, the submitter and the nonce (an
    /// entry that takes another entry's id).
    #[error("the entry id is not derived from the genesis, submitter and nonce")]
    EntryId,
    /// The submitter is not a member.
    #[error("unknown submitter")]
    UnknownSubmitter,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// The submitter may not submit entries of this type: a member never publishes view keys,
    /// a regulator publishes view keys (with the signing key the genesis names for it) and
    /// submits nothing else.
    #[error("the submitter may not submit this entry type")]
    SubmitterRole,
    /// The period is not `YYYY-MM` or `YYYY-MM-DD`.
    #[error("invalid period")]
    Period,
    /// The encrypted fields do not fit the type.
    #[error("invalid fields: {0}")]
    Fields(FieldError),
    /// The commitments do not fit the type.
    #[error("invalid commitments: {0}")]
    Commitments(PlanError),
    /// The references do not fit the type or do not exist.
    #[error("invalid references: {0}")]
    References(ReferenceError),
    /// The entry id was used before.
    #[error("replayed entry id")]
    Replay,
    /// A repayment referenced by a settlement was already settled.
    #[error("repayment already settled")]
    AlreadySettled,
    /// The registry version a loan was screened against, or an update changes, is no longer
    /// current (another update was ordered first): screen or change again.
    #[error("the registry version is no longer current")]
    StaleRegistry,
    /// The range proof does not verify.
    #[error("range proof does not verify")]
    RangeProof,
    /// A relation proof does not verify.
    #[error("relation proof does not verify")]
    RelationProof,
    /// The circuit data (a repayment's Poseidon commitment, a settlement's or a loan's Groth16
    /// proof, a registry update) is malformed or does not verify.
    #[error("circuit proof: {0}")]
    CircuitProof(CircuitProofError),
    /// A view-key publication's keys or months are refused.
    #[error("view-key publication: {0}")]
    ViewKeys(ViewKeysError),
    /// A view-key publication that does not follow the head of its regulator's chain: the
    /// publication it references was followed by another, or it references none although the
    /// regulator has published before. Read the chain again and publish what is missing.
    #[error("the regulator's last publication is no longer the one this follows")]
    StaleViewKeys,
    /// A reader group is not wrapped to exactly the recipients the policy set names for its
    /// fields (a regulator or a participant left out, an outsider added).
    #[error("reader groups: {0}")]
    Recipients(RecipientsError),
    /// A registry update takes a borrower off the blocklist (or the KYC registry) that another
    /// member put it on: only that member may take it off.
    #[error("only the member that put a borrower on a list may take it off")]
    BlocklistRemoval,
    /// A commitment lacks a valid decrypt handle to a regulator's auditor key: the regulator
    /// could not recover that amount whatever the reader groups hold.
    #[error("audit proofs: {0}")]
    Audit(AuditError),
}

impl Rejection {
    /// The stable code of this rejection (see [`RejectionCode`]).
    pub fn code(&self) -> RejectionCode {
        match self {
            Self::UnknownType | Self::SchemaVersion | Self::Fields(_) | Self::Period => {
                RejectionCode::Schema
            }
            Self::Commitments(_) => RejectionCode::Commitments,
            Self::PolicyHash => RejectionCode::Policy,
            Self::Genesis => RejectionCode::Genesis,
            Self::UnknownSubmitter | Self::Signature | Self::SubmitterRole => {
                RejectionCode::Signature
            }
            // The first update of a registry that meanwhile exists: built on a superseded
            // (empty) version, like any stale update.
            Self::References(ReferenceError::UnchainedUpdate) => RejectionCode::StaleRegistry,
            Self::References(_) => RejectionCode::Reference,
            Self::Replay | Self::AlreadySettled => RejectionCode::Replay,
            Self::StaleRegistry => RejectionCode::StaleRegistry,
            Self::RangeProof | Self::RelationProof => RejectionCode::Proof,
            Self::CircuitProof(_) => RejectionCode::Circuit,
            Self::ViewKeys(_) => RejectionCode::ViewKeys,
            Self::StaleViewKeys => RejectionCode::StaleViewKeys,
            Self::Recipients(_) => RejectionCode::Recipients,
            Self::BlocklistRemoval => RejectionCode::Permission,
            Self::Audit(_) => RejectionCode::Audit,
            Self::EntryId => RejectionCode::EntryId,
        }
    }

    /// A short, stable label for metrics and logs: the [code](Rejection::code) as a string.
    pub fn reason(&self) -> &'static str {
        self.code().as_str()
    }
}

/// Why an entry's encrypted fields do not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A field path the type does not have.
    #[error("unknown field {path:?}")]
    Unknown {
        /// The path.
        path: String,
    },
    /// A per-bank path naming a bank that is not a member.
    #[error("{path:?} names no member")]
    NoMember {
        /// The path.
        path: String,
    },
    /// A path encrypted in two groups (or twice in one).
    #[error("{path:?} encrypted twice")]
    Duplicate {
        /// The path.
        path: String,
    },
    /// A required field is absent.
    #[error("missing field {path:?}")]
    Missing {
        /// The field's path (or path prefix, for a per-bank field).
        path: &'static str,
    },
    /// A committed field without its commitment.
    #[error("{path:?} has no commitment")]
    Uncommitted {
        /// The path.
        path: String,
    },
    /// A commitment to no encrypted field.
    #[error("commitment {label:?} has no encrypted opening")]
    Unopened {
        /// The commitment's label.
        label: String,
    },
    /// A loan its originator does not fund.
    #[error("the originator must fund the loan")]
    OriginatorNotFunding,
    /// A loan with more participants than a repayment's settlement proof has slots
    /// (`veil_circuits::settlement::PARTICIPANT_SLOTS`): it could never be repaid.
    #[error(
        "a loan has at most {} participants (the slots of a repayment's settlement proof)",
        veil_circuits::settlement::PARTICIPANT_SLOTS
    )]
    TooManyParticipants,
}

/// Why an entry's references do not fit its type or the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The type references nothing.
    #[error("none expected")]
    NoneExpected,
    /// The type references exactly one entry.
    #[error("exactly one expected")]
    ExactlyOneExpected,
    /// The type references at most one entry.
    #[error("at most one expected")]
    AtMostOneExpected,
    /// A loan of a screening consortium without its registry version.
    #[error("a loan must reference the registry it was screened against")]
    Unscreened,
    /// A loan referencing something in a consortium that does not screen.
    #[error("this consortium does not screen: none expected")]
    NotScreening,
    /// A registry update referencing nothing although a registry exists.
    #[error("an update must reference the current registry version")]
    UnchainedUpdate,
    /// The same entry referenced twice.
    #[error("duplicate reference")]
    Duplicate,
    /// A referenced entry is not on the ledger.
    #[error("referenced entry does not exist")]
    Missing,
    /// A referenced entry of another type than the rule wants.
    #[error("referenced entry has the wrong type")]
    WrongType,
    /// A referenced entry another member submitted.
    #[error("referenced entry has another submitter")]
    OtherSubmitter,
    /// A repayment's allocations do not name exactly its loan's participants.
    #[error("allocations must name exactly the loan's participants")]
    Allocations,
    /// A settlement referencing a repayment of another period.
    #[error("repayment of another period")]
    OtherPeriod,
    /// A registry version's chain of earlier versions is broken.
    #[error("a registry version in the chain does not exist")]
    BrokenRegistryChain,
}

/// Why an entry's circuit data is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitProofError {
    /// A loan's screening proof is malformed.
    #[error("screening proof: {0}")]
    MalformedScreening(CircuitError),
    /// A loan carries circuit data in a consortium that does not screen.
    #[error("this consortium does not screen: a loan carries no circuit data")]
    UnexpectedScreening,
    /// A loan's screening proof does not verify against its registry version's roots.
    #[error("screening: {0}")]
    Screening(CircuitError),
    /// A registry update's data is malformed or its changes do not apply.
    #[error("{0}")]
    RegistryUpdate(UpdateError),
    /// A registry update's roots are not those of the lists it changes.
    #[error("the roots are not those of the changed registry")]
    RegistryRoots,
    /// A repayment's settlement proof is malformed or does not verify.
    #[error("repayment settlement proof: {0}")]
    Settlement(CircuitError),
    /// No settlement circuit of capacity 1 (one repayment) in the genesis.
    #[error("no settlement circuit of capacity 1 in the genesis")]
    NoSettlementCircuit,
    /// A repayment's period has no circuit number.
    #[error("repayment period")]
    SettlementPeriod,
    /// A repayment's allocations do not give its bank slots: more participants than
    /// `veil_circuits::settlement::PARTICIPANT_SLOTS`, or the submitter is not one of them.
    #[error(
        "a repayment's allocations must name at most {} participants, the submitter among them",
        veil_circuits::settlement::PARTICIPANT_SLOTS
    )]
    SettlementSlots,
    /// A settlement carries circuit data (its amounts due are checked on commitments alone).
    #[error("a settlement carries no circuit data")]
    UnexpectedSettlementData,
    /// A disclosure-log anchor is malformed or carries something besides its anchor.
    #[error("{0}")]
    Anchor(AnchorError),
    /// An OPRF evaluation report is malformed, impossible under the genesis, or carries
    /// something besides its report.
    #[error("{0}")]
    OprfReport(ReportError),
}

/// Why a view-key publication (`view_keys.published`) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewKeysError {
    /// Its keys do not decode, or are not complete, consecutive, bounded months.
    #[error("{0}")]
    Publication(PublicationError),
    /// Its period is not the first month it publishes.
    #[error("the period must be the first month published")]
    Period,
    /// It carries reader groups or a participants' proof (a publication has neither).
    #[error("a publication carries no fields and no participants' proof")]
    Unexpected,
    /// Its first month is not the one after the last month already published for the
    /// regulator (by the genesis or its previous publication).
    #[error("the first month published must be {expected}")]
    NotNext {
        /// The month that had to come first.
        expected: String,
    },
    /// The regulator's last published month is the last representable one.
    #[error("no month can follow the last one published")]
    Exhausted,
}

impl From<FieldError> for Rejection {
    fn from(error: FieldError) -> Self {
        Self::Fields(error)
    }
}

impl From<ReferenceError> for Rejection {
    fn from(error: ReferenceError) -> Self {
        Self::References(error)
    }
}

impl From<CircuitProofError> for Rejection {
    fn from(error: CircuitProofError) -> Self {
        Self::CircuitProof(error)
    }
}

impl From<UpdateError> for Rejection {
    fn from(error: UpdateError) -> Self {
        Self::CircuitProof(CircuitProofError::RegistryUpdate(error))
    }
}

impl From<ViewKeysError> for Rejection {
    fn from(error: ViewKeysError) -> Self {
        Self::ViewKeys(error)
    }
}

impl From<AnchorError> for Rejection {
    fn from(error: AnchorError) -> Self {
        Self::CircuitProof(CircuitProofError::Anchor(error))
    }
}

impl From<ReportError> for Rejection {
    fn from(error: ReportError) -> Self {
        Self::CircuitProof(CircuitProofError::OprfReport(error))
    }
}

impl From<PublicationError> for Rejection {
    fn from(error: PublicationError) -> Self {
        Self::ViewKeys(ViewKeysError::Publication(error))
    }
}

/// Validation outcome: the entry is invalid, or the store failed (not the entry's fault).
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// The entry is invalid.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Reading the ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FieldError> for ValidationError {
    fn from(error: FieldError) -> Self {
        Self::Rejected(error.into())
    }
}

impl From<ReferenceError> for ValidationError {
    fn from(error: ReferenceError) -> Self {
        Self::Rejected(error.into())
    }
}

impl From<CircuitProofError> for ValidationError {
    fn from(error: CircuitProofError) -> Self {
        Self::Rejected(error.into())
    }
}

impl From<UpdateError> for ValidationError {
    fn from(error: UpdateError) -> Self {
        Self::Rejected(error.into())
    }
}

impl From<ViewKeysError> for ValidationError {
    fn from(error: ViewKeysError) -> Self {
        Self::Rejected(error.into())
    }
}

impl From<RegistryError> for ValidationError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Update(error) => Self::Rejected(error.into()),
            RegistryError::MissingVersion | RegistryError::OutOfOrder(_) => {
                ReferenceError::BrokenRegistryChain.into()
            }
            RegistryError::NotCurrent => Self::Rejected(Rejection::StaleRegistry),
            RegistryError::Store(error) => Self::Store(error),
        }
    }
}
