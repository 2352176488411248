//! Helpers shared by the SenML vector suites (`senml_rfc`, `senml_rules`): every vector is
//! normalized from JSON and from the same pack converted to CBOR, and both must agree.

use adapters::senml::{Label, Measurement, SenmlFormat, Value, data_to_bytes, normalize};
use ciborium::Value as Cbor;
use serde_json::Value as Json;

/// The reception time every vector is resolved against.
pub const NOW: f64 = 1_700_000_000.25;

pub fn m(name: &str, unit: Option<&str>, time: f64, value: Value) -> Measurement {
    Measurement {
        name: name.to_owned(),
        unit: unit.map(str::to_owned),
        time,
        update_time: None,
        value: Some(value),
        sum: None,
    }
}

pub fn f(v: f64) -> Value {
    Value::Float(v)
}

/// JSON text of a pack → the same pack in CBOR with RFC 8428 Table 4 labels, `vd` as bytes.
pub fn to_cbor(json: &str) -> Vec<u8> {
    fn convert(value: &Json) -> Cbor {
        match value {
            Json::Null => Cbor::Null,
            Json::Bool(b) => Cbor::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Cbor::Integer(i.into()),
                None => Cbor::Float(n.as_f64().expect("finite")),
            },
            Json::String(s) => Cbor::Text(s.clone()),
            Json::Array(items) => Cbor::Array(items.iter().map(convert).collect()),
            Json::Object(map) => Cbor::Map(
                map.iter()
                    .map(
                        |(key, value)| match Label::ALL.iter().find(|l| l.json() == key) {
                            Some(Label::DataValue) => {
                                let text = value.as_str().expect("vd text");
                                let bytes = data_to_bytes(text).expect("base64url");
                                (Cbor::Integer(8.into()), Cbor::Bytes(bytes))
                            }
                            Some(label) => (Cbor::Integer(label.cbor().into()), convert(value)),
                            None => (Cbor::Text(key.clone()), convert(value)),
                        },
                    )
                    .collect(),
            ),
        }
    }
    let json: Json = serde_json::from_str(json).expect("vector is JSON");
    let mut out = Vec::new();
    ciborium::into_writer(&convert(&json), &mut out).expect("CBOR");
    out
}

/// Normalizes `json` in both formats, checks they agree and returns the result.
pub fn both(json: &str) -> Vec<Measurement> {
    let from_json = normalize(json.as_bytes(), SenmlFormat::Json, NOW).expect(json);
    let from_cbor = normalize(&to_cbor(json), SenmlFormat::Cbor, NOW).expect(json);
    assert_eq!(from_json, from_cbor, "JSON and CBOR differ for {json}");
    from_json
}
