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
    PayloadTooLarge(String),
    #[error("{0}")]
    Unavailable(String),
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
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
        (self.status(), Json(ErrorBody { message })).into_response()
    }
}

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
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(JsonBody(value))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
