//! What an issued certificate must repeat of its CA: the CA's subject, byte for byte as
//! the verifier compares names, and its subject key identifier (for the authority key
//! identifier). Read with x509-cert, which is already in the tree, rather than rcgen's
//! optional x509-parser stack.

use rcgen::string::{Ia5String, PrintableString, TeletexString};
use rcgen::{DistinguishedName, DnType, DnValue};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Tag, Tagged};
use x509_cert::ext::pkix::SubjectKeyIdentifier;

/// id-ce-subjectKeyIdentifier.
const SUBJECT_KEY_IDENTIFIER: x509_cert::der::asn1::ObjectIdentifier =
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.14");

/// The CA's subject as rcgen writes an issuer. Refuses what rcgen cannot repeat exactly
/// (an attribute type twice, BMP or universal strings), which would make every issued
/// certificate fail to chain.
pub fn subject(ca: &Certificate) -> Result<DistinguishedName, String> {
    let mut name = DistinguishedName::new();
    for attribute in ca
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
    {
        let arcs: Vec<u64> = attribute.oid.arcs().map(u64::from).collect();
        let kind = DnType::from_oid(&arcs);
        if name.get(&kind).is_some() {
            return Err(format!("the subject repeats {}", attribute.oid));
        }
        let text = std::str::from_utf8(attribute.value.value())
            .map_err(|_| format!("subject {} is not text", attribute.oid))?
            .to_owned();
        let unsupported = |_| format!("subject {} cannot be repeated", attribute.oid);
        let value = match attribute.value.tag() {
            Tag::Utf8String => DnValue::Utf8String(text),
            Tag::PrintableString => {
                DnValue::PrintableString(PrintableString::try_from(text).map_err(unsupported)?)
            }
            Tag::Ia5String => DnValue::Ia5String(Ia5String::try_from(text).map_err(unsupported)?),
            Tag::TeletexString => {
                DnValue::TeletexString(TeletexString::try_from(text).map_err(unsupported)?)
            }
            other => return Err(format!("subject {} is a {other}", attribute.oid)),
        };
        name.push(kind, value);
    }
    Ok(name)
}

/// The CA's subject key identifier, if it has one.
pub fn key_identifier(ca: &Certificate) -> Option<Vec<u8>> {
    let extensions = ca.tbs_certificate.extensions.as_ref()?;
    let extension = extensions
        .iter()
        .find(|e| e.extn_id == SUBJECT_KEY_IDENTIFIER)?;
    let identifier = SubjectKeyIdentifier::from_der(extension.extn_value.as_bytes()).ok()?;
    Some(identifier.0.as_bytes().to_vec())
}
