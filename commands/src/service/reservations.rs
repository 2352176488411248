//! In-flight claims on unique values (thing key hashes, emails).
//!
//! Uniqueness spans aggregates, so no single stream's version can guard it. A claim is held
//! from the check against the projections until the command's events are projected, so two
//! concurrent commands on this node can never both pass. (A multi-node deployment needs a
//! shared claim; that belongs with the JetStream backend.)

use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Default)]
pub struct Reservations {
    held: Mutex<HashSet<String>>,
}

/// Released on drop, whatever the command's outcome.
pub struct Reservation<'a> {
    owner: &'a Reservations,
    values: Vec<String>,
}

impl Reservations {
    /// Claims every value or none; `None` when one is taken or the list repeats a value.
    pub fn claim(&self, values: Vec<String>) -> Option<Reservation<'_>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let distinct: HashSet<&String> = values.iter().collect();
        if distinct.len() != values.len() || values.iter().any(|v| held.contains(v)) {
            return None;
        }
        held.extend(values.iter().cloned());
        Some(Reservation {
            owner: self,
            values,
        })
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut held = self.owner.held.lock().unwrap_or_else(|p| p.into_inner());
        for value in &self.values {
            held.remove(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_exclusive_until_dropped() {
        let r = Reservations::default();
        let a = r.claim(vec!["x".into(), "y".into()]).unwrap();
        assert!(r.claim(vec!["y".into()]).is_none());
        assert!(r.claim(vec!["z".into(), "z".into()]).is_none());
        drop(a);
        assert!(r.claim(vec!["y".into()]).is_some());
    }
}
