//! Device certificates (mTLS: `FF_TLS_CLIENT_CA`, `FF_TLS_CLIENT_AUTH`) on the real binary,
//! with curl, mosquitto and Paho as a device would run them: a certificate whose CN is a
//! thing key authenticates that thing on HTTPS, MQTTS and WSS without any other credential;
//! a key sent beside it must be the same; a certificate from another CA, an expired one,
//! or one naming no thing is refused and counted; `required` refuses clients without one.

mod process;
mod tls_support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use process::Server;
use tls_support::{certified, listening, make_ca, make_dated_device_cert, make_device_cert};

const KEY_A: &str = "device-a-key";
const KEY_B: &str = "device-b-key";

type Pair = (PathBuf, PathBuf);

/// A server with mTLS on, its folder of certificates, and what was provisioned.
struct Fixture {
    server: Server,
    dir: tempfile::TempDir,
    _data: tempfile::TempDir,
    /// The CA of the server certificate (clients trust it).
    server_ca: PathBuf,
    devices_ca: Pair,
    https: String,
    mqtts: (String, String),
    channel: String,
}

impl Fixture {
    /// Things A and B (keys `KEY_A`, `KEY_B`) connected to one channel, over plain HTTP.
    async fn start(client_auth: &str) -> Fixture {
        let (dir, server_ca, cert, key) = certified("server-ca");
        let devices_ca = make_ca(dir.path(), "devices-ca");
        let data = tempfile::tempdir().unwrap();
        let env = [
            ("FF_TLS_CERT", cert.to_str().unwrap()),
            ("FF_TLS_KEY", key.to_str().unwrap()),
            ("FF_TLS_CLIENT_CA", devices_ca.0.to_str().unwrap()),
            ("FF_TLS_CLIENT_AUTH", client_auth),
            ("FF_HTTPS_ADDR", "127.0.0.1:0"),
            ("FF_MQTTS_ADDR", "127.0.0.1:0"),
        ];
        let server = Server::start_with(data.path(), &env);
        let https = listening(&server, "HTTPS API listening on https://", "https://");
        let mqtts = listening(&server, "MQTTS listening on mqtts://", "mqtts://");
        let (host, port) = mqtts.rsplit_once(':').unwrap();
        let user = process::User::register(&server.base, "devices@example.com").await;
        let channel = user
            .create("/channels", serde_json::json!({"name": "devices"}))
            .await;
        for key in [KEY_A, KEY_B] {
            let thing = user
                .create("/things", serde_json::json!({"key": key}))
                .await;
            user.connect(&channel, &thing).await;
        }
        Fixture {
            server,
            dir,
            _data: data,
            server_ca: server_ca.0,
            devices_ca,
            https,
            mqtts: (host.to_owned(), port.to_owned()),
            channel,
        }
    }

    fn device(&self, name: &str, common_name: &str) -> Pair {
        make_device_cert(self.dir.path(), &self.devices_ca, name, common_name)
    }

    /// curl over HTTPS with `identity` and extra arguments; `(exit ok, body+status)`.
    fn curl(&self, identity: Option<&Pair>, path: &str, args: &[&str]) -> (bool, String) {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-w", " %{http_code}", "--cacert"])
            .arg(&self.server_ca);
        if let Some((cert, key)) = identity {
            curl.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let output = curl
            .args(args)
            .arg(format!("https://{}{path}", self.https))
            .output()
            .unwrap();
        (output.status.success(), text(&output))
    }

    fn publish_over_https(&self, identity: Option<&Pair>, args: &[&str]) -> (bool, String) {
        let path = format!("/channels/{}/messages", self.channel);
        let mut all = vec!["-X", "POST", "-d", r#"[{"n":"cert","v":1}]"#];
        all.extend_from_slice(args);
        self.curl(identity, &path, &all)
    }

    /// A mosquitto client on MQTTS with `identity` and nothing else to authenticate.
    fn mosquitto(&self, tool: &str, identity: &Pair, args: &[&str]) -> Command {
        let mut command = Command::new(tool);
        command
            .args(["-h", &self.mqtts.0, "-p", &self.mqtts.1, "--cafile"])
            .arg(&self.server_ca)
            .arg("--cert")
            .arg(&identity.0)
            .arg("--key")
            .arg(&identity.1)
            .args(args);
        command
    }

    fn topic(&self) -> String {
        format!("channels/{}/messages", self.channel)
    }

    /// `name` once it reaches `at_least`, or its value after 10 s: the server counts a
    /// refused handshake after it sent the alert, so a client may see the refusal first.
    async fn metric_reaching(&self, name: &str, at_least: u64) -> u64 {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let value = self.metric(name).await;
            if value >= at_least || std::time::Instant::now() > deadline {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn metric(&self, name: &str) -> u64 {
        let text = reqwest::get(format!("{}/metrics", self.server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("ferroflux_{name} ")))
            .unwrap_or_else(|| panic!("{name} in /metrics"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// mosquitto_sub (certificate only) for one message, while `publish` runs every 200 ms (the
/// SUBSCRIBE may trail the CONNECT); what it printed.
async fn first_message(subscriber: &mut Command, mut publish: impl FnMut()) -> String {
    let subscriber = subscriber
        .args(["-C", "1", "-W", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || subscriber.wait_with_output());
    let publishing = async {
        loop {
            publish();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let output = tokio::select! {
        output = output => output.unwrap().unwrap(),
        () = publishing => unreachable!(),
    };
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_certificate_authenticates_its_thing_on_https_mqtts_and_wss() {
    let fx = Fixture::start("optional").await;
    let (a, b) = (fx.device("a", KEY_A), fx.device("b", KEY_B));

    // HTTPS: the certificate alone; the same key beside it; another thing's key beside it.
    assert_eq!(fx.publish_over_https(Some(&a), &[]), (true, " 202".into()));
    let same = format!("Authorization: Thing {KEY_A}");
    assert_eq!(
        fx.publish_over_https(Some(&a), &["-H", &same]),
        (true, " 202".into())
    );
    let other = format!("Authorization: Thing {KEY_B}");
    let (_, borrowed) = fx.publish_over_https(Some(&a), &["-H", &other]);
    assert!(borrowed.ends_with(" 401"), "{borrowed}");
    // Optional: a client without a certificate still authenticates with its key.
    assert_eq!(
        fx.publish_over_https(None, &["-H", &other]),
        (true, " 202".into())
    );
    // The reader API takes the certificate too.
    let path = format!("/channels/{}/messages", fx.channel);
    let (_, read) = fx.curl(Some(&a), &path, &[]);
    assert!(read.ends_with(" 200"), "{read}");

    // MQTTS: subscriber and publisher with nothing but their certificates.
    let topic = fx.topic();
    let mut subscriber = fx.mosquitto("mosquitto_sub", &a, &["-t", &topic]);
    let received = first_message(&mut subscriber, || {
        let sent = fx
            .mosquitto(
                "mosquitto_pub",
                &b,
                &["-t", &topic, "-m", "from-b", "-q", "1"],
            )
            .output()
            .unwrap();
        assert!(sent.status.success(), "{}", text(&sent));
    })
    .await;
    assert_eq!(received.trim(), "from-b");

    // MQTT over WSS (Paho), certificate only → the MQTTS subscriber.
    let (https_host, https_port) = fx.https.rsplit_once(':').unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mqtt_ws_client.py");
    let mut subscriber = fx.mosquitto("mosquitto_sub", &a, &["-t", &topic]);
    let received = first_message(&mut subscriber, || {
        let sent = Command::new("/usr/bin/python3")
            .env("FF_TEST_WS_CAFILE", &fx.server_ca)
            .env("FF_TEST_WS_CERTFILE", &b.0)
            .env("FF_TEST_WS_KEYFILE", &b.1)
            .args([
                script, https_host, https_port, "", "", "pub", &topic, "over-wss",
            ])
            .output()
            .unwrap();
        assert!(sent.status.success(), "{}", text(&sent));
    })
    .await;
    assert_eq!(received.trim(), "over-wss");

    // Another thing's key behind the certificate: CONNACK refusal.
    let refused = fx
        .mosquitto("mosquitto_pub", &a, &["-t", &topic, "-m", "x", "-P", KEY_B])
        .args(["-u", "ignored"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = text(&refused).to_lowercase();
    assert!(
        said.contains("bad user") || said.contains("not authori"),
        "{said}"
    );
    let (status, _) = fx.server.terminate();
    assert!(status.success());
}

/// Fails over HTTPS (curl) and MQTTS (mosquitto_pub).
fn assert_refused_everywhere(fx: &Fixture, identity: &Pair, what: &str) {
    let (ok, said) = fx.publish_over_https(Some(identity), &[]);
    assert!(!ok && !said.ends_with(" 202"), "{what} over HTTPS: {said}");
    let topic = fx.topic();
    let sent = fx
        .mosquitto("mosquitto_pub", identity, &["-t", &topic, "-m", "x"])
        .output()
        .unwrap();
    assert!(!sent.status.success(), "{what} over MQTTS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_expired_and_unknown_certificates_are_refused_and_counted() {
    let fx = Fixture::start("optional").await;
    let stranger_ca = make_ca(fx.dir.path(), "stranger-ca");
    let foreign = make_device_cert(fx.dir.path(), &stranger_ca, "foreign", KEY_A);
    let refused_before = fx.metric("tls_client_certificates_refused_total").await;
    assert_refused_everywhere(&fx, &foreign, "a certificate from another CA");
    let refused = fx
        .metric_reaching("tls_client_certificates_refused_total", refused_before + 2)
        .await;
    assert!(
        refused >= refused_before + 2,
        "{refused_before} → {refused}"
    );

    // Made the same way, an expired certificate is refused and a current one is not.
    let expired = make_dated_device_cert(
        fx.dir.path(),
        &fx.devices_ca,
        "expired",
        KEY_A,
        ("20200101000000Z", "20200102000000Z"),
    );
    assert_refused_everywhere(&fx, &expired, "an expired certificate");
    let after_expired = fx
        .metric_reaching("tls_client_certificates_refused_total", refused + 2)
        .await;
    assert!(after_expired >= refused + 2, "{refused} → {after_expired}");
    let current = make_dated_device_cert(
        fx.dir.path(),
        &fx.devices_ca,
        "current",
        KEY_A,
        (&utc_day(-1), &utc_day(1)),
    );
    assert_eq!(
        fx.publish_over_https(Some(&current), &[]),
        (true, " 202".into())
    );

    // From the right CA, but naming no thing: closed after the handshake, counted.
    let unknown_before = fx.metric("tls_device_keys_unknown_total").await;
    let nobody = fx.device("nobody", "no-thing-has-this-key");
    assert_refused_everywhere(&fx, &nobody, "a certificate naming no thing");
    let unknown = fx
        .metric_reaching("tls_device_keys_unknown_total", unknown_before + 2)
        .await;
    assert!(
        unknown >= unknown_before + 2,
        "{unknown_before} → {unknown}"
    );
    let (status, _) = fx.server.terminate();
    assert!(status.success());
}

/// `YYYYMMDDHHMMSSZ`, `days` from now.
fn utc_day(days: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_certificates_required_a_client_without_one_is_refused() {
    let fx = Fixture::start("required").await;
    let a = fx.device("a", KEY_A);
    let handshakes_before = fx.metric("tls_handshakes_refused_total").await;
    let (ok, said) = fx.curl(None, "/health", &[]);
    assert!(!ok, "curl without a certificate: {said}");
    let (_, with_certificate) = fx.curl(Some(&a), "/health", &[]);
    assert!(with_certificate.ends_with(" 200"), "{with_certificate}");

    // A rustls client: with its certificate served, without it cut off.
    let mut with = tls_support::connect(&fx.https, &fx.server_ca, Some(&a))
        .await
        .unwrap();
    assert_eq!(
        tls_support::health_status(&mut with).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    let without = tls_support::connect(&fx.https, &fx.server_ca, None).await;
    if let Ok(mut without) = without {
        // TLS 1.3: the client finishes first and learns of the refusal on its first read.
        assert_eq!(tls_support::health_status(&mut without).await, None);
    }
    let refused = fx
        .metric_reaching("tls_handshakes_refused_total", handshakes_before + 2)
        .await;
    assert!(
        refused >= handshakes_before + 2,
        "{handshakes_before} → {refused}"
    );
    // The plain listener is unchanged.
    let plain = reqwest::get(format!("{}/health", fx.server.base))
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    let (status, _) = fx.server.terminate();
    assert!(status.success());
}
