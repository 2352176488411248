//! Who may read `GET /channels/{id}/messages`: a thing connected to the channel (`Thing
//! <key>` or the raw key) or the channel's owner (`Bearer <jwt>` or the raw jwt). Anyone
//! else gets 401 or 403 and never a message.

mod common;

use axum::http::StatusCode;
use common::reading::senml_json;
use common::tokens::{foreign_token, unsigned_token};
use common::{Failures, Resp, TestApp, fresh_key, req, unknown_id};
use serde_json::json;

/// A measurement name no error body could contain by accident.
const MARKER: &str = "secret-reading-7f3a";

/// Records every failure of `resp` to be `expected`, and any sight of the stored message
/// in a refusal.
fn check(failures: &mut Failures, case: &str, resp: &Resp, expected: StatusCode) {
    failures.check(case, resp, expected);
    let body = String::from_utf8_lossy(&resp.body);
    if expected == StatusCode::OK {
        let page = resp.json();
        if page["total"] != 1 || page["messages"][0]["name"] != MARKER {
            failures.push(format!("{case}: 200 without the message: {body}"));
        }
    } else if body.contains(MARKER) || body.contains("messages") {
        failures.push(format!("{case}: a refusal shows data: {body}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reader_authorization_matrix() {
    let t = TestApp::start().await;
    let owner = t.user("owner@example.com").await;
    let stranger = t.user("stranger@example.com").await;
    let d = t.device(&owner).await;
    let (_, idle_key) = t.keyed_thing(&owner).await;
    let foreign = t.device(&stranger).await;
    t.publish_ok(senml_json(
        &d.path(""),
        &d.key,
        &json!([{"n": MARKER, "v": 1}]),
    ))
    .await;
    t.written(1).await;

    let token = owner.token.as_str();
    const OK: StatusCode = StatusCode::OK;
    const DENIED: StatusCode = StatusCode::FORBIDDEN;
    const NOBODY: StatusCode = StatusCode::UNAUTHORIZED;
    let thing = |key: &str| Some(format!("Thing {key}"));
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let raw = |value: &str| Some(value.to_owned());
    let cases: Vec<(&str, Option<String>, StatusCode)> = vec![
        // allowed
        ("connected thing, Thing scheme", thing(&d.key), OK),
        (
            "connected thing, lower-case scheme",
            raw(&format!("thing {}", d.key)),
            OK,
        ),
        ("connected thing, raw key", raw(&d.key), OK),
        ("owner, Bearer", bearer(token), OK),
        ("owner, raw token", raw(token), OK),
        ("owner, self-made token", raw(&t.token_for(&owner.id)), OK),
        // real identities, not this channel's
        ("other user, Bearer", bearer(&stranger.token), DENIED),
        ("other user, raw", raw(&stranger.token), DENIED),
        ("owner's unconnected thing", thing(&idle_key), DENIED),
        ("owner's unconnected thing, raw", raw(&idle_key), DENIED),
        ("other user's thing", thing(&foreign.key), DENIED),
        ("other user's thing, raw", raw(&foreign.key), DENIED),
        // nobody
        ("no header", None, NOBODY),
        ("empty", raw(""), NOBODY),
        ("Thing and nothing", raw("Thing "), NOBODY),
        ("Bearer and nothing", raw("Bearer "), NOBODY),
        ("unknown key", thing(&fresh_key()), NOBODY),
        ("unknown key, raw", raw(&fresh_key()), NOBODY),
        ("garbage, raw", raw("garbage"), NOBODY),
        ("garbage, Bearer", bearer("garbage"), NOBODY),
        ("thing key as Bearer", bearer(&d.key), NOBODY),
        ("user token as Thing", thing(token), NOBODY),
        ("other scheme", raw(&format!("Basic {}", d.key)), NOBODY),
        ("unsigned token", bearer(&unsigned_token(&owner.id)), NOBODY),
        (
            "foreign-signed token",
            bearer(&foreign_token(&owner.id)),
            NOBODY,
        ),
        (
            "unknown user's token",
            bearer(&t.token_for(&unknown_id())),
            NOBODY,
        ),
        ("truncated token", raw(&token[..token.len() - 2]), NOBODY),
    ];
    let mut failures = Failures::default();
    for (case, auth, expected) in &cases {
        let resp = t.try_read(&d.channel, "", auth.as_deref()).await;
        check(&mut failures, case, &resp, *expected);
    }

    // The path: no channel id at all is 404, as in the REST API, whoever asks; a channel id
    // nobody has is refused like someone else's channel.
    for id in ["not-a-uuid", "123", "bad%20id"] {
        for (who, auth) in [
            ("owner", Some(format!("Bearer {token}"))),
            ("thing", Some(d.key.clone())),
            ("nobody", None),
        ] {
            let resp = t.try_read(id, "", auth.as_deref()).await;
            check(
                &mut failures,
                &format!("channel {id:?} as {who}"),
                &resp,
                StatusCode::NOT_FOUND,
            );
        }
    }
    let nowhere = unknown_id();
    for (who, auth, expected) in [
        ("owner", format!("Bearer {token}"), StatusCode::FORBIDDEN),
        ("thing", format!("Thing {}", d.key), StatusCode::FORBIDDEN),
        (
            "unknown key",
            format!("Thing {}", fresh_key()),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let resp = t.try_read(&nowhere, "", Some(&auth)).await;
        check(
            &mut failures,
            &format!("unknown channel as {who}"),
            &resp,
            expected,
        );
    }
    // Stored data of a channel is never reachable through another's id, even for its thing.
    let resp = t
        .try_read(&foreign.channel, "", Some(&format!("Thing {}", d.key)))
        .await;
    check(
        &mut failures,
        "own thing on a foreign channel",
        &resp,
        StatusCode::FORBIDDEN,
    );
    failures.assert_none();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_access_stops_reading_at_once() {
    let t = TestApp::start().await;
    let owner = t.user("revoke@example.com").await;
    let d = t.device(&owner).await;
    let (second, second_key) = t.keyed_thing(&owner).await;
    t.connect(&owner.token, &d.channel, &second).await;
    t.publish_ok(senml_json(
        &d.path(""),
        &d.key,
        &json!([{"n": MARKER, "v": 1}]),
    ))
    .await;
    t.written(1).await;
    let mut failures = Failures::default();
    let read = async |auth: &str| t.try_read(&d.channel, "", Some(auth)).await;
    let thing = |key: &str| format!("Thing {key}");
    let bearer = format!("Bearer {}", owner.token);

    check(
        &mut failures,
        "before",
        &read(&thing(&d.key)).await,
        StatusCode::OK,
    );
    check(
        &mut failures,
        "second, before",
        &read(&thing(&second_key)).await,
        StatusCode::OK,
    );

    // Disconnect: a real thing, no longer this channel's.
    t.expect(
        req(
            "DELETE",
            format!("/channels/{}/things/{}", d.channel, d.thing),
        )
        .token(&owner.token),
        StatusCode::NO_CONTENT,
    )
    .await;
    check(
        &mut failures,
        "disconnected",
        &read(&thing(&d.key)).await,
        StatusCode::FORBIDDEN,
    );

    // Key change: the old key is nobody's, the new one reads.
    let new_key = fresh_key();
    t.expect(
        req("PATCH", format!("/things/{second}/key"))
            .token(&owner.token)
            .json(json!({"key": new_key})),
        StatusCode::OK,
    )
    .await;
    check(
        &mut failures,
        "old key",
        &read(&thing(&second_key)).await,
        StatusCode::UNAUTHORIZED,
    );
    check(
        &mut failures,
        "new key",
        &read(&thing(&new_key)).await,
        StatusCode::OK,
    );

    // Thing removal: its key is nobody's.
    t.expect(
        req("DELETE", format!("/things/{second}")).token(&owner.token),
        StatusCode::NO_CONTENT,
    )
    .await;
    check(
        &mut failures,
        "removed thing",
        &read(&thing(&new_key)).await,
        StatusCode::UNAUTHORIZED,
    );
    check(
        &mut failures,
        "owner still reads",
        &read(&bearer).await,
        StatusCode::OK,
    );

    // Channel removal: the owner no longer owns it.
    t.expect(
        req("DELETE", format!("/channels/{}", d.channel)).token(&owner.token),
        StatusCode::NO_CONTENT,
    )
    .await;
    check(
        &mut failures,
        "removed channel",
        &read(&bearer).await,
        StatusCode::FORBIDDEN,
    );
    failures.assert_none();
    t.finish().await;
}
