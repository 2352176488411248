//! HTTP publishing end to end, through the same router as the REST API: the status of every
//! kind of request on `/channels/{id}/messages[/…]` and under `/http`, the payload limit,
//! and the normalized subtopic that reaches the bus. The rest of the message (publisher,
//! protocol, content type, payload, time), delivery, revocation and isolation:
//! `http_publish_delivery.rs`.

mod common;

use adapters::bus::ChannelFilter;
use axum::http::StatusCode;
use common::data::{
    assert_nothing_queued, channel_id, next_message, on_channel, publish, queued, thing_id,
};
use common::{Failures, TestApp, req, unknown_id};

/// Every publishing route exists twice: bare, and under Mainflux's `/http` prefix.
const PREFIXES: [&str; 2] = ["", "/http"];

struct Case {
    name: String,
    path: String,
    /// The `Authorization` value, if any.
    auth: Option<String>,
    expected: StatusCode,
}

fn case(name: &str, path: String, auth: Option<&str>, expected: StatusCode) -> Case {
    Case {
        name: name.to_owned(),
        path,
        auth: auth.map(str::to_owned),
        expected,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_table() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let dev = t.device(&a).await;
    // A thing of the same user that is not connected to `dev.channel`.
    let (_loose, loose_key) = t.keyed_thing(&a).await;
    // Another user's connected thing and channel.
    let other = t.device(&b).await;
    let mut all = t.subscribe(ChannelFilter::all()).await;

    let thing = |key: &str| format!("Thing {key}");
    let ok_auth = thing(&dev.key);
    let ok = Some(ok_auth.as_str());
    let unknown_key = thing(&common::fresh_key());
    let bearer = format!("Bearer {}", a.token);
    let thing_jwt = thing(&a.token);
    let c = &dev.channel;
    let upper = c.to_uppercase();
    let simple = c.replace('-', "");
    let long_ok = format!("/{}", "a".repeat(1024));
    let long_bad = format!("/{}", "a".repeat(1025));
    let long_parts = format!("/{}", "ab/".repeat(342)); // "ab.ab.…": 1025 bytes
    let long_escaped = format!("/{}", "%61".repeat(1025));

    let mut cases = Vec::new();
    for prefix in PREFIXES {
        let at = |tail: &str| format!("{prefix}/channels/{c}/messages{tail}");
        let on = |channel: &str, tail: &str| format!("{prefix}/channels/{channel}/messages{tail}");
        cases.extend([
            // Accepted: both key forms, with and without subtopic or query.
            case("Thing key", at(""), ok, StatusCode::ACCEPTED),
            case("raw key", at(""), Some(&dev.key), StatusCode::ACCEPTED),
            case("subtopic", at("/a/b"), ok, StatusCode::ACCEPTED),
            case("query", at("/a?x=1"), ok, StatusCode::ACCEPTED),
            case("1024-byte subtopic", at(&long_ok), ok, StatusCode::ACCEPTED),
            // 401: no usable thing key.
            case("no header", at(""), None, StatusCode::UNAUTHORIZED),
            case("empty header", at(""), Some(""), StatusCode::UNAUTHORIZED),
            case(
                "Thing, no key",
                at(""),
                Some("Thing "),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "unknown key",
                at(""),
                Some(&unknown_key),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "unknown raw key",
                at(""),
                Some(&common::fresh_key()),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "Bearer user JWT",
                at(""),
                Some(&bearer),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "raw user JWT",
                at(""),
                Some(&a.token),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "Thing user JWT",
                at(""),
                Some(&thing_jwt),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "Basic",
                at(""),
                Some("Basic dXNlcjpwdw=="),
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "no key, id abc",
                on("abc", ""),
                None,
                StatusCode::UNAUTHORIZED,
            ),
            case(
                "bad key, id abc",
                on("abc", ""),
                Some(&unknown_key),
                StatusCode::UNAUTHORIZED,
            ),
            // 403: a valid key, but not for this channel.
            case(
                "not connected",
                at(""),
                Some(&thing(&loose_key)),
                StatusCode::FORBIDDEN,
            ),
            case(
                "other user's thing",
                at(""),
                Some(&thing(&other.key)),
                StatusCode::FORBIDDEN,
            ),
            case(
                "other user's channel",
                on(&other.channel, ""),
                ok,
                StatusCode::FORBIDDEN,
            ),
            case(
                "unknown channel",
                on(&unknown_id(), ""),
                ok,
                StatusCode::FORBIDDEN,
            ),
            case("id abc", on("abc", ""), ok, StatusCode::FORBIDDEN),
            case(
                "id abc, subtopic",
                on("abc", "/x"),
                ok,
                StatusCode::FORBIDDEN,
            ),
            case("uppercase id", on(&upper, ""), ok, StatusCode::FORBIDDEN),
            case(
                "unhyphenated id",
                on(&simple, ""),
                ok,
                StatusCode::FORBIDDEN,
            ),
            // 400: malformed channel id.
            case("id a.b", on("a.b", ""), ok, StatusCode::BAD_REQUEST),
            case("id a%20b", on("a%20b", ""), ok, StatusCode::BAD_REQUEST),
            case("id a+b", on("a+b", ""), ok, StatusCode::BAD_REQUEST),
            case("id a%2Db", on("a%2Db", ""), ok, StatusCode::BAD_REQUEST),
            case(
                "id a.b, no key",
                on("a.b", ""),
                None,
                StatusCode::BAD_REQUEST,
            ),
            // 400: malformed subtopic.
            case("a*b", at("/a*b"), ok, StatusCode::BAD_REQUEST),
            case("a>", at("/a%3E"), ok, StatusCode::BAD_REQUEST),
            case("a+", at("/x/a+"), ok, StatusCode::BAD_REQUEST),
            case("a#", at("/a%23"), ok, StatusCode::BAD_REQUEST),
            case("*", at("/*"), ok, StatusCode::BAD_REQUEST),
            case("+", at("/+"), ok, StatusCode::BAD_REQUEST),
            case("#", at("/%23"), ok, StatusCode::BAD_REQUEST),
            case(">", at("/%3E"), ok, StatusCode::BAD_REQUEST),
            case("escaped *", at("/%2A"), ok, StatusCode::BAD_REQUEST),
            case("inner +", at("/a/%2B/b"), ok, StatusCode::BAD_REQUEST),
            case("last *", at("/a/b/*"), ok, StatusCode::BAD_REQUEST),
            case("%zz", at("/%zz"), ok, StatusCode::BAD_REQUEST),
            case("truncated %2", at("/a%2"), ok, StatusCode::BAD_REQUEST),
            case("lone %", at("/%"), ok, StatusCode::BAD_REQUEST),
            case("non-UTF-8 %ff", at("/%ff"), ok, StatusCode::BAD_REQUEST),
            case("escaped %", at("/%25"), ok, StatusCode::BAD_REQUEST),
            case("space", at("/a%20b"), ok, StatusCode::BAD_REQUEST),
            case("tab", at("/a%09b"), ok, StatusCode::BAD_REQUEST),
            case(
                "1025-byte subtopic",
                at(&long_bad),
                ok,
                StatusCode::BAD_REQUEST,
            ),
            case(
                "1025 bytes in parts",
                at(&long_parts),
                ok,
                StatusCode::BAD_REQUEST,
            ),
            case(
                "1025 escaped bytes",
                at(&long_escaped),
                ok,
                StatusCode::BAD_REQUEST,
            ),
            case(
                "bad subtopic, no key",
                at("/a*b"),
                None,
                StatusCode::BAD_REQUEST,
            ),
        ]);
    }

    let mut failures = Failures::default();
    for case in &cases {
        let label = format!("{} (POST {})", case.name, truncate(&case.path));
        let mut request = req("POST", &case.path).raw(Some("application/json"), "{}");
        if let Some(auth) = &case.auth {
            request = request.auth(auth);
        }
        let before = t.published();
        let resp = t.send(request).await;
        failures.check(&label, &resp, case.expected);
        let accepted = u64::from(case.expected == StatusCode::ACCEPTED);
        let published = t.published() - before;
        if published != accepted {
            failures.push(format!("{label}: {published} message(s) reached the bus"));
        }
        match (queued(&mut all), accepted) {
            (Some(m), 1) if m.channel != channel_id(c) || m.publisher != thing_id(&dev.thing) => {
                failures.push(format!("{label}: wrong channel or publisher: {m:?}"));
            }
            (Some(_), 1) => {}
            (None, 1) => failures.push(format!("{label}: accepted, but no subscriber got it")),
            (Some(m), _) => failures.push(format!("{label}: refused, but published {m:?}")),
            (None, _) => {}
        }
        if case.expected == StatusCode::ACCEPTED && !resp.body.is_empty() {
            failures.push(format!("{label}: 202 with a body {:?}", resp.body));
        }
    }
    failures.assert_none();
    t.finish().await;
}

fn truncate(path: &str) -> String {
    match path.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &path[..at]),
        None => path.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn payload_limit_is_413_with_a_json_error() {
    const LIMIT: usize = 1024;
    let t = TestApp::start_with(|c| c.max_payload = LIMIT).await;
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    let mut sub = t.subscribe(on_channel(&dev.channel)).await;

    let mut failures = Failures::default();
    for prefix in PREFIXES {
        let path = format!("{prefix}{}", dev.path("/big"));
        let at_limit = vec![b'x'; LIMIT];
        let resp = t
            .send(publish(&path, &dev.key).raw(None, at_limit.clone()))
            .await;
        failures.check(
            &format!("{path}: exactly {LIMIT} bytes"),
            &resp,
            StatusCode::ACCEPTED,
        );
        if resp.status == StatusCode::ACCEPTED {
            let message = next_message(&mut sub, "payload at the limit").await;
            assert_eq!(&message.payload[..], &at_limit[..], "{path}");
        }
        for (what, with_length) in [("no Content-Length", false), ("Content-Length", true)] {
            let over = vec![b'x'; LIMIT + 1];
            let mut request = publish(&path, &dev.key).raw(None, over);
            if with_length {
                request = request.header("content-length", &(LIMIT + 1).to_string());
            }
            let before = t.published();
            let resp = t.send(request).await;
            failures.check(
                &format!("{path}: {} bytes, {what}", LIMIT + 1),
                &resp,
                StatusCode::PAYLOAD_TOO_LARGE,
            );
            assert_eq!(
                t.published(),
                before,
                "{path}: an oversized payload was published"
            );
        }
        // Far over the limit, and unauthenticated: still refused, nothing published.
        let resp = t
            .send(req("POST", &path).raw(None, vec![0u8; 64 * LIMIT]))
            .await;
        if resp.status.is_success() {
            failures.push(format!("{path}: unauthenticated 64 KiB accepted"));
        }
    }
    assert_nothing_queued(&mut sub, "after the oversized payloads");
    failures.assert_none();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subtopics_reach_the_bus_normalized() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    let mut sub = t.subscribe(on_channel(&dev.channel)).await;
    let cases: [(&str, Option<&str>); 12] = [
        ("", None),
        ("//", None),
        ("/a///b", Some("a.b")),
        ("/room%2F1/temp", Some("room.1.temp")),
        ("/a/b/", Some("a.b")),
        ("/a.b/c", Some("a.b.c")),
        ("/a..b", Some("a.b")),
        ("/%2Fa%2F%2Fb%2F", Some("a.b")),
        ("/%61%62", Some("ab")),
        ("/caf%C3%A9/d%C3%A9j%C3%A0", Some("café.déjà")),
        ("/a/b?c=d/e", Some("a.b")),
        ("/Upper_case-9", Some("Upper_case-9")),
    ];
    let mut failures = Failures::default();
    for prefix in PREFIXES {
        for (tail, expected) in cases {
            let path = format!("{prefix}{}", dev.path(tail));
            let resp = t.send(publish(&path, &dev.key)).await;
            failures.check(&path, &resp, StatusCode::ACCEPTED);
            if resp.status != StatusCode::ACCEPTED {
                continue;
            }
            let message = next_message(&mut sub, &path).await;
            let got = message.subtopic.as_ref().map(|s| s.as_str());
            if got != expected {
                failures.push(format!("{path}: subtopic {got:?}, expected {expected:?}"));
            }
        }
    }
    assert_nothing_queued(&mut sub, "one message per publish");
    failures.assert_none();
    t.finish().await;
}

/// `/messages/` is the channel itself, as `/messages` and `/messages//` are (Mainflux's
/// `/channels/{id}/messages(/…)?` pattern accepts it; the subtopic normalizes to nothing).
#[tokio::test(flavor = "multi_thread")]
async fn a_trailing_slash_publishes_without_subtopic() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let dev = t.device(&a).await;
    let mut sub = t.subscribe(on_channel(&dev.channel)).await;
    let mut failures = Failures::default();
    for prefix in PREFIXES {
        let path = format!("{prefix}{}", dev.path("/"));
        let resp = t.send(publish(&path, &dev.key)).await;
        failures.check(&path, &resp, StatusCode::ACCEPTED);
        if resp.status == StatusCode::ACCEPTED {
            let message = next_message(&mut sub, &path).await;
            if let Some(subtopic) = &message.subtopic {
                failures.push(format!("{path}: subtopic {subtopic:?}, expected none"));
            }
        }
    }
    assert_nothing_queued(&mut sub, "one message per publish");
    failures.assert_none();
    t.finish().await;
}
