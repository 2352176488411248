//! `application/senml+json` (RFC 8428 §5): parsing into raw records, and encoding measurements
//! back as a resolved pack.
//!
//! Parsing uses small serde visitors rather than `serde_json::Value`: a `Value` map silently
//! keeps the last of duplicate members (here a duplicate label is an error, as in CBOR), and
//! serde_json's default float parser may be one ULP off (its `float_roundtrip` feature is not
//! enabled). Field values are therefore kept as raw JSON text and numbers are parsed by `std`,
//! which rounds correctly, so `encode_json` → `normalize` is exact. Unknown members are skipped.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value as Json};

use super::error::SenmlError;
use super::measurement::{Measurement, Value};
use super::record::{Key, Label, RawRecord, Scalar};

/// Parses a JSON pack into raw records (no resolution yet).
pub(crate) fn parse(payload: &[u8]) -> Result<Vec<RawRecord>, SenmlError> {
    let items = match serde_json::from_slice::<Pack>(payload) {
        Ok(Pack::Items(items)) => items,
        Ok(Pack::Other(found)) => return Err(SenmlError::NotAnArray { found }),
        Err(e) => return Err(SenmlError::Json(e.to_string())),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(record, item)| match item {
            Item::Record(entries) => {
                let entries = entries
                    .into_iter()
                    .map(|(key, raw)| Ok((key, scalar(raw)?)))
                    .collect::<Result<Vec<_>, SenmlError>>()?;
                RawRecord::from_entries(record, entries)
            }
            Item::Other(found) => Err(SenmlError::NotARecord { record, found }),
        })
        .collect()
}

/// Types one member value from its raw text, which serde_json has already validated.
fn scalar(raw: &RawValue) -> Result<Scalar, SenmlError> {
    let text = raw.get();
    let scalar = match text.as_bytes().first() {
        Some(b'"') => {
            Scalar::Text(serde_json::from_str(text).map_err(|e| SenmlError::Json(e.to_string()))?)
        }
        Some(b't') => Scalar::Bool(true),
        Some(b'f') => Scalar::Bool(false),
        Some(b'n') => Scalar::Null,
        Some(b'[') => Scalar::Other("an array"),
        Some(b'{') => Scalar::Other("an object"),
        _ => parse_number(text),
    };
    Ok(scalar)
}

/// A JSON number: an integer if it has no fraction or exponent and fits, else the correctly
/// rounded `f64` (out of range gives ±∞ or 0, and ∞ is refused later as non-finite).
fn parse_number(text: &str) -> Scalar {
    if !text.contains(['.', 'e', 'E'])
        && let Ok(i) = text.parse::<i128>()
    {
        return Scalar::Int(i);
    }
    match text.parse::<f64>() {
        Ok(f) => Scalar::Float(f),
        Err(_) => Scalar::Other("a malformed number"),
    }
}

/// Encodes measurements as a resolved SenML pack (RFC 8428 §4.6): full names, absolute times,
/// no base fields. `normalize` of the result gives the same measurements back.
pub fn encode_json(measurements: &[Measurement]) -> Vec<u8> {
    let records = measurements.iter().map(record).collect();
    Json::Array(records).to_string().into_bytes()
}

fn record(m: &Measurement) -> Json {
    let mut map = Map::new();
    let mut put = |label: Label, value: Json| map.insert(label.json().to_owned(), value);
    put(Label::Name, Json::String(m.name.clone()));
    if let Some(unit) = &m.unit {
        put(Label::Unit, Json::String(unit.clone()));
    }
    put(Label::Time, number(m.time));
    if let Some(ut) = m.update_time {
        put(Label::UpdateTime, number(ut));
    }
    match &m.value {
        Some(Value::Float(v)) => put(Label::Value, number(*v)),
        Some(Value::String(vs)) => put(Label::StringValue, Json::String(vs.clone())),
        Some(Value::Bool(vb)) => put(Label::BoolValue, Json::Bool(*vb)),
        Some(Value::Data(vd)) => put(Label::DataValue, Json::String(vd.clone())),
        None => None,
    };
    if let Some(sum) = m.sum {
        put(Label::Sum, number(sum));
    }
    Json::Object(map)
}

/// A JSON number; `normalize` never yields a non-finite one, which JSON could not carry.
fn number(f: f64) -> Json {
    Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// The root: the records, or the kind of JSON value found instead of an array.
enum Pack<'a> {
    Items(Vec<Item<'a>>),
    Other(&'static str),
}

/// A pack element: a record's classified members (raw text borrowed from the payload), or the
/// kind of value found instead.
enum Item<'a> {
    Record(Vec<(Key, &'a RawValue)>),
    Other(&'static str),
}

/// Consumes a non-matching JSON value and names its kind, for `NotAnArray`/`NotARecord`.
struct Kind;

impl Kind {
    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<&'static str, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok("an array")
    }

    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<&'static str, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok("an object")
    }
}

/// Implements the scalar `visit_*` methods of a visitor by naming the kind of value.
macro_rules! other_kinds {
    ($wrap:path) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($wrap("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($wrap("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($wrap("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($wrap("a number"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($wrap("a string"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap("null"))
        }
    };
}

impl<'de> Deserialize<'de> for Pack<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PackVisitor;
        impl<'de> Visitor<'de> for PackVisitor {
            type Value = Pack<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SenML pack")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pack<'de>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Item>()? {
                    items.push(item);
                }
                Ok(Pack::Items(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Pack<'de>, A::Error> {
                Kind::drain_map(map).map(Pack::Other)
            }
            other_kinds!(Pack::Other);
        }
        deserializer.deserialize_any(PackVisitor)
    }
}

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SenML record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Key>()? {
                    if let Key::Ignored = key {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        entries.push((key, map.next_value::<&'de RawValue>()?));
                    }
                }
                Ok(Item::Record(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Item<'de>, A::Error> {
                Kind::drain_seq(seq).map(Item::Other)
            }
            other_kinds!(Item::Other);
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SenML label")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(Key::json(name))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}
