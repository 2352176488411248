//! The certificates of one thing (stream `certs-<thing_id>`): client certificates issued
//! from the operator's CA for mTLS logins, and their revocation.
//!
//! Issuing is one decision over two states: the thing (it must be the caller's) and its
//! certificates (a serial is issued once). The command layer makes the key pair and signs
//! the certificate before `decide` (randomness and a clock are not allowed here) and seals
//! the private key: the events carry the certificate, never the plaintext key.
//!
//! A removed thing's certificates count as revoked from its `thing.remove` on: that follows
//! from the events (the projections fold it), so no `cert.revoke` is written for them.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::DomainError;
use crate::event::Event;
use crate::ids::{SealedKey, ThingId, UserId};
use crate::thing::ThingState;

/// Longest validity a certificate may be issued with (ten years).
pub const MAX_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Mainflux's default validity (`MF_CERTS_SIGN_HOURS_VALID`).
pub const DEFAULT_VALIDITY: &str = "2048h";
/// Hex digits of a serial we issue (20 bytes at most, RFC 5280).
const MAX_SERIAL_HEX: usize = 40;

/// Key algorithm of an issued certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA with 2048, 3072 or 4096 bits (Mainflux's default: `rsa`, 2048).
    Rsa(u32),
    /// ECDSA on P-256 or P-384 (`key_type` `ecdsa` or `ec`, `key_bits` 256 or 384).
    Ecdsa(u32),
}

impl KeySpec {
    /// Reads `key_type` / `key_bits` as Mainflux's request has them; absent means RSA 2048.
    pub fn parse(key_type: Option<&str>, key_bits: Option<u32>) -> Result<Self, DomainError> {
        let invalid = |why: &str| Err(DomainError::Invalid(why.into()));
        match key_type.unwrap_or("rsa") {
            "rsa" | "" => match key_bits.unwrap_or(2048) {
                bits @ (2048 | 3072 | 4096) => Ok(KeySpec::Rsa(bits)),
                _ => invalid("key_bits for rsa must be 2048, 3072 or 4096"),
            },
            "ecdsa" | "ec" => match key_bits.unwrap_or(256) {
                bits @ (256 | 384) => Ok(KeySpec::Ecdsa(bits)),
                _ => invalid("key_bits for ecdsa must be 256 or 384"),
            },
            _ => invalid("key_type must be rsa or ecdsa"),
        }
    }

    pub fn key_type(&self) -> &'static str {
        match self {
            KeySpec::Rsa(_) => "rsa",
            KeySpec::Ecdsa(_) => "ecdsa",
        }
    }

    pub fn bits(&self) -> u32 {
        match self {
            KeySpec::Rsa(bits) | KeySpec::Ecdsa(bits) => *bits,
        }
    }
}

/// Reads a validity as Mainflux's `valid` field has it, a Go duration (`"2048h"`,
/// `"90m"`, `"1h30m"`, `"3600s"`): at least a minute, at most `MAX_VALIDITY`.
pub fn parse_validity(text: &str) -> Result<Duration, DomainError> {
    let invalid = || DomainError::Invalid("valid must be a duration such as \"2048h\"".into());
    let (mut total, mut digits) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    let validity = Duration::from_secs(total);
    if validity < Duration::from_secs(60) || validity > MAX_VALIDITY {
        return Err(DomainError::Invalid(
            "valid must be between 1m and 87600h".into(),
        ));
    }
    Ok(validity)
}

/// The stream holding the certificates of `thing`.
pub fn stream(thing: ThingId) -> String {
    format!("certs-{}", thing.0)
}

/// Is `serial` one we could have issued: lowercase hex, at most 20 bytes?
pub fn is_serial(serial: &str) -> bool {
    !serial.is_empty()
        && serial.len() <= MAX_SERIAL_HEX
        && serial
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One issued certificate as the aggregate remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Every certificate issued for one thing, by serial.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertsState {
    pub certs: BTreeMap<String, IssuedCert>,
}

/// A signed certificate, made by the command layer, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCert {
    pub serial: String,
    /// PEM.
    pub cert: String,
    pub private_key: SealedKey,
    pub key: KeySpec,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub enum CertCommand {
    Issue {
        actor: UserId,
        cert: NewCert,
    },
    Revoke {
        actor: UserId,
        serial: String,
        /// The clock, passed in.
        at: OffsetDateTime,
    },
}

/// `thing` is the state of the thing the certificates are for; `certs` its certificates.
pub fn decide(
    thing: &ThingState,
    certs: &CertsState,
    command: &CertCommand,
) -> Result<Vec<Event>, DomainError> {
    match command {
        CertCommand::Issue { actor, cert } => {
            let thing = thing.owned_by(*actor)?;
            if !is_serial(&cert.serial) {
                return Err(DomainError::Invalid("malformed serial".into()));
            }
            if certs.certs.contains_key(&cert.serial) {
                return Err(DomainError::Conflict("serial already issued".into()));
            }
            Ok(vec![Event::CertIssued {
                thing_id: thing.id,
                owner: thing.owner,
                serial: cert.serial.clone(),
                cert: cert.cert.clone(),
                private_key: cert.private_key.clone(),
                key_type: cert.key.key_type().into(),
                key_bits: cert.key.bits(),
                expires_at: cert.expires_at,
            }])
        }
        CertCommand::Revoke { actor, serial, at } => {
            let thing = thing.owned_by(*actor)?;
            match certs.certs.get(serial) {
                None => Err(DomainError::NotFound),
                // Revoking twice changes nothing: the first revocation time stays.
                Some(IssuedCert {
                    revoked_at: Some(_),
                    ..
                }) => Ok(vec![]),
                Some(_) => Ok(vec![Event::CertRevoked {
                    thing_id: thing.id,
                    serial: serial.clone(),
                    revoked_at: *at,
                }]),
            }
        }
    }
}

pub fn apply(mut state: CertsState, event: &Event) -> CertsState {
    match event {
        Event::CertIssued {
            serial, expires_at, ..
        } => {
            state.certs.entry(serial.clone()).or_insert(IssuedCert {
                expires_at: *expires_at,
                revoked_at: None,
            });
        }
        Event::CertRevoked {
            serial, revoked_at, ..
        } => {
            if let Some(cert) = state.certs.get_mut(serial) {
                cert.revoked_at.get_or_insert(*revoked_at);
            }
        }
        _ => {}
    }
    state
}

#[cfg(test)]
#[path = "cert_tests.rs"]
mod tests;
