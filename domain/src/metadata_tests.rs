use serde_json::json;

use super::*;

fn parse(text: &str) -> Result<Metadata, serde_json::Error> {
    serde_json::from_str(text)
}

fn nested(depth: usize) -> String {
    let mut text = "1".to_owned();
    for _ in 1..depth {
        text = format!("{{\"a\":{text}}}");
    }
    format!("{{\"a\":{text}}}")
}

#[test]
fn kept_as_compact_text_and_written_back_as_json() {
    let m = parse(" { \"a\" : [1, 2] ,\n \"b\": \"x y \\\" z\" } ").unwrap();
    assert_eq!(m.as_str(), r#"{"a":[1,2],"b":"x y \" z"}"#);
    let doc = json!({"metadata": m, "n": 1});
    assert_eq!(doc["metadata"]["b"], "x y \" z");
    assert_eq!(serde_json::to_string(&m).unwrap(), m.as_str());
    assert_eq!(m.to_map()["a"], json!([1, 2]));
}

#[test]
fn only_objects_are_metadata() {
    for text in ["[1]", "\"s\"", "1", "true"] {
        let error = parse(text).unwrap_err().to_string();
        assert!(
            error.contains("metadata must be a JSON object"),
            "{text}: {error}"
        );
    }
    assert!(parse("null").is_err());
    let absent: Option<Metadata> = serde_json::from_str("null").unwrap();
    assert!(absent.is_none());
}

#[test]
fn survives_a_round_trip_through_value() {
    let m = parse(r#"{"k":{"n":[true,null,1.5]}}"#).unwrap();
    let value = serde_json::to_value(&m).unwrap();
    let back: Metadata = serde_json::from_value(value).unwrap();
    assert_eq!(back.to_map(), m.to_map());
}

#[test]
fn limits_are_checked_with_plain_words() {
    let cases = [
        (nested(MAX_METADATA_DEPTH), None),
        (
            nested(MAX_METADATA_DEPTH + 1),
            Some("nested deeper than 16"),
        ),
        (
            format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_METADATA_BYTES)),
            Some("larger than 32768 bytes"),
        ),
        (r#"{"a":1,"a":2}"#.to_owned(), Some("a key twice")),
        (r#"{"a":"x\u0000y"}"#.to_owned(), Some("NUL")),
        (r#"{"a\u0000":1}"#.to_owned(), Some("NUL")),
        (r#"{"a":[{"b":1},{"b":1}]}"#.to_owned(), None),
    ];
    for (text, refused) in cases {
        let result = parse(&text).unwrap().check();
        match refused {
            None => assert!(result.is_ok(), "{text}: {result:?}"),
            Some(why) => {
                let message = result.unwrap_err().to_string();
                assert!(message.contains(why), "{message}");
                assert!(message.starts_with("metadata "), "{message}");
            }
        }
    }
    let many: Map<String, Value> = (0..=MAX_METADATA_KEYS)
        .map(|n| (n.to_string(), json!(0)))
        .collect();
    let message = Metadata::from(many).check().unwrap_err().to_string();
    assert!(message.contains("more than 1024 keys"), "{message}");
}

#[test]
fn the_amplifying_body_of_the_report_is_refused_small() {
    let zeros = vec![0; 1_000_000];
    let text = json!({"a": zeros}).to_string();
    let m = parse(&text).unwrap();
    assert_eq!(m.as_str().len(), text.len(), "held as text, not as a tree");
    assert!(m.check().is_err());
}
