//! Durability under `kill -9`: every append acknowledged before the kill is there after a
//! restart, at its position, and the log goes on; for fjall and for JetStream.
//!
//! The child process is this test binary run again with `FF_KILL9_CHILD_DIR` (fjall) or
//! `FF_KILL9_CHILD_NATS` (`<url> <prefix>`) set and filtered to `kill9_child`; it prints one
//! `ack <stream> <version> <position> <event id>` line per event, only after `append`
//! returned. The parent SIGKILLs it after a random number of acks (for JetStream, then the
//! test's own nats-server as well, and restarts it), reads what was printed before death,
//! reopens the log and checks.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commands::event_log::contract::{append_retrying, read_all};
use commands::event_log::{FjallEventLog, JetStreamEventLog, JetStreamOptions};
use commands::test_services::PrivateNats;
use domain::ports::event_log::{EventLog, LogError};
use uuid::Uuid;

const CHILD_DIR: &str = "FF_KILL9_CHILD_DIR";
const CHILD_NATS: &str = "FF_KILL9_CHILD_NATS";
const ROUNDS: usize = 5;
const WRITERS: u64 = 16;

/// What the child reported for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    stream: String,
    version: u64,
    id: Uuid,
}

/// Where the log under test lives.
#[derive(Debug, Clone)]
enum Backend {
    Fjall(PathBuf),
    /// A nats-server URL and the log's prefix.
    Nats(String, String),
}

impl Backend {
    async fn open(&self) -> Arc<dyn EventLog> {
        match self {
            Backend::Fjall(dir) => Arc::new(FjallEventLog::open(dir).expect("open the fjall log")),
            Backend::Nats(url, prefix) => {
                let options = JetStreamOptions {
                    prefix: prefix.clone(),
                    replicas: 1,
                };
                Arc::new(
                    JetStreamEventLog::connect(url, options)
                        .await
                        .expect("open the JetStream log"),
                )
            }
        }
    }

    fn child_env(&self) -> (&'static str, String) {
        match self {
            Backend::Fjall(dir) => (CHILD_DIR, dir.display().to_string()),
            Backend::Nats(url, prefix) => (CHILD_NATS, format!("{url} {prefix}")),
        }
    }
}

/// The child's body; a no-op when run as an ordinary test (the env vars are unset).
#[test]
fn kill9_child() {
    let backend = if let Some(dir) = std::env::var_os(CHILD_DIR) {
        Backend::Fjall(dir.into())
    } else if let Ok(nats) = std::env::var(CHILD_NATS) {
        let (url, prefix) = nats.split_once(' ').expect("url and prefix");
        Backend::Nats(url.to_owned(), prefix.to_owned())
    } else {
        return;
    };
    runtime().block_on(append_until_killed(&backend));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn append_until_killed(backend: &Backend) {
    let log = backend.open().await;
    let stdout = Arc::new(Mutex::new(std::io::stdout()));
    // libtest has printed "test kill9_child ... " without a newline: end that line.
    writeln!(stdout.lock().expect("stdout"), "\nchild ready").expect("stdout");
    let writers: Vec<_> = (0..WRITERS)
        .map(|task| {
            let (log, stdout) = (Arc::clone(&log), Arc::clone(&stdout));
            tokio::spawn(async move {
                for round in 0u64..1_000_000 {
                    let stream = match round % 3 {
                        0 => format!("shared-{}", round % 4),
                        _ => format!("thing-{task}"),
                    };
                    let (appended, sent) = append_retrying(&*log, &stream, 1 + round % 3).await;
                    let mut out = stdout.lock().expect("stdout");
                    let first_version = appended.version + 1 - sent.events.len() as u64;
                    for (i, event) in (0u64..).zip(&sent.events) {
                        let (version, position) = (first_version + i, appended.first_position + i);
                        writeln!(out, "ack {stream} {version} {position} {}", event.id)
                            .expect("stdout");
                    }
                    out.flush().expect("stdout");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
}

fn parse_ack(line: &str) -> Option<(u64, Ack)> {
    let mut words = line.strip_prefix("ack ")?.split(' ');
    let stream = words.next()?.to_owned();
    let version = words.next()?.parse().ok()?;
    let position = words.next()?.parse().ok()?;
    let id = words.next()?.parse().ok()?;
    Some((
        position,
        Ack {
            stream,
            version,
            id,
        },
    ))
}

/// Runs one child until `kills_after` acks, SIGKILLs it, and returns every ack it printed.
fn run_child_and_kill(backend: &Backend, kills_after: usize) -> Vec<(u64, Ack)> {
    let (var, value) = backend.child_env();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "kill9_child", "--nocapture", "--test-threads=1"])
        .env(var, value)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    let mut acks = Vec::new();
    while acks.len() < kills_after {
        let line = lines
            .next()
            .expect("child exited before the kill")
            .expect("read");
        if let (Backend::Fjall(dir), "child ready") = (backend, line.as_str()) {
            // While the child holds the directory, nobody else may open it.
            let second = FjallEventLog::open(dir).map(|_| ());
            assert!(
                matches!(second, Err(LogError::Unavailable(_))),
                "{second:?}"
            );
        }
        acks.extend(parse_ack(&line));
    }
    child.kill().expect("kill -9");
    // Lines already in the pipe were printed after their acks: they count too.
    acks.extend(
        lines
            .map_while(Result::ok)
            .filter_map(|line| parse_ack(&line)),
    );
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9), "the child died of SIGKILL");
    acks
}

/// Reopens the log and checks it against every ack so far; appends one more (recorded).
async fn verify(backend: &Backend, acked: &mut BTreeMap<u64, Ack>) {
    let log = backend.open().await;
    let head = log.head().await.expect("head");
    let events = read_all(&*log).await;
    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        (1..=head).collect::<Vec<_>>(),
        "positions dense 1..=head"
    );

    for (position, ack) in acked.iter() {
        let event = usize::try_from(*position - 1)
            .ok()
            .and_then(|i| events.get(i))
            .unwrap_or_else(|| panic!("acked position {position} lost (head {head})"));
        let stored = Ack {
            stream: event.stream.clone(),
            version: event.version,
            id: event.id,
        };
        assert_eq!(&stored, ack, "acked event at position {position}");
    }
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &events {
        let version = versions.entry(&event.stream).or_default();
        *version += 1;
        assert_eq!(
            event.version, *version,
            "versions of {} dense",
            event.stream
        );
    }

    let (appended, sent) = append_retrying(&*log, "after-restart", 1).await;
    assert_eq!(
        appended.first_position,
        head + 1,
        "appends continue at head + 1"
    );
    let ack = Ack {
        stream: appended.stream.clone(),
        version: appended.version,
        id: sent.events[0].id,
    };
    acked.insert(appended.first_position, ack);
}

#[test]
fn kill9_keeps_every_acknowledged_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::Fjall(dir.path().to_owned());
    kill_rounds(&backend, || {});
}

/// JetStream: the child is killed, then the nats-server it talked to (its own, in a
/// temporary directory, `sync_interval: always`), which is started again for the check.
#[test]
fn kill9_keeps_every_acknowledged_append_on_jetstream() {
    let server = PrivateNats::start();
    let backend = Backend::Nats(server.url(), "kill9".into());
    let server = std::cell::RefCell::new(server);
    kill_rounds(&backend, || server.borrow_mut().kill_and_restart());
}

fn kill_rounds(backend: &Backend, mut after_kill: impl FnMut()) {
    let started = Instant::now();
    let runtime = runtime();
    let mut acked = BTreeMap::new();
    for round in 0..ROUNDS {
        let kills_after = rand::random_range(200..2000);
        for (position, ack) in run_child_and_kill(backend, kills_after) {
            let earlier = acked.insert(position, ack.clone());
            assert!(earlier.is_none(), "position {position} acked twice");
        }
        after_kill();
        runtime.block_on(verify(backend, &mut acked));
        eprintln!(
            "round {round}: killed after {kills_after} acks, {} acked in all, {:?}",
            acked.len(),
            started.elapsed()
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}
