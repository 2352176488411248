//! What a publisher may say about a message beyond its payload and content type: MQTT 5's
//! message properties, carried with the message so that subscribers get them as sent.
//!
//! Most messages have none, so a `Message` holds them as `Option<Arc<MessageProperties>>`:
//! nothing is allocated without them, and every queued copy of one with them shares one.
//! They are protocol-neutral (an adapter that cannot express one leaves it out), and the
//! expiry is a wall-clock deadline, so it means the same wherever the message is read.

use bytes::Bytes;

/// Properties of one message, as its publisher set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageProperties {
    /// The payload is UTF-8 text (MQTT 5 payload format indicator 1).
    pub utf8_payload: bool,
    /// The content type exactly as written, for protocols that forward it unaltered (MQTT
    /// 5); `Message::content_type` is its parsed form, which the writer dispatches on.
    pub content_type: Option<Box<str>>,
    /// Where the publisher wants an answer (request/response).
    pub response_topic: Option<Box<str>>,
    /// Opaque to us: the requester matches the answer to its request with it.
    pub correlation_data: Option<Bytes>,
    /// Name/value pairs, in the publisher's order (names may repeat).
    pub user: Box<[(Box<str>, Box<str>)]>,
    /// When the message expires, in nanoseconds since the Unix epoch; never delivered after.
    pub expires_at: Option<i64>,
}

/// A message past its expiry: it must not be delivered any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired;

impl MessageProperties {
    /// Whether there is anything to carry: an empty set is not kept.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The bytes it holds, counted in the byte limits of queues and retained messages.
    pub fn size(&self) -> usize {
        let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        text(&self.content_type)
            + text(&self.response_topic)
            + self.correlation_data.as_ref().map_or(0, Bytes::len)
            + self
                .user
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }

    /// The whole seconds of life left at `now_ns`, rounded up (what MQTT 5 sends on as the
    /// message expiry interval); `None` for a message that does not expire.
    pub fn remaining_secs(&self, now_ns: i64) -> Option<Result<u32, Expired>> {
        let expires_at = self.expires_at?;
        let left = expires_at.saturating_sub(now_ns);
        if left <= 0 {
            return Some(Err(Expired));
        }
        let secs = (left as u64).div_ceil(1_000_000_000);
        Some(Ok(u32::try_from(secs).unwrap_or(u32::MAX)))
    }

    pub fn is_expired(&self, now_ns: i64) -> bool {
        matches!(self.remaining_secs(now_ns), Some(Err(Expired)))
    }
}

/// The deadline of a message received at `created_ns` that lives `interval_secs`.
pub fn expiry_deadline(created_ns: i64, interval_secs: u32) -> i64 {
    created_ns.saturating_add(i64::from(interval_secs) * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remaining_lifetime_is_rounded_up_and_ends_at_the_deadline() {
        let properties = MessageProperties {
            expires_at: Some(expiry_deadline(1_000, 6)),
            ..MessageProperties::default()
        };
        let cases = [
            (1_000, Some(Ok(6))),
            (1_001, Some(Ok(6))),
            (1_000 + 5_000_000_000, Some(Ok(1))),
            (1_000 + 5_999_999_999, Some(Ok(1))),
            (1_000 + 6_000_000_000, Some(Err(Expired))),
            (i64::MAX, Some(Err(Expired))),
        ];
        for (now, expected) in cases {
            assert_eq!(properties.remaining_secs(now), expected, "at {now}");
        }
        assert_eq!(MessageProperties::default().remaining_secs(i64::MAX), None);
    }

    #[test]
    fn size_counts_every_carried_byte_and_empty_means_nothing_to_carry() {
        assert!(MessageProperties::default().is_empty());
        let properties = MessageProperties {
            content_type: Some("ab".into()),
            response_topic: Some("abc".into()),
            correlation_data: Some(Bytes::from_static(b"abcd")),
            user: vec![("k".into(), "vv".into()), ("k".into(), "".into())].into(),
            ..MessageProperties::default()
        };
        assert_eq!(properties.size(), 2 + 3 + 4 + 3 + 1);
        assert!(!properties.is_empty());
        let flag = MessageProperties {
            utf8_payload: true,
            ..MessageProperties::default()
        };
        assert!(!flag.is_empty(), "the payload format alone is carried");
    }
}
