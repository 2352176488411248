//! Certificates issued by the server (`POST /certs`) on the real binary, with curl and
//! mosquitto as a device runs them: a certificate from `POST /certs` logs its thing in on
//! HTTPS and MQTTS with no `FF_TLS_CLIENT_CA` set (the listeners trust the CA of /certs);
//! `DELETE /certs/{serial}` makes the next handshake fail; the CRL lists the serial; a
//! restart replays the log into the same revoked set, and the generated CA is reused.

mod process;
mod tls_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use process::{Server, User};
use serde_json::{Value, json};
use tls_support::{certified, listening};
use x509_cert::crl::CertificateList;
use x509_cert::der::Decode;

const KEY: &str = "certified-device-key";

struct Device {
    https: String,
    mqtts: (String, String),
    server_ca: PathBuf,
    channel: String,
}

fn start(data: &Path, cert: &Path, key: &Path) -> Server {
    let env = [
        ("FF_TLS_CERT", cert.to_str().unwrap()),
        ("FF_TLS_KEY", key.to_str().unwrap()),
        ("FF_HTTPS_ADDR", "127.0.0.1:0"),
        ("FF_MQTTS_ADDR", "127.0.0.1:0"),
    ];
    Server::start_with(data, &env)
}

impl Device {
    fn at(server: &Server, server_ca: &Path, channel: &str) -> Device {
        let https = listening(server, "HTTPS API listening on https://", "https://");
        let mqtts = listening(server, "MQTTS listening on mqtts://", "mqtts://");
        let (host, port) = mqtts.rsplit_once(':').unwrap();
        Device {
            https,
            mqtts: (host.to_owned(), port.to_owned()),
            server_ca: server_ca.to_owned(),
            channel: channel.to_owned(),
        }
    }

    /// curl publishing over HTTPS with the certificate only: `(exit ok, body+status)`.
    fn curl_publish(&self, identity: &(PathBuf, PathBuf)) -> (bool, String) {
        let output = Command::new("curl")
            .args(["-sS", "-w", " %{http_code}", "--cacert"])
            .arg(&self.server_ca)
            .arg("--cert")
            .arg(&identity.0)
            .arg("--key")
            .arg(&identity.1)
            .args(["-X", "POST", "-d", r#"[{"n":"cert","v":1}]"#])
            .arg(format!(
                "https://{}/channels/{}/messages",
                self.https, self.channel
            ))
            .output()
            .unwrap();
        (output.status.success(), text(&output))
    }

    /// mosquitto_pub over MQTTS with the certificate only.
    fn mosquitto_pub(&self, identity: &(PathBuf, PathBuf)) -> Output {
        Command::new("mosquitto_pub")
            .args(["-h", &self.mqtts.0, "-p", &self.mqtts.1, "--cafile"])
            .arg(&self.server_ca)
            .arg("--cert")
            .arg(&identity.0)
            .arg("--key")
            .arg(&identity.1)
            .args(["-t", &format!("channels/{}/messages", self.channel)])
            .args(["-m", "hello", "-q", "1"])
            .output()
            .unwrap()
    }

    fn assert_accepted(&self, identity: &(PathBuf, PathBuf), what: &str) {
        assert_eq!(self.curl_publish(identity), (true, " 202".into()), "{what}");
        let sent = self.mosquitto_pub(identity);
        assert!(sent.status.success(), "{what}: {}", text(&sent));
    }

    fn assert_refused(&self, identity: &(PathBuf, PathBuf), what: &str) {
        let (ok, said) = self.curl_publish(identity);
        assert!(!ok && !said.ends_with(" 202"), "{what} over HTTPS: {said}");
        let sent = self.mosquitto_pub(identity);
        assert!(!sent.status.success(), "{what} over MQTTS");
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn send(
    user: &User,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = user
        .http
        .request(method, format!("{}{path}", user.base))
        .bearer_auth(&user.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Issues an ECDSA certificate for `thing` and writes its pair into `dir`.
async fn issue(user: &User, thing: &str, dir: &Path, name: &str) -> ((PathBuf, PathBuf), String) {
    let body = json!({"thing_id": thing, "key_type": "ecdsa", "key_bits": 256, "valid": "24h"});
    let (status, issued) = send(user, reqwest::Method::POST, "/certs", Some(body)).await;
    assert_eq!(status, 201, "{issued}");
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, issued["client_cert"].as_str().unwrap()).unwrap();
    std::fs::write(&key, issued["client_key"].as_str().unwrap()).unwrap();
    ((cert, key), issued["serial"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_connect_revoke_refused_and_replayed_after_restart() {
    let (dir, server_ca, cert, key) = certified("server-ca");
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &cert, &key);
    let user = User::register(&server.base, "certs@example.com").await;
    let channel = user.create("/channels", json!({"name": "telemetry"})).await;
    let thing = user.create("/things", json!({"key": KEY})).await;
    user.connect(&channel, &thing).await;
    let device = Device::at(&server, &server_ca.0, &channel);

    let (revoked, serial) = issue(&user, &thing, dir.path(), "revoked").await;
    let (kept, kept_serial) = issue(&user, &thing, dir.path(), "kept").await;
    device.assert_accepted(&revoked, "an issued certificate");

    let path = format!("/certs/{serial}");
    let (status, answer) = send(&user, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["revocation_time"].is_string());
    device.assert_refused(&revoked, "a revoked certificate");
    device.assert_accepted(&kept, "the thing's other certificate");

    // The CRL, signed by the CA of /certs, lists the revoked serial only.
    let crl = reqwest::get(format!("{}/certs/crl", server.base))
        .await
        .unwrap();
    assert_eq!(crl.headers()["content-type"], "application/pkix-crl");
    let crl = CertificateList::from_der(&crl.bytes().await.unwrap()).unwrap();
    let listed: Vec<String> = crl
        .tbs_cert_list
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| hex::encode(r.serial_number.as_bytes()))
        .collect();
    assert_eq!(listed, std::slice::from_ref(&serial));
    let crl_file = dir.path().join("crl.der");
    let fetched = reqwest::get(format!("{}/certs/crl", server.base))
        .await
        .unwrap();
    std::fs::write(&crl_file, fetched.bytes().await.unwrap()).unwrap();
    let openssl = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&crl_file)
        .output()
        .unwrap();
    assert!(openssl.status.success(), "{}", text(&openssl));
    assert!(
        text(&openssl).to_lowercase().contains(&serial),
        "{}",
        text(&openssl)
    );
    let (status, _) = server.terminate();
    assert!(status.success());

    // Restarted on the same data dir: the revoked set is rebuilt from the log, and the CA
    // generated at the first start still signs (the kept certificate still chains).
    let server = start(data.path(), &cert, &key);
    let device = Device::at(&server, &server_ca.0, &channel);
    device.assert_refused(&revoked, "a revoked certificate after a restart");
    device.assert_accepted(&kept, "a kept certificate after a restart");
    let user = User {
        base: server.base.clone(),
        ..user
    };
    let (status, listed) = send(
        &user,
        reqwest::Method::GET,
        &format!("/certs/{thing}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["total"], 2);
    let revoked_flags: Vec<(String, bool)> = listed["certs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["serial"].as_str().unwrap().to_owned(),
                c["revoked"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(revoked_flags, [(serial, true), (kept_serial, false)]);

    // Removing the thing revokes its remaining certificate.
    let (status, _) = send(
        &user,
        reqwest::Method::DELETE,
        &format!("/things/{thing}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    device.assert_refused(&kept, "a certificate of a removed thing");
    let (status, _) = server.terminate();
    assert!(status.success());
}
