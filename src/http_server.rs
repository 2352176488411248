//! The HTTP listener's accept loop: HTTP/1.1 with upgrades (WebSocket), a cap on open
//! connections, and a deadline for each request's headers. `axum::serve` has neither: one
//! client sending half a request line per socket held every file descriptor until
//! `/health` stopped answering.
//!
//! hyper starts the header deadline whenever it waits for a request, so it also closes a
//! keep-alive connection left idle that long. Slow bodies are cut by a stall timeout around
//! each body (`body_timeout`). HTTP/2 is not offered: Mainflux clients speak HTTP/1.1.
//!
//! The body timeout and the WebSocket upgrades are applied here, per request, rather than
//! as router layers: axum wraps every route in each layer and clones the layered route
//! for each request. As layers they cost durable `POST /things` about a sixth of its CPU
//! per request (71 against 60 µs, medians of ten alternated bench runs).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::device_certificate::DeviceCertificate;
use adapters::ws::WsAdapter;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use futures::future::{BoxFuture, Either};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::body_timeout::StallTimeout;
use crate::tls::TlsAccept;

/// How the listener protects itself from slow and numerous clients.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time a client has to send a request's headers, and to start its next request on a
    /// kept-alive connection.
    pub header_timeout: Duration,
    /// Connections open at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time a request body may send nothing before the request fails.
    pub body_timeout: Duration,
}

/// What a listener serves: the router, and the WebSocket adapter that takes the upgrades
/// on channel paths before the router sees them (the reader's `GET` on the same paths goes
/// to the router).
#[derive(Clone)]
pub struct Routes {
    pub router: Router,
    pub websocket: Option<WsAdapter>,
}

impl Routes {
    /// `router` alone, without WebSocket upgrades.
    pub fn plain(router: Router) -> Self {
        Self {
            router,
            websocket: None,
        }
    }
}

/// A full connection table is logged at most this often.
const LIMIT_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Serves the current `Routes` of `routes` until `shutdown` resolves, then stops accepting
/// and waits for the open connections to finish their requests. With `tls`, every
/// connection is a TLS one (HTTPS), and a device certificate's thing goes into each of its
/// requests' extensions.
///
/// Each connection keeps the routes that were current when it was accepted. `serve` starts
/// the listener on a not-ready router and swaps in the API once the node has caught up: an
/// accepted connection is never closed by the swap (closing one whose request was not read
/// yet failed that request).
pub async fn serve(
    listener: &TcpListener,
    routes: watch::Receiver<Routes>,
    limits: HttpLimits,
    tls: Option<TlsAccept>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stopping, stop_seen) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_full_log: Option<Instant> = None;
    loop {
        if slots.available_permits() == 0
            && last_full_log.is_none_or(|t| t.elapsed() >= LIMIT_LOG_INTERVAL)
        {
            tracing::warn!(
                max = limits.max_connections,
                "HTTP connection limit reached: new clients wait until one closes \
                 (raise FF_HTTP_MAX_CONNECTIONS if this is legitimate load)"
            );
            last_full_log = Some(Instant::now());
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let routes = routes.borrow().clone();
                let (stop_seen, tls) = (stop_seen.clone(), tls.clone());
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tls {
                        None => {
                            serve_connection(stream, peer, None, routes, limits, stop_seen).await
                        }
                        Some(tls) => {
                            if let Some((stream, device)) = tls.accept(stream, peer).await {
                                serve_connection(stream, peer, device, routes, limits, stop_seen)
                                    .await
                            }
                        }
                    }
                    drop(slot);
                });
            }
            Err(error) => {
                // Out of file descriptors, or the peer left before we took it: wait a
                // moment rather than spin.
                tracing::warn!(%error, "cannot accept an HTTP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let _ = stopping.send(true);
    let everyone_gone = slots.acquire_many(limits.max_connections.max(1) as u32);
    let _ = everyone_gone.await;
}

async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    peer: SocketAddr,
    device: Option<DeviceCertificate>,
    routes: Routes,
    limits: HttpLimits,
    mut stop_seen: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(device) = &device {
            request.extensions_mut().insert(device.clone());
        }
        let request = request.map(|body| Body::new(StallTimeout::new(body, limits.body_timeout)));
        match &routes.websocket {
            Some(adapter) if adapters::ws::wants_websocket(&request) => {
                Either::Left(upgrade(adapter.clone(), request))
            }
            _ => Either::Right(routes.router.clone().oneshot(request)),
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop_seen.wait_for(|stopping| *stopping) => {}
    }
    // Stopping: finish the request in progress, take no further one.
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// The WebSocket handshake, boxed: it is the rare path, and the common one stays unboxed.
fn upgrade(
    adapter: WsAdapter,
    request: axum::extract::Request,
) -> BoxFuture<'static, Result<Response, std::convert::Infallible>> {
    Box::pin(async move { Ok(adapters::ws::accept(adapter, request).await) })
}
