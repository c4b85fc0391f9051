//! Who a request comes from, as every layer above identity sees it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::common::error::ApiError;

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The user's id (`sub`) in the dashboard GoTrue.
    pub user_id: String,
    /// The user's email address, when known.
    pub email: Option<String>,
    /// Display name from the GoTrue user metadata, when set.
    pub full_name: Option<String>,
    /// How the caller proved who they are.
    pub method: AuthMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    AccessToken,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("Not signed in".into()))
    }
}
