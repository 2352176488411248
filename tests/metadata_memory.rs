//! Metadata costs its text, not a parsed tree: the report's 2 MB body is refused, and after
//! a restart each thing holds at most the stated figure of resident memory (README).

mod process;

use process::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};

const THINGS: usize = 4000;
const BULK: usize = 1000;
/// The stated figure (README): resident memory per thing with ~150 bytes of metadata,
/// everything included (views, authz cache, event-log cache, allocator).
const BYTES_PER_THING: u64 = 4 * 1024;

fn user() -> Value {
    json!({"email": "tester@example.com", "password": "correct-horse-battery"})
}

async fn register(server: &Server) {
    let url = format!("{}/users", server.base);
    let created = reqwest::Client::new()
        .post(url)
        .json(&user())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

async fn login(server: &Server) -> String {
    let url = format!("{}/tokens", server.base);
    let login = reqwest::Client::new()
        .post(url)
        .json(&user())
        .send()
        .await
        .unwrap();
    let body: Value = login.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

fn metadata(n: usize) -> Value {
    json!({
        "serial": format!("SN-{n:08}"),
        "model": "thermo-2000",
        "location": {"site": "plant-3", "floor": n % 7, "room": format!("R{}", n % 97)},
        "tags": ["temperature", "humidity"]
    })
}

#[tokio::test]
async fn the_amplifying_body_is_refused_and_things_stay_small_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    register(&server).await;
    let token = login(&server).await;
    let client = reqwest::Client::new();

    let zeros = vec![0; 1_000_000];
    let huge = json!({"name": "a", "metadata": {"a": zeros}});
    let refused = client
        .post(format!("{}/things", server.base))
        .bearer_auth(&token)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("larger than 32768 bytes"),
        "{error}"
    );

    for batch in 0..THINGS / BULK {
        let things: Vec<Value> = (0..BULK)
            .map(|i| {
                let n = batch * BULK + i;
                json!({"name": format!("thing-{n}"), "metadata": metadata(n)})
            })
            .collect();
        let created = client
            .post(format!("{}/things/bulk", server.base))
            .bearer_auth(&token)
            .json(&things)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let (status, _) = server.terminate();
    assert!(status.success());

    let empty_dir = tempfile::tempdir().unwrap();
    let empty = Server::start(empty_dir.path());
    let (empty_rss, _) = empty.memory();
    let full = Server::start(dir.path());
    let (full_rss, _) = full.memory();
    let per_thing = full_rss.saturating_sub(empty_rss) / THINGS as u64;
    eprintln!(
        "RSS empty {} KiB, with {THINGS} things {} KiB: {per_thing} bytes per thing",
        empty_rss / 1024,
        full_rss / 1024
    );
    assert!(per_thing <= BYTES_PER_THING, "{per_thing} bytes per thing");

    let filter = "%7B%22serial%22%3A%22SN-00000042%22%7D";
    let url = format!("{}/things?metadata={filter}", full.base);
    let listed = client
        .get(url)
        .bearer_auth(login(&full).await)
        .send()
        .await
        .unwrap();
    let page: Value = listed.json().await.unwrap();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["things"][0]["name"], "thing-42");
    assert_eq!(page["things"][0]["metadata"], metadata(42));
}
