pub mod events;
pub mod migrate;
pub mod replay;
pub mod serve;
