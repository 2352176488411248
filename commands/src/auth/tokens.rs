//! User tokens: HS256 JWTs. Only HS256 with our secret is accepted (never `none`), and
//! `exp` is required.
//!
//! Two kinds, as Mainflux's login (`type 0`) and recovery (`type 1`) keys: a login token
//! opens the API; a recovery token, mailed for a password reset, lives 5 minutes and only
//! resets a password. Each is refused where the other is expected. A recovery token also
//! carries a fingerprint of the password hash it was issued under, so it stops working once
//! the password changes: it resets at most once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::ids::PasswordHash;
use domain::ids::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::verified::VerifiedTokens;

const ISSUER: &str = "ferroflux";

/// How long a mailed password-reset link works (Mainflux's recovery key: 5 minutes).
pub const RECOVERY_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Missing, malformed, expired, wrongly signed: the client must log in again (401).
    #[error("missing or invalid token")]
    Invalid,
}

/// A token without `kind` is a login token: every token issued before recovery tokens
/// existed was one, and a recovery token always names its kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    #[default]
    Login,
    Recovery,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: UserId,
    iat: u64,
    exp: u64,
    #[serde(default)]
    kind: Kind,
    /// Recovery tokens: `password_fingerprint` of the hash they were issued under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pwd: Option<String>,
}

/// What a valid recovery token says: whose password, and which password it may replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub user: UserId,
    pub fingerprint: String,
}

/// A short digest of a password hash (itself salted): it ties a recovery token to one
/// password without putting the hash in a token.
pub fn password_fingerprint(hash: &PasswordHash) -> String {
    hex::encode(&Sha256::digest(hash.0.as_bytes())[..16])
}

#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    verified: VerifiedTokens,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            verified: VerifiedTokens::default(),
        }
    }

    pub fn issue(&self, user: UserId) -> String {
        self.sign(user, SystemTime::now(), self.ttl, Kind::Login, None)
    }

    /// A password-reset token for `user`, valid `RECOVERY_TTL` and only while the password
    /// hash has this fingerprint.
    pub fn issue_recovery(&self, user: UserId, fingerprint: &str) -> String {
        self.issue_recovery_at(user, fingerprint, SystemTime::now())
    }

    /// `issue_recovery` as if issued at `now` (a clock passed in, so expiry is testable).
    pub fn issue_recovery_at(&self, user: UserId, fingerprint: &str, now: SystemTime) -> String {
        let pwd = Some(fingerprint.to_owned());
        self.sign(user, now, RECOVERY_TTL, Kind::Recovery, pwd)
    }

    fn sign(
        &self,
        user: UserId,
        now: SystemTime,
        ttl: Duration,
        kind: Kind,
        pwd: Option<String>,
    ) -> String {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: user,
            iat: now,
            exp: now + ttl.as_secs(),
            kind,
            pwd,
        };
        // HS256 encoding of plain claims with a byte secret cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// The user behind a login token; a recovery token is refused.
    pub fn verify(&self, token: &str) -> Result<UserId, TokenError> {
        if let Some(user) = self.verified.get(token) {
            return Ok(user);
        }
        match self.claims(token)? {
            Claims {
                kind: Kind::Login,
                sub,
                exp,
                ..
            } => {
                self.verified.insert(token, sub, exp);
                Ok(sub)
            }
            _ => Err(TokenError::Invalid),
        }
    }

    /// What a recovery token allows; a login token is refused.
    pub fn verify_recovery(&self, token: &str) -> Result<Recovery, TokenError> {
        match self.claims(token)? {
            Claims {
                kind: Kind::Recovery,
                sub,
                pwd: Some(fingerprint),
                ..
            } => Ok(Recovery {
                user: sub,
                fingerprint,
            }),
            _ => Err(TokenError::Invalid),
        }
    }

    fn claims(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use uuid::Uuid;

    use super::*;

    const USER: UserId = UserId(Uuid::from_u128(5));

    fn tokens(secret: &[u8]) -> Tokens {
        Tokens::new(secret, Duration::from_secs(3600))
    }

    #[test]
    fn issued_tokens_verify_under_the_same_secret_only() {
        let token = tokens(b"one").issue(USER);
        assert_eq!(tokens(b"one").verify(&token), Ok(USER));
        assert_eq!(tokens(b"two").verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_and_expired_tokens_are_refused() {
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let far = 4_000_000_000u64;
        let unsigned = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&format!(
                r#"{{"iss":"ferroflux","sub":"{}","iat":0,"exp":{far}}}"#,
                USER.0
            ))
        );
        assert_eq!(tokens(b"one").verify(&unsigned), Err(TokenError::Invalid));

        let expired = Tokens::new(b"one", Duration::ZERO).issue(USER);
        // Verified (and remembered) while valid, refused once expired all the same.
        let short = Tokens::new(b"one", Duration::from_secs(1));
        let short_lived = short.issue(USER);
        assert_eq!(short.verify(&short_lived), Ok(USER));
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(tokens(b"one").verify(&expired), Err(TokenError::Invalid));
        assert_eq!(short.verify(&short_lived), Err(TokenError::Invalid));
        assert_eq!(tokens(b"one").verify("garbage"), Err(TokenError::Invalid));
    }

    #[test]
    fn login_and_recovery_tokens_are_never_taken_for_each_other() {
        let one = tokens(b"one");
        let login = one.issue(USER);
        let recovery = one.issue_recovery(USER, "fp");
        assert_eq!(one.verify(&login), Ok(USER));
        assert_eq!(one.verify(&recovery), Err(TokenError::Invalid));
        assert_eq!(one.verify_recovery(&login), Err(TokenError::Invalid));
        let expected = Recovery {
            user: USER,
            fingerprint: "fp".into(),
        };
        assert_eq!(one.verify_recovery(&recovery), Ok(expected));
        assert_eq!(
            tokens(b"two").verify_recovery(&recovery),
            Err(TokenError::Invalid)
        );
        assert_eq!(one.verify_recovery("garbage"), Err(TokenError::Invalid));
        let issued = SystemTime::now() - RECOVERY_TTL - Duration::from_secs(2);
        let expired = one.issue_recovery_at(USER, "fp", issued);
        assert_eq!(one.verify_recovery(&expired), Err(TokenError::Invalid));
    }

    #[test]
    fn fingerprints_differ_per_hash() {
        let a = password_fingerprint(&PasswordHash("$argon2id$a".into()));
        let b = password_fingerprint(&PasswordHash("$argon2id$b".into()));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
