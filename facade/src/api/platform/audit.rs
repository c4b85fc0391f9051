//! Studio's Account → Audit logs: the caller's own recent changes, read
//! back from the Events `middleware::audit` records.

use axum::Json;
use axum::extract::{Query, State};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::common::error::{ApiError, ApiResult, ErrorBody};
use crate::identity::caller::Caller;
use crate::middleware::audit::{Entry, LABEL_ACTOR, actor_label, entry_of};
use crate::state::AppState;

/// The most entries one audit page answers.
const MAX_ENTRIES: usize = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Window {
    /// RFC 3339; entries at or after it.
    iso_timestamp_start: Option<String>,
    /// RFC 3339; entries at or before it.
    iso_timestamp_end: Option<String>,
}

fn instant(name: &str, text: Option<&str>) -> ApiResult<Option<Timestamp>> {
    text.map(|text| {
        text.parse::<Timestamp>().map_err(|_| {
            ApiError::BadRequest(format!(
                "{name} {text:?} is not an RFC 3339 time such as 2026-12-01T10:00:00Z"
            ))
        })
    })
    .transpose()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ActionMetadata {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Action {
    name: String,
    metadata: Vec<ActionMetadata>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ActorMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(rename = "tokenType")]
    token_type: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Actor {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    metadata: Vec<ActorMetadata>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TargetMetadata {
    org_slug: Option<String>,
    project_ref: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Target {
    description: String,
    metadata: TargetMetadata,
}

/// Studio's `AuditLog`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AuditEntry {
    action: Action,
    actor: Actor,
    target: Target,
    occurred_at: String,
}

/// `UserAuditLogsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct UserAuditLogs {
    result: Vec<AuditEntry>,
    /// Days entries are kept: the API server decides (`--event-ttl`), and
    /// by default keeps them for less than one.
    retention_period: u32,
}

fn answer_of(entry: Entry) -> AuditEntry {
    let description = match (&entry.project, &entry.organization) {
        (Some(project), _) => format!("project {project}"),
        (None, Some(slug)) => format!("organization {slug}"),
        (None, None) => "account".to_string(),
    };
    AuditEntry {
        action: Action {
            name: format!("{} {}", entry.method, entry.route),
            metadata: vec![ActionMetadata {
                method: entry.method,
                route: entry.route,
                status: entry.status,
            }],
        },
        actor: Actor {
            id: entry.actor_id,
            kind: "user",
            metadata: vec![ActorMetadata {
                email: entry.actor_email,
                token_type: "user",
            }],
        },
        target: Target {
            description,
            metadata: TargetMetadata {
                org_slug: entry.organization,
                project_ref: entry.project,
            },
        },
        occurred_at: entry.occurred_at.to_string(),
    }
}

/// The caller's own recorded changes in the window, newest first.
#[utoipa::path(get, path = "/platform/profile/audit", tag = "profile", params(Window), responses((status = 200, body = UserAuditLogs), (status = 400, description = "Bad input", body = ErrorBody)), security(("bearer" = [])))]
async fn profile_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(window): Query<Window>,
) -> ApiResult<Json<UserAuditLogs>> {
    let start = instant("iso_timestamp_start", window.iso_timestamp_start.as_deref())?;
    let end = instant("iso_timestamp_end", window.iso_timestamp_end.as_deref())?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(ApiError::BadRequest(
            "iso_timestamp_start is after iso_timestamp_end".into(),
        ));
    }
    let events: Api<Event> = Api::namespaced(state.client.clone(), &state.config.namespace);
    let listed = events
        .list(
            &ListParams::default()
                .labels(&format!("{LABEL_ACTOR}={}", actor_label(&caller.user_id))),
        )
        .await
        .map_err(|e| ApiError::kube("reading the audit log", e))?;
    let mut entries: Vec<Entry> = listed
        .items
        .iter()
        .filter_map(entry_of)
        // The label is a digest: keep only this caller's own entries.
        .filter(|entry| entry.actor_id == caller.user_id)
        .filter(|entry| {
            start.is_none_or(|start| entry.occurred_at >= start)
                && end.is_none_or(|end| entry.occurred_at <= end)
        })
        .collect();
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.occurred_at));
    entries.truncate(MAX_ENTRIES);
    Ok(Json(UserAuditLogs {
        result: entries.into_iter().map(answer_of).collect(),
        retention_period: 0,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(profile_audit))
}
