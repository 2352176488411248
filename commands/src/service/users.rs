//! Users: registration, login, profile, password.

use std::net::IpAddr;
use std::time::Instant;

use domain::DomainError;
use domain::ids::{PasswordHash, UserId};
use domain::user::{self, UserCommand};
use domain::values::{Metadata, check_email, check_metadata, check_password};
use projections::views::UserRow;
use uuid::Uuid;

use super::execute::id_in_stream;
use super::{CommandMeta, Service, ServiceError};

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
        check_metadata(metadata.as_ref())?;
        let _claim = self
            .reservations
            .claim(vec![format!("email:{email}")])
            .ok_or_else(|| ServiceError::conflict("email is already registered"))?;
        if self.views.user_by_email(&email).await?.is_some() {
            return Err(ServiceError::conflict("email is already registered"));
        }
        let password_hash = self.passwords.hash(password).await?;
        let id = UserId(self.vault.user_id(&email));
        let command = UserCommand::Register {
            id,
            email: email.clone(),
            password_hash,
            metadata,
        };
        let appended = self
            .execute_new(meta, id.stream(), user::apply, |state| {
                user::decide(state, &command)
            })
            .await
            .map_err(|error| match error {
                // The stream is the email's: another node registered it first.
                ServiceError::Domain(DomainError::Conflict(_)) => {
                    ServiceError::conflict("email is already registered")
                }
                other => other,
            })?;
        match appended {
            Some(appended) => Ok(UserId(id_in_stream(&appended.stream)?)),
            None => Err(ServiceError::conflict("email is already registered")),
        }
    }

    /// Counts an anonymous registration from `client`: past the free ones each further one
    /// waits (429), so one address cannot fill the user table. Without an address (a
    /// router called directly) nothing is counted.
    pub fn ration_registration(&self, client: Option<IpAddr>) -> Result<(), ServiceError> {
        if client.is_none() {
            return Ok(());
        }
        self.registrations
            .ration(client, None, Instant::now())
            .map_err(ServiceError::Throttled)
    }

    /// Exchanges email and password for a token; the same answer for an unknown email and
    /// a wrong password, after the same work. A client or email past its free failures
    /// waits (429) before any hashing.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        client: Option<IpAddr>,
    ) -> Result<String, ServiceError> {
        self.throttle
            .check(client, Some(email), Instant::now())
            .map_err(ServiceError::Throttled)?;
        let user = self.views.user_by_email(email).await?;
        let hash = match &user {
            Some(user) => user.password_hash.clone(),
            None => self.decoy().await?,
        };
        let valid = self.passwords.verify(password, hash).await?;
        match user {
            Some(user) if valid => {
                self.throttle.succeeded(email);
                Ok(self.tokens.issue(user.id))
            }
            _ => {
                self.throttle.failed(client, Some(email), Instant::now());
                Err(ServiceError::Unauthenticated)
            }
        }
    }

    async fn decoy(&self) -> Result<PasswordHash, ServiceError> {
        let random = || self.passwords.hash(Uuid::new_v4().to_string());
        Ok(self.decoy.get_or_try_init(random).await?.clone())
    }

    /// The user behind a token; a token of a user that does not exist is invalid.
    pub async fn identify(&self, token: &str) -> Result<UserId, ServiceError> {
        let id = self
            .tokens
            .verify(token)
            .map_err(|_| ServiceError::Unauthenticated)?;
        match self.views.user(id).await? {
            Some(_) => Ok(id),
            None => Err(ServiceError::Unauthenticated),
        }
    }

    pub async fn profile(&self, actor: UserId) -> Result<UserRow, ServiceError> {
        self.views
            .user(actor)
            .await?
            .ok_or(ServiceError::Unauthenticated)
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
        let user = self.profile(actor).await?;
        if !self
            .passwords
            .verify(old_password, user.password_hash)
            .await?
        {
            return Err(ServiceError::Unauthenticated);
        }
        let password_hash = self.passwords.hash(password).await?;
        let command = UserCommand::ChangePassword { password_hash };
        self.execute(meta, actor.stream(), user::apply, |s| {
            user::decide(s, &command)
        })
        .await?;
        Ok(())
    }
}
