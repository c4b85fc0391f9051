//! Endpoints Studio calls on the organization and project pages that no
//! real data backs yet (billing, usage, analytics, lints, backups, …).
//! Each answers the correct empty shape of its schema, for a caller who
//! may see the organization or project, so no page errors; none invents
//! data. README's coverage table lists them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::access;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::shapes::{Plan, plan_of};
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
    ("GET", "/platform/organizations/{slug}/entitlements"),
    ("GET", "/platform/organizations/{slug}/usage"),
    ("GET", "/platform/projects/{ref}/billing/addons"),
    ("POST", "/v1/projects/{ref}/network-bans/retrieve"),
    ("GET", "/v1/projects/{ref}/branches"),
    ("GET", "/v1/projects/{ref}/upgrade/status"),
    ("GET", "/platform/projects/{ref}/run-lints"),
    ("GET", "/platform/database/{ref}/backups"),
    ("GET", "/platform/projects/{ref}/load-balancers"),
    (
        "GET",
        "/platform/projects/{ref}/analytics/endpoints/usage.api-counts",
    ),
    (
        "GET",
        "/platform/projects/{ref}/analytics/endpoints/usage.api-requests-count",
    ),
    ("GET", "/platform/projects/{ref}/content"),
];

fn empty_list() -> Json<Vec<Value>> {
    Json(Vec::new())
}

async fn feature_flags(_caller: Caller) -> Json<Map<String, Value>> {
    Json(Map::new())
}

async fn telemetry_accepted(_caller: Caller) -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn notifications(_caller: Caller) -> Json<Vec<Value>> {
    empty_list()
}

async fn overdue_invoices(_caller: Caller) -> Json<Vec<Value>> {
    empty_list()
}

async fn resource_warnings(_caller: Caller) -> Json<Vec<Value>> {
    empty_list()
}

/// `GetSubscriptionResponse` for an organization billed nothing: its plan
/// label, no addons, no billing periods.
#[derive(Debug, Serialize)]
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

async fn subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Subscription>> {
    let access = access::organization(&state, &caller, &slug)?;
    Ok(Json(Subscription {
        plan: plan_of(&access.organization),
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

#[derive(Debug, Serialize)]
struct Entitlements {
    entitlements: Vec<Value>,
}

async fn entitlements(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Entitlements>> {
    access::organization(&state, &caller, &slug)?;
    Ok(Json(Entitlements {
        entitlements: Vec::new(),
    }))
}

#[derive(Debug, Serialize)]
struct OrganizationUsage {
    usage_billing_enabled: bool,
    usages: Vec<Value>,
}

async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<OrganizationUsage>> {
    access::organization(&state, &caller, &slug)?;
    Ok(Json(OrganizationUsage {
        usage_billing_enabled: false,
        usages: Vec::new(),
    }))
}

#[derive(Debug, Serialize)]
struct Addons {
    #[serde(rename = "ref")]
    project_ref: String,
    selected_addons: Vec<Value>,
    available_addons: Vec<Value>,
}

async fn addons(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Addons>> {
    access::project(&state, &caller, &project_ref)?;
    Ok(Json(Addons {
        project_ref,
        selected_addons: Vec::new(),
        available_addons: Vec::new(),
    }))
}

#[derive(Debug, Serialize)]
struct NetworkBans {
    banned_ipv4_addresses: Vec<String>,
}

async fn network_bans(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<NetworkBans>> {
    access::project(&state, &caller, &project_ref)?;
    Ok(Json(NetworkBans {
        banned_ipv4_addresses: Vec::new(),
    }))
}

async fn project_empty_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    access::project(&state, &caller, &project_ref)?;
    Ok(empty_list())
}

#[derive(Debug, Serialize)]
struct UpgradeStatus {
    #[serde(rename = "databaseUpgradeStatus")]
    database_upgrade_status: Option<Value>,
}

async fn upgrade_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<UpgradeStatus>> {
    access::project(&state, &caller, &project_ref)?;
    Ok(Json(UpgradeStatus {
        database_upgrade_status: None,
    }))
}

#[derive(Debug, Serialize)]
struct Backups {
    region: String,
    pitr_enabled: bool,
    walg_enabled: bool,
    backups: Vec<Value>,
    #[serde(rename = "physicalBackupData")]
    physical_backup_data: Map<String, Value>,
}

async fn backups(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Backups>> {
    let access = access::project(&state, &caller, &project_ref)?;
    Ok(Json(Backups {
        region: access.project.spec.region.clone(),
        pitr_enabled: false,
        walg_enabled: false,
        backups: Vec::new(),
        physical_backup_data: Map::new(),
    }))
}

#[derive(Debug, Serialize)]
struct AnalyticsResult {
    result: Vec<Value>,
}

async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, _endpoint)): Path<(String, String)>,
) -> ApiResult<Json<AnalyticsResult>> {
    access::project(&state, &caller, &project_ref)?;
    Ok(Json(AnalyticsResult { result: Vec::new() }))
}

#[derive(Debug, Serialize)]
struct ContentPage {
    data: Vec<Value>,
    cursor: Option<String>,
}

async fn content(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ContentPage>> {
    access::project(&state, &caller, &project_ref)?;
    Ok(Json(ContentPage {
        data: Vec::new(),
        cursor: None,
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/platform/telemetry/feature-flags", get(feature_flags))
        .route("/platform/telemetry/identify", post(telemetry_accepted))
        .route("/platform/telemetry/event", post(telemetry_accepted))
        .route("/platform/notifications", get(notifications))
        .route("/platform/stripe/invoices/overdue", get(overdue_invoices))
        .route(
            "/platform/projects-resource-warnings",
            get(resource_warnings),
        )
        .route(
            "/platform/organizations/{slug}/billing/subscription",
            get(subscription),
        )
        .route(
            "/platform/organizations/{slug}/entitlements",
            get(entitlements),
        )
        .route("/platform/organizations/{slug}/usage", get(usage))
        .route("/platform/projects/{ref}/billing/addons", get(addons))
        .route(
            "/v1/projects/{ref}/network-bans/retrieve",
            post(network_bans),
        )
        .route("/v1/projects/{ref}/branches", get(project_empty_list))
        .route("/v1/projects/{ref}/upgrade/status", get(upgrade_status))
        .route(
            "/platform/projects/{ref}/run-lints",
            get(project_empty_list),
        )
        .route("/platform/database/{ref}/backups", get(backups))
        .route(
            "/platform/projects/{ref}/load-balancers",
            get(project_empty_list),
        )
        .route(
            "/platform/projects/{ref}/analytics/endpoints/{endpoint}",
            get(analytics),
        )
        .route("/platform/projects/{ref}/content", get(content))
}
