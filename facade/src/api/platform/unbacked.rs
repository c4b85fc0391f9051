//! Endpoints Studio calls on the organization and project pages that no
//! real data backs yet (billing, usage, analytics, lints, backups, …).
//! Each answers the correct empty shape of its schema, for a caller who
//! may see the organization or project, so no page errors; none invents
//! data. README's coverage table lists them.

use crate::common::error::ErrorBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::common::error::ApiResult;
use crate::common::shapes::{Plan, studio_plan_of};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// Every endpoint this module answers, for README's coverage table and
/// the test that checks each one answers.
pub const UNBACKED_ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/platform/telemetry/feature-flags"),
    ("POST", "/platform/telemetry/identify"),
    ("POST", "/platform/telemetry/event"),
    ("GET", "/platform/notifications"),
    ("GET", "/platform/stripe/invoices/overdue"),
    ("GET", "/platform/projects-resource-warnings"),
    ("GET", "/platform/organizations/{slug}/billing/subscription"),
    ("GET", "/platform/organizations/{slug}/usage"),
    ("GET", "/platform/projects/{ref}/billing/addons"),
    ("POST", "/v1/projects/{ref}/network-bans/retrieve"),
    ("GET", "/v1/projects/{ref}/branches"),
    ("GET", "/v1/projects/{ref}/upgrade/status"),
    ("GET", "/platform/projects/{ref}/run-lints"),
    ("GET", "/platform/projects/{ref}/load-balancers"),
    (
        "GET",
        "/platform/projects/{ref}/analytics/endpoints/usage.api-counts",
    ),
    (
        "GET",
        "/platform/projects/{ref}/analytics/endpoints/usage.api-requests-count",
    ),
    ("GET", "/platform/organizations/{slug}/oauth/apps"),
    ("GET", "/platform/integrations/{slug}"),
    ("GET", "/platform/integrations/github/connections"),
];

fn empty_list() -> Json<Vec<Value>> {
    Json(Vec::new())
}

/// Studio asks before anyone signs in; it carries nothing secret, so it
/// needs no credentials (see `auth::PUBLIC_ROUTES`).
#[utoipa::path(get, path = "/platform/telemetry/feature-flags", tag = "not backed yet", responses((status = 200, body = Object)), security(()))]
async fn feature_flags() -> Json<Map<String, Value>> {
    Json(Map::new())
}

#[utoipa::path(post, path = "/platform/telemetry/identify", tag = "not backed yet", responses((status = 204), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn telemetry_identify(_caller: Caller) -> StatusCode {
    StatusCode::NO_CONTENT
}

#[utoipa::path(post, path = "/platform/telemetry/event", tag = "not backed yet", responses((status = 204), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn telemetry_event(_caller: Caller) -> StatusCode {
    StatusCode::NO_CONTENT
}

#[utoipa::path(get, path = "/platform/notifications", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn notifications(_caller: Caller) -> Json<Vec<Value>> {
    empty_list()
}

#[utoipa::path(get, path = "/platform/stripe/invoices/overdue", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn overdue_invoices(_caller: Caller) -> Json<Vec<Value>> {
    empty_list()
}

#[utoipa::path(get, path = "/platform/projects-resource-warnings", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn resource_warnings(_caller: Caller) -> Json<Vec<Value>> {
    empty_list()
}

/// `GetSubscriptionResponse` for an organization billed nothing: its plan
/// label, no addons, no billing periods.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Subscription {
    plan: Plan,
    addons: Vec<Value>,
    project_addons: Vec<Value>,
    billing_cycle_anchor: u64,
    billing_via_partner: bool,
    current_period_start: u64,
    current_period_end: u64,
    next_invoice_at: u64,
    payment_method_type: &'static str,
    scheduled_plan_change: Option<Value>,
    usage_billing_enabled: bool,
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/billing/subscription", tag = "not backed yet", responses((status = 200, body = Subscription), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Subscription>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    Ok(Json(Subscription {
        plan: studio_plan_of(&access.organization),
        addons: Vec::new(),
        project_addons: Vec::new(),
        billing_cycle_anchor: 0,
        billing_via_partner: false,
        current_period_start: 0,
        current_period_end: 0,
        next_invoice_at: 0,
        payment_method_type: "",
        scheduled_plan_change: None,
        usage_billing_enabled: false,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OrganizationUsage {
    usage_billing_enabled: bool,
    usages: Vec<Value>,
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/usage", tag = "not backed yet", responses((status = 200, body = OrganizationUsage), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<OrganizationUsage>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(OrganizationUsage {
        usage_billing_enabled: false,
        usages: Vec::new(),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Addons {
    #[serde(rename = "ref")]
    project_ref: String,
    selected_addons: Vec<Value>,
    available_addons: Vec<Value>,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/billing/addons", tag = "not backed yet", responses((status = 200, body = Addons), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn addons(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Addons>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(Addons {
        project_ref,
        selected_addons: Vec::new(),
        available_addons: Vec::new(),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct NetworkBans {
    banned_ipv4_addresses: Vec<String>,
}

#[utoipa::path(post, path = "/v1/projects/{ref}/network-bans/retrieve", tag = "not backed yet", responses((status = 200, body = NetworkBans), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn network_bans(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<NetworkBans>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(NetworkBans {
        banned_ipv4_addresses: Vec::new(),
    }))
}

async fn project_empty_list(
    state: &AppState,
    caller: &Caller,
    project_ref: &str,
) -> ApiResult<Json<Vec<Value>>> {
    access::project(&state.index, caller, project_ref)?;
    Ok(empty_list())
}

#[utoipa::path(get, path = "/v1/projects/{ref}/branches", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn branches(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    project_empty_list(&state, &caller, &project_ref).await
}

#[utoipa::path(get, path = "/platform/projects/{ref}/run-lints", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn run_lints(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    project_empty_list(&state, &caller, &project_ref).await
}

#[utoipa::path(get, path = "/platform/projects/{ref}/load-balancers", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn load_balancers(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    project_empty_list(&state, &caller, &project_ref).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct UpgradeStatus {
    #[serde(rename = "databaseUpgradeStatus")]
    database_upgrade_status: Option<Value>,
}

#[utoipa::path(get, path = "/v1/projects/{ref}/upgrade/status", tag = "not backed yet", responses((status = 200, body = UpgradeStatus), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn upgrade_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<UpgradeStatus>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(UpgradeStatus {
        database_upgrade_status: None,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AnalyticsResult {
    result: Vec<Value>,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/analytics/endpoints/{endpoint}", tag = "not backed yet", responses((status = 200, body = AnalyticsResult), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, _endpoint)): Path<(String, String)>,
) -> ApiResult<Json<AnalyticsResult>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(AnalyticsResult { result: Vec::new() }))
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/oauth/apps", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn oauth_apps(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(empty_list())
}

#[utoipa::path(get, path = "/platform/integrations/{slug}", tag = "not backed yet", responses((status = 200, body = Vec<serde_json::Value>), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn integrations(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(empty_list())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct GitHubConnections {
    connections: Vec<Value>,
}

#[utoipa::path(get, path = "/platform/integrations/github/connections", tag = "not backed yet", responses((status = 200, body = GitHubConnections)), security(("bearer" = [])))]
async fn github_connections(_caller: Caller) -> Json<GitHubConnections> {
    Json(GitHubConnections {
        connections: Vec::new(),
    })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feature_flags))
        .routes(routes!(telemetry_identify))
        .routes(routes!(telemetry_event))
        .routes(routes!(notifications))
        .routes(routes!(overdue_invoices))
        .routes(routes!(resource_warnings))
        .routes(routes!(subscription))
        .routes(routes!(usage))
        .routes(routes!(addons))
        .routes(routes!(network_bans))
        .routes(routes!(branches))
        .routes(routes!(upgrade_status))
        .routes(routes!(run_lints))
        .routes(routes!(load_balancers))
        .routes(routes!(analytics))
        .routes(routes!(oauth_apps))
        .routes(routes!(integrations))
        .routes(routes!(github_connections))
}
