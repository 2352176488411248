//! MQTT fan-in: N publishers → 1 subscriber on one topic, 100 B payloads, QoS 0, 1 or 2, the
//! same hand-rolled generator against every broker. Each payload carries (publisher, sequence)
//! so the subscriber counts loss, duplicates and reordering in every run, not just speed.
//! The same run with M subscribers in one shared subscription (`$share/bench/<topic>`) is the
//! shared fan-out: each message must reach exactly one member.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::mqtt_brokers::{Broker, Running};
use crate::mqtt_tls::Stream;
use crate::mqtt_wire::{self, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK};

pub const PAYLOAD: usize = 100;
/// PUBLISHes a QoS 1 or 2 publisher keeps awaiting PUBACK or PUBCOMP.
const WINDOW: u64 = 100;
/// QoS 0 messages per `write()`.
const BATCH: u64 = 32;
/// The subscriber stops waiting after this long without a new message, and loss is counted.
const QUIET: Duration = Duration::from_secs(2);

/// What the subscriber saw, warm-up included.
#[derive(Default, Debug)]
pub struct Tally {
    pub expected: u64,
    pub received: u64,
    pub duplicates: u64,
    pub reordered: u64,
}

impl Tally {
    pub fn loss(&self) -> u64 {
        self.expected.saturating_sub(self.received)
    }
}

pub struct Point {
    /// Delivered to the subscriber, per second of the measured run.
    pub rate: f64,
    /// Delivered per server-CPU-second: what the ratio compares.
    pub per_cpu_second: f64,
    /// Sent by the publishers (acknowledged at QoS 1 and 2) per server-CPU-second.
    pub accepted_per_cpu_second: f64,
    /// Server CPU over wall time: near 100 % means server-bound, not generator-bound.
    pub busy: f64,
    pub tally: Tally,
    /// Messages the broker stored, warm-up included (ferroflux; Mosquitto stores none).
    pub stored: Option<u64>,
}

/// Who receives: one subscriber, or the members of one shared subscription.
#[derive(Clone, Copy)]
pub enum Receivers {
    One,
    Shared(u32),
}

/// One point: a fresh broker, warm-up (a tenth of the count, not timed), then the measured
/// run. Rate and CPU count only messages the subscribers received.
pub async fn run(
    broker: Broker,
    qos: u8,
    publishers: u32,
    receivers: Receivers,
    per_publisher: u64,
) -> anyhow::Result<Point> {
    let running = broker.start().await?;
    let warm = (per_publisher / 10).max(1);
    let progress = Arc::new(Progress::new());
    let (filter, members) = match receivers {
        Receivers::One => (running.topic.clone(), 1),
        Receivers::Shared(members) => (format!("$share/bench/{}", running.topic), members),
    };
    let mut subs = Vec::new();
    for member in 0..members {
        let id = format!("bench-sub-{member}");
        let total = warm + per_publisher;
        subs.push(subscribe(&running, &id, &filter, qos, publishers, total, &progress).await?);
    }
    let mut pubs = Vec::new();
    for index in 0..publishers {
        let stream = running.session(&format!("bench-pub-{index}"), 600).await?;
        pubs.push(Publisher::new(stream, index, qos, running.topic.clone()));
    }
    pubs = send_all(pubs, warm).await?;
    progress.settle(u64::from(publishers) * warm).await;
    let (before, cpu) = (progress.received(), running.server.cpu_seconds()?);
    let started = progress.now();
    send_all(pubs, per_publisher).await?;
    progress
        .settle(u64::from(publishers) * (warm + per_publisher))
        .await;
    let seconds = (progress.last_arrival() - started).max(1e-3);
    let busy = running.server.cpu_seconds()? - cpu;
    let sent = u64::from(publishers) * (warm + per_publisher);
    // The broker's CPU counts until its work is done: ferroflux's store included.
    let stored = settle_store(&running, sent).await?;
    let cpu = (running.server.cpu_seconds()? - cpu).max(0.01);
    if let (Some(store), Some(saved)) = (&running.store, stored) {
        let readable = store.readable().await?;
        ensure!(
            readable == saved,
            "saved {saved}, the reader serves {readable}"
        );
    }
    let mut received = Vec::new();
    for (stop, sub) in subs {
        let _ = stop.send(());
        received.push(sub.await??);
    }
    let tally = merge(received);
    let delivered = (progress.received() - before) as f64;
    let accepted = (u64::from(publishers) * per_publisher) as f64;
    Ok(Point {
        rate: delivered / seconds,
        per_cpu_second: delivered / cpu,
        accepted_per_cpu_second: accepted / cpu,
        busy: busy / seconds,
        tally,
        stored,
    })
}

/// What every fan-in point must show whatever its speed: no duplicates, and in a smoke run
/// nothing lost at QoS 1 and 2 and everything stored where the broker stores.
pub fn check(point: &Point, broker: Broker, qos: u8, smoke: bool) -> anyhow::Result<()> {
    let t = &point.tally;
    ensure!(t.duplicates == 0, "{} delivered duplicates", broker.name());
    ensure!(
        !smoke || point.stored.is_none_or(|n| n == t.expected),
        "{} did not store every message",
        broker.name()
    );
    ensure!(
        !smoke || qos == 0 || t.loss() == 0,
        "{} lost QoS {qos} messages",
        broker.name()
    );
    Ok(())
}

/// Waits until the broker stored all `sent` messages or made no progress for `QUIET`
/// (Mosquitto stores nothing: a short pause for work still queued).
async fn settle_store(running: &Running, sent: u64) -> anyhow::Result<Option<u64>> {
    let Some(mut stored) = running.stored().await? else {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return Ok(None);
    };
    let mut since = Instant::now();
    while stored < sent && since.elapsed() < QUIET {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = running.stored().await?.unwrap_or(0);
        if now != stored {
            (stored, since) = (now, Instant::now());
        }
    }
    Ok(Some(stored))
}

async fn send_all(pubs: Vec<Publisher>, count: u64) -> anyhow::Result<Vec<Publisher>> {
    let tasks: Vec<_> = pubs
        .into_iter()
        .map(|mut p| tokio::spawn(async move { p.send(count).await.map(|()| p) }))
        .collect();
    let mut back = Vec::new();
    for task in tasks {
        back.push(task.await??);
    }
    Ok(back)
}

/// Received count and time of the last arrival, shared with the subscriber task.
struct Progress {
    epoch: Instant,
    received: AtomicU64,
    last_ns: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            epoch: Instant::now(),
            received: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn last_arrival(&self) -> f64 {
        self.last_ns.load(Ordering::Relaxed) as f64 / 1e9
    }

    fn arrived(&self, new: u64) {
        self.received.fetch_add(new, Ordering::Relaxed);
        let ns = self.epoch.elapsed().as_nanos() as u64;
        self.last_ns.store(ns, Ordering::Relaxed);
    }

    /// Returns once `expected` messages arrived, or after `QUIET` without progress.
    async fn settle(&self, expected: u64) {
        let (mut seen, mut since) = (self.received(), Instant::now());
        while self.received() < expected && since.elapsed() < QUIET {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if self.received() != seen {
                (seen, since) = (self.received(), Instant::now());
            }
        }
    }
}

struct Publisher {
    stream: Stream,
    index: u32,
    qos: u8,
    topic: String,
    seq: u64,
    packet_id: u16,
    buf: Vec<u8>,
}

impl Publisher {
    fn new(stream: Stream, index: u32, qos: u8, topic: String) -> Publisher {
        Publisher {
            stream,
            index,
            qos,
            topic,
            seq: 0,
            packet_id: 0,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Appends the next `n` messages to the write buffer.
    fn queue(&mut self, n: u64) {
        for _ in 0..n {
            let mut payload = [b'x'; PAYLOAD];
            payload[..4].copy_from_slice(&self.index.to_be_bytes());
            payload[4..12].copy_from_slice(&self.seq.to_be_bytes());
            self.packet_id = self.packet_id.checked_add(1).unwrap_or(1);
            mqtt_wire::publish(
                &mut self.buf,
                &self.topic,
                self.qos,
                self.packet_id,
                &payload,
            );
            self.seq += 1;
        }
    }

    async fn send(&mut self, count: u64) -> anyhow::Result<()> {
        if self.qos == 0 {
            return self.send_qos0(count).await;
        }
        let (mut sent, mut in_flight) = (0, 0);
        let mut acks = Vec::with_capacity(4096);
        // Holds what goes out next: PUBRELs for the PUBRECs last read, then new PUBLISHes.
        self.buf.clear();
        while sent < count || in_flight > 0 {
            let n = (WINDOW - in_flight).min(count - sent);
            if n > 0 {
                self.queue(n);
                (sent, in_flight) = (sent + n, in_flight + n);
            }
            if !self.buf.is_empty() {
                self.stream.write_all(&self.buf).await?;
                self.stream.flush().await?;
                self.buf.clear();
            }
            in_flight -= read_acks(&mut self.stream, &mut acks, &mut self.buf).await?;
        }
        Ok(())
    }

    async fn send_qos0(&mut self, count: u64) -> anyhow::Result<()> {
        let mut sent = 0;
        while sent < count {
            let n = BATCH.min(count - sent);
            self.buf.clear();
            self.queue(n);
            self.stream.write_all(&self.buf).await?;
            self.stream.flush().await?;
            sent += n;
        }
        Ok(())
    }
}

/// Reads at least one packet and returns how many PUBLISHes completed (PUBACK at QoS 1,
/// PUBCOMP at QoS 2); queues in `replies` a PUBREL for each PUBREC.
async fn read_acks(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    replies: &mut Vec<u8>,
) -> anyhow::Result<u64> {
    let mut acked = 0;
    loop {
        let mut at = 0;
        while let Some((packet, used)) = mqtt_wire::next_packet(&buf[at..])? {
            match packet.kind() {
                PUBACK | PUBCOMP => acked += 1,
                PUBREC => mqtt_wire::ack(replies, PUBREL, packet.ack_id()?),
                _ => {}
            }
            at += used;
        }
        buf.drain(..at);
        if at > 0 {
            return Ok(acked);
        }
        ensure!(stream.read_buf(buf).await? > 0, "broker closed a publisher");
    }
}

/// What the subscribers saw together: a message more than one of them got is a duplicate.
fn merge(receivers: Vec<Receiver>) -> Tally {
    let mut all = receivers.into_iter();
    let Some(mut first) = all.next() else {
        return Tally::default();
    };
    for other in all {
        first.tally.reordered += other.tally.reordered;
        first.tally.duplicates += other.tally.duplicates;
        let pairs = first
            .seen
            .iter_mut()
            .flatten()
            .zip(other.seen.iter().flatten());
        for (seen, _) in pairs.filter(|(_, also)| **also) {
            match std::mem::replace(seen, true) {
                true => first.tally.duplicates += 1,
                false => first.tally.received += 1,
            }
        }
    }
    first.tally
}

/// Connects a subscriber of `filter` and starts its task; send on the returned channel to
/// stop it.
async fn subscribe(
    running: &Running,
    client_id: &str,
    filter: &str,
    qos: u8,
    publishers: u32,
    per_publisher: u64,
    progress: &Arc<Progress>,
) -> anyhow::Result<(
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<Receiver>>,
)> {
    let mut stream = running.session(client_id, 600).await?;
    stream
        .write_all(&mqtt_wire::subscribe(1, filter, qos))
        .await?;
    stream.flush().await?;
    let mut suback = [0u8; 5];
    stream.read_exact(&mut suback).await?;
    ensure!(suback[0] == SUBACK && suback[4] == qos, "SUBACK {suback:?}");
    let seen = vec![vec![false; per_publisher as usize]; publishers as usize];
    let receiver = Receiver {
        seen,
        next: vec![0; publishers as usize],
        tally: Tally {
            expected: u64::from(publishers) * per_publisher,
            ..Tally::default()
        },
        progress: progress.clone(),
    };
    let (stop, stopped) = oneshot::channel();
    Ok((stop, tokio::spawn(receiver.run(stream, stopped))))
}

struct Receiver {
    seen: Vec<Vec<bool>>,
    /// Per publisher, one past the highest sequence number seen.
    next: Vec<u64>,
    tally: Tally,
    progress: Arc<Progress>,
}

impl Receiver {
    async fn run(
        mut self,
        mut stream: Stream,
        mut stop: oneshot::Receiver<()>,
    ) -> anyhow::Result<Receiver> {
        let (mut buf, mut acks) = (Vec::with_capacity(256 * 1024), Vec::new());
        loop {
            tokio::select! {
                read = stream.read_buf(&mut buf) => ensure!(read? > 0, "broker closed the subscriber"),
                _ = &mut stop => return Ok(self),
            }
            let (mut at, before) = (0, self.tally.received);
            while let Some((packet, used)) = mqtt_wire::next_packet(&buf[at..])? {
                match packet.kind() {
                    PUBLISH => {
                        let (qos, id, payload) = packet.publish()?;
                        self.count(payload)?;
                        match qos {
                            1 => mqtt_wire::ack(&mut acks, PUBACK, id),
                            2 => mqtt_wire::ack(&mut acks, PUBREC, id),
                            _ => {}
                        }
                    }
                    // PUBREL's kind: its flags are masked off.
                    0x60 => mqtt_wire::ack(&mut acks, PUBCOMP, packet.ack_id()?),
                    _ => {}
                }
                at += used;
            }
            buf.drain(..at);
            if self.tally.received > before {
                self.progress.arrived(self.tally.received - before);
            }
            if !acks.is_empty() {
                stream.write_all(&acks).await?;
                stream.flush().await?;
                acks.clear();
            }
        }
    }

    fn count(&mut self, payload: &[u8]) -> anyhow::Result<()> {
        ensure!(
            payload.len() == PAYLOAD,
            "payload of {} bytes",
            payload.len()
        );
        let index = u32::from_be_bytes(payload[..4].try_into()?) as usize;
        let seq = u64::from_be_bytes(payload[4..12].try_into()?);
        let seen = self
            .seen
            .get_mut(index)
            .and_then(|s| s.get_mut(seq as usize))
            .context("payload from an unknown publisher or sequence")?;
        if std::mem::replace(seen, true) {
            self.tally.duplicates += 1;
            return Ok(());
        }
        self.tally.received += 1;
        if seq < self.next[index] {
            self.tally.reordered += 1;
        }
        self.next[index] = self.next[index].max(seq + 1);
        Ok(())
    }
}
