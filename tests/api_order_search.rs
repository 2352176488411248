//! Mainflux 0.12 list order (`order` = `id` | `name`, `dir` = `desc` | `asc`, default `id
//! desc`) on every list, and `POST /things/search` / `POST /channels/search` answering as the
//! `GET` list with the same parameters.

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, User, ids, req};
use serde_json::{Value, json};

/// Names with a tie ("b" twice), case ("B" sorts before "a", byte order) and a nameless row.
const NAMES: &[Option<&str>] = &[Some("b"), Some("a"), Some("B"), None, Some("b"), Some("c")];

/// Creates one item per name; returns (id, name) pairs.
async fn create(t: &TestApp, a: &User, list: &str) -> Vec<(String, String)> {
    let body: Vec<Value> = NAMES
        .iter()
        .map(|n| n.map_or_else(|| json!({}), |n| json!({ "name": n })))
        .collect();
    let created = t
        .send(
            req("POST", format!("/{list}/bulk"))
                .token(&a.token)
                .json(json!(body)),
        )
        .await
        .expect(StatusCode::CREATED, "bulk")
        .json();
    let ids = ids(&created, list);
    let names = NAMES.iter().map(|n| n.unwrap_or_default().to_owned());
    ids.into_iter().zip(names).collect()
}

/// The ids sorted as the API must: by name (nameless as "") then id, or by id.
fn expected(items: &[(String, String)], by_name: bool, asc: bool) -> Vec<String> {
    let mut sorted = items.to_vec();
    match by_name {
        true => sorted.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0))),
        false => sorted.sort_by(|a, b| a.0.cmp(&b.0)),
    }
    if !asc {
        sorted.reverse();
    }
    sorted.into_iter().map(|(id, _)| id).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_sort_by_order_and_dir() {
    let t = TestApp::start().await;
    let a = t.user("order@example.com").await;
    for list in ["things", "channels"] {
        let items = create(&t, &a, list).await;
        let (id_asc, id_desc) = (
            expected(&items, false, true),
            expected(&items, false, false),
        );
        let (name_asc, name_desc) = (expected(&items, true, true), expected(&items, true, false));
        assert_ne!(
            name_asc, id_asc,
            "the names must order differently from the ids"
        );
        let cases = [
            ("", id_desc.clone()),
            ("order=id", id_desc.clone()),
            ("dir=desc", id_desc.clone()),
            ("dir=asc", id_asc.clone()),
            ("order=id&dir=asc", id_asc.clone()),
            ("order=name", name_desc.clone()),
            ("order=name&dir=desc", name_desc.clone()),
            ("order=name&dir=asc", name_asc.clone()),
            (
                "order=name&dir=asc&offset=1&limit=3",
                name_asc[1..4].to_vec(),
            ),
            ("order=name&dir=desc&offset=4", name_desc[4..].to_vec()),
        ];
        for (query, want) in cases {
            let page = t.get(&a.token, &format!("/{list}?{query}")).await;
            assert_eq!(ids(&page, list), want, "GET /{list}?{query}");
            assert_eq!(page["total"], 6, "GET /{list}?{query}");
        }
        // A filter sorts what it keeps: "b", "B", "b" by name then id.
        let page = t
            .get(&a.token, &format!("/{list}?name=b&order=name&dir=asc"))
            .await;
        let want: Vec<String> = name_asc
            .iter()
            .filter(|id| {
                items
                    .iter()
                    .any(|(i, n)| i == *id && n.eq_ignore_ascii_case("b"))
            })
            .cloned()
            .collect();
        assert_eq!((ids(&page, list), page["total"].clone()), (want, json!(3)));

        let mut failures = Failures::default();
        for bad in [
            "order=created",
            "order=NAME",
            "order=",
            "dir=up",
            "dir=",
            "dir=ASC",
        ] {
            let resp = t
                .send(req("GET", format!("/{list}?{bad}")).token(&a.token))
                .await;
            failures.check(
                &format!("GET /{list}?{bad}"),
                &resp,
                StatusCode::BAD_REQUEST,
            );
        }
        failures.assert_none();
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_lists_sort_too() {
    let t = TestApp::start().await;
    let a = t.user("conn-order@example.com").await;
    let things = create(&t, &a, "things").await;
    let channels = create(&t, &a, "channels").await;
    let all_things: Vec<&String> = things.iter().map(|(id, _)| id).collect();
    let all_channels: Vec<&String> = channels.iter().map(|(id, _)| id).collect();
    let body = json!({"channel_ids": all_channels, "thing_ids": all_things});
    t.send(req("POST", "/connect").token(&a.token).json(body))
        .await
        .expect(StatusCode::OK, "connect all");
    let (channel, thing) = (&channels[0].0, &things[0].0);
    for (query, by_name, asc) in [
        ("", false, false),
        ("dir=asc", false, true),
        ("order=name&dir=asc", true, true),
        ("order=name", true, false),
    ] {
        let page = t
            .get(&a.token, &format!("/channels/{channel}/things?{query}"))
            .await;
        assert_eq!(
            ids(&page, "things"),
            expected(&things, by_name, asc),
            "things of channel ?{query}"
        );
        let page = t
            .get(&a.token, &format!("/things/{thing}/channels?{query}"))
            .await;
        assert_eq!(
            ids(&page, "channels"),
            expected(&channels, by_name, asc),
            "channels of thing ?{query}"
        );
    }
    let resp = t
        .send(req("GET", format!("/things/{thing}/channels?order=x")).token(&a.token))
        .await;
    resp.expect(StatusCode::BAD_REQUEST, "bad order on a connection list");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_answers_as_the_get_list() {
    let t = TestApp::start().await;
    let a = t.user("search@example.com").await;
    let b = t.user("other-searcher@example.com").await;
    for list in ["things", "channels"] {
        create(&t, &a, list).await;
        let tagged = json!({"name": "tagged", "metadata": {"kind": "x", "n": 1}});
        t.send(req("POST", format!("/{list}")).token(&a.token).json(tagged))
            .await
            .expect(StatusCode::CREATED, "tagged");
        t.send(
            req("POST", format!("/{list}"))
                .token(&b.token)
                .json(json!({"name": "b's"})),
        )
        .await
        .expect(StatusCode::CREATED, "b's");
        let search = format!("/{list}/search");
        // (body, the same parameters as a query string)
        let cases = [
            (json!({}), ""),
            (
                json!({"order": "name", "dir": "asc", "offset": 1, "limit": 3}),
                "order=name&dir=asc&offset=1&limit=3",
            ),
            (json!({"name": "B", "dir": "asc"}), "name=B&dir=asc"),
            (
                json!({"metadata": {"kind": "x"}}),
                "metadata=%7B%22kind%22%3A%22x%22%7D",
            ),
            (
                json!({"limit": 100, "order": "id", "total": 99}),
                "limit=100&order=id",
            ),
            (json!({"name": "nothing-matches"}), "name=nothing-matches"),
        ];
        for (body, query) in cases {
            let searched = t
                .send(req("POST", &search).token(&a.token).json(body.clone()))
                .await
                .expect(StatusCode::OK, &format!("POST {search} {body}"))
                .json();
            let listed = t.get(&a.token, &format!("/{list}?{query}")).await;
            assert_eq!(searched, listed, "POST {search} {body} vs GET ?{query}");
        }
        let all = t
            .send(
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"limit": 100})),
            )
            .await
            .json();
        assert_eq!(all["total"], 7, "a's {list} only: {all}");
        let theirs = t
            .send(req("POST", &search).token(&b.token).json(json!({})))
            .await
            .json();
        assert_eq!(theirs["total"], 1, "b's {list} only: {theirs}");

        let mut failures = Failures::default();
        let bad = [
            (
                "limit 0",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"limit": 0})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "limit 101",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"limit": 101})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "negative offset",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"offset": -1})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "bad order",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"order": "created"})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "bad dir",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"dir": "up"})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "metadata not an object",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"metadata": [1]})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "long name",
                req("POST", &search)
                    .token(&a.token)
                    .json(json!({"name": "n".repeat(1025)})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "no token",
                req("POST", &search).json(json!({})),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "no content type",
                req("POST", &search).token(&a.token).raw(None, "{}"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
        ];
        for (case, request, expected) in bad {
            failures.check(
                &format!("{search}: {case}"),
                &t.send(request).await,
                expected,
            );
        }
        failures.assert_none();
    }
    t.finish().await;
}
