//! One async lock per stream, held from load to append.
//!
//! Commands on one stream from this node then queue instead of racing, so a burst of
//! connects to one channel all succeed on the first try; optimistic concurrency remains the
//! guard against other nodes. Locks exist only while held, so idle streams cost nothing and
//! commands on different streams (every create) never wait on each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct StreamLocks {
    held: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// Releases the stream, and forgets its lock when nobody else waits for it.
pub struct StreamGuard<'a> {
    locks: &'a StreamLocks,
    stream: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl StreamLocks {
    pub async fn lock(&self, stream: &str) -> StreamGuard<'_> {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.entry(stream.to_owned()).or_default().clone()
        };
        StreamGuard {
            locks: self,
            stream: stream.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        let mut held = self.locks.held.lock().unwrap_or_else(|p| p.into_inner());
        drop(self.guard.take());
        // The guard's reference is gone; only the map's left means no other command holds
        // or awaits this stream.
        if held
            .get(&self.stream)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            held.remove(&self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn holders_of_one_stream_never_overlap_and_locks_are_forgotten() {
        let locks = Arc::new(StreamLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let tasks = (0..20).map(|_| {
            let (locks, inside) = (locks.clone(), inside.clone());
            tokio::spawn(async move {
                let _guard = locks.lock("s").await;
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for task in tasks {
            task.await.unwrap();
        }
        assert!(locks.held.lock().unwrap().is_empty());
    }
}
