//! A server under test as its own process, so its CPU time and memory are its own (read from
//! /proc), pinned to core 0 when `taskset` exists (run the bench itself on core 1).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

pub struct Server {
    child: Child,
    /// The address printed after each readiness marker, in the order the markers were given.
    pub addrs: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `program` and waits until its stderr has shown every marker (for example
    /// `listening on http://`), keeping the word after each. No markers: returns at once.
    pub fn spawn(
        program: &Path,
        args: &[&str],
        env: &[(&str, String)],
        markers: &[&str],
    ) -> anyhow::Result<Server> {
        let pinned = Command::new("taskset").arg("-V").output().is_ok();
        let mut command = if pinned {
            Command::new("taskset")
        } else {
            Command::new(program)
        };
        if pinned {
            command.arg("-c").arg("0").arg(program);
        }
        command
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        // Bytes, not `lines()`: one line that is not UTF-8 must not end the reading.
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?)
            .split(b'\n')
            .map(|line| line.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()));
        let mut addrs = vec![None; markers.len()];
        while addrs.iter().any(Option::is_none) {
            let Some(line) = lines.next() else {
                bail!("{} exited before listening", program.display());
            };
            let line = line?;
            for (marker, addr) in markers.iter().zip(&mut addrs) {
                if let Some(rest) = line.split(marker).nth(1) {
                    *addr = rest.split_whitespace().next().map(str::to_owned);
                }
            }
        }
        // Keep reading, so a server that logs never blocks on a full pipe; pass its warnings
        // and errors on, so a run that goes wrong says why.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                // Ours log WARN and ERROR; libcoap logs ERR, CRIT and EMRG.
                if [" WARN ", " ERROR ", " ERR ", " CRIT ", " EMRG "]
                    .iter()
                    .any(|level| line.contains(level))
                {
                    eprintln!("server: {line}");
                }
            }
        });
        let addrs = addrs.into_iter().map(Option::unwrap_or_default).collect();
        Ok(Server { child, addrs })
    }

    /// Whether the server has already exited (for example, it could not bind its port).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// utime + stime in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(self.child.id())
    }

    /// Resident set size in KiB (VmRSS).
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .context("no VmRSS")?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("VmRSS value")?
            .parse()?)
    }
}

/// utime + stime of process `pid` in seconds (Linux clock ticks are 100 per second).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// A binary built beside the bench (same profile): `ferroflux`.
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.parent().context("bench binary dir")?.join(name);
    ensure!(
        path.exists(),
        "{} not built: cargo build --release --bin {name}",
        path.display()
    );
    Ok(path)
}

/// A loopback port free right now (for a server that cannot bind port 0 and tell us).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Polls until `addr` accepts TCP connections.
pub async fn wait_for_port(addr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        ensure!(Instant::now() < deadline, "nothing listens on {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The whole event log as `ferroflux events` prints it (NDJSON), streamed from the server
/// running on `data_dir` as an operator would read it.
pub fn event_log(data_dir: &Path, http: &str) -> anyhow::Result<String> {
    let output = Command::new(sibling("ferroflux")?)
        .arg("events")
        .env("FF_DATA_DIR", data_dir)
        .env("FF_HTTP_ADDR", http)
        .output()?;
    ensure!(output.status.success(), "ferroflux events: {output:?}");
    Ok(String::from_utf8(output.stdout)?)
}
