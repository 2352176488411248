//! The two server secrets: the JWT signing secret and the master key for thing keys.
//!
//! Given by the operator, or generated once into the data dir so tokens and sealed keys
//! survive restarts.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot use secret file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} must be 64 hex characters (32 bytes)")]
    BadMasterKey { what: String },
    #[error("the JWT secret must not be empty")]
    EmptyJwtSecret,
}

#[derive(Clone)]
pub struct Secrets {
    pub jwt_secret: Vec<u8>,
    pub master_key: [u8; 32],
    /// Guards the operator endpoints (`GET /events`); readable only by whoever can read
    /// the data dir, which is what `ferroflux events` on the same host uses.
    pub admin_token: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// A digest of both secrets that reveals neither: nodes sharing one event log compare it
    /// to find out at start whether they would understand each other's tokens and keys.
    pub fn fingerprint(&self) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.master_key)
            .expect("HMAC takes any key length");
        mac.update(b"ferroflux cluster fingerprint v1\0");
        mac.update(&self.jwt_secret);
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Uses the given secrets, else reads or creates `<dir>/jwt.secret` and `<dir>/master.key`;
    /// the admin token always lives in `<dir>/admin.token`.
    pub fn load(
        dir: &Path,
        jwt_secret: Option<&str>,
        master_key: Option<&str>,
    ) -> Result<Self, SecretsError> {
        let jwt_secret = match jwt_secret {
            Some("") => return Err(SecretsError::EmptyJwtSecret),
            Some(secret) => secret.as_bytes().to_vec(),
            None => hex_bytes(&read_or_create(&dir.join("jwt.secret"))?, "jwt.secret")?.to_vec(),
        };
        let master_key = match master_key {
            Some(key) => hex_bytes(key, "FF_MASTER_KEY")?,
            None => hex_bytes(&read_or_create(&dir.join("master.key"))?, "master.key")?,
        };
        let admin_token = read_or_create(&dir.join("admin.token"))?.trim().to_owned();
        Ok(Self {
            jwt_secret,
            master_key,
            admin_token,
        })
    }
}

fn hex_bytes(text: &str, what: &str) -> Result<[u8; 32], SecretsError> {
    let bad = || SecretsError::BadMasterKey { what: what.into() };
    let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

fn read_or_create(path: &Path) -> Result<String, SecretsError> {
    let io = |source| SecretsError::Io {
        path: path.to_owned(),
        source,
    };
    match fs::read_to_string(path) {
        Ok(text) => return Ok(text),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(_) => {}
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let text = hex::encode(bytes);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_stable_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::load(dir.path(), None, None).unwrap();
        let second = Secrets::load(dir.path(), None, None).unwrap();
        assert_eq!(first.master_key, second.master_key);
        assert_eq!(first.jwt_secret, second.jwt_secret);
    }

    #[test]
    fn a_bad_master_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Secrets::load(dir.path(), None, Some("short")).is_err());
        assert!(Secrets::load(dir.path(), Some(""), None).is_err());
        let key = "ab".repeat(32);
        assert_eq!(
            Secrets::load(dir.path(), None, Some(&key))
                .unwrap()
                .master_key,
            [0xab; 32]
        );
    }
}
