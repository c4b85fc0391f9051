//! Organizations, their members, roles and invitations — all kept in the
//! Organization resource.

use crate::common::error::ErrorBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use serde::{Deserialize, Serialize};
use supaplane_crds::{Organization, OrganizationMember, OrganizationRole, OrganizationSpec};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::profile::update_organization;
use crate::authorization::access::{self, OrganizationAccess, organizations_of, role_name};
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, JsonBody};
use crate::common::shapes::{OrganizationDetailResponse, OrganizationResponse, uid_id};
use crate::common::validate;
use crate::identity::caller::Caller;
use crate::index::cache::includes_write;
use crate::middleware::limits;
use crate::state::AppState;

pub const ROLES: [OrganizationRole; 4] = [
    OrganizationRole::Owner,
    OrganizationRole::Administrator,
    OrganizationRole::Developer,
    OrganizationRole::ReadOnly,
];

/// Role ids Studio uses to name roles; the same in every organization.
pub fn role_id(role: OrganizationRole) -> u64 {
    match role {
        OrganizationRole::Owner => 1,
        OrganizationRole::Administrator => 2,
        OrganizationRole::Developer => 3,
        OrganizationRole::ReadOnly => 4,
    }
}

pub(crate) fn role_for_id(id: u64) -> ApiResult<OrganizationRole> {
    ROLES
        .into_iter()
        .find(|role| role_id(*role) == id)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "role_id {id} is not a role: use 1 (Owner), 2 (Administrator), 3 (Developer) or 4 (Read-only)"
            ))
        })
}

pub fn plan_for_tier(tier: &str) -> ApiResult<&'static str> {
    match tier {
        "tier_free" => Ok("free"),
        "tier_pro" | "tier_payg" => Ok("pro"),
        "tier_team" => Ok("team"),
        "tier_enterprise" => Ok("enterprise"),
        "tier_platform" => Ok("platform"),
        other => Err(ApiError::BadRequest(format!(
            "tier {other:?} is not one of tier_free, tier_pro, tier_payg, tier_team, tier_enterprise, tier_platform"
        ))),
    }
}

#[utoipa::path(get, path = "/platform/organizations", tag = "organizations", responses((status = 200, body = Vec<OrganizationResponse>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<OrganizationResponse>> {
    Json(
        organizations_of(&state.index, &caller)
            .iter()
            .map(|a| OrganizationResponse::new(&a.organization, a.role == OrganizationRole::Owner))
            .collect(),
    )
}

/// `CreateOrganizationBody`; billing fields are accepted and ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateOrganizationBody {
    /// 1 to 64 letters, digits, spaces and `- _ . ( )`; no `--`.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[serde(default = "default_tier")]
    pub tier: String,
}

fn default_tier() -> String {
    "tier_free".into()
}

/// Creates an organization with the caller as its Owner.
pub async fn create_organization(
    state: &AppState,
    caller: &Caller,
    name: &str,
    plan: &str,
) -> ApiResult<Organization> {
    let name = validate::display_name("name", name)?;
    let mine = organizations_of(&state.index, caller);
    limits::check(
        "organizations owned per user",
        mine.iter()
            .filter(|a| a.role == OrganizationRole::Owner)
            .count(),
        state.config.max_organizations_per_user,
        "--max-organizations-per-user",
    )?;
    if mine
        .iter()
        .any(|a| a.organization.spec.display_name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::Conflict(format!(
            "You already have an organization named {name:?}"
        )));
    }
    let organization = Organization::new(
        &validate::random_ref(),
        OrganizationSpec {
            display_name: name,
            plan: plan.to_string(),
            billing_email: caller.email.clone(),
            members: vec![OrganizationMember {
                user_id: caller.user_id.clone(),
                email: caller.email.clone().unwrap_or_default(),
                role: OrganizationRole::Owner,
            }],
            invitations: Vec::new(),
        },
    );
    let api: Api<Organization> = Api::all(state.client.clone());
    let created = api
        .create(&PostParams::default(), &organization)
        .await
        .map_err(|e| ApiError::kube("creating the organization", e))?;
    state
        .index
        .organizations
        .wait_for(ObjectRef::from_obj(&created), |cached| {
            includes_write(cached, &created)
        })
        .await;
    Ok(created)
}

#[utoipa::path(post, path = "/platform/organizations", tag = "organizations", request_body = CreateOrganizationBody, responses((status = 201, body = OrganizationResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateOrganizationBody>,
) -> ApiResult<(StatusCode, Json<OrganizationResponse>)> {
    let plan = plan_for_tier(&body.tier)?;
    let created = create_organization(&state, &caller, &body.name, plan).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrganizationResponse::new(&created, true)),
    ))
}

#[utoipa::path(get, path = "/platform/organizations/{slug}", tag = "organizations", responses((status = 200, body = OrganizationDetailResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<OrganizationDetailResponse>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    Ok(Json(OrganizationDetailResponse::new(&access.organization)))
}

/// `UpdateOrganizationBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateOrganizationBody {
    /// 1 to 64 letters, digits, spaces and `- _ . ( )`; no `--`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(format = "email", max_length = 320)]
    pub billing_email: Option<String>,
}

/// `UpdateOrganizationResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdateOrganizationResponse {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub billing_email: Option<String>,
    pub opt_in_tags: Vec<String>,
    pub stripe_customer_id: String,
}

#[utoipa::path(patch, path = "/platform/organizations/{slug}", tag = "organizations", request_body = UpdateOrganizationBody, responses((status = 200, body = UpdateOrganizationResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<UpdateOrganizationBody>,
) -> ApiResult<Json<UpdateOrganizationResponse>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    access.require(Action::UpdateOrganization)?;
    let name = body
        .name
        .as_deref()
        .map(|n| validate::display_name("name", n))
        .transpose()?;
    let billing_email = body
        .billing_email
        .as_deref()
        .map(validate::email)
        .transpose()?;
    let written = update_organization(&state, &slug, |organization| {
        let before = organization.spec.clone();
        if let Some(name) = &name {
            organization.spec.display_name = name.clone();
        }
        if let Some(email) = &billing_email {
            organization.spec.billing_email = Some(email.clone());
        }
        organization.spec != before
    })
    .await?;
    let organization = written.unwrap_or_else(|| (*access.organization).clone());
    Ok(Json(UpdateOrganizationResponse {
        id: uid_id(&organization.metadata),
        slug,
        name: organization.spec.display_name.clone(),
        billing_email: organization.spec.billing_email.clone(),
        opt_in_tags: Vec::new(),
        stripe_customer_id: String::new(),
    }))
}

fn projects_of(state: &AppState, slug: &str) -> usize {
    state.index.projects_in(slug).len()
}

pub async fn delete_organization(state: &AppState, access: &OrganizationAccess) -> ApiResult<()> {
    access.require(Action::DeleteOrganization)?;
    let slug = access.slug();
    let projects = projects_of(state, &slug);
    if projects > 0 {
        return Err(ApiError::Conflict(format!(
            "The organization still has {projects} project(s); delete them first"
        )));
    }
    let api: Api<Organization> = Api::all(state.client.clone());
    api.delete(&slug, &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("deleting the organization", e))?;
    state
        .index
        .organizations
        .wait_for(ObjectRef::from_obj(&*access.organization), |cached| {
            cached.is_none_or(|o| o.metadata.deletion_timestamp.is_some())
        })
        .await;
    Ok(())
}

#[utoipa::path(delete, path = "/platform/organizations/{slug}", tag = "organizations", responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    let access = access::organization(&state.index, &caller, &slug)?;
    delete_organization(&state, &access).await?;
    Ok(StatusCode::OK)
}

/// `Member`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberResponse {
    pub gotrue_id: String,
    pub primary_email: Option<String>,
    pub username: String,
    pub role_ids: Vec<u64>,
    pub is_sso_user: Option<bool>,
    pub mfa_enabled: bool,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

pub fn member_response(member: &OrganizationMember) -> MemberResponse {
    MemberResponse {
        gotrue_id: member.user_id.clone(),
        primary_email: Some(member.email.clone()).filter(|e| !e.is_empty()),
        username: member
            .email
            .split('@')
            .next()
            .filter(|u| !u.is_empty())
            .unwrap_or(&member.user_id)
            .to_string(),
        role_ids: vec![role_id(member.role)],
        is_sso_user: Some(false),
        mfa_enabled: false,
        metadata: serde_json::Map::new(),
    }
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/members", tag = "organizations", responses((status = 200, body = Vec<MemberResponse>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<MemberResponse>>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    Ok(Json(
        access
            .organization
            .spec
            .members
            .iter()
            .map(member_response)
            .collect(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RoleProject {
    name: String,
    #[serde(rename = "ref")]
    project_ref: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RoleResponse {
    id: u64,
    base_role_id: u64,
    name: &'static str,
    description: Option<String>,
    projects: Vec<RoleProject>,
}

/// `OrganizationRoleResponse`: the four fixed roles, none project-scoped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RolesResponse {
    org_scoped_roles: Vec<RoleResponse>,
    project_scoped_roles: Vec<RoleResponse>,
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/roles", tag = "organizations", responses((status = 200, body = RolesResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<RolesResponse>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(RolesResponse {
        org_scoped_roles: ROLES
            .into_iter()
            .map(|role| RoleResponse {
                id: role_id(role),
                base_role_id: role_id(role),
                name: role_name(role),
                description: None,
                projects: Vec::new(),
            })
            .collect(),
        project_scoped_roles: Vec::new(),
    }))
}

/// Changing roles: managers may change non-owners; only owners touch owners.
pub(crate) fn require_role_change(
    access: &OrganizationAccess,
    from: Option<OrganizationRole>,
    to: Option<OrganizationRole>,
) -> ApiResult<()> {
    access.require(Action::ManageMembers)?;
    if from == Some(OrganizationRole::Owner) || to == Some(OrganizationRole::Owner) {
        access.require(Action::ManageOwners)?;
    }
    Ok(())
}

fn keeps_an_owner(organization: &Organization) -> ApiResult<()> {
    if organization
        .spec
        .members
        .iter()
        .any(|m| m.role == OrganizationRole::Owner)
    {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "An organization needs at least one Owner: make someone else Owner first".into(),
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct AssignRoleBody {
    role_id: u64,
}

#[utoipa::path(patch, path = "/platform/organizations/{slug}/members/{gotrue_id}", tag = "organizations", request_body = AssignRoleBody, responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn assign_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, user_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<AssignRoleBody>,
) -> ApiResult<StatusCode> {
    let access = access::organization(&state.index, &caller, &slug)?;
    let role = role_for_id(body.role_id)?;
    let current = access
        .organization
        .spec
        .members
        .iter()
        .find(|m| m.user_id == user_id)
        .map(|m| m.role)
        .ok_or_else(|| ApiError::NotFound(format!("Member {user_id} not found")))?;
    require_role_change(&access, Some(current), Some(role))?;
    let mut refusal = None;
    update_organization(&state, &slug, |organization| {
        let Some(member) = organization
            .spec
            .members
            .iter_mut()
            .find(|m| m.user_id == user_id)
        else {
            return false;
        };
        if member.role == role {
            return false;
        }
        member.role = role;
        refusal = keeps_an_owner(organization).err();
        refusal.is_none()
    })
    .await?;
    refusal.map_or(Ok(StatusCode::OK), Err)
}

#[utoipa::path(delete, path = "/platform/organizations/{slug}/members/{gotrue_id}", tag = "organizations", responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = access::organization(&state.index, &caller, &slug)?;
    let current = access
        .organization
        .spec
        .members
        .iter()
        .find(|m| m.user_id == user_id)
        .map(|m| m.role)
        .ok_or_else(|| ApiError::NotFound(format!("Member {user_id} not found")))?;
    // Anyone may leave; removing others needs the right to manage them.
    if user_id != caller.user_id {
        require_role_change(&access, Some(current), None)?;
    }
    let mut refusal = None;
    update_organization(&state, &slug, |organization| {
        let before = organization.spec.members.len();
        organization.spec.members.retain(|m| m.user_id != user_id);
        if organization.spec.members.len() == before {
            return false;
        }
        refusal = keeps_an_owner(organization).err();
        refusal.is_none()
    })
    .await?;
    refusal.map_or(Ok(StatusCode::OK), Err)
}

/// Nobody reaches a free project limit here: projects are not billed.
#[utoipa::path(get, path = "/platform/organizations/{slug}/members/reached-free-project-limit", tag = "organizations", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn reached_free_project_limit(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(Vec::new()))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, remove))
        .routes(routes!(members))
        .routes(routes!(roles))
        .routes(routes!(reached_free_project_limit))
        .routes(routes!(assign_role, remove_member))
}
