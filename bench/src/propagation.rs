//! Cross-node propagation: two nodes (in this process) on one JetStream log; a thing created
//! through node one, timed until node two's authorization cache knows its key (what a device
//! connecting to node two needs).

use std::time::{Duration, Instant};

use commands::service::{CommandMeta, NewThing};
use ferroflux::{App, Config};

pub struct Propagation {
    pub samples: Vec<Duration>,
}

impl Propagation {
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[at]
    }
}

async fn node(prefix: &str, dir: &std::path::Path) -> anyhow::Result<App> {
    let mut config = Config {
        data_dir: dir.to_owned(),
        ..Config::default()
    };
    config.log.event_log = commands::test_services::nats_url();
    config.log.event_log_prefix = prefix.to_owned();
    config.jwt_secret = Some("bench-jwt-secret".into());
    config.master_key = Some("42".repeat(32));
    App::open(&config).await
}

pub async fn measure(samples: usize) -> anyhow::Result<Propagation> {
    let dirs = (tempfile::tempdir()?, tempfile::tempdir()?);
    let prefix = format!("prop{}", uuid::Uuid::new_v4().simple());
    let one = node(&prefix, dirs.0.path()).await?;
    let two = node(&prefix, dirs.1.path()).await?;
    let meta = CommandMeta::new(None, None);
    let owner = one
        .service
        .register(
            &meta,
            "prop@example.com".into(),
            "bench-password".into(),
            None,
            true,
        )
        .await?;
    let mut out = Vec::with_capacity(samples);
    for n in 0..samples {
        let key = format!("propagation-key-{n}-{}", uuid::Uuid::new_v4());
        let thing = NewThing {
            key: Some(key.clone()),
            ..NewThing::default()
        };
        let meta = CommandMeta::new(Some(owner), None);
        let started = Instant::now();
        one.service.create_things(&meta, owner, vec![thing]).await?;
        let hash = two.service.vault().hash(&key);
        while two.service.authz().identify(&hash).is_none() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "thing {n} never reached node two"
            );
            tokio::task::yield_now().await;
        }
        out.push(started.elapsed());
    }
    Ok(Propagation { samples: out })
}
