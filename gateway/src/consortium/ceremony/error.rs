//! Why a ceremony step fails.

use crate::consortium::descriptor::DescriptorError;

/// Why a ceremony step failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// The step is not allowed in this state (a second contribution, a phase not started, an
    /// incomplete transcript, a non-member, a bad signature, records out of order, ...): what
    /// and why, naming the file or member.
    #[error("{0}")]
    Refused(String),
    /// A ceremony file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `ceremony.json` is not a valid manifest.
    #[error("ceremony.json: {reason}")]
    Manifest {
        /// Why.
        reason: String,
    },
    /// A member descriptor is refused.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// A member's signing key could not be read.
    #[error("{path}: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A record, key or the powers do not decode.
    #[error("{path}: {source}")]
    Record {
        /// Which file.
        path: String,
        /// Why.
        #[source]
        source: veil_circuits::CircuitError,
    },
    /// A circuit, key or contribution is invalid (a proof of a contribution fails, a shape is
    /// out of range).
    #[error(transparent)]
    Circuit(#[from] veil_circuits::CircuitError),
}

pub(super) fn refused(why: impl Into<String>) -> CeremonyError {
    CeremonyError::Refused(why.into())
}
