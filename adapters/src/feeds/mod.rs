//! Feeds the data plane writes to Redis (`FF_FEEDS`), in Mainflux's format. The write
//! side's `mainflux.things` lives with the projections (`projections::feeds`); this is the
//! live one:
//!
//! - `presence`: MQTT connects and disconnects → `mainflux.mqtt`.

pub mod presence;

pub use presence::write_presence;
