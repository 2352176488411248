//! Duplicate detection (RFC 7252 §4.5): the requests seen per (endpoint, message id), each
//! with the response it got, so a retransmitted request is answered with the very same
//! response and acted on once (one publish per message id).
//!
//! Bounded twice: entries older than `lifetime` (EXCHANGE_LIFETIME, 247 s by default) are
//! forgotten, and beyond `max` entries the oldest goes first even if younger (a duplicate
//! that late is then taken as new: counted in `evicted`). Small responses are kept inline,
//! so remembering a publish's answer allocates nothing once the tables have grown.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Responses up to this size are stored inline (a publish's answer is under 20 bytes).
const INLINE: usize = 40;

type Key = (SocketAddr, u16);

enum Stored {
    /// Being answered (an observe registration answers from its own task).
    Pending,
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
    /// A NON request whose answer was not remembered, or a request that got none.
    Nothing,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    /// First time: act on it (it is now remembered as pending).
    New,
    /// A duplicate whose answer is not ready (or was none): ignore it.
    Pending,
    /// A duplicate: send this again, do nothing else.
    Replay(&'a [u8]),
}

pub struct Exchanges {
    seen: HashMap<Key, Stored>,
    order: VecDeque<(Key, Instant)>,
    lifetime: Duration,
    max: usize,
    evicted: u64,
}

impl Exchanges {
    pub fn new(max: usize, lifetime: Duration) -> Self {
        Self {
            seen: HashMap::new(),
            order: VecDeque::new(),
            lifetime,
            max: max.max(1),
            evicted: 0,
        }
    }

    /// Looks `(peer, mid)` up, remembering it as pending when new.
    pub fn check(&mut self, peer: SocketAddr, mid: u16, now: Instant) -> Seen<'_> {
        self.expire(now);
        let key = (peer, mid);
        if self.seen.contains_key(&key) {
            return match &self.seen[&key] {
                Stored::Inline(len, bytes) => Seen::Replay(&bytes[..usize::from(*len)]),
                Stored::Heap(bytes) => Seen::Replay(bytes),
                Stored::Pending | Stored::Nothing => Seen::Pending,
            };
        }
        if self.seen.len() >= self.max
            && let Some((oldest, _)) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
            self.evicted += 1;
        }
        self.seen.insert(key, Stored::Pending);
        self.order.push_back((key, now));
        Seen::New
    }

    /// Remembers the response sent to `(peer, mid)` (empty: none was sent).
    pub fn answer(&mut self, peer: SocketAddr, mid: u16, response: &[u8]) {
        let Some(slot) = self.seen.get_mut(&(peer, mid)) else {
            return;
        };
        *slot = match response.len() {
            0 => Stored::Nothing,
            len @ 1..=INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..len].copy_from_slice(response);
                Stored::Inline(len as u8, bytes)
            }
            _ => Stored::Heap(response.into()),
        };
    }

    /// Entries dropped before their lifetime because the table was full.
    #[cfg(test)]
    fn evicted(&self) -> u64 {
        self.evicted
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }

    fn expire(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front()
            && now.duration_since(*at) >= self.lifetime
        {
            self.seen.remove(key);
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_replays_the_answer_until_its_lifetime_ends() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let now = Instant::now();
        let mut exchanges = Exchanges::new(10, Duration::from_secs(5));
        assert_eq!(exchanges.check(peer, 7, now), Seen::New);
        assert_eq!(exchanges.check(peer, 7, now), Seen::Pending);
        exchanges.answer(peer, 7, b"answer");
        assert_eq!(exchanges.check(peer, 7, now), Seen::Replay(b"answer"));
        assert_eq!(exchanges.check(other, 7, now), Seen::New, "per endpoint");
        let big = vec![9; 100];
        assert_eq!(exchanges.check(peer, 8, now), Seen::New);
        exchanges.answer(peer, 8, &big);
        assert_eq!(exchanges.check(peer, 8, now), Seen::Replay(&big[..]));
        let later = now + Duration::from_secs(5);
        assert_eq!(exchanges.check(peer, 7, later), Seen::New, "expired");
    }

    #[test]
    fn the_table_is_bounded() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let now = Instant::now();
        let mut exchanges = Exchanges::new(3, Duration::from_secs(60));
        for mid in 0..10 {
            exchanges.check(peer, mid, now);
        }
        assert_eq!(exchanges.len(), 3);
        assert_eq!(exchanges.evicted(), 7);
        assert_eq!(exchanges.check(peer, 9, now), Seen::Pending);
        assert_eq!(exchanges.check(peer, 0, now), Seen::New);
    }
}
