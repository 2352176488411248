//! `/users`, `/tokens`, `/password`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header::LOCATION};
use axum::response::{IntoResponse, Response};
use domain::ids::UserId;
use domain::values::Metadata;
use projections::views::UserRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::docs;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, ClientIp, JsonBody, bearer, meta, path_id};

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(schema_with = docs::email)]
    email: String,
    #[schema(schema_with = docs::password)]
    password: String,
    #[schema(schema_with = docs::metadata)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    #[schema(schema_with = docs::email)]
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    id: uuid::Uuid,
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Metadata>,
}

impl From<UserRow> for UserResponse {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id.0,
            email: row.email,
            metadata: row.metadata,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    #[schema(schema_with = docs::metadata)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordRequest {
    #[schema(schema_with = docs::password)]
    password: String,
    old_password: String,
}

/// Registers a user. Open by default; with registration closed only a logged-in user or
/// the operator (admin token from the data dir) may.
#[utoipa::path(post, path = "/users", tag = "users", request_body = RegisterRequest,
    responses((status = 201, description = "registered", headers(("Location" = String, description = "the new user: /users/{id}"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many registrations from this address; Retry-After"),
        (status = 503, body = ErrorBody, description = "too many registrations at once; Retry-After")))]
pub async fn register(
    State(service): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let token = bearer(&headers);
    let actor = match token {
        Some(t) => service.identify(t).await.ok(),
        None => None,
    };
    let invited = actor.is_some() || token.is_some_and(|t| service.is_admin(t));
    if !invited {
        service.ration_registration(client)?;
    }
    let meta = meta(&headers, actor)?;
    let id = service
        .register(&meta, req.email, req.password, req.metadata, invited)
        .await?;
    Ok((StatusCode::CREATED, [(LOCATION, format!("/users/{id}"))]).into_response())
}

/// Logs in: exchanges email and password for a token.
#[utoipa::path(post, path = "/tokens", tag = "users", request_body = Credentials,
    responses((status = 201, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many failed logins; Retry-After says when to try again"),
        (status = 503, body = ErrorBody, description = "too many logins at once; Retry-After")))]
pub async fn login(
    State(service): State<AppState>,
    ClientIp(client): ClientIp,
    JsonBody(req): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let token = service.login(&req.email, req.password, client).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse { token })))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/users/profile", tag = "users", security(("user_token" = [])), 
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody)))]
pub async fn profile(
    State(service): State<AppState>,
    Caller(me): Caller,
) -> Result<Json<UserResponse>, ApiError> {
    Ok(Json(service.profile(me).await?.into()))
}

/// The caller's own profile, as Mainflux 0.11 answered `GET /users`.
#[utoipa::path(get, path = "/users", tag = "users", security(("user_token" = [])), 
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody)))]
pub async fn own_user(
    state: State<AppState>,
    caller: Caller,
) -> Result<Json<UserResponse>, ApiError> {
    profile(state, caller).await
}

/// A user by id: only one's own (404 for anyone else).
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("user_token" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user_by_id(
    State(service): State<AppState>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Result<Json<UserResponse>, ApiError> {
    match path_id::<UserId>(&id)? {
        id if id == me => Ok(Json(service.profile(me).await?.into())),
        _ => Err(ApiError::not_found()),
    }
}

/// Replaces the caller's metadata.
#[utoipa::path(put, path = "/users", tag = "users", security(("user_token" = [])),  request_body = UpdateUserRequest,
    responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn update_user(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateUserRequest>,
) -> Result<StatusCode, ApiError> {
    service
        .update_user(&meta(&headers, Some(me))?, me, req.metadata)
        .await?;
    Ok(StatusCode::OK)
}

/// Changes the caller's password; the old one must match.
#[utoipa::path(patch, path = "/password", tag = "users", security(("user_token" = [])),  request_body = PasswordRequest,
    responses((status = 201), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn change_password(
    State(service): State<AppState>,
    Caller(me): Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let meta = meta(&headers, Some(me))?;
    service
        .change_password(&meta, me, req.old_password, req.password)
        .await?;
    Ok(StatusCode::CREATED)
}
