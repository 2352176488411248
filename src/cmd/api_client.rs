//! The operator commands' client of the public REST API: a base URL and a user token, the
//! same calls any third-party tool would make.

use anyhow::{Context, bail};
use clap::Args;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The server's REST API.
    #[arg(
        long,
        env = "FF_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// A user token (`POST /tokens`); what is made belongs to its user. Given before or
    /// after the subcommand (clap allows no required flag there, so it is checked here).
    #[arg(long, env = "FF_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// An answer: its status and its JSON body (`null` when it had none).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// The `Location` of what a create made.
    pub location: Option<String>,
}

impl ApiClient {
    pub fn new(args: &ApiArgs) -> anyhow::Result<Self> {
        let Some(token) = args.token.clone().filter(|t| !t.is_empty()) else {
            bail!("a user token is needed: --token or FF_TOKEN (from POST /tokens)");
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: args.url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends one request; any status is an answer, only a transport failure an error.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            location,
        })
    }

    /// Sends one request and insists on a success.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let answer = self.send(method.clone(), path, body).await?;
        if !answer.status.is_success() {
            bail!(
                "{method} {path} answered {}: {}",
                answer.status,
                answer.body
            );
        }
        Ok(answer)
    }
}
