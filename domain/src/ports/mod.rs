//! Ports: the small traits the edges implement. Each has an embedded and a distributed
//! backend, and both run one contract-test suite.

pub mod event_log;
