//! Sessions by client id: attaching a connection (new, resumed or taken over), detaching
//! it, and forgetting sessions (clean end, expiry, revocation).
//!
//! Lock order: the registry, then the router's index, then a session's state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use domain::ids::ThingId;
use tokio::sync::Notify;

use super::router::Router;
use super::session::{Kick, Link, Session};

#[derive(Default)]
pub(super) struct Registry {
    sessions: Mutex<Table>,
    /// Counts revocations. A CONNECT authenticated before one and attached after it could
    /// escape it, so `attach` refuses when the count moved since authentication.
    revocations: AtomicU64,
}

/// The sessions by client id, and how many each thing holds.
#[derive(Default)]
struct Table {
    by_client: HashMap<Box<str>, Arc<Session>>,
    per_thing: HashMap<ThingId, usize>,
}

impl Table {
    fn insert(&mut self, session: Arc<Session>) {
        *self.per_thing.entry(session.thing).or_default() += 1;
        self.by_client.insert(session.client_id.clone(), session);
    }

    /// Removes `session` if it is the one registered under its client id.
    fn remove(&mut self, session: &Arc<Session>) {
        let registered = self.by_client.get(&session.client_id);
        if !registered.is_some_and(|s| Arc::ptr_eq(s, session)) {
            return;
        }
        self.by_client.remove(&session.client_id);
        if let Some(count) = self.per_thing.get_mut(&session.thing) {
            *count -= 1;
            if *count == 0 {
                self.per_thing.remove(&session.thing);
            }
        }
    }

    fn held_by(&self, thing: ThingId) -> usize {
        self.per_thing.get(&thing).copied().unwrap_or(0)
    }
}

/// Why `attach` did not attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Another thing holds a session under this client id ("not authorized").
    Taken,
    /// A revocation ran since the client was authenticated: authenticate again.
    Stale,
    /// The thing holds `max_sessions` sessions already, connected or away.
    Quota,
}

/// What a CONNECT asks of its session.
pub(super) struct Attach<'a> {
    pub client_id: &'a str,
    pub thing: ThingId,
    pub clean_start: bool,
    /// Whether the session outlives the connection (it may be resumed only then).
    pub persistent: bool,
    pub keep_alive_ms: u64,
    pub now_ms: u64,
    /// `revocations()` read before the client was authenticated.
    pub revocations_seen: u64,
    /// Sessions one thing may hold (`FF_MQTT_MAX_SESSIONS_PER_THING`).
    pub max_sessions: usize,
}

/// A connection attached to its session.
pub(super) struct Attached {
    pub session: Arc<Session>,
    pub generation: u64,
    pub wake: Arc<Notify>,
    /// An earlier session was resumed (CONNACK "session present").
    pub present: bool,
    /// A live connection under the same client id was closed for this one: its
    /// disconnect is reported by the new connection, before its own connect.
    pub took_over: bool,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attaches a new connection. A live connection of the same client id is taken over;
    /// its session is resumed unless the client starts clean or it expired. Client ids are
    /// one namespace for all things: another thing's session is not taken ("not authorized").
    /// A new client id is refused to a thing already holding `max_sessions` sessions.
    pub fn attach(&self, router: &Router, attach: Attach<'_>) -> Result<Attached, Refused> {
        let mut sessions = self.lock();
        if self.revocations.load(Ordering::Relaxed) != attach.revocations_seen {
            return Err(Refused::Stale);
        }
        let existing = sessions.by_client.get(attach.client_id).cloned();
        if existing.as_ref().is_some_and(|s| s.thing != attach.thing) {
            return Err(Refused::Taken);
        }
        // A session under the same client id is replaced or resumed, not added.
        if existing.is_none() && sessions.held_by(attach.thing) >= attach.max_sessions {
            return Err(Refused::Quota);
        }
        let resumable = |s: &Arc<Session>| {
            let expires = s.expires_at.load(Ordering::Relaxed);
            !attach.clean_start && s.lock().persistent && (expires == 0 || expires > attach.now_ms)
        };
        let mut took_over = false;
        let (session, present) = match existing {
            Some(session) if resumable(&session) => (session, true),
            Some(old) => {
                sessions.remove(&old);
                took_over = forget(router, &old, None);
                (fresh(&mut sessions, &attach), false)
            }
            None => (fresh(&mut sessions, &attach), false),
        };
        let wake = Arc::new(Notify::new());
        let generation = {
            let mut state = session.lock();
            if let Some(old) = state.link.take() {
                // The old connection finds its link gone and ends.
                old.wake.notify_one();
                took_over = true;
            }
            state.generation += 1;
            state.link = Some(Link {
                generation: state.generation,
                wake: wake.clone(),
                kick: None,
            });
            state.persistent = attach.persistent;
            state.resend_inflight();
            // Under the state lock, so a keep-alive check that races with this attach sees
            // the new connection's clock, not the old one's.
            session.last_seen.store(attach.now_ms, Ordering::Relaxed);
            session
                .keep_alive
                .store(attach.keep_alive_ms, Ordering::Relaxed);
            session.expires_at.store(0, Ordering::Relaxed);
            state.generation
        };
        Ok(Attached {
            session,
            generation,
            wake,
            present,
            took_over,
        })
    }

    /// The connection `generation` of `session` ended. A persistent session stays for
    /// `expiry_ms`; any other is forgotten. Nothing happens if a newer connection took over
    /// (then `false`: that one reported this disconnect already).
    pub fn detach(
        &self,
        router: &Router,
        session: &Arc<Session>,
        generation: u64,
        expiry_ms: u64,
        now_ms: u64,
    ) -> bool {
        let mut sessions = self.lock();
        let keep = {
            let mut state = session.lock();
            if state.link.as_ref().map(|l| l.generation) != Some(generation) {
                return false;
            }
            state.link = None;
            expiry_ms > 0 && state.alive
        };
        session.keep_alive.store(0, Ordering::Relaxed);
        if keep {
            session
                .expires_at
                .store(now_ms.saturating_add(expiry_ms).max(1), Ordering::Relaxed);
        } else {
            sessions.remove(session);
            forget(router, session, None);
        }
        true
    }

    /// Forgets the sessions `select` picks, closing their connections with `kick`.
    pub fn kick_where(
        &self,
        router: &Router,
        kick: Kick,
        select: impl Fn(&Session) -> bool,
    ) -> usize {
        let mut sessions = self.lock();
        self.revocations.fetch_add(1, Ordering::Relaxed);
        let victims: Vec<_> = sessions
            .by_client
            .values()
            .filter(|s| select(s))
            .cloned()
            .collect();
        for session in &victims {
            sessions.remove(session);
            forget(router, session, Some(kick));
        }
        victims.len()
    }

    /// Connected sessions silent for 1.5 times their keep-alive, and away sessions whose
    /// time is up.
    pub fn expired(&self, now_ms: u64) -> (Vec<Arc<Session>>, Vec<Arc<Session>>) {
        let sessions = self.lock();
        let silent = sessions
            .by_client
            .values()
            .filter(|s| s.is_silent(now_ms))
            .cloned()
            .collect();
        let ended = sessions
            .by_client
            .values()
            .filter(|s| {
                let expires = s.expires_at.load(Ordering::Relaxed);
                expires > 0 && expires <= now_ms
            })
            .cloned()
            .collect();
        (silent, ended)
    }

    pub fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::Relaxed)
    }

    /// Forgets an away session whose time is up, unless a client came back meanwhile.
    pub fn end_expired(&self, router: &Router, session: &Arc<Session>, now_ms: u64) {
        let mut sessions = self.lock();
        let expires = session.expires_at.load(Ordering::Relaxed);
        if expires > 0 && expires <= now_ms {
            sessions.remove(session);
            forget(router, session, None);
        }
    }
}

fn fresh(sessions: &mut Table, attach: &Attach<'_>) -> Arc<Session> {
    let session = Arc::new(Session::new(attach.client_id.into(), attach.thing));
    sessions.insert(session.clone());
    session
}

/// Out of the router, nothing queued; its live connection (if any) is told to close:
/// with `kick`, or without one by taking its link (a takeover, which the new connection
/// reports). Whether there was a live connection.
fn forget(router: &Router, session: &Arc<Session>, kick: Option<Kick>) -> bool {
    router.remove(session);
    let mut state = session.lock();
    match (kick, &mut state.link) {
        (_, None) => false,
        (Some(kick), Some(link)) => {
            link.kick = Some(kick);
            link.wake.notify_one();
            true
        }
        (None, link @ Some(_)) => {
            link.take().inspect(|old| old.wake.notify_one());
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attach(client_id: &str, revocations_seen: u64) -> Attach<'_> {
        Attach {
            client_id,
            thing: ThingId(uuid::Uuid::nil()),
            clean_start: true,
            persistent: false,
            keep_alive_ms: 0,
            now_ms: 0,
            revocations_seen,
            max_sessions: 2,
        }
    }

    #[test]
    fn a_thing_holds_at_most_its_sessions_and_ended_ones_free_room() {
        let (registry, router) = (Registry::default(), Router::default());
        let first = registry.attach(&router, attach("one", 0)).unwrap();
        registry.attach(&router, attach("two", 0)).unwrap();
        assert_eq!(
            registry.attach(&router, attach("three", 0)).err(),
            Some(Refused::Quota)
        );
        // The same client id again takes its session over: not one more.
        registry.attach(&router, attach("two", 0)).unwrap();
        // A clean session ends with its connection.
        assert!(registry.detach(&router, &first.session, first.generation, 0, 0));
        registry.attach(&router, attach("three", 0)).unwrap();
        let other = Attach {
            thing: ThingId(uuid::Uuid::from_u128(1)),
            ..attach("four", 0)
        };
        assert!(
            registry.attach(&router, other).is_ok(),
            "per thing, not in all"
        );
    }

    /// A CONNECT authenticated before a revocation is not attached after it.
    #[test]
    fn a_revocation_between_authentication_and_attach_makes_it_stale() {
        let (registry, router) = (Registry::default(), Router::default());
        let seen = registry.revocations();
        registry.kick_where(&router, Kick::Revoked, |_| false);
        assert_eq!(
            registry.attach(&router, attach("late", seen)).err(),
            Some(Refused::Stale)
        );
        assert!(
            registry
                .attach(&router, attach("late", registry.revocations()))
                .is_ok()
        );
    }
}
