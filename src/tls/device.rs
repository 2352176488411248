//! The thing a device certificate names: the subject's CN carries the thing key, as in
//! Mainflux's x509 deployments (`openssl req -subj "/CN=<thing key>"`); and its serial,
//! which the revoked set of `POST /certs` certificates is keyed by.

use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Tag, Tagged};

/// id-at-commonName (RFC 4519).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// What a verified client certificate says about its device.
pub struct Presented {
    /// The subject CN: a thing key.
    pub key: String,
    /// The serial number, lowercase hex as `DELETE /certs/{serial}` takes it.
    pub serial: String,
}

/// The subject CN (the first, if several) and serial of a DER certificate. `None` for a
/// certificate that does not parse or has no textual CN; rustls has already verified the
/// chain, so this only reads.
pub fn presented(der: &[u8]) -> Option<Presented> {
    let certificate = Certificate::from_der(der).ok()?;
    let serial = hex::encode(certificate.tbs_certificate.serial_number.as_bytes());
    let key = common_name(&certificate)?;
    Some(Presented { key, serial })
}

fn common_name(certificate: &Certificate) -> Option<String> {
    let subject = &certificate.tbs_certificate.subject;
    let value = subject
        .0
        .iter()
        .flat_map(|names| names.0.iter())
        .find(|attribute| attribute.oid == COMMON_NAME)
        .map(|attribute| &attribute.value)?;
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        _ => None,
    }
}
