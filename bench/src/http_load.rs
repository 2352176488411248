//! The HTTP load generator: keep-alive connections over raw TCP, one request in flight on
//! each, requests formatted into a reused buffer and responses parsed in place.
//!
//! Not reqwest: on one core reqwest topped out near the rate a bare axum server handles on
//! another core at ~70 % load, so every server looked alike and idle wake-ups padded its
//! CPU per request (BENCHMARKS.md §3: a generator-bound run says little). This one needs a
//! fraction of the CPU per request.

use std::io::Write as _;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the requests go and what they are.
#[derive(Clone)]
pub struct Target {
    /// `host:port`.
    pub addr: String,
    pub path: String,
    /// The `authorization` header: `Thing <key>` to publish, `Bearer <token>` to provision.
    pub authorization: String,
    pub kind: Kind,
}

/// What each POST carries, and the status it must get.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A ~90-byte JSON message, numbered per connection; 202.
    Publish,
    /// A named thing; 201.
    CreateThing,
    /// A `GET` without a body; 200.
    Get,
}

/// Sends `requests` requests over `concurrency` connections; every one must get the status of
/// its kind. Returns the seconds taken.
pub async fn load(target: &Target, requests: u64, concurrency: usize) -> anyhow::Result<f64> {
    let concurrency = concurrency.max(1);
    let started = Instant::now();
    let workers = (0..concurrency as u64).map(|w| {
        let share = requests / concurrency as u64 + u64::from(w < requests % concurrency as u64);
        let target = target.clone();
        tokio::spawn(async move { connection(&target, w, share).await })
    });
    for worker in futures::future::join_all(workers).await {
        worker??;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn connection(target: &Target, worker: u64, requests: u64) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    let (mut request, mut body) = (Vec::with_capacity(512), Vec::with_capacity(128));
    let mut response = Vec::with_capacity(1024);
    let pad = "x".repeat(60);
    for n in 0..requests {
        body.clear();
        let (method, content_type, expect) = match target.kind {
            Kind::Publish => {
                write!(body, "{{\"worker\":{worker},\"n\":{n},\"pad\":\"{pad}\"}}")?;
                ("POST", "", 202)
            }
            Kind::CreateThing => {
                write!(body, "{{\"name\":\"w{worker}-{n}\"}}")?;
                ("POST", "content-type: application/json\r\n", 201)
            }
            Kind::Get => ("GET", "", 200),
        };
        request.clear();
        write!(
            request,
            "{method} {} HTTP/1.1\r\nhost: {}\r\nauthorization: {}\r\n\
             {content_type}content-length: {}\r\n\r\n",
            target.path,
            target.addr,
            target.authorization,
            body.len()
        )?;
        request.extend_from_slice(&body);
        stream.write_all(&request).await?;
        let status = read_response(&mut stream, &mut response).await?;
        ensure!(
            status == expect,
            "{method} {} answered {status}",
            target.path
        );
    }
    Ok(())
}

/// Reads one whole response (head and `content-length` body) into `buffer`; its status.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<u16> {
    buffer.clear();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = parsed.parse(buffer)? {
            let status = parsed.code.context("status")?;
            let length = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| anyhow::Ok(std::str::from_utf8(h.value)?.parse::<usize>()?))
                .transpose()?
                .unwrap_or(0);
            while buffer.len() < head + length {
                read_more(stream, buffer).await?;
            }
            ensure!(
                buffer.len() == head + length,
                "{status} and more bytes than one response: the server answered unasked"
            );
            return Ok(status);
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    if buffer.capacity() - buffer.len() < 256 {
        buffer.reserve(1024);
    }
    if stream.read_buf(buffer).await? == 0 {
        bail!("the server closed the connection mid-response");
    }
    Ok(())
}
