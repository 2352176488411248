//! The mailer of a server without SMTP: it logs each mail at info level. For a self-hosted
//! operator with no mail server, that log line is the only way to get a password-reset link
//! (the README says so), so the whole body, link included, is logged.

use super::{Mail, MailError, Mailer};

#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        tracing::info!(
            to = %mail.to,
            subject = %mail.subject,
            body = %mail.body,
            "no SMTP server configured (FF_SMTP_URL): mail logged instead of sent"
        );
        Ok(())
    }
}
