//! `JetStreamEventLog`: the distributed `EventLog` backend on NATS JetStream (≥ 2.12).
//!
//! Three JetStream streams: the events, the command index, the cluster's settings.
//!
//! Layout: `subjects` (names), `wire` (message format), `append` (optimistic concurrency,
//! atomic batches), `append_all` (one atomic batch over several streams), `read` (direct
//! gets, ordered consumers), `subscription` (catch-up then live), `index` (command id →
//! outcome).
//!
//! Durability is the server's: an append returns once JetStream acknowledged it, which with
//! `sync_interval: always` (our scripts, the documented production config) means fsynced on
//! every replica that acknowledged.

mod append;
mod append_all;
mod index;
mod read;
mod subjects;
mod subscription;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use domain::envelope::RecordedEvent;
use domain::ports::event_log::{AppendBatch, Appended, EventLog, EventSubscription, LogError};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use self::append::Tip;
use self::index::Indexer;
use self::subjects::Names;
use self::subscription::JetStreamSubscription;
use crate::service::stream_locks::StreamLocks;

/// How a log is laid out on the server.
#[derive(Debug, Clone)]
pub struct JetStreamOptions {
    /// Subject prefix and stream-name stem: `ff` → `ff.events.…`, `FF_EVENTS`, `FF_COMMANDS`,
    /// `FF_SETTINGS`.
    pub prefix: String,
    /// Replicas of both streams: 1 on a single server, 3 on a cluster.
    pub replicas: usize,
}

impl Default for JetStreamOptions {
    fn default() -> Self {
        Self {
            prefix: "ff".into(),
            replicas: 1,
        }
    }
}

/// Streams (and refused commands) this handle remembers; beyond this the memory starts over.
const REMEMBERED_TIPS: usize = 100_000;

/// Atomic batches open at once per handle. The server refuses a stream's 51st open batch,
/// so this leaves room for a few other nodes' batches.
const OPEN_BATCHES: usize = 32;

/// Outcomes of this handle's own appends, and commands the index did not know when refused.
#[derive(Default)]
struct CommandsSeen {
    appended: HashMap<Uuid, Appended>,
    refused: HashSet<Uuid>,
}

pub struct JetStreamEventLog {
    client: async_nats::Client,
    events: stream::Stream,
    commands: stream::Stream,
    settings: stream::Stream,
    names: Names,
    reconnected: watch::Receiver<u64>,
    tips: Mutex<HashMap<String, Tip>>,
    /// What this handle knows about commands: see `append::refused`.
    commands_seen: Mutex<CommandsSeen>,
    /// Appends to one stream from this handle queue rather than race each other.
    appending: StreamLocks,
    /// Atomic batches this handle has open at once: fewer than the server's 50 per stream.
    open_batches: Semaphore,
    indexed: watch::Receiver<u64>,
    indexer: JoinHandle<()>,
}

impl JetStreamEventLog {
    /// Connects to `url` (several cluster members comma-separated: any one that answers will
    /// do, the client learns the rest) and opens (creating if needed) the log's two streams.
    pub async fn connect(url: &str, options: JetStreamOptions) -> Result<Self, LogError> {
        let servers = url
            .split(',')
            .map(|one| one.trim().parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LogError::Invalid(format!("NATS URL {url}: {e}")))?;
        // Counts (re)connections, so that consumers are recreated at once after an outage
        // instead of after two missed heartbeats (up to 30 s).
        let (reconnected_tx, reconnected) = watch::channel(0u64);
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name("ferroflux")
            .event_callback(move |event| {
                let reconnected_tx = reconnected_tx.clone();
                async move {
                    if matches!(event, async_nats::Event::Connected) {
                        reconnected_tx.send_modify(|n| *n += 1);
                    }
                }
            })
            .connect(servers)
            .await
            .map_err(|e| LogError::Unavailable(format!("cannot connect to NATS at {url}: {e}")))?;
        Self::open(client, options, reconnected).await
    }

    async fn open(
        client: async_nats::Client,
        options: JetStreamOptions,
        reconnected: watch::Receiver<u64>,
    ) -> Result<Self, LogError> {
        let names = Names::new(&options.prefix)?;
        let js = jetstream::new(client.clone());
        let events = ensure_stream(
            &js,
            &names.events,
            vec![names.all_events()],
            options.replicas,
            stream::PersistenceMode::Default,
        )
        .await?;
        let commands = ensure_stream(
            &js,
            &names.commands,
            vec![names.all_commands()],
            options.replicas,
            stream::PersistenceMode::Async,
        )
        .await?;
        let settings = ensure_stream(
            &js,
            &names.settings,
            vec![names.all_settings()],
            options.replicas,
            stream::PersistenceMode::Default,
        )
        .await?;
        let (indexed_tx, indexed) = watch::channel(0);
        let indexer = tokio::spawn(
            Indexer {
                client: client.clone(),
                events: events.clone(),
                commands: commands.clone(),
                names: names.clone(),
                indexed: indexed_tx,
                reconnected: reconnected.clone(),
            }
            .run(),
        );
        Ok(Self {
            client,
            events,
            commands,
            settings,
            names,
            reconnected,
            tips: Mutex::default(),
            commands_seen: Mutex::default(),
            appending: StreamLocks::default(),
            open_batches: Semaphore::new(OPEN_BATCHES),
            indexed,
            indexer,
        })
    }

    /// Refuses at once while disconnected: the client would otherwise buffer the publish
    /// and send it after reconnecting, storing an append its caller was told had failed.
    fn connected(&self) -> Result<(), LogError> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            _ => Err(LogError::Unavailable(
                "the connection to NATS is down; reconnecting".into(),
            )),
        }
    }

    fn remembered(&self, stream: &str) -> Option<Tip> {
        self.tips
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(stream)
            .copied()
    }

    fn remember(&self, stream: &str, tip: Tip) {
        let mut tips = self.tips.lock().unwrap_or_else(|p| p.into_inner());
        if tips.len() >= REMEMBERED_TIPS && !tips.contains_key(stream) {
            tips.clear();
        }
        tips.insert(stream.to_owned(), tip);
    }

    /// Stores `value` as the cluster's `name` unless one is stored already; returns the
    /// stored value when it differs (the first node to start decides).
    pub async fn agree(&self, name: &str, value: &str) -> Result<Option<String>, LogError> {
        let subject = self.names.setting(name);
        let payload = value.to_owned().into();
        let stored = "storing a cluster setting";
        match wire::publish_if_absent(&self.client, subject.clone(), payload, stored).await? {
            wire::PubReply::Stored(_) => Ok(None),
            _ => {
                let stored = read::last_on(&self.settings, &subject)
                    .await?
                    .ok_or_else(|| {
                        LogError::Unavailable(format!("cluster setting {name} vanished"))
                    })?;
                let stored = String::from_utf8_lossy(&stored.payload).into_owned();
                Ok((stored != value).then_some(stored))
            }
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, CommandsSeen> {
        let mut seen = self.commands_seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.appended.len() + seen.refused.len() >= REMEMBERED_TIPS {
            *seen = CommandsSeen::default();
        }
        seen
    }

    fn own_outcome(&self, command: Uuid) -> Option<Appended> {
        self.seen().appended.get(&command).cloned()
    }

    /// Remembers a retryable command's outcome (`retry_id`), for a retry through this handle.
    fn note_appended(&self, retry_id: Option<Uuid>, appended: &Appended) {
        let Some(command) = retry_id else { return };
        let mut seen = self.seen();
        seen.refused.remove(&command);
        seen.appended.insert(command, appended.clone());
    }

    fn refused_before(&self, command: Uuid) -> bool {
        self.seen().refused.contains(&command)
    }

    fn note_refused(&self, command: Uuid) {
        self.seen().refused.insert(command);
    }

    /// The command's outcome once the index has caught up with `position`.
    async fn indexed_outcome(
        &self,
        command: Uuid,
        position: u64,
    ) -> Result<Option<Appended>, LogError> {
        index::lookup(
            &self.commands,
            &self.names,
            &self.indexed,
            position,
            command,
        )
        .await
    }
}

impl Drop for JetStreamEventLog {
    fn drop(&mut self) {
        self.indexer.abort();
    }
}

/// Both streams keep everything, on disk, with direct gets; the events stream takes atomic
/// batches and acknowledges after the server's sync, the command index (a projection of the
/// events, rebuilt from its own checkpoint) acknowledges before it.
async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
    subjects: Vec<String>,
    replicas: usize,
    persist: stream::PersistenceMode,
) -> Result<stream::Stream, LogError> {
    let config = stream::Config {
        name: name.to_owned(),
        subjects,
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        num_replicas: replicas,
        allow_direct: true,
        allow_atomic_publish: persist == stream::PersistenceMode::Default,
        persist_mode: Some(persist),
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| unavailable(&format!("opening JetStream stream {name}"), e))
}

pub(super) fn unavailable(what: &str, error: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(format!("{what}: {error}"))
}

#[async_trait]
impl EventLog for JetStreamEventLog {
    async fn append(&self, batch: AppendBatch) -> Result<Appended, LogError> {
        self.connected()?;
        let _queued = self.appending.lock(&batch.stream).await;
        self.append_batch(batch).await
    }

    async fn append_all(&self, batches: Vec<AppendBatch>) -> Result<Vec<Appended>, LogError> {
        self.connected()?;
        // Locks taken in one order, so two such appends cannot wait on each other.
        let mut streams: Vec<&str> = batches.iter().map(|b| b.stream.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut queued = Vec::with_capacity(streams.len());
        for stream in streams {
            queued.push(self.appending.lock(stream).await);
        }
        self.append_batches(batches).await
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>, LogError> {
        let Ok(subject) = self.names.subject(stream) else {
            return Ok(Vec::new());
        };
        let tip = self.fetch_tip(&subject).await?;
        if tip.sequence == 0 {
            return Ok(Vec::new());
        }
        let stored =
            read::range(&self.client, &self.names.events, &subject, 1, tip.sequence).await?;
        self.remember(stream, tip);
        stored
            .iter()
            .map(|raw| wire::decode(&raw.payload, raw.sequence))
            .collect()
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let head = self.head().await?;
        if limit == 0 || after >= head {
            return Ok(Vec::new());
        }
        let last = head.min(after.saturating_add(limit as u64));
        let (from, filter) = (after + 1, self.names.all_events());
        let stored = if last + 1 - from >= read::SCAN_FROM {
            read::scan(&self.events, &filter, from, last).await?
        } else {
            read::range(&self.client, &self.names.events, &filter, from, last).await?
        };
        stored
            .iter()
            .map(|raw| wire::decode(&raw.payload, raw.sequence))
            .collect()
    }

    async fn find_command(&self, command_id: Uuid) -> Result<Option<Appended>, LogError> {
        let head = self.head().await?;
        self.indexed_outcome(command_id, head).await
    }

    async fn head(&self) -> Result<u64, LogError> {
        let info = self
            .events
            .get_info()
            .await
            .map_err(|e| unavailable("event stream info", e))?;
        Ok(info.state.last_sequence)
    }

    async fn subscribe(&self, after: u64) -> Result<Box<dyn EventSubscription>, LogError> {
        Ok(Box::new(JetStreamSubscription {
            events: self.events.clone(),
            filter: self.names.all_events(),
            next: after + 1,
            messages: None,
            reconnected: self.reconnected.clone(),
        }))
    }
}
