//! MQTT 5 topic aliases of one connection, both ways: a client names a topic once and then
//! sends only its alias (up to our `TOPIC_ALIAS_MAX`), and we do the same towards a client
//! that takes aliases (up to the maximum its CONNECT gave). They live and die with the
//! connection, and are allocated only when first used: most clients never do.

use std::collections::HashMap;
use std::num::NonZeroU16;

use bytestring::ByteString;

/// Aliases a client may set towards us (CONNACK's Topic Alias Maximum): Mosquitto's 10.
pub(super) const TOPIC_ALIAS_MAX: u16 = 10;

/// Why an inbound alias is refused (both end the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AliasError {
    /// 0 or above our maximum: DISCONNECT 0x94 "topic alias invalid".
    Invalid,
    /// An empty topic with an alias never set: a protocol error (0x82).
    Unknown,
}

#[derive(Default)]
pub(super) struct Aliases {
    /// The client's: alias → topic.
    inbound: HashMap<u16, ByteString>,
    /// Ours: topic → alias, in the order given; never reassigned once the client's
    /// maximum is reached (later topics go out in full).
    outbound: HashMap<Box<str>, NonZeroU16>,
}

/// How a topic goes out to a client that takes aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outbound {
    /// The topic in full, and no alias.
    Topic,
    /// The topic in full, setting this alias for it.
    Set(NonZeroU16),
    /// An empty topic and this alias, set before.
    Use(NonZeroU16),
}

impl Aliases {
    /// The topic of a PUBLISH that came with `alias`: `topic` sets it (an owned copy, as the
    /// decoded one shares the read buffer), an empty `topic` uses it.
    pub fn resolve(&mut self, topic: &ByteString, alias: u16) -> Result<ByteString, AliasError> {
        if alias == 0 || alias > TOPIC_ALIAS_MAX {
            return Err(AliasError::Invalid);
        }
        if topic.is_empty() {
            return self.inbound.get(&alias).cloned().ok_or(AliasError::Unknown);
        }
        let owned = ByteString::from(&**topic);
        self.inbound.insert(alias, owned.clone());
        Ok(owned)
    }

    /// How `topic` goes to a client taking at most `max` aliases.
    pub fn outbound(&mut self, topic: &str, max: u16) -> Outbound {
        if let Some(alias) = self.outbound.get(topic) {
            return Outbound::Use(*alias);
        }
        let next = u16::try_from(self.outbound.len() + 1).unwrap_or(u16::MAX);
        match NonZeroU16::new(next).filter(|n| n.get() <= max) {
            Some(alias) => {
                self.outbound.insert(topic.into(), alias);
                Outbound::Set(alias)
            }
            None => Outbound::Topic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_aliases_are_set_by_a_topic_and_used_by_an_empty_one() {
        let mut aliases = Aliases::default();
        let topic = ByteString::from_static("channels/x/messages/a");
        let empty = ByteString::new();
        assert_eq!(aliases.resolve(&empty, 1), Err(AliasError::Unknown));
        assert_eq!(aliases.resolve(&topic, 1).as_deref(), Ok(&*topic));
        assert_eq!(aliases.resolve(&empty, 1).as_deref(), Ok(&*topic));
        for invalid in [0, TOPIC_ALIAS_MAX + 1] {
            assert_eq!(aliases.resolve(&topic, invalid), Err(AliasError::Invalid));
        }
    }

    #[test]
    fn outbound_aliases_stay_within_the_clients_maximum() {
        let mut aliases = Aliases::default();
        let one = NonZeroU16::MIN;
        assert_eq!(aliases.outbound("a", 1), Outbound::Set(one));
        assert_eq!(aliases.outbound("a", 1), Outbound::Use(one));
        assert_eq!(aliases.outbound("b", 1), Outbound::Topic);
        assert_eq!(aliases.outbound("b", 1), Outbound::Topic);
        assert_eq!(aliases.outbound("a", 1), Outbound::Use(one));
    }
}
