//! The JetStream read peer for replay: how fast this machine's nats-server hands a stream's
//! messages (event-sized, with our headers) to one client, read the two ways the log can:
//! a consumer streaming them, and direct-get batches of 1000.

use std::time::Instant;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::{self, stream};
use futures::StreamExt;

pub struct RawReads {
    pub consumer: f64,
    pub direct_batches: f64,
}

pub async fn raw_reads(events: u64) -> anyhow::Result<RawReads> {
    let client = async_nats::connect(commands::test_services::nats_url()).await?;
    let name = format!("READ{}", uuid::Uuid::new_v4().simple());
    let js = jetstream::new(client.clone());
    let peer = js
        .create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            allow_direct: true,
            ..Default::default()
        })
        .await?;
    fill(&js, &name, events).await?;
    let filter = format!("{name}.>");

    let started = Instant::now();
    let ordered = peer
        .create_consumer(pull::OrderedConfig {
            filter_subject: filter.clone(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await?;
    let mut messages = ordered.messages().await?;
    for _ in 0..events {
        let message = messages
            .next()
            .await
            .ok_or_else(|| anyhow::anyhow!("the consumer ended early"))??;
        std::hint::black_box(&message.payload);
    }
    let consumer = events as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let got = direct_batches(&client, &name, &filter, events).await?;
    let direct_batches = events as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(got == events, "direct gets returned {got} of {events}");
    js.delete_stream(&name).await?;
    Ok(RawReads {
        consumer,
        direct_batches,
    })
}

/// `events` messages on subjects of their own, with our log's headers and an event's size;
/// setup, not measured.
async fn fill(js: &jetstream::Context, name: &str, events: u64) -> anyhow::Result<()> {
    let payload = bytes::Bytes::from(vec![b'x'; 600]);
    for chunk in (0..events).collect::<Vec<_>>().chunks(1000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for n in chunk {
            let mut headers = async_nats::HeaderMap::new();
            let command = uuid::Uuid::new_v4().simple().to_string();
            headers.insert("Ff-Command", command.as_str());
            headers.insert("Ff-Version", "1");
            headers.insert("Ff-Part", "1/1");
            let subject = format!("{name}.thing.{n}");
            let ack = js
                .publish_with_headers(subject, headers, payload.clone())
                .await?;
            acks.push(ack.into_future());
        }
        futures::future::try_join_all(acks).await?;
    }
    Ok(())
}

/// Every message by sequential direct-get batches of 1000.
async fn direct_batches(
    client: &async_nats::Client,
    stream: &str,
    filter: &str,
    events: u64,
) -> anyhow::Result<u64> {
    let mut got = 0;
    while got < events {
        let inbox = client.new_inbox();
        let mut replies = client.subscribe(inbox.clone()).await?;
        let request = serde_json::json!({ "seq": got + 1, "batch": (events - got).min(1000), "next_by_subj": filter });
        client
            .publish_with_reply(
                format!("$JS.API.DIRECT.GET.{stream}"),
                inbox,
                request.to_string().into(),
            )
            .await?;
        let before = got;
        while let Some(reply) = replies.next().await {
            if reply.status.is_some() {
                break;
            }
            std::hint::black_box(&reply.payload);
            got += 1;
        }
        anyhow::ensure!(got > before, "a direct-get batch returned nothing");
    }
    Ok(got)
}
