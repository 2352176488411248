//! The certificate authority behind `POST /certs`: it issues client certificates whose
//! subject CN is a thing key (what the TLS listeners' device-certificate login reads) and
//! signs the CRL of `GET /certs/crl`.
//!
//! Layout:
//! - `authority`: `CertAuthority`, the operator's CA (`FF_CERTS_CA_CERT` / `FF_CERTS_CA_KEY`)
//!   or one generated once into the data dir; issuing.
//! - `ca_name`: the issuer name and key identifier read from the operator's CA certificate.
//! - `crl`: the signed revocation list.
//!
//! rcgen on ring signs (as rustls, no aws-lc, no OpenSSL); RSA keys come from the `rsa`
//! crate, since ring cannot generate them.

mod authority;
mod ca_name;
mod crl;

pub use authority::{CertAuthority, IssuedCert};
pub use crl::Revoked;

/// Why the CA could not be read or made, or a certificate not be signed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The operator's CA files are unusable (fix the setting named; the server does not
    /// start).
    #[error("{setting}={path}: {why}")]
    Ca {
        setting: &'static str,
        path: String,
        why: String,
    },
    /// The generated CA in the data dir could not be written or read back.
    #[error("certificate authority in {path}: {why}")]
    Generated { path: String, why: String },
    /// Key generation or signing failed (a bug or an exhausted system RNG): retry.
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl PkiError {
    fn sign(error: impl std::fmt::Display) -> Self {
        PkiError::Sign(error.to_string())
    }
}
