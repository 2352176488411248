//! One client connection after CONNACK, on one task: packets in and messages out.
//!
//! The task waits on two things only: the socket being ready and its session's `Notify`.
//! Reads and writes are non-blocking (`try_read`/`try_write`), so a client that stops
//! reading never blocks its own inbound acks, and a connection that sits idle holds no
//! buffer at all: both are dropped whenever they are empty.
//!
//! What it does with each packet is in `packets`; how it ends (reason, will) in `ending`.

use std::io::ErrorKind;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use domain::ids::ThingId;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::Broker;
use super::aliases::{Aliases, Outbound};
pub(super) use super::ending::End;
use super::inbound::Will;
use super::session::Session;
use super::wire::{Ack, Wire};

/// Bytes read at a time.
const READ_CHUNK: usize = 4096;
/// Output waiting for a slow client beyond which the connection stops reading from it
/// and stops taking messages from its queue.
const HIGH_WATER: usize = 64 * 1024;

/// A connection after CONNACK: built by `handshake`, then run until it ends.
pub(super) struct Connection {
    pub(super) broker: Arc<Broker>,
    pub(super) stream: TcpStream,
    pub(super) wire: Wire,
    pub(super) session: Arc<Session>,
    pub(super) generation: u64,
    pub(super) wake: Arc<Notify>,
    pub(super) thing: ThingId,
    pub(super) will: Option<Box<Will>>,
    pub(super) expiry_ms: u64,
    pub(super) input: BytesMut,
    pub(super) output: BytesMut,
    /// QoS 1 messages in flight to the client, at most.
    pub(super) receive_max: usize,
    /// The largest packet the client accepts (v5).
    pub(super) max_out_packet: usize,
    /// Topic aliases both ways (v5), once the client or we use one.
    pub(super) aliases: Option<Box<Aliases>>,
    /// The topic aliases the client takes from us (v5; 0: none).
    pub(super) alias_max: u16,
    /// The client takes reason strings on SUBACK (v5 "request problem information").
    pub(super) problem_info: bool,
    /// `finish` ran.
    pub(super) finished: bool,
}

impl Drop for Connection {
    /// A task that ends without `finish` (a panic while handling a packet) still leaves
    /// its session: otherwise the session would stay attached to nobody, queueing forever.
    fn drop(&mut self) {
        self.finish(End::Lost);
    }
}

impl Connection {
    pub(super) async fn run(&mut self) -> End {
        // A client may send packets right behind its CONNECT, in the same segment.
        if let Err(end) = self.decode() {
            return end;
        }
        loop {
            let more = match self.pull() {
                Ok(more) => more,
                Err(end) => return end,
            };
            if let Err(end) = self.flush() {
                return end;
            }
            if more && self.output.is_empty() {
                // The socket took it all and more is queued: nobody else will wake us.
                tokio::task::yield_now().await;
                continue;
            }
            self.release_idle_buffers();
            let interest = match self.output.len() {
                0 => Interest::READABLE,
                n if n < HIGH_WATER => Interest::READABLE | Interest::WRITABLE,
                _ => Interest::WRITABLE,
            };
            let ready = tokio::select! {
                () = self.wake.notified() => None,
                ready = self.stream.ready(interest) => Some(ready),
            };
            match ready {
                None => {}
                Some(Err(_)) => return End::Lost,
                Some(Ok(ready)) if ready.is_readable() || ready.is_read_closed() => {
                    if let Err(end) = self.read() {
                        return end;
                    }
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// An idle connection keeps no buffer: an idle fleet's memory is what this saves.
    fn release_idle_buffers(&mut self) {
        if self.output.is_empty() && self.output.capacity() > 0 {
            self.output = BytesMut::new();
        }
        if self.input.is_empty() && self.input.capacity() > 0 {
            self.input = BytesMut::new();
        }
    }

    /// Moves what the session may send now into the output, or ends if kicked. `true`
    /// when it stopped at `HIGH_WATER` with more to send.
    fn pull(&mut self) -> Result<bool, End> {
        let mut state = self.session.lock();
        match &state.link {
            Some(link) if link.generation == self.generation => {
                if let Some(kick) = link.kick {
                    return Err(End::Kicked(kick));
                }
            }
            _ => return Err(End::TakenOver),
        }
        loop {
            if self.output.len() >= HIGH_WATER {
                return Ok(!state.queue.is_empty());
            }
            let Some(message) = state.next_to_send(self.receive_max) else {
                return Ok(false);
            };
            if let (true, Some(id)) = (message.released, message.packet_id) {
                self.wire.ack(&mut self.output, Ack::Released, id);
                continue;
            }
            let mut outgoing = message.as_ref();
            if self.wire.publish_size(&outgoing) > self.max_out_packet {
                // MQTT 5: a message too large for the client is dropped, not sent.
                if let Some(id) = message.packet_id {
                    state.acknowledge(id);
                }
                self.broker.gate.stats().count_dropped();
                continue;
            }
            if self.alias_max > 0 {
                let aliases = self.aliases.get_or_insert_default();
                match aliases.outbound(outgoing.topic, self.alias_max) {
                    Outbound::Topic => {}
                    Outbound::Set(alias) => outgoing.properties.topic_alias = Some(alias),
                    Outbound::Use(alias) => {
                        outgoing.properties.topic_alias = Some(alias);
                        outgoing.topic = "";
                    }
                }
            }
            self.wire.publish(&mut self.output, &outgoing);
        }
    }

    /// Writes what the socket takes now.
    pub(super) fn flush(&mut self) -> Result<(), End> {
        while !self.output.is_empty() {
            match self.stream.try_write(&self.output) {
                Ok(written) => {
                    self.output.advance(written);
                    // A client taking what we send is alive, even while we do not read its
                    // PINGREQs (past `HIGH_WATER`).
                    self.session.touch(self.broker.now_ms());
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return Err(End::Lost),
            }
        }
        Ok(())
    }

    fn read(&mut self) -> Result<(), End> {
        self.input.reserve(READ_CHUNK);
        match self.stream.try_read_buf(&mut self.input) {
            Ok(0) => return Err(End::Lost),
            Ok(_) => self.session.touch(self.broker.now_ms()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(_) => return Err(End::Lost),
        }
        self.decode()
    }

    /// Handles every complete packet in the input.
    fn decode(&mut self) -> Result<(), End> {
        let max = self.broker.limits.max_packet_size;
        while let Some(packet) = self
            .wire
            .read(&mut self.input, max)
            .map_err(End::Malformed)?
        {
            self.handle(packet)?;
        }
        Ok(())
    }
}
