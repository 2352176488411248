//! Paging and list filters, with Mainflux's semantics.

use serde::Serialize;
use serde_json::{Map, Value};

use domain::values::Metadata;

/// A validated list request (validation of raw query strings happens at the HTTP edge).
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub offset: u64,
    pub limit: u64,
    /// Case-insensitive substring of the name, already lowercased.
    pub name: Option<String>,
    /// JSON containment, as PostgreSQL's `metadata @> filter`.
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub items: Vec<T>,
}

impl<T> Page<T> {
    /// The same page with every item transformed.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            total: self.total,
            offset: self.offset,
            limit: self.limit,
            items: self.items.into_iter().map(f).collect(),
        }
    }
}

impl PageQuery {
    pub fn matches(&self, name: Option<&str>, metadata: Option<&Metadata>) -> bool {
        let name_ok = match &self.name {
            None => true,
            Some(wanted) => name.is_some_and(|n| n.to_lowercase().contains(wanted.as_str())),
        };
        let metadata_ok = match &self.metadata {
            None => true,
            // Stored metadata is text; only a filtered list pays for parsing it.
            Some(wanted) => metadata.is_some_and(|m| object_contains(&m.to_map(), wanted)),
        };
        name_ok && metadata_ok
    }

    /// Pages over items already in id order, counting the total under the same filter.
    pub fn page<'a, T: Clone + 'a>(
        &self,
        items: impl Iterator<Item = &'a T>,
        keep: impl Fn(&T) -> bool,
    ) -> Page<T> {
        let mut total = 0;
        let mut page = Vec::new();
        for item in items.filter(|item| keep(item)) {
            if total >= self.offset && (page.len() as u64) < self.limit {
                page.push(item.clone());
            }
            total += 1;
        }
        Page {
            total,
            offset: self.offset,
            limit: self.limit,
            items: page,
        }
    }
}

fn object_contains(doc: &Map<String, Value>, pattern: &Map<String, Value>) -> bool {
    pattern
        .iter()
        .all(|(k, want)| doc.get(k).is_some_and(|have| contains(have, want)))
}

/// PostgreSQL JSONB containment: objects by key, arrays by element, scalars by equality.
pub fn contains(doc: &Value, pattern: &Value) -> bool {
    match (doc, pattern) {
        (Value::Object(d), Value::Object(p)) => object_contains(d, p),
        (Value::Array(d), Value::Array(p)) => p.iter().all(|w| d.iter().any(|h| contains(h, w))),
        (Value::Array(d), scalar) if !scalar.is_object() => d.contains(scalar),
        (d, p) => d == p,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::contains;

    #[test]
    fn containment_follows_jsonb() {
        let doc = json!({"a": 1, "b": {"c": [1, 2, {"d": "x"}]}, "e": "s"});
        let cases = [
            (json!({}), true),
            (json!({"a": 1}), true),
            (json!({"a": 2}), false),
            (json!({"b": {"c": [2]}}), true),
            (json!({"b": {"c": [{"d": "x"}]}}), true),
            (json!({"b": {"c": [3]}}), false),
            (json!({"z": null}), false),
            (json!({"e": "s", "a": 1}), true),
        ];
        for (pattern, expected) in cases {
            assert_eq!(contains(&doc, &pattern), expected, "{pattern}");
        }
    }
}
