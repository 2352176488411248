//! Invalid CBOR packs, as a table: CBOR-only failures (NaN, integer and text labels, tags,
//! trailing bytes), built with `ciborium::Value`. Checks shared with JSON are in
//! `senml_errors_json`; `senml_rfc` shows the two formats agree on valid packs.

mod senml_errors_common;

use adapters::senml::{SenmlError, SenmlFormat};
use ciborium::Value as Cbor;
use senml_errors_common::{Exact, Expect, NOW, Syntax, check, wrong};

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR");
    out
}

fn record(entries: Vec<(Cbor, Cbor)>) -> Cbor {
    Cbor::Map(entries)
}

fn int(i: i64) -> Cbor {
    Cbor::Integer(i.into())
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

#[test]
fn invalid_cbor_packs() {
    let ok = record(vec![(int(0), text("a")), (int(2), Cbor::Float(1.0))]);
    let pack = |records: Vec<Cbor>| cbor(&Cbor::Array(records));
    let mut trailing = pack(vec![ok.clone()]);
    trailing.push(0);
    let mut deep = vec![0x81; 100_000];
    deep.push(0);
    let syntax = |message: &str| Exact(SenmlError::Cbor(message.to_owned()));
    let table: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty payload", vec![], syntax("unexpected end of input")),
        ("truncated", pack(vec![ok.clone()])[..5].to_vec(), Syntax),
        (
            "trailing bytes",
            trailing,
            syntax("trailing bytes after the pack (1)"),
        ),
        ("nested too deeply", deep, syntax("items nested too deeply")),
        ("reserved initial byte", vec![0x1c], Syntax),
        (
            "huge declared length",
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            Syntax,
        ),
        (
            "invalid UTF-8 text",
            vec![0x81, 0xa1, 0x00, 0x62, 0xff, 0xfe],
            Syntax,
        ),
        (
            "map root",
            cbor(&ok),
            Exact(SenmlError::NotAnArray { found: "a map" }),
        ),
        (
            "bytes root",
            cbor(&Cbor::Bytes(vec![1])),
            Exact(SenmlError::NotAnArray {
                found: "a byte string",
            }),
        ),
        (
            "record a text",
            pack(vec![text("x")]),
            Exact(SenmlError::NotARecord {
                record: 0,
                found: "a text string",
            }),
        ),
        (
            "NaN value",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(2), Cbor::Float(f64::NAN)),
            ])]),
            Exact(SenmlError::NonFinite {
                record: 0,
                label: "v",
            }),
        ),
        (
            "infinite time",
            pack(vec![
                ok.clone(),
                record(vec![
                    (int(0), text("b")),
                    (int(2), int(1)),
                    (int(6), Cbor::Float(f64::INFINITY)),
                ]),
            ]),
            Exact(SenmlError::NonFinite {
                record: 1,
                label: "t",
            }),
        ),
        (
            "duplicate integer label",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(2), int(1)),
                (int(2), int(2)),
            ])]),
            Exact(SenmlError::DuplicateLabel {
                record: 0,
                label: "v",
            }),
        ),
        (
            "JSON text labels are extensions in CBOR, so ignored",
            pack(vec![record(vec![
                (text("n"), text("a")),
                (text("v"), int(1)),
            ])]),
            Exact(SenmlError::EmptyPack),
        ),
        (
            "must-understand text label",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(2), int(1)),
                (text("x_"), Cbor::Null),
            ])]),
            Exact(SenmlError::MustUnderstand {
                record: 0,
                label: "x_".into(),
            }),
        ),
        (
            "bver as float",
            pack(vec![record(vec![
                (int(-1), Cbor::Float(10.0)),
                (int(0), text("a")),
                (int(2), int(1)),
            ])]),
            wrong(0, "bver", "a positive integer"),
        ),
        (
            "unknown tag as value",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(2), Cbor::Tag(1, Box::new(int(5)))),
            ])]),
            wrong(0, "v", "a number"),
        ),
        (
            "malformed decimal fraction",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(2), Cbor::Tag(4, Box::new(int(5)))),
            ])]),
            wrong(0, "v", "a number"),
        ),
        (
            "decimal fraction overflow",
            pack(vec![record(vec![
                (int(0), text("a")),
                (
                    int(2),
                    Cbor::Tag(4, Box::new(Cbor::Array(vec![int(400), int(1)]))),
                ),
            ])]),
            Exact(SenmlError::NonFinite {
                record: 0,
                label: "v",
            }),
        ),
        (
            "vd as bool",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(8), Cbor::Bool(true)),
            ])]),
            wrong(0, "vd", "base64url text or a byte string"),
        ),
        (
            "huge integer time",
            pack(vec![record(vec![
                (int(0), text("a")),
                (int(2), int(1)),
                (int(6), int(-4_000_000_000_000_000_000)),
            ])]),
            Exact(SenmlError::TimeOutOfRange {
                record: 0,
                time: NOW - 4e18,
            }),
        ),
    ];
    for (case, payload, expected) in &table {
        check(SenmlFormat::Cbor, case, payload, expected);
    }
}
