//! The reader's query parameters and the publish subtopic as `/openapi.json` declares them,
//! bounded by the constants `ReadQuery::parse` and `Subtopic::parse` enforce.

use utoipa::IntoParams;
use utoipa::openapi::Content;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, SchemaType, Type,
};

use crate::subtopic::MAX_SUBTOPIC_LEN;
use crate::telemetry::{DEFAULT_LIMIT, MAX_LIMIT};

/// What no subtopic part may hold (`Level::of`): a wildcard, `%` once unescaped,
/// whitespace or a control character. Python's `\s` and Rust's `is_whitespace` agree.
const SUBTOPIC_PATTERN: &str = r"^[^*>+#%\s\x00-\x1f\x7f-\x9f]*$";

fn subtopic_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(SUBTOPIC_PATTERN))
        .description(Some(format!(
            "parts separated by `/` or `.`; at most {MAX_SUBTOPIC_LEN} bytes once normalized"
        )))
}

/// A message: any bytes, stored as sent (SenML, JSON or CBOR, is normalized later by the
/// writer; anything else is kept opaque), so there is no schema to violate, and an empty
/// body is a message too. utoipa's attribute cannot say "any value", hence this function.
pub fn payload() -> RequestBody {
    let any = ObjectBuilder::new().schema_type(SchemaType::AnyValue);
    let bytes = typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
    RequestBodyBuilder::new()
        .description(Some("the message, stored as sent"))
        .required(Some(Required::False))
        .content("application/senml+json", Content::new(Some(any)))
        .content("application/octet-stream", Content::new(Some(bytes)))
        .build()
}

/// The publish subtopic in the path.
pub fn subtopic_path() -> Parameter {
    param("subtopic", ParameterIn::Path, subtopic_schema())
}

fn param(name: &str, within: ParameterIn, schema: ObjectBuilder) -> Parameter {
    let required = match within {
        ParameterIn::Path => Required::True,
        _ => Required::False,
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(within)
        .required(required)
        .schema(Some(schema))
        .build()
}

fn query_any(name: &str, schema: OneOfBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(schema))
        .build()
}

fn typed(kind: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(kind)
}

/// `GET /channels/{id}/messages` filters, all optional; every filter is ANDed.
pub struct ReadParams;

impl IntoParams for ReadParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let query = |name: &str, schema: ObjectBuilder| param(name, ParameterIn::Query, schema);
        let offset = typed(Type::Integer)
            .format(Some(SchemaFormat::Custom("uint64".into())))
            .minimum(Some(0))
            .maximum(Some(u64::MAX));
        let limit = typed(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(DEFAULT_LIMIT.into()));
        // An empty text value is no filter, as in Mainflux.
        let uuid = typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        let publisher = OneOfBuilder::new()
            .item(uuid)
            .item(typed(Type::String).max_length(Some(0)))
            .description(Some("the thing that published (empty: any)"));
        let comparator = typed(Type::String).enum_values(Some(["", "eq", "lt", "le", "gt", "ge"]));
        vec![
            query("offset", offset),
            query("limit", limit),
            query("subtopic", subtopic_schema()),
            query_any("publisher", publisher),
            query("name", typed(Type::String)),
            query("protocol", typed(Type::String)),
            query(
                "v",
                typed(Type::Number).description(Some("compared by `comparator`")),
            ),
            query("comparator", comparator),
            query("vs", typed(Type::String)),
            query("vb", typed(Type::Boolean)),
            query("vd", typed(Type::String)),
            query(
                "from",
                typed(Type::Number).description(Some("seconds, inclusive; not after `to`")),
            ),
            query(
                "to",
                typed(Type::Number).description(Some("seconds, exclusive")),
            ),
        ]
    }
}
