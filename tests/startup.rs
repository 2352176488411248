//! A node with a long history to catch up answers on its HTTP port at once: `/health` 200,
//! `/ready` and the API 503, until its projections have caught up.

mod process;

use std::time::{Duration, Instant};

use commands::event_log::FjallEventLog;
use domain::Event;
use domain::envelope::PendingEvent;
use domain::event::SCHEMA_VERSION;
use domain::ids::{ChannelId, UserId};
use domain::ports::event_log::{AppendBatch, EventLog};
use process::ferroflux;
use uuid::Uuid;

/// Enough that a debug build needs a noticeable moment to catch up.
const CHANNELS: usize = 40_000;

/// Writes `CHANNELS` channel creations straight into the data dir's fjall log.
async fn long_history(data_dir: &std::path::Path) {
    let log = FjallEventLog::open(&data_dir.join("events")).expect("open the log");
    let owner = UserId(Uuid::new_v4());
    let appends = (0..CHANNELS).map(|_| {
        let event = Event::ChannelCreated {
            id: ChannelId(Uuid::new_v4()),
            owner,
            name: None,
            metadata: None,
        };
        let id = match &event {
            Event::ChannelCreated { id, .. } => *id,
            _ => unreachable!("a channel creation"),
        };
        AppendBatch {
            stream: id.stream(),
            expected_version: 0,
            command_id: Uuid::new_v4(),
            retryable: false,
            events: vec![PendingEvent {
                id: Uuid::now_v7(),
                kind: event.kind().to_owned(),
                schema: SCHEMA_VERSION,
                occurred_at: time::OffsetDateTime::now_utc(),
                actor: None,
                correlation_id: Uuid::new_v4(),
                data: event.data(),
            }],
        }
    });
    let log = &log;
    futures::future::join_all(
        appends.map(|batch| async move { log.append(batch).await.expect("append") }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_catching_up_the_port_answers_health_but_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    long_history(dir.path()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = ferroflux(dir.path())
        .env("FF_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://127.0.0.1:{port}{path}")).send();
    let started = Instant::now();
    let (mut seen_not_ready, mut api_refused, mut ready) = (false, false, false);
    while started.elapsed() < Duration::from_secs(60) {
        let Ok(answer) = get("/ready").await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        if answer.status() == 200 {
            ready = true;
            break;
        }
        assert_eq!(answer.status(), 503);
        seen_not_ready = true;
        assert_eq!(get("/health").await.expect("health").status(), 200);
        // The switch to the real API may come between two requests: 401 (no token) then.
        match get("/channels").await.expect("api").status().as_u16() {
            503 => api_refused = true,
            401 => {}
            other => panic!("the API answered {other} while catching up"),
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        seen_not_ready,
        "the port answered only once caught up ({CHANNELS} events)"
    );
    assert!(api_refused, "the API never answered 503 while catching up");
    assert!(ready, "never caught up");
}
