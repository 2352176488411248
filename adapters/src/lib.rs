//! The data plane: protocol adapters, the message bus, SenML, telemetry.
//!
//! Layout:
//! - `coap`: the CoAP adapter (RFC 7252 with Observe and block-wise transfer) on UDP.
//! - `device_certificate`: a thing authenticated by its TLS client certificate (mTLS).
//! - `feeds`: the live Redis feeds of the data plane (`mainflux.mqtt` presence).
//! - `http`: the HTTP adapter (publishing); the reader API joins it.
//! - `message`: the message envelope every adapter produces.
//! - `message_properties`: what a publisher says about a message (MQTT 5 properties).
//! - `mqtt`: the MQTT adapter (our broker behind a small trait).
//! - `subtopic`: Mainflux's subtopic normalization, shared by every protocol.
//! - `bus`: the `MessageBus` port, its in-process backend and its contract suite.
//! - `pipeline`: authenticate (thing key) → authorize (connected) → publish, for every
//!   adapter.
//! - `revocation`: key changes, disconnects and removals that end live sessions, for every
//!   protocol.
//! - `influx`: the InfluxDB v2 export, a second writer's line-protocol sink.
//! - `senml`: RFC 8428 SenML (JSON and CBOR) normalized into one record per measurement.
//! - `telemetry`: the telemetry store port, its fjall and PostgreSQL backends, and the
//!   reader's query.
//! - `writer`: bus → SenML normalizer → telemetry store, in batches.
//! - `ws`: the WebSocket adapter (publish and subscribe on `/channels/{id}/messages`).

pub mod bus;
pub mod coap;
pub mod device_certificate;
pub mod feeds;
pub mod http;
pub mod influx;
pub mod message;
pub mod message_properties;
pub mod mqtt;
pub mod pipeline;
pub mod revocation;
pub mod senml;
pub mod subtopic;
pub mod telemetry;
pub mod writer;
pub mod ws;
