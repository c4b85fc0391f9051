//! The signed-in user: profile (from the dashboard identity, no store of
//! our own), the permission list Studio shows or hides actions by, and the
//! sign-in audit. Signing in joins no organization by itself: invitations
//! are accepted with their token (`invitations`).

use crate::common::error::ErrorBody;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kube::Api;
use kube::api::PostParams;
use serde::Serialize;
use supaplane_crds::Organization;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access::organizations_of;
use crate::authorization::permissions::{StudioPermission, studio_permissions};
use crate::common::error::{ApiError, ApiResult};
use crate::common::ids::numeric_id;
use crate::identity::caller::Caller;
use crate::index::cache::includes_write;
use crate::state::AppState;

/// `ProfileResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfileResponse {
    pub id: u64,
    pub gotrue_id: String,
    pub auth0_id: String,
    pub username: String,
    pub primary_email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile: Option<String>,
    pub is_alpha_user: bool,
    pub is_sso_user: bool,
    pub free_project_limit: Option<u32>,
    pub disabled_features: Vec<String>,
}

/// Studio features that supaplane does not provide, so Studio hides them
/// instead of showing them broken: Edge Functions (no edge runtime runs in
/// a project yet; Studio's home page would check a health URL on
/// supabase.co and call the project Unhealthy).
pub const NOT_PROVIDED: [&str; 1] = ["project_edge_function:all"];

fn profile_of(caller: &Caller) -> ProfileResponse {
    let email = caller.email.clone().unwrap_or_default();
    let username = email
        .split('@')
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or(&caller.user_id)
        .to_string();
    let (first_name, last_name) = match caller.full_name.as_deref().map(str::trim) {
        Some(full) if !full.is_empty() => match full.split_once(' ') {
            Some((first, last)) => (Some(first.to_string()), Some(last.trim().to_string())),
            None => (Some(full.to_string()), None),
        },
        _ => (None, None),
    };
    ProfileResponse {
        id: numeric_id(&caller.user_id),
        gotrue_id: caller.user_id.clone(),
        auth0_id: caller.user_id.clone(),
        username,
        primary_email: email,
        first_name,
        last_name,
        mobile: None,
        is_alpha_user: false,
        is_sso_user: false,
        free_project_limit: None,
        disabled_features: NOT_PROVIDED.map(String::from).to_vec(),
    }
}

#[utoipa::path(get, path = "/platform/profile", tag = "profile", responses((status = 200, body = ProfileResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn get_profile(caller: Caller) -> ApiResult<Json<ProfileResponse>> {
    Ok(Json(profile_of(&caller)))
}

/// Studio creates the profile on first sign-in; ours comes from the
/// identity, so creating is reading.
#[utoipa::path(post, path = "/platform/profile", tag = "profile", responses((status = 201, body = ProfileResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn create_profile(caller: Caller) -> ApiResult<(StatusCode, Json<ProfileResponse>)> {
    Ok((StatusCode::CREATED, Json(profile_of(&caller))))
}

#[utoipa::path(get, path = "/platform/profile/permissions", tag = "profile", responses((status = 200, body = Vec<StudioPermission>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn permissions(State(state): State<AppState>, caller: Caller) -> Json<Vec<StudioPermission>> {
    Json(
        organizations_of(&state.index, &caller)
            .iter()
            .flat_map(|access| studio_permissions(&access.organization, access.role))
            .collect(),
    )
}

#[utoipa::path(post, path = "/platform/profile/audit-login", tag = "profile", responses((status = 201), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn audit_login(caller: Caller) -> StatusCode {
    tracing::info!(user = %caller.user_id, "dashboard sign-in");
    StatusCode::CREATED
}

/// Reads an organization fresh, lets `change` edit it, and replaces it with
/// the read resourceVersion, retrying when another writer got in between,
/// so no concurrent change is lost. `change` returns false to write nothing.
pub async fn update_organization(
    state: &AppState,
    slug: &str,
    mut change: impl FnMut(&mut Organization) -> bool,
) -> ApiResult<Option<Organization>> {
    let api: Api<Organization> = Api::all(state.client.clone());
    for _ in 0..5 {
        let Some(mut organization) = api
            .get_opt(slug)
            .await
            .map_err(|e| ApiError::kube("reading the organization", e))?
        else {
            return Err(ApiError::organization_not_found(slug));
        };
        if !change(&mut organization) {
            return Ok(None);
        }
        organization.metadata.managed_fields = None;
        match api
            .replace(slug, &PostParams::default(), &organization)
            .await
        {
            Ok(written) => {
                state
                    .index
                    .organizations
                    .wait_for(
                        kube::runtime::reflector::ObjectRef::from_obj(&written),
                        |cached| includes_write(cached, &written),
                    )
                    .await;
                return Ok(Some(written));
            }
            Err(kube::Error::Api(status)) if status.code == 409 => continue,
            Err(error) => return Err(ApiError::kube("updating the organization", error)),
        }
    }
    Err(ApiError::Conflict(
        "The organization is being changed by someone else; try again".into(),
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_profile, create_profile))
        .routes(routes!(permissions))
        .routes(routes!(audit_login))
}
