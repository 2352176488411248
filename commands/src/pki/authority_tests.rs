use x509_cert::crl::CertificateList;
use x509_cert::der::Decode;

use super::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn parse(pem: &str) -> Certificate {
    Certificate::from_pem(pem.as_bytes()).unwrap()
}

#[test]
fn a_generated_ca_is_made_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = CertAuthority::open(None, None, dir.path()).unwrap();
    let again = CertAuthority::open(None, None, dir.path()).unwrap();
    assert_eq!(first.cert_pem(), again.cert_pem());
    let mode = std::fs::metadata(dir.path().join("certs/ca.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
}

#[test]
fn issued_certificates_name_the_key_and_chain_to_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertAuthority::open(None, None, dir.path()).unwrap();
    let issued = ca
        .issue(
            "thing-key-1",
            KeySpec::Ecdsa(256),
            Duration::from_secs(3600),
            now(),
        )
        .unwrap();
    let cert = parse(&issued.cert_pem);
    let ca_cert = parse(ca.cert_pem());
    assert_eq!(cert.tbs_certificate.issuer, ca_cert.tbs_certificate.subject);
    assert_eq!(
        hex::encode(cert.tbs_certificate.serial_number.as_bytes()),
        issued.serial
    );
    assert_eq!(issued.serial.len(), 32);
    assert!(issued.key_pem.contains("PRIVATE KEY"));
    assert!(
        cert.tbs_certificate
            .subject
            .to_string()
            .contains("thing-key-1")
    );
}

#[test]
fn an_operator_ca_is_read_and_a_foreign_key_refused() {
    let dir = tempfile::tempdir().unwrap();
    let generated = CertAuthority::open(None, None, dir.path()).unwrap();
    let (cert, key) = (
        dir.path().join("certs/ca.crt"),
        dir.path().join("certs/ca.key"),
    );
    let operator = CertAuthority::open(Some(&cert), Some(&key), Path::new("/nonexistent")).unwrap();
    assert_eq!(operator.cert_pem(), generated.cert_pem());
    let other = tempfile::tempdir().unwrap();
    CertAuthority::open(None, None, other.path()).unwrap();
    let error = CertAuthority::open(
        Some(&cert),
        Some(&other.path().join("certs/ca.key")),
        dir.path(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("FF_CERTS_CA_KEY"), "{error}");
    let error = CertAuthority::open(Some(&cert), None, dir.path()).unwrap_err();
    assert!(error.to_string().contains("set both"), "{error}");
}

#[test]
fn rsa_keys_are_issued_too() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertAuthority::open(None, None, dir.path()).unwrap();
    let issued = ca
        .issue("k", KeySpec::Rsa(2048), Duration::from_secs(3600), now())
        .unwrap();
    let cert = parse(&issued.cert_pem);
    assert_eq!(
        cert.tbs_certificate
            .subject_public_key_info
            .algorithm
            .oid
            .to_string(),
        "1.2.840.113549.1.1.1"
    );
}

#[test]
fn the_crl_lists_revoked_serials_signed_by_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertAuthority::open(None, None, dir.path()).unwrap();
    let revoked = [super::super::Revoked {
        serial: "7f01".into(),
        at: now(),
    }];
    let der = ca.crl(&revoked, 7, now()).unwrap();
    let crl = CertificateList::from_der(&der).unwrap();
    let entries = crl.tbs_cert_list.revoked_certificates.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(hex::encode(entries[0].serial_number.as_bytes()), "7f01");
    assert_eq!(
        crl.tbs_cert_list.issuer,
        parse(ca.cert_pem()).tbs_certificate.subject
    );
}
