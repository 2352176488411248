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

use serde_json::{Value, json};

/// A user owning two things connected to one channel: `(token, channel, [thing, key] x2)`.
pub struct Provisioned {
    pub channel: String,
    pub things: [(String, String); 2],
}

/// Provisions through the REST API, as a user would.
pub async fn provision(base: &str) -> Provisioned {
    let http = reqwest::Client::new();
    let credentials = json!({"email": "corpus@example.com", "password": "correct-horse"});
    let made = http
        .post(format!("{base}/users"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "user");
    let login: Value = http
        .post(format!("{base}/tokens"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("token").to_owned();
    let create = async |path: &str, body: Value| {
        let made = http
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201, "{path}");
        let location = made.headers()["location"].to_str().unwrap().to_owned();
        location.rsplit('/').next().unwrap().to_owned()
    };
    let channel = create("/channels", json!({"name": "corpus"})).await;
    let mut things = Vec::new();
    for name in ["player", "helper"] {
        let key = format!("corpus-{name}-key");
        let thing = create("/things", json!({"name": name, "key": key})).await;
        let connected = http
            .put(format!("{base}/channels/{channel}/things/{thing}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(connected.status().is_success(), "connect {name}");
        things.push((thing, key));
    }
    let helper = things.pop().unwrap();
    let player = things.pop().unwrap();
    Provisioned {
        channel,
        things: [player, helper],
    }
}
