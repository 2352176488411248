//! Envelopes that must not validate, as a table: what is wrong, a fragment the error must
//! contain (so each case fails for its own reason), and the broken envelope.

mod common;

use serde_json::{Value, json};

const UUID: &str = "0190f3c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f";

struct Case {
    what: &'static str,
    expect: String,
    envelope: Value,
}

/// The sample of `kind` with one change.
fn case(what: &'static str, expect: &str, kind: &str, change: impl FnOnce(&mut Value)) -> Case {
    let mut envelope = common::sample(kind);
    change(&mut envelope);
    Case {
        what,
        expect: expect.into(),
        envelope,
    }
}

fn remove(value: &mut Value, field: &str) {
    value.as_object_mut().unwrap().remove(field);
}

fn uppercase(value: &mut Value) {
    *value = json!(value.as_str().unwrap().to_uppercase());
}

fn fields() -> Vec<Case> {
    vec![
        case(
            "missing data field",
            "data: /: \"email\" is a required",
            "user.register",
            |e| remove(&mut e["data"], "email"),
        ),
        case(
            "missing nullable field",
            "\"name\" is a required",
            "thing.update",
            |e| remove(&mut e["data"], "name"),
        ),
        case(
            "missing key field",
            "\"sealed_key\" is a required",
            "thing.create",
            |e| remove(&mut e["data"], "sealed_key"),
        ),
        case(
            "missing envelope field",
            "envelope: /: \"correlation_id\"",
            "thing.remove",
            |e| remove(e, "correlation_id"),
        ),
        case(
            "missing actor",
            "\"actor\" is a required",
            "thing.remove",
            |e| remove(e, "actor"),
        ),
        case(
            "extra data field",
            "'owner' was unexpected",
            "thing.remove",
            |e| e["data"]["owner"] = json!(UUID),
        ),
        case(
            "nested key material",
            "'key' was unexpected",
            "thing.update_key",
            |e| {
                let data = &mut e["data"];
                let key = json!({ "key_hash": data["key_hash"], "sealed_key": data["sealed_key"] });
                remove(data, "key_hash");
                remove(data, "sealed_key");
                data["key"] = key;
            },
        ),
        case(
            "extra envelope field",
            "'tenant' was unexpected",
            "channel.remove",
            |e| e["tenant"] = json!("x"),
        ),
    ]
}

fn types() -> Vec<Case> {
    let long_name = "é".repeat(1025);
    vec![
        Case {
            what: "envelope not an object",
            expect: "[1,2] is not of type \"object\"".into(),
            envelope: json!([1, 2]),
        },
        case("data not an object", "/data: null", "channel.remove", |e| {
            e["data"] = json!(null)
        }),
        case(
            "version as string",
            "/version: \"3\"",
            "channel.create",
            |e| e["version"] = json!("3"),
        ),
        case("version zero", "/version: 0", "channel.create", |e| {
            e["version"] = json!(0)
        }),
        case("position zero", "/position: 0", "channel.create", |e| {
            e["position"] = json!(0)
        }),
        case(
            "fractional position",
            "/position: 1.5",
            "channel.create",
            |e| e["position"] = json!(1.5),
        ),
        case("name as number", "/name: 5", "channel.create", |e| {
            e["data"]["name"] = json!(5)
        }),
        case("name too long", "longer than 1024", "channel.update", |e| {
            e["data"]["name"] = json!(long_name)
        }),
        case("metadata as array", "/metadata: [1]", "user.update", |e| {
            e["data"]["metadata"] = json!([1])
        }),
        case(
            "metadata as string",
            "/metadata: \"{}\"",
            "thing.update",
            |e| e["data"]["metadata"] = json!("{}"),
        ),
        case(
            "occurred_at not RFC 3339",
            "not a \"date-time\"",
            "thing.remove",
            |e| e["occurred_at"] = json!("yesterday"),
        ),
        case(
            "occurred_at as number",
            "/occurred_at: 1700000000",
            "thing.remove",
            |e| e["occurred_at"] = json!(1_700_000_000),
        ),
    ]
}

fn ids_and_secrets() -> Vec<Case> {
    vec![
        case(
            "bad data uuid",
            "/thing_id: \"not-a-uuid\"",
            "thing.connect",
            |e| e["data"]["thing_id"] = json!("not-a-uuid"),
        ),
        case("uppercase uuid", "/thing_id", "thing.connect", |e| {
            uppercase(&mut e["data"]["thing_id"])
        }),
        case("bad owner uuid", "/owner: \"42\"", "thing.create", |e| {
            e["data"]["owner"] = json!("42")
        }),
        case("bad event id", "/id: \"0190f3c1\"", "thing.remove", |e| {
            e["id"] = json!("0190f3c1")
        }),
        case(
            "bad correlation id",
            "/correlation_id: 7",
            "thing.remove",
            |e| e["correlation_id"] = json!(7),
        ),
        case(
            "actor not a uuid",
            "/actor: \"user-contract\"",
            "thing.remove",
            |e| e["actor"] = json!("user-contract"),
        ),
        case("uppercase key hash", "/key_hash", "thing.create", |e| {
            uppercase(&mut e["data"]["key_hash"])
        }),
        case("short key hash", "/key_hash", "thing.update_key", |e| {
            e["data"]["key_hash"] = json!("ab".repeat(31))
        }),
        case(
            "sealed key not base64",
            "/sealed_key",
            "thing.update_key",
            |e| e["data"]["sealed_key"] = json!("a key!"),
        ),
        case("empty sealed key", "/sealed_key", "thing.update_key", |e| {
            e["data"]["sealed_key"] = json!("")
        }),
        case(
            "plaintext password",
            "/password_hash",
            "user.password_change",
            |e| e["data"]["password_hash"] = json!("hunter22"),
        ),
        case(
            "argon2i password hash",
            "/password_hash",
            "user.register",
            |e| e["data"]["password_hash"] = json!("$argon2i$v=19$x"),
        ),
        case(
            "email without host",
            "/email: \"ada@\"",
            "user.register",
            |e| e["data"]["email"] = json!("ada@"),
        ),
        case(
            "email host with edge hyphen",
            "/email",
            "user.register",
            |e| e["data"]["email"] = json!("ada@-example.com"),
        ),
    ]
}

fn kinds_and_streams() -> Vec<Case> {
    let other = |aggregate: &str| json!(format!("{aggregate}-{UUID}"));
    vec![
        case(
            "unknown type",
            "/type: \"thing.explode\"",
            "thing.remove",
            |e| e["type"] = json!("thing.explode"),
        ),
        case(
            "unknown schema version",
            "unknown event type \"thing.remove\" at schema version 2",
            "thing.remove",
            |e| e["schema"] = json!(2),
        ),
        case("schema version zero", "/schema: 0", "thing.remove", |e| {
            e["schema"] = json!(0)
        }),
        case(
            "schema version beyond u16",
            "/schema: 65537",
            "thing.remove",
            |e| e["schema"] = json!(65_537),
        ),
        case("unknown aggregate", "\"device-", "thing.remove", |e| {
            e["stream"] = other("device")
        }),
        case(
            "stream without uuid",
            "\"thing-xyz\"",
            "thing.remove",
            |e| e["stream"] = json!("thing-xyz"),
        ),
        case(
            "thing event on channel stream",
            "match \"^thing-\"",
            "thing.create",
            |e| e["stream"] = other("channel"),
        ),
        case(
            "connect on thing stream",
            "match \"^channel-\"",
            "thing.connect",
            |e| {
                let thing = e["data"]["thing_id"].as_str().unwrap().to_owned();
                e["stream"] = json!(format!("thing-{thing}"));
            },
        ),
        case(
            "user event on thing stream",
            "match \"^user-\"",
            "user.update",
            |e| e["stream"] = other("thing"),
        ),
        case(
            "stream of another aggregate",
            "of data.id",
            "channel.update",
            |e| e["stream"] = other("channel"),
        ),
        case(
            "connect, wrong channel",
            "of data.channel_id",
            "thing.disconnect",
            |e| e["data"]["channel_id"] = json!(UUID),
        ),
    ]
}

#[test]
fn every_case_is_rejected_for_its_own_reason() {
    let cases = [fields(), types(), ids_and_secrets(), kinds_and_streams()];
    let wrong: Vec<String> = cases
        .iter()
        .flatten()
        .filter_map(|c| match schemas::validate_event(&c.envelope) {
            Ok(()) => Some(format!("{}: accepted", c.what)),
            Err(e) if !e.contains(&c.expect) => Some(format!("{}: {e}", c.what)),
            Err(_) => None,
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn errors_name_the_part_that_failed() {
    let mut envelope = common::sample("thing.create");
    envelope["data"] = json!({ "id": UUID });
    let error = schemas::validate_event(&envelope).unwrap_err();
    assert!(error.starts_with("thing.create v1 data: /: "), "{error}");

    envelope["version"] = json!(-1);
    let error = schemas::validate_event(&envelope).unwrap_err();
    assert!(error.starts_with("envelope: /version: "), "{error}");
}
