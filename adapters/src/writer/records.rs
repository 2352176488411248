//! Message → telemetry records.

use std::sync::atomic::Ordering;

use super::WriterStats;
use crate::message::{ContentType, Message};
use crate::senml::{self, Measurement, SenmlFormat, Value};
use crate::subtopic::Subtopic;
use crate::telemetry::TelemetryRecord;

/// Appends one record per SenML measurement, or one opaque record holding the payload.
///
/// A SenML content type is parsed as such (a failure is counted and the payload kept
/// opaque). No content type at all, as from MQTT 3.1.1, is tried as SenML JSON, because
/// Mainflux's writers read every payload as SenML; if it is not, it is kept opaque silently.
/// A pack that parses but holds a record no store keeps (a time past `MAX_TIME`) counts as
/// invalid too: saved as measured, it would make the store refuse the whole batch.
pub fn records_of(message: &Message, stats: &WriterStats, records: &mut Vec<TelemetryRecord>) {
    let received_at = message.created as f64 / 1e9;
    let (format, declared) = match message.content_type {
        Some(ContentType::SenmlJson) => (Some(SenmlFormat::Json), true),
        Some(ContentType::SenmlCbor) => (Some(SenmlFormat::Cbor), true),
        None if may_be_json_pack(&message.payload) => (Some(SenmlFormat::Json), false),
        None | Some(_) => (None, false),
    };
    if let Some(format) = format {
        let first = records.len();
        let error = match senml::normalize(&message.payload, format, received_at) {
            Ok(measurements) => {
                records.extend(measurements.into_iter().map(|m| measured(message, m)));
                match records[first..].iter().try_for_each(TelemetryRecord::check) {
                    Ok(()) => return,
                    Err(error) => error.to_string(),
                }
            }
            Err(error) => error.to_string(),
        };
        records.truncate(first);
        if declared {
            stats.invalid_senml.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, channel = %message.channel, "invalid SenML stored opaque");
        }
    }
    let record = opaque(message, received_at);
    match record.check() {
        Ok(()) => records.push(record),
        Err(error) => {
            stats.unstorable.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%error, channel = %message.channel, "message not stored");
        }
    }
}

/// Could this undeclared payload be a SenML JSON pack? A pack is a JSON array, so its first
/// byte after JSON whitespace (RFC 8259 §2, as serde_json skips it) is `[`; anything else
/// would fail to parse anyway, so most opaque payloads skip the parser.
fn may_be_json_pack(payload: &[u8]) -> bool {
    payload
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'[')
}

fn base(message: &Message, time: f64) -> TelemetryRecord {
    TelemetryRecord {
        subtopic: message.subtopic.as_ref().map(Subtopic::shared),
        ..TelemetryRecord::new(
            message.channel,
            message.publisher,
            message.protocol.as_str(),
            time,
        )
    }
}

fn measured(message: &Message, m: Measurement) -> TelemetryRecord {
    let mut record = TelemetryRecord {
        name: Some(m.name),
        unit: m.unit,
        update_time: m.update_time,
        sum: m.sum,
        ..base(message, m.time)
    };
    match m.value {
        Some(Value::Float(v)) => record.value = Some(v),
        Some(Value::String(v)) => record.string_value = Some(v),
        Some(Value::Bool(v)) => record.bool_value = Some(v),
        Some(Value::Data(v)) => record.data_value = Some(v),
        None => {}
    }
    record
}

fn opaque(message: &Message, received_at: f64) -> TelemetryRecord {
    TelemetryRecord {
        payload: Some(message.payload.clone()),
        content_type: message.content_type.as_ref().map(|c| c.as_str().to_owned()),
        ..base(message, received_at)
    }
}
