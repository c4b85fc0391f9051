//! What each user changed through the facade: every successful write is
//! recorded as a Kubernetes Event in the facade's namespace (who, what
//! route, which organization or project, the answer's status), so
//! `kubectl get events` shows it and Studio's Account → Audit logs reads it
//! back. Events last as long as the API server keeps them (`--event-ttl`,
//! one hour unless the cluster sets more): this is a recent-activity log,
//! not a compliance archive (that is the API server's audit log).
//!
//! Recording never slows or fails a request: entries go through a bounded
//! queue to one writer task, and are dropped (with a warning) when it is
//! full or the API server refuses them.

use axum::Json;
use axum::extract::{FromRequestParts, MatchedPath, Query, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::limits::is_write;
use crate::state::AppState;

/// Labels an audit Event with a digest of its actor's id (ids need not fit
/// a label value; a digest always does).
pub const LABEL_ACTOR: &str = "supaplane.io/audit-actor";
const REPORTING_CONTROLLER: &str = "supaplane.io/facade";
const REASON: &str = "UserChange";
const ANNOTATION_PREFIX: &str = "audit.supaplane.io/";
/// Entries waiting for the writer; more are dropped.
const QUEUE: usize = 1024;
/// The most entries one audit page answers.
const MAX_ENTRIES: usize = 1000;

/// One user write, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub actor_id: String,
    pub actor_email: Option<String>,
    pub method: String,
    /// The route's template (`/platform/projects/{ref}/pause`), never the
    /// query string or body.
    pub route: String,
    pub status: u16,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub occurred_at: Timestamp,
}

/// The queue into the writer task.
#[derive(Clone)]
pub struct AuditLog(mpsc::Sender<Entry>);

impl AuditLog {
    /// Starts the writer, which creates each entry's Event in `namespace`.
    pub fn start(client: kube::Client, namespace: &str) -> (AuditLog, JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::channel::<Entry>(QUEUE);
        let events: Api<Event> = Api::namespaced(client, namespace);
        let namespace = namespace.to_string();
        let instance = std::env::var("HOSTNAME").unwrap_or_else(|_| "supaplane-facade".into());
        let task = tokio::spawn(async move {
            while let Some(entry) = receiver.recv().await {
                if let Err(error) = events
                    .create(
                        &PostParams::default(),
                        &event_of(&entry, &namespace, &instance),
                    )
                    .await
                {
                    tracing::warn!(%error, route = %entry.route, "an audit entry was not recorded");
                }
            }
        });
        (AuditLog(sender), task)
    }

    fn record(&self, entry: Entry) {
        if self.0.try_send(entry).is_err() {
            tracing::warn!("the audit queue is full; an entry was dropped");
        }
    }
}

/// 40 hex digits of the id's SHA-256.
pub fn actor_label(actor_id: &str) -> String {
    let mut digest = crate::ids::sha256_hex(actor_id);
    digest.truncate(40);
    digest
}

/// The Event for `entry`, about the facade's pod (`instance`, its
/// hostname): an Event must concern an object in its own namespace.
fn event_of(entry: &Entry, namespace: &str, instance: &str) -> Event {
    let who = entry.actor_email.as_deref().unwrap_or(&entry.actor_id);
    let mut annotations = BTreeMap::from([
        (
            format!("{ANNOTATION_PREFIX}actor-id"),
            entry.actor_id.clone(),
        ),
        (format!("{ANNOTATION_PREFIX}method"), entry.method.clone()),
        (format!("{ANNOTATION_PREFIX}route"), entry.route.clone()),
        (
            format!("{ANNOTATION_PREFIX}status"),
            entry.status.to_string(),
        ),
    ]);
    if let Some(email) = &entry.actor_email {
        annotations.insert(format!("{ANNOTATION_PREFIX}actor-email"), email.clone());
    }
    if let Some(slug) = &entry.organization {
        annotations.insert(format!("{ANNOTATION_PREFIX}organization"), slug.clone());
    }
    if let Some(project) = &entry.project {
        annotations.insert(format!("{ANNOTATION_PREFIX}project"), project.clone());
    }
    Event {
        metadata: ObjectMeta {
            generate_name: Some("audit-".into()),
            labels: Some(BTreeMap::from([(
                LABEL_ACTOR.to_string(),
                actor_label(&entry.actor_id),
            )])),
            annotations: Some(annotations),
            ..Default::default()
        },
        regarding: Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(namespace.into()),
            name: Some(instance.into()),
            ..Default::default()
        }),
        event_time: Some(MicroTime(entry.occurred_at)),
        reporting_controller: Some(REPORTING_CONTROLLER.into()),
        reporting_instance: Some(instance.chars().take(128).collect()),
        action: Some(entry.method.clone()),
        reason: Some(REASON.into()),
        type_: Some("Normal".into()),
        note: Some(
            format!("{who}: {} {} → {}", entry.method, entry.route, entry.status)
                .chars()
                .take(1024)
                .collect(),
        ),
        ..Default::default()
    }
}

/// Middleware (inside authentication): records each successful write by a
/// signed-in caller. Reads only the caller, the route template and its
/// path parameters: no bodies, no query strings, no credentials.
pub async fn record_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Reads are most requests: they pass untouched.
    if !is_write(request.method()) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let caller = request.extensions().get::<Caller>().cloned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string());
    let (mut parts, body) = request.into_parts();
    let params = <RawPathParams as FromRequestParts<()>>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .map(|params| {
            params
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status().is_success()
        && let (Some(caller), Some(route)) = (caller, route)
    {
        state.audit.record(Entry {
            actor_id: caller.user_id,
            actor_email: caller.email,
            method: method.to_string(),
            route,
            status: response.status().as_u16(),
            organization: params.get("slug").cloned(),
            project: params.get("ref").cloned(),
            occurred_at: Timestamp::now(),
        });
    }
    response
}

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

fn entry_of(event: &Event) -> Option<Entry> {
    let annotations = event.metadata.annotations.as_ref()?;
    let get = |key: &str| {
        annotations
            .get(&format!("{ANNOTATION_PREFIX}{key}"))
            .cloned()
    };
    Some(Entry {
        actor_id: get("actor-id")?,
        actor_email: get("actor-email"),
        method: get("method")?,
        route: get("route")?,
        status: get("status")?.parse().ok()?,
        organization: get("organization"),
        project: get("project"),
        occurred_at: event.event_time.as_ref()?.0,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_survives_its_event() {
        let entry = Entry {
            actor_id: "0b8e2f4e-0000-4000-8000-000000000001".into(),
            actor_email: Some("ada@example.com".into()),
            method: "POST".into(),
            route: "/platform/projects/{ref}/pause".into(),
            status: 200,
            organization: None,
            project: Some("abcdefghijklmnopqrst".into()),
            occurred_at: Timestamp::now(),
        };
        let event = event_of(&entry, "supaplane", "facade-0");
        assert_eq!(entry_of(&event), Some(entry.clone()));
        let labels = event.metadata.labels.expect("labels");
        assert_eq!(labels[LABEL_ACTOR].len(), 40);
        assert!(
            event
                .note
                .expect("note")
                .starts_with("ada@example.com: POST")
        );
    }
}
