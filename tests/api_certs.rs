//! The certs API (Mainflux 0.12's `/certs`, plus the CRL): every route's status codes as
//! a table, owner isolation (another user's thing or certificate is 404 everywhere), the
//! list with paging and revocation flags, and the private key never in the log.

mod common;

use axum::http::StatusCode;
use common::{Failures, TestApp, req, unknown_id};
use serde_json::{Value, json};
use x509_cert::crl::CertificateList;
use x509_cert::der::Decode;

async fn issue(t: &TestApp, token: &str, thing: &str) -> Value {
    t.send(
        req("POST", "/certs")
            .token(token)
            .json(json!({"thing_id": thing, "key_type": "ecdsa", "valid": "1h"})),
    )
    .await
    .expect(StatusCode::CREATED, "issue")
    .json()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_table() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let b = t.user("b@example.com").await;
    let thing = t.thing(&a.token, json!({})).await;
    let foreign_thing = t.thing(&b.token, json!({})).await;
    let issued = issue(&t, &a.token, &thing).await;
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let foreign = issue(&t, &b.token, &foreign_thing).await;
    let foreign_serial = foreign["serial"].as_str().unwrap().to_owned();
    let post = |body: Value| req("POST", "/certs").token(&a.token).json(body);
    let cases = [
        (
            "issue rsa by default",
            post(json!({"thing_id": thing})),
            StatusCode::CREATED,
        ),
        (
            "issue ecdsa 384",
            post(json!({"thing_id": thing, "key_type": "ec", "key_bits": 384, "valid": "720h"})),
            StatusCode::CREATED,
        ),
        (
            "issue for a foreign thing",
            post(json!({"thing_id": foreign_thing})),
            StatusCode::NOT_FOUND,
        ),
        (
            "issue for an unknown thing",
            post(json!({"thing_id": unknown_id()})),
            StatusCode::NOT_FOUND,
        ),
        (
            "issue without thing",
            post(json!({"key_type": "ecdsa"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "issue with a malformed thing id",
            post(json!({"thing_id": "nope"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "issue with a bad key type",
            post(json!({"thing_id": thing, "key_type": "dsa"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "issue with bad key bits",
            post(json!({"thing_id": thing, "key_type": "rsa", "key_bits": 1024})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "issue with a bad validity",
            post(json!({"thing_id": thing, "key_type": "ecdsa", "valid": "ten days"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "issue without token",
            req("POST", "/certs").json(json!({"thing_id": thing})),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "issue as text",
            req("POST", "/certs")
                .token(&a.token)
                .raw(Some("text/plain"), "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "list",
            req("GET", format!("/certs/{thing}")).token(&a.token),
            StatusCode::OK,
        ),
        (
            "list a foreign thing's",
            req("GET", format!("/certs/{foreign_thing}")).token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "list an unknown thing's",
            req("GET", format!("/certs/{}", unknown_id())).token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "list with a bad limit",
            req("GET", format!("/certs/{thing}?limit=0")).token(&a.token),
            StatusCode::BAD_REQUEST,
        ),
        (
            "list without token",
            req("GET", format!("/certs/{thing}")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "revoke a foreign certificate",
            req("DELETE", format!("/certs/{foreign_serial}")).token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "revoke an unknown serial",
            req("DELETE", "/certs/0abc").token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "revoke a malformed serial",
            req("DELETE", "/certs/XYZ").token(&a.token),
            StatusCode::NOT_FOUND,
        ),
        (
            "revoke without token",
            req("DELETE", format!("/certs/{serial}")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "revoke",
            req("DELETE", format!("/certs/{serial}")).token(&a.token),
            StatusCode::OK,
        ),
        (
            "revoke again",
            req("DELETE", format!("/certs/{serial}")).token(&a.token),
            StatusCode::OK,
        ),
        ("crl for anyone", req("GET", "/certs/crl"), StatusCode::OK),
    ];
    let mut failures = Failures::default();
    for (name, request, expected) in cases {
        let resp = t.send(request).await;
        failures.check(name, &resp, expected);
    }
    failures.assert_none();

    // b's certificate is untouched by a's attempts; a's is revoked, the CRL says so.
    let listed = t.get(&b.token, &format!("/certs/{foreign_thing}")).await;
    assert_eq!(listed["certs"][0]["revoked"], false);
    let crl = t
        .send(req("GET", "/certs/crl"))
        .await
        .expect(StatusCode::OK, "crl");
    let crl = CertificateList::from_der(&crl.body).unwrap();
    let serials: Vec<String> = crl
        .tbs_cert_list
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| hex::encode(r.serial_number.as_bytes()))
        .collect();
    assert_eq!(serials, [serial]);
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_certificate_names_the_thing_key_and_the_list_pages() {
    let t = TestApp::start().await;
    let a = t.user("a@example.com").await;
    let thing = t
        .thing(&a.token, json!({"key": "a-long-thing-key-0001"}))
        .await;
    let mut serials = Vec::new();
    for _ in 0..3 {
        let issued = issue(&t, &a.token, &thing).await;
        assert_eq!(issued["thing_id"], thing.as_str());
        let cert = issued["client_cert"].as_str().unwrap();
        let parsed =
            <x509_cert::Certificate as x509_cert::der::DecodePem>::from_pem(cert.as_bytes());
        let parsed = parsed.unwrap();
        assert_eq!(
            parsed.tbs_certificate.subject.to_string(),
            "CN=a-long-thing-key-0001"
        );
        assert!(
            issued["issuing_ca"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(issued["expire"].is_string());
        serials.push(issued["serial"].as_str().unwrap().to_owned());
    }
    let page = t
        .get(&a.token, &format!("/certs/{thing}?offset=1&limit=1"))
        .await;
    assert_eq!(
        (
            page["total"].clone(),
            page["offset"].clone(),
            page["limit"].clone()
        ),
        (json!(3), json!(1), json!(1))
    );
    assert_eq!(page["certs"][0]["serial"], serials[1].as_str());
    assert_eq!(page["certs"][0]["revoked"], false);
    t.finish().await;
}
