//! Why a request is refused, and the one mapping of each cause to a CoAP response code
//! (STYLE.md §8). Internal causes are logged, never sent: error responses carry no payload.

use crate::bus::BusError;
use crate::pipeline::PublishError;
use crate::subtopic::TopicError;

/// Response codes, `class << 5 | detail`.
pub mod code {
    pub const EMPTY: u8 = 0x00;
    pub const GET: u8 = 0x01;
    pub const POST: u8 = 0x02;
    pub const CHANGED: u8 = 0x44;
    pub const CONTENT: u8 = 0x45;
    pub const CONTINUE: u8 = 0x5f;
    pub const BAD_REQUEST: u8 = 0x80;
    pub const UNAUTHORIZED: u8 = 0x81;
    pub const BAD_OPTION: u8 = 0x82;
    pub const FORBIDDEN: u8 = 0x83;
    pub const NOT_FOUND: u8 = 0x84;
    pub const METHOD_NOT_ALLOWED: u8 = 0x85;
    pub const INCOMPLETE: u8 = 0x88;
    pub const TOO_LARGE: u8 = 0x8d;
    pub const UNSUPPORTED_FORMAT: u8 = 0x8f;
    pub const TOO_MANY_REQUESTS: u8 = 0x9d;
    pub const INTERNAL: u8 = 0xa0;
    pub const UNAVAILABLE: u8 = 0xa3;
}

/// Every way a CoAP request fails, each with its response code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 4.00: an option value of the wrong size, a malformed channel id or subtopic, a GET
    /// that neither observes nor fetches a block. The client must fix the request.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// 4.02: a critical option we do not know (RFC 7252 §5.4.1).
    #[error("unrecognized critical option {0}")]
    BadOption(u16),
    /// 4.01: no `auth=`/`authorization=` query, or a key no thing has (any more).
    #[error("missing or invalid thing key")]
    Unauthenticated,
    /// 4.03: the thing is not connected to the channel, or no channel has that id.
    #[error("thing is not connected to the channel")]
    Forbidden,
    /// 4.04: not `channels/{id}/messages[/…]`.
    #[error("no such resource")]
    NotFound,
    /// 4.05: a method other than POST (publish) and GET (observe).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 4.08: a Block1 out of sequence, or the rest of a body whose start was never seen.
    #[error("request body incomplete")]
    Incomplete,
    /// 4.13: a body over `FF_MAX_PAYLOAD` (the response carries Size1 = the limit).
    #[error("payload too large")]
    TooLarge,
    /// 4.15: a Content-Format with no media type we can name.
    #[error("unsupported content format {0}")]
    UnsupportedFormat(u32),
    /// 4.29: a cap on observers (per thing, per endpoint, in all) or on block transfers in
    /// progress is reached; counted. Retry later or observe less.
    #[error("too many observers or transfers")]
    Capped,
    /// 5.03: the bus did not take the message; logged. Retry.
    #[error("message bus unavailable")]
    Unavailable,
    /// 5.00: the bus rejected the call as invalid (a bug); logged.
    #[error("internal error")]
    Internal,
}

impl Refusal {
    pub fn code(&self) -> u8 {
        match self {
            Self::Malformed(_) => code::BAD_REQUEST,
            Self::BadOption(_) => code::BAD_OPTION,
            Self::Unauthenticated => code::UNAUTHORIZED,
            Self::Forbidden => code::FORBIDDEN,
            Self::NotFound => code::NOT_FOUND,
            Self::MethodNotAllowed => code::METHOD_NOT_ALLOWED,
            Self::Incomplete => code::INCOMPLETE,
            Self::TooLarge => code::TOO_LARGE,
            Self::UnsupportedFormat(_) => code::UNSUPPORTED_FORMAT,
            Self::Capped => code::TOO_MANY_REQUESTS,
            Self::Unavailable => code::UNAVAILABLE,
            Self::Internal => code::INTERNAL,
        }
    }
}

impl From<PublishError> for Refusal {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::Unauthenticated => Self::Unauthenticated,
            PublishError::Forbidden => Self::Forbidden,
            PublishError::Bus(BusError::Invalid(cause)) => {
                tracing::error!(%cause, "CoAP publish rejected as invalid by the bus");
                Self::Internal
            }
            PublishError::Bus(cause) => {
                tracing::warn!(%cause, "CoAP publish refused by the bus");
                Self::Unavailable
            }
        }
    }
}

impl From<TopicError> for Refusal {
    fn from(error: TopicError) -> Self {
        match error {
            TopicError::BadTopic => Self::NotFound,
            TopicError::UnknownChannel => Self::Forbidden,
            _ => Self::Malformed("channel id or subtopic"),
        }
    }
}
