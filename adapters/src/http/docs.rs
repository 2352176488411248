//! The data plane's part of `/openapi.json`: publish and read, with the thing key's
//! security scheme. The binary merges it with the REST API's document (which declares the
//! `user_token` scheme the reader also takes), so this crate needs nothing from `commands`.

use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{params, publish, reader};

/// The scheme of a thing key, named in the publish and read operations.
pub const THING_KEY: &str = "thing_key";

/// Where Mainflux's standard deployment exposed publishing, besides the bare path.
const PUBLISH_PATHS: [(&str, &str); 2] = [
    ("/channels/{id}/messages", "publish"),
    ("/http/channels/{id}/messages", "publish_http"),
];

#[derive(OpenApi)]
#[openapi(
    paths(publish::publish, reader::read),
    tags((name = "messages", description = "The data plane: publish and read messages")),
    modifiers(&ThingKeyScheme)
)]
struct DataPlaneDoc;

struct ThingKeyScheme;

impl Modify for ThingKeyScheme {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let key = ApiKeyValue::with_description(
            "Authorization",
            "`Thing <key>`; the bare key without `Thing ` is accepted too, as Mainflux \
             0.10–0.12 devices send it.",
        );
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(THING_KEY, SecurityScheme::ApiKey(ApiKey::Header(key)));
    }
}

/// Publish and read, each publishing operation under every path the router serves it at
/// (the trailing-slash aliases aside: they are the same routes), each with its own id.
pub fn openapi() -> OpenApiDoc {
    let mut doc = DataPlaneDoc::openapi();
    let mut publish = doc.paths.paths[PUBLISH_PATHS[0].0]
        .post
        .clone()
        .expect("publish is documented");
    publish.request_body = Some(params::payload());
    for (path, id) in PUBLISH_PATHS {
        let mut bare = publish.clone();
        bare.operation_id = Some(id.to_owned());
        doc.paths.paths.entry(path.to_owned()).or_default().post = Some(bare);
        let mut with_subtopic = publish.clone();
        with_subtopic.operation_id = Some(format!("{id}_subtopic"));
        with_subtopic
            .parameters
            .get_or_insert_with(Vec::new)
            .push(params::subtopic_path());
        let item = PathItem::new(HttpMethod::Post, with_subtopic);
        doc.paths.paths.insert(format!("{path}/{{subtopic}}"), item);
    }
    doc
}
