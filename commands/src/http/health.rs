//! Liveness, readiness and version: for load balancers and operators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct Status {
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    service: &'static str,
    version: &'static str,
}

/// The process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Status)))]
pub async fn health() -> Json<Status> {
    Json(Status { status: "pass" })
}

/// The projections have caught up with the event log: reads are current.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Status), (status = 503, body = Status)))]
pub async fn ready(State(service): State<AppState>) -> (StatusCode, Json<Status>) {
    if service.ready().await {
        (StatusCode::OK, Json(Status { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Status {
                status: "catching up",
            }),
        )
    }
}

#[utoipa::path(get, path = "/version", tag = "operations", responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        service: "ferroflux",
        version: env!("CARGO_PKG_VERSION"),
    })
}
