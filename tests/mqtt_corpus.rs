//! Every case of Mosquitto's packet corpus against the real binary over TCP: all MQTT
//! 3.1.1 cases that must close the connection close it; the MQTT 5 and 3.1 cases run too,
//! with no crash, no hang and their pass count printed. The corpus is third-party material
//! kept outside the project (`FF_CONFORMANCE_DIR`, default `../shared/conformance`); where
//! it is absent the test says so in one line and passes.

mod mqtt_corpus_support;
mod process;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mqtt_corpus_support::corpus::{Case, Family};
use mqtt_corpus_support::mapping::{Action, Identity, plan};
use mqtt_corpus_support::{deviations, player, provision};
use process::Server;
use tokio::sync::Semaphore;

/// Cases played at once: most finish in milliseconds; one the broker leaves open costs a
/// full step timeout, so they overlap.
const PARALLEL: usize = 64;
/// A case that has not finished by then hangs (each of its steps is bounded far below).
const CASE_BOUND: Duration = Duration::from_secs(30);

/// How much the server may grow while the corpus plays (64 cases at a time).
const MEMORY_GROWTH: u64 = 64 * 1024 * 1024;

fn corpus_dir() -> PathBuf {
    std::env::var_os("FF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"))
        .join("mosquitto-corpus/test/broker/data")
}

struct Outcome {
    verdict: Result<(), String>,
    hung: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_corpus_every_malformed_packet_is_refused() {
    let data = corpus_dir();
    if !data.is_dir() {
        println!("mqtt corpus: skipped, {} is absent", data.display());
        return;
    }
    let cases = mqtt_corpus_support::corpus::load(&data);
    assert!(
        deviations::unused(&cases).is_empty(),
        "stale deviations: {:?}",
        deviations::unused(&cases)
    );

    let dir = tempfile::tempdir().unwrap();
    // Cases that ask for persistent sessions leave them behind for the length of the run.
    let mut server = Server::start_with(dir.path(), &[("FF_MQTT_MAX_SESSIONS_PER_THING", "4096")]);
    let provisioned = provision(&server.base).await;
    let addr: SocketAddr = server.mqtt.parse().expect("MQTT address");
    let [(thing, key), (helper_thing, helper_key)] = provisioned.things;

    let (rss_before, _) = server.memory();
    let started = Instant::now();
    let outcomes = play_all(
        &cases,
        addr,
        &provisioned.channel,
        (&thing, &key),
        (&helper_thing, &helper_key),
    )
    .await;
    let elapsed = started.elapsed();

    let mut tally: BTreeMap<Family, (usize, usize)> = BTreeMap::new();
    let mut must_close_failures = Vec::new();
    let (mut must_close, mut listed) = (0, 0);
    for (case, outcome) in cases.iter().zip(&outcomes) {
        let entry = tally.entry(case.family()).or_default();
        entry.1 += 1;
        let deviation = deviations::reason(case);
        match &outcome.verdict {
            Ok(()) if deviations::pending(case) => {
                entry.0 += 1;
                println!(
                    "pending case now passes, take it off the list: {}",
                    case.title()
                );
            }
            Ok(()) => entry.0 += 1,
            Err(why) => println!(
                "fail {} ({}): {why}{}",
                case.title(),
                case.file,
                deviation
                    .map(|d| format!(" [deviation: {d}]"))
                    .unwrap_or_default()
            ),
        }
        if case.family() == Family::V311 && case.expect_disconnect {
            match deviation {
                Some(_) => listed += 1,
                None => {
                    must_close += 1;
                    if let Err(why) = &outcome.verdict {
                        must_close_failures.push(format!("{}: {why}", case.title()));
                    }
                }
            }
        }
    }
    for (family, (passed, total)) in &tally {
        println!("mqtt corpus: {family:?} {passed}/{total} cases pass");
    }
    println!(
        "mqtt corpus: MQTT 3.1.1 must-disconnect cases closed: {}/{must_close} ({listed} listed as deviations); {} cases in {elapsed:.1?}",
        must_close - must_close_failures.len(),
        cases.len()
    );
    let (rss_after, peak) = server.memory();
    println!(
        "mqtt corpus: server RSS {} KiB before, {} KiB after, peak {} KiB",
        rss_before / 1024,
        rss_after / 1024,
        peak / 1024
    );

    let hung: Vec<_> = cases
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.hung)
        .map(|(c, _)| c.title())
        .collect();
    assert!(hung.is_empty(), "cases that hung: {hung:?}");
    // Lengths the packets claim are never reserved up front; no packet leaves memory behind.
    assert!(
        peak < rss_before + MEMORY_GROWTH,
        "the corpus grew the server from {rss_before} to a peak of {peak} bytes"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died during the corpus"
    );
    let panics: Vec<String> = server
        .log
        .try_iter()
        .filter(|line| line.contains("panicked"))
        .collect();
    assert!(panics.is_empty(), "the server panicked: {panics:?}");
    assert!(
        must_close_failures.is_empty(),
        "MQTT 3.1.1 must-disconnect cases that failed:\n{}",
        must_close_failures.join("\n")
    );
    let check = cases
        .iter()
        .zip(&outcomes)
        .filter(|(c, _)| c.family() == Family::Check);
    for (case, outcome) in check {
        assert!(
            outcome.verdict.is_ok(),
            "{}: {:?}",
            case.title(),
            outcome.verdict
        );
    }
    server.terminate();
}

/// Plays every case, `PARALLEL` at a time, each with its own topic prefix. Cases that send
/// their own CONNECT share client ids ("p"), so they run one after another (beside the
/// others) lest one take over another's session; "BROKER CHECK" runs once all are done.
async fn play_all(
    cases: &[Case],
    addr: SocketAddr,
    channel: &str,
    thing: (&str, &str),
    helper: (&str, &str),
) -> Vec<Outcome> {
    let prepared: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(n, case)| {
            let prefix = format!("channels/{channel}/messages/c{n}/");
            let identity = |(thing, key): (&str, &str)| Identity {
                thing: thing.to_owned(),
                key: key.to_owned(),
                prefix: prefix.clone(),
            };
            let actions = plan(case, &format!("corpus-{n}"), &identity(thing));
            Arc::new((actions, case.expect_disconnect, identity(helper)))
        })
        .collect();
    let lane = |n: usize| match &cases[n] {
        case if case.family() == Family::Check => 2,
        case if !case.default_connect => 1,
        _ => 0,
    };
    let serial: Vec<_> = (0..cases.len())
        .filter(|n| lane(*n) == 1)
        .map(|n| (n, Arc::clone(&prepared[n])))
        .collect();
    let serial = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for (n, case) in serial {
            outcomes.push((n, run(addr, &case).await));
        }
        outcomes
    });
    let slots = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for n in (0..cases.len()).filter(|n| lane(*n) == 0) {
        let case = Arc::clone(&prepared[n]);
        let slot = Arc::clone(&slots).acquire_owned().await.unwrap();
        tasks.push((
            n,
            tokio::spawn(async move {
                let outcome = run(addr, &case).await;
                drop(slot);
                outcome
            }),
        ));
    }
    let mut outcomes: Vec<Option<Outcome>> = cases.iter().map(|_| None).collect();
    for (n, task) in tasks {
        outcomes[n] = Some(task.await.expect("a case task"));
    }
    for (n, outcome) in serial.await.expect("the serial lane") {
        outcomes[n] = Some(outcome);
    }
    for n in (0..cases.len()).filter(|n| lane(*n) == 2) {
        outcomes[n] = Some(run(addr, &prepared[n]).await);
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every case played"))
        .collect()
}

async fn run(
    addr: SocketAddr,
    (actions, expect_disconnect, helper): &(Vec<Action>, bool, Identity),
) -> Outcome {
    let played = player::play(addr, actions, *expect_disconnect, helper);
    match tokio::time::timeout(CASE_BOUND, played).await {
        Ok(verdict) => Outcome {
            verdict,
            hung: false,
        },
        Err(_) => Outcome {
            verdict: Err("hung".into()),
            hung: true,
        },
    }
}
