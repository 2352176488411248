//! Several `ferroflux serve` processes, each with its own data dir, on one JetStream event
//! log (the real nats-server of `scripts/services`): what one node provisions the other
//! serves, revocations reach both, a `kill -9` loses nothing acknowledged, a node started
//! later catches up, one email and one thing key are each set once across nodes, and both
//! nodes writing one Redis feed give a third-party consumer every entry once.

mod cluster_support;
mod common;
mod feeds_support;
mod mqtt_support;
mod process;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster_support::*;
use futures::FutureExt;
use mqtt_support::Client;
use rumqttc::ConnectionError;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_provisions_the_other_serves_and_revocations_reach_both() {
    let cluster = Cluster::new();
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let key = format!("key-{}", Uuid::new_v4());
    let (status, _, thing) = call(
        "POST",
        format!("{}/things", one.base),
        Some(&token),
        Some(json!({"key": key})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, _, channel) = call(
        "POST",
        format!("{}/channels", one.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    let connect = format!("{}/channels/{channel}/things/{thing}", one.base);
    assert_eq!(call("PUT", connect, Some(&token), None).await.0, 200);

    let delay = until("HTTP publish through node two", 202, || {
        publish(&two.base, &channel, &key)
    })
    .await;
    eprintln!("created on one, publishing through two after {delay:?}");
    let mut on_one = Client::connect(mqtt_options(&one, "on-one", &thing, &key))
        .await
        .expect("MQTT on one");
    Client::connect(mqtt_options(&two, "on-two", &thing, &key))
        .await
        .expect("MQTT on two");

    // A key change through node two: refused at once there, soon on node one, whose live
    // MQTT session with the old key is closed.
    let new_key = format!("key-{}", Uuid::new_v4());
    let change = format!("{}/things/{thing}/key", two.base);
    assert_eq!(
        call("PATCH", change, Some(&token), Some(json!({"key": new_key})))
            .await
            .0,
        200
    );
    assert_eq!(publish(&two.base, &channel, &key).await, 401);
    until("old key refused on node one", 401, || {
        publish(&one.base, &channel, &key)
    })
    .await;
    on_one.closed().await;
    assert!(matches!(
        Client::connect(mqtt_options(&one, "again", &thing, &key))
            .await
            .err(),
        Some(ConnectionError::ConnectionRefused(_))
    ));
    until("new key accepted on node one", 202, || {
        publish(&one.base, &channel, &new_key)
    })
    .await;

    // A removal through node one reaches node two.
    let remove = format!("{}/things/{thing}", one.base);
    assert_eq!(call("DELETE", remove, Some(&token), None).await.0, 204);
    until("removed thing refused on node two", 401, || {
        publish(&two.base, &channel, &new_key)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_node_under_load_loses_nothing_acknowledged_and_a_late_node_catches_up() {
    let cluster = Cluster::new();
    let (mut one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (base, token, acknowledged) =
                (one.base.clone(), token.clone(), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let sent = http
                        .post(format!("{base}/things"))
                        .header("authorization", &token)
                        .json(&json!({"name": "load"}))
                        .send()
                        .await;
                    let Ok(response) = sent else { return };
                    if response.status() == 201 {
                        let id = response.headers()["location"]
                            .to_str()
                            .unwrap()
                            .rsplit('/')
                            .next()
                            .unwrap()
                            .to_owned();
                        acknowledged.lock().unwrap().push(id);
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    one.child.kill().expect("kill -9");
    one.child.wait().expect("reaped");
    for writer in writers {
        writer.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // Node two keeps serving and has every acknowledged thing.
    let listed = |base: String| {
        let token = token.clone();
        async move {
            let url = format!("{base}/things?limit=100&offset=0");
            let (_, page, _) = call("GET", url.clone(), Some(&token), None).await;
            let total = page["total"].as_u64().unwrap_or(0);
            let mut ids = Vec::new();
            for offset in (0..total).step_by(100) {
                let url = format!("{base}/things?limit=100&offset={offset}");
                let (_, page, _) = call("GET", url, Some(&token), None).await;
                ids.extend(
                    page["things"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["id"].as_str().unwrap().to_owned()),
                );
            }
            ids
        }
    };
    let (on_two, _) = eventually("node two shows every acknowledged thing", || {
        let (listing, acknowledged) = (listed(two.base.clone()), &acknowledged);
        async move {
            let ids = listing.await;
            acknowledged
                .iter()
                .all(|id| ids.contains(id))
                .then_some(ids)
        }
    })
    .await;
    let (status, _, _) = call(
        "POST",
        format!("{}/things", two.base),
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "node two keeps serving after node one died");

    // A node started now catches up from the log before it says it is ready.
    let three = cluster.start("three");
    assert_eq!(
        call("GET", format!("{}/ready", three.base), None, None)
            .await
            .0,
        200
    );
    // Node two's own create waited for its views to reach its position, so they now hold
    // every earlier append, node one's last unacknowledged ones included (the snapshot above
    // may have been taken before those arrived).
    let on_two_now = listed(two.base.clone()).await;
    assert!(
        on_two_now.len() > on_two.len(),
        "node two lists its new thing"
    );
    let on_three = listed(three.base.clone()).await;
    assert_eq!(
        on_three.len(),
        on_two_now.len(),
        "node three sees what node two does"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_registered_through_two_nodes_at_once_succeeds_exactly_once() {
    let cluster = Cluster::new();
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    for round in 0..5 {
        let body =
            json!({"email": format!("race-{round}@example.com"), "password": "correct-horse"});
        let attempts: Vec<_> = [&one, &two, &one, &two]
            .iter()
            .map(|node| {
                let (url, body) = (format!("{}/users", node.base), body.clone());
                tokio::spawn(async move {
                    let (status, body, _) = call("POST", url, None, Some(body)).await;
                    (status, body)
                })
            })
            .collect();
        let mut answers = Vec::new();
        for attempt in attempts {
            answers.push(attempt.await.expect("attempt"));
        }
        let mut statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409], "round {round}: {answers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_writing_one_redis_feed_give_each_entry_once_in_order() {
    let redis = commands::test_services::redis_url();
    let feed_prefix = feeds_support::prefix();
    let mut cluster = Cluster::new();
    cluster.env.push(("FF_FEEDS".into(), redis.clone()));
    cluster
        .env
        .push(("FF_FEEDS_PREFIX".into(), feed_prefix.clone()));
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let creates: Vec<_> = (0..20)
        .map(|n| {
            let base = if n % 2 == 0 {
                one.base.clone()
            } else {
                two.base.clone()
            };
            let token = token.clone();
            tokio::spawn(async move {
                call(
                    "POST",
                    format!("{base}/things"),
                    Some(&token),
                    Some(json!({})),
                )
                .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for create in creates {
        let (status, _, id) = create.await.expect("create");
        assert_eq!(status, 201);
        ids.push(id);
    }
    let stream = format!("{feed_prefix}mainflux.things");
    feeds_support::check_for("20 entries in the feed", || {
        let entries = feeds_support::consume(&redis, &stream, None);
        (entries.len() >= 20).then_some(())
    })
    .await;
    // Both nodes kept writing for a moment: still exactly one entry per thing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let entries = feeds_support::consume(&redis, &stream, Some("checker"));
    assert_eq!(entries.len(), 20, "{entries:?}");
    let positions: Vec<u64> = entries
        .iter()
        .map(|(id, _)| feeds_support::position(id))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in log order: {positions:?}"
    );
    let mut fed: Vec<String> = entries.iter().map(|(_, f)| f["id"].clone()).collect();
    fed.sort();
    ids.sort();
    assert_eq!(fed, ids);
    assert!(
        entries
            .iter()
            .all(|(_, f)| f["operation"] == "thing.create")
    );
    feeds_support::cleanup(&redis, &feed_prefix);
}

/// Two nodes setting one thing key at the same moment, by create and by key change:
/// exactly one succeeds and the other gets 409, every round (the key's claim in the log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thing_key_set_through_two_nodes_at_once_succeeds_exactly_once() {
    let cluster = Cluster::new();
    let (one, two) = (cluster.start("one"), cluster.start("two"));
    let token = user(&one.base, &two.base).await;
    let mut things = Vec::new();
    for (node, other) in [(&one, &two), (&two, &one)] {
        let url = format!("{}/things", node.base);
        let (status, _, thing) = call("POST", url, Some(&token), Some(json!({}))).await;
        assert_eq!(status, 201);
        let on_other = format!("{}/things/{thing}", other.base);
        until("the thing on the other node", 200, || {
            call("GET", on_other.clone(), Some(&token), None).map(|r| r.0)
        })
        .await;
        things.push(thing);
    }
    for round in 0..6 {
        let creates = [&one, &two].map(|node| ("POST", format!("{}/things", node.base)));
        let statuses = race(creates, &token).await;
        assert_eq!(statuses, [201, 409], "create, round {round}");

        let rekeys = [(&one, &things[0]), (&two, &things[1])]
            .map(|(node, thing)| ("PATCH", format!("{}/things/{thing}/key", node.base)));
        let statuses = race(rekeys, &token).await;
        assert_eq!(statuses, [200, 409], "key change, round {round}");
    }
}

/// Sends every request with one fresh key at once; the sorted statuses.
async fn race(requests: [(&'static str, String); 2], token: &str) -> Vec<u16> {
    let body = json!({"key": format!("key-{}", Uuid::new_v4())});
    let attempts: Vec<_> = requests
        .into_iter()
        .map(|(method, url)| {
            let (token, body) = (token.to_owned(), body.clone());
            tokio::spawn(async move { call(method, url, Some(&token), Some(body)).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        let (status, body, _) = attempt.await.expect("attempt");
        assert!(
            status != 409 || body.to_string().contains("thing key is already in use"),
            "{body}"
        );
        statuses.push(status);
    }
    statuses.sort_unstable();
    statuses
}
