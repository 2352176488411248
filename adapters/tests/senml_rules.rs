//! SenML resolution rules beyond the RFC examples, mostly where Ferroflux fixes Mainflux
//! (reference §3.2, §10): relative times against the reception time, `bv`/`bs` carry-over,
//! resets, sum-only records, CBOR number forms, exact JSON numbers.

mod senml_common;

use adapters::senml::{Measurement, SenmlFormat, Value, normalize};
use ciborium::Value as Cbor;
use senml_common::{NOW, both, f, m};

/// Where Mainflux left relative times unresolved (reference §10) and RFC 8428 §4.5.3 applies.
#[test]
fn relative_times_resolve_against_reception_time() {
    const LIMIT: f64 = 268_435_456.0; // 2**28
    let table: [(&str, &[f64]); 7] = [
        (r#"[{"n":"a","v":1,"t":-5}]"#, &[NOW - 5.0]),
        (r#"[{"n":"a","v":1,"t":20}]"#, &[NOW + 20.0]),
        (r#"[{"n":"a","v":1,"t":0}]"#, &[NOW]),
        (
            r#"[{"bt":-60,"n":"a","v":1},{"n":"b","v":2,"t":30}]"#,
            &[NOW - 60.0, NOW - 30.0],
        ),
        // 2**28 itself is absolute; one second less is relative.
        (r#"[{"n":"a","v":1,"t":268435456}]"#, &[LIMIT]),
        (r#"[{"n":"a","v":1,"t":268435455}]"#, &[NOW + (LIMIT - 1.0)]),
        // An absolute base time makes a negative t absolute too.
        (r#"[{"bt":1.5e9,"n":"a","v":1,"t":-1e6}]"#, &[1.5e9 - 1e6]),
    ];
    for (pack, times) in table {
        let got: Vec<f64> = both(pack).iter().map(|m| m.time).collect();
        assert_eq!(got, times, "{pack}");
    }
}

#[test]
fn base_fields_carry_over_and_reset() {
    let sum = |name: &str, unit: Option<&str>, value: Option<Value>, sum: f64| Measurement {
        sum: Some(sum),
        value,
        ..m(name, unit, NOW, f(0.0))
    };
    let table: [(&str, Vec<Measurement>); 7] = [
        // bv carries over (Mainflux used only the record's own bv) and touches only v.
        (
            r#"[{"bn":"x:","bv":100,"n":"a","v":1},{"n":"b","v":2},{"n":"c","vs":"s"}]"#,
            vec![
                m("x:a", None, NOW, f(101.0)),
                m("x:b", None, NOW, f(102.0)),
                m("x:c", None, NOW, Value::String("s".into())),
            ],
        ),
        // bs carries over; a record without s still has the base sum (RFC 8428 §4.5.4).
        (
            r#"[{"bs":10,"n":"a","u":"J","s":1},{"n":"b","v":5}]"#,
            vec![
                sum("a", Some("J"), None, 11.0),
                sum("b", None, Some(f(5.0)), 10.0),
            ],
        ),
        // A record with a sum and no value (and one with a value and a sum).
        (
            r#"[{"n":"e","u":"J","s":42.5},{"n":"f","v":1,"s":2}]"#,
            vec![
                sum("e", Some("J"), None, 42.5),
                sum("f", None, Some(f(1.0)), 2.0),
            ],
        ),
        // A base field present with an empty value resets it; u "" falls back to bu.
        (
            r#"[{"bn":"p:","bu":"V","n":"a","v":1},{"n":"b","u":"","v":2},{"bn":"","bu":"","n":"c","v":3}]"#,
            vec![
                m("p:a", Some("V"), NOW, f(1.0)),
                m("p:b", Some("V"), NOW, f(2.0)),
                m("c", None, NOW, f(3.0)),
            ],
        ),
        // bt 0 resets an absolute base time to "now".
        (
            r#"[{"bt":1.5e9,"n":"a","v":1},{"bt":0,"n":"b","v":2}]"#,
            vec![m("a", None, 1.5e9, f(1.0)), m("b", None, NOW, f(2.0))],
        ),
        // Unknown labels are ignored, null is absent, one version throughout is fine.
        (
            r#"[{"bver":10,"n":"a","v":1,"l":"x","ext":{"deep":[1,[2]]},"vs":null},{"bver":10,"n":"b","vb":true}]"#,
            vec![
                m("a", None, NOW, f(1.0)),
                m("b", None, NOW, Value::Bool(true)),
            ],
        ),
        // Output is sorted by time; padded vd is stored canonical.
        (
            r#"[{"n":"late","v":1,"t":2e9},{"n":"early","vd":"aGk=","t":1.9e9}]"#,
            vec![
                m("early", None, 1.9e9, Value::Data("aGk".into())),
                m("late", None, 2e9, f(1.0)),
            ],
        ),
    ];
    for (pack, expected) in table {
        assert_eq!(both(pack), expected, "{pack}");
    }
}

#[test]
fn update_time_is_kept_as_a_period() {
    let got = both(r#"[{"bt":1.5e9,"n":"a","v":1,"ut":60}]"#);
    assert_eq!(got[0].update_time, Some(60.0));
    assert_eq!(got[0].time, 1.5e9);
}

#[test]
fn cbor_specifics() {
    // Decimal fraction (tag 4): 15e-1 = 1.5; integers where floats are expected; tag 55799.
    let record = Cbor::Map(vec![
        (Cbor::Integer(0.into()), Cbor::Text("a".into())),
        (
            Cbor::Integer(2.into()),
            Cbor::Tag(4, Box::new(Cbor::Array(vec![(-1).into(), 15.into()]))),
        ),
        (Cbor::Integer(6.into()), Cbor::Integer(1_500_000_000.into())),
        (Cbor::Integer(5.into()), Cbor::Float(2.0)),
    ]);
    let pack = Cbor::Tag(55799, Box::new(Cbor::Array(vec![record])));
    let mut bytes = Vec::new();
    ciborium::into_writer(&pack, &mut bytes).expect("CBOR");
    let got = normalize(&bytes, SenmlFormat::Cbor, NOW).expect("valid");
    let expected = Measurement {
        sum: Some(2.0),
        ..m("a", None, 1.5e9, f(1.5))
    };
    assert_eq!(got, vec![expected]);
}

#[test]
fn json_numbers_are_parsed_exactly() {
    // Found by the round-trip property: serde_json's default float parser reads this one ULP
    // off; `std`'s parser is correctly rounded, so a time survives encode → normalize.
    let text = "1467673244.1196637";
    let exact: f64 = text.parse().expect("float");
    let got = both(&format!(r#"[{{"n":"a","v":{text},"t":{text}}}]"#));
    assert_eq!(got, vec![m("a", None, exact, f(exact))]);
}
