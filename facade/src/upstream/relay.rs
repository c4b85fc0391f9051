//! Sending a request to one of a project's own services (pg-meta, GoTrue,
//! Storage) and relaying its answer: status and body as they are, streamed;
//! a service that does not answer in time is a 503 naming the project's
//! status, never a hang.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use http_body_util::Full;
use kube::ResourceExt;
use supaplane_crds::{Project, SupabaseStatus};

use crate::common::error::{ApiError, ApiResult};
use crate::common::http::UpstreamClient;
use crate::common::shapes::{status_of, status_text};

/// A project's services answer only while its workloads run.
pub fn require_running(project: &Project) -> ApiResult<()> {
    let status = status_of(project);
    if project.spec.paused
        || matches!(
            status,
            SupabaseStatus::Inactive
                | SupabaseStatus::Pausing
                | SupabaseStatus::GoingDown
                | SupabaseStatus::Removed
        )
    {
        return Err(ApiError::Unavailable(format!(
            "Project {} is not running (status {}); restore it first",
            project.name_any(),
            status_text(status)
        )));
    }
    Ok(())
}

/// Sends `request` to the project's service `what` and relays the answer.
pub async fn relay(
    http: &UpstreamClient,
    timeout: Duration,
    project: &Project,
    what: &str,
    request: hyper::Request<Full<Bytes>>,
) -> ApiResult<Response> {
    let unreachable = |why: String| {
        ApiError::Unavailable(format!(
            "The {what} of project {} is not answering ({why}); project status {}",
            project.name_any(),
            status_text(status_of(project))
        ))
    };
    let response = tokio::time::timeout(timeout, http.request(request))
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let (parts, upstream_body) = response.into_parts();
    // A service that failed inside is the gateway's 502, in our shape; its
    // own words (bounded) are kept in the message.
    if parts.status.is_server_error() {
        use http_body_util::BodyExt;
        let said = http_body_util::Limited::new(upstream_body, 4096)
            .collect()
            .await
            .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
            .unwrap_or_default();
        return Err(ApiError::BadGateway(format!(
            "The {what} of project {} failed ({}): {}",
            project.name_any(),
            parts.status,
            said.trim()
        )));
    }
    let mut answer = Response::builder().status(parts.status);
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        answer = answer.header(header::CONTENT_TYPE, content_type);
    }
    answer
        .body(Body::new(upstream_body))
        .map_err(|e| ApiError::Internal(format!("relaying the {what}'s answer: {e}")))
}
