//! Paging and list filters, with Mainflux's semantics.

use serde::Serialize;
use serde_json::{Map, Value};

use domain::values::Metadata;

use super::order::{Dir, Listed, Order, compare};

/// A validated list request (validation of raw query strings happens at the HTTP edge).
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub offset: u64,
    pub limit: u64,
    /// Case-insensitive substring of the name, already lowercased.
    pub name: Option<String>,
    /// JSON containment, as PostgreSQL's `metadata @> filter`.
    pub metadata: Option<Map<String, Value>>,
    pub order: Order,
    pub dir: Dir,
    /// For the lists that follow connections: `false` asks for the complement, the owner's
    /// rows *not* connected (Mainflux 0.12 `connected=false`, the UI's "can still connect").
    pub connected: bool,
}

impl Default for PageQuery {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 0,
            name: None,
            metadata: None,
            order: Order::default(),
            dir: Dir::default(),
            connected: true,
        }
    }
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

    /// Filters, sorts by `order` and `dir`, and pages, counting the total under the same
    /// filter. Sorting input that is already in id order (the owner indexes) costs one pass.
    pub fn page<'a, T: Listed + Clone + 'a>(&self, items: impl Iterator<Item = &'a T>) -> Page<T> {
        let mut kept: Vec<&T> = items
            .filter(|item| self.matches(item.list_name(), item.list_metadata()))
            .collect();
        kept.sort_by(|a, b| compare(*a, *b, self.order, self.dir));
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(self.limit).unwrap_or(usize::MAX);
        Page {
            total: kept.len() as u64,
            offset: self.offset,
            limit: self.limit,
            items: kept.into_iter().skip(skip).take(take).cloned().collect(),
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
