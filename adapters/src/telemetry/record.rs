//! `TelemetryRecord`: one stored measurement, named as Mainflux's readers name it.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use serde::{Deserialize, Serialize};

use super::TelemetryError;

/// One normalized SenML measurement, or one opaque (non-SenML) message.
///
/// The JSON is Mainflux's reader output: snake_case names, absent fields omitted (Mainflux
/// uses pointers and `omitempty`). A SenML record carries at most one of `value`,
/// `string_value`, `bool_value`, `data_value`, plus an optional `sum`; an opaque message
/// carries `payload` (the raw bytes, standard base64 in JSON) and `content_type` instead. The
/// store does not enforce that split: the writer that builds records does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TelemetryRecord {
    #[schema(value_type = uuid::Uuid)]
    pub channel: ChannelId,
    /// Normalized, dot-separated (`a.b`), as the adapters store it; shared with the
    /// message it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub subtopic: Option<Arc<str>>,
    /// The thing that published the message.
    #[schema(value_type = uuid::Uuid)]
    pub publisher: ThingId,
    /// `http`, `mqtt`, …: borrowed from the message when written, owned when read back.
    #[schema(value_type = String)]
    pub protocol: Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Seconds since the Unix epoch, fractional, as Mainflux stores it. From 0 up to (not
    /// including) `MAX_TIME`: see `check`.
    pub time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bool_value: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    /// The raw payload of a non-SenML message; standard base64 in JSON.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_payload"
    )]
    #[schema(value_type = Option<String>, format = Byte)]
    pub payload: Option<Bytes>,
    /// The content type the opaque payload was published with, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// The first time that cannot be stored, in seconds (year 2554): whole seconds just below
/// 2^64 ns. Backends order by nanoseconds in a `u64`, so later times would not sort.
pub const MAX_TIME: f64 = 18_446_744_073.0;

/// The most bytes of text and payload one record may hold together: far above any payload
/// limit, and below what a `u32` length (and fjall's 4 GiB value) can carry.
pub const MAX_RECORD_BYTES: usize = 1 << 30;

impl TelemetryRecord {
    /// A record with only the fields every record has; set the rest with struct update.
    pub fn new(
        channel: ChannelId,
        publisher: ThingId,
        protocol: impl Into<Cow<'static, str>>,
        time: f64,
    ) -> Self {
        Self {
            channel,
            subtopic: None,
            publisher,
            protocol: protocol.into(),
            name: None,
            unit: None,
            time,
            update_time: None,
            value: None,
            string_value: None,
            bool_value: None,
            data_value: None,
            sum: None,
            payload: None,
            content_type: None,
        }
    }

    /// Why this record cannot be stored, if it cannot. Every backend refuses the same
    /// records, so a writer can filter with this before `save` and keep the good ones.
    /// Text may not hold U+0000 (PostgreSQL's text cannot): a SenML record naming one is
    /// stored as the opaque message instead, payload intact.
    ///
    /// Negative times are refused rather than clamped: SenML relative times are resolved
    /// against reception time before they get here, so a negative time is a bug upstream,
    /// and clamping would silently move data. Non-finite numbers are refused because JSON,
    /// the reader's answer (and Mainflux's wire format), cannot carry them.
    pub fn check(&self) -> Result<(), TelemetryError> {
        if !(self.time.is_finite() && self.time >= 0.0 && self.time < MAX_TIME) {
            return Err(TelemetryError::Invalid(format!(
                "time {} is not between 0 and {MAX_TIME} seconds",
                self.time
            )));
        }
        let numbers = [
            ("update_time", self.update_time),
            ("value", self.value),
            ("sum", self.sum),
        ];
        for (field, number) in numbers {
            if let Some(number) = number
                && !number.is_finite()
            {
                return Err(TelemetryError::Invalid(format!(
                    "{field} {number} is not a finite number"
                )));
            }
        }
        let texts = [
            self.subtopic.as_deref(),
            Some(&*self.protocol),
            self.name.as_deref(),
            self.unit.as_deref(),
            self.string_value.as_deref(),
            self.data_value.as_deref(),
            self.content_type.as_deref(),
        ];
        if texts.iter().flatten().any(|text| text.contains('\0')) {
            return Err(TelemetryError::Invalid(
                "a text field holds U+0000, which PostgreSQL text cannot store".into(),
            ));
        }
        let bytes: usize = texts
            .into_iter()
            .flatten()
            .map(str::len)
            .chain(self.payload.as_ref().map(Bytes::len))
            .sum();
        if bytes > MAX_RECORD_BYTES {
            return Err(TelemetryError::Invalid(format!(
                "{bytes} bytes of text and payload, more than {MAX_RECORD_BYTES}"
            )));
        }
        Ok(())
    }
}

/// `Option<Bytes>` as standard base64 text, as Mainflux's readers show a raw payload.
mod base64_payload {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(
        payload: &Option<Bytes>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match payload {
            Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        STANDARD
            .decode(text)
            .map(|bytes| Some(Bytes::from(bytes)))
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn record() -> TelemetryRecord {
        TelemetryRecord::new(
            ChannelId(Uuid::from_u128(1)),
            ThingId(Uuid::from_u128(2)),
            "mqtt",
            1_700_000_000.5,
        )
    }

    #[test]
    fn json_uses_mainflux_names_and_omits_absent_fields() {
        let r = TelemetryRecord {
            name: Some("temp".into()),
            unit: Some("Cel".into()),
            value: Some(21.5),
            ..record()
        };
        assert_eq!(
            serde_json::to_value(&r).expect("serializable"),
            json!({
                "channel": "00000000-0000-0000-0000-000000000001",
                "publisher": "00000000-0000-0000-0000-000000000002",
                "protocol": "mqtt",
                "name": "temp",
                "unit": "Cel",
                "time": 1_700_000_000.5,
                "value": 21.5,
            })
        );
        let back: TelemetryRecord =
            serde_json::from_value(serde_json::to_value(&r).expect("ser")).expect("de");
        assert_eq!(back, r);
    }

    #[test]
    fn a_page_serializes_in_mainflux_order() {
        let page = crate::telemetry::ReadPage {
            total: 7,
            offset: 5,
            limit: 2,
            messages: vec![record()],
        };
        let text = serde_json::to_string(&page).expect("serializable");
        assert!(
            text.starts_with(r#"{"total":7,"offset":5,"limit":2,"messages":[{"channel":"#),
            "{text}"
        );
    }

    #[test]
    fn check_refuses_a_record_over_1_gib() {
        // Zeroed memory comes from the OS untouched: this costs no RSS.
        let huge = TelemetryRecord {
            payload: Some(Bytes::from(vec![0u8; MAX_RECORD_BYTES + 1])),
            ..record()
        };
        assert!(matches!(huge.check(), Err(TelemetryError::Invalid(_))));
    }

    #[test]
    fn check_refuses_unstorable_numbers() {
        assert_eq!(record().check(), Ok(()));
        for time in [-0.5, f64::NAN, f64::INFINITY, MAX_TIME, 1e300] {
            let bad = TelemetryRecord { time, ..record() };
            assert!(
                matches!(bad.check(), Err(TelemetryError::Invalid(_))),
                "{time}"
            );
        }
        let bad = TelemetryRecord {
            sum: Some(f64::NEG_INFINITY),
            ..record()
        };
        assert!(matches!(bad.check(), Err(TelemetryError::Invalid(_))));
        let edge = TelemetryRecord {
            time: 0.0,
            ..record()
        };
        assert_eq!(edge.check(), Ok(()));
        let nul = TelemetryRecord {
            name: Some("temp\0".into()),
            ..record()
        };
        assert!(matches!(nul.check(), Err(TelemetryError::Invalid(_))));
    }
}
