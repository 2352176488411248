use axum::body::Body;
use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Sample {
    name: Option<String>,
    count: Option<u64>,
    metadata: Option<domain::values::Metadata>,
}

async fn body<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let request = Request::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(text.to_owned()))
        .unwrap();
    JsonBody::<T>::from_request(request, &())
        .await
        .map(|JsonBody(v)| v)
}

async fn list<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, ApiError> {
    let request = Request::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(text.to_owned()))
        .unwrap();
    JsonList::<T>::from_request(request, &())
        .await
        .map(|JsonList(v)| v)
}

/// Words no user should read: Rust types and serde's names for JSON shapes.
const JARGON: [&str; 7] = [
    "struct", "Sample", "u64", "usize", "sequence", " map", "elements",
];

fn assert_plain(error: &ApiError, wanted: &str) {
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
    assert!(
        error.message.contains(wanted),
        "{:?} lacks {wanted:?}",
        error.message
    );
    for word in JARGON {
        assert!(
            !error.message.contains(word),
            "{:?} says {word:?}",
            error.message
        );
    }
}

#[tokio::test]
async fn objects_only_with_errors_in_plain_words() {
    let refused = [
        (r#"["arr-name",{"x":1}]"#, "expected a JSON object"),
        ("[]", "expected a JSON object"),
        ("\"text\"", "expected a JSON object"),
        ("{", "EOF"),
        (
            r#"{"name":1}"#,
            "name: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"count":-1}"#,
            "count: invalid value: integer `-1`, expected a non-negative integer",
        ),
        (r#"{"count":[1]}"#, "count: invalid type: array"),
        (
            r#"{"metadata":[1]}"#,
            "metadata: metadata must be a JSON object",
        ),
        (r#"{"name":"a"} trailing"#, "trailing characters"),
    ];
    for (text, wanted) in refused {
        let error = body::<Sample>(text).await.unwrap_err();
        assert_plain(&error, wanted);
    }
}

#[tokio::test]
async fn unknown_fields_are_ignored_as_mainflux_does() {
    let sample = body::<Sample>(r#"{"name":"a","colour":"red"}"#)
        .await
        .unwrap();
    assert_eq!(sample.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn lists_are_arrays_of_objects() {
    let items = list::<Sample>(r#"[{"name":"a"},{}]"#).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_plain(
        &list::<Sample>(r#"{"name":"a"}"#).await.unwrap_err(),
        "expected a JSON array",
    );
    let positional = list::<Sample>(r#"[{"name":"a"},["b",1]]"#)
        .await
        .unwrap_err();
    assert_plain(
        &positional,
        "[1]: invalid type: array, expected a JSON object",
    );
}
