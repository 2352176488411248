//! `/ui/`: the admin UI's committed build (`ui/dist`), embedded in the binary and served with
//! the right types, caching and encodings, off the OpenAPI document.

mod common;

use axum::http::StatusCode;
use common::{TestApp, req};

/// The asset `index.html` names for `kind` (`.js` or `.css`), as served under `/ui/`.
fn asset(index: &str, ext: &str) -> String {
    index
        .split('"')
        .find(|part| part.starts_with("/ui/assets/") && part.ends_with(ext))
        .unwrap_or_else(|| panic!("no {ext} asset in index.html: {index}"))
        .to_owned()
}

fn header<'a>(resp: &'a common::Resp, name: &str) -> &'a str {
    resp.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ui_is_served_from_the_binary() {
    let t = TestApp::start().await;
    let resp = t.send(req("GET", "/ui")).await;
    assert_eq!(resp.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&resp, "location"), "/ui/");

    let index = t.send(req("GET", "/ui/")).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&index, "cache-control"), "no-cache");
    assert!(header(&index, "content-security-policy").contains("default-src 'self'"));
    let html = String::from_utf8(index.body.to_vec()).expect("UTF-8");
    assert_eq!(
        html,
        std::fs::read_to_string("ui/dist/index.html").expect("committed build")
    );

    for (ext, content_type) in [
        (".js", "text/javascript; charset=utf-8"),
        (".css", "text/css; charset=utf-8"),
    ] {
        let path = asset(&html, ext);
        let on_disk = std::fs::read(format!("ui/dist/{}", &path["/ui/".len()..])).expect("file");
        let plain = t.send(req("GET", &path)).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        assert_eq!(header(&plain, "content-type"), content_type);
        assert!(header(&plain, "cache-control").contains("immutable"));
        assert_eq!(header(&plain, "content-encoding"), "");
        assert_eq!(plain.body.as_ref(), on_disk.as_slice());

        let gzipped = t
            .send(req("GET", &path).header("Accept-Encoding", "br, gzip;q=0.8"))
            .await;
        assert_eq!(header(&gzipped, "content-encoding"), "gzip");
        assert_eq!(header(&gzipped, "vary"), "Accept-Encoding");
        assert!(
            gzipped.body.len() < plain.body.len() / 2,
            "{path} compressed"
        );
        assert_eq!(&gzipped.body[..2], &[0x1f, 0x8b], "gzip magic");

        let refused = t
            .send(req("GET", &path).header("Accept-Encoding", "gzip;q=0"))
            .await;
        assert_eq!(header(&refused, "content-encoding"), "");
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ui_files_are_404_and_the_ui_is_not_an_api() {
    let t = TestApp::start().await;
    for path in ["/ui/assets/nope.js", "/ui/../Cargo.toml", "/ui/index.htm"] {
        let resp = t.send(req("GET", path)).await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{path}");
        assert!(resp.json()["error"].is_string(), "{path}");
    }
    let doc = t
        .send(req("GET", "/openapi.json"))
        .await
        .expect(StatusCode::OK, "GET /openapi.json")
        .json();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.keys().all(|p| !p.starts_with("/ui")), "no /ui path");
    t.finish().await;
}
