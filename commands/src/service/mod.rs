//! Command handlers: load the aggregate, decide, append durably, wait until the local
//! projections show the result, answer.

mod bootstrap_attempts;
mod certs;
mod channels;
mod config_claims;
mod config_state;
mod configs;
mod connections;
mod error;
mod execute;
mod history;
mod key_claims;
mod mapping;
mod mapping_template;
mod password_reset;
mod reservations;
pub(crate) mod stream_locks;
mod things;
mod users;

use std::sync::Arc;
use std::time::Duration;

use domain::ids::{PasswordHash, UserId};
use domain::ports::event_log::EventLog;
use projections::views::QueryViews;
use projections::{Applied, AuthzCache, CertRegistry};
use uuid::Uuid;

pub use certs::IssuedCertificate;
pub use channels::NewChannel;
pub use configs::{ConfigWithKeys, FetchedConfig, NewConfig, PlainCerts, activation};
pub use error::ServiceError;
pub use history::AsOf;
pub use mapping::{Mapping, NewMapping};
pub use mapping_template::{MappingTemplate, TemplateBootstrap, TemplateEntity};
pub use things::{NewThing, ThingWithKey};

use crate::auth::{BootstrapCipher, HashPool, KeyVault, LoginThrottle, ThrottleRules, Tokens};
use crate::http::TrustedProxies;
use crate::mail::{LogMailer, Mailer};
use crate::pki::CertAuthority;
use reservations::Reservations;
use stream_locks::StreamLocks;

/// Operator choices that change command behaviour.
#[derive(Debug, Clone)]
pub struct Settings {
    /// When false, only a logged-in user may create users.
    pub open_registration: bool,
    /// How long a command waits for its events to be projected before answering 503.
    pub projection_timeout: Duration,
    /// Passwords hashed at once (each 19 MiB and ~50 ms of a core); at least one.
    pub password_workers: usize,
    /// Logins and registrations that may wait for a hashing thread; beyond them, 503.
    pub password_queue: usize,
    /// How failed logins back off (429).
    pub login_throttle: ThrottleRules,
    /// How anonymous registrations from one client address are paced (429); a logged-in
    /// user or the operator registering users is not.
    pub registration_throttle: ThrottleRules,
    /// Path appended to the `Referer` in a password-reset link (Mainflux's
    /// `MF_TOKEN_RESET_ENDPOINT`): the page of the UI that asks for the new password.
    pub reset_endpoint: String,
    /// Origins (`https://ui.example.com`) a reset link may point to. The link starts with
    /// the request's `Referer`, which anyone can set: mailed unchecked, it would send a
    /// victim's token to the sender's page. Empty: any http(s) `Referer` (only safe while
    /// links are logged for the operator, not mailed; the binary checks that).
    pub reset_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (login backoff).
    pub trusted_proxies: TrustedProxies,
    /// How long a thing-key claim whose holder does not use the key still blocks the key:
    /// long enough for the holder's own event to follow its claim (and for clocks of the
    /// nodes to differ), short enough that a node dying between the two frees it soon.
    pub key_claim_grace: Duration,
    /// Claim thing keys in the log (`key_claims`): on when several nodes share the log. One
    /// node alone on its embedded log needs no claim (its in-process reservations serialize
    /// every key change there), and saves the claim's append on every create.
    pub key_claims: bool,
    /// `FF_BOOTSTRAP_KEY`: turns the secure bootstrap fetch on.
    pub bootstrap_cipher: Option<BootstrapCipher>,
    /// What `POST /mapping` makes (`FF_PROVISION_TEMPLATE`).
    pub mapping_template: MappingTemplate,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            open_registration: true,
            projection_timeout: Duration::from_secs(10),
            password_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            password_queue: 16,
            login_throttle: ThrottleRules::default(),
            registration_throttle: ThrottleRules {
                free_failures: DEFAULT_REGISTRATIONS_FREE,
                ..ThrottleRules::default()
            },
            reset_endpoint: "/reset-request".into(),
            reset_origins: Vec::new(),
            trusted_proxies: TrustedProxies::default(),
            key_claim_grace: DEFAULT_KEY_CLAIM_GRACE,
            key_claims: false,
            bootstrap_cipher: None,
            mapping_template: MappingTemplate::default(),
        }
    }
}

/// See `Settings::key_claim_grace`.
pub const DEFAULT_KEY_CLAIM_GRACE: Duration = Duration::from_secs(30);

/// Anonymous registrations one client address makes before it is paced: a household or an
/// office behind one address signs up at once; a script filling the user table does not.
pub const DEFAULT_REGISTRATIONS_FREE: u32 = 20;

/// Three reset mails per address (and per client) go out at once; the next after a minute,
/// the wait doubling up to an hour.
const RESET_MAILS: ThrottleRules = ThrottleRules {
    free_failures: 3,
    first_wait: Duration::from_secs(60),
    longest_wait: Duration::from_secs(3600),
    capacity: 100_000,
};

/// Who asks, and how to recognize a retry of the same request.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    /// True when the client chose the command id (`Idempotency-Key`), so a retry may come.
    pub client_chosen_id: bool,
    pub actor: Option<UserId>,
    pub correlation_id: Uuid,
}

impl CommandMeta {
    pub fn new(actor: Option<UserId>, idempotency_key: Option<Uuid>) -> Self {
        let command_id = idempotency_key.unwrap_or_else(Uuid::new_v4);
        Self {
            command_id,
            client_chosen_id: idempotency_key.is_some(),
            actor,
            correlation_id: command_id,
        }
    }

    /// The meta of the `n`th part of a command that appends to several streams.
    pub fn part(&self, n: impl AsRef<[u8]>) -> Self {
        Self {
            command_id: Uuid::new_v5(&self.command_id, n.as_ref()),
            ..self.clone()
        }
    }
}

pub struct Service {
    log: Arc<dyn EventLog>,
    views: Arc<dyn QueryViews>,
    authz: Arc<AuthzCache>,
    applied: Applied,
    vault: KeyVault,
    tokens: Tokens,
    settings: Settings,
    admin_token: String,
    reservations: Reservations,
    stream_locks: StreamLocks,
    passwords: HashPool,
    throttle: LoginThrottle,
    /// Reset mails per address and client: a stranger cannot flood someone's inbox.
    reset_throttle: LoginThrottle,
    /// Anonymous registrations per client address.
    registrations: LoginThrottle,
    /// A hash of a random password, verified against for an unknown email.
    decoy: tokio::sync::OnceCell<PasswordHash>,
    mailer: Arc<dyn Mailer>,
    /// Started by the first device fetch (a task needs the runtime; `new` may not have one).
    attempts: std::sync::OnceLock<bootstrap_attempts::AttemptRecorder>,
    certs: Arc<CertRegistry>,
    certs_ca: Option<Arc<CertAuthority>>,
}

/// What a `Service` is built from.
pub struct ServiceParts {
    pub log: Arc<dyn EventLog>,
    /// In memory, or PostgreSQL (`FF_VIEWS`); `applied` must also wait for the latter.
    pub views: Arc<dyn QueryViews>,
    pub authz: Arc<AuthzCache>,
    pub applied: Applied,
    pub vault: KeyVault,
    pub tokens: Tokens,
    pub settings: Settings,
    /// Token for operator endpoints; empty disables them.
    pub admin_token: String,
    /// Issued certificates and the revoked set (a projection the runner feeds).
    pub certs: Arc<CertRegistry>,
    /// Signs `POST /certs` and the CRL; `None` answers those with 503.
    pub certs_ca: Option<Arc<CertAuthority>>,
}

impl Service {
    pub fn new(parts: ServiceParts) -> Self {
        let settings = &parts.settings;
        Self {
            passwords: HashPool::new(settings.password_workers, settings.password_queue),
            throttle: LoginThrottle::new(settings.login_throttle),
            reset_throttle: LoginThrottle::new(RESET_MAILS),
            registrations: LoginThrottle::new(settings.registration_throttle),
            log: parts.log,
            views: parts.views,
            authz: parts.authz,
            applied: parts.applied,
            vault: parts.vault,
            tokens: parts.tokens,
            settings: parts.settings,
            admin_token: parts.admin_token,
            reservations: Reservations::default(),
            stream_locks: StreamLocks::default(),
            decoy: tokio::sync::OnceCell::new(),
            mailer: Arc::new(LogMailer),
            attempts: std::sync::OnceLock::new(),
            certs: parts.certs,
            certs_ca: parts.certs_ca,
        }
    }

    /// Sends password-reset mail through `mailer` instead of logging it.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    pub fn views(&self) -> &dyn QueryViews {
        self.views.as_ref()
    }

    pub fn authz(&self) -> &AuthzCache {
        &self.authz
    }

    /// The CA of `POST /certs`, whose certificate the TLS listeners trust for devices.
    pub fn certs_ca(&self) -> Option<&Arc<CertAuthority>> {
        self.certs_ca.as_ref()
    }

    pub fn vault(&self) -> &KeyVault {
        &self.vault
    }

    /// The secure bootstrap cipher, when `FF_BOOTSTRAP_KEY` is set.
    pub fn bootstrap_cipher(&self) -> Option<&BootstrapCipher> {
        self.settings.bootstrap_cipher.as_ref()
    }

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    /// Constant-time check of an operator token.
    pub fn is_admin(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        !self.admin_token.is_empty()
            && bool::from(token.as_bytes().ct_eq(self.admin_token.as_bytes()))
    }

    /// Logins and registrations refused because every hashing thread was busy.
    pub fn passwords_refused(&self) -> u64 {
        self.passwords.refused()
    }

    /// Logins refused because their client or email had to wait after failures.
    pub fn logins_throttled(&self) -> u64 {
        self.throttle.refused()
    }

    /// Anonymous registrations refused because their client address had to wait.
    pub fn registrations_throttled(&self) -> u64 {
        self.registrations.refused()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// True once the projections have caught up with the log's head at the time of asking.
    pub async fn ready(&self) -> bool {
        match self.log.head().await {
            Ok(head) => self.applied.position() >= head,
            Err(_) => false,
        }
    }
}
