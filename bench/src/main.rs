//! Provisioning benchmarks (method: `../shared/BENCHMARKS.md`).
//!
//! Each round measures the peer (raw fjall, one fsync per append) and ours (thing.create
//! through the command layer, then through HTTP) back to back, and reports the median of the
//! per-round ratios with min–max. Then replay speed into the in-memory projections.
//! `--smoke` runs tiny counts and checks correctness only (CI), never speed.

mod http_publish;
mod peer;
mod provisioning;
mod replay_speed;
mod stats;

use anyhow::ensure;

struct Args {
    smoke: bool,
    events: u64,
    concurrency: usize,
    rounds: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        smoke: false,
        events: 20_000,
        concurrency: 256,
        rounds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--smoke" => args.smoke = true,
            "--events" => args.events = value()?.parse()?,
            "--concurrency" => args.concurrency = value()?.parse()?,
            "--rounds" => args.rounds = value()?.parse()?,
            other => anyhow::bail!(
                "unknown flag {other} (--smoke, --events N, --concurrency C, --rounds R)"
            ),
        }
    }
    if args.smoke {
        args = Args {
            smoke: true,
            events: 300,
            concurrency: 16,
            rounds: 1,
        };
    }
    ensure!(
        args.events > 0 && args.concurrency > 0 && args.rounds > 0,
        "counts must be positive"
    );
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--serve-bare") {
        return http_publish::serve_bare().await;
    }
    let args = args()?;
    println!(
        "ferroflux provisioning bench: {} thing.create per run, {} in flight, {} rounds{}",
        args.events,
        args.concurrency,
        args.rounds,
        if args.smoke {
            " (smoke: correctness only)"
        } else {
            ""
        }
    );
    println!("durability: every figure is fsync (fdatasync) before acknowledgement");
    let peer_events = (args.events / 10).max(100);
    let mut ratios_cmd = Vec::new();
    let mut ratios_http = Vec::new();
    for round in 1..=args.rounds {
        let peer = peer::raw_fjall_durable_single(peer_events)?;
        let cmd = provisioning::through_commands(args.events, args.concurrency).await?;
        let http = provisioning::through_http(args.events, args.concurrency).await?;
        println!(
            "round {round}: raw fjall {peer:>9.0}/s | command layer {cmd:>9.0}/s | HTTP {http:>9.0}/s"
        );
        ratios_cmd.push(cmd / peer);
        ratios_http.push(http / peer);
    }
    println!(
        "command layer vs raw fjall single durable appends: {}",
        stats::ratio_summary(&ratios_cmd)
    );
    println!(
        "HTTP          vs raw fjall single durable appends: {}",
        stats::ratio_summary(&ratios_http)
    );
    let replay =
        replay_speed::measure(args.events.max(10_000) * if args.smoke { 1 } else { 5 }).await?;
    println!("{replay}");
    let mut ratios_publish = Vec::new();
    for round in 1..=args.rounds {
        let bare = http_publish::bare(args.events, args.concurrency.min(64)).await?;
        let ours = http_publish::ferroflux(args.events, args.concurrency.min(64)).await?;
        println!(
            "round {round}: HTTP publish, bare axum {:>7.0}/s ({:>7.0}/server-CPU-s) | ferroflux {:>7.0}/s ({:>7.0}/server-CPU-s, all stored)",
            bare.requests_per_second,
            bare.per_cpu_second,
            ours.requests_per_second,
            ours.per_cpu_second
        );
        ratios_publish.push(ours.per_cpu_second / bare.per_cpu_second);
    }
    println!(
        "HTTP publish per server-CPU-second vs bare axum: {}",
        stats::ratio_summary(&ratios_publish)
    );
    println!("smoke: 1 passed, 0 failed");
    Ok(())
}
