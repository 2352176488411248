//! SenML vectors: RFC 8428's examples (§5.1.1–§5.1.7) and its CBOR dump (§6). Each vector is
//! checked in JSON and, converted to CBOR with integer labels, in CBOR: both must normalize
//! identically (see `senml_common`).
//!
//! Expected times are written as the same `f64` arithmetic the RFC describes (`BT - 5.0`), so
//! the comparison is exact.

mod senml_common;

use adapters::senml::{
    Measurement, SenmlFormat, Value, bytes_to_data, data_to_bytes, encode_json, normalize,
};
use senml_common::{NOW, both, f, m};

#[test]
fn rfc8428_5_1_1_single_data_point() {
    let pack = r#"[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]"#;
    // No time at all: "roughly now", i.e. the reception time.
    let expected = vec![m("urn:dev:ow:10e2073a01080063", Some("Cel"), NOW, f(23.1))];
    assert_eq!(both(pack), expected);
}

#[test]
fn rfc8428_5_1_2_multiple_data_points_now() {
    let pack = r#"[
      {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
      {"n":"current","u":"A","v":1.2}
    ]"#;
    let expected = vec![
        m(
            "urn:dev:ow:10e2073a01080063:voltage",
            Some("V"),
            NOW,
            f(120.1),
        ),
        m(
            "urn:dev:ow:10e2073a01080063:current",
            Some("A"),
            NOW,
            f(1.2),
        ),
    ];
    assert_eq!(both(pack), expected);
}

const RFC_5_1_2_TIMED: &str = include_str!("vectors/rfc8428-5.1.2.json");

fn rfc_5_1_2_timed_expected() -> Vec<Measurement> {
    const BT: f64 = 1.276020076001e+09;
    let current = "urn:dev:ow:10e2073a0108006:current";
    // bt is absolute, so t = -5 is 5 s before it, not before "now". Sorted by time, stably:
    // the voltage (record 0) precedes the current at the same instant (record 6).
    vec![
        m(current, Some("A"), BT - 5.0, f(1.2)),
        m(current, Some("A"), BT - 4.0, f(1.3)),
        m(current, Some("A"), BT - 3.0, f(1.4)),
        m(current, Some("A"), BT - 2.0, f(1.5)),
        m(current, Some("A"), BT - 1.0, f(1.6)),
        m(
            "urn:dev:ow:10e2073a0108006:voltage",
            Some("V"),
            BT,
            f(120.1),
        ),
        m(current, Some("A"), BT, f(1.7)),
    ]
}

#[test]
fn rfc8428_5_1_2_multiple_data_points_with_base_time() {
    assert_eq!(both(RFC_5_1_2_TIMED), rfc_5_1_2_timed_expected());
}

#[test]
fn rfc8428_6_cbor_dump_is_the_5_1_2_pack() {
    // RFC 8428 §6, byte for byte: integer labels, bver 5, a half-precision 1.5, "6: 0".
    let hex = "87a721781b75726e3a6465763a6f773a31306532303733613031303830303\
               63a22fb41d303a15b00106223614120050067766f6c7461676501615602fb\
               405e066666666666a3006763757272656e740624 02fb3ff3333333333333\
               a3006763757272656e74062302fb3ff4cccccccccccda300676375727265\
               6e74062202fb3ff6666666666666a3006763757272656e74062102f93e00\
               a3006763757272656e74062002fb3ff999999999999aa300676375727265\
               6e74060002fb3ffb333333333333";
    let hex: String = hex.chars().filter(char::is_ascii_hexdigit).collect();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    assert_eq!(bytes.len(), 0xc3, "the RFC dump is 195 bytes");
    let measurements = normalize(&bytes, SenmlFormat::Cbor, NOW).expect("RFC CBOR");
    assert_eq!(measurements, rfc_5_1_2_timed_expected());
}

#[test]
fn rfc8428_5_1_2_sensml_stream_prefix() {
    // The SensML example of §5.1.2, up to its "...".
    const BT: f64 = 1.320067464e+09;
    let pack = r#"[
      {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,"bu":"%RH","v":21.2},
      {"t":10,"v":21.3}, {"t":20,"v":21.4}, {"t":30,"v":21.4}, {"t":40,"v":21.5},
      {"t":50,"v":21.5}, {"t":60,"v":21.5}, {"t":70,"v":21.6}, {"t":80,"v":21.7}
    ]"#;
    let values = [21.2, 21.3, 21.4, 21.4, 21.5, 21.5, 21.5, 21.6, 21.7];
    let expected: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let time = BT + 10.0 * i as f64;
            m("urn:dev:ow:10e2073a01080063", Some("%RH"), time, f(*v))
        })
        .collect();
    assert_eq!(both(pack), expected);
}

const RFC_5_1_3: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
   "bu":"%RH","v":20},
  {"u":"lon","v":24.30621},
  {"u":"lat","v":60.07965},
  {"t":60,"v":20.3},
  {"u":"lon","t":60,"v":24.30622},
  {"u":"lat","t":60,"v":60.07965},
  {"t":120,"v":20.7},
  {"u":"lon","t":120,"v":24.30623},
  {"u":"lat","t":120,"v":60.07966},
  {"u":"%EL","t":150,"v":98},
  {"t":180,"v":21.2},
  {"u":"lon","t":180,"v":24.30628},
  {"u":"lat","t":180,"v":60.07967}
]"#;

/// RFC 8428 §5.1.4: the resolved form of §5.1.3, verbatim.
const RFC_5_1_4: &str = r#"[
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,"v":20},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,"v":24.30621},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,"v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,"v":20.3},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,"v":24.30622},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,"v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,"v":20.7},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,"v":24.30623},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,"v":60.07966},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,"v":98},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,"v":21.2},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,"v":24.30628},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,"v":60.07967}
]"#;

#[test]
fn rfc8428_5_1_3_multiple_measurements_resolve_to_5_1_4() {
    let name = "urn:dev:ow:10e2073a01080063";
    let rows: [(&str, f64, f64); 13] = [
        ("%RH", 1.320067464e+09, 20.0),
        ("lon", 1.320067464e+09, 24.30621),
        ("lat", 1.320067464e+09, 60.07965),
        ("%RH", 1.320067524e+09, 20.3),
        ("lon", 1.320067524e+09, 24.30622),
        ("lat", 1.320067524e+09, 60.07965),
        ("%RH", 1.320067584e+09, 20.7),
        ("lon", 1.320067584e+09, 24.30623),
        ("lat", 1.320067584e+09, 60.07966),
        ("%EL", 1.320067614e+09, 98.0),
        ("%RH", 1.320067644e+09, 21.2),
        ("lon", 1.320067644e+09, 24.30628),
        ("lat", 1.320067644e+09, 60.07967),
    ];
    let expected: Vec<_> = rows
        .iter()
        .map(|(unit, time, v)| m(name, Some(unit), *time, f(*v)))
        .collect();
    assert_eq!(both(RFC_5_1_3), expected);
    assert_eq!(
        both(RFC_5_1_4),
        expected,
        "the resolved form is a fixed point"
    );
}

#[test]
fn rfc8428_5_1_5_multiple_data_types() {
    let pack = r#"[
      {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
      {"n":"label","vs":"Machine Room"},
      {"n":"open","vb":false},
      {"n":"nfv-reader","vd":"aGkgCg"}
    ]"#;
    let p = "urn:dev:ow:10e2073a01080063:";
    let expected = vec![
        m(&format!("{p}temp"), Some("Cel"), NOW, f(23.1)),
        m(
            &format!("{p}label"),
            None,
            NOW,
            Value::String("Machine Room".into()),
        ),
        m(&format!("{p}open"), None, NOW, Value::Bool(false)),
        m(
            &format!("{p}nfv-reader"),
            None,
            NOW,
            Value::Data("aGkgCg".into()),
        ),
    ];
    assert_eq!(both(pack), expected);
    assert_eq!(data_to_bytes("aGkgCg").as_deref(), Some(&b"hi \n"[..]));
}

#[test]
fn rfc8428_5_1_6_collection_of_resources() {
    // "the last record would use the Base Name from the 3rd record but the Base Time from the
    // first record."
    const BT: f64 = 1.320078429e+09;
    let pack = r#"[
      {"bn":"2001:db8::2/","bt":1.320078429e+09,
       "n":"temperature","u":"Cel","v":25.2},
      {"n":"humidity","u":"%RH","v":30},
      {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
      {"n":"humidity","u":"%RH","v":67}
    ]"#;
    let expected = vec![
        m("2001:db8::2/temperature", Some("Cel"), BT, f(25.2)),
        m("2001:db8::2/humidity", Some("%RH"), BT, f(30.0)),
        m("2001:db8::1/temperature", Some("Cel"), BT, f(12.3)),
        m("2001:db8::1/humidity", Some("%RH"), BT, f(67.0)),
    ];
    assert_eq!(both(pack), expected);
}

#[test]
fn rfc8428_5_1_7_setting_an_actuator() {
    // The first record only sets the base name: it is context, not a measurement.
    let thermostat = r#"[
      {"bn":"urn:dev:ow:10e2073a01080063:"},
      {"n":"temp","u":"Cel","v":23.1},
      {"n":"heat","u":"/","v":1},
      {"n":"fan","u":"/","v":0}
    ]"#;
    let p = "urn:dev:ow:10e2073a01080063:";
    let expected = vec![
        m(&format!("{p}temp"), Some("Cel"), NOW, f(23.1)),
        m(&format!("{p}heat"), Some("/"), NOW, f(1.0)),
        m(&format!("{p}fan"), Some("/"), NOW, f(0.0)),
    ];
    assert_eq!(both(thermostat), expected);
}

#[test]
fn rfc8428_5_1_7_lights_on_and_timed_off() {
    const BT: f64 = 1.320078429e+09;
    let on = r#"[
      {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":1},
      {"n":"2001:db8::4","v":1}
    ]"#;
    let expected = vec![
        m("2001:db8::3", Some("/"), BT, f(1.0)),
        m("2001:db8::4", Some("/"), BT, f(1.0)),
    ];
    assert_eq!(both(on), expected);

    let dim_then_off = r#"[
      {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},
      {"n":"2001:db8::4","v":0.5},
      {"n":"2001:db8::3","t":0.1,"v":0},
      {"n":"2001:db8::4","t":0.1,"v":0}
    ]"#;
    let expected = vec![
        m("2001:db8::3", Some("/"), BT, f(0.5)),
        m("2001:db8::4", Some("/"), BT, f(0.5)),
        m("2001:db8::3", Some("/"), BT + 0.1, f(0.0)),
        m("2001:db8::4", Some("/"), BT + 0.1, f(0.0)),
    ];
    assert_eq!(both(dim_then_off), expected);
}

#[test]
fn encoded_rfc_vectors_normalize_to_themselves() {
    for pack in [RFC_5_1_2_TIMED, RFC_5_1_3] {
        let once = both(pack);
        let encoded = String::from_utf8(encode_json(&once)).expect("UTF-8");
        assert_eq!(both(&encoded), once, "{encoded}");
        assert!(!encoded.contains("\"b"), "no base fields in {encoded}");
    }
    assert_eq!(bytes_to_data(b"hi \n"), "aGkgCg");
}
