//! `connected=false` on `GET /channels/{id}/things` and `GET /things/{id}/channels` (Mainflux
//! 0.12): the complement, the owner's things (channels) NOT connected, never another user's;
//! `connected=true` or absent: the connected set; anything else: 400.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{Failures, TestApp, req};
use serde_json::{Value, json};

fn set(page: &Value, field: &str) -> BTreeSet<String> {
    common::ids(page, field).into_iter().collect()
}

fn of(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn connected_false_lists_the_owners_unconnected_rest() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let mut things = Vec::new();
    for i in 0..4 {
        things.push(
            t.thing(&a.token, json!({ "name": format!("thing-{i}") }))
                .await,
        );
    }
    let mut channels = Vec::new();
    for i in 0..3 {
        channels.push(
            t.channel(&a.token, json!({ "name": format!("chan-{i}") }))
                .await,
        );
    }
    let (t0, t1, t2, t3) = (&things[0], &things[1], &things[2], &things[3]);
    let (c0, c1, c2) = (&channels[0], &channels[1], &channels[2]);
    // Another user's thing and channel, connected to each other: never in a's answers.
    let tb = t.thing(&b.token, json!({"name": "thing-b"})).await;
    let cb = t.channel(&b.token, json!({"name": "chan-b"})).await;
    t.connect(&b.token, &cb, &tb).await;
    t.connect(&a.token, c0, t0).await;
    t.connect(&a.token, c0, t1).await;
    t.connect(&a.token, c1, t0).await;

    // (path, query, expected ids)
    let things_of = |c: &String| format!("/channels/{c}/things");
    let channels_of = |t: &String| format!("/things/{t}/channels");
    let cases = [
        (things_of(c0), "connected=false", "things", of(&[t2, t3])),
        (things_of(c0), "connected=true", "things", of(&[t0, t1])),
        (things_of(c0), "", "things", of(&[t0, t1])),
        (
            things_of(c2),
            "connected=false",
            "things",
            of(&[t0, t1, t2, t3]),
        ),
        (things_of(c2), "connected=true", "things", of(&[])),
        (
            things_of(c0),
            "connected=false&name=thing-3",
            "things",
            of(&[t3]),
        ),
        (channels_of(t0), "connected=false", "channels", of(&[c2])),
        (channels_of(t0), "connected=true", "channels", of(&[c0, c1])),
        (
            channels_of(t3),
            "connected=false",
            "channels",
            of(&[c0, c1, c2]),
        ),
        (channels_of(t3), "", "channels", of(&[])),
    ];
    for (path, query, field, want) in cases {
        let page = t.get(&a.token, &format!("{path}?{query}")).await;
        assert_eq!(set(&page, field), want, "{path}?{query}");
        assert_eq!(page["total"], want.len(), "{path}?{query}: total");
    }
    // Paging runs over the complement, with its total.
    let page = t
        .get(
            &a.token,
            &format!("{}?connected=false&limit=1&dir=asc", things_of(c2)),
        )
        .await;
    assert_eq!(
        (page["total"].clone(), set(&page, "things").len()),
        (json!(4), 1)
    );

    // b's complement is b's own: a's rows never appear, a's channel is not b's to ask about.
    let page = t
        .get(&b.token, &format!("{}?connected=false", things_of(&cb)))
        .await;
    assert_eq!(set(&page, "things"), of(&[]), "b's only thing is connected");
    let b2 = t.thing(&b.token, json!({"name": "thing-b2"})).await;
    let page = t
        .get(&b.token, &format!("{}?connected=false", things_of(&cb)))
        .await;
    assert_eq!(set(&page, "things"), of(&[&b2]));
    let page = t
        .get(&b.token, &format!("{}?connected=false", channels_of(&b2)))
        .await;
    assert_eq!(set(&page, "channels"), of(&[&cb]));

    let mut failures = Failures::default();
    let bad = [
        (
            b.token.clone(),
            format!("{}?connected=false", things_of(c0)),
            StatusCode::NOT_FOUND,
        ),
        (
            b.token.clone(),
            format!("{}?connected=false", channels_of(t0)),
            StatusCode::NOT_FOUND,
        ),
        (
            a.token.clone(),
            format!("{}?connected=maybe", things_of(c0)),
            StatusCode::BAD_REQUEST,
        ),
        (
            a.token.clone(),
            format!("{}?connected=", channels_of(t0)),
            StatusCode::BAD_REQUEST,
        ),
        (
            a.token.clone(),
            format!("{}?connected=false&connected=true", things_of(c0)),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (token, path, expected) in bad {
        failures.check(
            &path,
            &t.send(req("GET", &path).token(&token)).await,
            expected,
        );
    }
    failures.assert_none();

    // A disconnect moves a thing into the complement at once (read-your-writes).
    t.send(req("DELETE", format!("/channels/{c0}/things/{t1}")).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "disconnect");
    let page = t
        .get(&a.token, &format!("{}?connected=false", things_of(c0)))
        .await;
    assert_eq!(set(&page, "things"), of(&[t1, t2, t3]));
    t.finish().await;
}
