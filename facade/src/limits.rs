//! Bounds on what one user can make and how fast, so nobody can fill the
//! cluster (or grow one Organization object towards etcd's 1.5 MB limit)
//! through the API. Each is a flag with a safe default; a request past one
//! is refused with 403 (a count) or 429 (the write rate) and a message
//! naming the limit.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Refuses one more of `what` when `count` already reached `limit`.
pub fn check(what: &str, count: usize, limit: usize, flag: &str) -> ApiResult<()> {
    if count >= limit {
        return Err(ApiError::Forbidden(format!(
            "Limit reached: at most {limit} {what} (the operator of this installation sets it with {flag})"
        )));
    }
    Ok(())
}

/// Writes per user, per minute.
pub struct WriteRate(DefaultKeyedRateLimiter<String>);

impl WriteRate {
    pub fn new(per_minute: u32) -> Arc<WriteRate> {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Arc::new(WriteRate(RateLimiter::keyed(Quota::per_minute(per_minute))))
    }

    /// Forgets users not seen lately, so the map does not grow forever.
    pub fn shrink(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

/// POST, PUT, PATCH and DELETE: what changes something.
pub(crate) fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Answers 429 (with `Retry-After`) to a caller past their write rate.
/// Runs after authentication: the key is the signed-in user.
pub async fn limit_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_write(request.method())
        && let Some(caller) = request.extensions().get::<Caller>()
        && state.write_rate.0.check_key(&caller.user_id).is_err()
    {
        return ApiError::TooManyRequests(format!(
            "Too many changes: at most {} a minute per user; try again shortly",
            state.config.writes_per_minute
        ))
        .into_response();
    }
    next.run(request).await
}
