//! The `ferroflux` binary's wiring, as a library so end-to-end tests start the same app.
//!
//! - `config`: flags and `FF_*` variables, one typed tree.
//! - `app`: opens the event log, catches the projections up, builds the service, serves.
//! - `http_server`: the HTTP accept loop, with connection and header-time limits.
//! - `body_timeout`: request bodies cut when the client stalls (`FF_HTTP_BODY_TIMEOUT`).
//! - `feeds`: starts the Redis-stream feeds (`FF_FEEDS`).
//! - `mail`: the mail flags and the mailer they select (SMTP or the log).
//! - `presence`: the MQTT presence feed over HTTP.
//! - `live`: a channel's messages as Server-Sent Events, for its owner.
//! - `relay`: bytes both ways between a TLS client and the broker, no buffer while idle.
//! - `metrics`: `GET /metrics`, the data plane's counters for Prometheus.
//! - `openapi`: `GET /openapi.json`, every part's document merged.
//! - `views`: the query views `FF_VIEWS` selects (memory or PostgreSQL).
//! - `ui`: `/ui/`, the admin web UI, embedded at build time (`build.rs`, `ui/`).

pub mod app;
mod body_timeout;
pub mod config;
pub mod feeds;
pub mod http_server;
mod live;
pub mod mail;
mod metrics;
pub mod mqtts;
pub mod openapi;
mod presence;
mod relay;
pub mod tls;
mod ui;
pub mod views;

pub use app::App;
pub use config::Config;
