//! A payload without a content type (MQTT 3.1.1 has none) is read as SenML JSON when it is
//! one, as Mainflux's writers did; otherwise it is kept opaque, and not counted as invalid.

mod common;

use std::sync::atomic::Ordering;

use common::TestApp;
use common::reading::{messages, send_as};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn an_undeclared_senml_pack_is_stored_as_measurements_and_anything_else_opaque() {
    let t = TestApp::start().await;
    let owner = t.user("sniff@example.com").await;
    let d = t.device(&owner).await;
    let pack = json!([{"bn": "dev:", "n": "temp", "u": "Cel", "v": 20.5}]).to_string();
    t.publish_ok(send_as(&d.path(""), &d.key, None, pack)).await;
    t.publish_ok(send_as(&d.path(""), &d.key, None, "not senml"))
        .await;
    t.written(2).await;

    let page = t.read_until(&d.channel, "", &owner.token, 2).await;
    let stored = messages(&page);
    let measured = stored
        .iter()
        .find(|m| m["name"] == "dev:temp")
        .expect("a measurement");
    assert_eq!(
        (measured["unit"].clone(), measured["value"].clone()),
        (json!("Cel"), json!(20.5))
    );
    let opaque = stored
        .iter()
        .find(|m| m.get("payload").is_some())
        .expect("an opaque record");
    assert_eq!(opaque["payload"], json!("bm90IHNlbm1s"));
    assert_eq!(t.app.writer_stats.invalid_senml.load(Ordering::Relaxed), 0);
    t.finish().await;
}
