//! Subtopics and topics, normalized exactly as Mainflux does in every adapter
//! (reference §2.1), with the few tightenings listed below.
//!
//! Normalization of the raw path tail after `/messages`: percent-decode (a bad escape is a
//! malformed subtopic), treat `/` and `.` alike as separators, drop empty parts (`a///b`
//! is `a.b`), refuse a part longer than one character containing `*` or `>`, join with
//! `.`; an empty result is no subtopic.
//!
//! Tightenings, each because the message could not be delivered correctly otherwise:
//! - **No wildcard when publishing** (`*`, `>`, `+`, `#` as a part; DESIGN.md §5). Mainflux
//!   accepted `*` and `>` and published on a NATS wildcard subject; an MQTT PUBLISH may not
//!   carry wildcards at all, so a message at `a.*` is delivered to nobody correctly.
//!   Subscription filters (`SubtopicFilter`) do accept them.
//! - `+` and `#` inside a longer part are refused like `*` and `>`: they are MQTT's
//!   wildcards and every message is also delivered over MQTT. `+` is a literal character
//!   in a path, so it is not decoded to a space (Go's `QueryUnescape` did that).
//! - No `%` after decoding, so decoding the normalized text again changes nothing: the same
//!   string is the bus subject, the MQTT topic and the reader's `subtopic` filter.
//! - No whitespace or control characters: they would split a NATS protocol line.
//! - At most `MAX_SUBTOPIC_LEN` bytes normalized (`MAX_RAW_SUBTOPIC_LEN` raw).
//! - Channel ids must match `[\w-]+` as in Mainflux (else malformed, 400); since Ferroflux
//!   ids are UUIDs, anything but a canonical lowercase UUID names no channel.

use std::fmt;
use std::sync::Arc;

use domain::ids::ChannelId;
use serde::{Serialize, Serializer};
use uuid::Uuid;

/// Longest normalized subtopic, in bytes.
pub const MAX_SUBTOPIC_LEN: usize = 1024;
/// Longest raw subtopic (before decoding): room for every byte of a maximal subtopic
/// percent-encoded, plus separators.
pub const MAX_RAW_SUBTOPIC_LEN: usize = 4 * MAX_SUBTOPIC_LEN;

/// Why a topic, subtopic or channel id was refused. Every variant is the client's fault:
/// HTTP and CoAP answer 400 (`UnknownChannel`: 403, as for a channel the thing may not
/// use), MQTT refuses the PUBLISH or SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("malformed subtopic: bad percent escape")]
    BadEscape,
    /// A wildcard mixed with other characters (`a*`), or `%`, whitespace or a control
    /// character in a part.
    #[error("malformed subtopic: bad part")]
    BadPart,
    #[error("malformed subtopic: wildcards are not allowed when publishing")]
    WildcardInPublish,
    /// A multi-level wildcard (`#`, `>`) that is not the filter's last part.
    #[error("malformed subtopic filter: a multi-level wildcard must be last")]
    MisplacedWildcard,
    #[error("malformed subtopic: longer than {MAX_SUBTOPIC_LEN} bytes")]
    TooLong,
    /// Not `[/]channels/<id>/messages[/<subtopic>][?…]`.
    #[error("malformed topic")]
    BadTopic,
    #[error("malformed channel id")]
    BadChannel,
    /// Well-formed, but not a canonical UUID, so no channel has it.
    #[error("unknown channel")]
    UnknownChannel,
}

/// A normalized subtopic: non-empty, dot-separated parts, none empty, no wildcard.
/// Shared text, so cloning a `Message` does not copy it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtopic(Arc<str>);

impl Subtopic {
    /// The publish side: the raw tail after `/messages` (a leading `/` is fine) to a
    /// subtopic, `None` when nothing is left after dropping empty parts.
    pub fn parse(raw: &str) -> Result<Option<Self>, TopicError> {
        let mut buffer = [0u8; MAX_SUBTOPIC_LEN];
        let normalized = normalize_into(raw, &mut buffer)?;
        if normalized.is_empty() {
            return Ok(None);
        }
        for part in normalized.split('.') {
            if Level::of(part)? != Level::Literal(part) {
                return Err(TopicError::WildcardInPublish);
            }
        }
        Ok(Some(Self(Arc::from(normalized))))
    }

    /// The normalized form, shared rather than copied.
    pub fn shared(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }

    /// The normalized form, `a.b`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: an empty subtopic is `None`. Here because clippy pairs it with `len`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }
}

impl fmt::Display for Subtopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Subtopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subtopic({:?})", &*self.0)
    }
}

impl Serialize for Subtopic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// One part of a subscription filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level<T> {
    Literal(T),
    /// `+` (MQTT) or `*` (NATS): exactly one part.
    One,
    /// `#` (MQTT): zero or more parts, so `a/#` also matches `a`.
    ZeroOrMore,
    /// `>` (NATS): one or more parts.
    OneOrMore,
}

impl<'a> Level<&'a str> {
    /// Classifies one non-empty part, refusing what no subtopic may contain.
    fn of(part: &'a str) -> Result<Self, TopicError> {
        Ok(match part {
            "+" | "*" => Self::One,
            "#" => Self::ZeroOrMore,
            ">" => Self::OneOrMore,
            _ if part.chars().any(|c| {
                matches!(c, '*' | '>' | '+' | '#' | '%') || c.is_whitespace() || c.is_control()
            }) =>
            {
                return Err(TopicError::BadPart);
            }
            _ => Self::Literal(part),
        })
    }
}

/// The subscribe side: which subtopics a subscription wants. Accepts MQTT (`+`, `#`) and
/// NATS (`*`, `>`) wildcards as whole parts; a filter with no parts matches only messages
/// without a subtopic, as MQTT's `channels/<id>/messages` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtopicFilter {
    levels: Box<[Level<Box<str>>]>,
}

impl SubtopicFilter {
    /// Normalizes `raw` as `Subtopic::parse` does, then reads wildcards.
    pub fn parse(raw: &str) -> Result<Self, TopicError> {
        let mut buffer = [0u8; MAX_SUBTOPIC_LEN];
        let normalized = normalize_into(raw, &mut buffer)?;
        let mut levels = Vec::new();
        for part in normalized.split('.').filter(|part| !part.is_empty()) {
            if matches!(levels.last(), Some(Level::ZeroOrMore | Level::OneOrMore)) {
                return Err(TopicError::MisplacedWildcard);
            }
            levels.push(match Level::of(part)? {
                Level::Literal(text) => Level::Literal(Box::from(text)),
                Level::One => Level::One,
                Level::ZeroOrMore => Level::ZeroOrMore,
                Level::OneOrMore => Level::OneOrMore,
            });
        }
        Ok(Self {
            levels: levels.into(),
        })
    }

    /// Every subtopic, and no subtopic too (MQTT's `channels/<id>/messages/#`).
    pub fn everything() -> Self {
        Self {
            levels: Box::new([Level::ZeroOrMore]),
        }
    }

    pub fn matches(&self, subtopic: Option<&Subtopic>) -> bool {
        let text = subtopic.map_or("", Subtopic::as_str);
        let mut parts = text.split('.').filter(|part| !part.is_empty());
        for level in &self.levels {
            match level {
                Level::ZeroOrMore => return true,
                Level::OneOrMore => return parts.next().is_some(),
                Level::One if parts.next().is_none() => return false,
                Level::One => {}
                Level::Literal(text) => {
                    if parts.next() != Some(&**text) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }
}

/// Percent-decodes `raw`, splits it on `/` and `.`, drops empty parts and writes the rest
/// joined by `.` into `out`. No allocation: the bound on the result fits on the stack.
fn normalize_into<'o>(
    raw: &str,
    out: &'o mut [u8; MAX_SUBTOPIC_LEN],
) -> Result<&'o str, TopicError> {
    if raw.len() > MAX_RAW_SUBTOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    let mut len = 0;
    let mut separator_pending = false;
    let mut bytes = raw.bytes();
    while let Some(byte) = bytes.next() {
        let byte = if byte == b'%' {
            let high = bytes.next().and_then(hex).ok_or(TopicError::BadEscape)?;
            let low = bytes.next().and_then(hex).ok_or(TopicError::BadEscape)?;
            high << 4 | low
        } else {
            byte
        };
        if byte == b'/' || byte == b'.' {
            separator_pending = len > 0;
            continue;
        }
        if separator_pending {
            push(out, &mut len, b'.')?;
            separator_pending = false;
        }
        push(out, &mut len, byte)?;
    }
    // Separators are ASCII, so the joined bytes are UTF-8 exactly when the decoded ones are.
    std::str::from_utf8(&out[..len]).map_err(|_| TopicError::BadEscape)
}

fn push(out: &mut [u8; MAX_SUBTOPIC_LEN], len: &mut usize, byte: u8) -> Result<(), TopicError> {
    let slot = out.get_mut(*len).ok_or(TopicError::TooLong)?;
    *slot = byte;
    *len += 1;
    Ok(())
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|value| value as u8)
}

/// A channel id from a path or topic: `[\w-]+` (ASCII letters, digits, `_`, `-`), else
/// `BadChannel`; a canonical lowercase UUID, else `UnknownChannel`. Requiring the
/// canonical form keeps one spelling per channel, so an MQTT subscription to an uppercase
/// id cannot silently miss the topics the bus writes in lowercase.
pub fn parse_channel(id: &str) -> Result<ChannelId, TopicError> {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    if id.is_empty() || !id.bytes().all(word) {
        return Err(TopicError::BadChannel);
    }
    let uuid = Uuid::try_parse(id).map_err(|_| TopicError::UnknownChannel)?;
    let mut canonical = [0u8; 36];
    if uuid.hyphenated().encode_lower(&mut canonical) != id {
        return Err(TopicError::UnknownChannel);
    }
    Ok(ChannelId(uuid))
}

/// Splits an MQTT topic or an HTTP/CoAP path, `^/?channels/([\w-]+)/messages(/[^?]*)?(\?.*)?$`
/// as Mainflux matches it, into the channel and the raw subtopic tail (query dropped).
pub fn split_topic(topic: &str) -> Result<(ChannelId, &str), TopicError> {
    let topic = topic.strip_prefix('/').unwrap_or(topic);
    let rest = topic
        .strip_prefix("channels/")
        .ok_or(TopicError::BadTopic)?;
    let (id, rest) = rest.split_once('/').ok_or(TopicError::BadTopic)?;
    let tail = rest.strip_prefix("messages").ok_or(TopicError::BadTopic)?;
    let tail = tail.split_once('?').map_or(tail, |(path, _query)| path);
    if !(tail.is_empty() || tail.starts_with('/')) {
        return Err(TopicError::BadTopic);
    }
    Ok((parse_channel(id)?, tail))
}

/// A topic to publish on: its channel and normalized subtopic (wildcards refused).
pub fn parse_publish_topic(topic: &str) -> Result<(ChannelId, Option<Subtopic>), TopicError> {
    let (channel, tail) = split_topic(topic)?;
    Ok((channel, Subtopic::parse(tail)?))
}

/// A topic filter to subscribe to: wildcards only inside the subtopic, so
/// `channels/+/messages` and `#` are `BadTopic`/`BadChannel`.
pub fn parse_subscribe_topic(topic: &str) -> Result<(ChannelId, SubtopicFilter), TopicError> {
    let (channel, tail) = split_topic(topic)?;
    Ok((channel, SubtopicFilter::parse(tail)?))
}

/// The MQTT topic a message is delivered on: `channels/<id>/messages[/<a/b>]`.
pub fn mqtt_topic(channel: ChannelId, subtopic: Option<&Subtopic>) -> String {
    let extra = subtopic.map_or(0, |s| 1 + s.len());
    let mut topic = String::with_capacity("channels//messages".len() + 36 + extra);
    topic.push_str("channels/");
    let mut id = [0u8; 36];
    topic.push_str(channel.0.hyphenated().encode_lower(&mut id));
    topic.push_str("/messages");
    if let Some(subtopic) = subtopic {
        for part in subtopic.parts() {
            topic.push('/');
            topic.push_str(part);
        }
    }
    topic
}
