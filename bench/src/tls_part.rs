//! The `tls` part: MQTTS against Mosquitto's TLS listener, both serving the same certificate
//! to the same client (TLS 1.3, AES-128-GCM, P-256 ECDSA): fan-in per server-CPU-second,
//! full handshakes per server-CPU-second, and memory per idle TLS connection.

use anyhow::{Context, ensure};

use crate::mqtt_brokers::Broker;
use crate::mqtt_fanin::Receivers;
use crate::{Args, mqtt_fanin, mqtt_idle, mqtt_tls, stats};

const BROKERS: [Broker; 2] = [Broker::FerrofluxTls, Broker::MosquittoTls];

pub async fn run(args: &Args) -> anyhow::Result<()> {
    fan_in(args).await?;
    handshakes(args).await?;
    idle(args).await
}

async fn fan_in(args: &Args) -> anyhow::Result<()> {
    println!(
        "MQTTS fan-in: {} publishers → 1 subscriber over TLS 1.3 (AES-128-GCM), otherwise as the \
         plain MQTT fan-in; ferroflux ends TLS in process and relays to its broker over loopback",
        args.publishers
    );
    for qos in [0u8, 1] {
        let mut ratios = Vec::new();
        for round in 1..=args.rounds {
            let mut points = Vec::new();
            for broker in BROKERS {
                let point =
                    mqtt_fanin::run(broker, qos, args.publishers, Receivers::One, args.messages)
                        .await?;
                let t = &point.tally;
                println!(
                    "round {round} QoS {qos} {:<13}: {:>7.0} msg/s, {:>7.0} delivered/server-CPU-s, server busy {:>3.0} %, loss {} of {}, duplicates {}",
                    broker.name(),
                    point.rate,
                    point.per_cpu_second,
                    point.busy * 100.0,
                    t.loss(),
                    t.expected,
                    t.duplicates
                );
                mqtt_fanin::check(&point, broker, qos, args.smoke)?;
                points.push(point);
            }
            ratios.push(points[0].per_cpu_second / points[1].per_cpu_second);
        }
        println!(
            "MQTTS fan-in QoS {qos}, ferroflux vs Mosquitto per server-CPU-second: {}",
            stats::ratio_summary(&ratios)
        );
    }
    Ok(())
}

async fn handshakes(args: &Args) -> anyhow::Result<()> {
    let (count, parallel) = if args.smoke { (40, 4) } else { (2_000, 16) };
    println!(
        "TLS handshakes: {count} full handshakes (no resumption) from {parallel} clients, each \
         followed by MQTT CONNECT/CONNACK and a close"
    );
    let mut ratios = Vec::new();
    for round in 1..=args.rounds {
        let mut rates = Vec::new();
        for broker in BROKERS {
            let running = broker.start().await?;
            let rate = mqtt_tls::handshakes(&running, count, parallel).await?;
            println!(
                "round {round} {:<13}: {:>6.0} handshakes/s, {:>6.0} per server-CPU-s",
                broker.name(),
                rate.per_second,
                rate.per_cpu_second
            );
            rates.push(rate.per_cpu_second);
        }
        ratios.push(rates[0] / rates[1]);
    }
    println!(
        "TLS handshakes per server-CPU-second, ferroflux vs Mosquitto: {}",
        stats::ratio_summary(&ratios)
    );
    Ok(())
}

async fn idle(args: &Args) -> anyhow::Result<()> {
    let connections = (args.idle / 2).max(100);
    mqtt_idle::raise_nofile(2 * connections as u64 + 1_000)?;
    println!(
        "MQTTS idle connections: {connections} TLS sessions, broker VmRSS growth per connection"
    );
    let mut kib = Vec::new();
    for broker in BROKERS {
        let idle = mqtt_idle::measure(broker, connections)
            .await
            .with_context(|| format!("{} idle connections", broker.name()))?;
        println!(
            "{:<13}: {:.2} KiB per idle TLS connection ({} of {connections} still open)",
            broker.name(),
            idle.kib_per_connection,
            idle.open
        );
        ensure!(
            idle.open == connections,
            "{} closed idle sessions",
            broker.name()
        );
        kib.push(idle.kib_per_connection);
    }
    println!(
        "ferroflux − Mosquitto: {:+.2} KiB per idle TLS connection",
        kib[0] - kib[1]
    );
    Ok(())
}
