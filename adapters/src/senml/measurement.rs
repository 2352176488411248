//! One resolved measurement: what a writer stores per SenML record, minus the message context.
//!
//! Field names follow Mainflux's normalized message (reference §3.2); `channel`, `subtopic`,
//! `publisher` and `protocol` come from the message envelope, so the caller adds them.

/// A resolved SenML record (RFC 8428 §4.6): absolute name and time, no base fields.
///
/// Invariant for every value `normalize` returns: `value.is_some() || sum.is_some()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// `bn` + `n`, valid per RFC 8428 §4.5.1.
    pub name: String,
    /// `u`, else the `bu` in force; `None` when both are absent or empty.
    pub unit: Option<String>,
    /// Absolute seconds since the Unix epoch (a float, as Mainflux's `time`), always ≥ 2**28:
    /// relative times were resolved against the reception time.
    pub time: f64,
    /// `ut` as sent: a period in seconds (not a timestamp), never negative.
    pub update_time: Option<f64>,
    /// `None` only for a sum-only record (RFC 8428 §4.2 allows a sum without a value).
    pub value: Option<Value>,
    /// `bs` + `s` (RFC 8428 §4.5.4): present when either is.
    pub sum: Option<f64>,
}

/// The one value of a record. Each variant maps to one Mainflux column, see [`Value::field`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `v` (+ `bv`): Mainflux's `value`.
    Float(f64),
    /// `vs`: Mainflux's `string_value`.
    String(String),
    /// `vb`: Mainflux's `bool_value`.
    Bool(bool),
    /// `vd` as unpadded base64url text (RFC 4648 §5), whichever format carried it: JSON sends
    /// that text (padding is stripped), CBOR sends raw bytes, which are encoded to it. Mainflux
    /// stored the JSON text verbatim and CBOR bytes as a raw string; one canonical text makes
    /// the `vd` reader filter and the round trip independent of the wire format.
    Data(String),
}

impl Value {
    /// The Mainflux reader/writer field that carries this value.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Float(_) => "value",
            Self::String(_) => "string_value",
            Self::Bool(_) => "bool_value",
            Self::Data(_) => "data_value",
        }
    }
}
