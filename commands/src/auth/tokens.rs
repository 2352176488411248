//! User tokens: HS256 JWTs. Only HS256 with our secret is accepted (never `none`), and
//! `exp` is required.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::ids::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "ferroflux";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Missing, malformed, expired, wrongly signed: the client must log in again (401).
    #[error("missing or invalid token")]
    Invalid,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: UserId,
    iat: u64,
    exp: u64,
}

#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
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
        }
    }

    pub fn issue(&self, user: UserId) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: user,
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        // HS256 encoding of plain claims with a byte secret cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    pub fn verify(&self, token: &str) -> Result<UserId, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims.sub)
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
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(tokens(b"one").verify(&expired), Err(TokenError::Invalid));
        assert_eq!(tokens(b"one").verify("garbage"), Err(TokenError::Invalid));
    }
}
