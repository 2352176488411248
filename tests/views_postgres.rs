//! The REST API with its query views in PostgreSQL (`FF_VIEWS`): in process through the
//! router, and as the real binary; plus the operator's view of a bad or masked URL.

mod common;
mod process;

use axum::http::StatusCode;
use common::{TestApp, req};
use process::{Server, assert_refused_at_start, config_output, ferroflux};
use projections::views::postgres::ScratchDatabase;
use serde_json::{Value, json};

/// A fresh database on the test server, for one test (dropped with the guard).
async fn fresh_views() -> ScratchDatabase {
    let server = commands::test_services::postgres_url();
    ScratchDatabase::create(&server, "ff_test")
        .await
        .expect("test database")
}

fn names(page: &Value, field: &str) -> Vec<String> {
    page[field]
        .as_array()
        .expect(field)
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_filters_and_connections_come_from_postgres_right_after_each_command() {
    let database = fresh_views().await;
    let url = database.url.clone();
    let t = TestApp::start_with(|c| c.views = url).await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let mut things = Vec::new();
    for (name, meta) in [
        ("Alpha", json!({"k": 1})),
        ("beta", json!({"k": 2})),
        ("50%", json!({})),
    ] {
        let id = t
            .thing(&a.token, json!({"name": name, "metadata": meta}))
            .await;
        // Read-your-writes: the command answered only once PostgreSQL had the row.
        assert_eq!(
            t.get(&a.token, &format!("/things/{id}")).await["name"],
            name
        );
        things.push(id);
    }
    t.thing(&b.token, json!({"name": "alpha of b"})).await;
    let channel = t.channel(&a.token, json!({"name": "ch"})).await;
    t.connect(&a.token, &channel, &things[0]).await;

    let page = t.get(&a.token, "/things?order=name&dir=asc&limit=2").await;
    assert_eq!(
        (page["total"].as_u64(), names(&page, "things")),
        (Some(3), vec!["50%".into(), "Alpha".into()])
    );
    let page = t.get(&a.token, "/things?name=ALP").await;
    assert_eq!(names(&page, "things"), ["Alpha"]);
    let page = t.get(&a.token, "/things?name=%25").await;
    assert_eq!(names(&page, "things"), ["50%"]);
    let page = t.get(&a.token, "/things?metadata=%7B%22k%22%3A2%7D").await;
    assert_eq!(names(&page, "things"), ["beta"]);
    let connected = t
        .get(&a.token, &format!("/channels/{channel}/things"))
        .await;
    assert_eq!(names(&connected, "things"), ["Alpha"]);
    let rest = t
        .get(
            &a.token,
            &format!("/channels/{channel}/things?connected=false&order=name&dir=asc"),
        )
        .await;
    assert_eq!(names(&rest, "things"), ["50%", "beta"]);
    let of_thing = t
        .get(&a.token, &format!("/things/{}/channels", things[0]))
        .await;
    assert_eq!(names(&of_thing, "channels"), ["ch"]);

    // Owner isolation.
    t.send(req("GET", format!("/things/{}", things[0])).token(&b.token))
        .await
        .expect(StatusCode::NOT_FOUND, "another owner's thing");
    t.send(req("GET", format!("/channels/{channel}/things")).token(&b.token))
        .await
        .expect(StatusCode::NOT_FOUND, "another owner's channel");
    assert_eq!(
        names(&t.get(&b.token, "/things").await, "things"),
        ["alpha of b"]
    );

    // A removal drops the connection at once.
    t.send(req("DELETE", format!("/things/{}", things[0])).token(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT, "remove");
    let connected = t
        .get(&a.token, &format!("/channels/{channel}/things"))
        .await;
    assert_eq!(connected["total"], 0);
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_from_postgres_resumes_from_its_checkpoint_and_verifies() {
    let database = fresh_views().await;
    let url = database.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let credentials = json!({"email": "op@example.com", "password": "correct-horse"});
    let token = {
        let server = Server::start_with(dir.path(), &[("FF_VIEWS", &url)]);
        let base = &server.base;
        let created = http
            .post(format!("{base}/users"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let login: Value = http
            .post(format!("{base}/tokens"))
            .json(&credentials)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_owned();
        for name in ["one", "two"] {
            let made = http
                .post(format!("{base}/things"))
                .bearer_auth(&token)
                .json(&json!({"name": name}))
                .send()
                .await
                .unwrap();
            assert_eq!(made.status(), 201);
        }
        let (status, _) = server.terminate();
        assert!(status.success());
        token
    };
    // Restarted on the same database: the tables are reused, nothing is applied twice.
    let server = Server::start_with(dir.path(), &[("FF_VIEWS", &url)]);
    let page = process::get_json(
        &format!("{}/things?order=name&dir=asc", server.base),
        &token,
    )
    .await;
    assert_eq!(names(&page, "things"), ["one", "two"]);
    let (status, _) = server.terminate();
    assert!(status.success());

    // `replay --verify` compares the tables with a rebuild, and names them when they differ.
    let verify = || {
        ferroflux(dir.path())
            .env("FF_VIEWS", &url)
            .args(["replay", "--verify"])
            .output()
            .unwrap()
    };
    let clean = verify();
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{stdout}");
    assert!(stdout.contains("views (postgres)"), "{stdout}");
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE things SET name = 'tampered' WHERE name = 'one'")
        .execute(&mut db)
        .await
        .unwrap();
    let tampered = verify();
    let stderr = String::from_utf8_lossy(&tampered.stderr);
    assert!(!tampered.status.success(), "{stderr}");
    assert!(
        stderr.contains("projection views (postgres) differs"),
        "{stderr}"
    );

    // A node with another (here: empty) log cannot adopt these views.
    let other = tempfile::tempdir().unwrap();
    let output = ferroflux(other.path())
        .env("FF_VIEWS", &url)
        .arg("serve")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: FF_VIEWS: the database has applied"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_views_database_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://ff:secret@127.0.0.1:1/views",
        "mysql://ff@127.0.0.1/views",
    ] {
        assert_refused_at_start(dir.path(), "FF_VIEWS", url, "secret");
    }
}

#[test]
fn config_shows_the_views_url_with_the_password_masked() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://ff:hunter2@db.example.com:5432/views";
    let stdout = config_output(dir.path(), &[("FF_VIEWS", url)], &[]);
    assert!(
        stdout.contains("FF_VIEWS=postgres://ff:****@db.example.com:5432/views"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let default = config_output(dir.path(), &[], &["FF_VIEWS"]);
    assert!(default.contains("FF_VIEWS=memory"), "{default}");
}
