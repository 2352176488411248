//! Failed logins back off exponentially, per client address and per email. A guesser is
//! answered 429 without any hashing once past its free attempts, and the wait doubles with
//! each further failure. IPv6 clients are counted per /64, which one host usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How failed logins are paced.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRules {
    /// Failures allowed before any wait.
    pub free_failures: u32,
    /// The first wait; each further failure doubles it.
    pub first_wait: Duration,
    /// The longest wait; failures older than this are forgotten.
    pub longest_wait: Duration,
    /// Most addresses and emails remembered; beyond it new ones are not counted (hashing
    /// stays bounded by the pool either way).
    pub capacity: usize,
}

impl Default for ThrottleRules {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_wait: Duration::from_secs(1),
            longest_wait: Duration::from_secs(15 * 60),
            capacity: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Client(IpAddr),
    Email(String),
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Instant,
    /// Set only by a failure past the free ones.
    blocked_until: Option<Instant>,
}

pub struct LoginThrottle {
    rules: ThrottleRules,
    strikes: Mutex<HashMap<Subject, Strikes>>,
    refused: AtomicU64,
}

impl LoginThrottle {
    pub fn new(rules: ThrottleRules) -> Self {
        Self {
            rules,
            strikes: Mutex::default(),
            refused: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` while either the client or the email (when given) must wait.
    pub fn check(
        &self,
        client: Option<IpAddr>,
        email: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        let strikes = self.lock();
        let wait = subjects(client, email)
            .filter_map(|s| strikes.get(&s)?.blocked_until)
            .map(|until| until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            return Ok(());
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        Err(wait)
    }

    /// Logins refused because their client or email had to wait, since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub fn failed(&self, client: Option<IpAddr>, email: Option<&str>, now: Instant) {
        let mut strikes = self.lock();
        if strikes.len() >= self.rules.capacity {
            let forget = self.rules.longest_wait;
            strikes.retain(|_, s| now.saturating_duration_since(s.last) < forget);
        }
        for subject in subjects(client, email) {
            if strikes.len() >= self.rules.capacity && !strikes.contains_key(&subject) {
                continue;
            }
            let entry = strikes.entry(subject).or_insert(Strikes {
                failures: 0,
                last: now,
                blocked_until: None,
            });
            if now.saturating_duration_since(entry.last) >= self.rules.longest_wait {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
            // A free failure leaves the deadline in the past: set to `now`, it would block a
            // concurrent check that read the clock a moment earlier.
            let wait = self.wait_after(entry.failures);
            if !wait.is_zero() {
                entry.blocked_until = Some(now + wait);
            }
        }
    }

    /// Counts one more use (a registration, a reset mail) and answers whether it may go
    /// ahead: the first `free_failures` may, each further one waits, doubling.
    pub fn ration(
        &self,
        client: Option<IpAddr>,
        email: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        self.failed(client, email, now);
        self.check(client, email, now)
    }

    /// A correct password clears the email's count; the address keeps its own, so one
    /// account the guesser owns does not reset its guessing at others.
    pub fn succeeded(&self, email: &str) {
        self.lock().remove(&Subject::Email(email.to_owned()));
    }

    fn wait_after(&self, failures: u32) -> Duration {
        match failures.checked_sub(self.rules.free_failures) {
            None | Some(0) => Duration::ZERO,
            Some(over) => {
                let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
                let wait = self.rules.first_wait.saturating_mul(factor);
                wait.min(self.rules.longest_wait)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Subject, Strikes>> {
        self.strikes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn subjects(client: Option<IpAddr>, email: Option<&str>) -> impl Iterator<Item = Subject> {
    let client = client.map(|ip| Subject::Client(network_of(ip)));
    let email = email.map(|e| Subject::Email(e.to_ascii_lowercase()));
    client.into_iter().chain(email)
}

fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a@example.com";

    fn throttle(capacity: usize) -> LoginThrottle {
        LoginThrottle::new(ThrottleRules {
            free_failures: 2,
            first_wait: Duration::from_secs(1),
            longest_wait: Duration::from_secs(8),
            capacity,
        })
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_longest() {
        let t = throttle(16);
        let ip = Some("10.0.0.1".parse().unwrap());
        let now = Instant::now();
        let expected = [0, 0, 1, 2, 4, 8, 8];
        for (n, secs) in expected.into_iter().enumerate() {
            t.failed(ip, Some(A), now);
            let wait = t.check(ip, Some(A), now).err().unwrap_or_default();
            assert_eq!(wait, Duration::from_secs(secs), "after failure {}", n + 1);
        }
        assert!(
            t.check(ip, Some(A), now + Duration::from_secs(8)).is_ok(),
            "waited out"
        );
    }

    #[test]
    fn a_ration_lets_the_free_ones_through_then_makes_each_wait_longer() {
        let t = throttle(16);
        let ip = Some("10.0.0.1".parse().unwrap());
        let now = Instant::now();
        let waits: Vec<u64> = (0..5)
            .map(|_| t.ration(ip, None, now).err().unwrap_or_default().as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 1, 2, 4]);
    }

    #[test]
    fn a_free_failure_never_blocks_a_check_that_read_the_clock_earlier() {
        let t = throttle(16);
        let earlier = Instant::now();
        let later = earlier + Duration::from_millis(5);
        t.failed(None, Some(A), later);
        assert_eq!(t.check(None, Some(A), earlier), Ok(()));
    }

    #[test]
    fn the_address_and_the_email_are_each_counted() {
        let t = throttle(16);
        let (ip, other_ip) = (
            Some("10.0.0.1".parse().unwrap()),
            Some("10.0.0.2".parse().unwrap()),
        );
        let now = Instant::now();
        for n in 0..3 {
            t.failed(ip, Some(&format!("user{n}@example.com")), now);
        }
        assert!(
            t.check(ip, Some("fresh@example.com"), now).is_err(),
            "one address, many emails"
        );
        assert!(t.check(other_ip, Some("fresh@example.com"), now).is_ok());
        for _ in 0..3 {
            t.failed(other_ip, Some("Victim@example.com"), now);
        }
        assert!(t.check(None, Some("victim@EXAMPLE.com"), now).is_err());
        t.succeeded("victim@example.com");
        assert!(t.check(None, Some("victim@example.com"), now).is_ok());
        assert!(
            t.check(other_ip, Some("x@example.com"), now).is_err(),
            "the address still waits"
        );
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let t = throttle(16);
        let now = Instant::now();
        for n in 0..3 {
            let ip = format!("2001:db8::{n}").parse().ok();
            t.failed(ip, Some(&format!("u{n}@example.com")), now);
        }
        assert!(
            t.check("2001:db8::ffff".parse().ok(), Some("new@example.com"), now)
                .is_err()
        );
        assert!(
            t.check("2001:db8:0:1::1".parse().ok(), Some("new@example.com"), now)
                .is_ok()
        );
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().unwrap();
        assert_eq!(network_of(mapped), "10.0.0.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn memory_is_bounded_and_stale_entries_make_room() {
        let t = throttle(4);
        let now = Instant::now();
        for n in 0..10 {
            t.failed(None, Some(&format!("u{n}@example.com")), now);
        }
        assert_eq!(t.lock().len(), 4, "capacity holds");
        let later = now + Duration::from_secs(9);
        t.failed(None, Some("new@example.com"), later);
        assert!(
            t.lock()
                .contains_key(&Subject::Email("new@example.com".into()))
        );
    }
}
