//! Liveness and readiness endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Ready once the facade's caches hold a full list of each resource, and
/// while the Kubernetes API server answers.
pub struct Readiness {
    ready: AtomicBool,
    api_reachable: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            ready: AtomicBool::new(false),
            api_reachable: AtomicBool::new(true),
        }
    }
}

impl Readiness {
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.api_reachable()
    }

    pub fn api_reachable(&self) -> bool {
        self.api_reachable.load(Ordering::Acquire)
    }

    pub fn set_api_reachable(&self, reachable: bool) {
        let was = self.api_reachable.swap(reachable, Ordering::AcqRel);
        if was != reachable {
            if reachable {
                tracing::info!("the Kubernetes API server answers again");
            } else {
                tracing::warn!(
                    "the Kubernetes API server does not answer; answering 503 meanwhile"
                );
            }
        }
    }
}

/// How often the API server is asked whether it is there.
const API_CHECK_INTERVAL: Duration = Duration::from_secs(2);
/// Failed checks in a row before it counts as away (one lost request is not
/// an outage).
const API_CHECKS_TO_FAIL: u32 = 2;

/// Asks the API server for its version every two seconds, marking it away
/// after two failures in a row and back at the first answer. Runs for as
/// long as the facade does.
pub async fn watch_api_server(client: kube::Client, readiness: Arc<Readiness>) {
    let mut failures = 0;
    let mut ticks = tokio::time::interval(API_CHECK_INTERVAL);
    loop {
        ticks.tick().await;
        let answered = tokio::time::timeout(API_CHECK_INTERVAL, client.apiserver_version())
            .await
            .is_ok_and(|version| version.is_ok());
        if answered {
            failures = 0;
            readiness.set_api_reachable(true);
        } else {
            failures += 1;
            if failures >= API_CHECKS_TO_FAIL {
                readiness.set_api_reachable(false);
            }
        }
    }
}

/// Answers 503 (with `Retry-After`) to every API call while the API server
/// is away, instead of stale reads and failed writes.
pub async fn require_api_server(
    State(readiness): State<Arc<Readiness>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !readiness.api_reachable() {
        return crate::error::ApiError::Unavailable(
            "The Kubernetes API server is not answering; try again shortly".into(),
        )
        .into_response();
    }
    next.run(request).await
}

pub fn routes(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> (StatusCode, &'static str) {
    if !readiness.api_reachable() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the Kubernetes API server is not answering",
        )
    } else if readiness.is_ready() {
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
        assert_eq!(
            status_of(readiness.clone(), "/readyz").await,
            StatusCode::OK
        );
        readiness.set_api_reachable(false);
        assert_eq!(
            status_of(readiness.clone(), "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_of(readiness, "/healthz").await, StatusCode::OK);
    }
}
