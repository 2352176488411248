//! Every failure leaves the API as `{"error": "..."}` with one status, decided here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::ServiceError;

/// The error body of every failed request.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, message.into())
    }

    pub fn not_found() -> Self {
        Self(StatusCode::NOT_FOUND, DomainError::NotFound.to_string())
    }

    pub fn unauthenticated() -> Self {
        Self(
            StatusCode::UNAUTHORIZED,
            ServiceError::Unauthenticated.to_string(),
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let status = match &error {
            ServiceError::Domain(DomainError::Invalid(_)) => StatusCode::BAD_REQUEST,
            ServiceError::Domain(DomainError::NotFound) => StatusCode::NOT_FOUND,
            ServiceError::Domain(DomainError::Conflict(_)) => StatusCode::CONFLICT,
            ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::Unavailable(cause) => {
                tracing::warn!(%cause, "request refused: unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            ServiceError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}
