//! Why a request cannot become an entry, or an entry cannot be shown. The HTTP API maps each
//! kind to a status (`api::problem`); this module knows nothing of HTTP.

/// Why a request cannot become an entry, or an entry cannot be shown.
///
/// The detail of [`EntryError::Malformed`] and [`EntryError::Invalid`] names the rule the
/// caller's own request broke; it never names an internal check or carries a field value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The request is malformed: bad JSON, an unknown field, a wrong type, a bad period.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The request breaks a consortium rule (funding not summing to the principal, a share
    /// list not summing to 10,000 bps, a rate above the cap, an unknown bank, ...).
    #[error("invalid entry: {0}")]
    Invalid(String),
    /// Something the entry needs is not ready (a proving key loading, a registry changing):
    /// retry.
    #[error("unavailable; retry")]
    Unavailable,
    /// A local failure (a key, an encoding, a circuit shape): a bug or a broken install; the
    /// detail is logged, never shown to the caller.
    #[error("internal error")]
    Internal,
}

impl EntryError {
    /// [`EntryError::Malformed`] with `detail`.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::Malformed(detail.into())
    }

    /// [`EntryError::Invalid`] with `detail`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid(detail.into())
    }

    /// [`EntryError::Unavailable`].
    pub fn unavailable() -> Self {
        Self::Unavailable
    }

    /// [`EntryError::Internal`].
    pub fn internal() -> Self {
        Self::Internal
    }
}
