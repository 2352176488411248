//! A real SMTP server for the mail tests: `tests/support/smtp_sink.py` (aiosmtpd from PyPI,
//! installed by `scripts/install-deps`) on an ephemeral loopback port, killed on drop.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// How long a test waits for a mail before failing.
const MAIL_DEADLINE: Duration = Duration::from_secs(15);

pub struct SmtpSink {
    pub port: u16,
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

/// The Debian interpreter, where `scripts/install-deps` puts aiosmtpd.
fn python() -> &'static str {
    match std::path::Path::new("/usr/bin/python3").exists() {
        true => "/usr/bin/python3",
        false => "python3",
    }
}

impl SmtpSink {
    /// Starts the server; with `credentials` it requires AUTH with them.
    pub async fn start(credentials: Option<(&str, &str)>) -> SmtpSink {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut command = Command::new(python());
        command.arg(script);
        if let Some((user, password)) = credentials {
            command.args([user, password]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (scripts/install-deps installs it and aiosmtpd)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(MAIL_DEADLINE, lines.next_line())
            .await
            .expect("the SMTP server starts in time")
            .expect("read its stdout")
            .expect("a PORT line (is aiosmtpd installed? run scripts/install-deps)");
        let port = first
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        SmtpSink {
            port,
            _child: child,
            lines,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next mail the server accepted: `{"from", "to": [..], "data", "authenticated"}`.
    pub async fn next_mail(&mut self) -> Value {
        let line = tokio::time::timeout(MAIL_DEADLINE, self.lines.next_line())
            .await
            .expect("a mail arrives in time")
            .expect("read the SMTP server's stdout")
            .expect("the SMTP server is still running");
        serde_json::from_str(&line).expect("a JSON line per mail")
    }
}
