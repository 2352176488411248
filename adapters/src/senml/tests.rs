//! Unit tests of the private pieces: base64url, label tables, the CBOR writer, content types,
//! names. Whole-pack behaviour (RFC vectors, errors, properties) is in `adapters/tests/senml_*`.

use super::record::{Key, Label};
use super::*;

#[test]
fn base64url_matches_rfc4648_vectors() {
    // RFC 4648 §10, in the URL-safe alphabet without padding.
    let cases: [(&[u8], &str); 7] = [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"),
        (b"foobar", "Zm9vYmFy"),
    ];
    for (bytes, text) in cases {
        assert_eq!(base64url::encode(bytes), text);
        assert_eq!(base64url::decode(text).as_deref(), Some(bytes), "{text}");
    }
    // The characters that differ from standard base64.
    assert_eq!(base64url::encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(base64url::decode("-_8"), Some(vec![0xfb, 0xff]));
}

#[test]
fn base64url_tolerates_padding_but_nothing_else() {
    let table: [(&str, Option<&str>); 12] = [
        ("Zg==", Some("Zg")),
        ("Zm8=", Some("Zm8")),
        ("Zm9v", Some("Zm9v")),
        ("aGkgCg", Some("aGkgCg")),
        ("Zg=", None),   // short padding
        ("Zg===", None), // too much padding
        ("Zm9v=", None), // padding after a full group
        ("Z", None),     // a lone character encodes no byte
        ("Zh", None),    // non-zero trailing bits
        ("Zm9=", None),  // non-zero trailing bits, padded
        ("Zm+v", None),  // standard alphabet
        ("Zm 9v", None), // whitespace
    ];
    for (text, canonical) in table {
        assert_eq!(base64url::canonical(text), canonical, "{text:?}");
    }
}

#[test]
fn label_tables_are_rfc8428_tables_1_and_4() {
    let expected = [
        ("bver", -1),
        ("bn", -2),
        ("bt", -3),
        ("bu", -4),
        ("bv", -5),
        ("bs", -6),
        ("n", 0),
        ("u", 1),
        ("v", 2),
        ("vs", 3),
        ("vb", 4),
        ("s", 5),
        ("t", 6),
        ("ut", 7),
        ("vd", 8),
    ];
    for (json, cbor) in expected {
        let Key::Known(label) = Key::json(json) else {
            panic!("{json} unknown");
        };
        assert_eq!(label.cbor(), cbor, "{json}");
        assert_eq!(Key::cbor(cbor.into()), Key::Known(label));
        assert_eq!(label.json(), json);
    }
    assert_eq!(Label::ALL.len(), expected.len());
}

#[test]
fn unknown_labels_are_ignored_unless_they_end_with_underscore() {
    assert_eq!(Key::json("l"), Key::Ignored);
    assert_eq!(Key::json("V"), Key::Ignored); // labels are case-sensitive
    assert_eq!(Key::json("ext_"), Key::MustUnderstand("ext_".into()));
    assert_eq!(Key::cbor(9), Key::Ignored);
    assert_eq!(Key::cbor(-7), Key::Ignored);
    let long = "x".repeat(100) + "_";
    let Key::MustUnderstand(clipped) = Key::json(&long) else {
        panic!("must-understand expected");
    };
    assert_eq!(clipped.len(), error::MAX_LABEL_IN_ERROR);
}

#[test]
fn cbor_writer_output_is_read_back_by_ciborium() {
    let m = Measurement {
        name: "urn:dev:x".into(),
        unit: Some("Cel".into()),
        time: 1.5e9,
        update_time: Some(30.0),
        value: Some(Value::Data("aGkgCg".into())),
        sum: Some(-2.5),
    };
    let bytes = encode_cbor(&[m]).expect("valid data");
    let value: ciborium::Value = ciborium::from_reader(bytes.as_slice()).expect("valid CBOR");
    let expected = ciborium::Value::Array(vec![ciborium::Value::Map(vec![
        (0.into(), "urn:dev:x".into()),
        (1.into(), "Cel".into()),
        (6.into(), 1.5e9.into()),
        (7.into(), 30.0.into()),
        (8.into(), ciborium::Value::Bytes(b"hi \n".to_vec())),
        (5.into(), (-2.5).into()),
    ])]);
    assert_eq!(value, expected);
}

#[test]
fn cbor_heads_use_the_shortest_form() {
    let cases: [(u64, &[u8]); 6] = [
        (0, &[0x80]),
        (23, &[0x97]),
        (24, &[0x98, 24]),
        (256, &[0x99, 1, 0]),
        (65_536, &[0x9a, 0, 1, 0, 0]),
        (1 << 32, &[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]),
    ];
    for (n, expected) in cases {
        let mut out = Vec::new();
        cbor::head(&mut out, 4, n);
        assert_eq!(out, expected, "{n}");
    }
}

#[test]
fn encode_cbor_refuses_data_that_is_not_base64url() {
    let m = Measurement {
        name: "a".into(),
        unit: None,
        time: 1.5e9,
        update_time: None,
        value: Some(Value::Data("not base64!".into())),
        sum: None,
    };
    assert_eq!(
        encode_cbor(&[m]),
        Err(SenmlError::InvalidDataValue { record: 0 })
    );
}

#[test]
fn content_types() {
    let table = [
        ("application/senml+json", Some(SenmlFormat::Json)),
        ("Application/SenML+JSON", Some(SenmlFormat::Json)),
        (
            "application/senml+json; charset=utf-8",
            Some(SenmlFormat::Json),
        ),
        ("  application/senml+cbor ;x=y", Some(SenmlFormat::Cbor)),
        ("application/senml+cbor", Some(SenmlFormat::Cbor)),
        ("application/json", None),
        ("application/sensml+json", None),
        ("application/senml-exi", None),
        ("application/senml+xml", None),
        ("text/plain", None),
        ("", None),
    ];
    for (content_type, format) in table {
        assert_eq!(
            SenmlFormat::from_content_type(content_type),
            format,
            "{content_type:?}"
        );
    }
    for format in [SenmlFormat::Json, SenmlFormat::Cbor] {
        assert_eq!(
            SenmlFormat::from_content_type(format.content_type()),
            Some(format)
        );
    }
}

#[test]
fn names_follow_rfc8428_4_5_1() {
    let long_ok = "a".repeat(MAX_NAME_LEN);
    let too_long = "a".repeat(MAX_NAME_LEN + 1);
    let table: [(&str, Result<(), NameError>); 11] = [
        ("urn:dev:ow:10e2073a01080063", Ok(())),
        ("2001:db8::2/temperature", Ok(())),
        ("A-b_c.d/e:f", Ok(())),
        ("0", Ok(())),
        (&long_ok, Ok(())),
        ("", Err(NameError::Empty)),
        ("_a", Err(NameError::BadStart('_'))),
        (":a", Err(NameError::BadStart(':'))),
        ("a b", Err(NameError::BadChar(' '))),
        ("tempé", Err(NameError::BadChar('é'))),
        (
            &too_long,
            Err(NameError::TooLong {
                len: MAX_NAME_LEN + 1,
            }),
        ),
    ];
    for (name, expected) in table {
        assert_eq!(check_name(name), expected, "{name:?}");
    }
}

#[test]
fn value_fields_are_mainflux_columns() {
    assert_eq!(Value::Float(1.0).field(), "value");
    assert_eq!(Value::String(String::new()).field(), "string_value");
    assert_eq!(Value::Bool(true).field(), "bool_value");
    assert_eq!(Value::Data(String::new()).field(), "data_value");
}
