//! End to end: publish SenML over HTTP, let the telemetry writer store it, read it back
//! through `GET /channels/{id}/messages`: JSON and CBOR, base fields, relative times, RFC
//! 8428's examples. Opaque payloads, isolation and restarts: `http_read_store.rs`; filters:
//! `http_read_filters.rs`; who may read: `http_read_auth.rs`.

mod common;

use std::sync::atomic::Ordering;

use ciborium::Value as Cbor;
use common::data::Device;
use common::reading::{messages, now_secs, send_as, senml_json, time_of};
use common::{TestApp, User};
use serde_json::{Value, json};

/// Float seconds from two clocks (the test's, the server's `created`) may differ by rounding.
const EPS: f64 = 1e-3;

async fn owner_and_device(t: &TestApp, email: &str) -> (User, Device) {
    let owner = t.user(email).await;
    let device = t.device(&owner).await;
    (owner, device)
}

/// A pack with every kind of value, base name/time/unit, a sum and an update time.
fn rich_pack() -> Value {
    json!([
        {"bn": "urn:dev:ow:10e2073a01080063:", "bt": 1.7e9, "bu": "Cel",
         "n": "temp", "v": 21.5, "s": 100, "ut": 60},
        {"n": "temp", "t": 10, "v": 22},
        {"n": "label", "t": 20, "vs": "kitchen"},
        {"n": "open", "t": 30, "vb": true},
        {"n": "blob", "t": 40, "vd": "aGk"},
        {"n": "hum", "u": "%RH", "t": 50, "v": 40}
    ])
}

/// `rich_pack` as read back, newest first, for `device`'s thing and channel.
fn rich_expected(device: &Device, subtopic: &str) -> Vec<Value> {
    let bn = "urn:dev:ow:10e2073a01080063:";
    let rows = [
        (50.0, "hum", "%RH", json!({"value": 40.0})),
        (40.0, "blob", "Cel", json!({"data_value": "aGk"})),
        (30.0, "open", "Cel", json!({"bool_value": true})),
        (20.0, "label", "Cel", json!({"string_value": "kitchen"})),
        (10.0, "temp", "Cel", json!({"value": 22.0})),
        (
            0.0,
            "temp",
            "Cel",
            json!({"value": 21.5, "sum": 100.0, "update_time": 60.0}),
        ),
    ];
    rows.into_iter()
        .map(|(t, name, unit, extra)| {
            let mut m = json!({
                "channel": device.channel,
                "subtopic": subtopic,
                "publisher": device.thing,
                "protocol": "http",
                "name": format!("{bn}{name}"),
                "unit": unit,
                "time": 1.7e9 + t,
            });
            for (k, v) in extra.as_object().expect("object") {
                m[k] = v.clone();
            }
            m
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn senml_json_pack_is_one_message_per_measurement_with_mainflux_fields() {
    let t = TestApp::start().await;
    let (owner, d) = owner_and_device(&t, "json@example.com").await;
    t.publish_ok(senml_json(&d.path("/room/1"), &d.key, &rich_pack()))
        .await;

    let page = t.read_until(&d.channel, "", &owner.token, 6).await;
    assert_eq!(page["offset"], 0);
    assert_eq!(page["limit"], 10);
    assert_eq!(messages(&page), rich_expected(&d, "room.1"));

    // The body is Mainflux's page, keys in Mainflux's order.
    let raw = t
        .try_read(&d.channel, "", Some(&format!("Bearer {}", owner.token)))
        .await;
    let text = String::from_utf8_lossy(&raw.body).into_owned();
    assert!(
        text.starts_with(r#"{"total":6,"offset":0,"limit":10,"messages":[{"#),
        "{text}"
    );
    let content_type = raw.headers.get("content-type").expect("content type");
    assert_eq!(content_type, "application/json");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relative_times_resolve_against_reception_time() {
    let t = TestApp::start().await;
    let (owner, d) = owner_and_device(&t, "rel@example.com").await;
    let pack = json!([
        {"bn": "dev:", "n": "past", "t": -5, "v": 1},
        {"n": "now", "v": 2},
        {"n": "future", "t": 3.5, "v": 3}
    ]);
    let before = now_secs();
    t.publish_ok(senml_json(&d.path(""), &d.key, &pack)).await;
    let after = now_secs();

    let page = t.read_until(&d.channel, "", &owner.token, 3).await;
    let got = messages(&page);
    let names: Vec<&str> = got.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["dev:future", "dev:now", "dev:past"]);
    for (message, offset) in got.iter().zip([3.5, 0.0, -5.0]) {
        let time = time_of(message);
        assert!(
            before + offset - EPS <= time && time <= after + offset + EPS,
            "{message} not within [{before}, {after}] {offset:+} s"
        );
    }
    // All three share the one reception time.
    let now = time_of(&got[1]);
    assert!((time_of(&got[0]) - (now + 3.5)).abs() < EPS);
    assert!((time_of(&got[2]) - (now - 5.0)).abs() < EPS);
    assert!(got.iter().all(|m| m.get("subtopic").is_none()));

    // A time read back is a bound that selects exactly its record: `from` inclusive, `to`
    // exclusive, even for reception times with nanosecond fractions.
    let auth = format!("Bearer {}", owner.token);
    for (i, message) in got.iter().enumerate() {
        let time = time_of(message);
        for (query, expected) in [
            (format!("from={time}"), &got[..=i]),
            (format!("to={time}"), &got[i + 1..]),
            (format!("from={time}&to={time}"), &got[..0]),
        ] {
            let page = t.read(&d.channel, &query, &auth).await;
            assert_eq!(messages(&page), expected, "?{query}");
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn base_value_and_base_sum_carry_over_and_the_http_prefix_stores_alike() {
    let t = TestApp::start().await;
    let (owner, d) = owner_and_device(&t, "base@example.com").await;
    let pack = json!([
        {"bn": "m:", "bv": 100, "bs": 10, "n": "a", "v": 1},
        {"n": "b", "v": -1, "s": 5},
        {"n": "c", "vs": "x"},
        {"n": "d", "vd": "aGk="},
        {"bs": 0, "n": "e", "s": 2}
    ]);
    let path = format!("/http/channels/{}/messages/via/http", d.channel);
    t.publish_ok(senml_json(&path, &d.key, &pack)).await;

    // One reception time for all: ties read back latest record first.
    let page = t.read_until(&d.channel, "", &owner.token, 5).await;
    let got = messages(&page);
    let time = time_of(&got[0]);
    let expected: Vec<Value> = [
        ("e", json!({"sum": 2.0})),
        ("d", json!({"data_value": "aGk", "sum": 10.0})),
        ("c", json!({"string_value": "x", "sum": 10.0})),
        ("b", json!({"value": 99.0, "sum": 15.0})),
        ("a", json!({"value": 101.0, "sum": 10.0})),
    ]
    .into_iter()
    .map(|(name, extra)| {
        let mut m = json!({
            "channel": d.channel, "subtopic": "via.http", "publisher": d.thing,
            "protocol": "http", "name": format!("m:{name}"), "time": time,
        });
        for (k, v) in extra.as_object().expect("object") {
            m[k] = v.clone();
        }
        m
    })
    .collect();
    assert_eq!(got, expected);
    t.finish().await;
}

/// RFC 8428 §5.1.2, "multiple data points" (absolute `bt`, negative `t`, `bver` 5).
const RFC_5_1_2: &str = include_str!("../adapters/tests/vectors/rfc8428-5.1.2.json");

/// RFC 8428 §6: the same pack in CBOR, byte for byte (195 bytes).
const RFC_6_CBOR_HEX: &str = "87a721781b75726e3a6465763a6f773a31306532303733613031303830303\
    63a22fb41d303a15b00106223614120050067766f6c7461676501615602fb\
    405e066666666666a3006763757272656e74062402fb3ff3333333333333\
    a3006763757272656e74062302fb3ff4cccccccccccda300676375727265\
    6e74062202fb3ff6666666666666a3006763757272656e74062102f93e00\
    a3006763757272656e74062002fb3ff999999999999aa300676375727265\
    6e74060002fb3ffb333333333333";

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// (name, unit, time, value) of §5.1.2 read back newest first. Voltage and the last current
/// share `bt`; the current came later in the pack, so it is the newer of the two.
fn rfc_5_1_2_expected() -> Vec<(String, String, f64, f64)> {
    let bt = 1.276020076001e+09;
    let current = |dt: f64, v: f64| {
        let name = "urn:dev:ow:10e2073a0108006:current".to_owned();
        (name, "A".to_owned(), bt + dt, v)
    };
    let voltage = (
        "urn:dev:ow:10e2073a0108006:voltage".to_owned(),
        "V".to_owned(),
        bt,
        120.1,
    );
    vec![
        current(0.0, 1.7),
        voltage,
        current(-1.0, 1.6),
        current(-2.0, 1.5),
        current(-3.0, 1.4),
        current(-4.0, 1.3),
        current(-5.0, 1.2),
    ]
}

fn summary(page: &Value) -> Vec<(String, String, f64, f64)> {
    messages(page)
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["unit"].as_str().expect("unit").to_owned(),
                time_of(m),
                m["value"].as_f64().expect("value"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc8428_5_1_2_example_reads_back_in_json_and_cbor() {
    let t = TestApp::start().await;
    let (owner, d) = owner_and_device(&t, "rfc@example.com").await;
    let json_pack: Value = serde_json::from_str(RFC_5_1_2).expect("RFC JSON");
    t.publish_ok(senml_json(&d.path("/json"), &d.key, &json_pack))
        .await;
    let cbor = hex(RFC_6_CBOR_HEX);
    assert_eq!(cbor.len(), 195);
    t.publish_ok(send_as(
        &d.path("/cbor"),
        &d.key,
        Some("application/senml+cbor"),
        cbor,
    ))
    .await;
    t.written(14).await;

    for subtopic in ["json", "cbor"] {
        let page = t
            .read_until(&d.channel, &format!("subtopic={subtopic}"), &owner.token, 7)
            .await;
        assert_eq!(summary(&page), rfc_5_1_2_expected(), "{subtopic}");
    }
    t.finish().await;
}

/// `rich_pack` with CBOR's integer labels (RFC 8428 Table 4) and `vd` as raw bytes.
fn rich_pack_cbor() -> Vec<u8> {
    let int = |i: i64| Cbor::Integer(i.into());
    let text = |s: &str| Cbor::Text(s.to_owned());
    let record =
        |pairs: Vec<(i64, Cbor)>| Cbor::Map(pairs.into_iter().map(|(k, v)| (int(k), v)).collect());
    let pack = Cbor::Array(vec![
        record(vec![
            (-2, text("urn:dev:ow:10e2073a01080063:")),
            (-3, Cbor::Float(1.7e9)),
            (-4, text("Cel")),
            (0, text("temp")),
            (2, Cbor::Float(21.5)),
            (5, int(100)),
            (7, int(60)),
        ]),
        record(vec![(0, text("temp")), (6, int(10)), (2, int(22))]),
        record(vec![(0, text("label")), (6, int(20)), (3, text("kitchen"))]),
        record(vec![(0, text("open")), (6, int(30)), (4, Cbor::Bool(true))]),
        record(vec![
            (0, text("blob")),
            (6, int(40)),
            (8, Cbor::Bytes(b"hi".to_vec())),
        ]),
        record(vec![
            (0, text("hum")),
            (1, text("%RH")),
            (6, Cbor::Float(50.0)),
            (2, int(40)),
        ]),
    ]);
    let mut bytes = Vec::new();
    ciborium::into_writer(&pack, &mut bytes).expect("CBOR encodes");
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn senml_cbor_reads_back_as_the_json_equivalent() {
    let t = TestApp::start().await;
    let (owner, d) = owner_and_device(&t, "cbor@example.com").await;
    t.publish_ok(send_as(
        &d.path("/cbor/in"),
        &d.key,
        Some("application/senml+cbor"),
        rich_pack_cbor(),
    ))
    .await;
    t.publish_ok(senml_json(&d.path("/json/in"), &d.key, &rich_pack()))
        .await;
    t.written(12).await;

    let cbor = t
        .read_until(&d.channel, "subtopic=cbor.in", &owner.token, 6)
        .await;
    assert_eq!(messages(&cbor), rich_expected(&d, "cbor.in"));
    let json = t
        .read_until(&d.channel, "subtopic=json.in", &owner.token, 6)
        .await;
    assert_eq!(messages(&json), rich_expected(&d, "json.in"));
    assert_eq!(t.app.writer_stats.invalid_senml.load(Ordering::Relaxed), 0);
    t.finish().await;
}
