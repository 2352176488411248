//! Secrets at rest and in transit: the key vault, password hashing, user tokens.

mod passwords;
mod secrets;
mod tokens;
mod vault;

pub use passwords::{hash_password, verify_password};
pub use secrets::{Secrets, SecretsError};
pub use tokens::{TokenError, Tokens};
pub use vault::KeyVault;
