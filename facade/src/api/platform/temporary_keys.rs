//! Short-lived API keys for Studio's own use inside a project (the Realtime
//! inspector, the storage explorer): a JWT signed with the project's JWT
//! secret, as the project's services verify it, for a role the member may
//! use (`service_role` only for members who may see the service key), for
//! at most an hour. Nothing is stored; the key expires by itself.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jsonwebtoken::{EncodingKey, Header};
use serde::{Deserialize, Serialize};
use supaplane_crds::constants::keys_secret;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::authorization::project_keys::KeysSecret;
use crate::common::error::{ApiError, ApiResult};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// Longest life of a temporary key, and the default (Studio's).
const MAX_LIFETIME_SECONDS: i64 = 3600;
const DEFAULT_LIFETIME_SECONDS: i64 = 300;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct TemporaryKeyQuery {
    /// Seconds the key lives (1 to 3600; 300 when absent).
    authorization_exp: Option<String>,
    /// JSON claims; only `role` is taken (`anon` or `service_role`).
    claims: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AskedClaims {
    #[serde(default)]
    role: Option<String>,
}

#[derive(Debug, Serialize)]
struct KeyClaims<'a> {
    role: &'a str,
    iss: &'static str,
    #[serde(rename = "ref")]
    project_ref: &'a str,
    iat: i64,
    exp: i64,
}

/// `TemporaryApiKeyResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TemporaryApiKey {
    api_key: String,
}

#[utoipa::path(post, path = "/platform/projects/{ref}/api-keys/temporary", tag = "projects",
    params(TemporaryKeyQuery),
    responses((status = 201, body = TemporaryApiKey)), security(("bearer" = [])))]
async fn temporary_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(query): Query<TemporaryKeyQuery>,
) -> ApiResult<(StatusCode, Json<TemporaryApiKey>)> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let lifetime = match query.authorization_exp.as_deref() {
        None => DEFAULT_LIFETIME_SECONDS,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|seconds| (1..=MAX_LIFETIME_SECONDS).contains(seconds))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "authorization_exp must be 1 to {MAX_LIFETIME_SECONDS} seconds"
                ))
            })?,
    };
    let asked: AskedClaims = match query.claims.as_deref() {
        None => AskedClaims { role: None },
        Some(text) => serde_json::from_str(text).map_err(|_| {
            ApiError::BadRequest("claims must be a JSON object such as {\"role\":\"anon\"}".into())
        })?,
    };
    let role = match asked.role.as_deref().unwrap_or("anon") {
        "anon" => "anon",
        "service_role" => {
            access.require(Action::ReadSecrets)?;
            "service_role"
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "role {other:?} is not offered: use anon or service_role"
            )));
        }
    };
    let secret = KeysSecret::read(&state.client, &access)
        .await?
        .entry(keys_secret::JWT_SECRET)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::Unavailable(format!(
                "Project {project_ref} has no keys yet; try again when it is up"
            ))
        })?;
    let now = chrono::Utc::now().timestamp();
    let claims = KeyClaims {
        role,
        iss: "supabase",
        project_ref: &project_ref,
        iat: now,
        exp: now + lifetime,
    };
    let api_key = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| ApiError::Internal(format!("signing a temporary key: {e}")))?;
    Ok((StatusCode::CREATED, Json(TemporaryApiKey { api_key })))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(temporary_key))
}
