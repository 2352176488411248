//! Every failure leaves the API as `{"error": "..."}` with one status, decided here.

use axum::Json;
use std::time::Duration;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
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
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, at least 1) on 429 and 503.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, DomainError::NotFound.to_string())
    }

    pub fn unauthenticated() -> Self {
        Self::new(
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
            ServiceError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let retry_after = match &error {
            ServiceError::Busy => Some(Duration::from_secs(1)),
            ServiceError::Throttled(wait) => Some(*wait),
            _ => None,
        };
        Self {
            retry_after,
            ..Self::new(status, error.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response();
        if let Some(wait) = self.retry_after {
            // Rounded up: a client that waits the whole seconds we name is let in.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}
