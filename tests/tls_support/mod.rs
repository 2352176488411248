//! Certificates for the TLS tests, made with the openssl command line (scripts/install-deps
//! installs it) in each test's temporary folder, and a rustls client.

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::process::{self, Server};

pub fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A certificate authority: `(cert, key)`.
pub fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let subject = format!("/CN={name}");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "2",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    (cert, key)
}

/// A server certificate for 127.0.0.1 signed by `ca`, written to `cert` and `key`.
pub fn make_server_cert(dir: &Path, ca: &(PathBuf, PathBuf), cert: &Path, key: &Path) {
    let (csr, ext) = (dir.join("server.csr"), dir.join("server.ext"));
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        "/CN=localhost",
    ]);
    sign(&csr, ca, &ext, cert);
}

/// A fresh CA called `ca_name` and a server certificate it signed, in a temporary folder:
/// `(folder, ca, server cert, server key)`.
pub fn certified(ca_name: &str) -> (tempfile::TempDir, (PathBuf, PathBuf), PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let ca = make_ca(dir.path(), ca_name);
    make_server_cert(dir.path(), &ca, &cert, &key);
    (dir, ca, cert, key)
}

/// The address a startup line gives after `scheme` (`https://`, `mqtts://`).
pub fn listening(server: &Server, line_start: &str, scheme: &str) -> String {
    let line = process::wait_for_line(&server.log, line_start);
    let rest = line.split(scheme).nth(1).unwrap();
    rest.split_whitespace().next().unwrap().to_owned()
}

/// A TLS connection trusting only `ca`, showing `identity` (certificate, key) if given.
pub async fn connect(
    addr: &str,
    ca: &Path,
    identity: Option<&(PathBuf, PathBuf)>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        None => config.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_file(key).unwrap();
            config.with_client_auth_cert(chain, key).unwrap()
        }
    };
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// A device certificate for the thing whose key is `common_name`, signed by `ca`, valid
/// from now for two days: `(cert, key)` named after `name`.
pub fn make_device_cert(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    name: &str,
    common_name: &str,
) -> (PathBuf, PathBuf) {
    let (cert, key, csr) = device_request(dir, name, common_name);
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(&ext, DEVICE_EXTENSIONS).unwrap();
    sign(&csr, ca, &ext, &cert);
    (cert, key)
}

/// A device certificate valid between two fixed UTC times (`YYYYMMDDHHMMSSZ`), signed by
/// `ca` with `openssl ca` (the only openssl 3.0 command that sets both dates).
pub fn make_dated_device_cert(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    name: &str,
    common_name: &str,
    (start, end): (&str, &str),
) -> (PathBuf, PathBuf) {
    let (cert, key, csr) = device_request(dir, name, common_name);
    let db = dir.join(format!("{name}-ca"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    std::fs::write(db.join("serial"), "01\n").unwrap();
    let config = db.join("ca.cnf");
    std::fs::write(
        &config,
        format!(
            "[ca]\ndefault_ca = devices\n[devices]\ndatabase = {db}/index.txt\n\
             new_certs_dir = {db}\nserial = {db}/serial\ndefault_md = sha256\n\
             policy = any\nx509_extensions = device\n[any]\ncommonName = supplied\n\
             [device]\n{DEVICE_EXTENSIONS}",
            db = db.display()
        ),
    )
    .unwrap();
    openssl(&[
        "ca",
        "-batch",
        "-notext",
        "-config",
        config.to_str().unwrap(),
        "-cert",
        ca.0.to_str().unwrap(),
        "-keyfile",
        ca.1.to_str().unwrap(),
        "-in",
        csr.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-startdate",
        start,
        "-enddate",
        end,
    ]);
    (cert, key)
}

const DEVICE_EXTENSIONS: &str = "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n\
                                 extendedKeyUsage = clientAuth\n";

/// A new key and a signing request with subject CN `common_name`: `(cert, key, csr)` paths.
fn device_request(dir: &Path, name: &str, common_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &format!("/CN={common_name}"),
    ]);
    (cert, key, csr)
}

/// The status line of `GET /health` on a kept-alive connection, or `None` when the
/// connection fails.
pub async fn health_status(stream: &mut TlsStream<TcpStream>) -> Option<String> {
    let request = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
    stream.write_all(request).await.ok()?;
    let mut buffer = vec![0; 4096];
    let n = stream.read(&mut buffer).await.ok()?;
    let text = String::from_utf8_lossy(&buffer[..n]).to_string();
    text.lines().next().map(str::to_owned)
}

/// Signs the request `csr` with `ca` for two days, with the extensions in `ext`, into `cert`.
fn sign(csr: &Path, ca: &(PathBuf, PathBuf), ext: &Path, cert: &Path) {
    openssl(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        ca.0.to_str().unwrap(),
        "-CAkey",
        ca.1.to_str().unwrap(),
        "-CAcreateserial",
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "2",
        "-extfile",
        ext.to_str().unwrap(),
    ]);
}
