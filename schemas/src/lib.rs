//! JSON Schemas (draft 2020-12) of the event envelope and of every event's `data`, one per
//! (event type, schema version), and the validator that checks a stored event against them.
//!
//! Layout:
//! - `events/envelope.v1.json`: the envelope (DESIGN §3): ids, stream name, version,
//!   position, `type` (one of the Mainflux operation names), `schema`, time, actor, `data`.
//!   It also ties each type to its aggregate's stream prefix (`thing.connect` and
//!   `thing.disconnect` live on the channel's stream; the internal `thing.key_claim` and
//!   `thing.key_release` on `thingkey-<key_hash>`; bootstrap configs on `config-<thing_id>`,
//!   their external id claims on `extid-<hash>`, fetch attempts on `bootstrap-<uuid>`, the
//!   recording node's; certificates on `certs-<thing_id>`).
//! - `events/<type>.v<schema>.json`: the `data` object of one type at one schema version,
//!   written by hand to match the serde shape of `domain::Event`. A released file is never
//!   edited: a new shape is a new file plus a row in [`EVENT_SCHEMAS`] (STYLE §5).
//! - this file: embeds the files, compiles them once, and adds the one rule JSON Schema cannot
//!   state (the stream's id is the event's own aggregate id).
//! - `tests/`: samples built from the real `domain::Event`, rejected envelopes, and a check
//!   that every `Event::KINDS` entry and every file under `events/` is registered here.
//!
//! Why hand-written files instead of generated ones: they are the wire contract third-party
//! consumers of `ferroflux events` read, so a change to the Rust types must fail the tests
//! rather than silently change the contract.

use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::Value;

/// The envelope schema (`events/envelope.v1.json`).
pub const ENVELOPE_SCHEMA: &str = include_str!("../events/envelope.v1.json");

/// The data schema of one event type at one schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSchema {
    /// The envelope's `type`, e.g. `thing.create`.
    pub kind: &'static str,
    /// The envelope's `schema`.
    pub version: u16,
    /// The `data` field holding the aggregate id that names the stream (`<aggregate>-<id>`);
    /// empty for `thing.bootstrap`, whose stream is the recording node's, not the device's.
    pub stream_key: &'static str,
    /// The JSON Schema document, as in `events/<kind>.v<version>.json`.
    pub schema: &'static str,
}

macro_rules! event_schema {
    ($kind:literal, $version:literal, $stream_key:literal) => {
        EventSchema {
            kind: $kind,
            version: $version,
            stream_key: $stream_key,
            schema: include_str!(concat!("../events/", $kind, ".v", $version, ".json")),
        }
    };
}

/// Every (type, schema version) that may appear in the log.
pub const EVENT_SCHEMAS: &[EventSchema] = &[
    event_schema!("user.register", 1, "id"),
    event_schema!("user.update", 1, "id"),
    event_schema!("user.password_change", 1, "id"),
    event_schema!("thing.create", 1, "id"),
    event_schema!("thing.update", 1, "id"),
    event_schema!("thing.update_key", 1, "id"),
    event_schema!("thing.remove", 1, "id"),
    event_schema!("channel.create", 1, "id"),
    event_schema!("channel.update", 1, "id"),
    event_schema!("channel.remove", 1, "id"),
    event_schema!("thing.connect", 1, "channel_id"),
    event_schema!("thing.disconnect", 1, "channel_id"),
    event_schema!("thing.key_claim", 1, "key_hash"),
    event_schema!("thing.key_release", 1, "key_hash"),
    event_schema!("config.create", 1, "thing_id"),
    event_schema!("config.update", 1, "thing_id"),
    event_schema!("config.update_certs", 1, "thing_id"),
    event_schema!("config.remove", 1, "thing_id"),
    event_schema!("thing.bootstrap", 1, ""),
    event_schema!("thing.state_change", 1, "thing_id"),
    event_schema!("thing.update_connections", 1, "thing_id"),
    event_schema!("config.external_id_claim", 1, "external_id_hash"),
    event_schema!("config.external_id_release", 1, "external_id_hash"),
    event_schema!("cert.issue", 1, "thing_id"),
    event_schema!("cert.revoke", 1, "thing_id"),
];

/// The data schema of `kind` at `version`, or `None` when no such event exists.
pub fn event_schema(kind: &str, version: u16) -> Option<&'static str> {
    find(kind, version).map(|s| s.schema)
}

fn find(kind: &str, version: u16) -> Option<&'static EventSchema> {
    EVENT_SCHEMAS
        .iter()
        .find(|s| s.kind == kind && s.version == version)
}

/// Validates one stored event envelope (as `ferroflux events` prints it) against the
/// envelope schema and the schema of its `type` and `schema` version, then checks that the
/// stream belongs to the event's aggregate. The error lists every violation with its JSON
/// pointer; it is meant for humans (test failures, `ferroflux` diagnostics), not for parsing.
pub fn validate_event(envelope: &Value) -> Result<(), String> {
    let compiled = COMPILED.as_ref().map_err(Clone::clone)?;
    check("envelope", &compiled.envelope, envelope)?;

    let kind = envelope["type"].as_str().unwrap_or_default();
    let version = envelope["schema"].as_u64().unwrap_or_default();
    let unknown = || format!("unknown event type {kind:?} at schema version {version}");
    let version = u16::try_from(version).map_err(|_| unknown())?;
    let (entry, validator) = compiled
        .events
        .iter()
        .find(|(s, _)| s.kind == kind && s.version == version)
        .ok_or_else(unknown)?;

    let data = &envelope["data"];
    check(&format!("{kind} v{version} data"), validator, data)?;
    check_stream(envelope, data, entry.stream_key)
}

/// JSON Schema cannot compare two values, so this one rule is code: the id in
/// `<aggregate>-<id>` must be the event's own aggregate id (a key claim's is its key hash).
fn check_stream(envelope: &Value, data: &Value, key: &str) -> Result<(), String> {
    let stream = envelope["stream"].as_str().unwrap_or_default();
    if key.is_empty() {
        return Ok(());
    }
    let stream_id = stream.split_once('-').map(|(_, id)| id);
    let own_id = data[key].as_str();
    if stream_id.is_some() && stream_id == own_id {
        Ok(())
    } else {
        Err(format!(
            "stream {stream:?} is not the stream of data.{key} {}",
            data[key]
        ))
    }
}

fn check(what: &str, validator: &Validator, instance: &Value) -> Result<(), String> {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() { "/".into() } else { path };
            format!("{path}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: {}", errors.join("; ")))
    }
}

struct Compiled {
    envelope: Validator,
    events: Vec<(&'static EventSchema, Validator)>,
}

/// Built on first use. The documents are embedded, so an error here is a bug in this crate
/// (caught by its tests); it is reported by every `validate_event` call rather than a panic.
static COMPILED: LazyLock<Result<Compiled, String>> = LazyLock::new(|| {
    let envelope = compile("envelope.v1", ENVELOPE_SCHEMA)?;
    let events = EVENT_SCHEMAS
        .iter()
        .map(|s| {
            let name = format!("{}.v{}", s.kind, s.version);
            compile(&name, s.schema).map(|v| (s, v))
        })
        .collect::<Result<_, _>>()?;
    Ok(Compiled { envelope, events })
});

/// Draft 2020-12 only annotates `format` by default; we assert it (`uuid`, `date-time`).
fn compile(name: &str, text: &str) -> Result<Validator, String> {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("schema {name} is not JSON: {e}"))?;
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("schema {name} does not compile: {e}"))
}
