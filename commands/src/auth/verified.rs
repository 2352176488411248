//! Login tokens already verified, so a client that sends the same token with every request
//! pays for the signature check and the claims' parsing once, not per request (it was ~6 % of
//! the CPU of a `POST /things`).
//!
//! Only a token that verified is stored, with its expiry, and it is answered from here only
//! until then. Lookups are by the whole token string in a randomly seeded map: the bytes are
//! compared only after a full-hash match, which an attacker cannot aim at.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use domain::ids::UserId;

/// Tokens remembered at most; when full, the expired ones go, and if none has, all do.
const CAPACITY: usize = 16_384;

#[derive(Clone, Default)]
pub struct VerifiedTokens {
    entries: Arc<Mutex<HashMap<Box<str>, Verified>>>,
}

#[derive(Clone, Copy)]
struct Verified {
    user: UserId,
    /// `exp` of the token, seconds since the epoch.
    expires: u64,
}

impl VerifiedTokens {
    /// The user of a token verified before and not expired.
    pub fn get(&self, token: &str) -> Option<UserId> {
        let now = now_secs();
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(token)
            .filter(|verified| now < verified.expires)
            .map(|verified| verified.user)
    }

    pub fn insert(&self, token: &str, user: UserId, expires: u64) {
        let now = now_secs();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, verified| now < verified.expires);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(token.into(), Verified { user, expires });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    const USER: UserId = UserId(Uuid::from_u128(9));

    #[test]
    fn a_token_is_answered_until_it_expires() {
        let verified = VerifiedTokens::default();
        assert_eq!(verified.get("a"), None);
        verified.insert("a", USER, now_secs() + 60);
        assert_eq!(verified.get("a"), Some(USER));
        assert_eq!(verified.get("b"), None);
        verified.insert("old", USER, now_secs());
        assert_eq!(verified.get("old"), None);
    }

    #[test]
    fn a_full_map_drops_expired_tokens_first() {
        let verified = VerifiedTokens::default();
        verified.insert("live", USER, now_secs() + 60);
        for n in 1..CAPACITY {
            verified.insert(&format!("expired-{n}"), USER, 0);
        }
        verified.insert("new", USER, now_secs() + 60);
        assert_eq!(verified.len(), 2);
        assert_eq!(verified.get("live"), Some(USER));
        assert_eq!(verified.get("new"), Some(USER));
    }
}
