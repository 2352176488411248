//! The observer registry, keyed by (endpoint, token) as RFC 7641 §3.1 keys observations
//! (coap-lite's `Subject` keys by endpoint only, so it is not used).
//!
//! Bounded: at most `per_thing` observers per thing, `per_endpoint` per endpoint and `total`
//! in all; a registration beyond any is refused (4.29) and counted. A registration with a
//! token already observing replaces that observer and takes no new room.
//!
//! Each observer's notifier task holds its `Signal`: ACKs reach it through it, and ending
//! the observer (RST, deregistration, revocation, shutdown) wakes it to stop.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use domain::ids::{ChannelId, ThingId};
use tokio::sync::Notify;

use super::refusal::Refusal;
use super::stats::CoapStats;
use super::wire::Token;
use crate::message::Message;

pub type ObserverKey = (SocketAddr, Token);

/// Caps on observers.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub per_thing: usize,
    pub per_endpoint: usize,
    pub total: usize,
}

/// The registry ↔ notifier-task link of one observer.
#[derive(Debug, Default)]
pub struct Signal {
    pub notify: Notify,
    /// The message id of the last ACK received for this observer (`u32::MAX`: none).
    acked: AtomicU32,
    ended: AtomicBool,
}

impl Signal {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            acked: AtomicU32::new(u32::MAX),
            ..Self::default()
        })
    }

    pub fn is_acked(&self, mid: u16) -> bool {
        self.acked.load(Ordering::Acquire) == u32::from(mid)
    }

    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    fn ack(&self, mid: u16) {
        self.acked.store(u32::from(mid), Ordering::Release);
        self.notify.notify_one();
    }

    fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

/// What the registry knows of one observer.
pub struct Observer {
    /// Tells a replacement from the observer it replaced.
    pub id: u64,
    pub thing: ThingId,
    pub channel: ChannelId,
    /// The key it registered with, checked again on every revocation of its thing.
    pub key: Arc<str>,
    pub path_hash: u64,
    pub signal: Arc<Signal>,
    /// The last notification (its Observe number and message), whose later blocks a client
    /// fetches with Block2.
    pub last: Option<(u32, Arc<Message>)>,
    /// The message id of the last notification, to match its ACK or RST.
    sent_mid: Option<u16>,
}

pub struct Registry {
    observers: HashMap<ObserverKey, Observer>,
    per_thing: HashMap<ThingId, usize>,
    per_endpoint: HashMap<SocketAddr, usize>,
    by_mid: HashMap<(SocketAddr, u16), Token>,
    caps: Caps,
    next_id: u64,
    /// Keeps the `observers` gauge equal to the registry's size.
    stats: Arc<CoapStats>,
}

impl Registry {
    pub fn new(caps: Caps, stats: Arc<CoapStats>) -> Self {
        Self {
            stats,
            observers: HashMap::new(),
            per_thing: HashMap::new(),
            per_endpoint: HashMap::new(),
            by_mid: HashMap::new(),
            caps,
            next_id: 0,
        }
    }

    /// Registers (or replaces) the observer at `key`; its id and signal.
    pub fn admit(
        &mut self,
        key: ObserverKey,
        thing: ThingId,
        channel: ChannelId,
        api_key: &str,
        path_hash: u64,
    ) -> Result<(u64, Arc<Signal>), Refusal> {
        if self.observers.contains_key(&key) {
            self.remove(&key, None);
        } else {
            let things = self.per_thing.get(&thing).copied().unwrap_or(0);
            let endpoints = self.per_endpoint.get(&key.0).copied().unwrap_or(0);
            if things >= self.caps.per_thing
                || endpoints >= self.caps.per_endpoint
                || self.observers.len() >= self.caps.total
            {
                return Err(Refusal::Capped);
            }
        }
        self.next_id += 1;
        let signal = Signal::new();
        *self.per_thing.entry(thing).or_default() += 1;
        *self.per_endpoint.entry(key.0).or_default() += 1;
        self.observers.insert(
            key,
            Observer {
                id: self.next_id,
                thing,
                channel,
                key: Arc::from(api_key),
                path_hash,
                signal: signal.clone(),
                last: None,
                sent_mid: None,
            },
        );
        self.gauge();
        Ok((self.next_id, signal))
    }

    /// Ends the observer at `key` (only if it is still `id`, when given) and wakes its task.
    pub fn remove(&mut self, key: &ObserverKey, id: Option<u64>) -> Option<Observer> {
        match self.observers.entry(*key) {
            MapEntry::Occupied(entry) if id.is_none_or(|id| entry.get().id == id) => {
                let observer = entry.remove();
                decrement(&mut self.per_thing, observer.thing);
                decrement(&mut self.per_endpoint, key.0);
                if let Some(mid) = observer.sent_mid {
                    self.by_mid.remove(&(key.0, mid));
                }
                observer.signal.end();
                self.gauge();
                Some(observer)
            }
            _ => None,
        }
    }

    /// Records a notification sent: its message id (for ACK and RST) and content (for the
    /// later blocks). `false` when the observer has ended meanwhile.
    pub fn sent(
        &mut self,
        key: &ObserverKey,
        id: u64,
        mid: u16,
        observe: u32,
        message: &Arc<Message>,
    ) -> bool {
        let Some(observer) = self.observers.get_mut(key).filter(|o| o.id == id) else {
            return false;
        };
        if let Some(previous) = observer.sent_mid.replace(mid) {
            self.by_mid.remove(&(key.0, previous));
        }
        observer.last = Some((observe, message.clone()));
        self.by_mid.insert((key.0, mid), key.1);
        true
    }

    /// An ACK from `peer`: wakes the observer whose notification it acknowledges.
    pub fn acked(&self, peer: SocketAddr, mid: u16) {
        let observer = self
            .by_mid
            .get(&(peer, mid))
            .and_then(|token| self.observers.get(&(peer, *token)));
        if let Some(observer) = observer {
            observer.signal.ack(mid);
        }
    }

    /// A RST from `peer`: ends the observer whose notification it rejects (RFC 7641 §3.6).
    pub fn reset(&mut self, peer: SocketAddr, mid: u16) -> Option<Observer> {
        let token = *self.by_mid.get(&(peer, mid))?;
        self.remove(&(peer, token), None)
    }

    /// The observer a Block2 request continues: the one with this token, else the
    /// endpoint's observer of the same path.
    pub fn for_block(&self, key: &ObserverKey, path_hash: u64) -> Option<&Observer> {
        self.observers.get(key).or_else(|| {
            self.observers
                .iter()
                .find(|((peer, _), o)| {
                    *peer == key.0 && o.path_hash == path_hash && o.last.is_some()
                })
                .map(|(_, observer)| observer)
        })
    }

    /// Observers to check again: of one thing, of one channel, or all (`None`, `None`).
    pub fn matching(
        &self,
        thing: Option<ThingId>,
        channel: Option<ChannelId>,
    ) -> Vec<(ObserverKey, u64, Arc<str>, ChannelId)> {
        self.observers
            .iter()
            .filter(|(_, o)| {
                thing.is_none_or(|t| o.thing == t) && channel.is_none_or(|c| o.channel == c)
            })
            .map(|(key, o)| (*key, o.id, o.key.clone(), o.channel))
            .collect()
    }

    /// Ends every observer (shutdown); their keys.
    pub fn clear(&mut self) -> Vec<ObserverKey> {
        let keys: Vec<ObserverKey> = self.observers.keys().copied().collect();
        for key in &keys {
            self.remove(key, None);
        }
        keys
    }
}

impl Registry {
    fn gauge(&self) {
        let len = self.observers.len() as u64;
        self.stats.observers.store(len, Ordering::Relaxed);
    }
}

fn decrement<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let MapEntry::Occupied(mut entry) = counts.entry(key) {
        *entry.get_mut() -= 1;
        if *entry.get() == 0 {
            entry.remove();
        }
    }
}
