//! Errors as the Kubernetes API server reports them: a `Status` object with
//! the HTTP code, a machine-readable reason and details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::registry::ResourceType;
use super::schema::FieldError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(resource: &ResourceType, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", resource.qualified_resource(), name),
        )
        .with_details(json!({"name": name, "group": resource.group, "kind": resource.plural}))
    }

    pub fn namespace_not_found(namespace: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("namespaces \"{namespace}\" not found"),
        )
        .with_details(json!({"name": namespace, "kind": "namespaces"}))
    }

    pub fn path_not_found() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(resource: &ResourceType, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!(
                "{} \"{}\" already exists",
                resource.qualified_resource(),
                name
            ),
        )
        .with_details(json!({"name": name, "group": resource.group, "kind": resource.plural}))
    }

    pub fn conflict(resource: &ResourceType, name: &str, why: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                resource.qualified_resource(),
                name,
                why
            ),
        )
        .with_details(json!({"name": name, "group": resource.group, "kind": resource.plural}))
    }

    pub fn stale_update(resource: &ResourceType, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// Server-side apply conflicts: 409 with one cause per contested field.
    pub fn apply_conflicts(
        resource: &ResourceType,
        name: &str,
        conflicts: &[super::fieldmanager::Conflict],
    ) -> Self {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|c| {
                json!({
                    "reason": "FieldManagerConflict",
                    "message": format!("conflict with {}", c.manager_description()),
                    "field": c.field,
                })
            })
            .collect();
        ApiError::new(
            409,
            "Conflict",
            super::fieldmanager::conflict_message(conflicts),
        )
        .with_details(json!({
            "name": name, "group": resource.group, "kind": resource.plural, "causes": causes,
        }))
    }

    /// 422 Invalid, worded as `Kind.group "name" is invalid: <errors>`.
    pub fn invalid(resource: &ResourceType, name: &str, errors: &[FieldError]) -> Self {
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let summary = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.kind.reason(), "message": e.to_string(), "field": e.field}))
            .collect();
        ApiError::new(
            422,
            "Invalid",
            format!(
                "{} \"{}\" is invalid: {}",
                resource.qualified_kind(),
                name,
                summary
            ),
        )
        .with_details(
            json!({"name": name, "group": resource.group, "kind": resource.kind, "causes": causes}),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn forbidden(resource: &ResourceType, name: &str, why: &str) -> Self {
        ApiError::new(
            403,
            "Forbidden",
            format!(
                "{} \"{}\" is forbidden: {}",
                resource.qualified_resource(),
                name,
                why
            ),
        )
        .with_details(json!({"name": name, "group": resource.group, "kind": resource.plural}))
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        )
    }

    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "InternalError", message)
    }

    /// The `Status` object itself, also used as the object of an ERROR watch event.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.to_status())).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
