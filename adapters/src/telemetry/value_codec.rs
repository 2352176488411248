//! The stored value of a telemetry record in the fjall backend: a compact binary layout.
//!
//! ```text
//! format (u8 = 2) | publisher (16) | time (f64 bits, LE) | present (u16 LE) | protocol (text)
//! then, in the order of the presence bits below, each optional field whose bit is set:
//!   texts and the payload as u32 LE length ++ bytes; numbers as f64 bits LE; a bool as u8
//! ```
//!
//! Binary rather than JSON because the store writes every message: JSON cost a formatted
//! publisher id, base64 of every opaque payload and field names per record, and made each
//! value about twice as large (so twice the journal, memtable and flush work). Numbers are
//! kept as their bits so they read back exactly (-0.0 included). The channel is not stored:
//! the key holds it.

use std::sync::Arc;

use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use uuid::Uuid;

use super::{TelemetryError, TelemetryRecord};

/// Leading byte of a stored record, so the layout can change without guessing. Format 1
/// (JSON) was never released.
const FORMAT: u8 = 2;

/// Presence bits of the optional fields, in the order they follow the protocol.
const SUBTOPIC: u16 = 1;
const NAME: u16 = 1 << 1;
const UNIT: u16 = 1 << 2;
const UPDATE_TIME: u16 = 1 << 3;
const VALUE: u16 = 1 << 4;
const STRING_VALUE: u16 = 1 << 5;
const BOOL_VALUE: u16 = 1 << 6;
const DATA_VALUE: u16 = 1 << 7;
const SUM: u16 = 1 << 8;
const PAYLOAD: u16 = 1 << 9;
const CONTENT_TYPE: u16 = 1 << 10;
const KNOWN: u16 = (1 << 11) - 1;

/// Appends the stored value of a record that passed `TelemetryRecord::check` to `out`.
pub(super) fn encode_record(record: &TelemetryRecord, out: &mut Vec<u8>) {
    let r = record;
    out.push(FORMAT);
    out.extend_from_slice(r.publisher.0.as_bytes());
    out.extend_from_slice(&r.time.to_bits().to_le_bytes());
    out.extend_from_slice(&present(r).to_le_bytes());
    put_bytes(out, r.protocol.as_bytes());
    let text = |out: &mut Vec<u8>, t: Option<&str>| {
        if let Some(t) = t {
            put_bytes(out, t.as_bytes());
        }
    };
    let number = |out: &mut Vec<u8>, n: Option<f64>| {
        if let Some(n) = n {
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
    };
    text(out, r.subtopic.as_deref());
    text(out, r.name.as_deref());
    text(out, r.unit.as_deref());
    number(out, r.update_time);
    number(out, r.value);
    text(out, r.string_value.as_deref());
    if let Some(b) = r.bool_value {
        out.push(u8::from(b));
    }
    text(out, r.data_value.as_deref());
    number(out, r.sum);
    if let Some(payload) = &r.payload {
        put_bytes(out, payload);
    }
    text(out, r.content_type.as_deref());
}

fn present(r: &TelemetryRecord) -> u16 {
    [
        (r.subtopic.is_some(), SUBTOPIC),
        (r.name.is_some(), NAME),
        (r.unit.is_some(), UNIT),
        (r.update_time.is_some(), UPDATE_TIME),
        (r.value.is_some(), VALUE),
        (r.string_value.is_some(), STRING_VALUE),
        (r.bool_value.is_some(), BOOL_VALUE),
        (r.data_value.is_some(), DATA_VALUE),
        (r.sum.is_some(), SUM),
        (r.payload.is_some(), PAYLOAD),
        (r.content_type.is_some(), CONTENT_TYPE),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .fold(0, |bits, (_, bit)| bits | bit)
}

/// The length fits: `TelemetryRecord::check` refuses records over `MAX_RECORD_BYTES`.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Reads a stored value back as a record of `channel` (the channel of its key). Anything
/// that is not exactly a value `encode_record` wrote is `Corrupt`, never a panic.
pub(super) fn decode_record(
    channel: ChannelId,
    value: &[u8],
) -> Result<TelemetryRecord, TelemetryError> {
    let mut input = Input(value);
    let format = input.array::<1>()?[0];
    if format != FORMAT {
        return Err(corrupt(format!(
            "stored record of format {format}, not {FORMAT}"
        )));
    }
    let publisher = ThingId(Uuid::from_bytes(input.array()?));
    let time = input.number()?;
    let present = u16::from_le_bytes(input.array()?);
    if present & !KNOWN != 0 {
        return Err(corrupt(format!("unknown fields {present:#x}")));
    }
    let protocol = input.text()?.to_owned();
    let mut record = TelemetryRecord::new(channel, publisher, protocol, time);
    let has = |bit| present & bit != 0;
    let r = &mut record;
    r.subtopic = has(SUBTOPIC)
        .then(|| input.text().map(Arc::from))
        .transpose()?;
    r.name = has(NAME).then(|| input.string()).transpose()?;
    r.unit = has(UNIT).then(|| input.string()).transpose()?;
    r.update_time = has(UPDATE_TIME).then(|| input.number()).transpose()?;
    r.value = has(VALUE).then(|| input.number()).transpose()?;
    r.string_value = has(STRING_VALUE).then(|| input.string()).transpose()?;
    r.bool_value = has(BOOL_VALUE).then(|| input.flag()).transpose()?;
    r.data_value = has(DATA_VALUE).then(|| input.string()).transpose()?;
    r.sum = has(SUM).then(|| input.number()).transpose()?;
    r.payload = has(PAYLOAD)
        .then(|| input.bytes().map(Bytes::copy_from_slice))
        .transpose()?;
    r.content_type = has(CONTENT_TYPE).then(|| input.string()).transpose()?;
    if !input.0.is_empty() {
        return Err(corrupt(format!("{} bytes after the record", input.0.len())));
    }
    Ok(record)
}

fn corrupt(reason: String) -> TelemetryError {
    TelemetryError::Corrupt(reason)
}

/// The unread rest of a stored value.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TelemetryError> {
        if self.0.len() < n {
            return Err(corrupt(format!(
                "stored record cut short: {n} bytes wanted, {} left",
                self.0.len()
            )));
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TelemetryError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn number(&mut self) -> Result<f64, TelemetryError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    fn flag(&mut self) -> Result<bool, TelemetryError> {
        match self.array::<1>()? {
            [0] => Ok(false),
            [1] => Ok(true),
            [other] => Err(corrupt(format!("bool stored as {other}"))),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], TelemetryError> {
        let len = u32::from_le_bytes(self.array()?);
        self.take(len as usize)
    }

    fn text(&mut self) -> Result<&'a str, TelemetryError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|e| corrupt(format!("stored text: {e}")))
    }

    fn string(&mut self) -> Result<String, TelemetryError> {
        self.text().map(str::to_owned)
    }
}

#[cfg(test)]
#[path = "value_codec_tests.rs"]
mod tests;
