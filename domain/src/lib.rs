//! Ferroflux's pure domain: aggregates, their commands and events, and the ports.
//!
//! Layout:
//! - `ids`, `values`: identifiers, secrets-at-rest types and validated values (names, emails).
//! - `metadata`: client metadata, a JSON object kept as compact text, with its limits.
//! - `event`: the `Event` enum, whose `kind()` strings are Mainflux's operation names.
//! - `user`, `thing`, `channel`: one aggregate per file: state, commands, `decide`, `apply`.
//! - `key_claim`: the claim on one thing key, which keeps keys unique across nodes.
//! - `config`: the bootstrap config of one thing; `external_id_claim` keeps external ids
//!   unique the way `key_claim` keeps thing keys unique.
//! - `cert`: the client certificates of one thing (issue, revoke) for mTLS logins.
//! - `connection`: the one rule over two aggregates (`thing.connect` / `thing.disconnect`).
//! - `graph`: the live connection graph folded from events, shared by every projection.
//! - `envelope`, `ports`: what the event log stores and the traits its backends implement.
//!
//! Nothing here does I/O, reads a clock or draws randomness: callers pass ids, times and
//! key hashes in, which is what lets proptest replay any history.

pub mod cert;
pub mod channel;
pub mod config;
pub mod connection;
pub mod envelope;
pub mod error;
pub mod event;
pub mod event_data;
pub mod external_id_claim;
pub mod graph;
pub mod ids;
pub mod key_claim;
pub mod metadata;
pub mod ports;
pub mod thing;
pub mod user;
pub mod values;

pub use error::DomainError;
pub use event::Event;

/// Hash maps for in-memory state keyed by server-made values (UUIDs, HMAC outputs), which
/// no client can choose to collide: a fast hasher is safe there and halves lookup cost.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set counterpart of `FastMap`.
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
