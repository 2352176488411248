//! Copies bytes both ways between a TLS client and the broker (MQTTS), holding no buffer
//! while the connection is idle. `tokio::io::copy_bidirectional` keeps two 8 KiB buffers for
//! the life of every connection: 16 KiB per idle device, more than all the rest of an idle
//! MQTTS connection costs. Here a chunk lives on the stack of one poll only, and bytes are
//! kept on the heap only while the receiving side is not writable.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read per poll of one direction; on the stack, not in the connection's state.
const CHUNK: usize = 8 * 1024;
/// Chunks one direction may move in one poll before letting the other side (and other
/// tasks) run.
const CHUNKS_PER_POLL: usize = 16;

/// Relays until both directions have ended (each side's end is passed on as a shutdown of
/// the other's writing side) or either fails.
pub async fn relay<A, B>(a: &mut A, b: &mut B) -> io::Result<()>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut a_to_b, mut b_to_a) = (Direction::default(), Direction::default());
    poll_fn(|cx| {
        let forward = a_to_b.poll(cx, &mut *a, &mut *b)?;
        let backward = b_to_a.poll(cx, &mut *b, &mut *a)?;
        match (forward, backward) {
            (Poll::Ready(()), Poll::Ready(())) => Poll::Ready(Ok(())),
            _ => Poll::Pending,
        }
    })
    .await
}

/// One direction's state: bytes read but not yet written (usually none), and whether the
/// reading side has ended.
#[derive(Default)]
struct Direction {
    pending: Vec<u8>,
    written: usize,
    needs_flush: bool,
    done: bool,
}

impl Direction {
    /// Moves what `from` has to `to`; `Ready` once `from` ended and `to` was shut down.
    fn poll<R, W>(&mut self, cx: &mut Context<'_>, from: &mut R, to: &mut W) -> Poll<io::Result<()>>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        for _ in 0..CHUNKS_PER_POLL {
            ready!(self.poll_write_pending(cx, to))?;
            let mut chunk = [0u8; CHUNK];
            let mut buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut *from).poll_read(cx, &mut buf))?;
            let data = buf.filled();
            if data.is_empty() {
                ready!(Pin::new(&mut *to).poll_shutdown(cx))?;
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            let written = match Pin::new(&mut *to).poll_write(cx, data) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => 0,
            };
            self.needs_flush = true;
            if written < data.len() {
                self.pending.extend_from_slice(&data[written..]);
            }
        }
        // Busy: come back after the other direction and other tasks had their turn.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Writes what is pending, then flushes (a TLS stream may hold written records).
    fn poll_write_pending<W: AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        to: &mut W,
    ) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut *to).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        if !self.pending.is_empty() {
            // Give the memory back: an idle connection holds none.
            (self.pending, self.written) = (Vec::new(), 0);
        }
        if self.needs_flush {
            ready!(Pin::new(&mut *to).poll_flush(cx))?;
            self.needs_flush = false;
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    #[tokio::test]
    async fn bytes_go_both_ways_in_order_and_ends_are_passed_on() {
        let (mut client, mut relay_a) = duplex(64);
        let (mut relay_b, mut server) = duplex(64);
        let relaying = tokio::spawn(async move { relay(&mut relay_a, &mut relay_b).await });
        // More than the duplex buffers hold, so writes are partial and bytes wait.
        let upstream: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let expected = upstream.clone();
        let sending = tokio::spawn(async move {
            client.write_all(&upstream).await.unwrap();
            let mut answer = Vec::new();
            client.shutdown().await.unwrap();
            client.read_to_end(&mut answer).await.unwrap();
            answer
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, expected);
        server.write_all(b"bye").await.unwrap();
        server.shutdown().await.unwrap();
        assert_eq!(sending.await.unwrap(), b"bye");
        relaying.await.unwrap().unwrap();
    }
}
