//! Memory per idle MQTT connection: the broker's VmRSS growth while N sessions that did
//! CONNECT and got CONNACK sit idle (keep-alive 600 s), divided by N. What an idle fleet of
//! devices costs, the figure where a general-purpose engine is weakest.

use std::time::Duration;

use anyhow::ensure;
use futures::FutureExt;
use futures::future::try_join_all;
use tokio::io::AsyncReadExt;

use crate::mqtt_brokers::{Broker, Running};
use crate::mqtt_tls::{Io, Stream};

/// Connections opened at once, like a fleet reconnecting in waves.
const PARALLEL: usize = 250;

/// KiB of broker RSS per idle connection, and the count that stayed open.
pub struct Idle {
    pub kib_per_connection: f64,
    pub open: usize,
}

pub async fn measure(broker: Broker, connections: usize) -> anyhow::Result<Idle> {
    let running = broker.start().await?;
    // One session first, so lazily built per-process state is in "before".
    let first = running.session("bench-idle-first", 600).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = running.server.rss_kib()?;
    let mut sessions = Vec::with_capacity(connections);
    for start in (0..connections).step_by(PARALLEL) {
        let batch = (start..connections.min(start + PARALLEL))
            .map(|i| open(&running, i))
            .collect::<Vec<_>>();
        sessions.extend(try_join_all(batch).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = running.server.rss_kib()?;
    let open = sessions
        .iter_mut()
        .filter_map(|s| still_open(s.as_mut()).then_some(()))
        .count();
    drop((first, sessions));
    Ok(Idle {
        kib_per_connection: after.saturating_sub(before) as f64 / connections as f64,
        open,
    })
}

async fn open(running: &Running, i: usize) -> anyhow::Result<Stream> {
    running.session(&format!("bench-idle-{i}"), 600).await
}

/// A connection the broker has not closed: nothing to read yet (EOF reads as 0 bytes). A TLS
/// one may first take in records that carry no data (session tickets).
fn still_open(stream: &mut dyn Io) -> bool {
    stream.read(&mut [0u8; 1]).now_or_never().is_none()
}

/// What root raises the hard open-file limit to, when it is lower.
const ROOT_NOFILE: u64 = 65_536;

/// Raises this process's open-file limit (children inherit it): the soft limit to the hard
/// one, and as root the hard one to `ROOT_NOFILE`, so the bench and the broker each hold
/// `needed` sockets.
pub fn raise_nofile(needed: u64) -> anyhow::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        ensure!(
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0,
            "getrlimit"
        );
        let hard = limit.rlim_max;
        // Root in a container may lack CAP_SYS_RESOURCE: then keep the hard limit as it is.
        for max in [hard.max(ROOT_NOFILE), hard] {
            limit = libc::rlimit {
                rlim_cur: max,
                rlim_max: max,
            };
            if (libc::geteuid() == 0 || max == hard)
                && libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
            {
                break;
            }
        }
        ensure!(
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0,
            "getrlimit"
        );
    }
    ensure!(
        limit.rlim_cur >= needed,
        "open-file limit {} is below the {needed} this run needs: lower --idle or raise `ulimit -Hn`",
        limit.rlim_cur
    );
    Ok(limit.rlim_cur)
}
