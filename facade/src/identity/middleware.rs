//! The authenticating middleware every route but health and the few public
//! ones passes: a session or an access token in, a [`Caller`] out.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::common::error::ApiError;
use crate::identity::access_tokens::{AccessTokens, TOKEN_PREFIX};
use crate::identity::session::TokenVerifier;

#[cfg(doc)]
use crate::identity::caller::Caller;

/// What the middleware checks credentials with, and what it lets through
/// without any. Held in an `Arc`: middleware state is cloned per request.
pub struct Gate {
    pub verifier: Arc<TokenVerifier>,
    pub access_tokens: AccessTokens,
    /// (method, path) pairs served without credentials.
    pub public_routes: &'static [(&'static str, &'static str)],
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware: refuses requests without valid credentials and hands the
/// [`Caller`] to the handlers.
pub async fn authenticate(
    State(gate): State<Arc<Gate>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let public = gate.public_routes.iter().any(|(method, path)| {
        request.method().as_str() == *method && request.uri().path() == *path
    });
    if public {
        return Ok(next.run(request).await);
    }
    let (mut parts, body) = request.into_parts();
    let token = bearer_token(&parts).ok_or_else(|| {
        ApiError::Unauthorized("Missing bearer token in the Authorization header".into())
    })?;
    let caller = if token.starts_with(TOKEN_PREFIX) {
        gate.access_tokens.caller_for(token)?
    } else {
        gate.verifier.verify_session(token).await?
    };
    parts.extensions.insert(caller);
    Ok(next.run(Request::from_parts(parts, body)).await)
}
