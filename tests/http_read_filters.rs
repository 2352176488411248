//! The reader's paging and filters (Mainflux 0.12 readers spec, with the choices written in
//! `adapters/src/telemetry/query.rs`), end to end over data published through the adapters,
//! and the 400s for queries it refuses.

mod common;

use adapters::message::{ContentType, Protocol};
use adapters::pipeline::Inbound;
use axum::body::Bytes;
use axum::http::StatusCode;
use common::data::{channel_id, thing_id};
use common::reading::senml_json;
use common::{Failures, TestApp};
use serde_json::{Value, json};

/// Base time of every record: absolute (above 2**28), so each record's time is `T0 + i`.
const T0: f64 = 1_600_000_000.0;

struct Fixture {
    t: TestApp,
    auth: String,
    channel: String,
    first: String,
    second: String,
}

/// Eleven records on one channel, record `i` at `T0 + i`:
///
/// | i  | publisher | subtopic | protocol | name   | value          |
/// |----|-----------|----------|----------|--------|----------------|
/// | 0  | first     | –        | http     | temp   | v 10           |
/// | 1  | first     | –        | http     | temp   | v 20           |
/// | 2  | first     | –        | http     | temp   | v 30           |
/// | 3  | first     | –        | http     | status | vs "ok"        |
/// | 4  | first     | –        | http     | door   | vb true        |
/// | 5  | first     | –        | http     | door   | vb false       |
/// | 6  | first     | –        | http     | blob   | vd "AQI"       |
/// | 7  | first     | a.b      | http     | temp   | v 40           |
/// | 8  | second    | a.b      | http     | temp   | v 50           |
/// | 9  | second    | x        | http     | temp   | v 0            |
/// | 10 | second    | –        | mqtt     | temp   | v 60           |
async fn fixture() -> Fixture {
    let t = TestApp::start().await;
    let owner = t.user("filters@example.com").await;
    let first = t.device(&owner).await;
    let (second, second_key) = t.keyed_thing(&owner).await;
    t.connect(&owner.token, &first.channel, &second).await;
    let path = |tail: &str| first.path(tail);

    let pack = json!([
        {"bn": "", "bt": T0, "n": "temp", "v": 10},
        {"n": "temp", "t": 1, "v": 20},
        {"n": "temp", "t": 2, "v": 30},
        {"n": "status", "t": 3, "vs": "ok"},
        {"n": "door", "t": 4, "vb": true},
        {"n": "door", "t": 5, "vb": false},
        {"n": "blob", "t": 6, "vd": "AQI"}
    ]);
    t.publish_ok(senml_json(&path(""), &first.key, &pack)).await;
    let one = |i: u32, v: u32| json!([{"bt": T0 + f64::from(i), "n": "temp", "v": v}]);
    t.publish_ok(senml_json(&path("/a/b"), &first.key, &one(7, 40)))
        .await;
    t.publish_ok(senml_json(&path("/a/b"), &second_key, &one(8, 50)))
        .await;
    t.publish_ok(senml_json(&path("/x"), &second_key, &one(9, 0)))
        .await;
    // MQTT is not served here; its adapter would call the same pipeline this way.
    let inbound = Inbound {
        channel: channel_id(&first.channel),
        subtopic: None,
        protocol: Protocol::Mqtt,
        content_type: Some(ContentType::SenmlJson),
        payload: Bytes::from(one(10, 60).to_string()),
        properties: None,
    };
    t.app
        .pipeline
        .publish_as(thing_id(&second), inbound)
        .expect("MQTT-style publish");
    t.written(11).await;
    Fixture {
        t,
        auth: format!("Bearer {}", owner.token),
        channel: first.channel.clone(),
        first: first.thing.clone(),
        second,
    }
}

/// The `i`s of a page's records (their `time - T0`), in page order.
fn indexes(page: &Value) -> Vec<u32> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| (m["time"].as_f64().expect("time") - T0) as u32)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_paging_select_the_right_records_newest_first() {
    let f = fixture().await;
    let (first, second) = (f.first.as_str(), f.second.as_str());
    let unknown = common::unknown_id();
    let all: Vec<u32> = (0..=10).rev().collect();
    // (query, expected indexes newest first, expected total); limit is 10 unless given.
    let cases: Vec<(String, Vec<u32>, u64)> = vec![
        ("".into(), all[..10].to_vec(), 11),
        ("limit=100".into(), all.clone(), 11),
        ("limit=1".into(), vec![10], 11),
        ("offset=2&limit=3".into(), vec![8, 7, 6], 11),
        ("offset=9".into(), vec![1, 0], 11),
        ("offset=11".into(), vec![], 11),
        ("offset=500&limit=100".into(), vec![], 11),
        // subtopic: exact, normalized like a publish topic
        ("subtopic=a.b".into(), vec![8, 7], 2),
        ("subtopic=a/b".into(), vec![8, 7], 2),
        ("subtopic=a%2Fb".into(), vec![8, 7], 2),
        ("subtopic=/a//b/".into(), vec![8, 7], 2),
        ("subtopic=x".into(), vec![9], 1),
        ("subtopic=a".into(), vec![], 0),
        ("subtopic=".into(), all[..10].to_vec(), 11),
        // publisher
        (format!("publisher={second}"), vec![10, 9, 8], 3),
        (
            format!("publisher={first}&limit=100"),
            (0..=7).rev().collect(),
            8,
        ),
        (format!("publisher={unknown}"), vec![], 0),
        // name
        ("name=temp".into(), vec![10, 9, 8, 7, 2, 1, 0], 7),
        ("name=door".into(), vec![5, 4], 2),
        ("name=status".into(), vec![3], 1),
        ("name=tem".into(), vec![], 0),
        // protocol
        ("protocol=mqtt".into(), vec![10], 1),
        (
            "protocol=http&limit=100".into(),
            (0..=9).rev().collect(),
            10,
        ),
        ("protocol=coap".into(), vec![], 0),
        // v, with and without a comparator (record on the left: gt is value > v)
        ("v=20".into(), vec![1], 1),
        ("v=20.0".into(), vec![1], 1),
        ("v=0".into(), vec![9], 1),
        ("v=20&comparator=eq".into(), vec![1], 1),
        ("v=20&comparator=gt".into(), vec![10, 8, 7, 2], 4),
        ("v=20&comparator=ge".into(), vec![10, 8, 7, 2, 1], 5),
        ("v=20&comparator=lt".into(), vec![9, 0], 2),
        ("v=20&comparator=le".into(), vec![9, 1, 0], 3),
        ("comparator=gt".into(), all[..10].to_vec(), 11),
        ("v=25".into(), vec![], 0),
        // vs, vb (Go's ParseBool spellings), vd
        ("vs=ok".into(), vec![3], 1),
        ("vs=OK".into(), vec![], 0),
        ("vb=true".into(), vec![4], 1),
        ("vb=false".into(), vec![5], 1),
        ("vb=1".into(), vec![4], 1),
        ("vb=F".into(), vec![5], 1),
        ("vd=AQI".into(), vec![6], 1),
        ("vd=AQ".into(), vec![], 0),
        // from inclusive, to exclusive, in seconds
        (
            format!("from={}&to={}", T0 + 2.0, T0 + 5.0),
            vec![4, 3, 2],
            3,
        ),
        (format!("from={}", T0 + 9.0), vec![10, 9], 2),
        (format!("from={}", T0 + 8.5), vec![10, 9], 2),
        (format!("to={}", T0 + 1.0), vec![0], 1),
        (format!("to={}", T0 + 0.5), vec![0], 1),
        (format!("from={0}&to={0}", T0 + 3.0), vec![], 0),
        (format!("from={}", T0 + 11.0), vec![], 0),
        ("from=0&limit=100".into(), all.clone(), 11),
        // combinations, and a parameter the reader does not know
        (
            format!("name=temp&publisher={first}&subtopic=a.b"),
            vec![7],
            1,
        ),
        (
            "name=temp&v=30&comparator=ge&limit=2".into(),
            vec![10, 8],
            4,
        ),
        ("name=temp&v=30&comparator=ge&offset=3".into(), vec![2], 4),
        (
            "protocol=http&subtopic=a/b&publisher=".into(),
            vec![8, 7],
            2,
        ),
        ("format=messages&limit=2".into(), vec![10, 9], 11),
    ];

    let mut failures = Failures::default();
    for (query, expected, total) in cases {
        let resp = f.t.try_read(&f.channel, &query, Some(&f.auth)).await;
        if resp.status != StatusCode::OK {
            failures.check(&format!("?{query}"), &resp, StatusCode::OK);
            continue;
        }
        let page = resp.json();
        let limit = query
            .split('&')
            .find_map(|p| p.strip_prefix("limit="))
            .map_or(10, |l| l.parse().unwrap());
        let offset = query
            .split('&')
            .find_map(|p| p.strip_prefix("offset="))
            .map_or(0, |o| o.parse().unwrap());
        let want = json!({"total": total, "offset": offset, "limit": limit});
        let got = json!({"total": page["total"], "offset": page["offset"], "limit": page["limit"]});
        if got != want || indexes(&page) != expected {
            failures.push(format!(
                "?{query}: expected {want} {expected:?}, got {got} {:?}",
                indexes(&page)
            ));
        }
    }
    failures.assert_none();
    f.t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_queries_are_400_with_a_json_error() {
    let f = fixture().await;
    let cases = [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=1.5",
        "limit=ten",
        "limit=",
        "offset=-1",
        "offset=abc",
        "limit=10&limit=20",
        "offset=1&offset=1",
        "name=a&name=b",
        "from=10&to=5",
        "from=abc",
        "to=abc",
        "from=inf",
        "v=abc",
        "v=NaN",
        "v=inf",
        "v=",
        "vb=maybe",
        "vb=",
        "comparator=ne&v=1",
        "publisher=not-a-uuid",
        "publisher=123",
        "subtopic=a*b",
        "subtopic=a%3Eb",
        "subtopic=a%2A%2Ab",
        "subtopic=%ZZ",
        "name=%FF",
    ];
    let mut failures = Failures::default();
    for query in cases {
        let resp = f.t.try_read(&f.channel, query, Some(&f.auth)).await;
        failures.check(&format!("?{query}"), &resp, StatusCode::BAD_REQUEST);
        let body = String::from_utf8_lossy(&resp.body);
        if body.contains(&f.first) || body.contains("\"messages\"") {
            failures.push(format!("?{query}: an error shows data: {body}"));
        }
    }
    failures.assert_none();
    f.t.finish().await;
}
