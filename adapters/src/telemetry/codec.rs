//! Keys of the fjall telemetry keyspace (values: `value_codec`), and fjall errors mapped
//! onto the port's.
//!
//! Key: channel id (16 bytes) ++ time in ns (u64 BE) ++ sequence (u64 BE), 32 bytes.
//! Big-endian so that fjall's byte order is numeric order: a channel's records are one
//! contiguous range sorted by time, then by arrival, and a reverse scan is newest first.
//! The sequence keeps records of the same channel and nanosecond apart; the store persists
//! its next value with every batch, so it never repeats, across restarts either.

use domain::ids::ChannelId;
use uuid::Uuid;

use super::TelemetryError;

/// Length of a record key.
pub(super) const KEY_LEN: usize = 32;

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
    key_bytes(key, 16).map(u64::from_be_bytes)
}

/// The channel of a record key, checking its length.
pub(super) fn key_channel(key: &[u8]) -> Result<ChannelId, TelemetryError> {
    key_bytes(key, 0).map(|id| ChannelId(Uuid::from_bytes(id)))
}

fn key_bytes<const N: usize>(key: &[u8], start: usize) -> Result<[u8; N], TelemetryError> {
    key.get(start..start + N)
        .filter(|_| key.len() == KEY_LEN)
        .and_then(|part| part.try_into().ok())
        .ok_or_else(|| TelemetryError::Corrupt(format!("record key of {} bytes", key.len())))
}

/// A `u64` stored big-endian in `meta` (`what` names it in the error).
pub(super) fn be_u64(value: &[u8], what: &str) -> Result<u64, TelemetryError> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| TelemetryError::Corrupt(format!("{what} of {} bytes", value.len())))?;
    Ok(u64::from_be_bytes(bytes))
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
}
