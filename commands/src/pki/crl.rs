//! The CRL (`GET /certs/crl`): every revoked serial with its revocation time, signed by
//! the CA, DER-encoded (RFC 5280 §5, as CRL distribution points serve it).

use std::time::Duration;

use rcgen::{CertificateRevocationListParams, RevokedCertParams, SerialNumber};
use time::OffsetDateTime;

use super::{CertAuthority, PkiError};

/// When the CRL says the next one is due; clients that cache it refetch after this. The
/// listeners themselves never wait for it: they check the live revoked set.
const NEXT_UPDATE: Duration = Duration::from_secs(3600);

/// One CRL entry.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// Lowercase hex.
    pub serial: String,
    pub at: OffsetDateTime,
}

impl CertAuthority {
    /// Signs a CRL of `revoked`. `number` must grow with every change (the log position of
    /// the latest event the list reflects does).
    pub fn crl(
        &self,
        revoked: &[Revoked],
        number: u64,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, PkiError> {
        let revoked_certs = revoked
            .iter()
            .filter_map(|r| {
                Some(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&hex::decode(&r.serial).ok()?),
                    revocation_time: r.at.replace_nanosecond(0).ok()?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect();
        let now = now.replace_nanosecond(0).map_err(PkiError::sign)?;
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + NEXT_UPDATE,
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: self.key_identifier_method(),
        };
        let crl = params.signed_by(self.issuer()).map_err(PkiError::sign)?;
        Ok(crl.der().to_vec())
    }
}
