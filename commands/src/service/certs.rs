//! Client certificates (`/certs`): issue one for a thing from the CA, list a thing's,
//! revoke one, and the CRL.
//!
//! Issuing is one decision over the thing (the caller's, read from its stream) and its
//! certificates (`certs-<thing_id>`). Should the thing be removed between the two, the
//! certificate is still revoked by the registry, which folds `thing.remove` in either order.

use std::sync::Arc;
use std::time::Duration;

use domain::cert::{self, CertCommand, CertsState, KeySpec, NewCert};
use domain::ids::{ThingId, UserId};
use domain::thing::{self, ThingState};
use domain::{DomainError, Event};
use projections::Projection;
use projections::certs::CertRow;
use projections::views::Page;
use time::OffsetDateTime;

use super::{CommandMeta, Service, ServiceError};
use crate::pki::{CertAuthority, PkiError, Revoked};

/// A certificate just issued, as its owner receives it once (the key is sealed at rest).
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    pub thing_id: ThingId,
    pub serial: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
    pub expires_at: OffsetDateTime,
}

impl From<PkiError> for ServiceError {
    fn from(error: PkiError) -> Self {
        ServiceError::Internal(error.to_string())
    }
}

impl Service {
    fn signing_ca(&self) -> Result<&Arc<CertAuthority>, ServiceError> {
        self.certs_ca
            .as_ref()
            .ok_or_else(|| ServiceError::Unavailable("no certificate authority configured".into()))
    }

    /// Issues a certificate for the caller's thing: CN = the thing's key.
    pub async fn issue_cert(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        thing_id: ThingId,
        key: KeySpec,
        validity: Duration,
    ) -> Result<IssuedCertificate, ServiceError> {
        let ca = self.signing_ca()?.clone();
        if let Some(done) = self.replayed(meta).await? {
            return self
                .recorded_cert(actor, thing_id, done.last_position)
                .await;
        }
        let (thing, _) = self
            .load::<ThingState>(&thing_id.stream(), thing::apply)
            .await?;
        let owned = thing.owned_by(actor)?;
        let thing_key = self
            .vault
            .open(&owned.key.sealed_key)
            .ok_or_else(|| ServiceError::Internal("thing key does not open".into()))?;
        // RSA key generation takes a core for a while: off the async workers.
        let issued = tokio::task::spawn_blocking(move || {
            ca.issue(&thing_key, key, validity, OffsetDateTime::now_utc())
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let command = CertCommand::Issue {
            actor,
            cert: NewCert {
                serial: issued.serial.clone(),
                cert: issued.cert_pem.clone(),
                private_key: self.vault.seal(&issued.key_pem),
                key,
                expires_at: issued.expires_at,
            },
        };
        let appended = self
            .execute(meta, cert::stream(thing_id), cert::apply, |certs| {
                cert::decide(&thing, certs, &command)
            })
            .await?;
        match appended {
            Some(done) if done.duplicate => {
                self.recorded_cert(actor, thing_id, done.last_position)
                    .await
            }
            _ => Ok(IssuedCertificate {
                thing_id,
                serial: issued.serial,
                cert_pem: issued.cert_pem,
                key_pem: issued.key_pem,
                ca_pem: self.signing_ca()?.cert_pem().to_owned(),
                expires_at: issued.expires_at,
            }),
        }
    }

    /// A retried issue answers the certificate the first try recorded, not a new one.
    async fn recorded_cert(
        &self,
        actor: UserId,
        thing_id: ThingId,
        position: u64,
    ) -> Result<IssuedCertificate, ServiceError> {
        let recorded = self.log.read_stream(&cert::stream(thing_id)).await?;
        let event = recorded
            .iter()
            .find(|r| r.position == position)
            .map(projections::runner::decode)
            .transpose()?;
        match event {
            Some(Event::CertIssued {
                owner,
                serial,
                cert,
                private_key,
                expires_at,
                ..
            }) if owner == actor => Ok(IssuedCertificate {
                thing_id,
                serial,
                cert_pem: cert,
                key_pem: self.vault.open(&private_key).ok_or_else(|| {
                    ServiceError::Internal("certificate key does not open".into())
                })?,
                ca_pem: self.signing_ca()?.cert_pem().to_owned(),
                expires_at,
            }),
            _ => Err(ServiceError::conflict(
                "Idempotency-Key was used for another request",
            )),
        }
    }

    /// The certificates of the caller's thing, oldest first.
    pub async fn certs_of_thing(
        &self,
        actor: UserId,
        thing_id: ThingId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<CertRow>, ServiceError> {
        self.views
            .thing(actor, thing_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(self.certs.list(thing_id, offset, limit))
    }

    /// Revokes one of the caller's certificates; answers when it was revoked (the first
    /// time, for a repeated revoke). Effective at the next TLS handshake.
    pub async fn revoke_cert(
        &self,
        meta: &CommandMeta,
        actor: UserId,
        serial: &str,
    ) -> Result<OffsetDateTime, ServiceError> {
        let row = cert::is_serial(serial)
            .then(|| self.certs.cert(serial))
            .flatten()
            .filter(|row| row.owner == actor)
            .ok_or(DomainError::NotFound)?;
        let (thing, _) = self
            .load::<ThingState>(&row.thing_id.stream(), thing::apply)
            .await?;
        let command = CertCommand::Revoke {
            actor,
            serial: serial.to_owned(),
            at: OffsetDateTime::now_utc(),
        };
        self.execute(
            meta,
            cert::stream(row.thing_id),
            cert::apply,
            |certs: &CertsState| cert::decide(&thing, certs, &command),
        )
        .await?;
        self.certs
            .cert(serial)
            .and_then(|row| row.revoked_at)
            .ok_or_else(|| ServiceError::Internal("revocation not projected".into()))
    }

    /// The CRL (DER) of every revoked certificate, signed by the CA.
    pub fn crl(&self) -> Result<Vec<u8>, ServiceError> {
        let revoked: Vec<Revoked> = self
            .certs
            .revoked()
            .into_iter()
            .filter_map(|row| {
                Some(Revoked {
                    at: row.revoked_at?,
                    serial: row.serial,
                })
            })
            .collect();
        let number = self.certs.checkpoint();
        Ok(self
            .signing_ca()?
            .crl(&revoked, number, OffsetDateTime::now_utc())?)
    }
}
