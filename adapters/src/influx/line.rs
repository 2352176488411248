//! Records as InfluxDB line protocol, in Mainflux's InfluxDB writer layout: measurement
//! `messages`; tags `channel`, `name`, `publisher`, `subtopic` (sorted, empty ones left
//! out); fields `protocol`, `unit`, `updateTime` (a string, as Mainflux wrote it), one of
//! `value`, `stringValue`, `boolValue`, `dataValue`, and `sum`; an opaque message's
//! `payload` (base64) and `contentType`. Time in nanoseconds.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::telemetry::TelemetryRecord;

/// Appends one line per record to `out`.
pub fn encode(records: &[TelemetryRecord], out: &mut String) {
    for record in records {
        line(record, out);
    }
}

fn line(record: &TelemetryRecord, out: &mut String) {
    out.push_str("messages");
    let mut id = uuid::Uuid::encode_buffer();
    tag(
        out,
        "channel",
        record.channel.0.hyphenated().encode_lower(&mut id),
    );
    if let Some(name) = &record.name {
        tag(out, "name", name);
    }
    tag(
        out,
        "publisher",
        record.publisher.0.hyphenated().encode_lower(&mut id),
    );
    if let Some(subtopic) = &record.subtopic {
        tag(out, "subtopic", subtopic);
    }
    out.push(' ');
    // `protocol` is always there, so every line has a field and the others follow a comma.
    text_field(out, "protocol", &record.protocol);
    let texts = [
        ("unit", record.unit.as_deref()),
        ("stringValue", record.string_value.as_deref()),
        ("dataValue", record.data_value.as_deref()),
        ("contentType", record.content_type.as_deref()),
    ];
    for (key, text) in texts {
        if let Some(text) = text {
            out.push(',');
            text_field(out, key, text);
        }
    }
    if let Some(update_time) = record.update_time {
        out.push(',');
        text_field(out, "updateTime", &update_time.to_string());
    }
    for (key, number) in [("value", record.value), ("sum", record.sum)] {
        if let Some(number) = number {
            // Rust prints a float's shortest exact form; without an `i` suffix it is a float.
            let _ = write!(out, ",{key}={number}");
        }
    }
    if let Some(flag) = record.bool_value {
        let _ = write!(out, ",boolValue={flag}");
    }
    if let Some(payload) = &record.payload {
        out.push(',');
        text_field(out, "payload", &STANDARD.encode(payload));
    }
    // `check` holds the time between 0 and year 2554: it fits nanoseconds in a u64.
    let _ = writeln!(out, " {}", (record.time * 1e9).round() as u64);
}

/// `,key=value`, with the characters line protocol gives meaning to escaped. A tag value
/// cannot hold a line break at all: one becomes a space (names and subtopics never have
/// one; the SenML and subtopic rules refuse control characters).
fn tag(out: &mut String, key: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    out.push(',');
    out.push_str(key);
    out.push('=');
    for c in value.chars() {
        match c {
            ',' | '=' | ' ' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// `key="text"`, with `"` and `\` escaped. Line protocol has no escape for a line break
/// inside a value either: one becomes a space here, in the export only (the telemetry store
/// keeps the text as it was), rather than splitting the line and failing the whole batch.
fn text_field(out: &mut String, key: &str, text: &str) {
    out.push_str(key);
    out.push_str("=\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use domain::ids::{ChannelId, ThingId};
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

    fn encoded(record: TelemetryRecord) -> String {
        let mut out = String::new();
        encode(&[record], &mut out);
        out
    }

    #[test]
    fn a_measurement_is_one_line_in_mainflux_layout() {
        let line = encoded(TelemetryRecord {
            subtopic: Some("room 1,a=b".into()),
            name: Some("temp".into()),
            unit: Some("Cel".into()),
            value: Some(21.5),
            sum: Some(3.0),
            update_time: Some(30.0),
            ..record()
        });
        assert_eq!(
            line,
            "messages,channel=00000000-0000-0000-0000-000000000001,name=temp,\
             publisher=00000000-0000-0000-0000-000000000002,subtopic=room\\ 1\\,a\\=b \
             protocol=\"mqtt\",unit=\"Cel\",updateTime=\"30\",value=21.5,sum=3 \
             1700000000500000000\n"
        );
    }

    proptest::proptest! {
        /// Whatever the text, line breaks included, every record is one line of `messages`
        /// ending with its timestamp.
        #[test]
        fn any_text_makes_one_line_per_record(
            texts in proptest::collection::vec("(?s).*", 4),
            count in 1..4usize,
        ) {
            let with_text = TelemetryRecord {
                subtopic: Some(texts[0].as_str().into()),
                name: Some(texts[1].clone()),
                unit: Some(texts[2].clone()),
                string_value: Some(texts[3].clone()),
                ..record()
            };
            let mut out = String::new();
            encode(&vec![with_text; count], &mut out);
            let lines: Vec<&str> = out.split('\n').filter(|line| !line.is_empty()).collect();
            proptest::prop_assert_eq!(lines.len(), count, "{}", out);
            for line in lines {
                proptest::prop_assert!(line.starts_with("messages,channel="), "{}", line);
                proptest::prop_assert!(line.ends_with(" 1700000000500000000"), "{}", line);
            }
        }
    }

    #[test]
    fn texts_booleans_and_opaque_payloads_are_fields() {
        let line = encoded(TelemetryRecord {
            string_value: Some("say \"hi\" \\o/".into()),
            bool_value: Some(false),
            ..record()
        });
        assert!(
            line.contains(r#" protocol="mqtt",stringValue="say \"hi\" \\o/",boolValue=false "#),
            "{line}"
        );
        let line = encoded(TelemetryRecord {
            payload: Some(Bytes::from_static(b"\x00\xffraw")),
            content_type: Some("application/octet-stream".into()),
            ..record()
        });
        assert!(
            line.contains(r#",contentType="application/octet-stream",payload="AP9yYXc=" "#),
            "{line}"
        );
        assert!(!line.contains(",name="), "no empty tag: {line}");
    }
}
