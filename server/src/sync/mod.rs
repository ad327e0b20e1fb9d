//! The sync API (`/api/v1/sync/*`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pos_protocol::sync::HealthResponse;

use crate::AppState;

/// For load balancers: no token; 503 when the database does not answer.
#[utoipa::path(get, path = "/api/v1/sync/health", tag = "sync",
    responses((status = 200, description = "Serving", body = HealthResponse),
              (status = 503, description = "The database is unreachable", body = HealthResponse)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let healthy = match state.store.ping().await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(%err, "health check: database unreachable");
            false
        }
    };
    let body = HealthResponse {
        status: if healthy { "healthy" } else { "unhealthy" }.into(),
        timestamp: pos_protocol::time::now(),
        version: env!("CARGO_PKG_VERSION").into(),
        min_client_version: state.settings.min_client_version.clone(),
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
