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
    /// The entry can never be finalized: another entry holds its id, or the registry version
    /// it was built on was superseded. Nothing was written; the same request may be sent
    /// again (it is built anew).
    #[error("conflict: {0}")]
    Superseded(String),
    /// The idempotency key was first used with another body (its first request stays).
    #[error("idempotency key already used with another body")]
    KeyReused,
    /// A request with the same idempotency key is still being processed: retry later.
    #[error("a request with this idempotency key is still being processed")]
    InProgress,
    /// The caller asked more than its limit allows (the limit's detail); nothing was done.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// This gateway's node has not reached the height the caller asked for in time.
    #[error("at height {height}, below the requested {min_height}")]
    Behind {
        /// The height asked for.
        min_height: u64,
        /// The node's height.
        height: u64,
    },
    /// A local failure (store, keys): logged, never detailed to the caller.
    #[error("internal error")]
    Internal,
}

impl ServiceError {
    /// Whether a failed write certainly left nothing on the ledger (the entry was refused,
    /// or never built), so that the same request may simply be sent again.
    pub fn nothing_written(&self) -> bool {
        // `Refused` counts: the gateway builds on what its own node finalized, and `submit`
        // answers `Refused` only after checking that the ledger does not hold these bytes.
        // Not `Conflict`, `Unavailable`, `Timeout`: after a submission these leave the entry's
        // fate open (it may be waiting in a mempool), so its record stays and a retry
        // resubmits it.
        matches!(
            self,
            Self::Entry(_)
                | Self::Forbidden
                | Self::NotFound(_)
                | Self::Superseded(_)
                | Self::Refused
        )
    }

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
