//! The CoAP message format (RFC 7252 §3), read in place and written into a reused buffer.
//!
//! Ours rather than `coap_lite::Packet` on purpose: `Packet::from_bytes` builds a `BTreeMap`
//! of `LinkedList`s with one `Vec` per option (about ten allocations for a publish), and the
//! issue allows the hot path no allocation beyond the message itself. `Datagram` borrows the
//! received bytes; `Encoder` appends to a buffer the loop keeps. coap-lite remains the
//! reference the tests check this against (see `tests.rs`).

/// The four message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Con,
    Non,
    Ack,
    Rst,
}

impl Kind {
    fn bits(self) -> u8 {
        match self {
            Self::Con => 0,
            Self::Non => 1,
            Self::Ack => 2,
            Self::Rst => 3,
        }
    }
}

/// A token: up to 8 bytes, kept inline so observer keys are `Copy` and need no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Token {
    len: u8,
    bytes: [u8; 8],
}

impl Token {
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut token = Self {
            len: u8::try_from(bytes.len()).ok()?,
            bytes: [0; 8],
        };
        token.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(token)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Why a datagram is no CoAP message. Answered with a RST when it is confirmable and its
/// header could be read (RFC 7252 §4.2), otherwise silently ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("shorter than a CoAP header")]
    TooShort,
    #[error("not CoAP version 1")]
    Version,
    #[error("token longer than 8 bytes or than the datagram")]
    Token,
    #[error("malformed option")]
    Option,
    #[error("payload marker without a payload")]
    EmptyPayload,
}

/// One received message, borrowing the datagram. The options were validated by `parse`,
/// so iterating them again cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    pub kind: Kind,
    /// `class << 5 | detail`: 0.00 empty, 0.01–0.31 requests, 2.xx–5.xx responses.
    pub code: u8,
    pub mid: u16,
    pub token: Token,
    options: &'a [u8],
    pub payload: &'a [u8],
}

/// The type and message id of a datagram whose header reads, even if the rest does not:
/// enough to answer a malformed confirmable message with a RST.
pub fn header(buf: &[u8]) -> Option<(Kind, u16)> {
    let [first, _, high, low, ..] = *buf else {
        return None;
    };
    (first >> 6 == 1).then(|| (kind_of(first), u16::from_be_bytes([high, low])))
}

fn kind_of(first: u8) -> Kind {
    match (first >> 4) & 3 {
        0 => Kind::Con,
        1 => Kind::Non,
        2 => Kind::Ack,
        _ => Kind::Rst,
    }
}

/// Reads and validates a whole datagram.
pub fn parse(buf: &[u8]) -> Result<Datagram<'_>, WireError> {
    let [first, code, high, low, ref rest @ ..] = *buf else {
        return Err(WireError::TooShort);
    };
    if first >> 6 != 1 {
        return Err(WireError::Version);
    }
    let token_len = usize::from(first & 0x0f);
    if token_len > 8 || token_len > rest.len() {
        return Err(WireError::Token);
    }
    let (token, rest) = rest.split_at(token_len);
    let mut options = OptionIter { rest, last: 0 };
    while let Some(option) = options.next_checked() {
        option?;
    }
    let options_len = rest.len() - options.rest.len();
    let payload = match options.rest {
        [] => &[][..],
        [0xff] => return Err(WireError::EmptyPayload),
        [_, payload @ ..] => payload,
    };
    Ok(Datagram {
        kind: kind_of(first),
        code,
        mid: u16::from_be_bytes([high, low]),
        token: Token::new(token).ok_or(WireError::Token)?,
        options: &rest[..options_len],
        payload,
    })
}

impl<'a> Datagram<'a> {
    /// The options in order, as (number, value).
    pub fn options(&self) -> impl Iterator<Item = (u16, &'a [u8])> + use<'a> {
        let mut iter = OptionIter {
            rest: self.options,
            last: 0,
        };
        std::iter::from_fn(move || iter.next_checked().and_then(Result::ok))
    }
}

struct OptionIter<'a> {
    rest: &'a [u8],
    last: u16,
}

impl<'a> OptionIter<'a> {
    /// The next option; `None` at the end or at the payload marker (left in `rest`).
    fn next_checked(&mut self) -> Option<Result<(u16, &'a [u8]), WireError>> {
        let (&first, rest) = self.rest.split_first()?;
        if first == 0xff {
            return None;
        }
        Some(self.read(first, rest))
    }

    fn read(&mut self, first: u8, rest: &'a [u8]) -> Result<(u16, &'a [u8]), WireError> {
        let (delta, rest) = extended(first >> 4, rest)?;
        let (len, rest) = extended(first & 0x0f, rest)?;
        let number = u16::try_from(u32::from(self.last) + delta).map_err(|_| WireError::Option)?;
        let len = usize::try_from(len).map_err(|_| WireError::Option)?;
        let value = rest.get(..len).ok_or(WireError::Option)?;
        self.rest = &rest[len..];
        self.last = number;
        Ok((number, value))
    }
}

/// An option delta or length nibble with its extension bytes (13: one byte + 13, 14: two
/// bytes + 269, 15: reserved outside the payload marker).
fn extended(nibble: u8, rest: &[u8]) -> Result<(u32, &[u8]), WireError> {
    match nibble {
        0..=12 => Ok((u32::from(nibble), rest)),
        13 => match rest {
            [byte, rest @ ..] => Ok((u32::from(*byte) + 13, rest)),
            _ => Err(WireError::Option),
        },
        14 => match rest {
            [high, low, rest @ ..] => {
                Ok((u32::from(u16::from_be_bytes([*high, *low])) + 269, rest))
            }
            _ => Err(WireError::Option),
        },
        _ => Err(WireError::Option),
    }
}

/// An unsigned option value (RFC 7252 §3.2: big-endian, no leading zero bytes); `None` when
/// longer than `max` bytes.
pub fn uint(value: &[u8], max: usize) -> Option<u32> {
    if value.len() > max.min(4) {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0, |acc, byte| acc << 8 | u32::from(*byte)),
    )
}

/// Writes one message into a buffer the caller reuses: header, then options in ascending
/// number order, then the payload.
pub struct Encoder<'b> {
    out: &'b mut Vec<u8>,
    last: u16,
}

impl<'b> Encoder<'b> {
    /// Clears `out` and writes the header and token.
    pub fn new(out: &'b mut Vec<u8>, kind: Kind, code: u8, mid: u16, token: Token) -> Self {
        out.clear();
        let token = token.as_bytes();
        out.push(0x40 | kind.bits() << 4 | token.len() as u8);
        out.push(code);
        out.extend_from_slice(&mid.to_be_bytes());
        out.extend_from_slice(token);
        Self { out, last: 0 }
    }

    /// An option; numbers must not decrease from one call to the next.
    pub fn option(mut self, number: u16, value: &[u8]) -> Self {
        debug_assert!(number >= self.last, "CoAP options out of order");
        let delta = number - self.last;
        self.last = number;
        let (delta_nibble, delta_ext) = nibble(u32::from(delta));
        let (len_nibble, len_ext) = nibble(value.len() as u32);
        self.out.push(delta_nibble << 4 | len_nibble);
        self.out.extend_from_slice(&delta_ext.0[..delta_ext.1]);
        self.out.extend_from_slice(&len_ext.0[..len_ext.1]);
        self.out.extend_from_slice(value);
        self
    }

    /// An unsigned option in its shortest form (0 is the empty value).
    pub fn uint(self, number: u16, value: u32) -> Self {
        let bytes = value.to_be_bytes();
        let skip = (value.leading_zeros() / 8) as usize;
        self.option(number, &bytes[skip..])
    }

    pub fn payload(self, payload: &[u8]) {
        if !payload.is_empty() {
            self.out.push(0xff);
            self.out.extend_from_slice(payload);
        }
    }
}

/// The nibble and extension bytes for an option delta or length (at most 65804).
fn nibble(value: u32) -> (u8, ([u8; 2], usize)) {
    match value {
        0..=12 => (value as u8, ([0, 0], 0)),
        13..=268 => (13, ([(value - 13) as u8, 0], 1)),
        _ => {
            let [high, low] = u16::try_from(value - 269).unwrap_or(u16::MAX).to_be_bytes();
            (14, ([high, low], 2))
        }
    }
}
