//! Byte layouts of the three fjall keyspaces, and the mapping of fjall errors onto the port's
//! `LogError`.
//!
//! Keys are big-endian so that fjall's lexicographic order is numeric order: a range scan of
//! the log is a scan in position order, and a prefix scan of the stream index is a scan in
//! version order. Stream names never contain `0x00` (the append path rejects them), so
//! `stream ++ 0x00` is a prefix of exactly one stream's index entries.

use domain::envelope::RecordedEvent;
use domain::ports::event_log::{Appended, LogError};

/// Length of a big-endian `u64`.
const U64: usize = 8;

/// Leading byte of a stored command outcome, so the layout can change without guessing.
const APPENDED_FORMAT_V1: u8 = 1;

/// The longest stream name we accept; fjall keys may be 64 KiB, but a stream name that long
/// is a caller bug, and the JetStream backend limits subject length too.
pub(super) const MAX_STREAM_LEN: usize = 1024;

/// Key of one event in the global log.
pub(super) fn position_key(position: u64) -> [u8; U64] {
    position.to_be_bytes()
}

/// Reads a global-log key (or a stream-index value) back as a position.
pub(super) fn decode_u64(bytes: &[u8], what: &str) -> Result<u64, LogError> {
    let array: [u8; U64] = bytes
        .try_into()
        .map_err(|_| LogError::Corrupt(format!("{what} has {} bytes, not 8", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

/// Prefix shared by every stream-index key of `stream`.
pub(super) fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 1 + U64);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key
}

/// Stream-index key of (`stream`, `version`).
pub(super) fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// The version stored in a stream-index key: its last eight bytes.
pub(super) fn stream_key_version(key: &[u8]) -> Result<u64, LogError> {
    let at = key
        .len()
        .checked_sub(U64)
        .ok_or_else(|| LogError::Corrupt(format!("stream key of {} bytes", key.len())))?;
    decode_u64(&key[at..], "stream key version")
}

/// The stream name and version of a stream-index key.
pub(super) fn split_stream_key(key: &[u8]) -> Result<(&str, u64), LogError> {
    let version = stream_key_version(key)?;
    let name = &key[..key.len() - U64];
    let name = name
        .strip_suffix(&[0])
        .and_then(|name| std::str::from_utf8(name).ok())
        .ok_or_else(|| LogError::Corrupt("stream key without a stream name".into()))?;
    Ok((name, version))
}

/// Why a stream name cannot be stored, if it cannot.
pub(super) fn check_stream(stream: &str) -> Result<(), LogError> {
    if stream.is_empty() {
        return Err(LogError::Invalid("empty stream name".into()));
    }
    if stream.len() > MAX_STREAM_LEN {
        return Err(LogError::Invalid(format!(
            "stream name of {} bytes (at most {MAX_STREAM_LEN})",
            stream.len()
        )));
    }
    if stream.as_bytes().contains(&0) {
        return Err(LogError::Invalid("stream name contains a NUL byte".into()));
    }
    Ok(())
}

/// Command-index value: format byte, first position, last position, version, stream bytes.
/// `duplicate` is not stored: whoever reads it back decides what it means to them.
pub(super) fn encode_appended(appended: &Appended) -> Vec<u8> {
    let mut value = Vec::with_capacity(1 + 3 * U64 + appended.stream.len());
    value.push(APPENDED_FORMAT_V1);
    value.extend_from_slice(&appended.first_position.to_be_bytes());
    value.extend_from_slice(&appended.last_position.to_be_bytes());
    value.extend_from_slice(&appended.version.to_be_bytes());
    value.extend_from_slice(appended.stream.as_bytes());
    value
}

/// Reads a command-index value back; `duplicate` comes out `false` (the original outcome).
pub(super) fn decode_appended(value: &[u8]) -> Result<Appended, LogError> {
    let corrupt = || LogError::Corrupt(format!("command outcome of {} bytes", value.len()));
    let (&format, rest) = value.split_first().ok_or_else(corrupt)?;
    if format != APPENDED_FORMAT_V1 {
        return Err(LogError::Corrupt(format!(
            "command outcome format {format}"
        )));
    }
    if rest.len() < 3 * U64 {
        return Err(corrupt());
    }
    let (numbers, stream) = rest.split_at(3 * U64);
    let stream = std::str::from_utf8(stream)
        .map_err(|e| LogError::Corrupt(format!("command outcome stream: {e}")))?;
    Ok(Appended {
        stream: stream.to_owned(),
        first_position: decode_u64(&numbers[..U64], "first position")?,
        last_position: decode_u64(&numbers[U64..2 * U64], "last position")?,
        version: decode_u64(&numbers[2 * U64..], "version")?,
        duplicate: false,
    })
}

/// The log's value: the envelope's JSON, the same bytes `ferroflux events` prints.
pub(super) fn encode_event(event: &RecordedEvent) -> Result<Vec<u8>, LogError> {
    serde_json::to_vec(event).map_err(|e| LogError::Invalid(format!("event not serializable: {e}")))
}

pub(super) fn decode_event(value: &[u8]) -> Result<RecordedEvent, LogError> {
    serde_json::from_slice(value).map_err(|e| LogError::Corrupt(format!("stored event: {e}")))
}

/// Storage trouble the caller may retry becomes `Unavailable`; bytes that do not read back
/// (checksums, versions, journal recovery) become `Corrupt`, which needs an operator.
pub(super) fn storage_error(error: fjall::Error) -> LogError {
    match error {
        fjall::Error::Locked => LogError::Unavailable(
            "the event log directory is locked by another process (or another handle)".into(),
        ),
        fjall::Error::Io(_)
        | fjall::Error::Storage(fjall::LsmError::Io(_))
        | fjall::Error::Poisoned
        | fjall::Error::KeyspaceDeleted => LogError::Unavailable(error.to_string()),
        other => LogError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_round_trips() {
        let appended = Appended {
            stream: "thing-ü".into(),
            first_position: 7,
            last_position: 9,
            version: 3,
            duplicate: false,
        };
        assert_eq!(decode_appended(&encode_appended(&appended)), Ok(appended));
    }

    #[test]
    fn truncated_outcome_is_corrupt() {
        assert!(matches!(
            decode_appended(&[1, 0, 0]),
            Err(LogError::Corrupt(_))
        ));
        assert!(matches!(decode_appended(&[]), Err(LogError::Corrupt(_))));
    }

    #[test]
    fn stream_keys_sort_by_version_and_do_not_mix_prefixes() {
        assert!(stream_key("a", 2) < stream_key("a", 256));
        assert!(!stream_key("ab", 1).starts_with(&stream_prefix("a")));
        assert_eq!(stream_key_version(&stream_key("a", 42)), Ok(42));
        assert_eq!(
            split_stream_key(&stream_key("thing-1", 7)),
            Ok(("thing-1", 7))
        );
        assert!(split_stream_key(&42u64.to_be_bytes()).is_err());
    }

    #[test]
    fn bad_stream_names_are_invalid() {
        for bad in ["", "a\0b", &"x".repeat(MAX_STREAM_LEN + 1)] {
            assert!(matches!(check_stream(bad), Err(LogError::Invalid(_))));
        }
        assert_eq!(check_stream("thing-1"), Ok(()));
    }
}
