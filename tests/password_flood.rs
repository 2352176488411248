//! Anonymous clients cannot exhaust memory through password hashing: 500 parallel wrong
//! logins (and as many registrations) against the real binary leave it up, under a memory
//! bound, and back near where it started. A bound, not a timing.

mod process;

use process::Server;
use reqwest::StatusCode;
use serde_json::json;

const MIB: u64 = 1024 * 1024;
/// The stated bound (README): peak resident memory under the flood.
const PEAK_BOUND: u64 = 200 * MIB;
/// What may stay afterwards: the second hashing thread's reused 19 MiB, plus allocator slack.
const AFTER_BOUND: u64 = 48 * MIB;
const PARALLEL: usize = 500;

async fn fire(
    server: &Server,
    path: &str,
    body: impl Fn(usize) -> serde_json::Value,
) -> Vec<(StatusCode, bool)> {
    let client = reqwest::Client::new();
    let requests = (0..PARALLEL).map(|n| {
        let request = client.post(format!("{}{path}", server.base)).json(&body(n));
        async move {
            let response = request.send().await.expect("the server answers");
            let retry_after = response.headers().contains_key("retry-after");
            (response.status(), retry_after)
        }
    });
    futures::future::join_all(requests).await
}

fn count(answers: &[(StatusCode, bool)], status: StatusCode) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

fn assert_only(answers: &[(StatusCode, bool)], allowed: &[StatusCode]) {
    for (status, retry_after) in answers {
        assert!(allowed.contains(status), "unexpected {status}");
        if *status == StatusCode::SERVICE_UNAVAILABLE || *status == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry_after, "{status} without Retry-After");
        }
    }
}

async fn register(server: &Server, email: &str) -> StatusCode {
    let body = json!({"email": email, "password": "correct-horse-battery"});
    let url = format!("{}/users", server.base);
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn health(server: &Server) -> StatusCode {
    reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_logins_and_registrations_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // Backoff and registration pacing off: the hashing pool alone must hold the line.
    let server = Server::start_with(
        dir.path(),
        &[
            ("FF_PASSWORD_WORKERS", "2"),
            ("FF_LOGIN_FREE_FAILURES", "1000000"),
            ("FF_REGISTRATIONS_FREE", "1000000"),
        ],
    );
    assert_eq!(
        register(&server, "tester@example.com").await,
        StatusCode::CREATED
    );
    let (baseline, _) = server.memory();

    let wrong = |_| json!({"email": "tester@example.com", "password": "wrongpass1"});
    let logins = fire(&server, "/tokens", wrong).await;
    assert_only(
        &logins,
        &[StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE],
    );
    assert!(
        count(&logins, StatusCode::UNAUTHORIZED) >= 1,
        "some were hashed"
    );
    assert!(
        count(&logins, StatusCode::SERVICE_UNAVAILABLE) >= 1,
        "the rest refused at once"
    );

    let fresh =
        |n| json!({"email": format!("user{n}@example.com"), "password": "correct-horse-battery"});
    let registrations = fire(&server, "/users", fresh).await;
    assert_only(
        &registrations,
        &[StatusCode::CREATED, StatusCode::SERVICE_UNAVAILABLE],
    );
    assert!(count(&registrations, StatusCode::CREATED) >= 1);

    assert_eq!(health(&server).await, StatusCode::OK);
    let (after, peak) = server.memory();
    eprintln!(
        "RSS before {} MiB, peak {} MiB, after {} MiB; logins refused {}, registrations refused {}",
        baseline / MIB,
        peak / MIB,
        after / MIB,
        count(&logins, StatusCode::SERVICE_UNAVAILABLE),
        count(&registrations, StatusCode::SERVICE_UNAVAILABLE),
    );
    assert!(peak < PEAK_BOUND, "peak {} MiB", peak / MIB);
    assert!(
        after < baseline + AFTER_BOUND,
        "{} MiB after, {} MiB before",
        after / MIB,
        baseline / MIB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_is_made_to_wait_without_any_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(
        register(&server, "tester@example.com").await,
        StatusCode::CREATED
    );
    let wrong = |_| json!({"email": "tester@example.com", "password": "wrongpass1"});
    let first = fire(&server, "/tokens", wrong).await;
    assert_only(
        &first,
        &[StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE],
    );
    let second = fire(&server, "/tokens", wrong).await;
    assert_eq!(
        count(&second, StatusCode::TOO_MANY_REQUESTS),
        PARALLEL,
        "every guess waits"
    );
    assert_only(&second, &[StatusCode::TOO_MANY_REQUESTS]);
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    let throttled = format!("ferroflux_logins_throttled_total {PARALLEL}");
    assert!(text.lines().any(|l| l == throttled), "{text}");
    let (_, peak) = server.memory();
    assert!(peak < PEAK_BOUND, "peak {} MiB", peak / MIB);
}

async fn wrong_login_via(server: &Server, forwarded_for: &str, email: &str) -> StatusCode {
    let body = json!({"email": email, "password": "wrongpass1"});
    let request = reqwest::Client::new()
        .post(format!("{}/tokens", server.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&body);
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_backs_off_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_TRUSTED_PROXIES", "127.0.0.0/8")]);
    for n in 0..6 {
        let status = wrong_login_via(&server, "203.0.113.5", &format!("u{n}@example.com")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    let blocked = wrong_login_via(&server, "203.0.113.5", "fresh@example.com").await;
    assert_eq!(blocked, StatusCode::TOO_MANY_REQUESTS, "the guesser waits");
    let other = wrong_login_via(&server, "203.0.113.6", "other@example.com").await;
    assert_eq!(
        other,
        StatusCode::UNAUTHORIZED,
        "another client behind the proxy does not"
    );
}

#[tokio::test]
async fn an_untrusted_client_cannot_escape_backoff_by_naming_another_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for n in 0..6 {
        let spoofed = format!("198.51.100.{n}");
        let status = wrong_login_via(&server, &spoofed, &format!("u{n}@example.com")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    let blocked = wrong_login_via(&server, "198.51.100.99", "fresh@example.com").await;
    assert_eq!(blocked, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_registers_a_few_users_then_waits_unless_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_REGISTRATIONS_FREE", "3")]);
    for n in 0..3 {
        let status = register(&server, &format!("user{n}@example.com")).await;
        assert_eq!(status, StatusCode::CREATED, "registration {n}");
    }
    let url = format!("{}/users", server.base);
    let body = json!({"email": "fourth@example.com", "password": "correct-horse-battery"});
    let paced = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(paced.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(paced.headers().contains_key("retry-after"));

    let login = json!({"email": "user0@example.com", "password": "correct-horse-battery"});
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/tokens", server.base))
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invited = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        invited.status(),
        StatusCode::CREATED,
        "a logged-in user is not paced"
    );
}
