//! Byte layouts of the fjall telemetry keyspace, and fjall errors mapped onto the port's.
//!
//! Key: channel id (16 bytes) ++ time in ns (u64 BE) ++ sequence (u64 BE), 32 bytes.
//! Big-endian so that fjall's byte order is numeric order: a channel's records are one
//! contiguous range sorted by time, then by arrival, and a reverse scan is newest first.
//! The sequence keeps records of the same channel and nanosecond apart; the store persists
//! its next value with every batch, so it never repeats, across restarts either.
//!
//! Value: a format byte, then the record's JSON with short field names and without the
//! channel (the key has it). Numbers are stored as their IEEE-754 bits (a JSON integer):
//! serde_json's default float parsing may be off by one ulp, and a store must give back
//! exactly what it was given. The exact f64 `time` is kept in the value: the key's
//! nanoseconds are rounded, and `from`/`to` compare the exact time.

use std::borrow::Cow;

use domain::ids::{ChannelId, ThingId};
use serde::{Deserialize, Serialize};

use super::{TelemetryError, TelemetryRecord};

/// Length of a record key.
pub(super) const KEY_LEN: usize = 32;
/// Leading byte of a stored record, so the layout can change without guessing.
const RECORD_FORMAT_V1: u8 = 1;

/// Nanoseconds since the epoch of a time in seconds, rounded; clamped to the `u64` range
/// (NaN becomes 0). Monotonic, which is all that ordering and scan bounds need.
pub(super) fn time_ns(seconds: f64) -> u64 {
    // `as` saturates: negative times and NaN give 0, huge ones u64::MAX.
    (seconds * 1e9).round() as u64
}

pub(super) fn record_key(channel: ChannelId, ns: u64, seq: u64) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    key[..16].copy_from_slice(channel.0.as_bytes());
    key[16..24].copy_from_slice(&ns.to_be_bytes());
    key[24..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The nanoseconds of a record key, checking its length.
pub(super) fn key_ns(key: &[u8]) -> Result<u64, TelemetryError> {
    let ns: [u8; 8] = key
        .get(16..24)
        .filter(|_| key.len() == KEY_LEN)
        .and_then(|ns| ns.try_into().ok())
        .ok_or_else(|| TelemetryError::Corrupt(format!("record key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(ns))
}

/// Inclusive key bounds of `channel`'s records between the nanoseconds `from` and `to`
/// (each inclusive; the exact, fractional bounds are checked on the decoded record).
pub(super) fn scan_bounds(
    channel: ChannelId,
    from_ns: u64,
    to_ns: u64,
) -> ([u8; KEY_LEN], [u8; KEY_LEN]) {
    (
        record_key(channel, from_ns, 0),
        record_key(channel, to_ns, u64::MAX),
    )
}

/// A record as stored: short names, no channel.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    subtopic: Option<Cow<'a, str>>,
    #[serde(rename = "p")]
    publisher: ThingId,
    #[serde(rename = "pr")]
    protocol: Cow<'a, str>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    unit: Option<Cow<'a, str>>,
    #[serde(rename = "t", with = "bits")]
    time: f64,
    #[serde(rename = "ut", default, with = "opt_bits")]
    #[serde(skip_serializing_if = "Option::is_none")]
    update_time: Option<f64>,
    #[serde(rename = "v", default, with = "opt_bits")]
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(rename = "vs", default, skip_serializing_if = "Option::is_none")]
    string_value: Option<Cow<'a, str>>,
    #[serde(rename = "vb", default, skip_serializing_if = "Option::is_none")]
    bool_value: Option<bool>,
    #[serde(rename = "vd", default, skip_serializing_if = "Option::is_none")]
    data_value: Option<Cow<'a, str>>,
    #[serde(rename = "sm", default, with = "opt_bits")]
    #[serde(skip_serializing_if = "Option::is_none")]
    sum: Option<f64>,
    #[serde(rename = "pl", default, skip_serializing_if = "Option::is_none")]
    payload: Option<Cow<'a, str>>,
    #[serde(rename = "ct", default, skip_serializing_if = "Option::is_none")]
    content_type: Option<Cow<'a, str>>,
}

/// An f64 as its bits, so it reads back exactly.
mod bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(number: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(number.to_bits())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// An optional f64 as its bits; absent fields are skipped, so `None` is never written.
mod opt_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(number: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match number {
            Some(number) => s.serialize_some(&number.to_bits()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<u64>::deserialize(d).map(|bits| bits.map(f64::from_bits))
    }
}

fn borrowed(text: &Option<String>) -> Option<Cow<'_, str>> {
    text.as_deref().map(Cow::Borrowed)
}

fn owned(text: Option<Cow<'_, str>>) -> Option<String> {
    text.map(Cow::into_owned)
}

/// Field names, numbers, ids and quoting of a stored record beyond its texts, generously.
const RECORD_OVERHEAD: usize = 320;

/// The stored value of a record that passed `TelemetryRecord::check`.
pub(super) fn encode_record(record: &TelemetryRecord) -> Result<Vec<u8>, TelemetryError> {
    let stored = Stored {
        subtopic: borrowed(&record.subtopic),
        publisher: record.publisher,
        protocol: Cow::Borrowed(&record.protocol),
        name: borrowed(&record.name),
        unit: borrowed(&record.unit),
        time: record.time,
        update_time: record.update_time,
        value: record.value,
        string_value: borrowed(&record.string_value),
        bool_value: record.bool_value,
        data_value: borrowed(&record.data_value),
        sum: record.sum,
        payload: borrowed(&record.payload),
        content_type: borrowed(&record.content_type),
    };
    // Sized once: growing from empty cost several reallocations per record (profiled).
    let text = [
        &record.subtopic,
        &record.name,
        &record.unit,
        &record.string_value,
        &record.data_value,
        &record.payload,
        &record.content_type,
    ];
    let text_len: usize = text.iter().map(|t| t.as_ref().map_or(0, String::len)).sum();
    let mut value = Vec::with_capacity(RECORD_OVERHEAD + text_len);
    value.push(RECORD_FORMAT_V1);
    serde_json::to_writer(&mut value, &stored)
        .map_err(|e| TelemetryError::Invalid(format!("record not serializable: {e}")))?;
    Ok(value)
}

/// Reads a stored value back as a record of `channel` (the channel of its key).
pub(super) fn decode_record(
    channel: ChannelId,
    value: &[u8],
) -> Result<TelemetryRecord, TelemetryError> {
    let Some((&RECORD_FORMAT_V1, json)) = value.split_first() else {
        return Err(TelemetryError::Corrupt(format!(
            "stored record starts with {:?}, not format {RECORD_FORMAT_V1}",
            value.first()
        )));
    };
    let stored: Stored<'_> = serde_json::from_slice(json)
        .map_err(|e| TelemetryError::Corrupt(format!("stored record: {e}")))?;
    Ok(TelemetryRecord {
        channel,
        subtopic: owned(stored.subtopic),
        publisher: stored.publisher,
        protocol: stored.protocol.into_owned(),
        name: owned(stored.name),
        unit: owned(stored.unit),
        time: stored.time,
        update_time: stored.update_time,
        value: stored.value,
        string_value: owned(stored.string_value),
        bool_value: stored.bool_value,
        data_value: owned(stored.data_value),
        sum: stored.sum,
        payload: owned(stored.payload),
        content_type: owned(stored.content_type),
    })
}

/// Storage trouble the caller may retry becomes `Unavailable`; bytes that do not read back
/// (checksums, versions, journal recovery) become `Corrupt`, which needs an operator.
pub(super) fn storage_error(error: fjall::Error) -> TelemetryError {
    match error {
        fjall::Error::Locked => TelemetryError::Unavailable(
            "the telemetry directory is locked by another process (or another handle)".into(),
        ),
        fjall::Error::Io(_)
        | fjall::Error::Storage(fjall::LsmError::Io(_))
        | fjall::Error::Poisoned
        | fjall::Error::KeyspaceDeleted => TelemetryError::Unavailable(error.to_string()),
        other => TelemetryError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn channel(n: u128) -> ChannelId {
        ChannelId(Uuid::from_u128(n))
    }

    #[test]
    fn keys_sort_by_channel_then_time_then_sequence() {
        let a = channel(1);
        assert!(record_key(a, 1, u64::MAX) < record_key(a, 2, 0));
        assert!(record_key(a, 255, 0) < record_key(a, 256, 0));
        assert!(record_key(a, u64::MAX, u64::MAX) < record_key(channel(2), 0, 0));
        assert_eq!(key_ns(&record_key(a, 42, 7)), Ok(42));
        assert!(matches!(key_ns(&[0; 31]), Err(TelemetryError::Corrupt(_))));
    }

    #[test]
    fn time_ns_is_monotonic_and_clamped() {
        assert_eq!(time_ns(1.5), 1_500_000_000);
        assert_eq!(time_ns(-3.0), 0);
        assert_eq!(time_ns(f64::NAN), 0);
        assert_eq!(time_ns(1e300), u64::MAX);
        let times = [0.0, 1e-9, 1.0, 1_700_000_000.000_001, 1_700_000_000.5];
        assert!(times.windows(2).all(|w| time_ns(w[0]) < time_ns(w[1])));
    }

    #[test]
    fn records_round_trip_without_their_channel() {
        let record = TelemetryRecord {
            subtopic: Some("room.1".into()),
            name: Some("temp".into()),
            unit: Some("Cel".into()),
            update_time: Some(5.0),
            value: Some(0.1 + 0.2),
            sum: Some(-0.0),
            ..TelemetryRecord::new(channel(9), ThingId(Uuid::from_u128(3)), "http", 1.25)
        };
        let bytes = encode_record(&record).expect("encode");
        assert!(!String::from_utf8_lossy(&bytes).contains(&channel(9).to_string()));
        let back = decode_record(channel(9), &bytes).expect("decode");
        assert_eq!(back, record);
        // Bit for bit, not merely equal: -0.0 stays negative.
        assert_eq!(back.sum.map(f64::to_bits), record.sum.map(f64::to_bits));
    }

    #[test]
    fn unknown_formats_and_garbage_are_corrupt() {
        for bad in [&b""[..], b"\x02{}", b"\x01{not json"] {
            assert!(matches!(
                decode_record(channel(1), bad),
                Err(TelemetryError::Corrupt(_))
            ));
        }
    }
}
