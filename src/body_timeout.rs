//! Request bodies that fail when the client stops sending for longer than a limit.
//!
//! tower-http's `RequestBodyTimeoutLayer` arms its timer before it looks at the body, so
//! every request, even one whose body arrived with its headers, registered a timer and
//! woke the timer driver: 2.3 % of the CPU of `POST /things` (perf). This one arms the
//! timer only when the body is not ready, which is when a stall can begin. The listener
//! wraps hyper's body in it directly (`http_server`), not through a router layer: axum
//! applies a layer to each route and clones it for every request.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::Sleep;

/// The body stalled: nothing came for the whole limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled for {0:?}")]
pub struct BodyStalled(Duration);

/// A body whose every wait for the next frame is bounded by `limit`.
pub struct StallTimeout<B> {
    body: B,
    limit: Duration,
    /// Running while the body is pending; dropped whenever a frame arrives.
    stall: Option<Pin<Box<Sleep>>>,
}

impl<B> StallTimeout<B> {
    pub fn new(body: B, limit: Duration) -> Self {
        Self {
            body,
            limit,
            stall: None,
        }
    }
}

impl<B> HttpBody for StallTimeout<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.stall = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let limit = this.limit;
        let stall = this
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled(limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use futures::StreamExt as _;
    use http_body_util::BodyExt;

    const LIMIT: Duration = Duration::from_secs(5);

    fn stalling_after(first: &'static str) -> Body {
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(first))])
            .chain(futures::stream::pending());
        Body::from_stream(chunks)
    }

    #[tokio::test(start_paused = true)]
    async fn a_ready_body_arms_no_timer_and_arrives_whole() {
        let mut body = StallTimeout::new(Body::from("{\"name\":\"a\"}"), LIMIT);
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "{\"name\":\"a\"}");
        assert!(body.stall.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_sending_fails_after_the_limit() {
        let started = tokio::time::Instant::now();
        let mut body = StallTimeout::new(stalling_after("{\"email\":"), LIMIT);
        assert!(body.frame().await.unwrap().is_ok());
        let error = body.frame().await.unwrap().unwrap_err();
        assert!(error.is::<BodyStalled>(), "{error}");
        assert_eq!(started.elapsed(), LIMIT);
    }
}
