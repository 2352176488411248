//! Base64url (RFC 4648 §5), the text form of SenML's `vd` (RFC 8428 Table 1).
//!
//! The `base64` crate's URL-safe engine, unpadded. Decoding is strict so that text ↔ bytes
//! is a bijection: the CBOR form of a `vd` (bytes) and its JSON form (text) must normalize
//! to the same string.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Unpadded base64url text of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of base64url `text`, or `None` if it is not canonical base64url.
///
/// RFC 8428 says padding is omitted; correct padding (`=` up to a multiple of 4) is tolerated
/// because common encoders add it. Non-zero trailing bits are refused (the engine's
/// default): they would make two texts decode to the same bytes.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(unpadded(text)?).ok()
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
