//! Content-Format numbers (RFC 7252 §12.3, RFC 8428) ↔ the message's content type, both
//! ways: a publish's Content-Format names the message's type, and a notification carries
//! the Content-Format of the message's type (none when it has no number).
//!
//! The types without a variant of their own are built once here and shared, so mapping a
//! publish's format never allocates.

use std::sync::Arc;

use crate::message::ContentType;

/// The numbers we name; others are 4.15 Unsupported Content-Format.
const NAMED: [(u32, &str); 6] = [
    (0, "text/plain; charset=utf-8"),
    (40, "application/link-format"),
    (41, "application/xml"),
    (42, "application/octet-stream"),
    (47, "application/exi"),
    (60, "application/cbor"),
];

pub const SENML_JSON: u32 = 110;
pub const SENML_CBOR: u32 = 112;
pub const JSON: u32 = 50;

pub struct Formats {
    named: Vec<(u32, ContentType)>,
}

impl Default for Formats {
    fn default() -> Self {
        Self {
            named: NAMED
                .iter()
                .map(|(number, text)| (*number, ContentType::Other(Arc::from(*text))))
                .collect(),
        }
    }
}

impl Formats {
    /// The content type for a Content-Format; `Err(number)` when we cannot name it.
    pub fn content_type(&self, format: Option<u32>) -> Result<Option<ContentType>, u32> {
        let Some(number) = format else {
            return Ok(None);
        };
        match number {
            SENML_JSON => Ok(Some(ContentType::SenmlJson)),
            SENML_CBOR => Ok(Some(ContentType::SenmlCbor)),
            JSON => Ok(Some(ContentType::Json)),
            _ => self
                .named
                .iter()
                .find(|(known, _)| *known == number)
                .map(|(_, content_type)| Some(content_type.clone()))
                .ok_or(number),
        }
    }

    /// The Content-Format for a message's content type, if it has a number.
    pub fn number(content_type: Option<&ContentType>) -> Option<u32> {
        match content_type? {
            ContentType::SenmlJson => Some(SENML_JSON),
            ContentType::SenmlCbor => Some(SENML_CBOR),
            ContentType::Json => Some(JSON),
            ContentType::Other(text) => NAMED
                .iter()
                .find(|(_, named)| named.eq_ignore_ascii_case(text))
                .or_else(|| {
                    let essence = text.split(';').next().unwrap_or_default().trim();
                    NAMED
                        .iter()
                        .find(|(number, named)| *number != 0 && named.eq_ignore_ascii_case(essence))
                })
                .map(|(number, _)| *number)
                .or_else(|| text.starts_with("text/plain").then_some(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_map_both_ways() {
        let formats = Formats::default();
        for number in [0, 42, 50, 60, 110, 112] {
            let content_type = formats.content_type(Some(number)).unwrap();
            assert_eq!(
                Formats::number(content_type.as_ref()),
                Some(number),
                "{number}"
            );
        }
        assert_eq!(formats.content_type(None), Ok(None));
        assert_eq!(formats.content_type(Some(9999)), Err(9999));
        let http = ContentType::parse("application/octet-stream").unwrap();
        assert_eq!(Formats::number(Some(&http)), Some(42));
        assert_eq!(
            Formats::number(Some(&ContentType::parse("image/png").unwrap())),
            None
        );
    }
}
