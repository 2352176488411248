//! Corpus cases whose verdict is not held against us, each with the reason. They are still
//! played (a crash or a hang would show) and counted in the totals.
//!
//! - `NOT_MAPPABLE`: cases that cannot be played faithfully against a broker where things
//!   authenticate with their key and topics live under a channel.
//! - `PENDING`: MQTT 3.1.1 must-disconnect cases that need a feature other work brings
//!   (issue 11): they reach the malformed step only once that feature is there. A pending
//!   case that passes is printed, to be taken off the list.

use super::corpus::Case;

/// `(group, case name, why)`: group and name as the corpus spells them (spaces collapsed).
const NOT_MAPPABLE: &[(&str, &str, &str)] = &[
    (
        "v3.1.1 CONNECT",
        "10 Username zero length ok",
        "a user name without a password: a thing authenticates with its key, so the broker \
         refuses it (bad user name or password) by design",
    ),
    (
        "v5.0 CONNECT",
        "10 Username flag 1 ok",
        "a user name without a password: a thing authenticates with its key, so the broker \
         refuses it (bad user name or password) by design",
    ),
    (
        "v3.1.1 CONNECT",
        "10 Password with 0x0000",
        "the password becomes the thing's key, so the case no longer sends one with U+0000 \
         (played, passes, but proves nothing about such passwords)",
    ),
];

/// Empty since QoS 2 delivery (issue 11) let the three FLOW cases reach their malformed step.
const PENDING: &[(&str, &str, &str)] = &[];

/// Why `case`'s verdict does not count, if it does not.
pub fn reason(case: &Case) -> Option<&'static str> {
    NOT_MAPPABLE
        .iter()
        .chain(PENDING)
        .find(|(group, name, _)| *group == case.group && *name == case.name)
        .map(|(_, _, why)| *why)
}

/// Whether `case` is on the pending list.
pub fn pending(case: &Case) -> bool {
    PENDING
        .iter()
        .any(|(group, name, _)| *group == case.group && *name == case.name)
}

/// Listed cases the corpus does not have: a renamed case must not leave a stale excuse.
pub fn unused(cases: &[Case]) -> Vec<String> {
    NOT_MAPPABLE
        .iter()
        .chain(PENDING)
        .filter(|(group, name, _)| !cases.iter().any(|c| c.group == *group && c.name == *name))
        .map(|(group, name, _)| format!("{group} {name}"))
        .collect()
}
