//! The secure bootstrap fetch: the external key sealed in, the config sealed out, with
//! AES-256-GCM under `FF_BOOTSTRAP_KEY` and the external id as associated data. The device
//! side here is written against ring directly, from the README's description of the format,
//! not with the server's own cipher.

mod common;

use axum::http::StatusCode;
use common::{TestApp, req};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde_json::{Value, json};

const KEY_HEX: &str = "8f1c2a7e5b9d0346a1f7c3e2d4b6a8092c4e6f8a1b3d5e7f9a0c2e4f6a8b0d1c";
const EXTERNAL_KEY: &str = "burned-in-factory-key";

fn device_key() -> LessSafeKey {
    let bytes: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY_HEX[i..i + 2], 16).unwrap())
        .collect();
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).unwrap())
}

/// nonce ‖ ciphertext ‖ tag, as the device sends it (before hex) and receives it.
fn seal(plain: &[u8], external_id: &str, nonce: [u8; NONCE_LEN]) -> Vec<u8> {
    let mut out = plain.to_vec();
    device_key()
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(external_id.as_bytes()),
            &mut out,
        )
        .unwrap();
    [nonce.to_vec(), out].concat()
}

fn open(sealed: &[u8], external_id: &str) -> Option<Vec<u8>> {
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let mut rest = rest.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = device_key()
        .open_in_place(nonce, Aad::from(external_id.as_bytes()), &mut rest)
        .ok()?;
    Some(plain.to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn app_with_config() -> (TestApp, String) {
    let t = TestApp::start_with(|c| c.bootstrap_key = Some(KEY_HEX.into())).await;
    let a = t.user("a@example.com").await;
    let (thing, key) = t.keyed_thing(&a).await;
    let body = json!({"thing_id": thing, "external_id": "dev-1",
        "external_key": EXTERNAL_KEY, "content": "{\"interval\":5}"});
    t.expect(
        req("POST", "/things/configs").token(&a.token).json(body),
        StatusCode::CREATED,
    )
    .await;
    t.remember_secret(EXTERNAL_KEY);
    (t, key)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sealed_key_fetches_the_sealed_config() {
    let (t, thing_key) = app_with_config().await;
    let token = hex(&seal(EXTERNAL_KEY.as_bytes(), "dev-1", [7; NONCE_LEN]));
    let resp = t
        .send(req("GET", "/things/bootstrap/secure/dev-1").auth(&token))
        .await
        .expect(StatusCode::OK, "secure fetch");
    assert_eq!(
        resp.headers["content-type"], "application/octet-stream",
        "sealed bytes, not JSON"
    );
    let plain = open(&resp.body, "dev-1").expect("the device opens the answer");
    let config: Value = serde_json::from_slice(&plain).expect("JSON inside");
    assert_eq!(config["mainflux_key"], thing_key.as_str());
    assert_eq!(config["content"], "{\"interval\":5}");
    assert!(
        open(&resp.body, "dev-2").is_none(),
        "bound to the external id"
    );
    let mut tampered = resp.body.to_vec();
    tampered[NONCE_LEN + 3] ^= 1;
    assert!(
        open(&tampered, "dev-1").is_none(),
        "a changed answer does not open"
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_that_do_not_open_are_refused_and_recorded() {
    let (t, _) = app_with_config().await;
    let good = seal(EXTERNAL_KEY.as_bytes(), "dev-1", [9; NONCE_LEN]);
    let mut flipped = good.clone();
    flipped[NONCE_LEN] ^= 0x80;
    let cases = [
        ("a flipped bit", hex(&flipped), StatusCode::NOT_FOUND),
        (
            "sealed for another device",
            hex(&seal(EXTERNAL_KEY.as_bytes(), "dev-2", [9; NONCE_LEN])),
            StatusCode::NOT_FOUND,
        ),
        (
            "a wrong key, sealed",
            hex(&seal(b"guessed-key", "dev-1", [1; NONCE_LEN])),
            StatusCode::NOT_FOUND,
        ),
        (
            "the key in plaintext",
            EXTERNAL_KEY.to_owned(),
            StatusCode::NOT_FOUND,
        ),
        ("not hex", "zz-not-hex".to_owned(), StatusCode::NOT_FOUND),
    ];
    for (case, token, status) in cases {
        let resp = t
            .send(req("GET", "/things/bootstrap/secure/dev-1").auth(&token))
            .await;
        assert_eq!(resp.status, status, "{case}");
    }
    let missing = t.send(req("GET", "/things/bootstrap/secure/dev-1")).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let events = t.events_of("thing.bootstrap", 5).await;
    let failed = events
        .iter()
        .filter(|e| e.data.json().contains("\"success\":false"))
        .count();
    assert_eq!(failed, 5, "every refused token is a failed attempt");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_bootstrap_key_the_secure_fetch_is_off() {
    let t = TestApp::start().await;
    let resp = t
        .send(req("GET", "/things/bootstrap/secure/dev-1").auth("00ff"))
        .await
        .expect(StatusCode::NOT_FOUND, "off");
    assert!(
        resp.json()["error"]
            .as_str()
            .unwrap()
            .contains("FF_BOOTSTRAP_KEY")
    );
}
