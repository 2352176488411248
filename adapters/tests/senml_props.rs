//! Properties of the SenML normalizer:
//! 1. it never panics, on arbitrary bytes, on arbitrary JSON/CBOR trees shaped like packs, and
//!    on mutated valid packs;
//! 2. a valid generated pack (base fields, relative times, every value kind) normalizes, and
//!    `encode_json` / `encode_cbor` of the result normalize back to the same measurements;
//! 3. a pack's JSON and CBOR forms normalize identically, to what an independent model of
//!    RFC 8428 §4.5 predicts, with one measurement per record that has a value or a sum.

use adapters::senml::{
    Measurement, SenmlFormat, Value, bytes_to_data, check_name, encode_cbor, encode_json, normalize,
};
use ciborium::Value as Cbor;
use proptest::prelude::*;
use serde_json::{Map, Value as Json, json};

const NOW: f64 = 1_700_000_000.125;
const RELATIVE_LIMIT: f64 = 268_435_456.0;

/// A record as generated: the value kinds and base fields RFC 8428 allows.
#[derive(Debug, Clone, Default)]
struct Rec {
    bver: Option<u8>,
    bn: Option<String>,
    bt: Option<f64>,
    bu: Option<String>,
    bv: Option<f64>,
    bs: Option<f64>,
    n: Option<String>,
    u: Option<String>,
    t: Option<f64>,
    ut: Option<f64>,
    value: Option<Gen>,
    s: Option<f64>,
}

#[derive(Debug, Clone)]
enum Gen {
    V(f64),
    Vs(String),
    Vb(bool),
    Vd(Vec<u8>),
}

fn name_part() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9:./_-]{0,12}"
}

fn time() -> impl Strategy<Value = f64> {
    // Absolute (2001–2033) or relative to "now" (±11 days).
    prop_oneof![1.0e9..2.0e9, -1.0e6..1.0e6f64]
}

fn value() -> impl Strategy<Value = Gen> {
    prop_oneof![
        (-1.0e12..1.0e12f64).prop_map(Gen::V),
        "\\PC{0,16}".prop_map(Gen::Vs),
        any::<bool>().prop_map(Gen::Vb),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(Gen::Vd),
    ]
}

/// A record: base fields (each maybe), and either nothing regular (context only) or a value
/// and/or a sum with optional name, unit, time and update time.
fn record(version: Option<u8>) -> impl Strategy<Value = Rec> {
    let base = (
        match version {
            Some(v) => prop::option::of(Just(v)).boxed(),
            None => Just(None).boxed(),
        },
        prop::option::of(name_part()),
        prop::option::of(time()),
        prop::option::of("[A-Za-z%/]{0,4}"),
        prop::option::of(-1.0e6..1.0e6f64),
        prop::option::of(-1.0e6..1.0e6f64),
    );
    let regular = prop::option::of((
        prop::option::of("[A-Za-z0-9:./_-]{0,8}"),
        prop::option::of("[A-Za-z%/]{0,4}"),
        prop::option::of(-1.0e5..1.0e5f64),
        prop::option::of(0.0..1.0e6f64),
        prop::option::of(value()),
        prop::option::of(-1.0e9..1.0e9f64),
    ))
    .prop_filter("a measurement needs a value or a sum", |r| {
        r.as_ref().is_none_or(|r| r.4.is_some() || r.5.is_some())
    });
    (base, regular).prop_map(|((bver, bn, bt, bu, bv, bs), regular)| {
        let mut rec = Rec {
            bver,
            bn,
            bt,
            bu,
            bv,
            bs,
            ..Rec::default()
        };
        if let Some((n, u, t, ut, value, s)) = regular {
            (rec.n, rec.u, rec.t, rec.ut, rec.value, rec.s) = (n, u, t, ut, value, s);
        }
        rec
    })
}

/// A valid pack: record 0 has a base name (so every name starts well) and at least one record
/// is a measurement; every `bver` is the pack's one version.
fn pack() -> impl Strategy<Value = Vec<Rec>> {
    prop::option::of(1u8..=10)
        .prop_flat_map(|version| (name_part(), prop::collection::vec(record(version), 1..8)))
        .prop_map(|(bn, mut recs)| {
            recs[0].bn = Some(bn);
            // Without it, record 0 would have the default version 10.
            recs[0].bver = recs.iter().find_map(|r| r.bver);
            recs
        })
        .prop_filter("at least one measurement", |recs| {
            recs.iter().any(|r| r.value.is_some() || r.s.is_some())
        })
}

fn to_json(recs: &[Rec]) -> String {
    let records = recs.iter().map(|r| {
        let mut map = Map::new();
        let mut put = |k: &str, v: Option<Json>| {
            if let Some(v) = v {
                map.insert(k.to_owned(), v);
            }
        };
        put("bver", r.bver.map(|v| json!(v)));
        put("bn", r.bn.as_ref().map(|v| json!(v)));
        put("bt", r.bt.map(|v| json!(v)));
        put("bu", r.bu.as_ref().map(|v| json!(v)));
        put("bv", r.bv.map(|v| json!(v)));
        put("bs", r.bs.map(|v| json!(v)));
        put("n", r.n.as_ref().map(|v| json!(v)));
        put("u", r.u.as_ref().map(|v| json!(v)));
        put("t", r.t.map(|v| json!(v)));
        put("ut", r.ut.map(|v| json!(v)));
        put("s", r.s.map(|v| json!(v)));
        match &r.value {
            Some(Gen::V(v)) => put("v", Some(json!(v))),
            Some(Gen::Vs(vs)) => put("vs", Some(json!(vs))),
            Some(Gen::Vb(vb)) => put("vb", Some(json!(vb))),
            Some(Gen::Vd(vd)) => put("vd", Some(json!(bytes_to_data(vd)))),
            None => {}
        }
        Json::Object(map)
    });
    Json::Array(records.collect()).to_string()
}

fn to_cbor(recs: &[Rec]) -> Vec<u8> {
    let records = recs.iter().map(|r| {
        let mut map = Vec::new();
        let mut put = |k: i64, v: Option<Cbor>| {
            if let Some(v) = v {
                map.push((Cbor::Integer(k.into()), v));
            }
        };
        let text = |s: &String| Cbor::Text(s.clone());
        put(-1, r.bver.map(|v| Cbor::Integer(v.into())));
        put(-2, r.bn.as_ref().map(text));
        put(-3, r.bt.map(Cbor::Float));
        put(-4, r.bu.as_ref().map(text));
        put(-5, r.bv.map(Cbor::Float));
        put(-6, r.bs.map(Cbor::Float));
        put(0, r.n.as_ref().map(text));
        put(1, r.u.as_ref().map(text));
        put(6, r.t.map(Cbor::Float));
        put(7, r.ut.map(Cbor::Float));
        put(5, r.s.map(Cbor::Float));
        match &r.value {
            Some(Gen::V(v)) => put(2, Some(Cbor::Float(*v))),
            Some(Gen::Vs(vs)) => put(3, Some(text(vs))),
            Some(Gen::Vb(vb)) => put(4, Some(Cbor::Bool(*vb))),
            Some(Gen::Vd(vd)) => put(8, Some(Cbor::Bytes(vd.clone()))),
            None => {}
        }
        Cbor::Map(map)
    });
    let mut out = Vec::new();
    ciborium::into_writer(&Cbor::Array(records.collect()), &mut out).expect("CBOR");
    out
}

/// RFC 8428 §4.5 written as directly as possible, as the oracle.
fn model(recs: &[Rec]) -> Vec<Measurement> {
    let (mut bn, mut bt, mut bu, mut bv, mut bs) = (String::new(), 0.0, None, 0.0, None);
    let mut out = Vec::new();
    for r in recs {
        bn = r.bn.clone().unwrap_or(bn);
        bt = r.bt.unwrap_or(bt);
        bu =
            r.bu.clone()
                .map(|u| Some(u).filter(|u| !u.is_empty()))
                .unwrap_or(bu);
        bv = r.bv.unwrap_or(bv);
        bs = r.bs.or(bs);
        if r.value.is_none() && r.s.is_none() {
            continue;
        }
        let t = bt + r.t.unwrap_or(0.0);
        out.push(Measurement {
            name: format!("{bn}{}", r.n.clone().unwrap_or_default()),
            unit: r.u.clone().filter(|u| !u.is_empty()).or(bu.clone()),
            time: if t < RELATIVE_LIMIT { NOW + t } else { t },
            update_time: r.ut,
            value: r.value.as_ref().map(|v| match v {
                Gen::V(v) => Value::Float(bv + v),
                Gen::Vs(vs) => Value::String(vs.clone()),
                Gen::Vb(vb) => Value::Bool(*vb),
                Gen::Vd(vd) => Value::Data(bytes_to_data(vd)),
            }),
            sum: (bs.is_some() || r.s.is_some()).then(|| bs.unwrap_or(0.0) + r.s.unwrap_or(0.0)),
        });
    }
    out.sort_by(|a, b| a.time.total_cmp(&b.time));
    out
}

/// JSON-like trees shaped like packs: arrays of maps whose keys are mostly SenML labels.
fn json_tree() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,8}".prop_map(Json::String),
        Just(json!("aGkgCg")),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "bver", "bn", "bt", "bu", "bv", "bs", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut",
            "x_", "l",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,4}",
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
}

fn json_to_cbor(value: &Json) -> Cbor {
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or(Cbor::Float(n.as_f64().unwrap_or(0.0)), |i| {
                Cbor::Integer(i.into())
            }),
        Json::String(s) => Cbor::Text(s.clone()),
        Json::Array(a) => Cbor::Array(a.iter().map(json_to_cbor).collect()),
        Json::Object(o) => Cbor::Map(
            o.iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    // Alternate integer and text keys to reach both key paths.
                    let key = if i % 2 == 0 {
                        Cbor::Integer((k.len() as i64 - 3).into())
                    } else {
                        Cbor::Text(k.clone())
                    };
                    (key, json_to_cbor(v))
                })
                .collect(),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = normalize(&bytes, SenmlFormat::Json, NOW);
        let _ = normalize(&bytes, SenmlFormat::Cbor, NOW);
    }

    #[test]
    fn never_panics_on_pack_shaped_trees(tree in json_tree(), received_at in any::<f64>()) {
        let _ = normalize(tree.to_string().as_bytes(), SenmlFormat::Json, received_at);
        let wrapped = Json::Array(vec![tree.clone()]);
        let _ = normalize(wrapped.to_string().as_bytes(), SenmlFormat::Json, NOW);
        let mut bytes = Vec::new();
        ciborium::into_writer(&json_to_cbor(&tree), &mut bytes).expect("CBOR");
        let _ = normalize(&bytes, SenmlFormat::Cbor, received_at);
    }

    #[test]
    fn never_panics_on_mutated_valid_packs(
        recs in pack(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        for mut bytes in [to_json(&recs).into_bytes(), to_cbor(&recs)] {
            for (index, byte) in &edits {
                let i = index.index(bytes.len());
                bytes[i] = *byte;
            }
            let _ = normalize(&bytes, SenmlFormat::Json, NOW);
            let _ = normalize(&bytes, SenmlFormat::Cbor, NOW);
            bytes.truncate(bytes.len() / 2);
            let _ = normalize(&bytes, SenmlFormat::Cbor, NOW);
        }
    }

    #[test]
    fn valid_packs_match_the_model_in_both_formats(recs in pack()) {
        let from_json = normalize(to_json(&recs).as_bytes(), SenmlFormat::Json, NOW);
        let from_cbor = normalize(&to_cbor(&recs), SenmlFormat::Cbor, NOW);
        let from_json = from_json.map_err(|e| TestCaseError::fail(format!("{e}: {}", to_json(&recs))))?;
        prop_assert_eq!(&from_cbor, &Ok(from_json.clone()));
        prop_assert_eq!(&from_json, &model(&recs));
        let with_value = recs.iter().filter(|r| r.value.is_some() || r.s.is_some()).count();
        prop_assert_eq!(from_json.len(), with_value);
        for m in &from_json {
            prop_assert!(m.time >= RELATIVE_LIMIT && m.time.is_finite());
            prop_assert!(m.value.is_some() || m.sum.is_some());
            prop_assert!(check_name(&m.name).is_ok());
        }
        prop_assert!(from_json.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn what_normalize_accepts_round_trips(recs in pack()) {
        let once = normalize(to_json(&recs).as_bytes(), SenmlFormat::Json, NOW)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        // A different "now" proves the encoded pack has no relative time left.
        let later = NOW + 3600.0;
        let via_json = normalize(&encode_json(&once), SenmlFormat::Json, later);
        prop_assert_eq!(via_json, Ok(once.clone()));
        let cbor = encode_cbor(&once).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(normalize(&cbor, SenmlFormat::Cbor, later), Ok(once));
    }
}
