//! Read side: projections folded from the event log.
//!
//! Layout:
//! - `projection`: the `Projection` trait (name, checkpoint, apply, digest).
//! - `runner`: follows the log (catch-up, then live) and applies every event to every
//!   projection; `Applied` lets the command layer wait until its own events are visible
//!   (read-your-writes).
//! - `authz`: the cache the data plane checks on every message (key hash → thing, thing →
//!   channels, channel → owner).
//! - `certs`: issued client certificates, per thing and by serial, and the revoked set the
//!   TLS listeners check at every handshake.
//! - `feeds`: Redis-stream feeds in Mainflux's format (`mainflux.things`), written exactly
//!   once per entry with ids made from event positions.
//! - `masked_url`: backend URLs with their credentials hidden, for logs and `config`.
//! - `views`: query views for the REST API (users, things, channels, connections), with
//!   paging and filters, behind an async port: in memory (fed by the runner) or in
//!   PostgreSQL (fed by its own batched follower), both held to one contract suite.

pub mod authz;
pub mod certs;
pub mod feeds;
mod masked_url;
pub mod projection;
pub mod runner;
pub mod views;

pub use authz::AuthzCache;
pub use certs::CertRegistry;
pub use masked_url::masked_url;
pub use projection::Projection;
pub use runner::{Applied, ProjectionError, Projections};
pub use views::Views;
