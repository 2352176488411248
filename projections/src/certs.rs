//! The certificate registry: every issued client certificate by serial, the list per thing
//! (`GET /certs/{thing_id}`), and the revoked set the TLS listeners consult at every
//! handshake and the CRL lists.
//!
//! In memory in every node, like the authz cache: a handshake must not wait for a
//! database, and the history of certificates is small. A revocation counts from its
//! `cert.revoke`, or from the `thing.remove` of the certificate's thing (whichever comes
//! first, in whatever order the two streams' events arrive), so replay rebuilds the same
//! set.

use std::collections::BTreeMap;
use std::sync::RwLock;

use domain::Event;
use domain::envelope::RecordedEvent;
use domain::ids::{ThingId, UserId};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Projection;
use crate::projection::digest_of;
use crate::views::Page;

/// One issued certificate as the list shows it (the certificate and sealed key are in the
/// log; the command layer reads them from there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertRow {
    pub serial: String,
    pub thing_id: ThingId,
    pub owner: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Default, Serialize)]
struct State {
    checkpoint: u64,
    certs: BTreeMap<String, CertRow>,
    /// Serials per thing, in the order they were issued.
    by_thing: BTreeMap<ThingId, Vec<String>>,
    /// When each removed thing was removed: its certificates are revoked from then on.
    removed: BTreeMap<ThingId, OffsetDateTime>,
}

impl State {
    fn apply(&mut self, recorded: &RecordedEvent, event: &Event) {
        if recorded.position <= self.checkpoint {
            return;
        }
        self.checkpoint = recorded.position;
        match event {
            Event::CertIssued {
                thing_id,
                owner,
                serial,
                expires_at,
                ..
            } => {
                if self.certs.contains_key(serial) {
                    return;
                }
                let row = CertRow {
                    serial: serial.clone(),
                    thing_id: *thing_id,
                    owner: *owner,
                    expires_at: *expires_at,
                    revoked_at: self.removed.get(thing_id).copied(),
                };
                self.certs.insert(serial.clone(), row);
                self.by_thing
                    .entry(*thing_id)
                    .or_default()
                    .push(serial.clone());
            }
            Event::CertRevoked {
                serial, revoked_at, ..
            } => {
                if let Some(row) = self.certs.get_mut(serial) {
                    row.revoked_at =
                        Some(row.revoked_at.map_or(*revoked_at, |t| t.min(*revoked_at)));
                }
            }
            Event::ThingRemoved { id } => {
                let at = recorded.occurred_at;
                self.removed.insert(*id, at);
                for serial in self.by_thing.get(id).into_iter().flatten() {
                    if let Some(row) = self.certs.get_mut(serial) {
                        row.revoked_at = Some(row.revoked_at.map_or(at, |t| t.min(at)));
                    }
                }
            }
            _ => {}
        }
    }
}

#[derive(Default)]
pub struct CertRegistry {
    state: RwLock<State>,
}

impl CertRegistry {
    /// Is the certificate with this serial (lowercase hex) revoked? Asked at every TLS
    /// handshake that presents a client certificate.
    pub fn is_revoked(&self, serial: &str) -> bool {
        self.read(|s| s.certs.get(serial).is_some_and(|c| c.revoked_at.is_some()))
    }

    pub fn cert(&self, serial: &str) -> Option<CertRow> {
        self.read(|s| s.certs.get(serial).cloned())
    }

    /// A page of the certificates of `thing`, oldest first.
    pub fn list(&self, thing: ThingId, offset: u64, limit: u64) -> Page<CertRow> {
        self.read(|s| {
            let serials = s.by_thing.get(&thing).map_or(&[][..], Vec::as_slice);
            let items = serials
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .filter_map(|serial| s.certs.get(serial).cloned())
                .collect();
            Page {
                total: serials.len() as u64,
                offset,
                limit,
                items,
            }
        })
    }

    /// Every revoked certificate, by serial: the CRL's entries.
    pub fn revoked(&self) -> Vec<CertRow> {
        self.read(|s| {
            s.certs
                .values()
                .filter(|c| c.revoked_at.is_some())
                .cloned()
                .collect()
        })
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Projection for CertRegistry {
    fn name(&self) -> &'static str {
        "certs"
    }

    fn checkpoint(&self) -> u64 {
        self.read(|s| s.checkpoint)
    }

    fn apply(&self, recorded: &RecordedEvent, event: &Event) {
        self.write().apply(recorded, event);
    }

    fn apply_batch(&self, batch: &[(RecordedEvent, Event)]) {
        let mut state = self.write();
        for (recorded, event) in batch {
            state.apply(recorded, event);
        }
    }

    fn digest(&self) -> String {
        self.read(|s| digest_of(&(&s.certs, &s.by_thing, &s.removed)))
    }
}

#[cfg(test)]
#[path = "certs_tests.rs"]
mod tests;
