//! Lists: `offset`/`limit` defaults and bounds, totals under filters, case-insensitive name
//! substring, JSON containment on metadata, default order (id desc); also the lists that follow
//! connections.

mod common;

use axum::http::StatusCode;
use common::{TestApp, req};
use serde_json::{Value, json};

/// The ids of a page's items, in the order given.
fn ids(page: &Value, field: &str) -> Vec<String> {
    page[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} list in {page}"))
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The ids in Mainflux 0.12's default list order, `id desc`.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.reverse();
    ids
}

/// Twelve items: names and metadata chosen so every filter below selects a known subset.
fn twelve() -> Vec<Value> {
    (0..12)
        .map(|i| {
            let name = match i % 3 {
                0 => format!("Temp-Sensor-{i}"),
                1 => format!("humidity-SENSOR-{i}"),
                _ => format!("valve-{i}"),
            };
            json!({
                "name": name,
                "metadata": {
                    "kind": if i % 2 == 0 { "even" } else { "odd" },
                    "site": {"building": "b1", "floor": i % 4, "tags": ["x", format!("t{i}")]},
                },
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn things_and_channels_page_and_filter_like_mainflux() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    for (list, bulk) in [("things", "/things/bulk"), ("channels", "/channels/bulk")] {
        let created = t
            .send(
                req("POST", bulk)
                    .token(&a.token)
                    .json(Value::from(twelve())),
            )
            .await
            .expect(StatusCode::CREATED, bulk)
            .json();
        let all = sorted(ids(&created, list));
        assert_eq!(all.len(), 12);

        let path = format!("/{list}");
        let first = t.get(&a.token, &path).await;
        assert_eq!(
            (&first["total"], &first["offset"], &first["limit"]),
            (&json!(12), &json!(0), &json!(10)),
            "defaults: {first}"
        );
        assert_eq!(ids(&first, list), all[..10], "first page in id order");
        let rest = t.get(&a.token, &format!("{path}?offset=10")).await;
        assert_eq!(ids(&rest, list), all[10..], "second page in id order");
        assert_eq!((&rest["total"], &rest["offset"]), (&json!(12), &json!(10)));
        let every = t.get(&a.token, &format!("{path}?limit=100")).await;
        assert_eq!(ids(&every, list), all);
        let window = t.get(&a.token, &format!("{path}?offset=3&limit=4")).await;
        assert_eq!(ids(&window, list), all[3..7]);
        let beyond = t.get(&a.token, &format!("{path}?offset=50")).await;
        assert_eq!(
            (ids(&beyond, list).len(), &beyond["total"]),
            (0, &json!(12))
        );
        let one = t.get(&a.token, &format!("{path}?limit=1")).await;
        assert_eq!(ids(&one, list), all[..1]);

        // (query, expected total); names: i%3 == 0 "Temp-Sensor", 1 "humidity-SENSOR", 2 "valve".
        let filters = [
            ("name=sensor", 8),
            ("name=SENSOR", 8),
            ("name=SeNsOr-1", 2), // humidity-SENSOR-1 and humidity-SENSOR-10
            ("name=temp", 4),
            ("name=valve-11", 1),
            ("name=nothing", 0),
            ("name=", 12),
            ("metadata=%7B%7D", 12),
            ("metadata=%7B%22kind%22%3A%22even%22%7D", 6),
            ("metadata=%7B%22site%22%3A%7B%22floor%22%3A1%7D%7D", 3),
            (
                "metadata=%7B%22site%22%3A%7B%22building%22%3A%22b1%22%7D%7D",
                12,
            ),
            (
                "metadata=%7B%22site%22%3A%7B%22tags%22%3A%5B%22t5%22%5D%7D%7D",
                1,
            ),
            (
                "metadata=%7B%22site%22%3A%7B%22tags%22%3A%5B%22x%22%5D%7D%7D",
                12,
            ),
            (
                "metadata=%7B%22site%22%3A%7B%22building%22%3A%22b2%22%7D%7D",
                0,
            ),
            ("metadata=%7B%22missing%22%3Anull%7D", 0),
            ("name=sensor&metadata=%7B%22kind%22%3A%22odd%22%7D", 4),
        ];
        for (query, total) in filters {
            let page = t.get(&a.token, &format!("{path}?{query}&limit=2")).await;
            assert_eq!(page["total"], total, "{path}?{query}: {page}");
            let got = ids(&page, list);
            assert_eq!(got.len(), total.min(2), "{path}?{query}: page size");
            assert_eq!(sorted(got.clone()), got, "{path}?{query}: id order");
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_lists_page_and_filter() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let things = t
        .send(
            req("POST", "/things/bulk")
                .token(&a.token)
                .json(Value::from(twelve())),
        )
        .await
        .expect(StatusCode::CREATED, "bulk things")
        .json();
    let things = ids(&things, "things");
    let channels = t
        .send(
            req("POST", "/channels/bulk")
                .token(&a.token)
                .json(Value::from(twelve()[..5].to_vec())),
        )
        .await
        .expect(StatusCode::CREATED, "bulk channels")
        .json();
    let channels = ids(&channels, "channels");
    let (hub, lonely) = (&channels[0], &channels[4]);
    // Things 0..11 on the hub; thing 0 on channels 0..3.
    let connect = json!({"channel_ids": [hub], "thing_ids": things});
    t.send(req("POST", "/connect").token(&a.token).json(connect))
        .await
        .expect(StatusCode::OK, "connect to hub");
    let connect = json!({"channel_ids": channels[1..4], "thing_ids": [things[0]]});
    t.send(req("POST", "/connect").token(&a.token).json(connect))
        .await
        .expect(StatusCode::OK, "connect thing 0");

    let path = format!("/channels/{hub}/things");
    let page = t.get(&a.token, &path).await;
    assert_eq!((&page["total"], &page["limit"]), (&json!(12), &json!(10)));
    let all = sorted(things.clone());
    assert_eq!(ids(&page, "things"), all[..10], "things of a channel by id");
    let with_key = &page["things"][0];
    assert!(with_key["key"].as_str().is_some_and(|k| !k.is_empty()));
    let page = t.get(&a.token, &format!("{path}?offset=10&limit=5")).await;
    assert_eq!(ids(&page, "things"), all[10..]);
    let page = t.get(&a.token, &format!("{path}?name=VALVE&limit=1")).await;
    assert_eq!((&page["total"], ids(&page, "things").len()), (&json!(4), 1));
    let odd = "metadata=%7B%22kind%22%3A%22odd%22%7D";
    let page = t.get(&a.token, &format!("{path}?{odd}")).await;
    assert_eq!(page["total"], 6, "{page}");
    let empty = t.get(&a.token, &format!("/channels/{lonely}/things")).await;
    assert_eq!(
        (&empty["total"], ids(&empty, "things").len()),
        (&json!(0), 0)
    );

    let path = format!("/things/{}/channels", things[0]);
    let page = t.get(&a.token, &path).await;
    assert_eq!(page["total"], 4, "{page}");
    assert_eq!(ids(&page, "channels"), sorted(channels[..4].to_vec()));
    let page = t.get(&a.token, &format!("{path}?offset=1&limit=2")).await;
    assert_eq!(ids(&page, "channels"), sorted(channels[..4].to_vec())[1..3]);
    let page = t.get(&a.token, &format!("{path}?name=temp")).await;
    assert_eq!(page["total"], 2, "channels 0 and 3 are Temp-Sensor: {page}");
    let page = t
        .get(&a.token, &format!("/things/{}/channels", things[5]))
        .await;
    assert_eq!(ids(&page, "channels"), vec![hub.clone()]);
    t.finish().await;
}
