//! The Management API's core (`/v1`), with the request and response shapes
//! of its OpenAPI document, over the same operations Studio uses.

use crate::common::error::ErrorBody;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kube::ResourceExt;
use serde::{Deserialize, Serialize};
use supaplane_crds::conditions;
use supaplane_crds::{Organization, Project, SupabaseStatus};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::organizations::create_organization;
use crate::api::platform::projects::{
    CreateProjectBody, ProjectRefResponse, create_project, delete_project, set_paused,
};
use crate::authorization::access::{self, organizations_of, role_name};
use crate::authorization::project_keys::read_keys;
use crate::common::error::{ApiError, ApiResult, JsonBody};
use crate::common::shapes::{created_at, database_host, status_of, status_text};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// `OrganizationResponseV1`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationV1 {
    pub id: String,
    pub slug: String,
    pub name: String,
}

impl OrganizationV1 {
    fn new(organization: &Organization) -> Self {
        OrganizationV1 {
            id: organization.name_any(),
            slug: organization.name_any(),
            name: organization.spec.display_name.clone(),
        }
    }
}

#[utoipa::path(get, path = "/v1/organizations", tag = "management api", responses((status = 200, body = Vec<OrganizationV1>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn organizations(State(state): State<AppState>, caller: Caller) -> Json<Vec<OrganizationV1>> {
    Json(
        organizations_of(&state.index, &caller)
            .iter()
            .map(|a| OrganizationV1::new(&a.organization))
            .collect(),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CreateOrganizationV1 {
    /// 1 to 64 letters, digits, spaces and `- _ . ( )`; no `--`.
    #[schema(min_length = 1, max_length = 64)]
    name: String,
}

#[utoipa::path(post, path = "/v1/organizations", tag = "management api", request_body = CreateOrganizationV1, responses((status = 201, body = OrganizationV1), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateOrganizationV1>,
) -> ApiResult<(StatusCode, Json<OrganizationV1>)> {
    let created = create_organization(&state, &caller, &body.name, "free").await?;
    Ok((StatusCode::CREATED, Json(OrganizationV1::new(&created))))
}

/// `V1OrganizationSlugResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OrganizationDetailV1 {
    id: String,
    name: String,
    plan: &'static str,
    opt_in_tags: Vec<String>,
    allowed_release_channels: Vec<&'static str>,
}

#[utoipa::path(get, path = "/v1/organizations/{slug}", tag = "management api", responses((status = 200, body = OrganizationDetailV1), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<OrganizationDetailV1>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    Ok(Json(OrganizationDetailV1 {
        id: slug,
        name: access.organization.spec.display_name.clone(),
        plan: crate::common::shapes::plan_of(&access.organization).id,
        opt_in_tags: Vec::new(),
        allowed_release_channels: vec!["ga"],
    }))
}

/// `V1OrganizationMemberResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MemberV1 {
    user_id: String,
    user_name: String,
    email: String,
    role_name: &'static str,
    mfa_enabled: bool,
}

#[utoipa::path(get, path = "/v1/organizations/{slug}/members", tag = "management api", responses((status = 200, body = Vec<MemberV1>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<MemberV1>>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    Ok(Json(
        access
            .organization
            .spec
            .members
            .iter()
            .map(|m| MemberV1 {
                user_id: m.user_id.clone(),
                user_name: m.email.split('@').next().unwrap_or_default().to_string(),
                email: m.email.clone(),
                role_name: role_name(m.role),
                mfa_enabled: false,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DatabaseV1 {
    host: String,
    version: String,
    postgres_engine: String,
    release_channel: &'static str,
}

/// `V1ProjectWithDatabaseResponse` (and, without `database`, `V1ProjectResponse`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProjectV1 {
    id: String,
    #[serde(rename = "ref")]
    project_ref: String,
    organization_id: String,
    organization_slug: String,
    name: String,
    region: String,
    created_at: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<DatabaseV1>,
}

fn project_v1(project: &Project, with_database: bool) -> ProjectV1 {
    ProjectV1 {
        id: project.name_any(),
        project_ref: project.name_any(),
        organization_id: project.spec.organization.clone(),
        organization_slug: project.spec.organization.clone(),
        name: project.spec.display_name.clone(),
        region: project.spec.region.clone(),
        created_at: created_at(&project.metadata),
        status: status_text(status_of(project)),
        database: with_database.then(|| DatabaseV1 {
            host: database_host(project),
            version: supaplane_crds::images::postgres_release(project.spec.postgres_version)
                .to_string(),
            postgres_engine: project.spec.postgres_version.major().to_string(),
            release_channel: "ga",
        }),
    }
}

#[utoipa::path(get, path = "/v1/projects", tag = "management api", responses((status = 200, body = Vec<ProjectV1>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn projects(State(state): State<AppState>, caller: Caller) -> Json<Vec<ProjectV1>> {
    let mut visible: Vec<ProjectV1> = access::projects_of(&state.index, &caller)
        .iter()
        .map(|a| project_v1(&a.project, true))
        .collect();
    visible.sort_by(|a, b| a.project_ref.cmp(&b.project_ref));
    Json(visible)
}

#[utoipa::path(post, path = "/v1/projects", tag = "management api", request_body = CreateProjectBody, responses((status = 201, body = ProjectV1), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateProjectBody>,
) -> ApiResult<(StatusCode, Json<ProjectV1>)> {
    let (project, _) = create_project(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(project_v1(&project, false))))
}

#[utoipa::path(get, path = "/v1/projects/{ref}", tag = "management api", responses((status = 200, body = ProjectV1), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn project(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectV1>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(project_v1(&access.project, true)))
}

#[utoipa::path(delete, path = "/v1/projects/{ref}", tag = "management api", responses((status = 200, body = ProjectRefResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectRefResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    delete_project(&state, &access).await?;
    Ok(Json(ProjectRefResponse::new(&access.project)))
}

#[utoipa::path(post, path = "/v1/projects/{ref}/pause", tag = "management api", responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    set_paused(&state, &access, true).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(post, path = "/v1/projects/{ref}/restore", tag = "management api", responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    set_paused(&state, &access, false).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct HealthQuery {
    services: Option<String>,
}

/// `V1ServiceHealthResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ServiceHealth {
    name: String,
    healthy: bool,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The condition that says whether a Management API service is up.
fn condition_for(service: &str) -> Option<&'static str> {
    match service {
        "auth" => Some(conditions::AUTH_READY),
        "db" | "db_postgres_user" => Some(conditions::DATABASE_READY),
        "realtime" => Some(conditions::REALTIME_READY),
        "rest" => Some(conditions::REST_READY),
        "storage" => Some(conditions::STORAGE_READY),
        _ => None,
    }
}

const HEALTH_SERVICES: &str = "auth, db, db_postgres_user, realtime, rest, storage";

/// A service's health, from the condition the operator writes for it.
fn service_health(project: &Project, service: &str, condition: &str) -> ServiceHealth {
    let found = project
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == condition));
    let ready = found.is_some_and(|c| c.status == "True");
    let status = match (ready, status_of(project)) {
        (true, _) => "ACTIVE_HEALTHY",
        (false, SupabaseStatus::ComingUp | SupabaseStatus::Restoring) => "COMING_UP",
        _ => "UNHEALTHY",
    };
    ServiceHealth {
        name: service.to_string(),
        healthy: ready,
        status,
        error: (!ready)
            .then(|| {
                found
                    .map(|c| c.message.to_string())
                    .filter(|m| !m.is_empty())
            })
            .flatten(),
    }
}

#[utoipa::path(get, path = "/v1/projects/{ref}/health", tag = "management api", responses((status = 200, body = Vec<ServiceHealth>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn health(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(query): Query<HealthQuery>,
) -> ApiResult<Json<Vec<ServiceHealth>>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let services = query
        .services
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "services is required: a comma-separated list of {HEALTH_SERVICES}"
            ))
        })?;
    let mut answers = Vec::new();
    for service in services.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let condition = condition_for(service).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown service {service:?}; use {HEALTH_SERVICES}"
            ))
        })?;
        answers.push(service_health(&access.project, service, condition));
    }
    Ok(Json(answers))
}

/// `ApiKeyResponse`, for the legacy JWT keys a project has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ApiKey {
    name: &'static str,
    api_key: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    prefix: Option<String>,
    description: Option<String>,
    hash: Option<String>,
    inserted_at: Option<String>,
    updated_at: Option<String>,
}

fn legacy_key(name: &'static str, api_key: String) -> ApiKey {
    ApiKey {
        name,
        api_key: Some(api_key),
        id: Some(name.to_string()),
        kind: Some("legacy"),
        prefix: None,
        description: None,
        hash: None,
        inserted_at: None,
        updated_at: None,
    }
}

#[utoipa::path(get, path = "/v1/projects/{ref}/api-keys", tag = "management api", responses((status = 200, body = Vec<ApiKey>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<ApiKey>>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    // Legacy JWT keys are shown whole (`reveal` concerns the new secret
    // keys); the service_role key only to roles that may see secrets.
    let keys = read_keys(&state.client, &access).await?;
    let mut answer = Vec::new();
    if let Some(anon) = keys.anon_key {
        answer.push(legacy_key("anon", anon));
    }
    if let Some(service) = keys.service_role_key {
        answer.push(legacy_key("service_role", service));
    }
    Ok(Json(answer))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(organizations, create_org))
        .routes(routes!(organization))
        .routes(routes!(members))
        .routes(routes!(projects, create))
        .routes(routes!(project, remove))
        .routes(routes!(pause))
        .routes(routes!(restore))
        .routes(routes!(health))
        .routes(routes!(api_keys))
}
