//! `ferroflux replay` with PostgreSQL views: the tables rebuilt from history into fresh ones
//! and swapped in. On an embedded log with the server stopped, it restores rows damaged by
//! hand; on a shared JetStream log, a node keeps serving and writing through it.

mod cluster_support;
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cluster_support::{Cluster, call, user};
use process::{Server, ferroflux};
use projections::views::postgres::{REBUILD_SCHEMA, ScratchDatabase};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

async fn fresh_views() -> ScratchDatabase {
    let server = commands::test_services::postgres_url();
    ScratchDatabase::create(&server, "ff_test")
        .await
        .expect("test database")
}

/// Runs `ferroflux <args>` in `dir` with `env`; panics with its stderr when it fails.
fn tool(dir: &std::path::Path, env: &[(String, String)], args: &[&str]) -> String {
    let output = ferroflux(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn sql(db: &mut PgConnection, statement: String) {
    sqlx::query(AssertSqlSafe(statement))
        .execute(db)
        .await
        .expect("statement");
}

async fn checkpoint(db: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT position FROM view_checkpoints WHERE name = 'views'")
        .fetch_one(db)
        .await
        .expect("checkpoint")
}

fn names(page: &Value, field: &str) -> Vec<String> {
    let items = page[field].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_restores_rows_damaged_by_hand_and_the_node_serves_them() {
    let database = fresh_views().await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("FF_VIEWS".to_owned(), database.url.clone())];
    let server = Server::start_with(dir.path(), &[("FF_VIEWS", &database.url)]);
    let token = user(&server.base, &server.base).await;
    let create = |path: &str, name: &str| {
        call(
            "POST",
            format!("{}/{path}", server.base),
            Some(&token),
            Some(json!({"name": name})),
        )
    };
    let (_, _, one) = create("things", "one").await;
    let (_, _, two) = create("things", "two").await;
    let (_, _, ch) = create("channels", "ch").await;
    let connect = format!("{}/channels/{ch}/things/{one}", server.base);
    assert_eq!(call("PUT", connect, Some(&token), None).await.0, 200);
    let (status, _) = server.terminate();
    assert!(status.success());

    // Rows lost and changed by hand, while the checkpoint says all 5 events are applied;
    // and the leftover of an interrupted rebuild.
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    sql(&mut db, format!("DELETE FROM things WHERE id = '{one}'")).await;
    sql(&mut db, "UPDATE channels SET name = 'tampered'".into()).await;
    sql(&mut db, "DELETE FROM connections".into()).await;
    sql(&mut db, format!("CREATE SCHEMA {REBUILD_SCHEMA}")).await;
    sql(
        &mut db,
        format!("CREATE TABLE {REBUILD_SCHEMA}.users (junk int)"),
    )
    .await;
    let damaged = ferroflux(dir.path())
        .env("FF_VIEWS", &database.url)
        .args(["replay", "--verify"])
        .output()
        .unwrap();
    assert!(!damaged.status.success(), "verify sees the damage");

    let said = tool(dir.path(), &env, &["replay"]);
    assert!(said.contains("swapped in at position 5"), "{said}");
    assert_eq!(checkpoint(&mut db).await, 5);
    let said = tool(dir.path(), &env, &["replay", "--verify"]);
    assert!(said.contains("views (postgres)"), "{said}");
    let leftover: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(REBUILD_SCHEMA)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(leftover, 0);

    let server = Server::start_with(dir.path(), &[("FF_VIEWS", &database.url)]);
    let get = |path: String| call("GET", format!("{}/{path}", server.base), Some(&token), None);
    let (status, thing, _) = get(format!("things/{one}")).await;
    assert_eq!((status, thing["name"].as_str()), (200, Some("one")));
    let (_, channel, _) = get(format!("channels/{ch}")).await;
    assert_eq!(channel["name"], "ch");
    let (_, of_thing, _) = get(format!("things/{one}/channels")).await;
    assert_eq!(names(&of_thing, "channels"), ["ch"]);
    let (_, all, _) = get("things?order=name&dir=asc".into()).await;
    assert_eq!(names(&all, "things"), ["one", "two"]);
    assert_eq!(get(format!("things/{two}")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_jetstream_keeps_serving_and_writing_through_replay_and_the_swap() {
    let database = fresh_views().await;
    let mut cluster = Cluster::new();
    cluster
        .env
        .push(("FF_VIEWS".to_owned(), database.url.clone()));
    let node = cluster.start("one");
    let token = user(&node.base, &node.base).await;
    // Some history, so that the rebuild takes a while.
    for _ in 0..4 {
        let batch: Vec<Value> = (0..500).map(|n| json!({"name": format!("b{n}")})).collect();
        let url = format!("{}/things/bulk", node.base);
        assert_eq!(
            call("POST", url, Some(&token), Some(json!(batch))).await.0,
            201
        );
    }

    // A writer through the node: each thing readable from the views the moment it is
    // created (read-your-writes), lists answering, before, during and after the swap.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (base, token, stop) = (node.base.clone(), token.clone(), stop.clone());
        tokio::spawn(async move {
            let mut written = 0;
            while !stop.load(Ordering::Relaxed) || written < 20 {
                let url = format!("{base}/things");
                let (status, body, id) =
                    call("POST", url, Some(&token), Some(json!({"name": "w"}))).await;
                assert_eq!(status, 201, "{body}");
                let (status, body, _) =
                    call("GET", format!("{base}/things/{id}"), Some(&token), None).await;
                assert_eq!(status, 200, "read-your-writes: {body}");
                let (status, body, _) =
                    call("GET", format!("{base}/things?limit=3"), Some(&token), None).await;
                assert_eq!(status, 200, "{body}");
                written += 1;
            }
            written
        })
    };
    let watcher = {
        let (url, stop) = (database.url.clone(), stop.clone());
        tokio::spawn(async move {
            let mut db = PgConnection::connect(&url).await.unwrap();
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                seen.push(checkpoint(&mut db).await);
            }
            seen
        })
    };
    let (dir, env) = (cluster.dirs.path().join("tools"), cluster.env.clone());
    let said = tokio::task::spawn_blocking(move || tool(&dir, &env, &["replay"]))
        .await
        .unwrap();
    assert!(said.contains("swapped in at position"), "{said}");
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    let seen = watcher.await.unwrap();
    eprintln!(
        "{said}{written} things written through the node meanwhile, checkpoints seen {:?}..{:?}",
        seen.first(),
        seen.last()
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "the checkpoint moved backwards"
    );

    let (_, page, _) = call(
        "GET",
        format!("{}/things?limit=1", node.base),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(page["total"], 2000 + written, "no thing lost or doubled");
    let tools = cluster.dirs.path().join("tools");
    let history = tool(&tools, &cluster.env, &["events"]);
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    assert_eq!(checkpoint(&mut db).await as usize, history.lines().count());
    let said = tool(&tools, &cluster.env, &["replay", "--verify"]);
    assert!(said.contains("views (postgres)"), "{said}");
    let logged: Vec<String> = node.log.try_iter().collect();
    let trouble: Vec<_> = logged
        .iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(trouble.is_empty(), "{trouble:#?}");
}
