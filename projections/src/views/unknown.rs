//! Devices that tried to bootstrap with an external id no config has (Mainflux 0.11's
//! `GET /things/unknown/configs`): what an operator looks at to see which devices are out
//! there waiting to be provisioned.
//!
//! Only the external id is kept, never the key tried: whoever provisions the device knows
//! its key from the factory, and a key shown here would let any user claim someone else's
//! device. A config created for the id removes it. At most `MAX_UNKNOWN` ids are kept, the
//! most recently seen, so a client inventing ids cannot grow the views without bound.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Page;

/// Unknown external ids kept at most; beyond, the one not seen for longest is dropped.
pub const MAX_UNKNOWN: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownDevice {
    pub external_id: String,
    /// Failed fetches with this id since it was first seen (or last had a config).
    pub attempts: u64,
    /// Unix seconds of the latest attempt.
    pub last_attempt: i64,
    /// Log position of the latest attempt: the list's order, newest first.
    pub last_position: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct UnknownDevices {
    pub by_id: BTreeMap<String, UnknownDevice>,
    /// External ids by the position of their latest attempt.
    pub by_recency: BTreeMap<u64, String>,
}

impl UnknownDevices {
    /// A fetch with an external id no config had, recorded at `position`.
    pub fn attempt(&mut self, external_id: &str, position: u64, at: i64) {
        let device = self
            .by_id
            .entry(external_id.to_owned())
            .or_insert_with(|| UnknownDevice {
                external_id: external_id.to_owned(),
                attempts: 0,
                last_attempt: at,
                last_position: position,
            });
        self.by_recency.remove(&device.last_position);
        device.attempts += 1;
        device.last_attempt = at;
        device.last_position = position;
        self.by_recency.insert(position, external_id.to_owned());
        while self.by_id.len() > MAX_UNKNOWN {
            let Some((_, oldest)) = self.by_recency.pop_first() else {
                break;
            };
            self.by_id.remove(&oldest);
        }
    }

    /// A config now has this external id.
    pub fn provisioned(&mut self, external_id: &str) {
        if let Some(device) = self.by_id.remove(external_id) {
            self.by_recency.remove(&device.last_position);
        }
    }

    /// Newest first.
    pub fn page(&self, offset: u64, limit: u64) -> Page<UnknownDevice> {
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        Page {
            total: self.by_id.len() as u64,
            offset,
            limit,
            items: self
                .by_recency
                .values()
                .rev()
                .skip(skip)
                .take(take)
                .filter_map(|id| self.by_id.get(id).cloned())
                .collect(),
        }
    }
}
