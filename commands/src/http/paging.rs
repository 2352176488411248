//! List parameters: `offset`, `limit`, `name`, `metadata`, `order`, `dir`, `connected`,
//! validated as Mainflux 0.12 does, except that every bad value is a 400 (0.11 answered
//! some with 500). The query string (`GET` lists) and the search body (`POST …/search`)
//! go through the same checks here.

use std::collections::HashSet;

use domain::values::MAX_NAME_CHARS;
use projections::views::{Dir, Order, PageQuery};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::docs::{self, query};
use super::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 100;

pub fn page_query(raw: Option<&str>) -> Result<PageQuery, ApiError> {
    let mut query = PageQuery {
        limit: DEFAULT_LIMIT,
        ..PageQuery::default()
    };
    let mut seen = HashSet::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !seen.insert(key.clone()) {
            return Err(ApiError::bad_request(format!(
                "parameter {key} is repeated"
            )));
        }
        match key.as_ref() {
            "offset" => query.offset = number(&key, &value)?,
            "limit" => query.limit = limit(number("limit", &value)?)?,
            "name" => query.name = Some(name(&value)?),
            "metadata" => query.metadata = Some(metadata(&value)?),
            "order" => query.order = order(&value)?,
            "dir" => query.dir = dir(&value)?,
            "connected" => query.connected = connected(&value)?,
            _ => {}
        }
    }
    Ok(query)
}

pub fn number(key: &str, value: &str) -> Result<u64, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{key} must be a non-negative integer")))
}

pub fn limit(limit: u64) -> Result<u64, ApiError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

pub fn name(value: &str) -> Result<String, ApiError> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "name must have at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(value.to_lowercase())
}

fn metadata(value: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_str(value) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::bad_request("metadata must be a JSON object")),
    }
}

/// `name` or `id`. Mainflux 0.12 refuses other values too; we name the allowed ones.
pub fn order(value: &str) -> Result<Order, ApiError> {
    match value {
        "id" => Ok(Order::Id),
        "name" => Ok(Order::Name),
        _ => Err(ApiError::bad_request("order must be name or id")),
    }
}

/// `asc` or `desc`.
pub fn dir(value: &str) -> Result<Dir, ApiError> {
    match value {
        "asc" => Ok(Dir::Asc),
        "desc" => Ok(Dir::Desc),
        _ => Err(ApiError::bad_request("dir must be asc or desc")),
    }
}

/// `true` or `false`, as Go's `strconv.ParseBool` reads them in Mainflux; anything else is
/// a 400 rather than a silent default (a wrong set with a 200 is worse than an error).
fn connected(value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err(ApiError::bad_request("connected must be true or false")),
    }
}

/// A non-negative integer in a JSON body, as JSON Schema's `integer` means it: `7.0` is 7
/// (schemathesis sent `130679.0` for an offset, and serde's `u64` refused it).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_u64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        // `u64::MAX as f64` is 2^64, one past the largest u64.
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(format!(
            "{number} is not a non-negative integer"
        ))),
    }
}

/// `offset` and `limit`, as `page_query` reads them, for `/openapi.json`.
pub struct Window;

impl IntoParams for Window {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(DEFAULT_LIMIT.into()));
        vec![
            query("offset", docs::unsigned().default(Some(0.into()))),
            query("limit", limit),
        ]
    }
}

/// `Window` plus the `name` and `metadata` filters and the `order` and `dir` of
/// `GET /things` and `/channels`.
pub struct Filters;

impl IntoParams for Filters {
    fn into_params(provider: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let name = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_NAME_CHARS))
            .description(Some("part of the name, case-insensitive"));
        let mut params = Window::into_params(provider);
        params.push(query("name", name));
        params.push(docs::json_query(
            "metadata",
            "a JSON object the metadata must contain",
        ));
        let order = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["id", "name"]))
            .default(Some("id".into()));
        let dir = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["desc", "asc"]))
            .default(Some("desc".into()));
        params.push(query("order", order));
        params.push(query("dir", dir));
        params
    }
}

/// `Filters` plus `connected`, for the things of a channel and the channels of a thing.
pub struct Related;

impl IntoParams for Related {
    fn into_params(provider: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        // Go's `strconv.ParseBool` spellings, as `connected` reads them.
        let connected = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([
                "true", "1", "t", "T", "TRUE", "True", "false", "0", "f", "F", "FALSE", "False",
            ]))
            .description(Some(
                "true (default): the connected ones; false: the others",
            ));
        let mut params = Filters::into_params(provider);
        params.push(query("connected", connected));
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_as_a_table() {
        let ok = [
            ("", 0, 10),
            ("offset=5&limit=100", 5, 100),
            ("limit=1&unknown=x", 0, 1),
        ];
        for (raw, offset, limit) in ok {
            let q = page_query(Some(raw)).unwrap();
            assert_eq!((q.offset, q.limit), (offset, limit), "{raw}");
        }
        let bad = [
            "limit=0",
            "limit=101",
            "limit=-1",
            "offset=-1",
            "offset=x",
            "limit=1&limit=2",
            "metadata=%7B",
            "metadata=%5B%5D",
            "order=",
            "order=created",
            "order=NAME",
            "dir=up",
            "dir=",
            "dir=asc&dir=desc",
            "connected=",
            "connected=yes",
            "connected=2",
        ];
        for raw in bad {
            assert!(page_query(Some(raw)).is_err(), "{raw}");
        }
        let long = format!("name={}", "a".repeat(1025));
        assert!(page_query(Some(&long)).is_err());
        let q = page_query(Some("name=AbC&metadata=%7B%22a%22%3A1%7D")).unwrap();
        assert_eq!(q.name.as_deref(), Some("abc"));
        assert_eq!(q.metadata.unwrap()["a"], 1);
    }

    #[test]
    fn order_dir_and_connected_default_as_mainflux_0_12() {
        let q = page_query(None).unwrap();
        assert_eq!((q.order, q.dir, q.connected), (Order::Id, Dir::Desc, true));
        let q = page_query(Some("order=name&dir=asc&connected=false")).unwrap();
        assert_eq!(
            (q.order, q.dir, q.connected),
            (Order::Name, Dir::Asc, false)
        );
        let q = page_query(Some("connected=true")).unwrap();
        assert!(q.connected);
    }
}
