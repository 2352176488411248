//! Tokens this server must refuse: unsigned, or signed with another secret.

use std::time::Duration;

use commands::auth::Tokens;
use domain::ids::UserId;
use uuid::Uuid;

/// An unsigned token (`alg: none`) naming `user`, with valid claims otherwise.
pub fn unsigned_token(user: &str) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = format!(r#"{{"iss":"ferroflux","sub":"{user}","iat":0,"exp":4000000000}}"#);
    format!("{header}.{}.", base64url(claims.as_bytes()))
}

/// A token for `user` signed with a secret this server does not have.
pub fn foreign_token(user: &str) -> String {
    let user = UserId(Uuid::parse_str(user).expect("user id"));
    Tokens::new(b"not-this-servers-secret", Duration::from_secs(3600)).issue(user)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
