//! A project's service configuration as Studio's settings pages read it:
//! PostgREST settings, Postgres versions, JWT keys and connection pooling.
//! All of it is what the operator actually runs (the shared constants and
//! pinned images), not a copy that could drift.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use supaplane_crds::PostgresVersion;
use supaplane_crds::constants::postgrest;
use supaplane_crds::images::{PINNED, postgres_release};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::authorization::project_keys::read_keys;
use crate::common::error::{ApiError, ApiResult, ErrorBody};
use crate::common::shapes::{self, created_at};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// `GetPostgrestConfigResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PostgrestConfig {
    db_schema: &'static str,
    max_rows: u32,
    db_extra_search_path: &'static str,
    db_anon_role: &'static str,
    role_claim_key: &'static str,
    /// Empty for roles that may not see secrets.
    jwt_secret: String,
    /// Studio reads it (not in the schema); PostgREST's default pool is used.
    db_pool: Option<u32>,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/config/postgrest", tag = "projects",
    responses((status = 200, body = PostgrestConfig), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn postgrest_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<PostgrestConfig>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let keys = read_keys(&state.client, &access).await?;
    Ok(Json(PostgrestConfig {
        db_schema: postgrest::SCHEMAS,
        max_rows: postgrest::MAX_ROWS,
        db_extra_search_path: postgrest::EXTRA_SEARCH_PATH,
        db_anon_role: postgrest::ANON_ROLE,
        role_claim_key: ".role",
        jwt_secret: keys.jwt_secret.unwrap_or_default(),
        db_pool: None,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AvailableVersion {
    postgres_engine: &'static str,
    release_channel: &'static str,
    /// `supabase-postgres-<version>`: Studio's version picker splits on that prefix.
    version: String,
}

/// `OrganizationSlugAvailableVersionsResponse` / `UnpauseProjectAvailableVersionsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AvailableVersions {
    available_versions: Vec<AvailableVersion>,
}

impl AvailableVersions {
    fn of(versions: impl IntoIterator<Item = PostgresVersion>) -> AvailableVersions {
        AvailableVersions {
            available_versions: versions
                .into_iter()
                .map(|version| AvailableVersion {
                    postgres_engine: version.major(),
                    release_channel: "ga",
                    version: format!("supabase-postgres-{}", postgres_release(version)),
                })
                .collect(),
        }
    }
}

#[utoipa::path(post, path = "/platform/organizations/{slug}/available-versions", tag = "projects",
    responses((status = 200, body = AvailableVersions), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn organization_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<AvailableVersions>> {
    access::organization(&state.index, &caller, &slug)?;
    // Every version a new project can run, newest (the default) first.
    Ok(Json(AvailableVersions::of(PostgresVersion::ALL)))
}

#[utoipa::path(get, path = "/platform/projects/{ref}/restore/versions", tag = "projects",
    responses((status = 200, body = AvailableVersions), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn restore_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<AvailableVersions>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    // A paused project resumes on its own major version: supaplane does
    // not upgrade data between majors.
    Ok(Json(AvailableVersions::of([access
        .project
        .spec
        .postgres_version])))
}

/// `GetJwtSecretUpdateStatus`: no JWT secret change is ever in progress
/// (rotation is not offered yet).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct JwtSecretUpdateStatus {
    update_status: Option<serde_json::Value>,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/config/secrets/update-status", tag = "projects",
    responses((status = 200, body = JwtSecretUpdateStatus), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn secret_update_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<JwtSecretUpdateStatus>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(JwtSecretUpdateStatus {
        update_status: None,
    }))
}

/// `LegacyApiKeysResponse`: projects use the legacy JWT keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LegacyApiKeys {
    enabled: bool,
}

#[utoipa::path(get, path = "/v1/projects/{ref}/api-keys/legacy", tag = "management api",
    responses((status = 200, body = LegacyApiKeys), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn legacy_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<LegacyApiKeys>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(LegacyApiKeys { enabled: true }))
}

/// `SigningKeyResponse`: the project's one key, the legacy HS256 JWT secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SigningKey {
    id: String,
    algorithm: &'static str,
    status: &'static str,
    public_jwk: Option<serde_json::Value>,
    created_at: String,
    updated_at: String,
}

/// `SigningKeysResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SigningKeys {
    keys: Vec<SigningKey>,
}

fn legacy_signing_key(project: &supaplane_crds::Project) -> SigningKey {
    let created = created_at(&project.metadata);
    SigningKey {
        // The key's identity is the project's: one legacy key per project.
        id: project.metadata.uid.clone().unwrap_or_default(),
        algorithm: "HS256",
        status: "in_use",
        // A symmetric key has no public part.
        public_jwk: None,
        created_at: created.clone(),
        updated_at: created,
    }
}

#[utoipa::path(get, path = "/v1/projects/{ref}/config/auth/signing-keys", tag = "management api",
    responses((status = 200, body = SigningKeys), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn signing_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<SigningKeys>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(SigningKeys {
        keys: vec![legacy_signing_key(&access.project)],
    }))
}

#[utoipa::path(get, path = "/v1/projects/{ref}/config/auth/signing-keys/legacy", tag = "management api",
    responses((status = 200, body = SigningKey), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn legacy_signing_key_route(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<SigningKey>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(legacy_signing_key(&access.project)))
}

/// Custom domains are not offered: Studio reads this message as "none".
#[utoipa::path(get, path = "/v1/projects/{ref}/custom-hostname", tag = "management api",
    responses((status = 404, description = "No custom hostname is configured", body = ErrorBody)), security(("bearer" = [])))]
async fn custom_hostname(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ErrorBody>> {
    access::project(&state.index, &caller, &project_ref)?;
    Err(ApiError::NotFound(
        "This project has no custom hostname configuration".into(),
    ))
}

/// `SupavisorConfigResponse[]`: no pooler runs in front of a project's
/// database, so there is none to describe.
#[utoipa::path(get, path = "/platform/projects/{ref}/config/supavisor", tag = "projects",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn supavisor(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(Vec::new()))
}

/// `PgbouncerConfigResponse`: pooling off; connections go to Postgres.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PgbouncerConfig {
    pgbouncer_enabled: bool,
    pool_mode: &'static str,
    connection_string: String,
    db_dns_name: String,
    db_host: String,
    db_name: &'static str,
    db_port: i32,
    db_user: &'static str,
    ssl_enforced: bool,
    inserted_at: String,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/config/pgbouncer", tag = "projects",
    responses((status = 200, body = PgbouncerConfig), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn pgbouncer(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<PgbouncerConfig>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let project = &access.project;
    let host = shapes::database_host(project);
    let port = shapes::database_port(project);
    Ok(Json(PgbouncerConfig {
        pgbouncer_enabled: false,
        pool_mode: "session",
        connection_string: shapes::connection_string(project).unwrap_or_default(),
        db_dns_name: host.clone(),
        db_host: host,
        db_name: "postgres",
        db_port: port,
        db_user: "postgres",
        ssl_enforced: false,
        inserted_at: created_at(&project.metadata),
    }))
}

/// `ServiceVersions`: what the project's containers run, from their images
/// (the project's overrides, else the pinned ones).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ServiceVersions {
    gotrue: String,
    postgrest: String,
    #[serde(rename = "supabase-postgres")]
    supabase_postgres: String,
}

/// The tag of an image reference (`repo:tag`), or the whole reference.
fn tag_of(image: &str) -> String {
    image
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(image, |(_, tag)| tag)
        .to_string()
}

#[utoipa::path(get, path = "/platform/projects/{ref}/service-versions", tag = "projects",
    responses((status = 200, body = ServiceVersions)), security(("bearer" = [])))]
async fn service_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ServiceVersions>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let spec = &access.project.spec;
    let image = |overridden: Option<&String>, pinned: &str| {
        tag_of(overridden.map_or(pinned, String::as_str))
    };
    Ok(Json(ServiceVersions {
        gotrue: image(spec.components.auth.image.as_ref(), PINNED.auth),
        postgrest: image(spec.components.rest.image.as_ref(), PINNED.rest),
        supabase_postgres: image(
            spec.database.image.as_ref(),
            supaplane_crds::images::postgres(spec.postgres_version),
        ),
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(service_versions))
        .routes(routes!(postgrest_config))
        .routes(routes!(organization_versions))
        .routes(routes!(restore_versions))
        .routes(routes!(secret_update_status))
        .routes(routes!(legacy_api_keys))
        .routes(routes!(signing_keys))
        .routes(routes!(legacy_signing_key_route))
        .routes(routes!(custom_hostname))
        .routes(routes!(supavisor))
        .routes(routes!(pgbouncer))
}
