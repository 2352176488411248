//! Users: registration, login, profile, password.

use domain::ids::{PasswordHash, UserId};
use domain::user::{self, UserCommand};
use domain::values::{Metadata, check_email, check_password};
use projections::views::UserRow;
use uuid::Uuid;

use super::execute::id_in_stream;
use super::{CommandMeta, Service, ServiceError};
use crate::auth::{hash_password, verify_password};

impl Service {
    /// Registers a user. With registration closed, only an `invited` request (from a
    /// logged-in user or the operator's admin token) may.
    pub async fn register(
        &self,
        meta: &CommandMeta,
        email: String,
        password: String,
        metadata: Option<Metadata>,
        invited: bool,
    ) -> Result<UserId, ServiceError> {
        if !self.settings.open_registration && !invited {
            return Err(ServiceError::Unauthenticated);
        }
        if let Some(done) = self.replayed(meta).await? {
            return Ok(UserId(id_in_stream(&done.stream)?));
        }
        check_email(&email)?;
        check_password(&password)?;
        let _claim = self
            .reservations
            .claim(vec![format!("email:{email}")])
            .ok_or_else(|| ServiceError::conflict("email is already registered"))?;
        if self.views.user_by_email(&email).is_some() {
            return Err(ServiceError::conflict("email is already registered"));
        }
        let password_hash = slow_hash(password).await?;
        let id = UserId(Uuid::new_v4());
        let command = UserCommand::Register {
            id,
            email: email.clone(),
            password_hash,
            metadata,
        };
        let appended = self
            .execute(meta, id.stream(), user::apply, |state| {
                user::decide(state, &command)
            })
            .await?;
        match appended {
            Some(appended) => Ok(UserId(id_in_stream(&appended.stream)?)),
            None => Err(ServiceError::conflict("email is already registered")),
        }
    }

    /// Exchanges email and password for a token; the same answer for an unknown email and
    /// a wrong password, after the same work.
    pub async fn login(&self, email: &str, password: String) -> Result<String, ServiceError> {
        let user = self.views.user_by_email(email);
        let hash = user
            .as_ref()
            .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
        let valid = slow_verify(password, hash).await?;
        match user {
            Some(user) if valid => Ok(self.tokens.issue(user.id)),
            _ => Err(ServiceError::Unauthenticated),
        }
    }

    /// The user behind a token; a token of a user that does not exist is invalid.
    pub fn identify(&self, token: &str) -> Result<UserId, ServiceError> {
        let id = self
            .tokens
            .verify(token)
            .map_err(|_| ServiceError::Unauthenticated)?;
        match self.views.user(id) {
            Some(_) => Ok(id),
            None => Err(ServiceError::Unauthenticated),
        }
    }

    pub fn profile(&self, actor: UserId) -> Result<UserRow, ServiceError> {
        self.views.user(actor).ok_or(ServiceError::Unauthenticated)
    }

    pub async fn update_user(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        metadata: Option<Metadata>,
    ) -> Result<(), ServiceError> {
        let command = UserCommand::Update { metadata };
        self.execute(meta, actor.stream(), user::apply, |s| {
            user::decide(s, &command)
        })
        .await?;
        Ok(())
    }

    pub async fn change_password(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        old_password: String,
        password: String,
    ) -> Result<(), ServiceError> {
        check_password(&password)?;
        let user = self.profile(actor)?;
        if !slow_verify(old_password, user.password_hash).await? {
            return Err(ServiceError::Unauthenticated);
        }
        let password_hash = slow_hash(password).await?;
        let command = UserCommand::ChangePassword { password_hash };
        self.execute(meta, actor.stream(), user::apply, |s| {
            user::decide(s, &command)
        })
        .await?;
        Ok(())
    }
}

/// A valid argon2id hash of a random password, verified against when the email is unknown
/// so that login takes as long either way.
static DUMMY_HASH: std::sync::LazyLock<PasswordHash> =
    std::sync::LazyLock::new(|| hash_password(&Uuid::new_v4().to_string()));

async fn slow_hash(password: String) -> Result<PasswordHash, ServiceError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

async fn slow_verify(password: String, hash: PasswordHash) -> Result<bool, ServiceError> {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
}
