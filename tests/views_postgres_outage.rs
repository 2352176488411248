//! PostgreSQL going away under a serving node (`FF_VIEWS`): queries and commands answer 503
//! with a clear body, the data plane keeps working from its in-memory authorization cache,
//! nothing is half done, and the node serves again by itself once the database is back. The outage is a network one: a relay between the node and the real server that the
//! test cuts (every connection closed, new ones refused) and restores.

mod process;
mod relay_support;

use std::time::{Duration, Instant};

use process::Server;
use projections::views::postgres::ScratchDatabase;
use relay_support::{Relay, through, upstream};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The test's user, with the calls this test makes beyond `process::User`'s.
struct Api(process::User);

impl std::ops::Deref for Api {
    type Target = process::User;

    fn deref(&self) -> &process::User {
        &self.0
    }
}

impl Api {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// POST /things of the thing "during", always as the same command.
    async fn create_during(&self) -> reqwest::Response {
        self.http
            .post(format!("{}/things", self.base))
            .bearer_auth(&self.token)
            .header("idempotency-key", "6f1c3a52-0d7e-4c1b-9a55-2b8f3e1d7c90")
            .json(&json!({"name": "during"}))
            .send()
            .await
            .unwrap()
    }

    async fn names(&self) -> Option<Vec<String>> {
        let page = self.send("GET", "/things?order=name&dir=asc", None).await;
        if page.status() != StatusCode::OK {
            return None;
        }
        let page: Value = page.json().await.unwrap();
        let things = page["things"].as_array().unwrap();
        Some(
            things
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_views_database_going_away_is_503_and_the_node_recovers_by_itself() {
    let server_url = commands::test_services::postgres_url();
    let database = ScratchDatabase::create(&server_url, "ff_test")
        .await
        .unwrap();
    let relay = Relay::start(upstream(&database.url)).await;
    let dir = tempfile::tempdir().unwrap();
    let views = through(&database.url, relay.addr);
    let server = Server::start_with(dir.path(), &[("FF_VIEWS", views.as_str())]);
    let api = Api(process::User::register(&server.base, "outage@example.com").await);

    let key = "outage-device-key";
    let thing = api
        .create("/things", json!({"name": "before", "key": key}))
        .await;
    let channel = api.create("/channels", json!({"name": "c"})).await;
    api.connect(&channel, &thing).await;

    relay.cut();
    let listed = api.send("GET", "/things", None).await;
    assert_eq!(listed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = listed.json().await.unwrap();
    assert!(
        body.to_string().to_lowercase().contains("unavailable"),
        "{body}"
    );
    // The data plane checks keys and connections in memory: publishing goes on.
    let published = api
        .http
        .post(format!("{}/channels/{channel}/messages", api.base))
        .header("authorization", format!("Thing {key}"))
        .body(r#"[{"n":"t","v":1}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), StatusCode::ACCEPTED);

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if api.names().await.is_some_and(|names| names == ["before"]) {
            break;
        }
        assert!(Instant::now() < deadline, "the node did not serve again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A command while the database is away is refused before anything is appended (the
    // caller's token is checked against the views); its retry once the database is back
    // runs it, and a second retry (same Idempotency-Key) returns the first outcome.
    relay.cut();
    let during = api.create_during().await;
    assert_eq!(during.status(), StatusCode::SERVICE_UNAVAILABLE);
    relay.restore();
    let retried = api.create_during().await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    let again = api.create_during().await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["location"], retried.headers()["location"]);
    assert_eq!(api.names().await.unwrap(), ["before", "during"]);
    let (status, _) = server.terminate();
    assert!(status.success());
}
