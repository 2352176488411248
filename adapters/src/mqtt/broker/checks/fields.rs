//! A cursor over a packet's fields, and the v5 property list walk.

use rmqtt_codec::error::DecodeError;

/// A cursor over a packet's fields; running short is a length error.
pub(super) struct Fields<'a>(pub(super) &'a [u8]);

impl<'a> Fields<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::InvalidLength);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    pub(super) fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.take(2)?;
        self.take(usize::from(u16::from_be_bytes([len[0], len[1]])))
    }

    /// Whether the v5 property list here breaks the protocol: a property given twice
    /// (user properties aside), a payload format indicator other than 0 or 1, or a known
    /// property not in `allowed` unless `disallowed_is_malformed` (then it is the codec's
    /// to refuse, as Mosquitto does for SUBSCRIBE and UNSUBSCRIBE). A list that cannot be
    /// read whole, or holds an unknown property, is malformed: the codec's too.
    pub(super) fn breaks_protocol(
        &mut self,
        allowed: &[u8],
        disallowed_is_malformed: bool,
    ) -> bool {
        let Ok(length) = self.varint() else {
            return false;
        };
        let Ok(list) = self.take(length) else {
            return false;
        };
        let mut r = Fields(list);
        let (mut seen, mut broken) = (0u64, false);
        while let Ok(id) = r.byte() {
            let read = match id {
                0x01 => r.byte().map(|format| broken |= format > 1),
                0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => r.take(1).map(|_| ()),
                0x13 | 0x21 | 0x22 | 0x23 => r.take(2).map(|_| ()),
                0x02 | 0x11 | 0x18 | 0x27 => r.take(4).map(|_| ()),
                0x0B => r.varint().map(|_| ()),
                0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                    r.string().map(|_| ())
                }
                0x26 => r.string().and_then(|_| r.string()).map(|_| ()),
                _ => return false,
            };
            if read.is_err() {
                return false;
            }
            let bit = 1u64 << id;
            broken |= id != 0x26 && seen & bit != 0;
            broken |= !disallowed_is_malformed && !allowed.contains(&id);
            seen |= bit;
        }
        broken
    }

    pub(super) fn varint(&mut self) -> Result<usize, DecodeError> {
        let mut value = 0usize;
        for i in 0..4 {
            let byte = self.byte()?;
            value |= usize::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedPacket)
    }

    /// Skips a v5 property list: its varint length, then that many bytes.
    pub(super) fn properties(&mut self) -> Result<(), DecodeError> {
        let length = self.varint()?;
        self.take(length).map(|_| ())
    }
}
