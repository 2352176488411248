//! The command layer's one error type, mapped once to HTTP in `http::error`.

use std::time::Duration;

use domain::DomainError;
use domain::ports::event_log::LogError;
use projections::ProjectionError;
use projections::views::ViewError;

use crate::auth::HashError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Refused by a domain rule: 400 (invalid), 404 (unknown or foreign), 409 (conflict).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// No valid credentials (401): log in again, or check the email and password.
    #[error("missing or invalid credentials")]
    Unauthenticated,
    /// Valid credentials that may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Storage or projections are unavailable (503): nothing was acknowledged; retry later.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Every password-hashing thread is busy (503 with Retry-After): retry in a moment.
    #[error("too many logins and registrations at once, retry in a moment")]
    Busy,
    /// Too many failed logins from this client or for this email (429): wait this long.
    #[error("too many failed logins, retry in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    /// A bug or corrupt data (500): logged with its cause, never shown to the client.
    #[error("internal error")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Domain(DomainError::Invalid(message.into()))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ServiceError::Domain(DomainError::Conflict(message.into()))
    }
}

impl From<LogError> for ServiceError {
    fn from(error: LogError) -> Self {
        match error {
            LogError::Conflict { .. } => Self::conflict("concurrent modification, retry"),
            LogError::Unavailable(e) => Self::Unavailable(e),
            LogError::Invalid(e) | LogError::Corrupt(e) => Self::Internal(e),
        }
    }
}

impl From<HashError> for ServiceError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Stopped => Self::Internal(error.to_string()),
        }
    }
}

impl From<ViewError> for ServiceError {
    fn from(error: ViewError) -> Self {
        match error {
            ViewError::Unavailable(e) => Self::Unavailable(e),
            ViewError::Corrupt(e) => Self::Internal(e),
        }
    }
}

impl From<ProjectionError> for ServiceError {
    fn from(error: ProjectionError) -> Self {
        match error {
            ProjectionError::Undecodable { .. } => Self::Internal(error.to_string()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
