//! Pages of Studio about things this platform does not have, answered with
//! what is true here rather than an error panel: no billing (no payment
//! methods, tax ids, invoices or daily usage), no account audit log kept
//! yet, no Edge Functions, no network
//! restrictions (every address may connect), no SSL enforcement on the
//! database, and no in-place Postgres upgrades. Each shape is the schema's
//! (Studio's api-types, the Management API document); README lists them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::common::error::{ApiError, ApiResult};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// Every endpoint this module answers (README's coverage table lists them).
pub const NOT_OFFERED_ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/platform/organizations/{slug}/customer"),
    ("GET", "/platform/organizations/{slug}/payments"),
    ("GET", "/platform/organizations/{slug}/tax-ids"),
    ("GET", "/platform/organizations/{slug}/billing/invoices"),
    ("GET", "/platform/organizations/{slug}/usage/daily"),
    ("GET", "/v1/projects/{ref}/functions"),
    ("GET", "/v1/projects/{ref}/network-restrictions"),
    ("GET", "/v1/projects/{ref}/ssl-enforcement"),
    ("GET", "/v1/projects/{ref}/upgrade/eligibility"),
    ("GET", "/platform/projects/{ref}/infra-monitoring"),
];

/// Endpoints whose "none" is a 404 Studio reads as none (not "No such
/// endpoint"), with the message Studio looks for.
pub const NONE_AS_NOT_FOUND: &[(&str, &str)] = &[
    ("GET", "/platform/organizations/{slug}/sso"),
    ("GET", "/platform/integrations/github/authorization"),
];

/// `CustomerResponse`: the organization's billing email, nothing billed.
#[utoipa::path(get, path = "/platform/organizations/{slug}/customer", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn customer(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    Ok(Json(json!({
        "additional_emails": null,
        "balance": 0,
        "billing_via_partner": false,
        "email": access.organization.spec.billing_email.clone().unwrap_or_default(),
        "tax_id": null,
    })))
}

/// `PaymentsResponse`: no payment methods.
#[utoipa::path(get, path = "/platform/organizations/{slug}/payments", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn payments(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Value>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(json!({"data": [], "defaultPaymentMethodId": null})))
}

/// `TaxIdResponse`: none.
#[utoipa::path(get, path = "/platform/organizations/{slug}/tax-ids", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn tax_ids(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Value>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(json!({"tax_id": null})))
}

/// `Invoice[]`: none; Studio's HEAD reads the count from `X-Total-Count`.
#[utoipa::path(get, path = "/platform/organizations/{slug}/billing/invoices", tag = "not offered", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
async fn invoices(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<(HeaderMap, Json<Vec<Value>>)> {
    access::organization(&state.index, &caller, &slug)?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from_static("0"));
    Ok((headers, Json(Vec::new())))
}

/// `OrgDailyUsageResponse`: no usage is metered.
#[utoipa::path(get, path = "/platform/organizations/{slug}/usage/daily", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn daily_usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Value>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(json!({"usages": []})))
}

/// No Edge Functions run here.
#[utoipa::path(get, path = "/v1/projects/{ref}/functions", tag = "not offered", responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
async fn functions(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(Vec::new()))
}

/// Every address may connect to the database; restricting is not offered.
#[utoipa::path(get, path = "/v1/projects/{ref}/network-restrictions", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn network_restrictions(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Value>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(json!({
        "entitlement": "disallowed",
        "config": {"dbAllowedCidrs": ["0.0.0.0/0"], "dbAllowedCidrsV6": ["::/0"]},
        "status": "applied",
    })))
}

/// The database does not enforce SSL (the image's `ssl = off`).
#[utoipa::path(get, path = "/v1/projects/{ref}/ssl-enforcement", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn ssl_enforcement(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Value>> {
    access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(json!({
        "currentConfig": {"database": false},
        "appliedSuccessfully": true,
    })))
}

#[derive(Debug, Serialize)]
struct NoUpgrade {
    eligible: bool,
    current_app_version: String,
    current_app_version_release_channel: &'static str,
    latest_app_version: String,
    target_upgrade_versions: Vec<Value>,
    duration_estimate_hours: u32,
    legacy_auth_custom_roles: Vec<Value>,
    objects_to_be_dropped: Vec<Value>,
    unsupported_extensions: Vec<Value>,
    user_defined_objects_in_internal_schemas: Vec<Value>,
    validation_errors: Vec<Value>,
    warnings: Vec<Value>,
}

/// Postgres is not upgraded in place here: never eligible.
#[utoipa::path(get, path = "/v1/projects/{ref}/upgrade/eligibility", tag = "not offered", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn upgrade_eligibility(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let version = format!(
        "supabase-postgres-{}",
        supaplane_crds::images::postgres_release(access.project.spec.postgres_version)
    );
    let answer = NoUpgrade {
        eligible: false,
        current_app_version: version.clone(),
        current_app_version_release_channel: "ga",
        latest_app_version: version,
        target_upgrade_versions: Vec::new(),
        duration_estimate_hours: 0,
        legacy_auth_custom_roles: Vec::new(),
        objects_to_be_dropped: Vec::new(),
        unsupported_extensions: Vec::new(),
        user_defined_objects_in_internal_schemas: Vec::new(),
        validation_errors: Vec::new(),
        warnings: Vec::new(),
    };
    Ok(Json(serde_json::to_value(answer).unwrap_or_default()))
}

/// No SSO provider: Studio's SSO page treats exactly this 404 (its message
/// included) as "none configured".
#[utoipa::path(get, path = "/platform/organizations/{slug}/sso", tag = "not offered", responses((status = 404, body = crate::common::error::ErrorBody)), security(("bearer" = [])))]
async fn sso(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Value>> {
    access::organization(&state.index, &caller, &slug)?;
    Err(ApiError::NotFound(
        "Failed to find an existing SSO Provider: SSO is not offered by this platform".into(),
    ))
}

/// No GitHub authorization: the GitHub integration is not offered; Studio
/// reads any error here as "not authorized".
#[utoipa::path(get, path = "/platform/integrations/github/authorization", tag = "not offered", responses((status = 404, body = crate::common::error::ErrorBody)), security(("bearer" = [])))]
async fn github_authorization(_caller: Caller) -> ApiResult<Json<Value>> {
    Err(ApiError::NotFound(
        "No GitHub authorization: the GitHub integration is not offered by this platform".into(),
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
struct MetricsQuery {
    /// Comma-separated attributes (Studio's form, not exploded).
    attributes: Option<String>,
    /// The older single-attribute form.
    attribute: Option<String>,
}

/// No infrastructure metrics are collected yet: empty series, in both the
/// single- and the multi-attribute shape Studio reads.
#[utoipa::path(get, path = "/platform/projects/{ref}/infra-monitoring", tag = "not offered", params(MetricsQuery), responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn infra_monitoring(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(query): Query<MetricsQuery>,
) -> ApiResult<Json<Value>> {
    access::project(&state.index, &caller, &project_ref)?;
    let empty = json!({"yAxisLimit": 0, "format": "", "total": 0, "totalAverage": 0});
    let series: serde_json::Map<String, Value> = query
        .attributes
        .iter()
        .chain(query.attribute.iter())
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|attribute| !attribute.is_empty())
        .map(|attribute| (attribute.to_string(), empty.clone()))
        .collect();
    let mut answer = json!({"data": [], "series": series});
    if let (Some(answer), Some(empty)) = (answer.as_object_mut(), empty.as_object()) {
        answer.extend(empty.clone());
    }
    Ok(Json(answer))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sso))
        .routes(routes!(github_authorization))
        .routes(routes!(infra_monitoring))
        .routes(routes!(customer))
        .routes(routes!(payments))
        .routes(routes!(tax_ids))
        .routes(routes!(invoices))
        .routes(routes!(daily_usage))
        .routes(routes!(functions))
        .routes(routes!(network_restrictions))
        .routes(routes!(ssl_enforcement))
        .routes(routes!(upgrade_eligibility))
}
