//! Identifiers and secrets-at-rest. Ids are UUIDs (v4, as Mainflux issues them).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The event-log stream that holds this aggregate's history.
            /// Built by hand: `format!` costs more than the rest of naming a stream, and
            /// every command names one.
            pub fn stream(&self) -> String {
                const PREFIX: &str = concat!($prefix, "-");
                let mut buffer = Uuid::encode_buffer();
                let id = self.0.hyphenated().encode_lower(&mut buffer);
                let mut stream = String::with_capacity(PREFIX.len() + id.len());
                stream.push_str(PREFIX);
                stream.push_str(id);
                stream
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(UserId, "user");
id_type!(ThingId, "thing");
id_type!(ChannelId, "channel");

/// Keyed hash (HMAC-SHA256) of a thing key, written as 64 hex characters. Authentication
/// compares hashes, so the log never holds a usable key. Fixed-size so the authz cache
/// hashes and copies it without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// The stream of this key's claim (`domain::key_claim`): `thingkey-<64 hex>`, a valid
    /// NATS subject token and fjall key.
    pub fn claim_stream(&self) -> String {
        format!("thingkey-{self}")
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({self})")
    }
}

impl Serialize for KeyHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 64];
        // Encoding 32 bytes into 64 always fits.
        hex::encode_to_slice(self.0, &mut text).map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for KeyHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.as_bytes(), &mut bytes).map_err(serde::de::Error::custom)?;
        Ok(Self(bytes))
    }
}

/// A thing key sealed with the master key (AEAD), kept only because `GET /things/{id}`
/// shows the key as Mainflux does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedKey(pub String);

/// Both forms of a thing key at rest, computed by the command layer before `decide`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterial {
    pub key_hash: KeyHash,
    pub sealed_key: SealedKey,
}

/// An argon2id PHC string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_named_by_kind_and_hyphenated_id() {
        let id = Uuid::from_u128(0xA1);
        assert_eq!(
            ThingId(id).stream(),
            "thing-00000000-0000-0000-0000-0000000000a1"
        );
        assert_eq!(UserId(id).stream(), format!("user-{id}"));
        assert_eq!(ChannelId(id).stream(), format!("channel-{id}"));
    }
}
