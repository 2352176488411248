//! A stopping server records every device fetch it answered: the records are appended
//! after the answers (`bootstrap_attempts`), and SIGTERM waits for them.

mod process;

use process::{Server, User, ferroflux};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn fetches_answered_before_a_stop_are_all_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let user = User::register(&server.base, "stop@example.com").await;
    let body = json!({"external_id": "serial-stop", "external_key": "factory-key-stop"});
    user.create("/things/configs", body).await;
    let fetches = (0..200).map(|n| {
        let (http, base) = (user.http.clone(), server.base.clone());
        async move {
            let key = if n % 2 == 0 {
                "factory-key-stop"
            } else {
                "wrong"
            };
            let status = http
                .get(format!("{base}/things/bootstrap/serial-stop"))
                .header("authorization", key)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, if n % 2 == 0 { 200 } else { 404 });
        }
    });
    futures::future::join_all(fetches).await;
    // Stopped at once: some records may still be queued.
    let (status, _) = server.terminate();
    assert!(status.success());
    let events = ferroflux(dir.path()).arg("events").output().unwrap();
    assert!(events.status.success());
    let text = String::from_utf8_lossy(&events.stdout);
    let recorded: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"type\":\"thing.bootstrap\""))
        .collect();
    assert_eq!(recorded.len(), 200);
    let succeeded = recorded
        .iter()
        .filter(|l| l.contains("\"success\":true"))
        .count();
    assert_eq!(succeeded, 100);
}
