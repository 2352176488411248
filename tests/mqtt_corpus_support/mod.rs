//! Mosquitto's packet corpus (`test/broker/data/*.json`, tag v2.0.20) played against the
//! real `ferroflux` binary. The corpus stays in `../shared/conformance/mosquitto-corpus/`
//! (`FF_CONFORMANCE_DIR`); this is our own runner around it, nothing of it is copied.
//!
//! - `corpus`: the JSON cases as data.
//! - `mapping`: what a case means against an authenticated broker with Mainflux topics.
//! - `deviations`: the cases that cannot be mapped faithfully, each with the reason.
//! - `player`: one case over TCP, judged as `msg_sequence_test.py` judges it.

pub mod corpus;
pub mod deviations;
pub mod mapping;
pub mod player;

use serde_json::json;

/// A user's two things connected to one channel: `(channel, [thing, key] x2)`.
pub struct Provisioned {
    pub channel: String,
    pub things: [(String, String); 2],
}

/// Provisions through the REST API, as a user would.
pub async fn provision(base: &str) -> Provisioned {
    let user = crate::process::User::register(base, "corpus@example.com").await;
    let channel = user.create("/channels", json!({"name": "corpus"})).await;
    let mut things = Vec::new();
    for name in ["player", "helper"] {
        let key = format!("corpus-{name}-key");
        let thing = user
            .create("/things", json!({"name": name, "key": key}))
            .await;
        user.connect(&channel, &thing).await;
        things.push((thing, key));
    }
    let helper = things.pop().unwrap();
    let player = things.pop().unwrap();
    Provisioned {
        channel,
        things: [player, helper],
    }
}
