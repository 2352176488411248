use bytes::Bytes;
use domain::ids::{ChannelId, ThingId};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn encoded(record: &TelemetryRecord) -> Vec<u8> {
    let mut out = Vec::new();
    encode_record(record, &mut out);
    out
}

fn channel() -> ChannelId {
    ChannelId(Uuid::from_u128(9))
}

fn full() -> TelemetryRecord {
    TelemetryRecord {
        subtopic: Some("room.1".into()),
        name: Some("temp".into()),
        unit: Some("Cel".into()),
        update_time: Some(5.0),
        value: Some(0.1 + 0.2),
        string_value: Some("ok".into()),
        bool_value: Some(true),
        data_value: Some("aGk".into()),
        sum: Some(-0.0),
        payload: Some(Bytes::from_static(b"\x00\xffraw")),
        content_type: Some("application/octet-stream".into()),
        ..TelemetryRecord::new(channel(), ThingId(Uuid::from_u128(3)), "http", 1.25)
    }
}

#[test]
fn every_field_round_trips_bit_for_bit_without_the_channel() {
    let record = full();
    let bytes = encoded(&record);
    assert!(!bytes.windows(16).any(|w| w == channel().0.as_bytes()));
    let back = decode_record(channel(), &bytes).expect("decode");
    assert_eq!(back, record);
    // Equal is not enough: -0.0 == 0.0, yet it must stay negative.
    assert_eq!(back.sum.map(f64::to_bits), record.sum.map(f64::to_bits));
}

#[test]
fn an_opaque_message_costs_little_more_than_its_payload() {
    let record = TelemetryRecord {
        payload: Some(Bytes::from(vec![b'x'; 100])),
        ..TelemetryRecord::new(channel(), ThingId(Uuid::from_u128(3)), "http", 1.25)
    };
    // Head 27, protocol 4 + 4, payload 4 + 100.
    assert_eq!(encoded(&record).len(), 139);
}

#[test]
fn every_cut_short_value_is_corrupt() {
    let bytes = encoded(&full());
    for len in 0..bytes.len() {
        assert!(
            matches!(
                decode_record(channel(), &bytes[..len]),
                Err(TelemetryError::Corrupt(_))
            ),
            "{len} bytes"
        );
    }
}

#[test]
fn other_formats_unknown_fields_and_trailing_bytes_are_corrupt() {
    let good = encoded(&full());
    let mut other_format = good.clone();
    other_format[0] = 1;
    let mut unknown_field = good.clone();
    // The high byte of the presence bits, after format, publisher and time.
    unknown_field[1 + 16 + 8 + 1] |= 0x80;
    let mut trailing = good.clone();
    trailing.push(0);
    let mut bad_bool = encoded(&TelemetryRecord {
        bool_value: Some(false),
        ..TelemetryRecord::new(channel(), ThingId(Uuid::nil()), "mqtt", 1.0)
    });
    *bad_bool.last_mut().expect("a bool") = 2;
    for bad in [other_format, unknown_field, trailing, bad_bool] {
        assert!(matches!(
            decode_record(channel(), &bad),
            Err(TelemetryError::Corrupt(_))
        ));
    }
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(".{0,12}")
}

fn number() -> impl Strategy<Value = Option<f64>> {
    proptest::option::of(any::<f64>())
}

prop_compose! {
    fn record()(
        texts in (text(), text(), text(), text(), text(), text()),
        numbers in (any::<f64>(), number(), number(), number()),
        bool_value in proptest::option::of(any::<bool>()),
        payload in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        ids in (any::<u128>(), "[a-z]{0,8}"),
    ) -> TelemetryRecord {
        let (subtopic, name, unit, string_value, data_value, content_type) = texts;
        let (time, update_time, value, sum) = numbers;
        TelemetryRecord {
            subtopic: subtopic.map(Into::into),
            name, unit, string_value, data_value, content_type,
            update_time, value, sum, bool_value,
            payload: payload.map(Bytes::from),
            ..TelemetryRecord::new(channel(), ThingId(Uuid::from_u128(ids.0)), ids.1, time)
        }
    }
}

fn bits(r: &TelemetryRecord) -> [Option<u64>; 4] {
    [Some(r.time), r.update_time, r.value, r.sum].map(|n| n.map(f64::to_bits))
}

proptest! {
    #[test]
    fn any_record_reads_back_exactly(record in record()) {
        let back = decode_record(channel(), &encoded(&record)).expect("decode");
        // Field by field with numbers as bits: NaN != NaN would fail a plain comparison.
        prop_assert_eq!(bits(&back), bits(&record));
        let strip = |r: TelemetryRecord| TelemetryRecord {
            time: 0.0, update_time: None, value: None, sum: None, ..r
        };
        prop_assert_eq!(strip(back), strip(record));
    }

    #[test]
    fn any_bytes_decode_or_are_corrupt(
        ours in any::<bool>(),
        mut bytes in proptest::collection::vec(any::<u8>(), 0..96),
    ) {
        if let (true, Some(first)) = (ours, bytes.first_mut()) {
            *first = FORMAT;
        }
        match decode_record(channel(), &bytes) {
            Ok(record) => prop_assert_eq!(encoded(&record), bytes),
            Err(error) => prop_assert!(matches!(error, TelemetryError::Corrupt(_))),
        }
    }
}
