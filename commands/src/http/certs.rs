//! Mainflux 0.12's certs API: issue a client certificate for a thing, list a thing's,
//! revoke one; plus the CRL, which Mainflux left to Vault.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::cert::{DEFAULT_VALIDITY, KeySpec, parse_validity};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, meta, path_id};
use super::paging::{Window, page_query};
use crate::service::IssuedCertificate;

#[derive(Deserialize, ToSchema)]
pub struct CertRequest {
    thing_id: Uuid,
    /// `rsa` (default) or `ecdsa` (also `ec`).
    #[schema(schema_with = key_type)]
    key_type: Option<String>,
    /// RSA: 2048 (default), 3072, 4096; ECDSA: 256 (default) or 384.
    #[schema(schema_with = key_bits)]
    key_bits: Option<u32>,
    /// Validity as a Go duration, e.g. `2048h` (the default), `720h`, `90m`: from 1m to
    /// 87600h (ten years).
    #[schema(schema_with = validity)]
    valid: Option<String>,
}

fn nullable(kind: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([kind, Type::Null]))
}

fn key_type() -> ObjectBuilder {
    nullable(Type::String).enum_values(Some(["rsa", "ecdsa", "ec"]))
}

fn key_bits() -> ObjectBuilder {
    nullable(Type::Integer).enum_values(Some([256, 384, 2048, 3072, 4096]))
}

fn validity() -> ObjectBuilder {
    nullable(Type::String).pattern(Some("^([0-9]+[hms])+$"))
}

/// A new certificate; the private key is shown this once (it is kept sealed).
#[derive(Serialize, ToSchema)]
pub struct CertResponse {
    thing_id: Uuid,
    /// PEM; its subject CN is the thing's key.
    client_cert: String,
    /// PEM (PKCS#8).
    client_key: String,
    /// The CA certificate, PEM: what verifies `client_cert`.
    issuing_ca: String,
    /// Lowercase hex; `DELETE /certs/{serial}` takes it.
    serial: String,
    /// RFC 3339.
    expire: String,
}

#[derive(Serialize, ToSchema)]
pub struct CertSummary {
    thing_id: Uuid,
    serial: String,
    /// RFC 3339.
    expire: String,
    revoked: bool,
    /// RFC 3339, when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CertsPage {
    total: u64,
    offset: u64,
    limit: u64,
    certs: Vec<CertSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct RevokeResponse {
    /// RFC 3339.
    revocation_time: String,
}

fn invalid(error: domain::DomainError) -> ApiError {
    ApiError::from(crate::service::ServiceError::from(error))
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

impl From<IssuedCertificate> for CertResponse {
    fn from(c: IssuedCertificate) -> Self {
        Self {
            thing_id: c.thing_id.0,
            client_cert: c.cert_pem,
            client_key: c.key_pem,
            issuing_ca: c.ca_pem,
            serial: c.serial,
            expire: rfc3339(c.expires_at),
        }
    }
}

/// Issues a client certificate for one of the caller's things from the server's CA, with
/// the thing's key as subject CN: the TLS listeners (HTTPS, MQTTS, WSS) log the device in
/// with it.
#[utoipa::path(post, path = "/certs", tag = "certs", security(("user_token" = [])), request_body = CertRequest,
    responses((status = 201, body = CertResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "thing unknown or foreign"), (status = 415, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "no certificate authority")))]
pub async fn issue_cert(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CertRequest>,
) -> Result<(StatusCode, Json<CertResponse>), ApiError> {
    let key = KeySpec::parse(req.key_type.as_deref(), req.key_bits).map_err(invalid)?;
    let validity =
        parse_validity(req.valid.as_deref().unwrap_or(DEFAULT_VALIDITY)).map_err(invalid)?;
    let issued = service
        .issue_cert(
            &meta(&headers, Some(me))?,
            me,
            req.thing_id.into(),
            key,
            validity,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// `GET /certs/{id}` names a thing, `DELETE /certs/{id}` a serial, as Mainflux's
/// `/certs/{thingId}` and `/certs/{certId}`: one path template, as axum routes it.
///
/// The certificates of one of the caller's things, oldest first, revoked ones included.
#[utoipa::path(get, path = "/certs/{id}", tag = "certs", security(("user_token" = [])),
    params(("id" = Uuid, Path, description = "the thing's id"), Window),
    responses((status = 200, body = CertsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_certs(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<CertsPage>, ApiError> {
    let window = page_query(query.as_deref())?;
    let page = service
        .certs_of_thing(me, path_id(&id)?, window.offset, window.limit)
        .await?;
    Ok(Json(CertsPage {
        total: page.total,
        offset: page.offset,
        limit: page.limit,
        certs: page
            .items
            .into_iter()
            .map(|row| CertSummary {
                thing_id: row.thing_id.0,
                serial: row.serial,
                expire: rfc3339(row.expires_at),
                revoked: row.revoked_at.is_some(),
                revocation_time: row.revoked_at.map(rfc3339),
            })
            .collect(),
    }))
}

/// Revokes one of the caller's certificates: the next TLS handshake with it is refused,
/// the thing's open sessions are closed, and the CRL lists it. Repeating it is harmless.
#[utoipa::path(delete, path = "/certs/{id}", tag = "certs", security(("user_token" = [])),
    params(("id" = String, Path, description = "the certificate's serial, lowercase hex")),
    responses((status = 200, body = RevokeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_cert(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(serial): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RevokeResponse>, ApiError> {
    let at = service
        .revoke_cert(&meta(&headers, Some(me))?, me, &serial)
        .await?;
    Ok(Json(RevokeResponse {
        revocation_time: rfc3339(at),
    }))
}

/// The certificate revocation list of the CA, DER (`application/pkix-crl`, RFC 5280), for
/// anyone: it holds serials and times only.
#[utoipa::path(get, path = "/certs/crl", tag = "certs",
    responses((status = 200, description = "DER CRL", content_type = "application/pkix-crl", body = Vec<u8>),
        (status = 503, body = ErrorBody, description = "no certificate authority")))]
pub async fn crl(State(service): State<AppState>) -> Result<Response, ApiError> {
    let der = service.crl()?;
    Ok(([(CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}
