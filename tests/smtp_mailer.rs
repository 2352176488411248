//! The SMTP mailer against a real SMTP server (aiosmtpd, `common::smtp`): delivery with
//! dot-stuffing undone by the server, AUTH PLAIN accepted and refused, a server that wants
//! AUTH, an unreachable server, and addresses that would inject SMTP commands.

mod common;

use std::time::Duration;

use commands::mail::{Mail, MailError, Mailer, SmtpConfig, SmtpMailer};
use common::smtp::SmtpSink;

fn mailer(port: u16, credentials: Option<(&str, &str)>) -> SmtpMailer {
    SmtpMailer::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: "ferroflux@example.com".into(),
        credentials: credentials.map(|(u, p)| (u.into(), p.into())),
        helo_name: "ferroflux".into(),
        timeout: Duration::from_secs(10),
    })
}

fn mail(to: &str, body: &str) -> Mail {
    Mail {
        to: to.into(),
        subject: "Password reset".into(),
        body: body.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_arrives_whole_with_its_dot_lines() {
    let mut sink = SmtpSink::start(None).await;
    let body = "first line\n.starts with a dot\n.\n..two dots\nlast line";
    mailer(sink.port, None)
        .send(&mail("someone@example.com", body))
        .await
        .expect("sent");
    let got = sink.next_mail().await;
    assert_eq!(got["from"], "ferroflux@example.com");
    assert_eq!(got["to"], serde_json::json!(["someone@example.com"]));
    assert_eq!(got["authenticated"], false);
    let data = got["data"].as_str().unwrap();
    let (headers, received) = data.split_once("\r\n\r\n").expect("headers, then body");
    assert!(headers.contains("Subject: Password reset\r\n"), "{headers}");
    assert!(headers.contains("To: <someone@example.com>"), "{headers}");
    assert!(headers.contains("\r\nDate: "), "{headers}");
    assert_eq!(received, body.replace('\n', "\r\n") + "\r\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_plain_is_accepted_with_the_right_password_only() {
    let mut sink = SmtpSink::start(Some(("mailer", "s3cret-pass"))).await;
    mailer(sink.port, Some(("mailer", "s3cret-pass")))
        .send(&mail("a@example.com", "hello"))
        .await
        .expect("sent with AUTH PLAIN");
    let got = sink.next_mail().await;
    assert_eq!(got["authenticated"], true);
    assert_eq!(got["to"], serde_json::json!(["a@example.com"]));

    let wrong = mailer(sink.port, Some(("mailer", "wrong-pass")))
        .send(&mail("a@example.com", "hello"))
        .await;
    assert!(
        matches!(&wrong, Err(MailError::Refused { reply, .. }) if reply.starts_with("535")),
        "{wrong:?}"
    );
    let without = mailer(sink.port, None)
        .send(&mail("a@example.com", "hello"))
        .await;
    assert!(
        matches!(&without, Err(MailError::Refused { reply, .. }) if reply.starts_with("530")),
        "{without:?}"
    );
    // Neither refused attempt delivered anything: the next mail is the next good one.
    mailer(sink.port, Some(("mailer", "s3cret-pass")))
        .send(&mail("b@example.com", "again"))
        .await
        .expect("sent");
    assert_eq!(
        sink.next_mail().await["to"],
        serde_json::json!(["b@example.com"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_servers_and_injected_addresses_fail_cleanly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let result = mailer(port, None).send(&mail("a@example.com", "x")).await;
    assert!(
        matches!(result, Err(MailError::Connection(_))),
        "{result:?}"
    );

    let mut sink = SmtpSink::start(None).await;
    for to in [
        "a@example.com>\r\nRCPT TO:<b@example.com",
        "a@example.com\n",
        "",
    ] {
        let result = mailer(sink.port, None).send(&mail(to, "x")).await;
        assert!(
            matches!(result, Err(MailError::Invalid(_))),
            "{to:?}: {result:?}"
        );
    }
    mailer(sink.port, None)
        .send(&mail("c@example.com", "x"))
        .await
        .expect("sent");
    assert_eq!(
        sink.next_mail().await["to"],
        serde_json::json!(["c@example.com"])
    );
}
