//! Kubernetes Events for the transitions users care about, on the Project
//! (`kubectl describe project <ref>` shows them). Best effort: a failed
//! event never fails a reconcile.

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};
use supaplane_crds::Project;
use supaplane_crds::constants::FIELD_MANAGER_OPERATOR;
use tracing::warn;

/// Publishes a Normal event about `project`.
pub async fn publish(client: &Client, project: &Project, reason: &str, action: &str, note: String) {
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: FIELD_MANAGER_OPERATOR.to_string(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: reason.to_string(),
        note: Some(note),
        action: action.to_string(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &project.object_ref(&())).await {
        warn!(%error, reason, "publishing an event failed");
    }
}
