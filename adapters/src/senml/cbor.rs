//! `application/senml+cbor` (RFC 8428 §6): parsing into raw records, and encoding measurements
//! back as a resolved pack.
//!
//! Parsing goes through `ciborium::Value`, which keeps duplicate map keys (refused later) and
//! tags (decimal fractions, tag 4, are numbers per §6). Encoding is written by hand: a resolved
//! pack needs six CBOR item kinds, and a direct writer is deterministic and cannot fail.

use ciborium::Value as Cbor;

use super::base64url;
use super::error::SenmlError;
use super::measurement::{Measurement, Value};
use super::record::{Key, Label, RawRecord, Scalar};

/// CBOR tag of a decimal fraction `[exponent, mantissa]` (RFC 8949 §3.4.4).
const DECIMAL_FRACTION: u64 = 4;
/// CBOR tag a sender may prefix to say "this is CBOR" (RFC 8949 §3.4.6); it means nothing else.
const SELF_DESCRIBED: u64 = 55799;

/// Parses a CBOR pack into raw records (no resolution yet).
pub(crate) fn parse(payload: &[u8]) -> Result<Vec<RawRecord>, SenmlError> {
    let mut rest = payload;
    let root: Cbor = ciborium::from_reader(&mut rest).map_err(describe)?;
    if !rest.is_empty() {
        let trailing = rest.len();
        return Err(SenmlError::Cbor(format!(
            "trailing bytes after the pack ({trailing})"
        )));
    }
    let items = match untag(root) {
        Cbor::Array(items) => items,
        other => {
            return Err(SenmlError::NotAnArray {
                found: kind(&other),
            });
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(record, item)| match item {
            Cbor::Map(entries) => {
                let entries = entries.into_iter().map(|(k, v)| (key(&k), scalar(v)));
                RawRecord::from_entries(record, entries)
            }
            other => Err(SenmlError::NotARecord {
                record,
                found: kind(&other),
            }),
        })
        .collect()
}

/// ciborium's `Display` is its `Debug`; say the same in words, with the byte offset.
fn describe(error: ciborium::de::Error<std::io::Error>) -> SenmlError {
    use ciborium::de::Error;
    SenmlError::Cbor(match error {
        Error::Io(_) => "unexpected end of input".to_owned(),
        Error::Syntax(offset) => format!("invalid CBOR at byte {offset}"),
        Error::Semantic(Some(offset), msg) => format!("{msg} at byte {offset}"),
        Error::Semantic(None, msg) => msg,
        Error::RecursionLimitExceeded => "items nested too deeply".to_owned(),
    })
}

fn untag(value: Cbor) -> Cbor {
    match value {
        Cbor::Tag(SELF_DESCRIBED, inner) => *inner,
        other => other,
    }
}

fn key(key: &Cbor) -> Key {
    match key {
        Cbor::Integer(i) => Key::cbor(i128::from(*i)),
        Cbor::Text(name) => Key::extension(name),
        _ => Key::Ignored,
    }
}

fn scalar(value: Cbor) -> Scalar {
    match value {
        Cbor::Null => Scalar::Null,
        Cbor::Bool(b) => Scalar::Bool(b),
        Cbor::Integer(i) => Scalar::Int(i128::from(i)),
        Cbor::Float(f) => Scalar::Float(f),
        Cbor::Text(s) => Scalar::Text(s),
        Cbor::Bytes(b) => Scalar::Bytes(b),
        Cbor::Tag(DECIMAL_FRACTION, inner) => decimal_fraction(&inner),
        other => Scalar::Other(kind(&other)),
    }
}

/// `[e, m]` is m × 10^e. Formatting it as `"{m}e{e}"` and parsing gives the correctly rounded
/// `f64`; an exponent out of range parses to 0 or ∞ (refused later as non-finite).
fn decimal_fraction(inner: &Cbor) -> Scalar {
    match inner {
        Cbor::Array(parts) => match parts.as_slice() {
            [Cbor::Integer(e), Cbor::Integer(m)] => {
                let (e, m) = (i128::from(*e), i128::from(*m));
                match format!("{m}e{e}").parse::<f64>() {
                    Ok(f) => Scalar::Float(f),
                    Err(_) => Scalar::Other("a malformed decimal fraction"),
                }
            }
            _ => Scalar::Other("a malformed decimal fraction"),
        },
        _ => Scalar::Other("a malformed decimal fraction"),
    }
}

fn kind(value: &Cbor) -> &'static str {
    match value {
        Cbor::Integer(_) | Cbor::Float(_) => "a number",
        Cbor::Bytes(_) => "a byte string",
        Cbor::Text(_) => "a text string",
        Cbor::Bool(_) => "a boolean",
        Cbor::Null => "null",
        Cbor::Tag(..) => "a tagged item",
        Cbor::Array(_) => "an array",
        Cbor::Map(_) => "a map",
        _ => "an unsupported CBOR item",
    }
}

/// Encodes measurements as a resolved CBOR pack with Table 4 integer labels; `normalize` of the
/// result gives the same measurements back. Fails only on a `Value::Data` that is not base64url,
/// which `normalize` never produces.
pub fn encode_cbor(measurements: &[Measurement]) -> Result<Vec<u8>, SenmlError> {
    let mut out = Vec::with_capacity(64 * measurements.len());
    head(&mut out, 4, measurements.len() as u64);
    for (record, m) in measurements.iter().enumerate() {
        let data = match &m.value {
            Some(Value::Data(text)) => {
                Some(base64url::decode(text).ok_or(SenmlError::InvalidDataValue { record })?)
            }
            _ => None,
        };
        let fields = 2
            + usize::from(m.unit.is_some())
            + usize::from(m.update_time.is_some())
            + usize::from(m.value.is_some())
            + usize::from(m.sum.is_some());
        head(&mut out, 5, fields as u64);
        label(&mut out, Label::Name);
        text(&mut out, &m.name);
        if let Some(unit) = &m.unit {
            label(&mut out, Label::Unit);
            text(&mut out, unit);
        }
        label(&mut out, Label::Time);
        float(&mut out, m.time);
        if let Some(ut) = m.update_time {
            label(&mut out, Label::UpdateTime);
            float(&mut out, ut);
        }
        match (&m.value, data) {
            (Some(Value::Float(v)), _) => {
                label(&mut out, Label::Value);
                float(&mut out, *v);
            }
            (Some(Value::String(vs)), _) => {
                label(&mut out, Label::StringValue);
                text(&mut out, vs);
            }
            (Some(Value::Bool(vb)), _) => {
                label(&mut out, Label::BoolValue);
                out.push(if *vb { 0xf5 } else { 0xf4 });
            }
            (Some(Value::Data(_)), Some(bytes)) => {
                label(&mut out, Label::DataValue);
                head(&mut out, 2, bytes.len() as u64);
                out.extend_from_slice(&bytes);
            }
            _ => {}
        }
        if let Some(sum) = m.sum {
            label(&mut out, Label::Sum);
            float(&mut out, sum);
        }
    }
    Ok(out)
}

/// A CBOR initial byte and argument (RFC 8949 §3), in the shortest form.
pub(super) fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A Table 4 label: major type 0 for 0..=8, major type 1 (−1 − n) for the negative base labels.
fn label(out: &mut Vec<u8>, label: Label) {
    let key = i64::from(label.cbor());
    if key >= 0 {
        head(out, 0, key.unsigned_abs());
    } else {
        head(out, 1, (-1 - key).unsigned_abs());
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn float(out: &mut Vec<u8>, f: f64) {
    out.push(0xfb);
    out.extend_from_slice(&f.to_be_bytes());
}
