//! A raw SenML record, exactly as parsed, before base fields are resolved.
//!
//! Both wire formats reduce a record to `(Key, Scalar)` pairs; [`RawRecord::from_entries`]
//! types them once, so JSON and CBOR share every check and every error message.

use super::base64url;
use super::error::{SenmlError, clip};

/// The labels of RFC 8428 Table 1, with their JSON names and CBOR integers (Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    BaseVersion,
    BaseName,
    BaseTime,
    BaseUnit,
    BaseValue,
    BaseSum,
    Name,
    Unit,
    Value,
    StringValue,
    BoolValue,
    Sum,
    Time,
    UpdateTime,
    DataValue,
}

impl Label {
    pub const ALL: [Label; 15] = [
        Label::BaseVersion,
        Label::BaseName,
        Label::BaseTime,
        Label::BaseUnit,
        Label::BaseValue,
        Label::BaseSum,
        Label::Name,
        Label::Unit,
        Label::Value,
        Label::StringValue,
        Label::BoolValue,
        Label::Sum,
        Label::Time,
        Label::UpdateTime,
        Label::DataValue,
    ];

    /// The JSON member name (RFC 8428 Table 2).
    pub fn json(self) -> &'static str {
        match self {
            Label::BaseVersion => "bver",
            Label::BaseName => "bn",
            Label::BaseTime => "bt",
            Label::BaseUnit => "bu",
            Label::BaseValue => "bv",
            Label::BaseSum => "bs",
            Label::Name => "n",
            Label::Unit => "u",
            Label::Value => "v",
            Label::StringValue => "vs",
            Label::BoolValue => "vb",
            Label::Sum => "s",
            Label::Time => "t",
            Label::UpdateTime => "ut",
            Label::DataValue => "vd",
        }
    }

    /// The CBOR map key (RFC 8428 Table 4).
    pub fn cbor(self) -> i8 {
        match self {
            Label::BaseVersion => -1,
            Label::BaseName => -2,
            Label::BaseTime => -3,
            Label::BaseUnit => -4,
            Label::BaseValue => -5,
            Label::BaseSum => -6,
            Label::Name => 0,
            Label::Unit => 1,
            Label::Value => 2,
            Label::StringValue => 3,
            Label::BoolValue => 4,
            Label::Sum => 5,
            Label::Time => 6,
            Label::UpdateTime => 7,
            Label::DataValue => 8,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A map key after classification by the wire format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Known(Label),
    /// RFC 8428 §4.4: unknown and ending in `_`; the record must be refused.
    MustUnderstand(String),
    /// Unknown: ignored (RFC 8428 §4.4), e.g. Mainflux's JSON-only link `l`.
    Ignored,
}

impl Key {
    /// A JSON member name.
    pub(crate) fn json(name: &str) -> Key {
        match Label::ALL.iter().find(|label| label.json() == name) {
            Some(label) => Key::Known(*label),
            None => Key::extension(name),
        }
    }

    /// An integer CBOR key; RFC 8428 §6 says Table 4 is conclusive, so others are ignored.
    pub(crate) fn cbor(key: i128) -> Key {
        Label::ALL
            .iter()
            .find(|label| i128::from(label.cbor()) == key)
            .map_or(Key::Ignored, |label| Key::Known(*label))
    }

    /// A text label no table knows: extensions use the JSON spelling in both formats.
    pub(crate) fn extension(name: &str) -> Key {
        if name.ends_with('_') {
            Key::MustUnderstand(clip(name))
        } else {
            Key::Ignored
        }
    }
}

/// A field value, before it is checked against its label's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// JSON `null` / CBOR null or undefined: treated as absent, as Go's decoder did.
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// Anything else (array, map, unsupported tag), named for the error message.
    Other(&'static str),
}

/// A SenML record as sent: every field optional, base fields not yet applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRecord {
    pub bver: Option<u8>,
    pub bn: Option<String>,
    pub bt: Option<f64>,
    pub bu: Option<String>,
    pub bv: Option<f64>,
    pub bs: Option<f64>,
    pub n: Option<String>,
    pub u: Option<String>,
    pub v: Option<f64>,
    pub vs: Option<String>,
    pub vb: Option<bool>,
    /// Canonical unpadded base64url, see [`super::Value::Data`].
    pub vd: Option<String>,
    pub s: Option<f64>,
    pub t: Option<f64>,
    pub ut: Option<f64>,
}

impl RawRecord {
    /// Types the fields of record number `record`, refusing duplicates and must-understand
    /// labels, and ignoring unknown ones.
    pub(crate) fn from_entries(
        record: usize,
        entries: impl IntoIterator<Item = (Key, Scalar)>,
    ) -> Result<RawRecord, SenmlError> {
        let mut raw = RawRecord::default();
        let mut seen = 0u16;
        for (key, scalar) in entries {
            let label = match key {
                Key::Known(label) => label,
                Key::MustUnderstand(label) => {
                    return Err(SenmlError::MustUnderstand { record, label });
                }
                Key::Ignored => continue,
            };
            if seen & label.bit() != 0 {
                let label = label.json();
                return Err(SenmlError::DuplicateLabel { record, label });
            }
            seen |= label.bit();
            raw.set(record, label, scalar)?;
        }
        Ok(raw)
    }

    fn set(&mut self, record: usize, label: Label, scalar: Scalar) -> Result<(), SenmlError> {
        if scalar == Scalar::Null {
            return Ok(());
        }
        let field = Field { record, label };
        match label {
            Label::BaseVersion => self.bver = Some(field.version(scalar)?),
            Label::BaseName => self.bn = Some(field.text(scalar)?),
            Label::BaseTime => self.bt = Some(field.number(scalar)?),
            Label::BaseUnit => self.bu = Some(field.text(scalar)?),
            Label::BaseValue => self.bv = Some(field.number(scalar)?),
            Label::BaseSum => self.bs = Some(field.number(scalar)?),
            Label::Name => self.n = Some(field.text(scalar)?),
            Label::Unit => self.u = Some(field.text(scalar)?),
            Label::Value => self.v = Some(field.number(scalar)?),
            Label::StringValue => self.vs = Some(field.text(scalar)?),
            Label::BoolValue => self.vb = Some(field.boolean(scalar)?),
            Label::Sum => self.s = Some(field.number(scalar)?),
            Label::Time => self.t = Some(field.number(scalar)?),
            Label::UpdateTime => self.ut = Some(field.number(scalar)?),
            Label::DataValue => self.vd = Some(field.data(scalar)?),
        }
        Ok(())
    }

    /// Whether the record has a field that is not a base field: only then is it a measurement;
    /// a record of base fields alone just sets context (RFC 8428 §5.1.7 starts with one).
    pub fn has_regular_field(&self) -> bool {
        self.n.is_some()
            || self.u.is_some()
            || self.t.is_some()
            || self.ut.is_some()
            || self.s.is_some()
            || self.value_count() > 0
    }

    /// How many of `v`, `vs`, `vb`, `vd` are present.
    pub fn value_count(&self) -> usize {
        usize::from(self.v.is_some())
            + usize::from(self.vs.is_some())
            + usize::from(self.vb.is_some())
            + usize::from(self.vd.is_some())
    }
}

/// The record and label being typed, for error messages.
struct Field {
    record: usize,
    label: Label,
}

impl Field {
    fn wrong(&self, expected: &'static str) -> SenmlError {
        SenmlError::WrongType {
            record: self.record,
            label: self.label.json(),
            expected,
        }
    }

    fn text(&self, scalar: Scalar) -> Result<String, SenmlError> {
        match scalar {
            Scalar::Text(text) => Ok(text),
            _ => Err(self.wrong("a string")),
        }
    }

    fn boolean(&self, scalar: Scalar) -> Result<bool, SenmlError> {
        match scalar {
            Scalar::Bool(b) => Ok(b),
            _ => Err(self.wrong("a boolean")),
        }
    }

    /// Integers are accepted where numbers are: CBOR encoders write whole numbers as integers.
    fn number(&self, scalar: Scalar) -> Result<f64, SenmlError> {
        let number = match scalar {
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
            _ => return Err(self.wrong("a number")),
        };
        if number.is_finite() {
            Ok(number)
        } else {
            Err(SenmlError::NonFinite {
                record: self.record,
                label: self.label.json(),
            })
        }
    }

    /// RFC 8428 §4.1: a positive integer; this parser understands versions up to 10 (§4.4).
    fn version(&self, scalar: Scalar) -> Result<u8, SenmlError> {
        match scalar {
            Scalar::Int(version) => u8::try_from(version)
                .ok()
                .filter(|v| (1..=10).contains(v))
                .ok_or(SenmlError::UnsupportedVersion {
                    record: self.record,
                    version,
                }),
            _ => Err(self.wrong("a positive integer")),
        }
    }

    /// Base64url text (JSON) or a byte string (CBOR), stored as canonical base64url.
    fn data(&self, scalar: Scalar) -> Result<String, SenmlError> {
        let invalid = SenmlError::InvalidDataValue {
            record: self.record,
        };
        match scalar {
            Scalar::Bytes(bytes) => Ok(base64url::encode(&bytes)),
            Scalar::Text(text) => base64url::canonical(&text)
                .map(str::to_owned)
                .ok_or(invalid),
            _ => Err(self.wrong("base64url text or a byte string")),
        }
    }
}
