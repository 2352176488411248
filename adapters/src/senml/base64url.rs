//! Base64url (RFC 4648 §5), the text form of SenML's `vd` (RFC 8428 Table 1).
//!
//! Hand-written because it is 60 lines and the crate has no base64 dependency. Decoding is
//! strict so that text ↔ bytes is a bijection: the CBOR form of a `vd` (bytes) and its JSON
//! form (text) must normalize to the same string.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url text of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        // A chunk of k bytes yields k + 1 characters.
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The 6-bit value of one base64url character.
fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// The bytes of base64url `text`, or `None` if it is not canonical base64url.
///
/// RFC 8428 says padding is omitted; correct padding (`=` up to a multiple of 4) is tolerated
/// because common encoders add it. Non-zero trailing bits are refused: they would make two
/// texts decode to the same bytes.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let body = unpadded(text)?;
    let bytes = body.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= sextet(c)? << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        // The bits after the last whole byte must be zero.
        let used_bits = 8 * produced;
        let mask = (1u32 << (24 - used_bits)) - 1;
        if chunk.len() < 4 && n & mask != 0 {
            return None;
        }
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// The canonical (unpadded) form of base64url `text`, or `None` if it is not base64url.
pub(crate) fn canonical(text: &str) -> Option<&str> {
    let body = unpadded(text)?;
    decode(body).map(|_| body)
}

/// `text` without its padding, if the padding (if any) is well-formed.
fn unpadded(text: &str) -> Option<&str> {
    let body = text.trim_end_matches('=');
    let pads = text.len() - body.len();
    match pads {
        0 => Some(body),
        1 | 2 if text.len().is_multiple_of(4) && (body.len() % 4) + pads == 4 => Some(body),
        _ => None,
    }
}
