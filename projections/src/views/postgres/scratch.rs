//! Databases of their own for tests and bench runs, which run in parallel on one server.

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;

use super::ConnectError;
use crate::masked_url;

/// Creates an empty database called `name` (letters, digits, `_`) on the server of
/// `server_url` and returns the URL of the new database.
pub async fn create_database(server_url: &str, name: &str) -> Result<String, ConnectError> {
    check_name(name)?;
    let mut admin = PgConnection::connect(server_url)
        .await
        .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    // The name was checked above; an identifier cannot be a bound parameter.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| ConnectError::Migrate(e.to_string()))?;
    let base = server_url.split('?').next().unwrap_or(server_url);
    let (server, _) = base
        .rsplit_once('/')
        .filter(|(server, _)| server.contains("://"))
        .ok_or_else(|| ConnectError::BadUrl(masked_url(server_url)))?;
    Ok(format!("{server}/{name}"))
}

fn check_name(name: &str) -> Result<(), ConnectError> {
    match name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        true => Ok(()),
        false => Err(ConnectError::BadUrl(format!("database name {name:?}"))),
    }
}

/// A fresh database, dropped (with any connection still open to it) when the guard goes,
/// so parallel test runs do not pile databases up on the test server.
pub struct ScratchDatabase {
    server: String,
    name: String,
    pub url: String,
}

impl ScratchDatabase {
    /// A database called `<prefix>_<random>` on the server of `server_url`.
    pub async fn create(server_url: &str, prefix: &str) -> Result<Self, ConnectError> {
        let name = format!("{prefix}_{}", Uuid::new_v4().simple());
        let url = create_database(server_url, &name).await?;
        Ok(Self {
            server: server_url.to_owned(),
            name,
            url,
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run inside a runtime, which cannot block on itself: a thread of its own
        // runs the statement. A failure leaves a database behind, nothing worse.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}
