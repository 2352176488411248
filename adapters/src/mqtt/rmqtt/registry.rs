//! Which rmqtt sessions belong to which thing, so revocation can close them: connected
//! ones, and persistent ones whose client is away (they keep subscriptions and queue
//! messages, so a revoked thing's offline session must end too).

use std::sync::{Arc, Mutex, MutexGuard};

use domain::FastMap;
use domain::ids::ThingId;
use rmqtt::types::Id;

/// Sessions by thing, from connect until the session ends (a clean session at
/// disconnect, a persistent one when it expires or is taken over). Never touched per message.
#[derive(Clone, Default)]
pub(super) struct Registry {
    sessions: Arc<Mutex<FastMap<ThingId, Vec<Id>>>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, FastMap<ThingId, Vec<Id>>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connected session; it replaces a session resumed under the same client id.
    pub fn insert(&self, thing: ThingId, id: Id) {
        let mut sessions = self.lock();
        let ids = sessions.entry(thing).or_default();
        ids.retain(|known| known.client_id != id.client_id);
        ids.push(id);
    }

    /// A session that ended; a newer session under the same client id stays.
    pub fn remove(&self, thing: ThingId, id: &Id) {
        let mut sessions = self.lock();
        if let Some(ids) = sessions.get_mut(&thing) {
            ids.retain(|live| live != id);
            if ids.is_empty() {
                sessions.remove(&thing);
            }
        }
    }

    /// The sessions of `thing`, removed from the registry.
    pub fn take(&self, thing: ThingId) -> Vec<Id> {
        self.lock().remove(&thing).unwrap_or_default()
    }

    /// Every session, left in the registry.
    pub fn all(&self) -> Vec<Id> {
        self.lock().values().flatten().cloned().collect()
    }

    /// Every session, removed from the registry.
    pub fn take_all(&self) -> Vec<Id> {
        self.lock().drain().flat_map(|(_, ids)| ids).collect()
    }
}
