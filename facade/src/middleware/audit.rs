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

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::identity::caller::Caller;
use crate::middleware::limits::is_write;

/// Labels an audit Event with a digest of its actor's id (ids need not fit
/// a label value; a digest always does).
pub const LABEL_ACTOR: &str = "supaplane.io/audit-actor";
const REPORTING_CONTROLLER: &str = "supaplane.io/facade";
const REASON: &str = "UserChange";
const ANNOTATION_PREFIX: &str = "audit.supaplane.io/";
/// Entries waiting for the writer; more are dropped.
const QUEUE: usize = 1024;

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
    let mut digest = crate::common::ids::sha256_hex(actor_id);
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
    State(audit): State<AuditLog>,
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
        audit.record(Entry {
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

pub fn entry_of(event: &Event) -> Option<Entry> {
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
