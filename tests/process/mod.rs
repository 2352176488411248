//! The `ferroflux` binary as a process: started on port 0 in a data dir, its log lines
//! followed, stopped with SIGTERM (or killed).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_ferroflux");

pub fn ferroflux(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env("FF_DATA_DIR", data_dir)
        .env("FF_HTTP_ADDR", "127.0.0.1:0")
        .env("FF_MQTT_ADDR", "127.0.0.1:0")
        .env("FF_COAP_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("FF_JWT_SECRET")
        .env_remove("FF_MASTER_KEY");
    command
}

/// `serve` with `var=value` stops at once: a non-zero exit and exactly one `error:` line,
/// naming `var`, with neither `secret` nor a panic anywhere in what it printed.
pub fn assert_refused_at_start(data_dir: &Path, var: &str, value: &str, secret: &str) {
    let output = ferroflux(data_dir)
        .env(var, value)
        .arg("serve")
        .output()
        .expect("run ferroflux serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(var), "{stderr}");
    assert!(
        !stderr.contains(secret) && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// What `ferroflux config` prints with `env` set (and `unset` removed), after it succeeded.
pub fn config_output(data_dir: &Path, env: &[(&str, &str)], unset: &[&str]) -> String {
    let mut command = ferroflux(data_dir);
    command.envs(env.iter().copied());
    for var in unset {
        command.env_remove(var);
    }
    let output = command
        .arg("config")
        .output()
        .expect("run ferroflux config");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    stdout
}

/// A server process and the lines it has logged so far.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub mqtt: String,
    /// The CoAP listener's `host:port` (UDP); empty with `FF_COAP_ADDR=off`.
    pub coap: String,
    pub log: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// Starts with extra `FF_*` settings.
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let (child, log) = spawn(data_dir, env);
        let addr = |line: String, scheme: &str| {
            let rest = line
                .split(scheme)
                .nth(1)
                .expect("address in the startup line");
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let http = addr(
            wait_for_line(&log, "HTTP API listening on http://"),
            "http://",
        );
        let mqtt = addr(wait_for_line(&log, "MQTT listening on mqtt://"), "mqtt://");
        let coap = match env.contains(&("FF_COAP_ADDR", "off")) {
            true => String::new(),
            false => addr(wait_for_line(&log, "CoAP listening on coap://"), "coap://"),
        };
        Server {
            child,
            base: format!("http://{http}"),
            mqtt,
            coap,
            log,
        }
    }

    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(killed.is_ok_and(|s| s.success()), "kill -TERM");
        let status = self.child.wait().expect("server exits");
        let rest: Vec<String> = self.log.try_iter().collect();
        (status, rest.join("\n"))
    }

    /// Resident memory now and at its peak, in bytes (`VmRSS`, `VmHWM`).
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server is running");
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).expect(name);
            let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            kib * 1024
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// A failing test must not leave a server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ferroflux serve` with extra `FF_*` settings, and its log lines as they come.
pub fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> (Child, mpsc::Receiver<String>) {
    let mut child = ferroflux(data_dir)
        .env("FF_INSTANCE", "node-a")
        .envs(env.iter().copied())
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferroflux starts");
    let (tx, log) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, log)
}

pub fn wait_for_line(log: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no log line containing {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

/// The JSON a `GET` of `url` answers, sent with `token` as a bearer token.
pub async fn get_json(url: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A registered, logged-in user of a running server, over its REST API.
pub struct User {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl User {
    /// Registers `email` (password `correct-horse`) and logs in.
    pub async fn register(base: &str, email: &str) -> User {
        let http = reqwest::Client::new();
        let credentials = serde_json::json!({"email": email, "password": "correct-horse"});
        let made = http
            .post(format!("{base}/users"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201, "register {email}");
        let login: serde_json::Value = http
            .post(format!("{base}/tokens"))
            .json(&credentials)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().expect("token").to_owned();
        User {
            http,
            base: base.to_owned(),
            token,
        }
    }

    /// Creates one entity (`POST path`, 201); its id from `Location`.
    pub async fn create(&self, path: &str, body: serde_json::Value) -> String {
        let made = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201, "POST {path}");
        let location = made.headers()["location"].to_str().unwrap();
        location.rsplit('/').next().unwrap().to_owned()
    }

    /// Connects `thing` to `channel`.
    pub async fn connect(&self, channel: &str, thing: &str) {
        let connected = self
            .http
            .put(format!("{}/channels/{channel}/things/{thing}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(connected.status().is_success(), "connect {thing}");
    }
}
