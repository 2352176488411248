//! Why a command was refused. Each variant maps to one HTTP status in `commands`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input is malformed (400): the message says which field and why.
    #[error("{0}")]
    Invalid(String),
    /// Unknown id, or one that belongs to someone else (404): never say which.
    #[error("entity not found")]
    NotFound,
    /// The command contradicts the current state (409): already exists, already connected.
    #[error("{0}")]
    Conflict(String),
}
