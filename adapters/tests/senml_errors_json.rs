//! Invalid JSON packs, as a table: payload → the exact error (or, for a syntax error, its kind).

mod senml_errors_common;

use adapters::senml::{MAX_NAME_LEN, NameError, SenmlError, SenmlFormat, normalize};
use senml_errors_common::{Exact, Expect, NOW, Syntax, check, wrong};

fn name(record: usize, reason: NameError) -> Expect {
    Exact(SenmlError::InvalidName { record, reason })
}

#[test]
fn invalid_json_packs() {
    let long = format!(r#"[{{"n":"{}","v":1}}]"#, "a".repeat(MAX_NAME_LEN + 1));
    let table: Vec<(&str, &str, Expect)> = vec![
        ("empty payload", "", Syntax),
        ("not JSON", "temperature=21", Syntax),
        ("truncated", r#"[{"n":"a","v":1}"#, Syntax),
        ("trailing garbage", r#"[{"n":"a","v":1}] x"#, Syntax),
        ("NaN literal", r#"[{"n":"a","v":NaN}]"#, Syntax),
        (
            "number out of f64 range",
            r#"[{"n":"a","v":1e400}]"#,
            Exact(SenmlError::NonFinite {
                record: 0,
                label: "v",
            }),
        ),
        (
            "object root",
            r#"{"n":"a","v":1}"#,
            Exact(SenmlError::NotAnArray { found: "an object" }),
        ),
        (
            "number root",
            "42",
            Exact(SenmlError::NotAnArray { found: "a number" }),
        ),
        (
            "string root",
            r#""x""#,
            Exact(SenmlError::NotAnArray { found: "a string" }),
        ),
        (
            "null root",
            "null",
            Exact(SenmlError::NotAnArray { found: "null" }),
        ),
        ("empty pack", "[]", Exact(SenmlError::EmptyPack)),
        (
            "only base fields",
            r#"[{"bn":"a:"},{}]"#,
            Exact(SenmlError::EmptyPack),
        ),
        (
            "record not a map",
            "[1]",
            Exact(SenmlError::NotARecord {
                record: 0,
                found: "a number",
            }),
        ),
        (
            "second record an array",
            r#"[{"n":"a","v":1},[]]"#,
            Exact(SenmlError::NotARecord {
                record: 1,
                found: "an array",
            }),
        ),
        (
            "duplicate label",
            r#"[{"n":"a","v":1,"v":2}]"#,
            Exact(SenmlError::DuplicateLabel {
                record: 0,
                label: "v",
            }),
        ),
        (
            "v as string",
            r#"[{"n":"a","v":"1"}]"#,
            wrong(0, "v", "a number"),
        ),
        (
            "n as number",
            r#"[{"n":1,"v":1}]"#,
            wrong(0, "n", "a string"),
        ),
        (
            "vb as string",
            r#"[{"n":"a","vb":"true"}]"#,
            wrong(0, "vb", "a boolean"),
        ),
        (
            "bt as object",
            r#"[{"n":"a","v":1,"bt":{}}]"#,
            wrong(0, "bt", "a number"),
        ),
        (
            "bver as float",
            r#"[{"bver":10.0,"n":"a","v":1}]"#,
            wrong(0, "bver", "a positive integer"),
        ),
        (
            "vd as number",
            r#"[{"n":"a","vd":1}]"#,
            wrong(0, "vd", "base64url text or a byte string"),
        ),
        (
            "must-understand label",
            r#"[{"n":"a","v":1},{"n":"b","v":2,"crit_":true}]"#,
            Exact(SenmlError::MustUnderstand {
                record: 1,
                label: "crit_".into(),
            }),
        ),
        (
            "v overflows with bv",
            r#"[{"bv":1.7e308,"n":"a","v":1.7e308}]"#,
            Exact(SenmlError::NonFinite {
                record: 0,
                label: "v",
            }),
        ),
        (
            "sum overflows with bs",
            r#"[{"bs":-1.7e308,"n":"a","s":-1.7e308}]"#,
            Exact(SenmlError::NonFinite {
                record: 0,
                label: "s",
            }),
        ),
        (
            "time overflows",
            r#"[{"bt":1.7e308,"n":"a","v":1,"t":1.7e308}]"#,
            Exact(SenmlError::NonFinite {
                record: 0,
                label: "t",
            }),
        ),
        (
            "vd standard alphabet",
            r#"[{"n":"a","vd":"a+b/"}]"#,
            Exact(SenmlError::InvalidDataValue { record: 0 }),
        ),
        (
            "vd trailing bits",
            r#"[{"n":"a","vd":"QR"}]"#,
            Exact(SenmlError::InvalidDataValue { record: 0 }),
        ),
        (
            "vd one char",
            r#"[{"n":"a","vd":"Q"}]"#,
            Exact(SenmlError::InvalidDataValue { record: 0 }),
        ),
        (
            "vd bad padding",
            r#"[{"n":"a","vd":"QQ="}]"#,
            Exact(SenmlError::InvalidDataValue { record: 0 }),
        ),
        (
            "version above 10",
            r#"[{"bver":11,"n":"a","v":1}]"#,
            Exact(SenmlError::UnsupportedVersion {
                record: 0,
                version: 11,
            }),
        ),
        (
            "version 0",
            r#"[{"bver":0,"n":"a","v":1}]"#,
            Exact(SenmlError::UnsupportedVersion {
                record: 0,
                version: 0,
            }),
        ),
        (
            "negative version",
            r#"[{"n":"a","v":1},{"bver":-1,"n":"a","v":1}]"#,
            Exact(SenmlError::UnsupportedVersion {
                record: 1,
                version: -1,
            }),
        ),
        (
            "version change",
            r#"[{"bver":5,"n":"a","v":1},{"n":"b","v":2},{"bver":6,"n":"c","v":3}]"#,
            Exact(SenmlError::VersionChange {
                record: 2,
                expected: 5,
                found: 6,
            }),
        ),
        (
            "version change from the default",
            r#"[{"n":"a","v":1},{"bver":5,"n":"b","v":2}]"#,
            Exact(SenmlError::VersionChange {
                record: 1,
                expected: 10,
                found: 5,
            }),
        ),
        (
            "no value",
            r#"[{"n":"a"}]"#,
            Exact(SenmlError::NoValue { record: 0 }),
        ),
        (
            "unit but no value",
            r#"[{"n":"a","v":1},{"n":"b","u":"V"}]"#,
            Exact(SenmlError::NoValue { record: 1 }),
        ),
        (
            "time but no value",
            r#"[{"bn":"a","t":5}]"#,
            Exact(SenmlError::NoValue { record: 0 }),
        ),
        (
            "v and vs",
            r#"[{"n":"a","v":1,"vs":"x"}]"#,
            Exact(SenmlError::TooManyValues { record: 0 }),
        ),
        (
            "vb and vd",
            r#"[{"n":"a","vb":true,"vd":"aGk"}]"#,
            Exact(SenmlError::TooManyValues { record: 0 }),
        ),
        ("no name", r#"[{"v":1}]"#, name(0, NameError::Empty)),
        (
            "name starts with _",
            r#"[{"n":"_a","v":1}]"#,
            name(0, NameError::BadStart('_')),
        ),
        (
            "base name starts with -",
            r#"[{"bn":"-x:","n":"a","v":1}]"#,
            name(0, NameError::BadStart('-')),
        ),
        (
            "space in name",
            r#"[{"n":"a b","v":1}]"#,
            name(0, NameError::BadChar(' ')),
        ),
        (
            "non-ASCII name",
            r#"[{"n":"tempé","v":1}]"#,
            name(0, NameError::BadChar('é')),
        ),
        (
            "name too long",
            &long,
            name(
                0,
                NameError::TooLong {
                    len: MAX_NAME_LEN + 1,
                },
            ),
        ),
        (
            "relative time before 1978",
            r#"[{"n":"a","v":1,"t":-1.5e9}]"#,
            Exact(SenmlError::TimeOutOfRange {
                record: 0,
                time: NOW - 1.5e9,
            }),
        ),
        (
            "negative ut",
            r#"[{"n":"a","v":1,"ut":-1}]"#,
            Exact(SenmlError::NegativeUpdateTime { record: 0 }),
        ),
    ];
    for (case, payload, expected) in &table {
        check(SenmlFormat::Json, case, payload.as_bytes(), expected);
    }
}

#[test]
fn errors_name_the_record_and_the_reason() {
    let cases = [
        (r#"[{"n":"a","v":1},{"n":"b"}]"#, "record 1 has no value"),
        (
            r#"[{"n":"a b","v":1}]"#,
            "record 0: invalid name: ' ' is not allowed",
        ),
        (
            r#"[{"bver":11,"n":"a","v":1}]"#,
            "unsupported SenML version 11",
        ),
        ("{}", "must be an array of records, not an object"),
    ];
    for (pack, message) in cases {
        let error = normalize(pack.as_bytes(), SenmlFormat::Json, NOW).expect_err(pack);
        assert!(error.to_string().contains(message), "{error}");
    }
}
