//! The one error type of every handler, rendered as the Supabase platform
//! renders errors: a status code and `{"message": …}`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Timeout(String),
    /// A failure of ours or of the Kubernetes API; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, and for bad input what to fix.
    pub message: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn project_not_found(project_ref: &str) -> Self {
        ApiError::NotFound(format!("Project {project_ref} not found"))
    }

    pub fn organization_not_found(slug: &str) -> Self {
        ApiError::NotFound(format!("Organization {slug} not found"))
    }

    pub fn kube(context: &str, error: kube::Error) -> Self {
        match &error {
            kube::Error::Api(status) if status.code == 409 => {
                ApiError::Conflict(format!("{context}: {}", status.message))
            }
            kube::Error::Api(status) if status.code == 422 || status.code == 400 => {
                ApiError::BadRequest(format!("{context}: {}", status.message))
            }
            kube::Error::Api(status) if status.code == 404 => {
                ApiError::NotFound(format!("{context}: not found"))
            }
            // The API server away, overloaded or timing out: worth a retry.
            kube::Error::Api(status) if matches!(status.code, 429 | 503 | 504) => {
                tracing::warn!(%error, "{context}");
                ApiError::Unavailable(format!(
                    "{context}: the Kubernetes API server is busy; try again shortly"
                ))
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                tracing::warn!(%error, "{context}");
                ApiError::Unavailable(format!(
                    "{context}: the Kubernetes API server did not answer; try again shortly"
                ))
            }
            _ => ApiError::Internal(format!("{context}: {error}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "An internal error occurred. Please try again.".to_string()
            }
            other => other.to_string(),
        };
        let mut response = (self.status(), Json(ErrorBody { message })).into_response();
        // When to try again: an answer that will change by itself soon.
        if let ApiError::Unavailable(_) | ApiError::TooManyRequests(_) = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// The `Retry-After` of 429 and 503 answers, in seconds.
pub const RETRY_AFTER_SECONDS: &str = "5";

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => {
                ApiError::BadRequest(format!("Invalid request body: {}", error.body_text()))
            }
            JsonRejection::JsonSyntaxError(error) => {
                ApiError::BadRequest(format!("Malformed JSON: {}", error.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest(
                "Expected a JSON body with Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::PayloadTooLarge("The request body is too large".into())
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

/// A JSON body extractor whose rejections are Supabase-shaped errors.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        // Through a Value first: serde would take an array for a struct.
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::BadRequest(
                "The request body must be a JSON object".into(),
            ));
        }
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|error| ApiError::BadRequest(format!("Invalid request body: {error}")))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
