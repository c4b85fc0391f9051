//! Health: the shared `/healthz` and `/readyz`, and the facade's answer
//! while the Kubernetes API server is away.

use std::sync::Arc;

use axum::extract::State;
pub use supaplane_crds::serving::{Readiness, health_routes as routes, watch_api_server};

/// What `/readyz` says the facade waits for until it is ready.
pub const WAITING_FOR: &str = "the caches of the Kubernetes resources are not filled yet";

/// Answers 503 (with `Retry-After`) to every API call while the API server
/// is away, instead of stale reads and failed writes.
pub async fn require_api_server(
    State(readiness): State<Arc<Readiness>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !readiness.api_reachable() {
        return crate::common::error::ApiError::Unavailable(
            "The Kubernetes API server is not answering; try again shortly".into(),
        )
        .into_response();
    }
    next.run(request).await
}
