//! `POST /password/reset-request` and `PUT /password/reset` (Mainflux 0.12).
//!
//! Status codes: 201 for both, as 0.12. A bad, expired, used or login token is 401: 0.12's
//! code answered 403, but its OpenAPI and this API use 401 for bad credentials everywhere.
//! An unknown email is 201 like a known one (see `Service::request_password_reset`).

use axum::Json;
use axum::extract::State;
use axum::http::header::REFERER;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ClientIp, JsonBody, meta};

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    #[schema(format = Email)]
    email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetPassword {
    /// The recovery token from the mailed link.
    #[schema(min_length = 1)]
    token: String,
    #[schema(min_length = 8)]
    password: String,
    /// Must equal `password`.
    #[schema(min_length = 8)]
    confirm_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct MessageBody {
    msg: String,
}

fn message(msg: &str) -> (StatusCode, Json<MessageBody>) {
    (StatusCode::CREATED, Json(MessageBody { msg: msg.into() }))
}

/// The page the link opens: the `Referer` the browser sent, an http(s) URL whose origin
/// is one of `allowed` (any, when none are configured).
fn referer<'h>(headers: &'h HeaderMap, allowed: &[String]) -> Result<&'h str, ApiError> {
    let value = headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let Some(origin) = origin(value) else {
        return Err(ApiError::bad_request(
            "the Referer header must hold the http(s) URL of the user interface",
        ));
    };
    match allowed.is_empty() || allowed.contains(&origin) {
        true => Ok(value),
        false => Err(ApiError::bad_request(
            "the Referer is not a user interface this server mails links to (FF_RESET_ORIGINS)",
        )),
    }
}

/// `scheme://host[:port]` of an http(s) URL, lowercased; `None` for anything else.
pub fn origin(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let valid = matches!(scheme, "http" | "https") && !authority.is_empty();
    (valid && !authority.contains('@')).then(|| format!("{scheme}://{authority}"))
}

/// Mails a password-reset link to the address, if an account has it; the answer does not
/// say whether one does.
#[utoipa::path(post, path = "/password/reset-request", tag = "users", request_body = ResetRequest,
    params(("Referer" = String, Header, pattern = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+([/?#].*)?$", description = "http(s) URL of the user interface, of an origin in FF_RESET_ORIGINS when that is set; the mailed link starts with it")),
    responses((status = 201, body = MessageBody, description = "a link is mailed if the address has an account"),
        (status = 400, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "three reset mails for this address or from this client already; Retry-After")))]
pub async fn request_reset(
    State(service): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ResetRequest>,
) -> Result<(StatusCode, Json<MessageBody>), ApiError> {
    let referer = referer(&headers, &service.settings().reset_origins)?;
    service
        .request_password_reset(&req.email, referer, client)
        .await?;
    Ok(message(
        "if this email has an account, a reset link is on its way",
    ))
}

/// Sets a new password with the token from a reset link; the token then stops working.
#[utoipa::path(put, path = "/password/reset", tag = "users", request_body = ResetPassword,
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "bad, expired or used token"),
        (status = 415, body = ErrorBody)))]
pub async fn reset(
    State(service): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ResetPassword>,
) -> Result<(StatusCode, Json<MessageBody>), ApiError> {
    if req.token.is_empty() || req.password.is_empty() {
        return Err(ApiError::bad_request(
            "token and password must not be empty",
        ));
    }
    if req.password != req.confirm_password {
        return Err(ApiError::bad_request(
            "password and confirm_password differ",
        ));
    }
    service
        .reset_password(&meta(&headers, None)?, &req.token, req.password)
        .await?;
    Ok(message("password changed"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn origins_as_a_table() {
        let cases = [
            (
                "https://UI.example.com/reset?x=1",
                Some("https://ui.example.com"),
            ),
            ("http://localhost:3000", Some("http://localhost:3000")),
            (
                "https://evil.com#https://ui.example.com",
                Some("https://evil.com"),
            ),
            ("https://user@evil.com/", None),
            ("ftp://ui.example.com", None),
            ("ui.example.com", None),
            ("https:///path", None),
        ];
        for (url, expected) in cases {
            assert_eq!(origin(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn only_an_allowed_origin_gets_a_link() {
        let allowed = vec!["https://ui.example.com".to_owned()];
        let mut headers = HeaderMap::new();
        headers.insert(
            REFERER,
            HeaderValue::from_static("https://ui.example.com/login"),
        );
        assert!(referer(&headers, &allowed).is_ok());
        headers.insert(
            REFERER,
            HeaderValue::from_static("https://ui.example.com.evil.com/"),
        );
        assert!(referer(&headers, &allowed).is_err(), "a look-alike host");
        assert!(
            referer(&headers, &[]).is_ok(),
            "any, when none are configured"
        );
    }
}
