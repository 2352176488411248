mod api_client;
pub mod entities;
pub mod events;
pub mod migrate;
mod progress;
pub mod provision;
pub mod replay;
pub mod serve;
mod tls_listeners;
