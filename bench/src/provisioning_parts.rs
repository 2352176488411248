//! The provisioning parts: durable thing.create on fjall and on JetStream against their raw
//! peers, then replay speed into the in-memory projections.

use crate::provisioning::{self, Log};
use crate::{Args, jetstream_peer, peer, propagation, replay_speed, stats};

pub async fn provisioning_part(args: &Args) -> anyhow::Result<()> {
    fjall_part(args).await?;
    jetstream_part(args).await?;
    let replay =
        replay_speed::measure(args.events.max(10_000) * if args.smoke { 1 } else { 5 }).await?;
    println!("{replay}");
    Ok(())
}

/// Durable thing.create on the embedded fjall log, against raw fjall appends.
pub async fn fjall_part(args: &Args) -> anyhow::Result<()> {
    println!(
        "provisioning: {} thing.create per run, {} in flight, {} rounds",
        args.events, args.concurrency, args.rounds
    );
    println!("durability: every figure is fsync (fdatasync) before acknowledgement");
    let peer_events = (args.events / 10).max(100);
    let mut ratios_cmd = Vec::new();
    let mut ratios_http = Vec::new();
    let mut ratios_grouped = Vec::new();
    for round in 1..=args.rounds {
        let peer = peer::raw_fjall_durable_single(peer_events)?;
        let grouped = peer::raw_fjall_group_commit(args.events, args.concurrency)?;
        let cmd = provisioning::through_commands(Log::Fjall, args.events, args.concurrency).await?;
        let http = provisioning::through_http(Log::Fjall, args.events, args.concurrency).await?;
        println!(
            "round {round}: raw fjall {peer:>9.0}/s | raw fjall group commit {grouped:>9.0}/s | \
             command layer {cmd:>9.0}/s | HTTP {:>9.0}/s ({:.0} µs CPU each)",
            http.rate, http.cpu_us
        );
        ratios_cmd.push(cmd / peer);
        ratios_http.push(http.rate / peer);
        ratios_grouped.push(http.rate / grouped);
    }
    println!(
        "command layer vs raw fjall single durable appends: {}",
        stats::ratio_summary(&ratios_cmd)
    );
    println!(
        "HTTP          vs raw fjall single durable appends: {}",
        stats::ratio_summary(&ratios_http)
    );
    println!(
        "HTTP          vs raw fjall group commit, {} producers: {}",
        args.concurrency,
        stats::ratio_summary(&ratios_grouped)
    );
    Ok(())
}

/// Durable thing.create on JetStream (`sync_interval: always`, the nats-server of
/// `scripts/services`) against raw JetStream publishes of the same size and headers.
pub async fn jetstream_part(args: &Args) -> anyhow::Result<()> {
    let events = (args.events / 4).max(200);
    println!(
        "provisioning on JetStream: {events} thing.create per run, {} in flight; durability: \
         nats-server sync_interval: always (fsync before every acknowledgement)",
        args.concurrency
    );
    let (mut ratios_cmd, mut ratios_http) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let peer = jetstream_peer::raw_publishes(events, args.concurrency).await?;
        let cmd = provisioning::through_commands(Log::JetStream, events, args.concurrency).await?;
        let http = provisioning::through_http(Log::JetStream, events, args.concurrency).await?;
        println!(
            "round {round}: raw JetStream {peer:>9.0}/s | command layer {cmd:>9.0}/s | HTTP {:>9.0}/s",
            http.rate
        );
        ratios_cmd.push(cmd / peer);
        ratios_http.push(http.rate / peer);
    }
    let propagation = propagation::measure(if args.smoke { 20 } else { 500 }).await?;
    println!(
        "cross-node propagation (created through node one until node two authenticates its key, \
         node one's command included): p50 {:?}, p99 {:?} over {} things",
        propagation.percentile(0.5),
        propagation.percentile(0.99),
        propagation.samples.len()
    );
    println!(
        "command layer vs raw JetStream publishes: {}",
        stats::ratio_summary(&ratios_cmd)
    );
    println!(
        "HTTP          vs raw JetStream publishes: {}",
        stats::ratio_summary(&ratios_http)
    );
    Ok(())
}
