//! Mail configuration and the mailer it selects: SMTP when `FF_SMTP_URL` is set, otherwise
//! the log (the reset link appears in the server's log at info level).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use commands::mail::{LogMailer, Mailer, SmtpConfig, SmtpMailer};

/// How long one mail's whole SMTP dialogue may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// The SMTP server for password-reset mail, `smtp://host[:port]` (port 25 by default).
    /// Plain SMTP, no TLS yet: use a relay you trust. Unset: reset links are logged instead.
    #[arg(long, env = "FF_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of the mail.
    #[arg(long, env = "FF_SMTP_FROM", default_value = "ferroflux@localhost")]
    pub smtp_from: String,
    /// AUTH PLAIN user, when the SMTP server asks for one (with FF_SMTP_PASSWORD).
    #[arg(long, env = "FF_SMTP_USER")]
    pub smtp_user: Option<String>,
    #[arg(long, env = "FF_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Path of the UI page a reset link opens, after the `Referer` of the request
    /// (Mainflux's `MF_TOKEN_RESET_ENDPOINT`).
    #[arg(long, env = "FF_RESET_ENDPOINT", default_value = "/reset-request")]
    pub reset_endpoint: String,
    /// Comma-separated origins of the user interfaces a mailed reset link may open
    /// (`https://ui.example.com`); the request's `Referer` must be one of them. Required
    /// with FF_SMTP_URL: an unchecked `Referer` would mail a victim a link to anyone's page.
    #[arg(long, env = "FF_RESET_ORIGINS", value_delimiter = ',')]
    pub reset_origins: Vec<String>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_from: "ferroflux@localhost".into(),
            smtp_user: None,
            smtp_password: None,
            reset_endpoint: "/reset-request".into(),
            reset_origins: Vec::new(),
        }
    }
}

impl MailConfig {
    /// The allowed reset origins, normalized; refused when mail goes out without any.
    pub fn origins(&self) -> anyhow::Result<Vec<String>> {
        let origins = self
            .reset_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| {
                commands::http::origin(o)
                    .with_context(|| format!("FF_RESET_ORIGINS: {o:?} is not an http(s) origin"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.smtp_url.is_some() && origins.is_empty() {
            bail!(
                "FF_SMTP_URL needs FF_RESET_ORIGINS (the origins of your user interface, \
                 e.g. https://ui.example.com): reset links are built from the request's \
                 Referer, which anyone can set"
            );
        }
        Ok(origins)
    }

    /// The mailer this configuration asks for; a bad URL is one clear error at startup.
    pub fn mailer(&self) -> anyhow::Result<Arc<dyn Mailer>> {
        let Some(url) = &self.smtp_url else {
            tracing::info!("no FF_SMTP_URL: password-reset links are logged, not mailed");
            return Ok(Arc::new(LogMailer));
        };
        let (host, port) = host_port(url)?;
        let credentials = match (&self.smtp_user, &self.smtp_password) {
            (Some(user), Some(password)) => Some((user.clone(), password.clone())),
            (None, None) => None,
            _ => bail!("set both FF_SMTP_USER and FF_SMTP_PASSWORD, or neither"),
        };
        tracing::info!(%host, port, from = %self.smtp_from, "password-reset mail goes out by SMTP");
        Ok(Arc::new(SmtpMailer::new(SmtpConfig {
            host,
            port,
            from: self.smtp_from.clone(),
            credentials,
            helo_name: "ferroflux".into(),
            timeout: SMTP_TIMEOUT,
        })))
    }

    pub fn render(&self) -> Vec<String> {
        let set = |s: &Option<String>| s.clone().unwrap_or_default();
        let password = match &self.smtp_password {
            Some(_) => "******** (set)",
            None => "",
        };
        vec![
            format!("FF_SMTP_URL={}", set(&self.smtp_url)),
            format!("FF_SMTP_FROM={}", self.smtp_from),
            format!("FF_SMTP_USER={}", set(&self.smtp_user)),
            format!("FF_SMTP_PASSWORD={password}"),
            format!("FF_RESET_ENDPOINT={}", self.reset_endpoint),
            format!("FF_RESET_ORIGINS={}", self.reset_origins.join(",")),
        ]
    }
}

/// `smtp://host[:port]`, IPv6 hosts in brackets.
fn host_port(url: &str) -> anyhow::Result<(String, u16)> {
    let usage = || format!("FF_SMTP_URL {url:?} must look like smtp://host:port");
    let rest = url
        .strip_prefix("smtp://")
        .with_context(|| format!("{} (plain SMTP; TLS is not supported yet)", usage()))?
        .trim_end_matches('/');
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').with_context(usage)?;
            (host, after.strip_prefix(':'))
        }
        None => match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    let port = match port {
        Some(port) => port.parse().ok().with_context(usage)?,
        None => 25,
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        bail!(usage());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn smtp_urls_as_a_table() {
        let ok = [
            ("smtp://mail.example.com", "mail.example.com", 25),
            ("smtp://127.0.0.1:2525", "127.0.0.1", 2525),
            ("smtp://[::1]:587/", "::1", 587),
        ];
        for (url, host, port) in ok {
            assert_eq!(host_port(url).unwrap(), (host.to_owned(), port), "{url}");
        }
        for bad in [
            "mail.example.com",
            "smtps://h:465",
            "smtp://",
            "smtp://h:x",
            "smtp://u@h",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }
}
