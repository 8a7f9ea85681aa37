//! Why a circuit operation failed: [`CircuitError`], and beneath it one enum of reasons per
//! kind of failure.
//!
//! Every error is `Clone` and `Eq`, so callers and tests can compare them. arkworks'
//! `SerializationError` is neither (it may hold an `io::Error`), so decoding failures carry
//! [`Malformed`], the same reasons without the `io::Error` itself.

use std::fmt;

use ark_relations::r1cs::SynthesisError;
use ark_serialize::SerializationError;

/// Why a circuit operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// Malformed key, proof or field bytes.
    #[error("malformed circuit data: {0}")]
    Encoding(#[from] EncodingError),
    /// A shape no circuit is made for.
    #[error("unsupported circuit shape: {0}")]
    Shape(#[from] ShapeError),
    /// The witness does not satisfy the statement.
    #[error("statement not satisfied: {0}")]
    Unsatisfied(#[from] Unsatisfied),
    /// The proof does not verify for these public inputs.
    #[error("proof does not verify")]
    Verification,
    /// A ceremony contribution or transcript is invalid.
    #[error("invalid ceremony data: {0}")]
    Ceremony(#[from] CeremonyError),
}

/// Why arkworks refused to decode bytes: its `SerializationError`, reduced to a comparable
/// value (an I/O failure keeps its kind; reading from a slice, it is always running out of
/// bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// A flag byte has no room for its extra bits.
    #[error("the last byte does not have enough space to encode the extra info bits")]
    NotEnoughSpace,
    /// Not a valid encoding: off the curve, outside the subgroup, or not canonical.
    #[error("the input buffer contained invalid data")]
    InvalidData,
    /// Flags set where none are allowed.
    #[error("the call expects empty flags")]
    UnexpectedFlags,
    /// Reading failed (for bytes in memory: too few of them).
    #[error("I/O error: {0:?}")]
    Io(std::io::ErrorKind),
}

impl From<SerializationError> for Malformed {
    fn from(error: SerializationError) -> Self {
        match error {
            SerializationError::NotEnoughSpace => Self::NotEnoughSpace,
            SerializationError::InvalidData => Self::InvalidData,
            SerializationError::UnexpectedFlags => Self::UnexpectedFlags,
            SerializationError::IoError(e) => Self::Io(e.kind()),
        }
    }
}

/// Why bytes are not a valid key, proof, field element or circuit datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// arkworks refused a key or proof.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// A proof is not exactly `expected` bytes ([`crate::groth16::PROOF_LEN`]).
    #[error("a proof is {expected} bytes")]
    ProofLength {
        /// The length of every proof.
        expected: usize,
    },
    /// Bytes after the value.
    #[error("trailing bytes")]
    TrailingBytes,
    /// A field element at or above the modulus.
    #[error("field element not canonical")]
    NonCanonicalField,
    /// A settlement proof ends early.
    #[error("settlement proof truncated")]
    SettlementProofTruncated,
    /// A settlement proof claims more than [`crate::settlement::MAX_BANKS`] bank slots.
    #[error("too many bank slots")]
    TooManyBanks,
    /// A repayment's settlement proof is not of capacity 1 with
    /// [`crate::settlement::PARTICIPANT_SLOTS`] participant slots.
    #[error(
        "a repayment's settlement proof must have capacity 1 and {} participant slots",
        crate::settlement::PARTICIPANT_SLOTS
    )]
    NotARepaymentShape,
    /// A screening proof ends early.
    #[error("screening proof truncated")]
    ScreeningProofTruncated,
    /// A `registry.updated` entry's circuit data is malformed.
    #[error("registry update: {0}")]
    RegistryUpdate(#[from] RegistryUpdateError),
}

impl From<SerializationError> for EncodingError {
    fn from(error: SerializationError) -> Self {
        Self::Malformed(error.into())
    }
}

/// Why a `registry.updated` entry's circuit data does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryUpdateError {
    /// The bytes end early.
    #[error("truncated")]
    Truncated,
    /// No changes, or more than `max` ([`crate::screening::MAX_CHANGES`]).
    #[error("1 to {max} changes are required")]
    ChangeCount {
        /// The most changes an update carries.
        max: usize,
    },
    /// The length is not that of the announced number of changes.
    #[error("length does not match the number of changes")]
    Length,
    /// A change kind other than 0–3.
    #[error("unknown change kind")]
    UnknownChange,
    /// The changes are not strictly ascending.
    #[error("changes are not in canonical order")]
    Order,
}

/// Why a circuit cannot be made for a shape, or a shape does not hold its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// A circuit whose constraint system is not the one the proving key was made for.
    #[error("the circuit is not the one this proving key was made for")]
    KeyMismatch,
    /// A settlement capacity that is not a power of 4 up to 4096.
    #[error("capacity {0} is not a power of 4 up to 4096")]
    Capacity(usize),
    /// A number of bank slots outside 1 to `max` ([`crate::settlement::MAX_BANKS`]).
    #[error("{banks} banks: a settlement circuit has 1 to {max} bank slots")]
    Banks {
        /// The bank slots asked for.
        banks: usize,
        /// The most bank slots a circuit has.
        max: usize,
    },
    /// More repayments than the capacity, or a capacity that is not a power of 4.
    #[error("{repayments} repayments do not fit capacity {capacity}")]
    Overfull {
        /// The repayments.
        repayments: usize,
        /// The capacity.
        capacity: usize,
    },
    /// A registry list would outgrow its tree.
    #[error("a registry list holds at most {max} borrowers")]
    RegistryFull {
        /// The most borrowers a list holds.
        max: usize,
    },
    /// Key generation failed to synthesize the circuit.
    #[error(transparent)]
    Synthesis(#[from] SynthesisError),
}

/// Why a witness does not satisfy its statement, or a registry change does not apply.
///
/// The messages are meant for the submitter of the entry (the gateway shows them), so they name
/// the statement's rule that fails, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unsatisfied {
    /// Settlement: not one amount-due commitment (and blinding) per bank slot.
    #[error("one commitment per bank slot")]
    CommitmentPerBank,
    /// Settlement: the public count is not the number of repayments.
    #[error("count is not the number of repayments")]
    Count,
    /// Settlement: the originator is not a bank slot.
    #[error("originator slot out of range")]
    Originator,
    /// Settlement: the root is not that of the witness's repayments.
    #[error("root does not match the repayments")]
    Root,
    /// Settlement: the root is not that of the repayments the entry references.
    #[error("root does not match the referenced repayments")]
    ReferencedRoot,
    /// Settlement: a share vector does not allocate (wrong length, or not summing to 10000).
    #[error("a share vector is malformed")]
    Shares,
    /// Settlement: an amount-due commitment does not open to the amount due.
    #[error("an amount-due commitment does not match")]
    Due,
    /// Registry: a change adds a borrower already on its list or removes one not on it.
    #[error("a borrower is {0}")]
    Change(ChangeConflict),
    /// Screening: the borrower is not in the KYC registry (no witness exists).
    #[error("the borrower is not in the consortium's KYC registry")]
    NotRegistered,
    /// Screening: the borrower is on the blocklist (no witness exists).
    #[error("the borrower is on the consortium's blocklist")]
    Blocklisted,
    /// Screening: the reference is not below 2²⁴⁸.
    #[error("reference out of range")]
    ReferenceRange,
    /// Screening: the commitment does not open to the reference.
    #[error("the commitment does not open to the reference")]
    Commitment,
    /// Screening: the KYC path does not lead to the KYC root.
    #[error("not in the KYC registry")]
    KycPath,
    /// Screening: the interval does not strictly contain the reference.
    #[error("the blocklist interval does not contain the reference")]
    Interval,
    /// Screening: the interval's path does not lead to the blocklist root.
    #[error("the interval is not a blocklist leaf")]
    GapPath,
    /// Proving: synthesizing the circuit failed.
    #[error(transparent)]
    Synthesis(#[from] SynthesisError),
    /// Proving: the witness leaves a constraint unsatisfied; `at` names it as arkworks does.
    #[error("the witness does not satisfy the circuit {at}")]
    Constraint {
        /// The first unsatisfied constraint's name (empty if unknown).
        at: String,
    },
}

/// A registry change that contradicts the list it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeConflict {
    /// Adding a KYC member twice.
    #[error("already in the KYC registry")]
    AlreadyRegistered,
    /// Removing a borrower that is not a KYC member.
    #[error("not in the KYC registry")]
    NotRegistered,
    /// Blocklisting a borrower twice.
    #[error("already on the blocklist")]
    AlreadyBlocklisted,
    /// Removing a borrower that is not blocklisted.
    #[error("not on the blocklist")]
    NotBlocklisted,
}

/// Why a setup ceremony's parameters, contribution or transcript is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// A phase-1 size that is not a power of two from 2 to 2²⁴.
    #[error("the phase-1 size is a power of two from 2 to 2^24")]
    Size,
    /// The phase-1 vectors' lengths do not fit together.
    #[error("phase-1 vectors have the wrong lengths")]
    Lengths,
    /// `[τ⁰]₁` or `[τ⁰]₂` is not the generator.
    #[error("phase-1 powers do not start at the generators")]
    Generators,
    /// τ, α or β is zero.
    #[error("a phase-1 secret is zero")]
    ZeroSecret,
    /// `[τ]₁` and `[τ]₂` are powers of different τ.
    #[error("[τ]₁ and [τ]₂ disagree")]
    TauMismatch,
    /// A G1 vector's elements are not successive powers of τ.
    #[error("[{0}ⁱ]₁ are not successive powers")]
    NotPowers(Power),
    /// `[τⁱ]₂` are not successive powers of τ.
    #[error("[τⁱ]₂ are not successive powers")]
    NotPowersG2,
    /// `[β]₁` and `[β]₂` disagree.
    #[error("[β]₁ and [β]₂ disagree")]
    BetaMismatch,
    /// A phase-1 transcript with no contribution.
    #[error("phase 1 has no contribution")]
    NoPhase1Contribution,
    /// A phase-1 contribution's proof of knowledge fails.
    #[error(
        "phase-1 contribution {index} by {contributor}: the proof of knowledge of {secret} fails"
    )]
    Phase1Knowledge {
        /// The contribution's index.
        index: usize,
        /// Who the record says contributed.
        contributor: String,
        /// Which secret's proof fails.
        secret: Secret,
    },
    /// The phase-1 powers are not those the last record announces.
    #[error("the phase-1 powers are not those of the last contribution")]
    NotLastPowers,
    /// Synthesizing the circuit for its QAP failed.
    #[error(transparent)]
    Synthesis(#[from] SynthesisError),
    /// The constraint system yields no matrices.
    #[error("no constraint matrices")]
    NoMatrices,
    /// No evaluation domain is large enough for the circuit.
    #[error("circuit too large")]
    TooLarge,
    /// The circuit needs a larger domain than phase 1 serves.
    #[error("the circuit needs a domain of {needed}; phase 1 has {available}")]
    DomainTooSmall {
        /// The circuit's domain size.
        needed: usize,
        /// The phase-1 powers' size.
        available: usize,
    },
    /// A phase-2 transcript with no contribution.
    #[error("circuit {circuit}: phase 2 has no contribution; such keys are never used")]
    NoPhase2Contribution {
        /// The circuit's id.
        circuit: String,
    },
    /// A phase-2 contribution's proof of knowledge fails.
    #[error(
        "circuit {circuit}: phase-2 contribution {index} by {contributor}: the proof of knowledge fails"
    )]
    Phase2Knowledge {
        /// The circuit's id.
        circuit: String,
        /// The contribution's index.
        index: usize,
        /// Who the record says contributed.
        contributor: String,
    },
    /// A phase-2 contribution's `[δ]₁` and `[δ]₂` disagree.
    #[error("circuit {circuit}: contribution {index} by {contributor}: [δ]₁ and [δ]₂ disagree")]
    DeltaMismatch {
        /// The circuit's id.
        circuit: String,
        /// The contribution's index.
        index: usize,
        /// Who the record says contributed.
        contributor: String,
    },
    /// The key's δ is not the last record's.
    #[error("circuit {circuit}: the key's δ is not the last contribution's")]
    NotLastDelta {
        /// The circuit's id.
        circuit: String,
    },
    /// The key differs from the initial one in more than δ, `L` and `H`.
    #[error("circuit {circuit}: the key differs from phase 1's beyond δ")]
    KeyChanged {
        /// The circuit's id.
        circuit: String,
    },
    /// The `L` or `H` query is not the initial one divided by δ.
    #[error("circuit {circuit}: the {query} query is not the initial one divided by δ")]
    NotDivided {
        /// The circuit's id.
        circuit: String,
        /// `L` or `H`.
        query: Query,
    },
    /// Ceremony bytes arkworks refused.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// Bytes after the ceremony value.
    #[error("trailing bytes")]
    TrailingBytes,
}

impl From<SerializationError> for CeremonyError {
    fn from(error: SerializationError) -> Self {
        Self::Malformed(error.into())
    }
}

/// A phase-1 vector of G1 powers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// `[τⁱ]₁`.
    Tau,
    /// `[ατⁱ]₁`.
    AlphaTau,
    /// `[βτⁱ]₁`.
    BetaTau,
}

impl fmt::Display for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tau => "τ",
            Self::AlphaTau => "ατ",
            Self::BetaTau => "βτ",
        })
    }
}

/// A phase-1 contributor's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// τ.
    Tau,
    /// α.
    Alpha,
    /// β.
    Beta,
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tau => "tau",
            Self::Alpha => "alpha",
            Self::Beta => "beta",
        })
    }
}

/// A proving-key query that phase 2 divides by δ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// The `L` query.
    L,
    /// The `H` query.
    H,
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::L => "L",
            Self::H => "H",
        })
    }
}
