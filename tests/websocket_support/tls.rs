//! A throwaway CA and a server certificate for 127.0.0.1 (openssl, as tests/tls.rs makes
//! them), and a WebSocket client over rustls trusting that CA only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn openssl(args: &[&str]) {
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

/// `(ca.pem, server.pem, server.key)` in `dir`.
pub fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name);
    let text = |p: &PathBuf| p.to_str().unwrap().to_owned();
    let (ca, ca_key) = (path("ca.pem"), path("ca.key"));
    let (cert, key, csr, ext) = (
        path("server.pem"),
        path("server.key"),
        path("server.csr"),
        path("server.ext"),
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                &text(&ca_key),
                "-out",
                &text(&ca),
                "-days",
                "2",
                "-subj",
                "/CN=ws-test-ca",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
        keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                &text(&key),
                "-out",
                &text(&csr),
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        &text(&csr),
        "-CA",
        &text(&ca),
        "-CAkey",
        &text(&ca_key),
        "-CAcreateserial",
        "-out",
        &text(&cert),
        "-days",
        "2",
        "-extfile",
        &text(&ext),
    ]);
    (ca, cert, key)
}

/// A WebSocket over TLS to `url` (`wss://127.0.0.1:port/…`), trusting only `ca`.
pub async fn open_wss(url: &str, ca: &Path, key: &str) -> WebSocketStream<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Thing {key}").parse().unwrap());
    let authority = request.uri().authority().unwrap().as_str().to_owned();
    let tcp = TcpStream::connect(&authority).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let (socket, _) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("WSS upgrade");
    socket
}
