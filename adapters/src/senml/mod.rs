//! SenML (RFC 8428), JSON and CBOR, normalized into one [`Measurement`] per record.
//!
//! Layout:
//! - `record`: the raw record as parsed, the label tables (JSON names, CBOR integers) and the
//!   per-field type checks shared by both formats.
//! - `json`, `cbor`: each wire format to raw records, and measurements back to a resolved pack.
//! - `resolve`: base fields, relative times, names and values (RFC 8428 §4.5) to measurements.
//! - `measurement`, `error`: the output and the refusal reasons. `base64url`: `vd`'s text form.
//!
//! Pure code: no clock, no I/O. The caller passes the reception time and decides what a
//! payload that is not SenML becomes (Mainflux stored it opaque; [`SenmlFormat::from_content_type`]
//! says which content types are SenML at all).
//!
//! Choices, where Mainflux (reference §3.2, §10) and RFC 8428 differ, follow the RFC:
//! - times are float seconds; `bt + t` below 2**28 is relative to `received_at` (Mainflux only
//!   replaced exactly 0), and a result still below 2**28 is refused;
//! - `bv` and `bs` carry over to later records like every base field; a base field present with
//!   an empty/zero value resets it; a `bs` in force gives every later record a sum;
//! - a record of base fields only (RFC 8428 §5.1.7) yields no measurement instead of an error;
//! - `vd` is stored as canonical base64url whichever format carried it;
//! - all records must share one version, 1 to 10 (10 by default); names are capped at
//!   [`MAX_NAME_LEN`] bytes. Like Mainflux, output is sorted by time (stably).

mod base64url;
mod cbor;
mod error;
mod json;
mod measurement;
mod record;
mod resolve;
#[cfg(test)]
mod tests;

pub use cbor::encode_cbor;
pub use error::{NameError, SenmlError};
pub use json::encode_json;
pub use measurement::{Measurement, Value};
pub use record::{Label, RawRecord};
pub use resolve::{RELATIVE_TIME_LIMIT, check_name, resolve};

/// The longest resolved name accepted, in bytes. Mainflux had no cap; names become storage
/// keys and reader filters, so one is needed, and RFC 8428 names are URNs far shorter than this.
pub const MAX_NAME_LEN: usize = 1024;

/// The SenML media types Mainflux's writers understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenmlFormat {
    /// `application/senml+json`
    Json,
    /// `application/senml+cbor`
    Cbor,
}

impl SenmlFormat {
    /// The SenML format of a content type, ignoring case and parameters (`; charset=utf-8`);
    /// `None` means the payload is not SenML and the caller keeps it opaque.
    pub fn from_content_type(content_type: &str) -> Option<SenmlFormat> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case(SenmlFormat::Json.content_type()) {
            Some(SenmlFormat::Json)
        } else if essence.eq_ignore_ascii_case(SenmlFormat::Cbor.content_type()) {
            Some(SenmlFormat::Cbor)
        } else {
            None
        }
    }

    /// The media type, as registered by RFC 8428 §12.3.
    pub fn content_type(self) -> &'static str {
        match self {
            SenmlFormat::Json => "application/senml+json",
            SenmlFormat::Cbor => "application/senml+cbor",
        }
    }
}

/// The bytes behind a [`Value::Data`] text (base64url, padding tolerated), or `None` if it is
/// not base64url. For stores that keep `data_value` as bytes (Mainflux postgres: `BYTEA`).
pub fn data_to_bytes(text: &str) -> Option<Vec<u8>> {
    base64url::decode(text)
}

/// The [`Value::Data`] text of `bytes`: unpadded base64url, as `normalize` produces it.
pub fn bytes_to_data(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

/// Parses a pack without resolving it: the records as sent, typed, unknown labels dropped.
pub fn parse(payload: &[u8], format: SenmlFormat) -> Result<Vec<RawRecord>, SenmlError> {
    match format {
        SenmlFormat::Json => json::parse(payload),
        SenmlFormat::Cbor => cbor::parse(payload),
    }
}

/// Parses and resolves a pack: one measurement per record that has a value or a sum, sorted by
/// time. `received_at` is the reception time in seconds since the epoch (the message's
/// `created` / 1e9), "now" for relative times. Any error refuses the whole pack.
pub fn normalize(
    payload: &[u8],
    format: SenmlFormat,
    received_at: f64,
) -> Result<Vec<Measurement>, SenmlError> {
    resolve(&parse(payload, format)?, received_at)
}
