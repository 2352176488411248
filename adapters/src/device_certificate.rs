//! Device certificates (mTLS): a TLS client certificate that chains to `FF_TLS_CLIENT_CA`
//! and whose subject CN is a thing key authenticates that thing, as in Mainflux's x509
//! deployments, so their device certificates keep working.
//!
//! The TLS listener verifies the chain and looks the CN up once per connection; every
//! adapter then treats the CN as the key the client presented. A key the client also sends
//! (`Authorization`, MQTT password, `?authorization=`) must be the same one: a device
//! cannot borrow another thing's key behind its own certificate.

use std::sync::Arc;

use domain::ids::ThingId;
use subtle::ConstantTimeEq;

use crate::pipeline::PublishError;

/// The thing a connection's client certificate authenticated. Put into each request's
/// extensions by the HTTPS listener.
#[derive(Debug, Clone)]
pub struct DeviceCertificate {
    pub thing: ThingId,
    /// The certificate's CN: the thing's key when the connection was made. A key change
    /// afterwards refuses the next publish, since the pipeline checks the key every time.
    pub key: Arc<str>,
}

impl DeviceCertificate {
    /// The key a request authenticates with: the certificate's when there is one (a key
    /// sent as well must equal it), else the key sent, else none.
    pub fn presented_key<'a>(
        certificate: Option<&'a Self>,
        sent: Option<&'a str>,
    ) -> Result<&'a str, PublishError> {
        match (certificate, sent) {
            (Some(certificate), Some(sent)) if !certificate.matches(sent) => {
                Err(PublishError::Unauthenticated)
            }
            (Some(certificate), _) => Ok(&certificate.key),
            (None, Some(sent)) if !sent.is_empty() => Ok(sent),
            (None, _) => Err(PublishError::Unauthenticated),
        }
    }

    /// Is `sent` this certificate's key? In constant time, as every key check.
    pub fn matches(&self, sent: &str) -> bool {
        bool::from(self.key.as_bytes().ct_eq(sent.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(key: &str) -> DeviceCertificate {
        DeviceCertificate {
            thing: ThingId(uuid::Uuid::nil()),
            key: key.into(),
        }
    }

    #[test]
    fn the_certificate_key_is_used_when_nothing_else_is_sent() {
        let cert = certificate("k1");
        assert_eq!(
            DeviceCertificate::presented_key(Some(&cert), None),
            Ok("k1")
        );
        assert_eq!(
            DeviceCertificate::presented_key(Some(&cert), Some("k1")),
            Ok("k1")
        );
    }

    #[test]
    fn a_sent_key_must_match_the_certificate() {
        let cert = certificate("k1");
        assert_eq!(
            DeviceCertificate::presented_key(Some(&cert), Some("k2")),
            Err(PublishError::Unauthenticated)
        );
        assert_eq!(
            DeviceCertificate::presented_key(Some(&cert), Some("")),
            Err(PublishError::Unauthenticated)
        );
    }

    #[test]
    fn without_a_certificate_the_sent_key_counts() {
        assert_eq!(DeviceCertificate::presented_key(None, Some("k2")), Ok("k2"));
        assert_eq!(
            DeviceCertificate::presented_key(None, Some("")),
            Err(PublishError::Unauthenticated)
        );
        assert_eq!(
            DeviceCertificate::presented_key(None, None),
            Err(PublishError::Unauthenticated)
        );
    }
}
