//! Metadata: a JSON object kept as its compact text and parsed only where a filter needs
//! it. As a `serde_json::Value` tree a 2 MB array of zeros took ~30 MB per copy, in every
//! view and again after each restart; as text it takes its length, shared by every copy.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::DomainError;

/// Largest metadata accepted, as compact JSON text.
pub const MAX_METADATA_BYTES: usize = 32 * 1024;
/// Deepest nesting accepted: the metadata object itself is level 1.
pub const MAX_METADATA_DEPTH: usize = 16;
/// Most object members accepted, counted over every nested object.
pub const MAX_METADATA_KEYS: usize = 1024;

#[derive(Clone)]
pub struct Metadata(Arc<RawValue>);

impl Metadata {
    /// `{}`.
    pub fn new() -> Self {
        Self::from(Map::new())
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The parsed object, for filters and tests; costs a parse.
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_str(self.as_str()).unwrap_or_default()
    }

    /// Refuses what a client may not store: more than the limits above, a key twice in
    /// one object, or a NUL character (PostgreSQL's `jsonb` cannot hold one).
    pub fn check(&self) -> Result<(), DomainError> {
        let invalid = |why: String| DomainError::Invalid(format!("metadata {why}"));
        if self.as_str().len() > MAX_METADATA_BYTES {
            return Err(invalid(format!(
                "is larger than {MAX_METADATA_BYTES} bytes"
            )));
        }
        let mut budget = Budget::default();
        let mut parser = serde_json::Deserializer::from_str(self.as_str());
        Level {
            depth: 1,
            budget: &mut budget,
        }
        .deserialize(&mut parser)
        .map_err(|e| invalid(budget.why.take().unwrap_or_else(|| e.to_string())))
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        let text = Value::Object(map).to_string();
        Self(Arc::from(
            RawValue::from_string(text).expect("serde_json writes JSON"),
        ))
    }
}

impl FromIterator<(String, Value)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(members: I) -> Self {
        Self::from(Map::from_iter(members))
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Metadata {}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if !raw.get().trim_start().starts_with('{') {
            return Err(de::Error::custom("metadata must be a JSON object"));
        }
        let compact = compact(raw.get());
        let raw = RawValue::from_string(compact).map_err(de::Error::custom)?;
        Ok(Self(Arc::from(raw)))
    }
}

/// `text` without the whitespace between tokens (JSON text in, JSON text out).
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// What a check has counted so far, and why it stopped.
#[derive(Default)]
struct Budget {
    keys: usize,
    why: Option<String>,
}

impl Budget {
    fn refuse<E: de::Error>(&mut self, why: String) -> E {
        let error = E::custom(&why);
        self.why = Some(why);
        error
    }
}

/// One value at one depth, walked without building it.
struct Level<'b> {
    depth: usize,
    budget: &'b mut Budget,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        match text.contains('\0') {
            true => Err(self
                .budget
                .refuse("must not contain a NUL character".into())),
            false => Ok(()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut items: A) -> Result<(), A::Error> {
        let depth = self.nested::<A::Error>()?;
        while items
            .next_element_seed(Level {
                depth,
                budget: self.budget,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut members: A) -> Result<(), A::Error> {
        let depth = self.nested::<A::Error>()?;
        let mut seen = HashSet::new();
        while let Some(key) = members.next_key::<String>()? {
            self.budget.keys += 1;
            if self.budget.keys > MAX_METADATA_KEYS {
                let why = format!("has more than {MAX_METADATA_KEYS} keys");
                return Err(self.budget.refuse(why));
            }
            if key.contains('\0') {
                return Err(self
                    .budget
                    .refuse("keys must not contain a NUL character".into()));
            }
            if !seen.insert(key) {
                return Err(self.budget.refuse("has a key twice in one object".into()));
            }
            members.next_value_seed(Level {
                depth,
                budget: self.budget,
            })?;
        }
        Ok(())
    }
}

impl Level<'_> {
    /// The depth of this container's members, refused past the limit.
    fn nested<E: de::Error>(&mut self) -> Result<usize, E> {
        match self.depth > MAX_METADATA_DEPTH {
            true => Err(self
                .budget
                .refuse(format!("is nested deeper than {MAX_METADATA_DEPTH} levels"))),
            false => Ok(self.depth + 1),
        }
    }
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
