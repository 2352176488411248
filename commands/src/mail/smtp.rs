//! A minimal SMTP client (RFC 5321) over tokio TCP: EHLO, optional AUTH PLAIN, MAIL FROM,
//! RCPT TO, DATA with dot-stuffing, QUIT. Small on purpose: one mail per connection, a
//! handful of a day, so a mail crate's pooling and MIME builders would be weight for nothing.
//!
//! Plain SMTP only, no TLS (neither implicit nor STARTTLS) in this step: use a relay on the
//! same host or a trusted network, since AUTH PLAIN sends the password in the clear.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;

use super::{Mail, MailError, Mailer};

/// Longest reply line we read (RFC 5321 allows 512 octets); a longer one is an error.
const MAX_LINE: u64 = 4096;
/// Most lines in one multi-line reply (EHLO lists a dozen extensions).
const MAX_LINES: usize = 100;

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The envelope sender and `From:` address.
    pub from: String,
    /// AUTH PLAIN user and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// The name we greet with (EHLO).
    pub helo_name: String,
    /// The whole dialogue, connect to QUIT, must finish within this.
    pub timeout: Duration,
}

pub struct SmtpMailer {
    config: SmtpConfig,
}

impl SmtpMailer {
    pub fn new(config: SmtpConfig) -> Self {
        Self { config }
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        check_line(&self.config.from, "the sender address", true)?;
        check_line(&mail.to, "the recipient address", true)?;
        check_line(&mail.subject, "the subject", false)?;
        let timeout = self.config.timeout;
        tokio::time::timeout(timeout, self.dialogue(mail))
            .await
            .map_err(|_| MailError::Timeout(timeout))?
    }
}

impl SmtpMailer {
    async fn dialogue(&self, mail: &Mail) -> Result<(), MailError> {
        let c = &self.config;
        let stream = TcpStream::connect((c.host.as_str(), c.port))
            .await
            .map_err(|e| MailError::Connection(format!("{}:{}: {e}", c.host, c.port)))?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        expect(&mut read, "the greeting", &[220]).await?;
        send(&mut write, &format!("EHLO {}\r\n", c.helo_name)).await?;
        expect(&mut read, "EHLO", &[250]).await?;
        if let Some((user, password)) = &c.credentials {
            let plain = STANDARD.encode(format!("\0{user}\0{password}"));
            send(&mut write, &format!("AUTH PLAIN {plain}\r\n")).await?;
            expect(&mut read, "the credentials (AUTH PLAIN)", &[235]).await?;
        }
        send(&mut write, &format!("MAIL FROM:<{}>\r\n", c.from)).await?;
        expect(&mut read, "the sender (MAIL FROM)", &[250]).await?;
        send(&mut write, &format!("RCPT TO:<{}>\r\n", mail.to)).await?;
        expect(&mut read, "the recipient (RCPT TO)", &[250, 251]).await?;
        send(&mut write, "DATA\r\n").await?;
        expect(&mut read, "DATA", &[354]).await?;
        send(
            &mut write,
            &message(&c.from, mail, OffsetDateTime::now_utc()),
        )
        .await?;
        expect(&mut read, "the message", &[250]).await?;
        // The mail is accepted; a server that drops the line at QUIT changes nothing.
        if send(&mut write, "QUIT\r\n").await.is_ok() {
            let _ = expect(&mut read, "QUIT", &[221]).await;
        }
        Ok(())
    }
}

/// Refuses what would inject SMTP commands or headers.
fn check_line(value: &str, what: &'static str, address: bool) -> Result<(), MailError> {
    let bad = (address && value.is_empty())
        || value.chars().any(char::is_control)
        || (address && value.chars().any(|c| matches!(c, '<' | '>' | ' ')));
    match bad {
        true => Err(MailError::Invalid(what)),
        false => Ok(()),
    }
}

async fn send(write: &mut (impl AsyncWrite + Unpin), line: &str) -> Result<(), MailError> {
    write
        .write_all(line.as_bytes())
        .await
        .map_err(|e| MailError::Connection(e.to_string()))
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect(
    read: &mut (impl AsyncBufRead + Unpin),
    step: &'static str,
    codes: &[u16],
) -> Result<(), MailError> {
    let mut text = String::new();
    for _ in 0..MAX_LINES {
        let mut line = String::new();
        let n = (&mut *read)
            .take(MAX_LINE)
            .read_line(&mut line)
            .await
            .map_err(|e| MailError::Connection(e.to_string()))?;
        if n == 0 || !line.ends_with('\n') {
            return Err(MailError::Connection(format!(
                "connection closed or line too long while waiting for the reply to {step}"
            )));
        }
        let line = line.trim_end();
        text.push_str(line);
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        match (code, line.as_bytes().get(3)) {
            (Some(_), Some(b'-')) => text.push(' '),
            (Some(code), _) if codes.contains(&code) => return Ok(()),
            _ => {
                return Err(MailError::Refused { step, reply: text });
            }
        }
    }
    Err(MailError::Refused {
        step,
        reply: "a reply of too many lines".into(),
    })
}

/// The DATA section: headers, the body with CRLF line ends and dot-stuffing (a line that
/// starts with `.` gets one more, RFC 5321 §4.5.2), and the final `.` line.
fn message(from: &str, mail: &Mail, now: OffsetDateTime) -> String {
    let date = now.format(&Rfc2822).unwrap_or_default();
    let mut out = format!(
        "From: <{from}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {date}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        mail.to, mail.subject
    );
    for line in mail.body.lines() {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(body: &str) -> Mail {
        Mail {
            to: "to@example.com".into(),
            subject: "s".into(),
            body: body.into(),
        }
    }

    #[test]
    fn bodies_are_dot_stuffed_with_crlf_line_ends() {
        let text = message(
            "f@example.com",
            &mail("a\n.b\r\n..c\n."),
            OffsetDateTime::UNIX_EPOCH,
        );
        let body = text.split_once("\r\n\r\n").unwrap().1;
        assert_eq!(body, "a\r\n..b\r\n...c\r\n..\r\n.\r\n");
        assert!(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    }

    #[test]
    fn header_and_command_injection_is_refused() {
        let cases = [
            ("a@b.co", true, true),
            ("a@b.co\r\nRCPT TO:<x@y.z>", true, false),
            ("a@b.co>", true, false),
            ("", true, false),
            ("Subject\nBcc: x", false, false),
            ("A fine subject", false, true),
        ];
        for (value, address, ok) in cases {
            assert_eq!(check_line(value, "x", address).is_ok(), ok, "{value:?}");
        }
    }

    #[tokio::test]
    async fn replies_multi_line_and_refused() {
        let mut ok: &[u8] = b"250-hello\r\n250-8BITMIME\r\n250 OK\r\n";
        assert!(expect(&mut ok, "EHLO", &[250]).await.is_ok());
        let mut refused: &[u8] = b"550 no such user\r\n";
        let err = expect(&mut refused, "RCPT", &[250]).await.unwrap_err();
        assert!(matches!(err, MailError::Refused { reply, .. } if reply == "550 no such user"));
        let mut cut: &[u8] = b"250-hello\r\n";
        assert!(matches!(
            expect(&mut cut, "EHLO", &[250]).await,
            Err(MailError::Connection(_))
        ));
    }
}
