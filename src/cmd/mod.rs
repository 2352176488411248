pub mod events;
mod https;
pub mod migrate;
mod progress;
pub mod replay;
pub mod serve;
