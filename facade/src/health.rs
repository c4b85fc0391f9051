//! Liveness and readiness endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Ready once the facade's caches hold a full list of each resource.
#[derive(Default)]
pub struct Readiness {
    ready: AtomicBool,
}

impl Readiness {
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

pub fn routes(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> (StatusCode, &'static str) {
    if readiness.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the caches of the Kubernetes resources are not filled yet",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn status_of(readiness: Arc<Readiness>, path: &str) -> StatusCode {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        routes(readiness)
            .oneshot(request)
            .await
            .expect("response")
            .status()
    }

    #[tokio::test]
    async fn healthz_always_answers_and_readyz_follows_readiness() {
        let readiness = Arc::new(Readiness::default());
        assert_eq!(
            status_of(readiness.clone(), "/healthz").await,
            StatusCode::OK
        );
        assert_eq!(
            status_of(readiness.clone(), "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        readiness.mark_ready();
        assert_eq!(status_of(readiness, "/readyz").await, StatusCode::OK);
    }
}
