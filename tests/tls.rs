//! TLS on the real binary (`FF_TLS_CERT`, `FF_TLS_KEY`, `FF_HTTPS_ADDR`, `FF_MQTTS_ADDR`):
//! curl and a rustls client trusting the test CA get the API over HTTPS; mosquitto_sub over
//! MQTTS receives what HTTP publishes; a certificate renewed on disk is taken on SIGHUP
//! without cutting open connections; bad files stop the start with one line. Certificates
//! are made by each test (`tls_support`).

mod process;
mod tls_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use process::{Server, ferroflux};
use tls_support::{certified, connect, health_status, listening, make_ca};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_over_https_and_a_renewed_certificate_is_taken_on_sighup() {
    let (dir, first_ca, cert, key) = certified("first-ca");
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("FF_TLS_CERT", cert.to_str().unwrap()),
        ("FF_TLS_KEY", key.to_str().unwrap()),
        ("FF_HTTPS_ADDR", "127.0.0.1:0"),
    ];
    let server = Server::start_with(data.path(), &env);
    let addr = listening(&server, "HTTPS API listening on https://", "https://");

    // curl as a user would run it; the plain listener is still there.
    let curl = Command::new("curl")
        .args(["-sS", "--cacert", first_ca.0.to_str().unwrap()])
        .arg(format!("https://{addr}/health"))
        .output()
        .unwrap();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert!(String::from_utf8_lossy(&curl.stdout).contains("pass"));
    let plain = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);

    let mut before = connect(&addr, &first_ca.0, None).await.expect("trusted");
    assert_eq!(health_status(&mut before).await.unwrap(), "HTTP/1.1 200 OK");

    // Renewed by another CA, then SIGHUP.
    let second_ca = make_ca(dir.path(), "second-ca");
    tls_support::make_server_cert(dir.path(), &second_ca, &cert, &key);
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status();
    assert!(hup.unwrap().success());
    process::wait_for_line(&server.log, "TLS certificate reloaded");

    // New handshakes get the new certificate; the connection made before goes on.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = loop {
        match connect(&addr, &second_ca.0, None).await {
            Ok(stream) => break stream,
            Err(error) => assert!(Instant::now() < deadline, "{error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health_status(&mut after).await.unwrap(), "HTTP/1.1 200 OK");
    assert!(
        connect(&addr, &first_ca.0, None).await.is_err(),
        "the old certificate is gone"
    );
    assert_eq!(health_status(&mut before).await.unwrap(), "HTTP/1.1 200 OK");

    // A broken renewal keeps the certificate in use.
    std::fs::write(&key, "not a key").unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status();
    assert!(hup.unwrap().success());
    process::wait_for_line(&server.log, "TLS certificate not reloaded");
    let mut still = connect(&addr, &second_ca.0, None)
        .await
        .expect("previous certificate");
    assert_eq!(health_status(&mut still).await.unwrap(), "HTTP/1.1 200 OK");
    let (status, _) = server.terminate();
    assert!(status.success());
}

/// The first line on stderr of a start that must fail.
fn refused_start(env: &[(&str, &str)]) -> String {
    let data = tempfile::tempdir().unwrap();
    let output = ferroflux(data.path())
        .envs(env.iter().copied())
        .env("FF_HTTPS_ADDR", "127.0.0.1:0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0].to_owned()
}

#[test]
fn a_missing_or_mismatched_certificate_stops_the_start_with_one_line() {
    let (_dir, ca, cert, key) = certified("ca");
    let (cert, key, ca_key) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        ca.1.to_str().unwrap(),
    );

    let missing = refused_start(&[("FF_TLS_CERT", "/nonexistent.pem"), ("FF_TLS_KEY", key)]);
    assert!(
        missing.contains("FF_TLS_CERT=/nonexistent.pem"),
        "{missing}"
    );
    let garbage = refused_start(&[("FF_TLS_CERT", cert), ("FF_TLS_KEY", "/dev/null")]);
    assert!(garbage.contains("FF_TLS_KEY=/dev/null"), "{garbage}");
    let mismatched = refused_start(&[("FF_TLS_CERT", cert), ("FF_TLS_KEY", ca_key)]);
    assert!(
        mismatched.contains("do not belong together"),
        "{mismatched}"
    );
    let alone = refused_start(&[("FF_TLS_CERT", cert)]);
    assert!(
        alone.contains("FF_TLS_CERT and FF_TLS_KEY go together"),
        "{alone}"
    );
    let pair = [("FF_TLS_CERT", cert), ("FF_TLS_KEY", key)];
    let no_ca = refused_start(&[pair[0], pair[1], ("FF_TLS_CLIENT_CA", "/nonexistent.pem")]);
    assert!(
        no_ca.contains("FF_TLS_CLIENT_CA=/nonexistent.pem"),
        "{no_ca}"
    );
    let required_alone = refused_start(&[pair[0], pair[1], ("FF_TLS_CLIENT_AUTH", "required")]);
    assert!(
        required_alone.contains("FF_TLS_CLIENT_AUTH=required needs FF_TLS_CLIENT_CA"),
        "{required_alone}"
    );
    let ca_alone = refused_start(&[("FF_TLS_CLIENT_CA", ca_key)]);
    assert!(
        ca_alone.contains("FF_TLS_CLIENT_CA needs TLS on"),
        "{ca_alone}"
    );
}

/// A user with a thing connected to a channel, made over plain HTTP: `(thing, key, channel)`.
async fn provisioned(base: &str) -> (String, String, String) {
    let user = process::User::register(base, "tls@example.com").await;
    let key = "mqtts-device-key".to_owned();
    let thing = user
        .create("/things", serde_json::json!({"key": key}))
        .await;
    let channel = user
        .create("/channels", serde_json::json!({"name": "tls"}))
        .await;
    user.connect(&channel, &thing).await;
    (thing, key, channel)
}

/// mosquitto_sub on MQTTS for one message of `topic`, while `publish` runs again every
/// 100 ms (the subscriber's SUBSCRIBE may trail its CONNECT); what it printed.
async fn first_message<F: std::future::Future<Output = ()>>(
    mqtts: (&str, &str),
    ca: &Path,
    (thing, key, topic): (&str, &str, &str),
    mut publish: impl FnMut() -> F,
) -> String {
    let subscriber = Command::new("mosquitto_sub")
        .args([
            "-h",
            mqtts.0,
            "-p",
            mqtts.1,
            "--cafile",
            ca.to_str().unwrap(),
        ])
        .args(["-u", thing, "-P", key, "-t", topic, "-C", "1", "-W", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || subscriber.wait_with_output());
    let publishing = async {
        loop {
            publish().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let output = tokio::select! {
        output = output => output.unwrap().unwrap(),
        () = publishing => unreachable!(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtts_subscriber_receives_what_http_and_wss_publish() {
    let (dir, ca, cert, key) = certified("ca");
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("FF_TLS_CERT", cert.to_str().unwrap()),
        ("FF_TLS_KEY", key.to_str().unwrap()),
        ("FF_HTTPS_ADDR", "127.0.0.1:0"),
        ("FF_MQTTS_ADDR", "127.0.0.1:0"),
    ];
    let server = Server::start_with(data.path(), &env);
    let https = listening(&server, "HTTPS API listening on https://", "https://");
    let mqtts = listening(&server, "MQTTS listening on mqtts://", "mqtts://");
    let (host, port) = mqtts.rsplit_once(':').unwrap();
    let (thing, thing_key, channel) = provisioned(&server.base).await;
    let topic = format!("channels/{channel}/messages");

    let who = (thing.as_str(), thing_key.as_str(), topic.as_str());
    let http = reqwest::Client::new();
    let url = format!("{}/channels/{channel}/messages", server.base);
    let received = first_message((host, port), &ca.0, who, || async {
        let sent = http
            .post(&url)
            .header("authorization", format!("Thing {thing_key}"))
            .body(r#"[{"n":"over-tls","v":1}]"#)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 202);
    })
    .await;
    assert!(received.contains("over-tls"), "{received}");

    // MQTT over WebSocket on the HTTPS listener (wss://…/mqtt) → the MQTTS subscriber.
    let (https_host, https_port) = https.rsplit_once(':').unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mqtt_ws_client.py");
    let received = first_message((host, port), &ca.0, who, || async {
        // The Debian interpreter, where apt puts paho (scripts/install-deps).
        let published = Command::new("/usr/bin/python3")
            .env("FF_TEST_WS_CAFILE", &ca.0)
            .args([
                script, https_host, https_port, &thing, &thing_key, "pub", &topic, "over-wss",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&published.stderr);
        assert!(published.status.success(), "{stderr}");
    })
    .await;
    assert!(received.contains("over-wss"), "{received}");

    // A client that does not trust the certificate is refused at the handshake.
    let other_ca = make_ca(dir.path(), "other-ca");
    let refused = Command::new("mosquitto_pub")
        .args([
            "-h",
            host,
            "-p",
            port,
            "--cafile",
            other_ca.0.to_str().unwrap(),
        ])
        .args([
            "-u",
            &thing,
            "-P",
            "mqtts-device-key",
            "-t",
            &topic,
            "-m",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_plain_listeners_off_only_tls_serves() {
    let (_dir, ca, cert, key) = certified("ca");
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("FF_TLS_CERT", cert.to_str().unwrap()),
        ("FF_TLS_KEY", key.to_str().unwrap()),
        ("FF_HTTPS_ADDR", "127.0.0.1:0"),
        ("FF_MQTTS_ADDR", "127.0.0.1:0"),
        ("FF_HTTP_ADDR", "off"),
        ("FF_MQTT_ADDR", "off"),
    ];
    let (mut child, log) = process::spawn(data.path(), &env);
    let mut lines = Vec::new();
    let address = |line: &str, scheme: &str| {
        let rest = line.split(scheme).nth(1).unwrap();
        rest.split_whitespace().next().unwrap().to_owned()
    };
    let mut https = None;
    let mut mqtts = None;
    while https.is_none() || mqtts.is_none() {
        let line = log
            .recv_timeout(Duration::from_secs(20))
            .expect("startup lines");
        if line.contains("HTTPS API listening on https://") {
            https = Some(address(&line, "https://"));
        }
        if line.contains("MQTTS listening on mqtts://") {
            mqtts = Some(address(&line, "mqtts://"));
        }
        lines.push(line);
    }
    assert!(
        !lines.iter().any(|l| l.contains("listening on http://")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("listening on mqtt://")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("the plain listener is off")),
        "{lines:#?}"
    );

    let curl = Command::new("curl")
        .args(["-sS", "--cacert", ca.0.to_str().unwrap()])
        .arg(format!("https://{}/health", https.unwrap()))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&curl.stdout).contains("pass"));
    // The broker answers over MQTTS: unknown credentials are refused by CONNACK.
    let mqtts = mqtts.unwrap();
    let (host, port) = mqtts.rsplit_once(':').unwrap();
    let refused = Command::new("mosquitto_pub")
        .args(["-h", host, "-p", port, "--cafile", ca.0.to_str().unwrap()])
        .args([
            "-u",
            "nobody",
            "-P",
            "nothing",
            "-t",
            "channels/x/messages",
            "-m",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        said.contains("not authori") || said.contains("bad user"),
        "{said}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}
