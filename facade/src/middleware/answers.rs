//! What every answer looks like, whoever made it: a request past its
//! deadline is answered 504 with a Supabase-shaped body, and the error
//! answers of layers below the handlers (413 from the body limit, 405 and
//! rejected paths or queries from the router) get that body too.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::common::error::{ApiError, ErrorBody};

/// The longest plain-text error we keep as the message.
const MESSAGE_LIMIT: usize = 512;

/// Cuts a request off after `limit` with a 504 in the usual error shape,
/// and rewrites an error answer that is not JSON into `{"message": …}`,
/// keeping its status and headers (`Allow`, `Retry-After`). One middleware
/// for both, as each layer costs every request a boxed future.
pub async fn answer(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            return ApiError::Timeout(format!(
                "The request took longer than {} s and was stopped",
                limit.as_secs()
            ))
            .into_response();
        }
    };
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MESSAGE_LIMIT * 4)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty() && text.len() <= MESSAGE_LIMIT);
    let message = text.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("The request failed")
            .to_string()
    });
    let body = serde_json::to_vec(&ErrorBody { message }).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn call(router: Router, uri: &str) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = router
            .oneshot(
                Request::builder()
                    .uri(uri)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            allow,
            serde_json::from_slice(&bytes).expect("a JSON body"),
        )
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/plain",
                get(|| async { (StatusCode::IM_A_TEAPOT, "short and plain") }),
            )
            .route("/empty", get(|| async { StatusCode::PAYLOAD_TOO_LARGE }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                answer,
            ))
    }

    #[tokio::test]
    async fn a_request_past_its_deadline_is_a_json_504() {
        let (status, _, body) = call(app(), "/slow").await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("longer than")
        );
    }

    #[tokio::test]
    async fn plain_error_answers_become_json_with_their_status_and_headers() {
        let (status, _, body) = call(app(), "/plain").await;
        assert_eq!(status, StatusCode::IM_A_TEAPOT);
        assert_eq!(body["message"], "short and plain");
        let (status, _, body) = call(app(), "/empty").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["message"], "Payload Too Large");
        let post_only = Router::new()
            .route("/x", axum::routing::post(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_secs(5),
                answer,
            ));
        let (status, allow, body) = call(post_only, "/x").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(allow.as_deref(), Some("POST"));
        assert!(body["message"].is_string());
    }
}
