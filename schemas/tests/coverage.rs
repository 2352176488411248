//! Every event the domain can write has a schema file, every file is registered, and every
//! document is a well-formed, closed draft 2020-12 schema.

use std::collections::BTreeSet;
use std::path::Path;

use domain::Event;
use domain::event::SCHEMA_VERSION;
use schemas::{ENVELOPE_SCHEMA, EVENT_SCHEMAS, event_schema};
use serde_json::Value;

fn events_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/events"))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("schema files are JSON")
}

#[test]
fn every_kind_has_a_schema_file_at_the_current_version() {
    for kind in Event::KINDS {
        let file = events_dir().join(format!("{kind}.v{SCHEMA_VERSION}.json"));
        let on_disk = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{kind}: no schema file {}: {e}", file.display()));
        assert_eq!(
            event_schema(kind, SCHEMA_VERSION),
            Some(on_disk.as_str()),
            "{kind}: not registered in EVENT_SCHEMAS"
        );
    }
}

#[test]
fn every_file_is_registered() {
    let registered: BTreeSet<String> = EVENT_SCHEMAS
        .iter()
        .map(|s| format!("{}.v{}.json", s.kind, s.version))
        .chain(["envelope.v1.json".to_owned()])
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(on_disk, registered);
}

#[test]
fn registered_kinds_are_the_domain_kinds() {
    let registered: BTreeSet<&str> = EVENT_SCHEMAS.iter().map(|s| s.kind).collect();
    assert_eq!(registered, Event::KINDS.into_iter().collect());
}

#[test]
fn the_envelope_lists_exactly_the_domain_kinds() {
    let envelope = parse(ENVELOPE_SCHEMA);
    let listed: BTreeSet<&str> = envelope["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(listed, Event::KINDS.into_iter().collect());
}

#[test]
fn unknown_kinds_and_versions_have_no_schema() {
    assert_eq!(event_schema("thing.explode", 1), None);
    assert_eq!(event_schema("thing.create", SCHEMA_VERSION + 1), None);
    assert_eq!(event_schema("thing.create", 0), None);
}

/// Each document is valid against the 2020-12 meta-schema, names its own kind and version,
/// is closed (`additionalProperties: false`) and requires every property, because serde
/// writes every field, `null` included.
#[test]
fn every_document_is_a_closed_2020_12_schema() {
    let documents = EVENT_SCHEMAS
        .iter()
        .map(|s| (format!("{}:{}", s.kind, s.version), s.schema))
        .chain([("envelope:1".to_owned(), ENVELOPE_SCHEMA)]);
    for (name, text) in documents {
        let schema = parse(text);
        jsonschema::draft202012::meta::validate(&schema)
            .unwrap_or_else(|e| panic!("{name}: not a 2020-12 schema: {e}"));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        assert!(
            schema["$id"].as_str().unwrap().ends_with(&name),
            "{name}: $id is {}",
            schema["$id"]
        );
        assert_eq!(schema["additionalProperties"], false, "{name}");
        let properties: BTreeSet<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(required, properties, "{name}");
    }
}

#[test]
fn connections_are_keyed_by_the_channel_and_claims_by_the_key() {
    for s in EVENT_SCHEMAS {
        let expected = match s.kind {
            "thing.connect" | "thing.disconnect" => "channel_id",
            "thing.key_claim" | "thing.key_release" => "key_hash",
            // A config is named by its thing, as in Mainflux; external-id streams by its hash.
            "config.create"
            | "config.update"
            | "config.update_certs"
            | "config.remove"
            | "thing.state_change"
            | "thing.update_connections" => "thing_id",
            // A thing's certificates share one stream, named by the thing.
            "cert.issue" | "cert.revoke" => "thing_id",
            "config.external_id_claim" | "config.external_id_release" => "external_id_hash",
            // Recorded in batches on the answering node's own stream.
            "thing.bootstrap" => "",
            _ => "id",
        };
        assert_eq!(s.stream_key, expected, "{}", s.kind);
    }
}
