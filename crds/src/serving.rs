//! What both binaries serve and set up alike (the `serving` feature):
//! `/healthz` and `/readyz`, the check that the Kubernetes API server
//! answers, the tracing subscriber, and the shutdown signal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Whether the process is ready: it has done what it waits for at start
/// (`waiting_for` says what, in `/readyz`'s answer) and the Kubernetes API
/// server answers.
pub struct Readiness {
    ready: AtomicBool,
    api_reachable: AtomicBool,
    waiting_for: &'static str,
}

impl Readiness {
    /// Not ready until [`Readiness::mark_ready`]; `waiting_for` is what
    /// `/readyz` says it waits for meanwhile.
    pub fn waiting_for(waiting_for: &'static str) -> Self {
        Readiness {
            ready: AtomicBool::new(false),
            api_reachable: AtomicBool::new(true),
            waiting_for,
        }
    }

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
                tracing::warn!("the Kubernetes API server does not answer");
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
/// long as the process does.
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

/// `/healthz` (the process runs) and `/readyz` (it is ready), never
/// authenticated.
pub fn health_routes(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> (StatusCode, String) {
    if !readiness.api_reachable() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the Kubernetes API server is not answering".into(),
        )
    } else if readiness.is_ready() {
        (StatusCode::OK, "ready".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}", readiness.waiting_for),
        )
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or, with
/// `format` "json", one JSON object per line.
pub fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves at Ctrl-C or SIGTERM (how Kubernetes stops a pod).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(terminate) => terminate,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn answer(readiness: Arc<Readiness>, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = health_routes(readiness)
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn healthz_always_answers_and_readyz_says_what_it_waits_for() {
        let readiness = Arc::new(Readiness::waiting_for("the caches to fill"));
        assert_eq!(
            answer(readiness.clone(), "/healthz").await.0,
            StatusCode::OK
        );
        assert_eq!(
            answer(readiness.clone(), "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the caches to fill".into()
            )
        );
        readiness.mark_ready();
        assert_eq!(answer(readiness.clone(), "/readyz").await.0, StatusCode::OK);
        readiness.set_api_reachable(false);
        let (status, body) = answer(readiness.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("API server"), "{body}");
        assert_eq!(answer(readiness, "/healthz").await.0, StatusCode::OK);
    }
}
