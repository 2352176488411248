//! Secrets at rest and in transit: the key vault, password hashing, user tokens.

mod bootstrap_cipher;
mod hash_pool;
mod passwords;
mod secrets;
mod throttle;
mod tokens;
mod vault;
mod verified;

pub use bootstrap_cipher::{BadBootstrapKey, BootstrapCipher, SealFailed};
pub use hash_pool::{HashError, HashPool};
pub use secrets::{Secrets, SecretsError};
pub use throttle::{LoginThrottle, ThrottleRules};
pub use tokens::{RECOVERY_TTL, Recovery, TokenError, Tokens, password_fingerprint};
pub use vault::KeyVault;
