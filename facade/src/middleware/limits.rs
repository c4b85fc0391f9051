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

use crate::common::error::{ApiError, ApiResult};
use crate::identity::caller::Caller;

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
pub struct WriteRate {
    limiter: DefaultKeyedRateLimiter<String>,
    per_minute: NonZeroU32,
}

impl WriteRate {
    pub fn new(per_minute: u32) -> Arc<WriteRate> {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Arc::new(WriteRate {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_minute,
        })
    }

    /// Forgets users not seen lately, so the map does not grow forever.
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
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
pub async fn limit_writes(
    State(rate): State<Arc<WriteRate>>,
    request: Request,
    next: Next,
) -> Response {
    if is_write(request.method())
        && let Some(caller) = request.extensions().get::<Caller>()
        && rate.limiter.check_key(&caller.user_id).is_err()
    {
        return ApiError::TooManyRequests(format!(
            "Too many changes: at most {} a minute per user; try again shortly",
            rate.per_minute
        ))
        .into_response();
    }
    next.run(request).await
}
