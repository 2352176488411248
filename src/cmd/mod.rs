pub mod events;
pub mod migrate;
mod progress;
pub mod replay;
pub mod serve;
mod tls_listeners;
