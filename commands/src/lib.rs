//! The write side: command handlers, the REST API, and the event-log backends.
//!
//! Layout:
//! - `auth`: secrets, the thing-key vault (keyed hash + AEAD seal), argon2id, JWTs.
//! - `service`: one handler per command; every one runs load → decide → append → wait
//!   until the local projections show it (read-your-writes).
//! - `http`: the axum REST API (Mainflux 0.12 users and things contract) and its OpenAPI.
//! - `pki`: the CA that issues device certificates (`POST /certs`) and signs the CRL.
//! - `mail`: the `Mailer` port (password-reset links): SMTP, or the log when none is set.
//! - `event_log`: the fjall and JetStream backends of the `EventLog` port and its contract suite.
//! - `test_services`: where the real NATS, PostgreSQL and Redis of the tests listen.

pub mod auth;
pub mod event_log;
pub mod http;
pub mod mail;
pub mod pki;
pub mod service;
pub mod test_services;
