//! Block-wise transfer (RFC 7959): the Block1/Block2 option value, and the reassembly of
//! request bodies sent in Block1 pieces.
//!
//! A body is reassembled per (endpoint, path), as RFC 7959 §2.4 matches blocks (a client
//! may change the token between blocks). Transfers in progress are capped in number and
//! each in bytes (`FF_MAX_PAYLOAD`); one left unfinished is dropped after `timeout`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::refusal::Refusal;

/// The size exponent of 1024-byte blocks, the largest that fits a UDP datagram safely.
pub const SZX_1024: u8 = 6;

/// A Block1 or Block2 value: block number, more-flag, size exponent (size = 16 << szx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub num: u32,
    pub more: bool,
    pub szx: u8,
}

impl Block {
    /// At most 3 bytes; szx 7 (BERT) exists only over TCP, so it is refused here.
    pub fn parse(value: &[u8]) -> Option<Self> {
        if value.len() > 3 {
            return None;
        }
        let raw = value
            .iter()
            .fold(0u32, |acc, byte| acc << 8 | u32::from(*byte));
        let szx = (raw & 7) as u8;
        (szx < 7).then_some(Self {
            num: raw >> 4,
            more: raw & 8 != 0,
            szx,
        })
    }

    pub fn value(self) -> u32 {
        self.num << 4 | u32::from(self.more) << 3 | u32::from(self.szx)
    }

    pub fn size(self) -> usize {
        16 << self.szx
    }

    /// Where this block starts in the body.
    pub fn offset(self) -> usize {
        (self.num as usize).saturating_mul(self.size())
    }

    /// The block `num` of a `len`-byte body in `szx`-sized blocks: its range and value.
    pub fn slice(num: u32, szx: u8, len: usize) -> Option<(std::ops::Range<usize>, Self)> {
        let block = Self {
            num,
            more: false,
            szx,
        };
        let start = block.offset();
        if start >= len && !(start == 0 && len == 0) {
            return None;
        }
        let end = start.saturating_add(block.size()).min(len);
        Some((
            start..end,
            Self {
                more: end < len,
                ..block
            },
        ))
    }
}

/// What a Block1 piece leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Stored: answer 2.31 Continue echoing this block.
    Continue(Block),
    /// The whole body: publish it, answer 2.04 echoing this block.
    Complete(Vec<u8>, Block),
}

struct Transfer {
    body: Vec<u8>,
    started: Instant,
}

/// Request bodies being received in Block1 pieces.
pub struct Transfers {
    open: HashMap<(SocketAddr, u64), Transfer>,
    max_open: usize,
    timeout: Duration,
}

impl Transfers {
    pub fn new(max_open: usize, timeout: Duration) -> Self {
        Self {
            open: HashMap::new(),
            max_open,
            timeout,
        }
    }

    /// Takes one piece. `size1` is the client's announced total, if any. Every refusal
    /// forgets the transfer.
    pub fn push(
        &mut self,
        key: (SocketAddr, u64),
        block: Block,
        chunk: &[u8],
        size1: Option<u32>,
        max_payload: usize,
        now: Instant,
    ) -> Result<Step, Refusal> {
        if block.more && chunk.len() != block.size() {
            self.open.remove(&key);
            return Err(Refusal::Malformed(
                "a Block1 piece that is not the last must fill its block",
            ));
        }
        let announced = size1.map_or(0, |size| size as usize);
        if announced > max_payload || block.offset().saturating_add(chunk.len()) > max_payload {
            self.open.remove(&key);
            return Err(Refusal::TooLarge);
        }
        if block.num == 0 {
            if !block.more {
                self.open.remove(&key);
                return Ok(Step::Complete(chunk.to_vec(), block));
            }
            self.start(key, now)?;
        }
        let Some(transfer) = self.open.get_mut(&key) else {
            return Err(Refusal::Incomplete);
        };
        if transfer.body.len() != block.offset() {
            self.open.remove(&key);
            return Err(Refusal::Incomplete);
        }
        transfer.body.extend_from_slice(chunk);
        if block.more {
            return Ok(Step::Continue(block));
        }
        let done = self.open.remove(&key).map(|t| t.body).unwrap_or_default();
        Ok(Step::Complete(done, block))
    }

    /// Opens (or restarts) a transfer, after dropping those that timed out.
    fn start(&mut self, key: (SocketAddr, u64), now: Instant) -> Result<(), Refusal> {
        let timeout = self.timeout;
        if self.open.len() >= self.max_open {
            self.open
                .retain(|_, transfer| now.duration_since(transfer.started) < timeout);
        }
        if self.open.len() >= self.max_open && !self.open.contains_key(&key) {
            return Err(Refusal::Capped);
        }
        self.open.insert(
            key,
            Transfer {
                body: Vec::new(),
                started: now,
            },
        );
        Ok(())
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_values_round_trip() {
        for block in [
            Block {
                num: 0,
                more: true,
                szx: 6,
            },
            Block {
                num: 5,
                more: false,
                szx: 2,
            },
            Block {
                num: 1 << 19,
                more: true,
                szx: 0,
            },
        ] {
            let bytes = block.value().to_be_bytes();
            assert_eq!(Block::parse(&bytes[1..]), Some(block));
        }
        assert_eq!(Block::parse(&[0x07]), None, "BERT");
        assert_eq!(Block::parse(&[0, 0, 0, 0]), None, "4 bytes");
    }

    #[test]
    fn slices_cover_a_body() {
        let (range, block) = Block::slice(0, 6, 2500).unwrap();
        assert_eq!((range, block.more), (0..1024, true));
        let (range, block) = Block::slice(2, 6, 2500).unwrap();
        assert_eq!((range, block.more), (2048..2500, false));
        assert!(Block::slice(3, 6, 2500).is_none());
        assert_eq!(Block::slice(0, 6, 0).unwrap().0, 0..0);
    }

    #[test]
    fn pieces_reassemble_in_order_and_refuse_gaps_and_excess() {
        let peer: SocketAddr = "127.0.0.1:5683".parse().unwrap();
        let now = Instant::now();
        let mut transfers = Transfers::new(2, Duration::from_secs(60));
        let first = Block {
            num: 0,
            more: true,
            szx: 0,
        };
        let second = Block {
            num: 1,
            more: false,
            szx: 0,
        };
        assert_eq!(
            transfers.push((peer, 1), first, &[1; 16], None, 100, now),
            Ok(Step::Continue(first))
        );
        let done = transfers
            .push((peer, 1), second, &[2; 3], None, 100, now)
            .unwrap();
        assert_eq!(
            done,
            Step::Complete([[1; 16].as_slice(), &[2; 3]].concat(), second)
        );
        assert!(transfers.is_empty());
        assert_eq!(
            transfers.push((peer, 2), second, &[2; 3], None, 100, now),
            Err(Refusal::Incomplete)
        );
        assert_eq!(
            transfers.push((peer, 3), first, &[1; 16], Some(101), 100, now),
            Err(Refusal::TooLarge)
        );
        transfers
            .push((peer, 4), first, &[1; 16], None, 100, now)
            .unwrap();
        transfers
            .push((peer, 5), first, &[1; 16], None, 100, now)
            .unwrap();
        assert_eq!(
            transfers.push((peer, 6), first, &[1; 16], None, 100, now),
            Err(Refusal::Capped)
        );
        let later = now + Duration::from_secs(61);
        assert!(
            transfers
                .push((peer, 6), first, &[1; 16], None, 100, later)
                .is_ok(),
            "expired ones make room"
        );
    }
}
