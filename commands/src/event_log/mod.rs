//! Event-log backends and the contract suite every backend passes.
//!
//! Layout:
//! - `fjall`: `FjallEventLog`, the embedded backend, and its options.
//! - `writer`: its single writer thread (group commit, fsync before ack).
//! - `store`, `codec`: its keyspaces, key layouts and synchronous reads.
//! - `subscription`: catch-up-then-live reading, driven by the durable head.
//! - `jetstream`: `JetStreamEventLog`, the distributed backend on NATS JetStream.
//! - `contract`: the backend-agnostic test suite (`event_log_contract_tests!`).

mod codec;
pub mod contract;
mod fjall;
mod jetstream;
mod recent;
mod store;
mod subscription;
mod writer;

pub use self::fjall::{CommitStats, FjallEventLog, FjallOptions};
pub use self::jetstream::{JetStreamEventLog, JetStreamOptions};
