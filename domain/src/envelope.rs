//! The event envelope: what every backend stores and every projection reads.
//!
//! Field names are a wire contract (`schemas/events/envelope.v1.json`); third-party consumers of
//! `ferroflux events` read exactly this shape.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::event_data::EventData;

/// An event the command layer wants appended; the log assigns stream, version and position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingEvent {
    /// UUIDv7, so ids sort by creation time across nodes.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    /// Version of the event's data schema; old versions are upcast on read, never rewritten.
    pub schema: u16,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Who caused it: a user id, or `None` for system actions.
    pub actor: Option<String>,
    /// Ties together the events of one request (one command may touch several streams).
    pub correlation_id: Uuid,
    pub data: EventData,
}

/// An event as stored: a pending event plus where the log put it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub stream: String,
    /// Per-stream version, from 1, without gaps.
    pub version: u64,
    /// Global position, from 1, without gaps: projections checkpoint on it.
    pub position: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub schema: u16,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: Option<String>,
    pub correlation_id: Uuid,
    pub data: EventData,
}

impl RecordedEvent {
    /// Places a pending event in the log.
    pub fn record(pending: PendingEvent, stream: &str, version: u64, position: u64) -> Self {
        Self {
            id: pending.id,
            stream: stream.to_owned(),
            version,
            position,
            kind: pending.kind,
            schema: pending.schema,
            occurred_at: pending.occurred_at,
            actor: pending.actor,
            correlation_id: pending.correlation_id,
            data: pending.data,
        }
    }
}
