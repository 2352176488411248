//! JSON request bodies, strictly: a JSON object where the API takes one (serde would also
//! take a struct's fields as an array, `["name", {…}]`), an array of objects where it
//! takes a list, and errors that name the field at fault in words a user knows, never a
//! Rust type. Unknown fields are ignored, as Mainflux's Go decoder ignores them.

use std::fmt;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};

use super::error::ApiError;

/// A body that is one JSON object: 415 unless the content type names JSON, 400 when empty,
/// malformed or not an object.
pub struct JsonBody<T>(pub T);

/// A body that is a JSON array of objects (bulk requests).
pub struct JsonList<T>(pub Vec<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = json_bytes(req, state).await?;
        parse::<Object<T>>(&bytes).map(|Object(value)| JsonBody(value))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonList<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = json_bytes(req, state).await?;
        let items = parse::<Vec<Object<T>>>(&bytes)?;
        Ok(JsonList(
            items.into_iter().map(|Object(item)| item).collect(),
        ))
    }
}

async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type must be application/json",
        ));
    }
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("request body is empty"));
    }
    Ok(bytes)
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let why = plain_words(&e.inner().to_string());
        ApiError::bad_request(match path.as_str() {
            "." => format!("malformed request body: {why}"),
            _ => format!("malformed request body: {path}: {why}"),
        })
    })?;
    json.end()
        .map_err(|e| ApiError::bad_request(format!("malformed request body: {e}")))?;
    Ok(value)
}

/// serde's words for JSON shapes and Rust's number types, in JSON's words.
fn plain_words(message: &str) -> String {
    const WORDS: [(&str, &str); 14] = [
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: array"),
        ("expected a map", "expected a JSON object"),
        ("expected a sequence", "expected a JSON array"),
        ("expected u8", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected isize", "expected an integer"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
    ];
    WORDS.iter().fold(message.to_owned(), |text, (from, to)| {
        text.replace(from, to)
    })
}

/// A struct read only from a JSON object, never from serde's positional array form.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, members: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(members))
    }
}

#[cfg(test)]
#[path = "json_body_tests.rs"]
mod tests;
