//! What the proof systems (range proofs, relation proofs) report.

use crate::encoding::EncodingError;
use crate::pedersen::OpeningError;

/// Why a proof could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof does not verify for this statement.
    #[error("proof verification failed")]
    Verification,
    /// The statement is not one this proof system accepts (empty, too large, ...).
    #[error("invalid statement: {0}")]
    InvalidStatement(&'static str),
    /// The prover's witness does not satisfy the statement; no proof was made.
    #[error("witness does not satisfy the statement")]
    UnsatisfiedWitness,
    /// The proof bytes are malformed.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
}

impl From<OpeningError> for ProofError {
    fn from(_: OpeningError) -> Self {
        Self::UnsatisfiedWitness
    }
}
