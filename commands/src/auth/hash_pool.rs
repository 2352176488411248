//! Password hashing on a fixed set of threads with a short queue. At most `workers` hashes
//! run at once, each in its thread's reused 19 MiB; `queue` more wait; beyond that a
//! request is refused at once (`Busy`: 503 with Retry-After) instead of piling up blocking
//! threads and memory, which is how 128 parallel logins got the server killed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use domain::ids::PasswordHash;
use tokio::sync::oneshot;

use super::passwords::{HashMemory, hash_password, verify_password};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the queue is full: retry in a moment (503).
    #[error("too many logins and registrations at once, retry in a moment")]
    Busy,
    /// The hashing threads are gone (a bug): 500.
    #[error("password hashing has stopped")]
    Stopped,
}

enum Job {
    Hash(String, oneshot::Sender<PasswordHash>),
    Verify(String, PasswordHash, oneshot::Sender<bool>),
}

pub struct HashPool {
    jobs: SyncSender<Job>,
    refused: Arc<AtomicU64>,
}

impl HashPool {
    /// Starts `workers` hashing threads (at least one) with room for `queue` waiting jobs.
    pub fn new(workers: usize, queue: usize) -> Self {
        let (jobs, inbox) = sync_channel(queue);
        let inbox = Arc::new(Mutex::new(inbox));
        for n in 0..workers.max(1) {
            let inbox = inbox.clone();
            // A thread that cannot start leaves the others; with none, jobs answer Stopped.
            let _ = std::thread::Builder::new()
                .name(format!("ff-argon2-{n}"))
                .spawn(move || work(&inbox));
        }
        Self {
            jobs,
            refused: Arc::default(),
        }
    }

    pub async fn hash(&self, password: String) -> Result<PasswordHash, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash(password, reply))?;
        answer.await.map_err(|_| HashError::Stopped)
    }

    pub async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify(password, hash, reply))?;
        answer.await.map_err(|_| HashError::Stopped)
    }

    /// Requests refused because the pool was full, since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(HashError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => Err(HashError::Stopped),
        }
    }
}

/// One hashing thread: takes jobs until the pool is dropped, always in the same memory.
fn work(inbox: &Mutex<Receiver<Job>>) {
    let mut memory = HashMemory::default();
    loop {
        let next = match inbox.lock() {
            Ok(inbox) => inbox.recv(),
            Err(_) => return,
        };
        match next {
            Ok(Job::Hash(password, reply)) => {
                let _ = reply.send(hash_password(&password, &mut memory));
            }
            Ok(Job::Verify(password, hash, reply)) => {
                let _ = reply.send(verify_password(&password, &hash, &mut memory));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_at_once_and_serves_what_it_took() {
        let pool = HashPool::new(1, 1);
        // Submitted back to back, far faster than one hash: one runs, one waits.
        let mut taken = Vec::new();
        for n in 0..12 {
            let (reply, answer) = oneshot::channel();
            match pool.submit(Job::Hash(format!("password-{n}"), reply)) {
                Ok(()) => taken.push(answer),
                Err(e) => assert_eq!(e, HashError::Busy),
            }
        }
        assert!((1..=2).contains(&taken.len()), "took {}", taken.len());
        assert_eq!(pool.refused(), 12 - taken.len() as u64);
        for answer in taken {
            assert!(answer.await.unwrap().0.starts_with("$argon2id$"));
        }
        assert!(pool.hash("afterwards".into()).await.is_ok(), "free again");
    }

    #[tokio::test]
    async fn verify_goes_through_the_pool() {
        let pool = HashPool::new(2, 4);
        let hash = pool.hash("correct horse".into()).await.unwrap();
        assert!(
            pool.verify("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong horse".into(), hash).await.unwrap());
    }
}
