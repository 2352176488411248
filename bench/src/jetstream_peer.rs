//! The JetStream peer: raw publishes, each on a subject of its own with the headers our log
//! sends (expected last subject sequence 0, command, version, part) and an event-sized
//! payload, `concurrency` in flight, each awaiting its acknowledgement.

use std::time::Instant;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};

pub async fn raw_publishes(events: u64, concurrency: usize) -> anyhow::Result<f64> {
    let client = async_nats::connect(commands::test_services::nats_url()).await?;
    let name = format!("PEER{}", uuid::Uuid::new_v4().simple());
    let js = jetstream::new(client.clone());
    let peer = js
        .create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            allow_direct: true,
            allow_atomic_publish: true,
            ..Default::default()
        })
        .await?;
    let payload = bytes::Bytes::from(vec![b'x'; 520]);
    let started = Instant::now();
    let workers = (0..concurrency as u64).map(|w| {
        let (client, name, payload) = (client.clone(), name.clone(), payload.clone());
        let share = events / concurrency as u64 + u64::from(w < events % concurrency as u64);
        tokio::spawn(async move {
            for n in 0..share {
                let mut headers = HeaderMap::new();
                headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
                headers.insert(
                    "Ff-Command",
                    uuid::Uuid::new_v4().simple().to_string().as_str(),
                );
                headers.insert("Ff-Version", "1");
                headers.insert("Ff-Part", "1/1");
                let subject = format!("{name}.thing.{w}-{n}");
                let reply = client
                    .request_with_headers(subject, headers, payload.clone())
                    .await?;
                anyhow::ensure!(!reply.payload.is_empty(), "empty publish acknowledgement");
            }
            anyhow::Ok(())
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker??;
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    let stored = peer.get_info().await?.state.messages;
    anyhow::ensure!(
        stored == events,
        "raw JetStream stored {stored} of {events}"
    );
    js.delete_stream(&name).await?;
    Ok(rate)
}
