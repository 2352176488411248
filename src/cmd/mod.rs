pub mod events;
pub mod replay;
pub mod serve;
