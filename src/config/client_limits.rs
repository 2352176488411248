//! Limits that keep any one client, authenticated or not, from exhausting the server:
//! slow or idle HTTP connections, too many of them, and password hashing on demand.

use std::time::Duration;

use clap::Args;
use commands::auth::ThrottleRules;
use commands::http::TrustedProxies;
use commands::service::{DEFAULT_REGISTRATIONS_FREE, Settings};

use crate::http_server::HttpLimits;

const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 4096;
const DEFAULT_MQTT_MAX_CONNECTIONS: usize = 50_000;
/// File descriptors kept for everything but client connections (stores, logs, accept).
const RESERVED_DESCRIPTORS: usize = 128;
const DEFAULT_PASSWORD_QUEUE: usize = 16;

#[derive(Debug, Clone, Args)]
pub struct ClientLimits {
    /// Seconds a client has to send a request's headers, and to start its next request on
    /// a kept-alive connection; then the connection is closed.
    #[arg(long, env = "FF_HTTP_HEADER_TIMEOUT", default_value_t = 10)]
    pub http_header_timeout: u64,
    /// Seconds a client has to send a request's body; then the request is refused (400).
    #[arg(long, env = "FF_HTTP_BODY_TIMEOUT", default_value_t = 30)]
    pub http_body_timeout: u64,
    /// HTTP connections open at once; more clients wait until one closes. Keep it below the
    /// process's file-descriptor limit (`ulimit -n`), which MQTT connections share.
    #[arg(long, env = "FF_HTTP_MAX_CONNECTIONS", default_value_t = DEFAULT_HTTP_MAX_CONNECTIONS)]
    pub http_max_connections: usize,
    /// MQTT connections open at once, CONNECTed or not; more clients wait until one closes.
    #[arg(long, env = "FF_MQTT_MAX_CONNECTIONS", default_value_t = DEFAULT_MQTT_MAX_CONNECTIONS)]
    pub mqtt_max_connections: usize,
    /// Passwords hashed at once (argon2id: 19 MiB and ~50 ms of a core each); 0 = one per core.
    #[arg(long, env = "FF_PASSWORD_WORKERS", default_value_t = 0)]
    pub password_workers: usize,
    /// Logins and registrations that may wait for a hashing thread; beyond them, 503.
    #[arg(long, env = "FF_PASSWORD_QUEUE", default_value_t = DEFAULT_PASSWORD_QUEUE)]
    pub password_queue: usize,
    /// Failed logins a client address or an email may make before each further one makes
    /// it wait (1 s, doubling up to 15 min; answered 429).
    #[arg(long, env = "FF_LOGIN_FREE_FAILURES", default_value_t = ThrottleRules::default().free_failures)]
    pub login_free_failures: u32,
    /// Registrations one client address may make without logging in before each further
    /// one waits (1 s, doubling up to 15 min; answered 429).
    #[arg(long, env = "FF_REGISTRATIONS_FREE", default_value_t = DEFAULT_REGISTRATIONS_FREE)]
    pub registrations_free: u32,
    /// Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For
    /// names the client; without them every client behind a proxy shares its backoff.
    #[arg(long, env = "FF_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            http_header_timeout: 10,
            http_body_timeout: 30,
            http_max_connections: DEFAULT_HTTP_MAX_CONNECTIONS,
            mqtt_max_connections: DEFAULT_MQTT_MAX_CONNECTIONS,
            password_workers: 0,
            password_queue: DEFAULT_PASSWORD_QUEUE,
            login_free_failures: ThrottleRules::default().free_failures,
            registrations_free: DEFAULT_REGISTRATIONS_FREE,
            trusted_proxies: String::new(),
        }
    }
}

/// The soft open-files limit (`ulimit -n`), where Linux tells it.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl ClientLimits {
    pub fn check(&self) -> anyhow::Result<()> {
        let positive = [
            ("FF_HTTP_HEADER_TIMEOUT", self.http_header_timeout as usize),
            ("FF_HTTP_BODY_TIMEOUT", self.http_body_timeout as usize),
            ("FF_HTTP_MAX_CONNECTIONS", self.http_max_connections),
            ("FF_MQTT_MAX_CONNECTIONS", self.mqtt_max_connections),
        ];
        for (name, value) in positive {
            if value == 0 {
                anyhow::bail!("{name} must be at least 1");
            }
        }
        self.proxies().map(drop)
    }

    /// A warning when both listeners full would take more file descriptors than the
    /// process may open: then a flood ends in accept errors instead of a wait.
    pub fn descriptor_warning(&self, open_files_limit: Option<usize>) -> Option<String> {
        let limit = open_files_limit?;
        let wanted = self.http_max_connections + self.mqtt_max_connections + RESERVED_DESCRIPTORS;
        (wanted > limit).then(|| {
            format!(
                "FF_HTTP_MAX_CONNECTIONS ({}) + FF_MQTT_MAX_CONNECTIONS ({}) + {RESERVED_DESCRIPTORS} \
                 exceed the open-files limit ({limit}): raise `ulimit -n` (LimitNOFILE= in \
                 systemd) or lower them",
                self.http_max_connections, self.mqtt_max_connections
            )
        })
    }

    fn proxies(&self) -> anyhow::Result<TrustedProxies> {
        TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|why| anyhow::anyhow!("FF_TRUSTED_PROXIES: {why}"))
    }

    pub fn http(&self) -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_secs(self.http_header_timeout),
            max_connections: self.http_max_connections,
            body_timeout: Duration::from_secs(self.http_body_timeout),
        }
    }

    /// The command service's settings these limits set; the rest stay as given.
    pub fn apply_to(&self, settings: Settings) -> anyhow::Result<Settings> {
        let defaults = Settings::default();
        Ok(Settings {
            password_workers: match self.password_workers {
                0 => defaults.password_workers,
                n => n,
            },
            password_queue: self.password_queue,
            login_throttle: ThrottleRules {
                free_failures: self.login_free_failures,
                ..ThrottleRules::default()
            },
            registration_throttle: ThrottleRules {
                free_failures: self.registrations_free,
                ..ThrottleRules::default()
            },
            trusted_proxies: self.proxies()?,
            ..settings
        })
    }

    pub fn render(&self) -> Vec<String> {
        vec![
            format!("FF_HTTP_HEADER_TIMEOUT={}", self.http_header_timeout),
            format!("FF_HTTP_BODY_TIMEOUT={}", self.http_body_timeout),
            format!("FF_HTTP_MAX_CONNECTIONS={}", self.http_max_connections),
            format!("FF_MQTT_MAX_CONNECTIONS={}", self.mqtt_max_connections),
            format!("FF_PASSWORD_WORKERS={}", self.password_workers),
            format!("FF_PASSWORD_QUEUE={}", self.password_queue),
            format!("FF_LOGIN_FREE_FAILURES={}", self.login_free_failures),
            format!("FF_REGISTRATIONS_FREE={}", self.registrations_free),
            format!("FF_TRUSTED_PROXIES={}", self.trusted_proxies),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_warning_names_both_settings() {
        let limits = ClientLimits::default();
        assert_eq!(limits.descriptor_warning(None), None);
        assert_eq!(limits.descriptor_warning(Some(1_000_000)), None);
        let warning = limits.descriptor_warning(Some(1024)).unwrap();
        assert!(
            warning.contains("FF_HTTP_MAX_CONNECTIONS (4096)"),
            "{warning}"
        );
        assert!(
            warning.contains("FF_MQTT_MAX_CONNECTIONS (50000)"),
            "{warning}"
        );
        assert!(open_files_limit().is_some_and(|n| n > 0), "read on Linux");
    }
}
