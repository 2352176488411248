//! Outgoing mail, behind one small port: the password-reset link is its only use today.
//!
//! - `Mailer`: the port (this file).
//! - `smtp`: a minimal SMTP client over tokio TCP (plain SMTP, optional AUTH PLAIN).
//! - `log`: the mailer of a server with no SMTP configured; it logs the mail instead.

mod log;
mod smtp;

use std::time::Duration;

pub use log::LogMailer;
pub use smtp::{SmtpConfig, SmtpMailer};

/// One plain-text mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server could not be reached or the connection broke: check `FF_SMTP_URL`; the
    /// mail was not sent.
    #[error("cannot talk to the mail server: {0}")]
    Connection(String),
    /// The server refused a step (sender, recipient, credentials, content): its reply says
    /// why; retrying the same mail will not help.
    #[error("the mail server refused {step}: {reply}")]
    Refused { step: &'static str, reply: String },
    /// No answer in time: the server is slow or not speaking SMTP.
    #[error("the mail server did not answer within {0:?}")]
    Timeout(Duration),
    /// An address or subject that would break the SMTP dialogue (line breaks, `<`, `>`).
    #[error("{0} cannot be sent over SMTP")]
    Invalid(&'static str),
}

/// Sends mail. Implementations must not block the caller for long: the API sends from a
/// background task, and a failure is logged, never shown to the person asking.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
