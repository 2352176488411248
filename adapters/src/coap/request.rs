//! A request's options read into what the adapter acts on: the path (as the topic text the
//! shared subtopic rules parse), the thing key, Content-Format, Observe, Block1/Block2, Size1.
//!
//! Everything is borrowed from the datagram; the path is written into a `String` the loop
//! reuses, so reading a request allocates nothing. Refusals follow RFC 7252: a critical
//! option we do not know is 4.02, a malformed value 4.00, a path that is not
//! `channels/{id}/messages[/…]` 4.04.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::block::Block;
use super::refusal::Refusal;
use super::wire::{Datagram, uint};

/// Option numbers (RFC 7252 §12.2, RFC 7641, RFC 7959).
pub mod option {
    pub const IF_MATCH: u16 = 1;
    pub const URI_HOST: u16 = 3;
    pub const ETAG: u16 = 4;
    pub const IF_NONE_MATCH: u16 = 5;
    pub const OBSERVE: u16 = 6;
    pub const URI_PORT: u16 = 7;
    pub const URI_PATH: u16 = 11;
    pub const CONTENT_FORMAT: u16 = 12;
    pub const URI_QUERY: u16 = 15;
    pub const ACCEPT: u16 = 17;
    pub const BLOCK2: u16 = 23;
    pub const BLOCK1: u16 = 27;
    pub const SIZE2: u16 = 28;
    pub const SIZE1: u16 = 60;
}

/// Observe option values in a request (RFC 7641 §2).
pub const REGISTER: u32 = 0;
pub const DEREGISTER: u32 = 1;

/// What a request asks, read from its options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// From `auth=<key>` or `authorization=<key>` in the query (the last one given).
    pub key: Option<&'a str>,
    pub content_format: Option<u32>,
    pub observe: Option<u32>,
    pub block1: Option<Block>,
    pub block2: Option<Block>,
    pub size1: Option<u32>,
    /// A hash of the path, telling one resource's block transfers from another's.
    pub path_hash: u64,
}

/// Reads `datagram`'s options; writes its path as `channels/<id>/messages[/<a>/<b>…]` into
/// `topic` (cleared first). A path of another shape is `NotFound`.
pub fn read<'a>(datagram: &Datagram<'a>, topic: &mut String) -> Result<Request<'a>, Refusal> {
    topic.clear();
    let mut request = Request::default();
    let mut segments = 0usize;
    for (number, value) in datagram.options() {
        match number {
            option::URI_PATH => {
                let segment = std::str::from_utf8(value)
                    .map_err(|_| Refusal::Malformed("Uri-Path is not UTF-8"))?;
                // Option values are already decoded: a `%` could only be decoded twice.
                if segment.contains(['%', '?']) {
                    return Err(Refusal::Malformed("Uri-Path"));
                }
                if segments > 0 {
                    topic.push('/');
                }
                topic.push_str(segment);
                segments += 1;
            }
            option::URI_QUERY => {
                let query = std::str::from_utf8(value)
                    .map_err(|_| Refusal::Malformed("Uri-Query is not UTF-8"))?;
                if let Some(key) = query
                    .strip_prefix("auth=")
                    .or_else(|| query.strip_prefix("authorization="))
                {
                    request.key = Some(key);
                }
            }
            option::CONTENT_FORMAT => request.content_format = Some(number_of(value, 2)?),
            option::OBSERVE => request.observe = Some(number_of(value, 3)?),
            option::BLOCK1 => request.block1 = Some(block_of(value)?),
            option::BLOCK2 => request.block2 = Some(block_of(value)?),
            option::SIZE1 => request.size1 = Some(number_of(value, 4)?),
            option::URI_HOST
            | option::URI_PORT
            | option::ACCEPT
            | option::IF_MATCH
            | option::IF_NONE_MATCH => {}
            // Elective options (even numbers) may be ignored; critical ones may not.
            other if other % 2 == 1 => return Err(Refusal::BadOption(other)),
            _ => {}
        }
    }
    let mut parts = topic.split('/');
    let shaped = parts.next() == Some("channels")
        && parts.next().is_some()
        && parts.next() == Some("messages");
    if !shaped {
        return Err(Refusal::NotFound);
    }
    let mut hasher = DefaultHasher::new();
    topic.hash(&mut hasher);
    request.path_hash = hasher.finish();
    Ok(request)
}

fn number_of(value: &[u8], max_bytes: usize) -> Result<u32, Refusal> {
    uint(value, max_bytes).ok_or(Refusal::Malformed("option value too long"))
}

fn block_of(value: &[u8]) -> Result<Block, Refusal> {
    Block::parse(value).ok_or(Refusal::Malformed("Block option"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::coap::wire::{Encoder, Kind, Token, parse};

    fn encoded(options: &[(u16, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, Kind::Con, 0x02, 7, Token::default());
        for (number, value) in options {
            encoder = encoder.option(*number, value);
        }
        encoder.payload(b"x");
        out
    }

    fn read_options(options: &[(u16, &[u8])]) -> Result<(Request<'static>, String), Refusal> {
        let bytes: &'static [u8] = Box::leak(encoded(options).into_boxed_slice());
        let datagram = parse(bytes).expect("well-formed");
        let mut topic = String::new();
        read(&datagram, &mut topic).map(|request| (request, topic))
    }

    const CH: &[u8] = b"0b9c3a36-5e0a-4b5a-9c39-2f43d5cda1c4";

    #[test]
    fn a_publish_path_and_key_are_read() {
        let (request, topic) = read_options(&[
            (option::URI_PATH, b"channels"),
            (option::URI_PATH, CH),
            (option::URI_PATH, b"messages"),
            (option::URI_PATH, b"room"),
            (option::CONTENT_FORMAT, &[110]),
            (option::URI_QUERY, b"auth=secret"),
        ])
        .expect("reads");
        assert_eq!(
            topic,
            format!(
                "channels/{}/messages/room",
                std::str::from_utf8(CH).unwrap()
            )
        );
        assert_eq!(request.key, Some("secret"));
        assert_eq!(request.content_format, Some(110));
    }

    #[test]
    fn refusals_by_table() {
        let path = [
            (option::URI_PATH, b"channels".as_slice()),
            (option::URI_PATH, CH),
            (option::URI_PATH, b"messages"),
        ];
        type Case<'a> = (&'a str, Vec<(u16, &'a [u8])>, Refusal);
        let cases: Vec<Case> = vec![
            (
                "wrong path",
                vec![(option::URI_PATH, b"things")],
                Refusal::NotFound,
            ),
            ("no path", vec![], Refusal::NotFound),
            (
                "escaped",
                [&path[..], &[(option::URI_PATH, b"a%41")]].concat(),
                Refusal::Malformed("Uri-Path"),
            ),
            (
                "not UTF-8",
                vec![(option::URI_PATH, &[0xff])],
                Refusal::Malformed("Uri-Path is not UTF-8"),
            ),
            (
                "critical unknown",
                [&path[..], &[(9, b"".as_slice())]].concat(),
                Refusal::BadOption(9),
            ),
            (
                "long observe",
                [
                    &path[..1],
                    &[(option::OBSERVE, &[1, 2, 3, 4][..])],
                    &path[1..],
                ]
                .concat(),
                Refusal::Malformed("option value too long"),
            ),
            (
                "BERT block",
                [&path[..], &[(option::BLOCK1, &[0x0f][..])]].concat(),
                Refusal::Malformed("Block option"),
            ),
        ];
        for (case, mut options, expected) in cases {
            options.sort_by_key(|(number, _)| *number);
            assert_eq!(read_options(&options).err(), Some(expected), "{case}");
        }
    }

    proptest! {
        /// Arbitrary bytes never panic the wire parser or the option reader, and whatever
        /// they accept has a known path shape.
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(datagram) = parse(&bytes) {
                let mut topic = String::new();
                if read(&datagram, &mut topic).is_ok() {
                    prop_assert!(topic.starts_with("channels/"));
                    prop_assert!(topic.split('/').nth(2) == Some("messages"));
                }
            }
        }

        /// Arbitrary option values at the path, query and number options never panic, and a
        /// critical option we do not know is always refused.
        #[test]
        fn arbitrary_options_are_read_or_refused(
            options in proptest::collection::vec((0u16..70, proptest::collection::vec(any::<u8>(), 0..20)), 0..8)
        ) {
            let mut options = options;
            options.sort_by_key(|(number, _)| *number);
            let borrowed: Vec<(u16, &[u8])> = options.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            let known = [1, 3, 5, 7, 11, 15, 17, 23, 27];
            let unknown_critical = options.iter().any(|(n, _)| n % 2 == 1 && !known.contains(n));
            if read_options(&borrowed).is_ok() {
                prop_assert!(!unknown_critical);
            }
        }
    }
}
