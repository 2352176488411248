//! The UDP loop and the per-datagram path: parse in place, drop duplicates, act, answer.
//!
//! One task receives every datagram and handles it synchronously (publishing never waits:
//! see `bus`), answering from a buffer it reuses. Locks are `std` mutexes held for a table
//! lookup, never across an await. Observe registrations are handed to a task of their own,
//! which subscribes to the bus and answers when subscribed.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use tokio::net::UdpSocket;

use super::CoapConfig;
use super::block::{Step, Transfers};
use super::exchanges::{Exchanges, Seen};
use super::format::Formats;
use super::observers::Registry;
use super::refusal::{Refusal, code};
use super::reply::{Answer, Reply};
use super::request::{self, DEREGISTER, REGISTER, Request};
use super::stats::CoapStats;
use super::wire::{self, Datagram, Kind, Token};
use crate::message::Protocol;
use crate::pipeline::{Inbound, Pipeline};
use crate::subtopic::{TopicError, parse_publish_topic};

/// Largest datagram read: anything longer is truncated by the kernel and then malformed.
const DATAGRAM: usize = 65_535;

/// What the loop and the observer tasks share.
pub(super) struct Shared {
    pub socket: UdpSocket,
    pub pipeline: Pipeline,
    pub config: CoapConfig,
    pub stats: Arc<CoapStats>,
    pub registry: Mutex<Registry>,
    pub exchanges: Mutex<Exchanges>,
    transfers: Mutex<Transfers>,
    formats: Formats,
    next_mid: AtomicU16,
}

/// Locks, taking over a lock whose holder panicked (every table stays consistent between
/// statements, and the loop must go on).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(
        socket: UdpSocket,
        pipeline: Pipeline,
        config: CoapConfig,
        stats: Arc<CoapStats>,
    ) -> Self {
        Self {
            socket,
            pipeline,
            registry: Mutex::new(Registry::new(config.caps, stats.clone())),
            exchanges: Mutex::new(Exchanges::new(
                config.max_exchanges,
                config.exchange_lifetime,
            )),
            transfers: Mutex::new(Transfers::new(
                config.max_transfers,
                config.exchange_lifetime,
            )),
            formats: Formats::default(),
            next_mid: AtomicU16::new(std::process::id() as u16),
            config,
            stats,
        }
    }

    /// A message id for a message we originate (NON replies, notifications).
    pub fn next_mid(&self) -> u16 {
        self.next_mid.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `out` to `peer`; a failed send is like a lost datagram (CoAP retransmits).
    pub async fn send(&self, out: &[u8], peer: SocketAddr) {
        if let Err(error) = self.socket.send_to(out, peer).await {
            tracing::debug!(%error, %peer, "CoAP send failed");
        }
    }

    /// A last, non-confirmable message with an error code to an observer that has just
    /// been ended: RFC 7641 §3.2, a non-2.xx notification ends the observation client-side.
    pub async fn send_final(&self, (peer, token): (SocketAddr, Token), code: u8) {
        let mut out = Vec::with_capacity(16);
        let answer = Answer {
            kind: Kind::Non,
            mid: self.next_mid(),
            token,
        };
        Reply::code(code).encode(&mut out, &answer);
        self.send(&out, peer).await;
    }
}

/// Receives until aborted. Nothing a datagram holds can end the loop: each is handled
/// under `catch_unwind`, so even a bug is one lost datagram, logged.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut buffer = vec![0u8; DATAGRAM];
    let mut out = Vec::with_capacity(1280);
    let mut topic = String::with_capacity(256);
    loop {
        let (len, peer) = match shared.socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                tracing::debug!(%error, "CoAP receive failed");
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                continue;
            }
        };
        let datagram = &buffer[..len];
        let handled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            shared.handle(datagram, peer, &mut out, &mut topic)
        }));
        if handled.is_err() {
            tracing::error!(%peer, "CoAP datagram handling panicked: datagram dropped");
            out.clear();
        }
        if !out.is_empty() {
            shared.send(&out, peer).await;
        }
    }
}

impl Shared {
    /// One datagram; the answer, if any, is left in `out`.
    fn handle(
        self: &Arc<Self>,
        datagram: &[u8],
        peer: SocketAddr,
        out: &mut Vec<u8>,
        topic: &mut String,
    ) {
        out.clear();
        let message = match wire::parse(datagram) {
            Ok(message) => message,
            Err(_) => {
                CoapStats::count(&self.stats.malformed);
                // RFC 7252 §4.2: a confirmable message we cannot read is rejected with a RST.
                if let Some((Kind::Con, mid)) = wire::header(datagram) {
                    reset(out, mid);
                }
                return;
            }
        };
        match message.kind {
            Kind::Ack => lock(&self.registry).acked(peer, message.mid),
            Kind::Rst => {
                if lock(&self.registry).reset(peer, message.mid).is_some() {
                    CoapStats::count(&self.stats.observers_reset);
                }
            }
            // A CoAP ping (empty CON) is answered with a RST.
            Kind::Con if message.code == code::EMPTY => reset(out, message.mid),
            _ if message.code != code::EMPTY && message.code >> 5 == 0 => {
                self.request(&message, peer, out, topic)
            }
            // We send no requests, so a response is unexpected: reject a confirmable one.
            Kind::Con => reset(out, message.mid),
            Kind::Non => {}
        }
    }

    fn request(
        self: &Arc<Self>,
        message: &Datagram<'_>,
        peer: SocketAddr,
        out: &mut Vec<u8>,
        topic: &mut String,
    ) {
        match lock(&self.exchanges).check(peer, message.mid, Instant::now()) {
            Seen::New => {}
            Seen::Pending => return CoapStats::count(&self.stats.duplicates),
            Seen::Replay(answer) => {
                out.extend_from_slice(answer);
                return CoapStats::count(&self.stats.duplicates);
            }
        }
        let answer = match message.kind {
            Kind::Con => Answer {
                kind: Kind::Ack,
                mid: message.mid,
                token: message.token,
            },
            _ => Answer {
                kind: Kind::Non,
                mid: self.next_mid(),
                token: message.token,
            },
        };
        let answered = request::read(message, topic)
            .and_then(|request| self.act(message, &request, peer, topic, &answer, out));
        match answered {
            Ok(true) => {}
            // The registration's task answers, and remembers its answer, itself.
            Ok(false) => return,
            Err(refusal) => {
                CoapStats::count(&self.stats.refused);
                let size1 =
                    (refusal == Refusal::TooLarge).then_some(self.config.max_payload as u32);
                Reply {
                    size1,
                    ..Reply::code(refusal.code())
                }
                .encode(out, &answer);
            }
        }
        lock(&self.exchanges).answer(peer, message.mid, out);
    }

    /// Acts on a request; `Ok(true)` when the answer is in `out`, `Ok(false)` when it comes
    /// later (an observe registration).
    fn act(
        self: &Arc<Self>,
        message: &Datagram<'_>,
        request: &Request<'_>,
        peer: SocketAddr,
        topic: &str,
        answer: &Answer,
        out: &mut Vec<u8>,
    ) -> Result<bool, Refusal> {
        match (message.code, request.observe) {
            (code::POST, _) => {
                let reply = self.publish(message, request, peer, topic)?;
                reply.encode(out, answer);
                Ok(true)
            }
            (code::GET, Some(REGISTER)) => self
                .register(message, request, peer, topic, answer)
                .map(|()| false),
            (code::GET, Some(DEREGISTER)) => {
                lock(&self.registry).remove(&(peer, message.token), None);
                Reply::code(code::CONTENT).encode(out, answer);
                Ok(true)
            }
            (code::GET, Some(_)) => Err(Refusal::Malformed("Observe is neither 0 nor 1")),
            (code::GET, None) => self
                .continue_block(message, request, peer, answer, out)
                .map(|()| true),
            _ => Err(Refusal::MethodNotAllowed),
        }
    }

    /// POST: one datagram, or one Block1 piece, then the pipeline.
    fn publish(
        &self,
        message: &Datagram<'_>,
        request: &Request<'_>,
        peer: SocketAddr,
        topic: &str,
    ) -> Result<Reply<'static>, Refusal> {
        let parsed = match parse_publish_topic(topic) {
            Ok(parsed) => Some(parsed),
            Err(TopicError::UnknownChannel) => None,
            Err(malformed) => return Err(malformed.into()),
        };
        let key = request.key.ok_or(Refusal::Unauthenticated)?;
        let Some((channel, subtopic)) = parsed else {
            // A well-formed id no channel can have: a valid key is still only "forbidden".
            self.pipeline.authenticate(key)?;
            return Err(Refusal::Forbidden);
        };
        let content_type = self
            .formats
            .content_type(request.content_format)
            .map_err(Refusal::UnsupportedFormat)?;
        let max = self.config.max_payload;
        let (payload, block1) = match request.block1 {
            None if message.payload.len() > max => return Err(Refusal::TooLarge),
            None => (Bytes::copy_from_slice(message.payload), None),
            Some(block) => {
                if block.num == 0 {
                    // Refused before anything is buffered for a client who may not publish.
                    self.pipeline.authorize(key, channel)?;
                }
                let key = (peer, request.path_hash);
                let step = lock(&self.transfers).push(
                    key,
                    block,
                    message.payload,
                    request.size1,
                    max,
                    Instant::now(),
                );
                match step.inspect_err(|e| self.count_cap(e, &self.stats.transfers_capped))? {
                    Step::Continue(block) => {
                        return Ok(Reply {
                            block1: Some(block),
                            ..Reply::code(code::CONTINUE)
                        });
                    }
                    Step::Complete(body, block) => (Bytes::from(body), Some(block)),
                }
            }
        };
        let inbound = Inbound {
            channel,
            subtopic,
            protocol: Protocol::Coap,
            content_type,
            payload,
            properties: None,
        };
        self.pipeline.publish(key, inbound)?;
        CoapStats::count(&self.stats.publishes);
        Ok(Reply {
            block1,
            ..Reply::code(code::CHANGED)
        })
    }

    pub(super) fn count_cap(&self, refusal: &Refusal, counter: &std::sync::atomic::AtomicU64) {
        if *refusal == Refusal::Capped {
            CoapStats::count(counter);
        }
    }
}

/// The ETag of a notification's blocks: its Observe number, always 4 bytes (never empty).
pub(super) fn etag(observe: u32) -> u32 {
    observe | 1 << 24
}

fn reset(out: &mut Vec<u8>, mid: u16) {
    Reply::code(code::EMPTY).encode(
        out,
        &Answer {
            kind: Kind::Rst,
            mid,
            token: Token::default(),
        },
    );
}
