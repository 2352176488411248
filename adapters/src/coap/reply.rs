//! Responses and notifications: which options a reply carries, written in option order.

use super::block::Block;
use super::request::option;
use super::wire::{Encoder, Kind, Token};

/// How a reply is addressed: a piggybacked ACK for a CON request (same message id), a NON
/// with a fresh message id otherwise; always the request's token.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub kind: Kind,
    pub mid: u16,
    pub token: Token,
}

/// One response or notification. Error replies carry a code and nothing else (a 4.13 also
/// carries Size1, the largest body accepted).
#[derive(Debug, Default, Clone, Copy)]
pub struct Reply<'a> {
    pub code: u8,
    pub etag: Option<u32>,
    pub observe: Option<u32>,
    pub content_format: Option<u32>,
    pub block2: Option<Block>,
    pub block1: Option<Block>,
    pub size2: Option<u32>,
    pub size1: Option<u32>,
    pub payload: &'a [u8],
}

impl Reply<'_> {
    pub fn code(code: u8) -> Self {
        Self {
            code,
            ..Self::default()
        }
    }

    /// Writes the message into `out` (cleared first).
    pub fn encode(&self, out: &mut Vec<u8>, answer: &Answer) {
        let mut encoder = Encoder::new(out, answer.kind, self.code, answer.mid, answer.token);
        let options = [
            (option::ETAG, self.etag),
            (option::OBSERVE, self.observe),
            (option::CONTENT_FORMAT, self.content_format),
            (option::BLOCK2, self.block2.map(Block::value)),
            (option::BLOCK1, self.block1.map(Block::value)),
            (option::SIZE2, self.size2),
            (option::SIZE1, self.size1),
        ];
        for (number, value) in options {
            if let Some(value) = value {
                encoder = encoder.uint(number, value);
            }
        }
        encoder.payload(self.payload);
    }
}
