//! Base-field resolution (RFC 8428 §4.1, §4.5, §4.6): raw records in, measurements out.
//!
//! Every base field present in a record replaces the one in force, for that record and all
//! later ones (RFC 8428 §4), whatever its value: `"bn":""` or `"bt":0` reset it. Mainflux only
//! replaced on non-empty/non-zero values and did not carry `bv` at all (reference §3.2, §10).

use super::MAX_NAME_LEN;
use super::error::{NameError, SenmlError};
use super::measurement::{Measurement, Value};
use super::record::RawRecord;

/// Times below 2**28 s are relative to "now" (RFC 8428 §4.5.3).
pub const RELATIVE_TIME_LIMIT: f64 = 268_435_456.0;

/// The RFC's default version, used when no `bver` is in force (RFC 8428 §4.1).
const DEFAULT_VERSION: u8 = 10;

/// The base fields in force while walking a pack.
#[derive(Default)]
struct Base<'a> {
    name: &'a str,
    time: f64,
    unit: Option<&'a str>,
    value: f64,
    sum: Option<f64>,
    version: Option<u8>,
}

/// Resolves a pack. `received_at` (seconds since the epoch) is "now" for relative times; it
/// must itself be ≥ 2**28, as any real clock is.
///
/// The result is sorted by time, stably (RFC 8428 §4.6 wants resolved records in chronological
/// order; Mainflux sorted too). Records of base fields only yield nothing.
pub fn resolve(records: &[RawRecord], received_at: f64) -> Result<Vec<Measurement>, SenmlError> {
    let mut base = Base::default();
    let mut out = Vec::with_capacity(records.len());
    for (index, raw) in records.iter().enumerate() {
        base.apply(index, raw)?;
        if raw.has_regular_field() {
            out.push(measurement(index, raw, &base, received_at)?);
        }
    }
    if out.is_empty() {
        return Err(SenmlError::EmptyPack);
    }
    out.sort_by(|a, b| a.time.total_cmp(&b.time));
    Ok(out)
}

impl<'a> Base<'a> {
    fn apply(&mut self, record: usize, raw: &'a RawRecord) -> Result<(), SenmlError> {
        // RFC 8428 §4.4: one version per pack; a record without `bver` has the one in force.
        let version = raw.bver.or(self.version).unwrap_or(DEFAULT_VERSION);
        let expected = self.version.unwrap_or(DEFAULT_VERSION);
        if record > 0 && version != expected {
            let found = version;
            return Err(SenmlError::VersionChange {
                record,
                expected,
                found,
            });
        }
        self.version = Some(version);
        if let Some(bn) = &raw.bn {
            self.name = bn;
        }
        if let Some(bt) = raw.bt {
            self.time = bt;
        }
        if let Some(bu) = &raw.bu {
            self.unit = Some(bu.as_str()).filter(|u| !u.is_empty());
        }
        if let Some(bv) = raw.bv {
            self.value = bv;
        }
        if let Some(bs) = raw.bs {
            self.sum = Some(bs);
        }
        Ok(())
    }
}

fn measurement(
    record: usize,
    raw: &RawRecord,
    base: &Base<'_>,
    received_at: f64,
) -> Result<Measurement, SenmlError> {
    let non_finite = |label| SenmlError::NonFinite { record, label };
    if raw.value_count() > 1 {
        return Err(SenmlError::TooManyValues { record });
    }
    let value = if let Some(v) = raw.v {
        // RFC 8428 §4.5.4: base value + value; `bv` never touches vs/vb/vd.
        let v = base.value + v;
        Some(Value::Float(finite(v).ok_or(non_finite("v"))?))
    } else if let Some(vs) = &raw.vs {
        Some(Value::String(vs.clone()))
    } else if let Some(vb) = raw.vb {
        Some(Value::Bool(vb))
    } else {
        raw.vd.clone().map(Value::Data)
    };
    // RFC 8428 §4.5.4: a sum exists when `s` or a `bs` in force does; the missing one is 0.
    let sum = match (base.sum, raw.s) {
        (None, None) => None,
        (bs, s) => Some(finite(bs.unwrap_or(0.0) + s.unwrap_or(0.0)).ok_or(non_finite("s"))?),
    };
    if value.is_none() && sum.is_none() {
        return Err(SenmlError::NoValue { record });
    }
    let name = format!("{}{}", base.name, raw.n.as_deref().unwrap_or(""));
    check_name(&name).map_err(|reason| SenmlError::InvalidName { record, reason })?;
    let unit = match raw.u.as_deref() {
        Some(u) if !u.is_empty() => Some(u),
        _ => base.unit,
    };
    let time = resolve_time(record, base.time + raw.t.unwrap_or(0.0), received_at)?;
    let update_time = match raw.ut {
        Some(ut) if ut < 0.0 => return Err(SenmlError::NegativeUpdateTime { record }),
        ut => ut,
    };
    Ok(Measurement {
        name,
        unit: unit.map(str::to_owned),
        time,
        update_time,
        value,
        sum,
    })
}

fn finite(f: f64) -> Option<f64> {
    f.is_finite().then_some(f)
}

/// RFC 8428 §4.5.3: `bt + t` below 2**28 is an offset from "now", here the reception time
/// (Mainflux only did this for exactly 0, reference §10). The result must be absolute, so that
/// re-normalizing an encoded pack cannot shift it.
fn resolve_time(record: usize, time: f64, received_at: f64) -> Result<f64, SenmlError> {
    let time = if time < RELATIVE_TIME_LIMIT {
        received_at + time
    } else {
        time
    };
    if !time.is_finite() {
        return Err(SenmlError::NonFinite { record, label: "t" });
    }
    if time < RELATIVE_TIME_LIMIT {
        return Err(SenmlError::TimeOutOfRange { record, time });
    }
    Ok(time)
}

/// RFC 8428 §4.5.1: `[A-Za-z0-9][A-Za-z0-9:./_-]*`, plus a length cap.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(NameError::Empty),
        Some(c) if !c.is_ascii_alphanumeric() => return Err(NameError::BadStart(c)),
        Some(_) => {}
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || "-:./_".contains(*c))) {
        return Err(NameError::BadChar(c));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    Ok(())
}
