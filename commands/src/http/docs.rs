//! What `/openapi.json` says beyond the handlers' types: the security schemes, and each
//! field's bounds built from the constants the server enforces, so the two cannot drift.
//! (utoipa's attribute bounds take literals only, hence these functions.)

use domain::metadata::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEYS};
use domain::values::{MAX_KEY_CHARS, MAX_NAME_CHARS, MIN_PASSWORD_CHARS};
use serde_json::json;
use utoipa::Modify;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Required, Schema};

use super::things::MAX_BULK;

/// The scheme of a login token (`POST /tokens`), named in each operation that needs it.
pub const USER_TOKEN: &str = "user_token";
/// The operator's token, read from the data dir (`/events`).
pub const ADMIN_TOKEN: &str = "admin_token";

/// Declares the bearer schemes this API issues; the data plane adds the thing key.
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |format: Option<&str>, description: &str| {
            let mut http = HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(description))
                .build();
            http.bearer_format = format.map(Into::into);
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            USER_TOKEN,
            bearer(
                Some("JWT"),
                "A token from `POST /tokens`, as `Authorization: Bearer <token>`; the bare token \
                 without `Bearer ` is accepted too, as Mainflux 0.10–0.12 clients send it.",
            ),
        );
        components.add_security_scheme(
            "external_key",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "Authorization",
                    "A device's bootstrap external key, sent bare in `Authorization`.",
                ),
            )),
        );
        components.add_security_scheme(
            ADMIN_TOKEN,
            bearer(
                None,
                "The operator's token from the data dir (`secrets/admin-token`).",
            ),
        );
    }
}

fn string(nullable: bool) -> ObjectBuilder {
    match nullable {
        true => ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])),
        false => ObjectBuilder::new().schema_type(Type::String),
    }
}

/// No control character (`char::is_control`, Unicode's Cc: U+0000–U+001F, U+007F–U+009F),
/// as `check_name` and `check_key` refuse.
const NO_CONTROL: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// A thing's or channel's name (optional; `check_name`).
pub fn name() -> ObjectBuilder {
    string(true)
        .max_length(Some(MAX_NAME_CHARS))
        .pattern(Some(NO_CONTROL))
}

/// A thing key (`check_key`): non-empty, bounded, no control character.
pub fn key() -> ObjectBuilder {
    string(false)
        .min_length(Some(1))
        .max_length(Some(MAX_KEY_CHARS))
        .pattern(Some(NO_CONTROL))
}

/// An optional thing key: generated when absent or null.
pub fn optional_key() -> ObjectBuilder {
    key().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// Client metadata as stored (`Metadata::check`): a JSON object, or null. Its size (32 KiB
/// compact), depth (16) and key count over all levels (1,024) are stated in words; JSON
/// Schema can bound only the top level's keys.
pub fn metadata() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(MAX_METADATA_KEYS))
        .description(Some(format!(
            "A JSON object of at most {MAX_METADATA_BYTES} bytes as compact JSON, \
             {MAX_METADATA_DEPTH} levels deep and {MAX_METADATA_KEYS} keys over all levels, \
             with no key twice in one object and no NUL character."
        )))
}

/// A new password (`check_password`).
pub fn password() -> ObjectBuilder {
    string(false).min_length(Some(MIN_PASSWORD_CHARS))
}

/// An email (`check_email`, Mainflux's rule: a subset of RFC 5322 addresses).
pub fn email() -> ObjectBuilder {
    string(false).format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
}

/// A bulk request body: between 1 and `MAX_BULK` items of `$item` (a macro because utoipa's
/// `request_body` wants a concrete type).
macro_rules! bulk {
    ($name:ident, $item:ty) => {
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                $crate::http::docs::bulk_of(<$item as utoipa::ToSchema>::name())
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(
                schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>,
            ) {
                let name = <$item as utoipa::ToSchema>::name().into_owned();
                schemas.push((name, <$item as utoipa::PartialSchema>::schema()));
            }
        }
    };
}
pub(crate) use bulk;

pub fn bulk_of(item: std::borrow::Cow<'static, str>) -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(item)))
        .min_items(Some(1))
        .max_items(Some(MAX_BULK))
        .into()
}

/// An unsigned 64-bit integer, as the server parses offsets and positions.
pub fn unsigned() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::Custom("uint64".into())))
        .minimum(Some(0))
        .maximum(Some(u64::MAX))
}

/// An unsigned 64-bit integer or null, for an `Option<u64>` body field.
pub fn optional_unsigned() -> ObjectBuilder {
    unsigned().schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
}

/// An optional query parameter.
pub fn query(name: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(schema))
        .build()
}

/// Ids in a body (`/connect`): at least one, each a UUID.
pub fn ids() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(string(false).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))))
        .min_items(Some(1))
}

/// An optional query parameter whose value is a JSON object. utoipa 5's `Parameter` has no
/// `content` field, so it goes in through the flattened extensions, in place of `schema`.
pub fn json_query(name: &str, description: &str) -> Parameter {
    let mut param = ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .build();
    let content = json!({ "application/json": { "schema": { "type": "object" } } });
    param
        .extensions
        .get_or_insert_with(Default::default)
        .insert("content".into(), content);
    param
}
