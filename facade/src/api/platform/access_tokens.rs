//! Studio's access-token endpoints: personal access tokens (`sbp_…`)
//! created, listed and revoked (`identity::access_tokens` recognises them).

use crate::common::error::ErrorBody;
use std::collections::BTreeMap;
use utoipa_axum::{router::OpenApiRouter, routes};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use crate::common::error::{ApiError, ApiResult, JsonBody};
use crate::common::ids::numeric_id;
use crate::common::secrets::secret_text;
use crate::identity::access_tokens::{LABEL_ACCESS_TOKEN, TOKEN_PREFIX, hash_hex, secret_name};
use crate::identity::caller::{AuthMethod, Caller};
use crate::index::cache::includes_write;
use crate::state::AppState;

/// The owner's user id, so a user's tokens are listed by label.
const LABEL_USER: &str = "supaplane.io/user-id";
const NAME_LIMIT: usize = 128;
const SCOPE_LIMIT: usize = 256;

/// An access token as Studio lists it (never the token itself).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessTokenResponse {
    pub id: u64,
    pub name: String,
    pub token_alias: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub scope: Option<String>,
}

/// The answer to a create: the only time the token is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedAccessTokenResponse {
    #[serde(flatten)]
    pub listed: AccessTokenResponse,
    pub token: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateAccessTokenBody {
    /// One line, no control characters.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    #[schema(max_length = 256)]
    pub scope: Option<String>,
}

fn describe(secret: &Secret) -> AccessTokenResponse {
    AccessTokenResponse {
        id: numeric_id(secret.uid().as_deref().unwrap_or_default()),
        name: secret_text(secret, "name").unwrap_or_default().to_string(),
        token_alias: secret_text(secret, "alias").unwrap_or_default().to_string(),
        created_at: secret
            .creation_timestamp()
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
        expires_at: secret_text(secret, "expires-at").map(str::to_string),
        last_used_at: None,
        scope: secret_text(secret, "scope").map(str::to_string),
    }
}

fn owned_by<'a>(state: &'a AppState, caller: &'a Caller) -> impl Iterator<Item = Secret> + 'a {
    state
        .access_tokens
        .state()
        .into_iter()
        .filter(move |s| secret_text(s, "user-id") == Some(caller.user_id.as_str()))
        .map(|s| (*s).clone())
}

#[utoipa::path(get, path = "/platform/profile/access-tokens", tag = "access tokens", responses((status = 200, body = Vec<AccessTokenResponse>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> axum::Json<Vec<AccessTokenResponse>> {
    let mut tokens: Vec<Secret> = owned_by(&state, &caller).collect();
    tokens.sort_by_key(|token| token.creation_timestamp());
    axum::Json(tokens.iter().map(describe).collect())
}

fn find(state: &AppState, caller: &Caller, id: u64) -> ApiResult<Secret> {
    owned_by(state, caller)
        .find(|s| numeric_id(s.uid().as_deref().unwrap_or_default()) == id)
        .ok_or_else(|| ApiError::NotFound(format!("Access token {id} not found")))
}

#[utoipa::path(get, path = "/platform/profile/access-tokens/{id}", tag = "access tokens", responses((status = 200, body = AccessTokenResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<u64>,
) -> ApiResult<axum::Json<AccessTokenResponse>> {
    Ok(axum::Json(describe(&find(&state, &caller, id)?)))
}

#[utoipa::path(post, path = "/platform/profile/access-tokens", tag = "access tokens", request_body = CreateAccessTokenBody, responses((status = 201, body = CreatedAccessTokenResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateAccessTokenBody>,
) -> ApiResult<(StatusCode, axum::Json<CreatedAccessTokenResponse>)> {
    if caller.method == AuthMethod::AccessToken {
        return Err(ApiError::Forbidden(
            "Access tokens can only be created from a dashboard session".into(),
        ));
    }
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::BadRequest("name must not be empty".into()));
    }
    crate::common::validate::single_line("name", name, NAME_LIMIT)?;
    if let Some(scope) = &body.scope {
        crate::common::validate::single_line("scope", scope, SCOPE_LIMIT)?;
    }
    let user = label_safe(&caller.user_id);
    let held = state
        .access_tokens
        .state()
        .iter()
        .filter(|s| s.labels().get(LABEL_USER) == Some(&user))
        .count();
    crate::middleware::limits::check(
        "access tokens per user",
        held,
        state.config.max_access_tokens_per_user,
        "--max-access-tokens-per-user",
    )?;
    if let Some(at) = &body.expires_at {
        let at = chrono::DateTime::parse_from_rfc3339(at)
            .map_err(|_| ApiError::BadRequest("expires_at must be an RFC 3339 timestamp".into()))?;
        if at < chrono::Utc::now() {
            return Err(ApiError::BadRequest(
                "expires_at must be in the future".into(),
            ));
        }
    }
    let token = format!(
        "{TOKEN_PREFIX}{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 40)
            .to_lowercase()
    );
    let alias = format!("{}…{}", &token[..8], &token[token.len() - 4..]);
    let mut data = BTreeMap::from([
        ("hash".to_string(), hash_hex(&token)),
        ("user-id".to_string(), caller.user_id.clone()),
        ("name".to_string(), name.to_string()),
        ("alias".to_string(), alias),
    ]);
    if let Some(email) = &caller.email {
        data.insert("email".into(), email.clone());
    }
    if let Some(at) = &body.expires_at {
        data.insert("expires-at".into(), at.clone());
    }
    if let Some(scope) = &body.scope {
        data.insert("scope".into(), scope.clone());
    }
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(&token)),
            namespace: Some(state.config.namespace.clone()),
            labels: Some(BTreeMap::from([
                (LABEL_ACCESS_TOKEN.to_string(), "true".to_string()),
                (LABEL_USER.to_string(), label_safe(&caller.user_id)),
            ])),
            ..Default::default()
        },
        type_: Some("supaplane.io/access-token".into()),
        string_data: Some(data),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(state.client.clone(), &state.config.namespace);
    let created = api
        .create(&PostParams::default(), &secret)
        .await
        .map_err(|e| ApiError::kube("creating the access token", e))?;
    state
        .access_tokens
        .wait_for(ObjectRef::from_obj(&created), |cached| {
            includes_write(cached, &created)
        })
        .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedAccessTokenResponse {
            listed: describe(&created),
            token,
        }),
    ))
}

/// A user id as a label value (GoTrue ids are UUIDs, which already are).
fn label_safe(user_id: &str) -> String {
    user_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(63)
        .collect()
}

#[utoipa::path(delete, path = "/platform/profile/access-tokens/{id}", tag = "access tokens", responses((status = 200, body = AccessTokenResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<u64>,
) -> ApiResult<axum::Json<AccessTokenResponse>> {
    let secret = find(&state, &caller, id)?;
    let api: Api<Secret> = Api::namespaced(state.client.clone(), &state.config.namespace);
    api.delete(&secret.name_any(), &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("revoking the access token", e))?;
    state
        .access_tokens
        .wait_for(ObjectRef::from_obj(&secret), |cached| cached.is_none())
        .await;
    Ok(axum::Json(describe(&secret)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, revoke))
}
