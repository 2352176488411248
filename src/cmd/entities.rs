//! `ferroflux things|channels|configs list|create|remove`: the common provisioning calls of
//! the REST API from a shell, answers as JSON on stdout (pipe them into `jq`).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api_client::{ApiArgs, ApiClient};

/// Which collection a command works on.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Things,
    Channels,
    Configs,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Things => "/things",
            Kind::Channels => "/channels",
            Kind::Configs => "/things/configs",
        }
    }
}

#[derive(Debug, Args)]
pub struct EntityArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// One page of the caller's entities.
    List {
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Makes one and prints it.
    Create(CreateArgs),
    /// Removes one by id.
    Remove { id: String },
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[arg(long)]
    name: Option<String>,
    /// A JSON object (things and channels).
    #[arg(long)]
    metadata: Option<String>,
    /// Configs: the device's external id.
    #[arg(long)]
    external_id: Option<String>,
    /// Configs: the device's external key.
    #[arg(long)]
    external_key: Option<String>,
    /// Configs: the thing to configure; a new one when absent.
    #[arg(long)]
    thing_id: Option<String>,
    /// Configs: a channel of the config (repeat for several).
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// Configs: the content handed to the device.
    #[arg(long)]
    content: Option<String>,
}

pub async fn run(kind: Kind, args: EntityArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.api)?;
    let out = match args.action {
        Action::List { offset, limit } => {
            let path = format!("{}?offset={offset}&limit={limit}", kind.path());
            client.expect(Method::GET, &path, None).await?.body
        }
        Action::Create(create) => {
            let body = create_body(kind, create)?;
            let made = client
                .expect(Method::POST, kind.path(), Some(&body))
                .await?;
            let Some(location) = made.location else {
                bail!("POST {} answered without a Location", kind.path());
            };
            client.expect(Method::GET, &location, None).await?.body
        }
        Action::Remove { id } => {
            let path = format!("{}/{id}", kind.path());
            client.expect(Method::DELETE, &path, None).await?;
            json!({ "removed": id })
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn create_body(kind: Kind, args: CreateArgs) -> anyhow::Result<Value> {
    let mut body = Map::new();
    if let Some(name) = args.name {
        body.insert("name".into(), name.into());
    }
    match kind {
        Kind::Things | Kind::Channels => {
            if let Some(metadata) = args.metadata {
                let metadata: Value =
                    serde_json::from_str(&metadata).context("--metadata is not JSON")?;
                body.insert("metadata".into(), metadata);
            }
        }
        Kind::Configs => {
            let (Some(id), Some(key)) = (args.external_id, args.external_key) else {
                bail!("a config needs --external-id and --external-key");
            };
            body.insert("external_id".into(), id.into());
            body.insert("external_key".into(), key.into());
            body.insert("thing_id".into(), args.thing_id.unwrap_or_default().into());
            body.insert("channels".into(), args.channels.into());
            if let Some(content) = args.content {
                body.insert("content".into(), content.into());
            }
        }
    }
    Ok(Value::Object(body))
}
