//! Rebuilding projections from history, verifying them, exporting history.
//!
//! Layout:
//! - `rebuild`: feed every event from position 0 into fresh projections, in batches, with
//!   progress reporting.
//! - `verify`: compare each live projection's digest with a rebuilt one.
//! - `export`: history as NDJSON, one envelope a line, optionally following live appends.
//! - `migrate`: a history copied into another log (fjall → JetStream), positions kept.
//! - `postgres`: the PostgreSQL views rebuilt into fresh tables and swapped in.

mod export;
mod migrate;
mod postgres;
mod rebuild;
mod verify;

pub use export::export_ndjson;
pub use migrate::migrate;
pub use postgres::{Swapped, rebuild_postgres};
pub use rebuild::{Progress, RebuildStats, rebuild};
pub use verify::{Mismatch, verify};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Log(#[from] domain::ports::event_log::LogError),
    #[error(transparent)]
    Projection(#[from] projections::ProjectionError),
    #[error("the log reader stopped: {0}")]
    Reader(String),
    #[error("cannot migrate: {0}")]
    Migration(String),
    /// The PostgreSQL views' rebuild stopped; their live tables are untouched.
    #[error("cannot rebuild the PostgreSQL views: {0}")]
    Views(#[from] projections::views::postgres::RebuildError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}
