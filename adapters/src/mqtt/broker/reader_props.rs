//! Property tests of the packet reader: whatever bytes a client sends, in whatever pieces,
//! reading never panics and never makes room for more than one packet within the limit.

use bytes::BytesMut;
use proptest::prelude::*;
use rmqtt_codec::{v3, v5};

use super::inbound::read_connect;
use super::wire::Wire;

/// Bytes a connection reads at a time, at most (as `connection::READ_CHUNK`).
const CHUNK: usize = 4096;

/// Feeds `bytes` in `pieces` to a connection's reader with a packet limit of `limit`, as the
/// connection does: until the reader ends the connection, or the bytes run out.
fn read_all(mut wire: Wire, bytes: &[u8], pieces: &[usize], limit: u32) {
    let mut input = BytesMut::new();
    let mut rest = bytes;
    let mut piece = pieces.iter().cycle();
    while !rest.is_empty() {
        let take = piece
            .next()
            .map_or(rest.len(), |n| (*n).clamp(1, CHUNK))
            .min(rest.len());
        input.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        loop {
            let before = input.capacity();
            let read = wire.read(&mut input, limit);
            // Room is made for one packet within the limit (its header at most 5 bytes). After
            // each packet the codec reserves 2 bytes more, which may double the buffer it
            // reads from once (a vector's growth): never past twice what it held, which a
            // connection bounds by one read and one packet.
            let bound = (2 * (before + 2)).max(2 * (limit as usize + 5));
            assert_within(input.capacity(), bound);
            match read {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

fn assert_within(capacity: usize, bound: usize) {
    assert!(capacity <= bound, "capacity {capacity} over {bound}");
}

/// Arbitrary bytes, often starting like a real packet so the codec gets past the header.
fn packets() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![
        Just(0x30u8),
        Just(0x32),
        Just(0x82),
        Just(0xA2),
        Just(0x62),
        Just(0xC0),
        Just(0xE0),
        any::<u8>()
    ];
    (first, prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(first, mut rest)| {
        rest.insert(0, first);
        rest
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_after_connect_never_panic_nor_overallocate(
        bytes in packets(),
        pieces in prop::collection::vec(1usize..64, 1..8),
        limit in 16u32..1024,
        v5 in any::<bool>(),
    ) {
        let wire = match v5 {
            true => Wire::V5(v5::Codec::new(limit, 0)),
            false => Wire::V3(v3::Codec::new(limit)),
        };
        read_all(wire, &bytes, &pieces, limit);
    }

    #[test]
    fn any_bytes_as_a_connect_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        limit in 16u32..1024,
    ) {
        let mut input = BytesMut::from(&bytes[..]);
        let _ = read_connect(&mut input, limit);
    }

    /// A header claiming a packet past the limit is refused before anything is reserved.
    #[test]
    fn a_packet_over_the_limit_is_refused_at_its_header(
        remaining in 1025u32..268_435_455,
        v5 in any::<bool>(),
    ) {
        let mut header = vec![0x30u8];
        let mut n = remaining;
        loop {
            let byte = (n % 128) as u8;
            n /= 128;
            header.push(if n > 0 { byte | 0x80 } else { byte });
            if n == 0 {
                break;
            }
        }
        let mut input = BytesMut::from(&header[..]);
        let capacity = input.capacity();
        let mut wire = match v5 {
            true => Wire::V5(v5::Codec::new(1024, 0)),
            false => Wire::V3(v3::Codec::new(1024)),
        };
        prop_assert!(wire.read(&mut input, 1024).is_err());
        prop_assert_eq!(input.capacity(), capacity);
    }
}
