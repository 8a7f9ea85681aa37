//! Why a gateway operation failed. The HTTP API maps each kind to a status (`api::problem`);
//! this module knows nothing of HTTP.

use crate::entry::error::EntryError;

/// Why a gateway operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The request cannot become an entry, or an entry cannot be shown.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The caller's identity may not do this.
    #[error("not allowed")]
    Forbidden,
    /// Nothing to show (with a reason, e.g. the entry exists but is of another kind).
    #[error("not found")]
    NotFound(Option<String>),
    /// A conflict: an idempotency key reused with another body, a duplicate business id, a
    /// stale registry version.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The ledger refused the entry (the reason stays internal).
    #[error("refused by the ledger")]
    Refused,
    /// The ledger is unavailable or busy: retry.
    #[error("ledger unavailable; retry")]
    Unavailable,
    /// Not finalized in time: retry with the same idempotency key.
    #[error("not finalized in time")]
    Timeout,
    /// A local failure (store, keys): logged, never detailed to the caller.
    #[error("internal error")]
    Internal,
}

impl ServiceError {
    /// [`EntryError::Malformed`].
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::Entry(EntryError::malformed(detail))
    }

    /// [`EntryError::Invalid`].
    pub fn invalid_entry(detail: impl Into<String>) -> Self {
        Self::Entry(EntryError::invalid(detail))
    }

    /// [`ServiceError::Forbidden`].
    pub fn forbidden() -> Self {
        Self::Forbidden
    }

    /// [`ServiceError::NotFound`] without a reason.
    pub fn not_found() -> Self {
        Self::NotFound(None)
    }

    /// [`ServiceError::NotFound`] with a reason.
    pub fn not_found_because(detail: impl Into<String>) -> Self {
        Self::NotFound(Some(detail.into()))
    }

    /// [`ServiceError::Conflict`].
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict(detail.into())
    }

    /// [`ServiceError::Refused`].
    pub fn refused() -> Self {
        Self::Refused
    }

    /// [`ServiceError::Unavailable`].
    pub fn unavailable() -> Self {
        Self::Unavailable
    }

    /// [`ServiceError::Timeout`].
    pub fn timeout() -> Self {
        Self::Timeout
    }

    /// [`ServiceError::Internal`].
    pub fn internal() -> Self {
        Self::Internal
    }
}
