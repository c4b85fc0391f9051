//! The operator's health server: the shared `/healthz` and `/readyz`, and
//! Prometheus `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use supaplane_crds::serving::{Readiness, health_routes};
use supaplane_operator::metrics::Metrics;

/// What `/readyz` says the operator waits for until it is ready.
pub const WAITING_FOR: &str = "the Kubernetes API has not been reached";

/// Health, readiness and metrics.
pub fn routes(readiness: Arc<Readiness>, metrics: Arc<Metrics>) -> Router {
    health_routes(readiness).route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.encode(),
                )
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn status_of(readiness: Arc<Readiness>, path: &str) -> StatusCode {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        routes(readiness, Arc::new(Metrics::default()))
            .oneshot(request)
            .await
            .expect("response")
            .status()
    }

    #[tokio::test]
    async fn healthz_always_answers_and_readyz_follows_readiness() {
        let readiness = Arc::new(Readiness::waiting_for(WAITING_FOR));
        assert_eq!(
            status_of(readiness.clone(), "/healthz").await,
            StatusCode::OK
        );
        assert_eq!(
            status_of(readiness.clone(), "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        readiness.mark_ready();
        assert_eq!(
            status_of(readiness.clone(), "/readyz").await,
            StatusCode::OK
        );
        assert_eq!(status_of(readiness, "/metrics").await, StatusCode::OK);
    }
}
