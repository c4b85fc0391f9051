//! Collects what an interrupted project create left behind.
//!
//! The facade creates a project's namespace (labelled
//! `supaplane.io/creating`) and its password Secret before the Project, and
//! takes the label off once the Project exists. A facade that crashed in
//! between leaves a namespace, holding a database password, that no Project
//! owns. The sweep deletes such a namespace once it is older than a grace
//! period well beyond any create in flight, and takes a stale label off a
//! namespace whose Project does exist. Nothing else is touched: a namespace
//! kept by the Retain policy never carries the label.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::Project;
use supaplane_crds::constants::{LABEL_CREATING, LABEL_PROJECT};
use tracing::{info, warn};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Namespaces of creates that never finished, deleted.
    pub deleted: usize,
    /// Namespaces whose Project exists, the label taken off.
    pub completed: usize,
}

/// One pass over the namespaces still marked as being created. `selector`
/// narrows the pass further (tests sweep only their own).
pub async fn sweep(
    client: &Client,
    grace: Duration,
    selector: Option<&str>,
) -> Result<Swept, kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let projects: Api<Project> = Api::all(client.clone());
    let labels = match selector {
        Some(extra) => format!("{LABEL_CREATING},{extra}"),
        None => LABEL_CREATING.to_string(),
    };
    let mut swept = Swept::default();
    for namespace in namespaces
        .list(&ListParams::default().labels(&labels))
        .await?
    {
        let name = namespace.name_any();
        let Some(project_ref) = namespace.labels().get(LABEL_PROJECT).cloned() else {
            continue;
        };
        // A list by name: the operator's role lists Projects, it does not get them.
        let by_name = ListParams::default().fields(&format!("metadata.name={project_ref}"));
        if !projects.list(&by_name).await?.items.is_empty() {
            let done = json!({"metadata": {"labels": {LABEL_CREATING: null}}});
            namespaces
                .patch(&name, &PatchParams::default(), &Patch::Merge(&done))
                .await?;
            swept.completed += 1;
            continue;
        }
        let age = namespace
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|created| Timestamp::now().duration_since(created.0))
            .and_then(|age| Duration::try_from(age).ok())
            .unwrap_or_default();
        if age < grace || namespace.metadata.deletion_timestamp.is_some() {
            continue;
        }
        // Only this namespace, as listed: not a new one of the same name.
        let only_this = DeleteParams {
            preconditions: Some(Preconditions {
                uid: namespace.uid(),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match namespaces.delete(&name, &only_this).await {
            Ok(_) => {
                info!(namespace = %name, "deleted the namespace of a project create that never finished");
                swept.deleted += 1;
            }
            // Gone already, or no longer the namespace the sweep judged.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
            Err(error) => return Err(error),
        }
    }
    Ok(swept)
}

/// Sweeps every `interval` for as long as it runs (while leading).
pub async fn run(client: Client, interval: Duration, grace: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        if let Err(error) = sweep(&client, grace, None).await {
            warn!(%error, "sweeping unfinished project creates");
        }
    }
}
