//! Password reset by mail (Mainflux 0.12 `POST /password/reset-request`, `PUT
//! /password/reset`): a recovery token mailed as a link, then exchanged with a new password
//! through the same event-sourced command as a password change.

use std::net::IpAddr;
use std::time::Instant;

use domain::ids::{PasswordHash, UserId};
use domain::user::{self, UserCommand, UserState};
use domain::values::{check_email, check_password};
use uuid::Uuid;

use super::{CommandMeta, Service, ServiceError};
use crate::auth::{RECOVERY_TTL, password_fingerprint};
use crate::mail::Mail;

impl Service {
    /// Mails a reset link (`<referer><reset endpoint>?token=<recovery token>`) when `email`
    /// is registered, and answers the same either way: the token is made in both cases and
    /// the mail leaves from a background task, so neither the status nor the time taken tells
    /// a stranger which emails have accounts. (Mainflux 0.12's code answered 400 for an
    /// unknown email; its OpenAPI does not document that, so we keep the secret.) A failed
    /// send is logged for the operator, never reported to the caller, for the same reason.
    pub async fn request_password_reset(
        &self,
        email: &str,
        referer: &str,
        client: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        check_email(email)?;
        // Counted for every email alike, known or not, so a 429 reveals nothing either.
        self.reset_throttle
            .ration(client, Some(email), Instant::now())
            .map_err(ServiceError::Throttled)?;
        let user = self.views.user_by_email(email).await?;
        let (id, fingerprint) = match &user {
            Some(user) => (user.id, password_fingerprint(&user.password_hash)),
            None => (
                UserId(Uuid::nil()),
                password_fingerprint(&PasswordHash(String::new())),
            ),
        };
        let token = self.tokens.issue_recovery(id, &fingerprint);
        let Some(user) = user else {
            return Ok(());
        };
        let link = format!(
            "{}{}?token={token}",
            referer.trim_end_matches('/'),
            self.settings.reset_endpoint
        );
        let mail = Mail {
            to: user.email,
            subject: "Password reset".into(),
            body: format!(
                "Someone, hopefully you, asked to reset the password of this account.\n\
                 To choose a new one, open this link within {} minutes:\n\n{link}\n\n\
                 If it was not you, ignore this mail: the password stays as it is.\n",
                RECOVERY_TTL.as_secs() / 60
            ),
        };
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            if let Err(error) = mailer.send(&mail).await {
                tracing::warn!(%error, "password reset mail not sent");
            }
        });
        Ok(())
    }

    /// Sets a new password with a recovery token. The token works once: it names the
    /// password it may replace, checked again under the stream lock, so a second use (even
    /// a concurrent one) finds another password and is refused (401).
    pub async fn reset_password(
        &self,
        meta: &CommandMeta,
        token: &str,
        password: String,
    ) -> Result<(), ServiceError> {
        let recovery = self
            .tokens
            .verify_recovery(token)
            .map_err(|_| ServiceError::Unauthenticated)?;
        let current = self
            .views
            .user(recovery.user)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if password_fingerprint(&current.password_hash) != recovery.fingerprint {
            return Err(ServiceError::Unauthenticated);
        }
        check_password(&password)?;
        let password_hash = self.passwords.hash(password).await?;
        let command = UserCommand::ChangePassword { password_hash };
        let appended = self
            .execute(meta, recovery.user.stream(), user::apply, |state| {
                match state {
                    UserState::Registered(u)
                        if password_fingerprint(&u.password_hash) == recovery.fingerprint =>
                    {
                        user::decide(state, &command)
                    }
                    // Used meanwhile: no event, refused below.
                    _ => Ok(Vec::new()),
                }
            })
            .await?;
        appended.map(|_| ()).ok_or(ServiceError::Unauthenticated)
    }
}
