//! Why a DKG step fails.

use crate::consortium::descriptor::DescriptorError;

/// Why a `veil dkg` step (or a genesis's check against a DKG) failed. Every message is one
/// line naming the file or member and what is wrong; a refused step writes nothing.
#[derive(Debug, thiserror::Error)]
pub enum DkgError {
    /// The step is not allowed in this state (done twice, an earlier step missing, not a
    /// member, a wrong key) or a file is refused (tampered, forged, misaddressed, misnamed,
    /// another DKG's): what and why, naming the file.
    #[error("{0}")]
    Refused(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `dkg.json` is not a valid manifest.
    #[error("{path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A member descriptor is refused.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// A member's key or round secret could not be read, or is not the member's.
    #[error("{path}: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// Why.
        reason: String,
    },
}

pub(super) fn refused(why: impl Into<String>) -> DkgError {
    DkgError::Refused(why.into())
}
