//! Data-plane HTTP errors: `{"error": "…"}` with one status per cause, like the REST API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::bus::BusError;
use crate::pipeline::PublishError;
use crate::subtopic::TopicError;

#[derive(Debug)]
pub struct AdapterError(pub StatusCode, pub String);

/// The body of every data-plane error, as `/openapi.json` describes it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

impl From<TopicError> for AdapterError {
    fn from(error: TopicError) -> Self {
        let status = match error {
            TopicError::UnknownChannel => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        Self(status, error.to_string())
    }
}

impl From<PublishError> for AdapterError {
    fn from(error: PublishError) -> Self {
        let status = match &error {
            PublishError::Unauthenticated => StatusCode::UNAUTHORIZED,
            PublishError::Forbidden => StatusCode::FORBIDDEN,
            PublishError::Bus(BusError::Invalid(cause)) => {
                tracing::error!(%cause, "publish rejected as invalid by the bus");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            PublishError::Bus(cause) => {
                tracing::warn!(%cause, "publish refused by the bus");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        Self(status, error.to_string())
    }
}

impl IntoResponse for AdapterError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}
