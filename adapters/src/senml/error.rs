//! Why a SenML pack was refused.
//!
//! Every variant means the pack as a whole is invalid: nothing of it is stored. Mainflux's
//! writers log such a message and drop it; retrying the same bytes can never succeed, so a
//! caller must not retry. `record` is always the 0-based index of the offending record in the
//! pack array, so a client can find it. Messages never echo client-chosen text longer than
//! [`MAX_LABEL_IN_ERROR`] bytes.

use std::fmt;

/// How many bytes of an unknown label an error message repeats back.
pub const MAX_LABEL_IN_ERROR: usize = 64;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SenmlError {
    /// The payload is not JSON at all (syntax, UTF-8, a number out of the `f64` range).
    #[error("malformed SenML JSON: {0}")]
    Json(String),
    /// The payload is not one well-formed CBOR item (or has bytes after it).
    #[error("malformed SenML CBOR: {0}")]
    Cbor(String),
    /// RFC 8428 §5/§6: the root must be an array of records.
    #[error("a SenML pack must be an array of records, not {found}")]
    NotAnArray { found: &'static str },
    /// `[]`, or a pack whose records only set base fields: there is nothing to store.
    #[error("the pack carries no measurement: no record has a value or a sum")]
    EmptyPack,
    /// An element of the pack array is not a map (JSON object / CBOR map).
    #[error("record {record} must be a map of labels to values, not {found}")]
    NotARecord { record: usize, found: &'static str },
    /// The same label twice in one record: which one was meant is ambiguous.
    #[error("record {record}: label \"{label}\" appears more than once")]
    DuplicateLabel { record: usize, label: &'static str },
    /// A known label with a value of the wrong type (RFC 8428 Table 1).
    #[error("record {record}: \"{label}\" must be {expected}")]
    WrongType {
        record: usize,
        label: &'static str,
        expected: &'static str,
    },
    /// RFC 8428 §4.4: an unknown label ending in `_` must be understood, so the pack is refused.
    #[error("record {record}: unknown must-understand label \"{label}\"")]
    MustUnderstand { record: usize, label: String },
    /// A NaN or infinite number (only CBOR can carry one), or a sum that overflowed.
    #[error("record {record}: \"{label}\" is not a finite number")]
    NonFinite { record: usize, label: &'static str },
    /// `vd` is not base64url (RFC 4648 §5) with canonical trailing bits.
    #[error("record {record}: \"vd\" is not base64url data (RFC 4648 §5)")]
    InvalidDataValue { record: usize },
    /// RFC 8428 §4.4: a version this parser does not understand (it reads 1 to 10).
    #[error("record {record}: unsupported SenML version {version} (this parser reads 1 to 10)")]
    UnsupportedVersion { record: usize, version: i128 },
    /// RFC 8428 §4.4: all records of a pack must have the same version.
    #[error("record {record}: version {found} differs from version {expected} of record 0")]
    VersionChange {
        record: usize,
        expected: u8,
        found: u8,
    },
    /// A record with a regular field (`n`, `u`, `t`, `ut`) but no value and no sum.
    #[error("record {record} has no value (v, vs, vb, vd) and no sum (s, or an earlier bs)")]
    NoValue { record: usize },
    /// RFC 8428 §4.2: exactly one value field per record.
    #[error("record {record} has more than one value field (v, vs, vb, vd)")]
    TooManyValues { record: usize },
    /// RFC 8428 §4.5.1: the resolved name (`bn` + `n`) is not a valid SenML name.
    #[error("record {record}: invalid name: {reason}")]
    InvalidName { record: usize, reason: NameError },
    /// The resolved time is before 2**28 s (1978-07-04) even after relative-time resolution:
    /// a negative offset reaching that far back is a client bug, not a measurement.
    #[error("record {record}: time resolves to {time} s, before 2**28 s (1978-07-04)")]
    TimeOutOfRange { record: usize, time: f64 },
    /// `ut` is a period (RFC 8428 §4.2) and cannot be negative.
    #[error("record {record}: \"ut\" is a period and must not be negative")]
    NegativeUpdateTime { record: usize },
}

/// Why a resolved name breaks RFC 8428 §4.5.1. The name itself is not repeated: it may be long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Neither `bn` nor `n` gave any character.
    Empty,
    /// Longer than [`super::MAX_NAME_LEN`] bytes (Mainflux had no cap; storage keys need one).
    TooLong { len: usize },
    /// The first character is not `A-Z`, `a-z` or `0-9`.
    BadStart(char),
    /// A character outside `A-Z a-z 0-9 - : . / _`.
    BadChar(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty (no bn and no n)"),
            Self::TooLong { len } => write!(
                f,
                "it is {len} bytes long, more than {}",
                super::MAX_NAME_LEN
            ),
            Self::BadStart(c) => write!(f, "it must start with a letter or a digit, not {c:?}"),
            Self::BadChar(c) => write!(f, "{c:?} is not allowed (only A-Z a-z 0-9 - : . / _)"),
        }
    }
}

/// Cuts a client-chosen label to at most [`MAX_LABEL_IN_ERROR`] bytes, on a char boundary.
pub(crate) fn clip(label: &str) -> String {
    let mut end = label.len().min(MAX_LABEL_IN_ERROR);
    while !label.is_char_boundary(end) {
        end -= 1;
    }
    label[..end].to_owned()
}
