//! `ReadQuery`: the reader's paging and filters (Mainflux 0.12 readers spec), parsed from a
//! raw query string at the HTTP edge and matched against records by the backends.
//!
//! Semantics, and where they differ from Mainflux 0.12 on purpose:
//! - `offset` ≥ 0 (default 0); `limit` 1..=100 (default 10): the spec's bounds (0.12's code
//!   had no maximum).
//! - `subtopic`, `publisher`, `name`, `protocol`, `vs`, `vd`: exact equality. `publisher`
//!   must be a UUID (a thing id). An empty text value is no filter, as in Mainflux.
//! - `v`: the record's `value` compared with `comparator` (`eq` default, `lt`, `le`, `gt`,
//!   `ge`; record on the left: `lt` means `value < v`). `vb`: `bool_value` equality, with
//!   Go's `strconv.ParseBool` spellings. Mainflux dropped `v=0` and `vb=false` (`omitempty`
//!   on its page metadata); here they filter like any other value.
//! - `from` inclusive, `to` exclusive, both in seconds (fractions allowed), as the
//!   reference SQL `time >= :from AND time < :to`.
//! - A repeated parameter, a malformed number or boolean, a non-finite number, an unknown
//!   comparator and `from > to` are errors (400). Unknown parameters are ignored, as
//!   Mainflux ignores them (0.12's `format` among them).

use domain::ids::ThingId;

use super::record::TelemetryRecord;

/// `limit` when the query has none.
pub const DEFAULT_LIMIT: u64 = 10;
/// The largest `limit` (the readers spec's maximum).
pub const MAX_LIMIT: u64 = 100;

/// The longest slice of a rejected value quoted back in an error message.
const QUOTED_CHARS: usize = 64;

/// How `v` is compared with a record's `value`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Comparator {
    #[default]
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "eq" => Self::Eq,
            "lt" => Self::Lt,
            "le" => Self::Le,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            _ => return None,
        })
    }

    /// Whether a record's `value` satisfies `value <op> v`.
    pub fn holds(self, value: f64, v: f64) -> bool {
        match self {
            Self::Eq => value == v,
            Self::Lt => value < v,
            Self::Le => value <= v,
            Self::Gt => value > v,
            Self::Ge => value >= v,
        }
    }
}

/// One read: paging plus filters, every filter optional and all of them ANDed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadQuery {
    pub offset: u64,
    pub limit: u64,
    pub subtopic: Option<String>,
    pub publisher: Option<ThingId>,
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub v: Option<f64>,
    pub comparator: Comparator,
    pub vs: Option<String>,
    pub vb: Option<bool>,
    pub vd: Option<String>,
    /// Seconds, inclusive.
    pub from: Option<f64>,
    /// Seconds, exclusive.
    pub to: Option<f64>,
}

impl Default for ReadQuery {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: DEFAULT_LIMIT,
            subtopic: None,
            publisher: None,
            name: None,
            protocol: None,
            v: None,
            comparator: Comparator::Eq,
            vs: None,
            vb: None,
            vd: None,
            from: None,
            to: None,
        }
    }
}

/// Why a query string was refused; the message is meant for the client (HTTP 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("query parameter `{0}` is given more than once")]
    Repeated(&'static str),
    #[error("query parameter `{param}` must be {expected}, got {value:?}")]
    Invalid {
        param: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("`from` ({from}) is after `to` ({to})")]
    FromAfterTo { from: f64, to: f64 },
    #[error("the query string is not valid percent-encoded UTF-8 near {0:?}")]
    Encoding(String),
}

/// The parameters we read; anything else is ignored. Declared in `ALL` order, so
/// `param as usize` indexes `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Offset,
    Limit,
    Subtopic,
    Publisher,
    Name,
    Protocol,
    V,
    Comparator,
    Vs,
    Vb,
    Vd,
    From,
    To,
}

impl Param {
    const ALL: [Self; 13] = [
        Self::Offset,
        Self::Limit,
        Self::Subtopic,
        Self::Publisher,
        Self::Name,
        Self::Protocol,
        Self::V,
        Self::Comparator,
        Self::Vs,
        Self::Vb,
        Self::Vd,
        Self::From,
        Self::To,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Offset => "offset",
            Self::Limit => "limit",
            Self::Subtopic => "subtopic",
            Self::Publisher => "publisher",
            Self::Name => "name",
            Self::Protocol => "protocol",
            Self::V => "v",
            Self::Comparator => "comparator",
            Self::Vs => "vs",
            Self::Vb => "vb",
            Self::Vd => "vd",
            Self::From => "from",
            Self::To => "to",
        }
    }

    fn find(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|param| param.name() == name)
    }
}

fn invalid(param: Param, expected: &'static str, value: &str) -> QueryError {
    let mut quoted: String = value.chars().take(QUOTED_CHARS).collect();
    if quoted.len() < value.len() {
        quoted.push('…');
    }
    QueryError::Invalid {
        param: param.name(),
        expected,
        value: quoted,
    }
}

/// A non-negative decimal integer: digits only (no sign, no spaces), as Go's `ParseUint`.
fn parse_uint(param: Param, value: &str, expected: &'static str) -> Result<u64, QueryError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(param, expected, value));
    }
    value.parse().map_err(|_| invalid(param, expected, value))
}

fn parse_float(param: Param, value: &str) -> Result<f64, QueryError> {
    const EXPECTED: &str = "a finite decimal number";
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(invalid(param, EXPECTED, value)),
    }
}

/// Go's `strconv.ParseBool` spellings, so Mainflux clients keep working.
fn parse_bool(value: &str) -> Result<bool, QueryError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(invalid(Param::Vb, "true or false", value)),
    }
}

/// An empty text value is no filter (Mainflux reads `?name=` as "any name").
fn text(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// Form-urlencoded decoding of one key or value: `+` is a space, `%XY` a byte, and the
/// result must be UTF-8. Done here because the crate has no URL dependency.
fn decode(raw: &str) -> Result<String, QueryError> {
    let bad = || QueryError::Encoding(raw.chars().take(QUOTED_CHARS).collect());
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = rest.get(..2).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                rest = &rest[2..];
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

impl ReadQuery {
    /// Parses the raw query string of `GET /channels/{id}/messages` (without the `?`).
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let mut query = Self::default();
        let mut seen = [false; Param::ALL.len()];
        for pair in raw.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(param) = Param::find(&decode(key)?) else {
                continue;
            };
            if std::mem::replace(&mut seen[param as usize], true) {
                return Err(QueryError::Repeated(param.name()));
            }
            query.set(param, decode(value)?)?;
        }
        query.check()?;
        Ok(query)
    }

    fn set(&mut self, param: Param, value: String) -> Result<(), QueryError> {
        match param {
            Param::Offset => self.offset = parse_uint(param, &value, "a non-negative integer")?,
            Param::Limit => {
                self.limit = parse_uint(param, &value, "an integer from 1 to 100")?;
            }
            Param::Subtopic => self.subtopic = text(value),
            Param::Publisher => {
                self.publisher = match text(value) {
                    None => None,
                    Some(id) => Some(
                        id.parse()
                            .map_err(|_| invalid(param, "a thing id (UUID)", &id))?,
                    ),
                };
            }
            Param::Name => self.name = text(value),
            Param::Protocol => self.protocol = text(value),
            Param::V => self.v = Some(parse_float(param, &value)?),
            Param::Comparator => {
                self.comparator = match value.as_str() {
                    "" => Comparator::Eq,
                    other => Comparator::parse(other)
                        .ok_or_else(|| invalid(param, "one of eq, lt, le, gt, ge", other))?,
                };
            }
            Param::Vs => self.vs = text(value),
            Param::Vb => self.vb = Some(parse_bool(&value)?),
            Param::Vd => self.vd = text(value),
            Param::From => self.from = Some(parse_float(param, &value)?),
            Param::To => self.to = Some(parse_float(param, &value)?),
        }
        Ok(())
    }

    /// Whether a query built by hand is one `parse` could have returned. Backends call it
    /// first, so their scans can rely on finite bounds and a sane limit.
    pub fn check(&self) -> Result<(), QueryError> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            let limit = self.limit.to_string();
            return Err(invalid(Param::Limit, "an integer from 1 to 100", &limit));
        }
        for (param, number) in [
            (Param::V, self.v),
            (Param::From, self.from),
            (Param::To, self.to),
        ] {
            if let Some(number) = number.filter(|n| !n.is_finite()) {
                return Err(invalid(
                    param,
                    "a finite decimal number",
                    &number.to_string(),
                ));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(QueryError::FromAfterTo { from, to });
        }
        Ok(())
    }

    /// Whether any filter other than the time range is set: without one, a backend can
    /// count matches from its time index alone.
    pub fn filters_beyond_time(&self) -> bool {
        self.subtopic.is_some()
            || self.publisher.is_some()
            || self.name.is_some()
            || self.protocol.is_some()
            || self.v.is_some()
            || self.vs.is_some()
            || self.vb.is_some()
            || self.vd.is_some()
    }

    /// Whether `record` passes every filter (the channel is the caller's business).
    pub fn matches(&self, record: &TelemetryRecord) -> bool {
        fn same(filter: &Option<String>, field: &Option<String>) -> bool {
            filter.is_none() || filter == field
        }
        let subtopic = self.subtopic.as_deref();
        subtopic.is_none_or(|s| record.subtopic.as_deref() == Some(s))
            && self.publisher.is_none_or(|p| p == record.publisher)
            && same(&self.name, &record.name)
            && self.protocol.as_ref().is_none_or(|p| *p == record.protocol)
            && self.v.is_none_or(|v| {
                record
                    .value
                    .is_some_and(|value| self.comparator.holds(value, v))
            })
            && same(&self.vs, &record.string_value)
            && self.vb.is_none_or(|vb| record.bool_value == Some(vb))
            && same(&self.vd, &record.data_value)
            && self.from.is_none_or(|from| record.time >= from)
            && self.to.is_none_or(|to| record.time < to)
    }
}
