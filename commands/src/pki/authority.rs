//! The CA: read from the operator's PEM files, or generated once (ECDSA P-256, ten years)
//! into `<data dir>/certs/` and read from there on every later start, so certificates
//! issued before a restart still chain.

use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::cert::KeySpec;
use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

use super::{PkiError, ca_name};

/// Validity of a generated CA.
const GENERATED_CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// A certificate is valid from a minute before it was made: a device whose clock is a
/// little behind accepts it at once.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(1);

/// A freshly issued certificate; the private key leaves only sealed (events) or in the
/// answer to its owner.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Lowercase hex, as `DELETE /certs/{serial}` takes it.
    pub serial: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub expires_at: OffsetDateTime,
}

pub struct CertAuthority {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    /// The CA's subject key identifier: issued certificates and the CRL repeat it as their
    /// authority key identifier (certificates carry none when the CA has none).
    key_identifier: Option<Vec<u8>>,
}

impl std::fmt::Debug for CertAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertAuthority(..)")
    }
}

impl CertAuthority {
    /// The operator's CA when both files are named, else the one in `data_dir/certs/`
    /// (generated there the first time).
    pub fn open(
        cert: Option<&Path>,
        key: Option<&Path>,
        data_dir: &Path,
    ) -> Result<Self, PkiError> {
        match (cert, key) {
            (Some(cert), Some(key)) => Self::read(cert, key, "FF_CERTS_CA_CERT", "FF_CERTS_CA_KEY"),
            (Some(path), None) | (None, Some(path)) => Err(PkiError::Ca {
                setting: "FF_CERTS_CA_CERT / FF_CERTS_CA_KEY",
                path: path.display().to_string(),
                why: "set both, or neither to use a CA generated into the data dir".into(),
            }),
            (None, None) => Self::generated(&data_dir.join("certs")),
        }
    }

    /// The CA certificate, PEM: what devices and listeners trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub(super) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// How the CRL names the CA's key: as the CA certificate does.
    pub(super) fn key_identifier_method(&self) -> KeyIdMethod {
        match &self.key_identifier {
            Some(id) => KeyIdMethod::PreSpecified(id.clone()),
            None => KeyIdMethod::Sha256,
        }
    }

    /// Makes a key pair of `spec` and a client certificate for it with `common_name` as
    /// subject CN, valid from now for `validity`.
    pub fn issue(
        &self,
        common_name: &str,
        spec: KeySpec,
        validity: Duration,
        now: OffsetDateTime,
    ) -> Result<IssuedCert, PkiError> {
        let key = generate_key(spec)?;
        let mut serial = [0u8; 16];
        rand::rng().fill_bytes(&mut serial);
        // Positive and without a leading zero byte: the DER integer is these 16 bytes, so
        // the hex we record is the hex a verifier reads back.
        serial[0] = (serial[0] & 0x7f).max(1);
        let now = now.replace_nanosecond(0).map_err(PkiError::sign)?;
        let expires_at = now + validity;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.not_before = now - CLOCK_SKEW;
        params.not_after = expires_at;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if matches!(spec, KeySpec::Rsa(_)) {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = self.key_identifier.is_some();
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(PkiError::sign)?;
        Ok(IssuedCert {
            serial: hex::encode(serial),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            expires_at,
        })
    }

    fn read(
        cert: &Path,
        key: &Path,
        cert_setting: &'static str,
        key_setting: &'static str,
    ) -> Result<Self, PkiError> {
        let error = |setting, path: &Path| {
            let path = path.display().to_string();
            move |why: String| PkiError::Ca {
                setting,
                path: path.clone(),
                why,
            }
        };
        let cert_error = error(cert_setting, cert);
        let key_error = error(key_setting, key);
        let cert_pem = std::fs::read_to_string(cert).map_err(|e| cert_error(e.to_string()))?;
        let key_pem = std::fs::read_to_string(key).map_err(|e| key_error(e.to_string()))?;
        let parsed = Certificate::from_pem(cert_pem.as_bytes())
            .map_err(|e| cert_error(format!("no PEM certificate: {e}")))?;
        let key_pair = KeyPair::from_pem(&key_pem)
            .map_err(|e| key_error(format!("no usable PEM private key: {e}")))?;
        let public = parsed
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        if public != key_pair.public_key_raw() {
            return Err(key_error(format!(
                "the key does not belong to {}",
                cert.display()
            )));
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = ca_name::subject(&parsed).map_err(&cert_error)?;
        let key_identifier = ca_name::key_identifier(&parsed);
        params.key_identifier_method =
            KeyIdMethod::PreSpecified(key_identifier.clone().unwrap_or_default());
        let cert_der =
            x509_cert::der::Encode::to_der(&parsed).map_err(|e| cert_error(e.to_string()))?;
        Ok(Self {
            cert_pem,
            cert_der,
            issuer: Issuer::new(params, key_pair),
            key_identifier,
        })
    }

    fn generated(dir: &Path) -> Result<Self, PkiError> {
        let (cert, key) = (dir.join("ca.crt"), dir.join("ca.key"));
        if !cert.exists() {
            generate_into(dir, &cert, &key)?;
        }
        Self::read(&cert, &key, "generated CA", "generated CA key").map_err(|e| {
            PkiError::Generated {
                path: dir.display().to_string(),
                why: e.to_string(),
            }
        })
    }
}

fn generate_key(spec: KeySpec) -> Result<KeyPair, PkiError> {
    match spec {
        KeySpec::Ecdsa(384) => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeySpec::Ecdsa(_) => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeySpec::Rsa(bits) => {
            use rsa::pkcs8::EncodePrivateKey;
            let private = rsa::RsaPrivateKey::new(&mut rand_core_06::OsRng, bits as usize)
                .map_err(PkiError::sign)?;
            let der = private.to_pkcs8_der().map_err(PkiError::sign)?;
            KeyPair::try_from(der.as_bytes())
        }
    }
    .map_err(PkiError::sign)
}

/// Makes the CA and writes it (the key readable by the owner only). Written to temporary
/// names and renamed, so a crash leaves no half CA that the next start would trust.
fn generate_into(dir: &Path, cert: &PathBuf, key: &PathBuf) -> Result<(), PkiError> {
    let error = |why: String| PkiError::Generated {
        path: dir.display().to_string(),
        why,
    };
    let key_pair =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| error(e.to_string()))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Ferroflux");
    params
        .distinguished_name
        .push(DnType::CommonName, "Ferroflux device certificates CA");
    let now = OffsetDateTime::now_utc();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + GENERATED_CA_VALIDITY;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let certificate = params
        .self_signed(&key_pair)
        .map_err(|e| error(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
    write_private(
        &key.with_extension("key.tmp"),
        key_pair.serialize_pem().as_bytes(),
    )
    .map_err(|e| error(e.to_string()))?;
    std::fs::write(cert.with_extension("crt.tmp"), certificate.pem())
        .map_err(|e| error(e.to_string()))?;
    std::fs::rename(key.with_extension("key.tmp"), key).map_err(|e| error(e.to_string()))?;
    std::fs::rename(cert.with_extension("crt.tmp"), cert).map_err(|e| error(e.to_string()))?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[path = "authority_tests.rs"]
mod tests;
