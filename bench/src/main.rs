//! Benchmarks (method: `../shared/BENCHMARKS.md`). Run pinned: `taskset -c 1
//! target/release/ferroflux-bench`; every server under test is started on core 0.
//!
//! Each round measures ours and the peer back to back, and reports the median of the
//! per-round ratios with min–max. Parts (`--only provisioning,http,mqtt`, all by default):
//! - provisioning: thing.create through the command layer and HTTP vs raw fjall single
//!   durable appends and raw group commit (`fjall` alone), the same on JetStream (`jetstream`
//!   alone), then replay speed into the in-memory projections;
//! - http: HTTP publish vs a bare axum handler;
//! - mqtt: fan-in vs Mosquitto at QoS 0 and 1, shared-subscription fan-out to 8 members,
//!   then memory per idle connection;
//! - tls: the same over TLS (MQTTS vs Mosquitto with the same certificate), and handshakes;
//! - views: replay speed into the PostgreSQL query views (`FF_VIEWS`);
//! - coap: CoAP publish, NON and CON, vs libcoap's `coap-server-notls` as a sink.
//! - bootstrap: device fetches vs `GET /things/{id}` on the same server, per CPU-second;
//! - provision: `ferroflux provision --from` 10,000 devices, wall time and events/s.
//! - telemetry: HTTP publish until stored in PostgreSQL (`FF_TELEMETRY`) vs `COPY`.
//!
//! `--smoke` runs tiny counts and checks correctness only (CI), never speed.

mod bootstrap;
mod coap;
mod history;
mod http_load;
mod http_publish;
mod jetstream_peer;
mod jetstream_read;
mod mqtt_brokers;
mod mqtt_fanin;
mod mqtt_idle;
mod mqtt_tls;
mod mqtt_wire;
mod peer;
mod propagation;
mod provision_cli;
mod provisioning;
mod provisioning_parts;
mod replay_jetstream;
mod replay_postgres;
mod replay_speed;
mod server;
mod stats;
mod store_probe;
mod telemetry_postgres;
mod tls_part;

/// The server binary's allocator, so in-process figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::ensure;

use crate::mqtt_brokers::Broker;
use crate::mqtt_fanin::Receivers;

pub(crate) struct Args {
    pub smoke: bool,
    only: Vec<String>,
    events: u64,
    concurrency: usize,
    pub rounds: usize,
    pub publishers: u32,
    pub messages: u64,
    pub idle: usize,
    /// The QoS levels of the MQTT fan-in part.
    qos: Vec<u8>,
}

const PARTS: [&str; 12] = [
    "provisioning",
    "fjall",
    "http",
    "mqtt",
    "tls",
    "views",
    "coap",
    "bootstrap",
    "provision",
    "jetstream",
    "history",
    "telemetry",
];
const USAGE: &str = "--smoke, --only PART[,PART] (provisioning, fjall: the fjall rows of provisioning alone, http, mqtt, tls, views, coap, bootstrap, provision, jetstream: the JetStream rows of provisioning alone, history, telemetry: PostgreSQL telemetry), --events N, \
    --concurrency C, --rounds R, --publishers P, --messages M (per publisher), --idle N, --qos Q[,Q] (MQTT fan-in: 0,1,2)";

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        smoke: false,
        only: PARTS.map(String::from).to_vec(),
        events: 20_000,
        concurrency: 256,
        rounds: 5,
        publishers: 8,
        messages: 50_000,
        idle: 10_000,
        qos: vec![0, 1, 2],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--smoke" => args.smoke = true,
            "--only" => args.only = value()?.split(',').map(String::from).collect(),
            "--events" => args.events = value()?.parse()?,
            "--concurrency" => args.concurrency = value()?.parse()?,
            "--rounds" => args.rounds = value()?.parse()?,
            "--publishers" => args.publishers = value()?.parse()?,
            "--messages" => args.messages = value()?.parse()?,
            "--idle" => args.idle = value()?.parse()?,
            "--qos" => {
                args.qos = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            other => anyhow::bail!("unknown flag {other} ({USAGE})"),
        }
    }
    if args.smoke {
        (args.events, args.concurrency, args.rounds) = (300, 16, 1);
        (args.publishers, args.messages, args.idle) = (2, 200, 200);
    }
    ensure!(
        args.only.iter().all(|p| PARTS.contains(&p.as_str())),
        "--only takes {PARTS:?}"
    );
    ensure!(
        args.events > 0 && args.concurrency > 0 && args.rounds > 0,
        "counts must be positive"
    );
    ensure!(
        args.publishers > 0 && args.messages > 0 && args.idle > 0,
        "counts must be positive"
    );
    ensure!(args.qos.iter().all(|&q| q <= 2), "--qos takes 0, 1 and 2");
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--serve-bare") {
        return http_publish::serve_bare().await;
    }
    let args = args()?;
    if args.smoke {
        println!("smoke: correctness only, tiny counts, no speed asserted");
    }
    let part = |name: &str| args.only.iter().any(|p| p == name);
    if part("provisioning") {
        provisioning_parts::provisioning_part(&args).await?;
    }
    if part("fjall") && !part("provisioning") {
        provisioning_parts::fjall_part(&args).await?;
    }
    if part("jetstream") && !part("provisioning") {
        provisioning_parts::jetstream_part(&args).await?;
    }
    if part("http") {
        http_part(&args).await?;
    }
    if part("mqtt") {
        mqtt_fanin_part(&args).await?;
        mqtt_shared_part(&args).await?;
        mqtt_idle_part(&args).await?;
    }
    if part("tls") {
        tls_part::run(&args).await?;
    }
    if part("views") {
        let events = args.events.max(10_000) * if args.smoke { 1 } else { 5 };
        println!("{}", replay_postgres::measure(events).await?);
        let from_jetstream = if args.smoke { 2_000 } else { 30_000 };
        println!("{}", replay_jetstream::measure(from_jetstream).await?);
    }
    if part("bootstrap") {
        let requests = args.events * if args.smoke { 1 } else { 5 };
        bootstrap::part(requests, args.concurrency, args.rounds, args.smoke).await?;
    }
    if part("provision") {
        let devices = if args.smoke { 200 } else { 10_000 };
        provision_cli::part(devices, 32).await?;
    }
    if part("history") {
        let events = if args.smoke { 500 } else { 10_000 };
        history::part(events, args.rounds).await?;
    }
    if part("coap") {
        let requests = args.events * if args.smoke { 1 } else { 5 };
        coap::part(requests, args.rounds, args.smoke).await?;
    }
    if part("telemetry") {
        let concurrency = args.concurrency.min(64);
        telemetry_postgres::part(args.events, concurrency, args.rounds).await?;
    }
    println!("smoke: 1 passed, 0 failed");
    Ok(())
}

async fn http_part(args: &Args) -> anyhow::Result<()> {
    let concurrency = args.concurrency.min(64);
    println!(
        "HTTP publish: {} requests (+10 % warm-up, not timed) over {concurrency} keep-alive \
         connections, one request in flight on each, ~90 B JSON bodies, {} rounds. bare axum: \
         a handler that only answers 202; ferroflux: key check, authorization, bus, messaging \
         only (FF_NO_STORE, as Mainflux's HTTP adapter); ferroflux+store: the same while its \
         writer stores every message (fjall, page cache only), CPU counted until all are stored.",
        args.events, args.rounds
    );
    let (mut messaging, mut storing) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let bare = http_publish::bare(args.events, concurrency).await?;
        let ours = http_publish::ferroflux(args.events, concurrency, false).await?;
        let stored = http_publish::ferroflux(args.events, concurrency, true).await?;
        let line = |name: &str, run: &http_publish::Run| {
            let read_back = run.read_back.map_or(String::new(), |(counted, walked)| {
                format!(
                    ", a page with the total read back in {:.1} ms ({:.1} ms with a time filter)",
                    counted.as_secs_f64() * 1e3,
                    walked.as_secs_f64() * 1e3
                )
            });
            format!(
                "{name} {:>7.0}/s ({:>7.0}/server-CPU-s){read_back}",
                run.requests_per_second, run.per_cpu_second
            )
        };
        println!(
            "round {round}: {} | {} | {}",
            line("bare axum", &bare),
            line("ferroflux", &ours),
            line("ferroflux+store", &stored)
        );
        messaging.push(ours.per_cpu_second / bare.per_cpu_second);
        storing.push(stored.per_cpu_second / bare.per_cpu_second);
    }
    println!(
        "HTTP publish per server-CPU-second vs bare axum: messaging only {}; storing every message {}",
        stats::ratio_summary(&messaging),
        stats::ratio_summary(&storing)
    );
    Ok(())
}

async fn mqtt_fanin_part(args: &Args) -> anyhow::Result<()> {
    println!(
        "MQTT fan-in: {} publishers → 1 subscriber, {} B payloads, {} messages per publisher \
         (+10 % warm-up, not timed), {} rounds; generator TCP_NODELAY on (Nagle off), brokers at \
         their default (Nagle on). Mosquitto: anonymous, no ACL, max_queued_messages 1000000, \
         max_inflight_messages 0; ferroflux: authenticates every CONNECT, authorizes every \
         PUBLISH, messaging only (FF_NO_STORE), FF_MQTT_MAX_QUEUE 1000000, FF_MQTT_MAX_QUEUE_BYTES 1 GiB, \
         FF_MQTT_MAX_INFLIGHT 65535; ferroflux+store (last round only): the same while its \
         telemetry writer stores what it keeps up with (the bus drops it, counted, when it \
         falls behind) and its CPU is counted until the store settled.",
        args.publishers,
        mqtt_fanin::PAYLOAD,
        args.messages,
        args.rounds
    );
    for &qos in &args.qos {
        let (mut ratios, mut accepted) = (Vec::new(), Vec::new());
        for round in 1..=args.rounds {
            let mut points = Vec::new();
            // The last round also runs ferroflux with its store, once: what storing costs.
            let storing = (round == args.rounds).then_some(Broker::FerrofluxStoring);
            let brokers = [Broker::Ferroflux, Broker::Mosquitto]
                .into_iter()
                .chain(storing);
            for broker in brokers {
                let point =
                    mqtt_fanin::run(broker, qos, args.publishers, Receivers::One, args.messages)
                        .await?;
                let t = &point.tally;
                println!(
                    "round {round} QoS {qos} {:<15}: {:>7.0} msg/s, {:>7.0} delivered and {:>7.0} accepted /server-CPU-s, server busy {:>3.0} %, loss {} of {}, reordered {}, duplicates {}{}",
                    broker.name(),
                    point.rate,
                    point.per_cpu_second,
                    point.accepted_per_cpu_second,
                    point.busy * 100.0,
                    t.loss(),
                    t.expected,
                    t.reordered,
                    t.duplicates,
                    point
                        .stored
                        .map_or(String::new(), |n| format!(", stored {n} of {}", t.expected))
                );
                mqtt_fanin::check(&point, broker, qos, args.smoke)?;
                points.push(point);
            }
            ratios.push(points[0].per_cpu_second / points[1].per_cpu_second);
            accepted.push(points[0].accepted_per_cpu_second / points[1].accepted_per_cpu_second);
        }
        println!(
            "MQTT fan-in QoS {qos}, ferroflux vs Mosquitto per server-CPU-second: delivered {}; accepted {}",
            stats::ratio_summary(&ratios),
            stats::ratio_summary(&accepted)
        );
    }
    Ok(())
}

/// Shared-subscription fan-out: the fan-in's publishers → the members of one
/// `$share/bench/…` subscription, QoS 1; every message must reach exactly one member.
async fn mqtt_shared_part(args: &Args) -> anyhow::Result<()> {
    const MEMBERS: u32 = 8;
    println!(
        "MQTT shared fan-out: {} publishers → {MEMBERS} members of $share/bench/<topic>, QoS 1, \
         {} B payloads, {} messages per publisher, {} rounds, brokers as for the fan-in",
        args.publishers,
        mqtt_fanin::PAYLOAD,
        args.messages,
        args.rounds
    );
    let mut ratios = Vec::new();
    for round in 1..=args.rounds {
        let mut rates = Vec::new();
        for broker in [Broker::Ferroflux, Broker::Mosquitto] {
            let shared = Receivers::Shared(MEMBERS);
            let point = mqtt_fanin::run(broker, 1, args.publishers, shared, args.messages).await?;
            let t = &point.tally;
            println!(
                "round {round} shared {:<9}: {:>7.0} msg/s, {:>7.0} delivered /server-CPU-s, server busy {:>3.0} %, loss {} of {}, delivered twice {}",
                broker.name(),
                point.rate,
                point.per_cpu_second,
                point.busy * 100.0,
                t.loss(),
                t.expected,
                t.duplicates
            );
            mqtt_fanin::check(&point, broker, 1, args.smoke)?;
            rates.push(point.per_cpu_second);
        }
        ratios.push(rates[0] / rates[1]);
    }
    println!(
        "MQTT shared fan-out to {MEMBERS} members, ferroflux vs Mosquitto per server-CPU-second: {}",
        stats::ratio_summary(&ratios)
    );
    Ok(())
}

async fn mqtt_idle_part(args: &Args) -> anyhow::Result<()> {
    let limit = mqtt_idle::raise_nofile(args.idle as u64 + 1_000)?;
    println!(
        "MQTT idle connections: {} sessions (CONNECT, CONNACK, keep-alive 600 s), broker VmRSS \
         growth per connection (open-file limit {limit})",
        args.idle
    );
    let mut kib = Vec::new();
    for broker in [Broker::Ferroflux, Broker::Mosquitto] {
        let idle = mqtt_idle::measure(broker, args.idle).await?;
        println!(
            "{:<9}: {:.2} KiB per idle connection ({} of {} still open)",
            broker.name(),
            idle.kib_per_connection,
            idle.open,
            args.idle
        );
        ensure!(
            idle.open == args.idle,
            "{} closed idle sessions",
            broker.name()
        );
        kib.push(idle.kib_per_connection);
    }
    println!(
        "ferroflux − Mosquitto: {:+.2} KiB per idle connection (target ≤ +1 KiB: {})",
        kib[0] - kib[1],
        match (args.smoke, kib[0] - kib[1] <= 1.0) {
            // A few hundred connections sit within one page's noise of the answer.
            (true, _) => "not judged in a smoke run",
            (false, true) => "met",
            (false, false) => "not met",
        }
    );
    Ok(())
}
